//! [`FileStore`]: the default [`Store`], one file on a Unix file system.

mod cleanup;
mod dir;
mod lock;
mod lockout;
mod paths;
#[cfg(test)]
mod race;
mod read;
mod replace;
mod set;
mod sys;

#[cfg(test)]
mod tests;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, FileType};
use rustix::io::Errno;

#[cfg(fuzzing)]
pub(crate) use paths::fuzz_names;
pub use read::{ReadOptions, read_checked};
pub use set::{FileStoreSet, open_private_dir};

use crate::limits::check_data_len;
use crate::{
    DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_LEN, Error, LockoutRecord, Operation, Store, StoreInfo,
    StoreKind, StoreLock,
};
use paths::Names;

use replace::{RealSyscalls, Syscalls};

/// A [`Store`] kept in one file, replaced atomically and readable only by its owner.
///
/// - **Save** writes a temporary file `.<name>.tmp-<random>` in the same directory, created
///   with `O_EXCL` and mode 0600 (never wider, never changed afterwards), flushes it with
///   `fsync`, renames it over the file and flushes the directory. A crash leaves the old or the
///   new file, whole.
/// - **Load** refuses a symbolic link, anything but a regular file, a file owned by another
///   user, a file with any group/other permission bit, an empty file and one over the size cap.
/// - **Lock** takes an `flock` on the stable lock file `.<name>.lock` beside it, after
///   queueing at a second stable file, `.<name>.turnstile`, so that waiters take turns.
/// - **Directory**: [`open`](FileStore::open) creates it with mode 0700 if missing (only the
///   last component: a missing parent is [`Error::DirectoryNotFound`]); every
///   operation refuses a directory writable by group or others or owned by another user.
/// - Temporary files left by a crashed writer are removed by `open` and `delete`.
///
/// See [`manual`](crate::manual) for the guarantees in detail.
///
/// # Example
///
/// ```
/// use credlock_store::{FileStore, Store};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let store = FileStore::open(dir.path().join("state/vault"))?; // creates `state`, 0700
/// assert_eq!(store.load()?, None);
/// store.save(b"sealed bytes")?;
/// assert_eq!(store.load()?.as_deref(), Some(&b"sealed bytes"[..]));
/// assert_eq!(store.describe().mode, Some(0o600));
/// store.delete()?;
/// assert_eq!(store.load()?, None);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FileStore {
    names: Names,
    /// The lockout state's file, `.<name>.lockout` beside the store file.
    lockout_names: Names,
    max_len: usize,
    lock_timeout: Duration,
}

/// Options for opening a [`FileStore`]; from [`FileStore::builder`].
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use credlock_store::FileStore;
///
/// # fn main() -> Result<(), credlock_store::Error> {
/// let dir = tempfile::tempdir().unwrap();
/// let store = FileStore::builder(dir.path().join("vault"))
///     .lock_timeout(Duration::from_secs(2))
///     .max_len(64 * 1024)
///     .open()?;
/// assert_eq!(store.max_len(), 64 * 1024);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "call .open() to open the store"]
pub struct FileStoreBuilder {
    path: PathBuf,
    max_len: usize,
    lock_timeout: Duration,
    create_dir: bool,
    cleanup: bool,
}

impl FileStoreBuilder {
    /// How long [`Store::lock`] waits for another holder (default
    /// [`DEFAULT_LOCK_TIMEOUT`]); `Duration::ZERO` tries once without waiting.
    ///
    /// # Example
    ///
    /// ```
    /// let b = credlock_store::FileStore::builder("vault").lock_timeout(std::time::Duration::ZERO);
    /// # let _ = b;
    /// ```
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The size cap for loading and saving (default [`DEFAULT_MAX_LEN`]).
    ///
    /// # Example
    ///
    /// ```
    /// let b = credlock_store::FileStore::builder("vault").max_len(4096);
    /// # let _ = b;
    /// ```
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// Whether [`open`](Self::open) creates a missing directory, with mode 0700 (only the
    /// directory itself: its parent must exist). Default `true`; with `false` a missing directory is
    /// [`Error::DirectoryNotFound`].
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{Error, FileStore};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let r = FileStore::builder(dir.path().join("missing/vault")).create_dir(false).open();
    /// assert!(matches!(r, Err(Error::DirectoryNotFound { .. })));
    /// ```
    pub fn create_dir(mut self, create: bool) -> Self {
        self.create_dir = create;
        self
    }

    /// Leaves the stale-temporary-file sweep to [`Store::delete`] (a [`FileStoreSet`] opens
    /// one store per key in a shared directory, where a sweep per open would list every
    /// key's files).
    pub(crate) fn skip_cleanup(mut self) -> Self {
        self.cleanup = false;
        self
    }

    /// Opens the store: validates the path, creates the directory if missing (mode 0700),
    /// checks the directory, checks that the path is not a symbolic link, directory or special
    /// file, and removes temporary files left by crashed writers. It does not read the file.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] (NUL byte, no file name, a reserved name),
    /// [`Error::DirectoryNotFound`] (only with `create_dir(false)`), [`Error::NotADirectory`],
    /// [`Error::DirectoryInsecure`], [`Error::DirectoryWrongOwner`], [`Error::Symlink`],
    /// [`Error::IsADirectory`], [`Error::NotRegularFile`], and I/O errors.
    ///
    /// # Example
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = credlock_store::FileStore::builder(dir.path().join("vault")).open().unwrap();
    /// # let _ = store;
    /// ```
    pub fn open(self) -> Result<FileStore, Error> {
        let names = Names::new(&self.path)?;
        let dir = if self.create_dir {
            dir::create_or_open_checked(&names.dir)?
        } else {
            dir::open_checked(&names.dir)?
        };
        check_target(&dir, &names)?;
        let lockout_names = names.lockout()?;
        check_target(&dir, &lockout_names)?;
        if self.cleanup {
            cleanup::remove_stale_temps(dir.as_fd(), &names)?;
            cleanup::remove_stale_temps(dir.as_fd(), &lockout_names)?;
        }
        Ok(FileStore {
            names,
            lockout_names,
            max_len: self.max_len,
            lock_timeout: self.lock_timeout,
        })
    }
}

impl FileStore {
    /// Opens the store at `path` with default options; see [`FileStoreBuilder::open`].
    ///
    /// # Errors
    ///
    /// As [`FileStoreBuilder::open`].
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{Error, FileStore};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// assert!(FileStore::open(dir.path().join("vault")).is_ok());
    /// std::fs::create_dir(dir.path().join("sub")).unwrap();
    /// let r = FileStore::open(dir.path().join("sub"));
    /// assert!(matches!(r, Err(Error::IsADirectory { .. })));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::builder(path.as_ref()).open()
    }

    /// Starts configuring a store at `path`.
    ///
    /// # Example
    ///
    /// ```
    /// let builder = credlock_store::FileStore::builder("vault");
    /// # let _ = builder;
    /// ```
    pub fn builder(path: impl Into<PathBuf>) -> FileStoreBuilder {
        FileStoreBuilder {
            path: path.into(),
            max_len: DEFAULT_MAX_LEN,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            create_dir: true,
            cleanup: true,
        }
    }

    /// The store file's path (made absolute when opened).
    ///
    /// # Example
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = credlock_store::FileStore::open(dir.path().join("vault")).unwrap();
    /// assert_eq!(store.path(), dir.path().join("vault"));
    /// ```
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.names.path
    }

    /// The lock file's path: `.<name>.lock` beside the store file. It is created by the first
    /// [`lock`](Store::lock), is empty, and is never removed (not even by `delete`), so that
    /// every process locks the same file. The turnstile `.<name>.turnstile` beside it, where
    /// waiters line up, is created and kept the same way.
    ///
    /// # Example
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = credlock_store::FileStore::open(dir.path().join("vault")).unwrap();
    /// assert_eq!(store.lock_path(), dir.path().join(".vault.lock"));
    /// ```
    #[must_use]
    pub fn lock_path(&self) -> PathBuf {
        self.names.lock_path()
    }

    /// The size cap in bytes.
    ///
    /// # Example
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = credlock_store::FileStore::open(dir.path().join("vault")).unwrap();
    /// assert_eq!(store.max_len(), credlock_store::DEFAULT_MAX_LEN);
    /// ```
    #[must_use]
    pub const fn max_len(&self) -> usize {
        self.max_len
    }

    /// The lock timeout.
    ///
    /// # Example
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = credlock_store::FileStore::open(dir.path().join("vault")).unwrap();
    /// assert_eq!(store.lock_timeout(), credlock_store::DEFAULT_LOCK_TIMEOUT);
    /// ```
    #[must_use]
    pub const fn lock_timeout(&self) -> Duration {
        self.lock_timeout
    }

    /// The permission bits of the file as it is on disk now (not following a symbolic link),
    /// or `None` if there is nothing at the path; the same as `describe().mode`.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{FileStore, Store};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let store = FileStore::open(dir.path().join("vault")).unwrap();
    /// assert_eq!(store.file_mode(), None);
    /// store.save(b"x").unwrap();
    /// assert_eq!(store.file_mode(), Some(0o600));
    /// ```
    #[must_use]
    pub fn file_mode(&self) -> Option<u32> {
        std::fs::symlink_metadata(&self.names.path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    }

    fn dir(&self) -> Result<OwnedFd, Error> {
        dir::open_checked(&self.names.dir)
    }

    /// [`Store::save`] through the given system calls (the fault-injection seam).
    fn save_with(&self, bytes: &[u8], calls: &mut impl Syscalls) -> Result<(), Error> {
        check_data_len(&self.names.path, bytes, self.max_len)?;
        let dir = self.dir()?;
        check_target(&dir, &self.names)?;
        replace::replace(dir.as_fd(), &self.names, bytes, calls)
    }
}

impl Store for FileStore {
    fn load(&self) -> Result<Option<Vec<u8>>, Error> {
        let dir = self.dir()?;
        let options = ReadOptions::new().max_len(self.max_len);
        read::read_at(
            dir.as_fd(),
            Path::new(&self.names.name),
            &self.names.path,
            &options,
        )
    }

    fn save(&self, bytes: &[u8]) -> Result<(), Error> {
        self.save_with(bytes, &mut RealSyscalls)
    }

    fn delete(&self) -> Result<(), Error> {
        let dir = self.dir()?;
        // The lockout state belongs to the record: it goes with it.
        match rustix::fs::unlinkat(&dir, &self.lockout_names.name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => {
                return Err(Error::from_io(
                    &self.lockout_names.path,
                    Operation::Remove,
                    e.into(),
                ));
            }
        }
        let path = &self.names.path;
        match rustix::fs::statat(&dir, &self.names.name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) => {}
            Err(e) => return Err(Error::from_io(path, Operation::Stat, e.into())),
            Ok(st) if sys::file_type(&st) == FileType::Directory => {
                return Err(Error::IsADirectory { path: path.clone() });
            }
            // A symbolic link is removed itself; its target is left alone.
            Ok(_) => match rustix::fs::unlinkat(&dir, &self.names.name, AtFlags::empty()) {
                Ok(()) | Err(Errno::NOENT) => {}
                Err(e) => return Err(Error::from_io(path, Operation::Remove, e.into())),
            },
        }
        cleanup::remove_stale_temps(dir.as_fd(), &self.names)?;
        rustix::fs::fsync(&dir)
            .map_err(|e| Error::from_io(path, Operation::SyncDirectory, e.into()))
    }

    fn lock(&self) -> Result<StoreLock, Error> {
        let dir = self.dir()?;
        let guard = lock::acquire(dir.as_fd(), &self.names, self.lock_timeout)?;
        Ok(StoreLock::new(StoreKind::File, guard))
    }

    fn load_lockout(&self) -> Result<LockoutRecord, Error> {
        let dir = self.dir()?;
        lockout::load(dir.as_fd(), &self.lockout_names)
    }

    fn save_lockout(&self, record: &LockoutRecord) -> Result<(), Error> {
        let dir = self.dir()?;
        lockout::save(dir.as_fd(), &self.lockout_names, record)
    }

    fn describe(&self) -> StoreInfo {
        let mode = self.file_mode();
        StoreInfo::new(
            StoreKind::File,
            Some(&self.names.path),
            mode,
            mode.is_some(),
        )
    }
}

/// Refuses a target path that is a symbolic link, a directory or a special file. A missing or
/// regular file is fine (its owner and mode are checked when it is read).
fn check_target(dir: &OwnedFd, names: &Names) -> Result<(), Error> {
    match rustix::fs::statat(dir, &names.name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => read::check_type(&st, &names.path),
        Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(Error::from_io(&names.path, Operation::Stat, e.into())),
    }
}
