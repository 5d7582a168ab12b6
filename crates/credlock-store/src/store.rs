//! The [`Store`] trait: the seam between the vault and where its sealed bytes live.

use std::any::Any;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::{Error, LockoutRecord, StoreEvent, Version, Versioned, WriteOutcome};

/// Somewhere to keep one blob of opaque sealed bytes.
///
/// The store knows nothing of what the bytes mean. Implementations: [`FileStore`] (the default,
/// Unix only) and [`MemoryStore`] (for tests of upper layers) here; SQLite and PostgreSQL in
/// the crates `credlock-store-sqlite` and `credlock-store-postgres`. Every implementation
/// passes the one conformance suite ([`conformance`](crate::conformance), feature
/// `conformance`).
///
/// # The contract
///
/// - **The sealed record**: [`read`](Store::read) it with its [`Version`];
///   [`create`](Store::create) it only if absent; [`replace_if`](Store::replace_if) it only
///   if unchanged since read (compare-and-swap), so two writers never lose an update: one of
///   them gets [`WriteOutcome::Conflict`] and reads again. [`save`](Store::save) and
///   [`delete`](Store::delete) write unconditionally.
/// - **The lockout state** beside it: [`read_lockout`](Store::read_lockout),
///   [`replace_lockout_if`](Store::replace_lockout_if) (compare-and-swap), on which
///   [`update_lockout`](Store::update_lockout) builds an atomic read-modify-write (the
///   failed-attempt increment), and [`reset_lockout`](Store::reset_lockout). Shared exactly by
///   every process and every replica using the same store.
/// - **Announcements** to the other holders of the key: [`announce`](Store::announce) tells
///   them what happened here that no read would show them (a lock, revoked sessions), and
///   [`StoreSet::watch`](crate::StoreSet::watch) hears what they announce. Carried by a
///   backend that several processes share; nothing, by default.
///
/// The conditional writes have default implementations for a store whose
/// [`lock`](Store::lock) excludes other processes (the file store): they take the lock, read,
/// compare the content's digest ([`Version::of_bytes`]) and write. A database backend
/// overrides them with single conditional statements.
///
/// `load`, `save` and `delete` are each atomic on their own. A read-modify-write that must not
/// lose a concurrent update uses the conditional writes, or holds the guard from
/// [`lock`](Store::lock) around them:
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

    /// Reads the sealed record with its version; `Ok(None)` if nothing is stored.
    ///
    /// # Errors
    ///
    /// As [`Store::load`].
    fn read(&self) -> Result<Option<Versioned<Vec<u8>>>, Error> {
        Ok(self.load()?.map(|bytes| {
            let version = Version::of_bytes(&bytes);
            Versioned::new(bytes, version)
        }))
    }

    /// Stores `bytes` only if nothing is stored: [`WriteOutcome::Conflict`] (and nothing
    /// written) if something is, even something unreadable.
    ///
    /// Do not call it while holding this store's [`lock`](Store::lock): the default
    /// implementation takes it.
    ///
    /// # Errors
    ///
    /// As [`Store::save`] and [`Store::lock`].
    fn create(&self, bytes: &[u8]) -> Result<WriteOutcome, Error> {
        let _guard = self.lock()?;
        if self.describe().present {
            return Ok(WriteOutcome::Conflict);
        }
        self.save(bytes)?;
        Ok(WriteOutcome::Written(Version::of_bytes(bytes)))
    }

    /// Replaces the sealed record with `bytes` only if its version is still `expected`
    /// (compare-and-swap); [`WriteOutcome::Conflict`] (and nothing written) if it changed or
    /// was deleted.
    ///
    /// Do not call it while holding this store's [`lock`](Store::lock): the default
    /// implementation takes it.
    ///
    /// # Errors
    ///
    /// As [`Store::load`], [`Store::save`] and [`Store::lock`].
    fn replace_if(&self, expected: Version, bytes: &[u8]) -> Result<WriteOutcome, Error> {
        let _guard = self.lock()?;
        match self.load()? {
            Some(current) if Version::of_bytes(&current) == expected => {
                self.save(bytes)?;
                Ok(WriteOutcome::Written(Version::of_bytes(bytes)))
            }
            _ => Ok(WriteOutcome::Conflict),
        }
    }

    /// Reads the lockout state with its version (the default record, with a version, if none
    /// is stored).
    ///
    /// # Errors
    ///
    /// As [`Store::load_lockout`].
    fn read_lockout(&self) -> Result<Versioned<LockoutRecord>, Error> {
        let record = self.load_lockout()?;
        Ok(Versioned::new(record, Version::of_bytes(&record.encode())))
    }

    /// Replaces the lockout state only if its version is still `expected` (compare-and-swap).
    ///
    /// Do not call it while holding this store's [`lock`](Store::lock): the default
    /// implementation takes it.
    ///
    /// # Errors
    ///
    /// As [`Store::load_lockout`], [`Store::save_lockout`] and [`Store::lock`].
    fn replace_lockout_if(
        &self,
        expected: Version,
        record: &LockoutRecord,
    ) -> Result<WriteOutcome, Error> {
        let _guard = self.lock()?;
        let current = self.read_lockout()?;
        if current.version != expected {
            return Ok(WriteOutcome::Conflict);
        }
        self.save_lockout(record)?;
        Ok(WriteOutcome::Written(Version::of_bytes(&record.encode())))
    }

    /// Resets the lockout state to the default record (no failures, no lockout),
    /// unconditionally and atomically with respect to [`Store::replace_lockout_if`]. A state
    /// that cannot be parsed is overwritten too: this is the way out of it.
    ///
    /// Do not call it while holding this store's [`lock`](Store::lock): the default
    /// implementation takes it.
    ///
    /// # Errors
    ///
    /// As [`Store::save_lockout`] and [`Store::lock`].
    fn reset_lockout(&self) -> Result<(), Error> {
        let _guard = self.lock()?;
        self.save_lockout(&LockoutRecord::default())
    }

    /// Atomically updates the lockout state: reads it, asks `update` for the new record
    /// (`None`: leave it as it is) and writes that with [`Store::replace_lockout_if`],
    /// starting again if another writer came first. `update` may thus run more than once,
    /// always on the latest state. Returns the record as it stands afterwards.
    ///
    /// This is the failed-attempt increment: no increment is ever lost, whether the writers
    /// are threads, processes or replicas sharing a database.
    ///
    /// ```
    /// use credlock_store::{LockoutRecord, MemoryStore, Store};
    ///
    /// # fn main() -> Result<(), credlock_store::Error> {
    /// let store = MemoryStore::new();
    /// let after = store.update_lockout(&mut |r| Some(LockoutRecord::new(r.failures() + 1, None)))?;
    /// assert_eq!(after.failures(), 1);
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Store::read_lockout`] and [`Store::replace_lockout_if`];
    /// [`Error::Contended`] if other writers won [`MAX_CAS_ATTEMPTS`] times in a row.
    fn update_lockout(
        &self,
        update: &mut dyn FnMut(&LockoutRecord) -> Option<LockoutRecord>,
    ) -> Result<LockoutRecord, Error> {
        for _ in 0..MAX_CAS_ATTEMPTS {
            let current = self.read_lockout()?;
            let Some(new) = update(&current.value) else {
                return Ok(current.value);
            };
            if let WriteOutcome::Written(_) = self.replace_lockout_if(current.version, &new)? {
                return Ok(new);
            }
        }
        Err(Error::Contended {
            path: self.describe().path.unwrap_or_default(),
            attempts: MAX_CAS_ATTEMPTS,
        })
    }

    /// Announces `event` to every other holder of this key: other processes and replicas
    /// whose set [watches](crate::StoreSet::watch). Stores of the set this one came from (and
    /// of its clones) do not hear their own announcements: the holder that announces has
    /// already acted.
    ///
    /// The default does nothing: a store that one process uses has no one else to tell
    /// (the file and memory stores). A backend that carries announcements documents how
    /// they travel, and what it does with one it cannot send at once.
    ///
    /// ```
    /// use credlock_store::{MemoryStore, Store, StoreEvent};
    ///
    /// # fn main() -> Result<(), credlock_store::Error> {
    /// MemoryStore::new().announce(StoreEvent::Locked)?; // no one else to tell
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The backend's errors, if it could not send the announcement now (see the backend's
    /// documentation for whether it sends it later).
    fn announce(&self, event: StoreEvent) -> Result<(), Error> {
        let _ = event;
        Ok(())
    }
}

/// How many times [`Store::update_lockout`] tries before giving up with
/// [`Error::Contended`]: every failed try means another writer's update went through.
pub const MAX_CAS_ATTEMPTS: u32 = 1_000;

/// Which kind of [`Store`] a [`StoreInfo`] describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreKind {
    /// A file on disk ([`FileStore`](crate::FileStore)).
    File,
    /// Process memory ([`MemoryStore`](crate::MemoryStore)).
    Memory,
    /// A row of an SQLite database (crate `credlock-store-sqlite`).
    Sqlite,
    /// A row of a PostgreSQL database (crate `credlock-store-postgres`).
    Postgres,
}

impl StoreKind {
    /// A short lowercase name: `"file"`, `"memory"`, `"sqlite"` or `"postgres"`.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(credlock_store::StoreKind::File.as_str(), "file");
    /// assert_eq!(credlock_store::StoreKind::Postgres.to_string(), "postgres");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Memory => "memory",
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
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
    /// The file's path, for stores kept in a file (for a database: the database file, or a
    /// description of the server without credentials).
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
    /// assert_eq!(format!("{guard:?}"), "StoreLock { kind: Memory, .. }");
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

/// A boxed store is a store (every method forwarded, the overridden conditional writes
/// included), so a [`StoreSet`](crate::StoreSet)'s `Box<dyn Store>` goes wherever a store
/// does.
impl<S: Store + ?Sized> Store for Box<S> {
    fn load(&self) -> Result<Option<Vec<u8>>, Error> {
        (**self).load()
    }
    fn save(&self, bytes: &[u8]) -> Result<(), Error> {
        (**self).save(bytes)
    }
    fn delete(&self) -> Result<(), Error> {
        (**self).delete()
    }
    fn lock(&self) -> Result<StoreLock, Error> {
        (**self).lock()
    }
    fn describe(&self) -> StoreInfo {
        (**self).describe()
    }
    fn load_lockout(&self) -> Result<LockoutRecord, Error> {
        (**self).load_lockout()
    }
    fn save_lockout(&self, record: &LockoutRecord) -> Result<(), Error> {
        (**self).save_lockout(record)
    }
    fn read(&self) -> Result<Option<Versioned<Vec<u8>>>, Error> {
        (**self).read()
    }
    fn create(&self, bytes: &[u8]) -> Result<WriteOutcome, Error> {
        (**self).create(bytes)
    }
    fn replace_if(&self, expected: Version, bytes: &[u8]) -> Result<WriteOutcome, Error> {
        (**self).replace_if(expected, bytes)
    }
    fn read_lockout(&self) -> Result<Versioned<LockoutRecord>, Error> {
        (**self).read_lockout()
    }
    fn replace_lockout_if(
        &self,
        expected: Version,
        record: &LockoutRecord,
    ) -> Result<WriteOutcome, Error> {
        (**self).replace_lockout_if(expected, record)
    }
    fn reset_lockout(&self) -> Result<(), Error> {
        (**self).reset_lockout()
    }
    fn update_lockout(
        &self,
        update: &mut dyn FnMut(&LockoutRecord) -> Option<LockoutRecord>,
    ) -> Result<LockoutRecord, Error> {
        (**self).update_lockout(update)
    }
    fn announce(&self, event: StoreEvent) -> Result<(), Error> {
        (**self).announce(event)
    }
}
