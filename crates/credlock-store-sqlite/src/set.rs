//! [`SqliteStoreSet`]: every key's store in one SQLite database.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use credlock_store::{
    Error, LockoutRecord, Store, StoreInfo, StoreKey, StoreKind, StoreSet, open_private_dir,
};

use crate::db::Db;
use crate::store::SqliteStore;

/// A [`StoreSet`] in one SQLite database file, `credlock.sqlite3`, in a directory of its
/// own.
///
/// Cheap to clone (clones share the database and its connections) and `Send + Sync`.
/// Handing out a key's store does no I/O.
///
/// # Example
///
/// ```
/// use credlock_store::{Store, StoreKey, StoreSet};
/// use credlock_store_sqlite::SqliteStoreSet;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let tmp = tempfile::tempdir()?;
/// let set = SqliteStoreSet::open(tmp.path().join("db"))?;
/// set.store(&StoreKey::new("bob")?)?.save(b"sealed")?;
/// // Another process (or a later run) opening the same directory sees it.
/// let again = SqliteStoreSet::open(tmp.path().join("db"))?;
/// assert_eq!(again.keys()?, vec![StoreKey::new("bob")?]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStoreSet {
    db: Arc<Db>,
}

impl SqliteStoreSet {
    /// Opens the database in `dir`: creates `dir` with mode 0700 if missing (only its last
    /// component), the database file with mode 0600 if missing, switches it to WAL and
    /// creates or migrates the schema.
    ///
    /// # Errors
    ///
    /// The directory errors of [`credlock_store::open_private_dir`]; [`Error::Symlink`],
    /// [`Error::NotRegularFile`] or [`Error::InsecureMode`] for the database file;
    /// [`Error::Database`] if SQLite fails or the schema is from a newer credlock.
    ///
    /// # Example
    ///
    /// ```
    /// let tmp = tempfile::tempdir().unwrap();
    /// let set = credlock_store_sqlite::SqliteStoreSet::open(tmp.path().join("db")).unwrap();
    /// assert!(set.path().ends_with("db/credlock.sqlite3"));
    /// ```
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = open_private_dir(dir)?;
        Ok(Self {
            db: Arc::new(Db::open(&dir)?),
        })
    }

    /// The database file.
    ///
    /// # Example
    ///
    /// ```
    /// let tmp = tempfile::tempdir().unwrap();
    /// let set = credlock_store_sqlite::SqliteStoreSet::open(tmp.path()).unwrap();
    /// assert!(set.path().is_file());
    /// ```
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.db.path
    }

    /// The key's store, typed (the trait's [`StoreSet::store`] boxes it).
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{Store, StoreKey};
    ///
    /// let tmp = tempfile::tempdir().unwrap();
    /// let set = credlock_store_sqlite::SqliteStoreSet::open(tmp.path()).unwrap();
    /// let store = set.sqlite_store(StoreKey::new("carol").unwrap());
    /// assert_eq!(store.load().unwrap(), None);
    /// ```
    #[must_use]
    pub fn sqlite_store(&self, key: StoreKey) -> SqliteStore {
        SqliteStore {
            db: Arc::clone(&self.db),
            key,
        }
    }

    fn corrupt_key(&self) -> Error {
        Error::CorruptRow {
            path: self.db.path.clone(),
            what: "a key is not a valid store key",
        }
    }

    /// Parses a key column: it must be a key this crate wrote.
    fn key_of(&self, raw: &str) -> Result<StoreKey, Error> {
        match StoreKey::new(raw) {
            Ok(k) if k.as_str() == raw => Ok(k),
            _ => Err(self.corrupt_key()),
        }
    }
}

impl StoreSet for SqliteStoreSet {
    fn store(&self, key: &StoreKey) -> Result<Box<dyn Store>, Error> {
        Ok(Box::new(self.sqlite_store(key.clone())))
    }

    fn keys(&self) -> Result<Vec<StoreKey>, Error> {
        let raw: Vec<String> = self.db.with("listing keys", |c| {
            c.prepare_cached(
                "SELECT key FROM credlock_records WHERE record IS NOT NULL ORDER BY key",
            )?
            .query_map([], |row| row.get(0))?
            .collect()
        })?;
        raw.iter().map(|k| self.key_of(k)).collect()
    }

    fn lockouts(&self) -> Result<Vec<(StoreKey, LockoutRecord)>, Error> {
        let raw: Vec<String> = self.db.with("listing lockout states", |c| {
            c.prepare_cached(
                "SELECT key FROM credlock_lockouts WHERE state IS NOT NULL ORDER BY key",
            )?
            .query_map([], |row| row.get(0))?
            .collect()
        })?;
        let mut out = Vec::new();
        for k in raw {
            let key = self.key_of(&k)?;
            let record = self.sqlite_store(key.clone()).load_lockout()?;
            if record != LockoutRecord::default() {
                out.push((key, record));
            }
        }
        Ok(out)
    }

    fn describe(&self) -> StoreInfo {
        let mode = std::fs::symlink_metadata(&self.db.path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777);
        StoreInfo::new(StoreKind::Sqlite, Some(&self.db.path), mode, mode.is_some())
    }
}
