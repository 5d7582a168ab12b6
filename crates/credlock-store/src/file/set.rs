//! [`FileStoreSet`]: one [`FileStore`] per key, in one directory the set owns.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fd::OwnedFd;
use rustix::fs::Dir;

use super::{FileStore, dir};
use crate::{
    DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_LEN, Error, LockoutRecord, Operation, Store, StoreInfo,
    StoreKey, StoreKind, StoreSet,
};

/// The file name suffix of a key's record: `<key>.vault`.
const SUFFIX: &str = ".vault";
/// The file name of a key's lockout state: `.<key>.vault.lockout`.
const LOCKOUT_SUFFIX: &str = ".vault.lockout";

/// A [`StoreSet`] of [`FileStore`]s: the record of key `k` is the file `<dir>/<k>.vault`
/// (with its lock, turnstile and lockout state `.<k>.vault.*` beside it).
///
/// The directory belongs to the set: [`open`](Self::open) creates it with mode 0700 if it is
/// missing, **only its last component** (the parent must exist), and refuses a directory
/// that group or others can write or that another user owns. A [`StoreKey`] holds no `/`,
/// never starts with `.` and is at most 128 bytes, so every key's files are direct children
/// of the directory. Opening the set reads nothing per key.
///
/// # Example
///
/// ```
/// use credlock_store::{FileStoreSet, Store, StoreKey, StoreSet};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tmp = tempfile::tempdir()?;
/// let set = FileStoreSet::open(tmp.path().join("vaults"))?; // created 0700
/// let key = StoreKey::new("Alice@Example.com")?;
/// set.store(&key)?.save(b"sealed")?;
/// assert_eq!(set.path_of(&key), tmp.path().join("vaults/alice@example.com.vault"));
/// assert_eq!(set.keys()?, vec![key]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FileStoreSet {
    dir: PathBuf,
    lock_timeout: Duration,
    max_len: usize,
}

impl FileStoreSet {
    /// Opens (creating its last component with mode 0700 if missing) the directory `dir`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidPath`] (a NUL byte), [`Error::DirectoryNotFound`] (the parent is
    /// missing), [`Error::NotADirectory`], [`Error::DirectoryInsecure`],
    /// [`Error::DirectoryWrongOwner`], and I/O errors.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{Error, FileStoreSet};
    ///
    /// let tmp = tempfile::tempdir().unwrap();
    /// let r = FileStoreSet::open(tmp.path().join("missing/vaults"));
    /// assert!(matches!(r, Err(Error::DirectoryNotFound { .. })));
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = dir.as_ref();
        super::paths::check_no_nul(dir)?;
        let dir = std::path::absolute(dir)
            .map_err(|e| Error::from_io(dir, Operation::OpenDirectory, e))?;
        dir::create_or_open_checked(&dir)?;
        Ok(Self {
            dir,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            max_len: DEFAULT_MAX_LEN,
        })
    }

    /// The set's directory (absolute).
    ///
    /// # Example
    ///
    /// ```
    /// let tmp = tempfile::tempdir().unwrap();
    /// let set = credlock_store::FileStoreSet::open(tmp.path()).unwrap();
    /// assert_eq!(set.dir(), tmp.path());
    /// ```
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The record file of `key`: `<dir>/<key>.vault`, always a direct child of
    /// [`dir`](Self::dir).
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{FileStoreSet, StoreKey};
    ///
    /// let tmp = tempfile::tempdir().unwrap();
    /// let set = FileStoreSet::open(tmp.path()).unwrap();
    /// let path = set.path_of(&StoreKey::new("bob").unwrap());
    /// assert_eq!(path.parent(), Some(tmp.path()));
    /// ```
    #[must_use]
    pub fn path_of(&self, key: &StoreKey) -> PathBuf {
        self.dir.join(format!("{}{SUFFIX}", key.as_str()))
    }

    fn open_dir(&self) -> Result<OwnedFd, Error> {
        dir::open_checked(&self.dir)
    }

    /// The keys named by files in the directory that end in `suffix` and start with `dot`.
    fn list(&self, hidden: bool, suffix: &str) -> Result<Vec<StoreKey>, Error> {
        let fd = self.open_dir()?;
        let listing_error =
            |e: rustix::io::Errno| Error::from_io(&self.dir, Operation::ReadDirectory, e.into());
        let mut listing = Dir::read_from(&fd).map_err(listing_error)?;
        let mut keys = Vec::new();
        while let Some(entry) = listing.read() {
            let entry = entry.map_err(listing_error)?;
            let name = OsStr::from_bytes(entry.file_name().to_bytes());
            let Some(name) = name.to_str() else { continue };
            let name = if hidden {
                match name.strip_prefix('.') {
                    Some(rest) => rest,
                    None => continue,
                }
            } else {
                name
            };
            let Some(stem) = name.strip_suffix(suffix) else {
                continue;
            };
            // Only names this set could have made: a valid key, already folded.
            if let Ok(key) = StoreKey::new(stem)
                && key.as_str() == stem
            {
                keys.push(key);
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn file_store(&self, key: &StoreKey) -> Result<FileStore, Error> {
        FileStore::builder(self.path_of(key))
            .lock_timeout(self.lock_timeout)
            .max_len(self.max_len)
            .create_dir(false)
            .skip_cleanup()
            .open()
    }
}

impl StoreSet for FileStoreSet {
    fn store(&self, key: &StoreKey) -> Result<Box<dyn Store>, Error> {
        Ok(Box::new(self.file_store(key)?))
    }

    fn keys(&self) -> Result<Vec<StoreKey>, Error> {
        self.list(false, SUFFIX)
    }

    fn lockouts(&self) -> Result<Vec<(StoreKey, LockoutRecord)>, Error> {
        let mut out = Vec::new();
        for key in self.list(true, LOCKOUT_SUFFIX)? {
            let record = self.file_store(&key)?.load_lockout()?;
            if record != LockoutRecord::default() {
                out.push((key, record));
            }
        }
        Ok(out)
    }

    fn describe(&self) -> StoreInfo {
        let mode = std::fs::symlink_metadata(&self.dir)
            .ok()
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o7777);
        StoreInfo::new(StoreKind::File, Some(&self.dir), mode, mode.is_some())
    }
}

/// Opens a private directory for a store, creating **only its last component** with mode
/// 0700 if it is missing (its parent must exist), and checks it as [`FileStore`] checks its
/// own: a directory owned by the current user (or root) that group and others cannot write.
/// Returns its absolute path. For backends that keep their files in a directory of their
/// own (the SQLite store).
///
/// # Errors
///
/// As [`FileStoreSet::open`].
///
/// # Example
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
///
/// let tmp = tempfile::tempdir().unwrap();
/// let dir = credlock_store::open_private_dir(tmp.path().join("db")).unwrap();
/// assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
/// ```
pub fn open_private_dir(dir: impl AsRef<Path>) -> Result<PathBuf, Error> {
    let dir = dir.as_ref();
    super::paths::check_no_nul(dir)?;
    let dir =
        std::path::absolute(dir).map_err(|e| Error::from_io(dir, Operation::OpenDirectory, e))?;
    dir::create_or_open_checked(&dir)?;
    Ok(dir)
}
