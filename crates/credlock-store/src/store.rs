//! The [`Store`] trait: the seam between the vault and where its sealed bytes live.

use std::any::Any;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::{Error, LockoutRecord};

/// Somewhere to keep one blob of opaque sealed bytes.
///
/// The store knows nothing of what the bytes mean. Implementations: [`FileStore`] (the default,
/// Unix only) and [`MemoryStore`] (for tests of upper layers). A database-backed store can
/// implement the same trait later.
///
/// `load`, `save` and `delete` are each atomic on their own. A read-modify-write that must not
/// lose a concurrent update holds the guard from [`lock`](Store::lock) around them:
///
/// ```
/// use credlock_store::{MemoryStore, Store};
///
/// # fn main() -> Result<(), credlock_store::Error> {
/// let store = MemoryStore::new();
/// store.save(b"1")?;
/// {
///     let _guard = store.lock()?;
///     let old = store.load()?.unwrap_or_default();
///     let mut new = old.clone();
///     new.push(b'+');
///     store.save(&new)?;
/// } // lock released here
/// assert_eq!(store.load()?.as_deref(), Some(&b"1+"[..]));
/// # Ok(())
/// # }
/// ```
///
/// [`FileStore`]: crate::FileStore
/// [`MemoryStore`]: crate::MemoryStore
pub trait Store: fmt::Debug + Send + Sync {
    /// Reads the stored bytes; `Ok(None)` if nothing is stored.
    ///
    /// # Errors
    ///
    /// For a file: [`Error::Symlink`], [`Error::NotRegularFile`], [`Error::IsADirectory`],
    /// [`Error::WrongOwner`], [`Error::InsecureMode`], [`Error::Empty`], [`Error::TooLarge`],
    /// directory errors, and I/O errors. Nothing is ever modified by a load.
    fn load(&self) -> Result<Option<Vec<u8>>, Error>;

    /// Replaces the stored bytes atomically: afterwards a reader sees either the old bytes or
    /// the new ones, never a mix, even if the process is killed part way.
    ///
    /// # Errors
    ///
    /// [`Error::EmptyData`], [`Error::DataTooLarge`], [`Error::Symlink`],
    /// [`Error::IsADirectory`], directory errors, [`Error::StorageFull`],
    /// [`Error::ReadOnlyFilesystem`], and I/O errors. On every error the previous bytes are
    /// kept, except a failed directory flush after the rename (see [`crate::manual`]).
    fn save(&self, bytes: &[u8]) -> Result<(), Error>;

    /// Removes the stored bytes (for logout). Succeeds if nothing was stored.
    ///
    /// # Errors
    ///
    /// [`Error::IsADirectory`], directory errors and I/O errors.
    fn delete(&self) -> Result<(), Error>;

    /// Takes the exclusive cross-process lock of this store, waiting up to the store's lock
    /// timeout. The lock is released when the returned guard is dropped.
    ///
    /// The lock is advisory: `load`, `save` and `delete` do not take it themselves, so only
    /// cooperating callers are serialised. It is not re-entrant: taking it twice through one
    /// process waits for the first guard and then times out.
    ///
    /// # Errors
    ///
    /// [`Error::LockTimeout`] if another holder kept it for the whole timeout, and directory
    /// or I/O errors.
    fn lock(&self) -> Result<StoreLock, Error>;

    /// Non-secret facts about the store, for a status report. Never fails; what cannot be
    /// found out is `None`.
    fn describe(&self) -> StoreInfo;

    /// Reads the failed-passphrase state kept beside the sealed bytes; the default record
    /// (no failures) if none is stored.
    ///
    /// Part of the store contract: every backend keeps this state durably (it must survive
    /// a restart and be shared by every process using the store), apart from the sealed
    /// bytes, and never by rewriting them.
    ///
    /// # Errors
    ///
    /// [`Error::LockoutCorrupt`] if the stored state cannot be parsed (callers should refuse
    /// passphrase attempts then, not reset it), and the read errors of [`Store::load`].
    fn load_lockout(&self) -> Result<LockoutRecord, Error>;

    /// Replaces the failed-passphrase state atomically (a reader sees the old record or the
    /// new one). Hold [`lock`](Store::lock) around a read-modify-write, so that concurrent
    /// increments from several threads or processes are never lost.
    ///
    /// # Errors
    ///
    /// The write errors of [`Store::save`].
    fn save_lockout(&self, record: &LockoutRecord) -> Result<(), Error>;
}

/// Which kind of [`Store`] a [`StoreInfo`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreKind {
    /// A file on disk ([`FileStore`](crate::FileStore)).
    File,
    /// Process memory ([`MemoryStore`](crate::MemoryStore)).
    Memory,
}

impl StoreKind {
    /// A short lowercase name: `"file"` or `"memory"`.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(credlock_store::StoreKind::File.as_str(), "file");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Memory => "memory",
        }
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Non-secret facts about a store, from [`Store::describe`].
///
/// # Example
///
/// ```
/// use credlock_store::{MemoryStore, Store, StoreKind};
///
/// let info = MemoryStore::new().describe();
/// assert_eq!(info.kind, StoreKind::Memory);
/// assert_eq!(info.path, None);
/// assert_eq!(info.mode, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreInfo {
    /// Which kind of store this is.
    pub kind: StoreKind,
    /// The file's path, for stores kept in a file.
    pub path: Option<PathBuf>,
    /// The permission bits (`st_mode & 0o7777`) of the file as it is on disk now, read without
    /// following a symbolic link; `None` if there is no file (or no file system).
    pub mode: Option<u32>,
    /// Whether something is stored now (for a file: whether anything exists at the path).
    pub present: bool,
}

impl StoreInfo {
    /// Builds a description, for implementations of [`Store`].
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{StoreInfo, StoreKind};
    ///
    /// let info = StoreInfo::new(StoreKind::File, Some("/x/vault".as_ref()), Some(0o600), true);
    /// assert_eq!(info.mode, Some(0o600));
    /// ```
    #[must_use]
    pub fn new(kind: StoreKind, path: Option<&Path>, mode: Option<u32>, present: bool) -> Self {
        Self {
            kind,
            path: path.map(Path::to_path_buf),
            mode,
            present,
        }
    }
}

/// An exclusive lock on a store, released when dropped; from [`Store::lock`].
///
/// The guard owns what it needs, so it does not borrow the store.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct StoreLock {
    _inner: Box<dyn Any + Send>,
    kind: StoreKind,
}

impl StoreLock {
    /// Wraps an implementation's guard, which must release the lock when dropped.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{StoreKind, StoreLock};
    ///
    /// let guard = StoreLock::new(StoreKind::Memory, ());
    /// drop(guard);
    /// ```
    pub fn new<G: Send + 'static>(kind: StoreKind, guard: G) -> Self {
        Self {
            _inner: Box::new(guard),
            kind,
        }
    }

    /// Releases the lock now (the same as dropping the guard).
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{MemoryStore, Store};
    ///
    /// # fn main() -> Result<(), credlock_store::Error> {
    /// let store = MemoryStore::new();
    /// store.lock()?.release();
    /// store.lock()?.release(); // free again
    /// # Ok(())
    /// # }
    /// ```
    pub fn release(self) {
        drop(self);
    }
}

impl fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreLock")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}
