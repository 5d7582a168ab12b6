//! [`SqliteStore`]: one key's record and lockout state, as rows of the database.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use credlock_store::{
    Error, LockoutRecord, Store, StoreInfo, StoreKey, StoreKind, StoreLock, Version, Versioned,
    WriteOutcome,
};
use rusqlite::types::ValueRef;
use rusqlite::{OptionalExtension as _, TransactionBehavior, params};

use crate::db::Db;
use crate::lock;

/// One key's [`Store`] in an SQLite database; from
/// [`SqliteStoreSet::store`](crate::SqliteStoreSet).
///
/// Every operation is one statement (a delete is one transaction of two), so the store holds
/// no state of its own: handles of the same key in any number of threads and processes
/// share the rows.
pub struct SqliteStore {
    pub(crate) db: Arc<Db>,
    pub(crate) key: StoreKey,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.db.path)
            .field("key", &self.key)
            .finish()
    }
}

/// A version read from a column: never negative.
fn version(path: impl FnOnce() -> PathBuf, raw: i64) -> Result<Version, Error> {
    u64::try_from(raw)
        .map(Version::new)
        .map_err(|_| Error::CorruptRow {
            path: path(),
            what: "negative version",
        })
}

fn sql_version(v: Version) -> i64 {
    // Versions are written by this crate from 1 upwards; one beyond i64 matches no row.
    i64::try_from(v.get()).unwrap_or(-1)
}

impl SqliteStore {
    /// `<database>#<key>`, the name errors give.
    fn row_path(&self) -> PathBuf {
        PathBuf::from(format!("{}#{}", self.db.path.display(), self.key))
    }

    fn check_len(&self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.is_empty() {
            return Err(Error::EmptyData {
                path: self.row_path(),
            });
        }
        if bytes.len() > self.db.max_len {
            return Err(Error::DataTooLarge {
                path: self.row_path(),
                len: bytes.len(),
                max: self.db.max_len,
            });
        }
        Ok(())
    }

    /// The record column as stored: `None` for no row or a deleted one.
    fn record_of(&self, raw: Option<Raw>) -> Result<Option<Versioned<Vec<u8>>>, Error> {
        let Some(raw) = raw else { return Ok(None) };
        let version = version(|| self.row_path(), raw.version)?;
        match raw.value {
            RawValue::Null => Ok(None),
            RawValue::Blob(b) if b.is_empty() => Err(Error::Empty {
                path: self.row_path(),
            }),
            RawValue::Blob(b) if b.len() > self.db.max_len => Err(Error::TooLarge {
                path: self.row_path(),
                len: u64::try_from(b.len()).unwrap_or(u64::MAX),
                max: u64::try_from(self.db.max_len).unwrap_or(u64::MAX),
            }),
            RawValue::Blob(b) => Ok(Some(Versioned::new(b, version))),
            RawValue::Other => Err(Error::CorruptRow {
                path: self.row_path(),
                what: "the record is not a blob",
            }),
        }
    }

    fn lockout_of(&self, raw: Option<Raw>) -> Result<Versioned<LockoutRecord>, Error> {
        let Some(raw) = raw else {
            return Ok(Versioned::new(LockoutRecord::default(), Version::new(0)));
        };
        let version = version(|| self.row_path(), raw.version)?;
        let record = match raw.value {
            RawValue::Null => Some(LockoutRecord::default()),
            RawValue::Blob(b) => LockoutRecord::decode(&b),
            RawValue::Other => None,
        };
        record
            .map(|r| Versioned::new(r, version))
            .ok_or_else(|| Error::LockoutCorrupt {
                path: self.row_path(),
            })
    }

    fn select(&self, sql: &'static str, op: &'static str) -> Result<Option<Raw>, Error> {
        self.db.with(op, |c| {
            c.prepare_cached(sql)?
                .query_row([self.key.as_str()], |row| {
                    Ok(Raw {
                        value: RawValue::from(row.get_ref(0)?),
                        version: row.get(1)?,
                    })
                })
                .optional()
        })
    }

    /// Runs a conditional write whose `RETURNING version` yields a row only if it wrote.
    fn conditional(
        &self,
        op: &'static str,
        sql: &'static str,
        params: impl rusqlite::Params,
    ) -> Result<WriteOutcome, Error> {
        let written: Option<i64> = self.db.with(op, |c| {
            c.prepare_cached(sql)?
                .query_row(params, |row| row.get(0))
                .optional()
        })?;
        match written {
            Some(v) => Ok(WriteOutcome::Written(version(|| self.row_path(), v)?)),
            None => Ok(WriteOutcome::Conflict),
        }
    }
}

/// A column as read, before it is checked.
struct Raw {
    value: RawValue,
    version: i64,
}

enum RawValue {
    Null,
    Blob(Vec<u8>),
    Other,
}

impl From<ValueRef<'_>> for RawValue {
    fn from(v: ValueRef<'_>) -> Self {
        match v {
            ValueRef::Null => Self::Null,
            ValueRef::Blob(b) => Self::Blob(b.to_vec()),
            // The lockout state is stored as text.
            ValueRef::Text(t) => Self::Blob(t.to_vec()),
            _ => Self::Other,
        }
    }
}

const SELECT_RECORD: &str = "SELECT record, version FROM credlock_records WHERE key = ?1";
const SELECT_LOCKOUT: &str = "SELECT state, version FROM credlock_lockouts WHERE key = ?1";

impl Store for SqliteStore {
    fn load(&self) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.read()?.map(|v| v.value))
    }

    fn read(&self) -> Result<Option<Versioned<Vec<u8>>>, Error> {
        let raw = self.select(SELECT_RECORD, "reading a record")?;
        self.record_of(raw)
    }

    fn save(&self, bytes: &[u8]) -> Result<(), Error> {
        self.check_len(bytes)?;
        self.db.with("writing a record", |c| {
            c.prepare_cached(
                "INSERT INTO credlock_records (key, record, version) VALUES (?1, ?2, 1)
                 ON CONFLICT (key) DO UPDATE
                 SET record = excluded.record, version = credlock_records.version + 1",
            )?
            .execute(params![self.key.as_str(), bytes])
        })?;
        Ok(())
    }

    fn create(&self, bytes: &[u8]) -> Result<WriteOutcome, Error> {
        self.check_len(bytes)?;
        self.conditional(
            "creating a record",
            "INSERT INTO credlock_records (key, record, version) VALUES (?1, ?2, 1)
             ON CONFLICT (key) DO UPDATE
             SET record = excluded.record, version = credlock_records.version + 1
             WHERE credlock_records.record IS NULL
             RETURNING version",
            params![self.key.as_str(), bytes],
        )
    }

    fn replace_if(&self, expected: Version, bytes: &[u8]) -> Result<WriteOutcome, Error> {
        self.check_len(bytes)?;
        self.conditional(
            "replacing a record",
            "UPDATE credlock_records SET record = ?2, version = version + 1
             WHERE key = ?1 AND version = ?3 AND record IS NOT NULL
             RETURNING version",
            params![self.key.as_str(), bytes, sql_version(expected)],
        )
    }

    fn delete(&self) -> Result<(), Error> {
        self.db.with("deleting a record", |c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(
                "UPDATE credlock_records SET record = NULL, version = version + 1
                 WHERE key = ?1 AND record IS NOT NULL",
            )?
            .execute([self.key.as_str()])?;
            tx.prepare_cached(
                "UPDATE credlock_lockouts SET state = NULL, version = version + 1
                 WHERE key = ?1 AND state IS NOT NULL",
            )?
            .execute([self.key.as_str()])?;
            tx.commit()
        })
    }

    fn lock(&self) -> Result<StoreLock, Error> {
        lock::acquire(&self.db.lock_path, self.db.lock_timeout)
    }

    fn describe(&self) -> StoreInfo {
        let present = matches!(self.read(), Ok(Some(_)) | Err(_));
        StoreInfo::new(StoreKind::Sqlite, Some(&self.db.path), None, present)
    }

    fn load_lockout(&self) -> Result<LockoutRecord, Error> {
        Ok(self.read_lockout()?.value)
    }

    fn read_lockout(&self) -> Result<Versioned<LockoutRecord>, Error> {
        let raw = self.select(SELECT_LOCKOUT, "reading a lockout state")?;
        self.lockout_of(raw)
    }

    fn save_lockout(&self, record: &LockoutRecord) -> Result<(), Error> {
        let state = String::from_utf8_lossy(&record.encode()).into_owned();
        self.db.with("writing a lockout state", |c| {
            c.prepare_cached(
                "INSERT INTO credlock_lockouts (key, state, version) VALUES (?1, ?2, 1)
                 ON CONFLICT (key) DO UPDATE
                 SET state = excluded.state, version = credlock_lockouts.version + 1",
            )?
            .execute(params![self.key.as_str(), state])
        })?;
        Ok(())
    }

    fn replace_lockout_if(
        &self,
        expected: Version,
        record: &LockoutRecord,
    ) -> Result<WriteOutcome, Error> {
        let state = String::from_utf8_lossy(&record.encode()).into_owned();
        if expected.get() == 0 {
            // Version 0: no row yet.
            return self.conditional(
                "counting an attempt",
                "INSERT INTO credlock_lockouts (key, state, version) VALUES (?1, ?2, 1)
                 ON CONFLICT (key) DO NOTHING
                 RETURNING version",
                params![self.key.as_str(), state],
            );
        }
        self.conditional(
            "counting an attempt",
            "UPDATE credlock_lockouts SET state = ?2, version = version + 1
             WHERE key = ?1 AND version = ?3
             RETURNING version",
            params![self.key.as_str(), state, sql_version(expected)],
        )
    }

    fn reset_lockout(&self) -> Result<(), Error> {
        self.db.with("clearing a lockout state", |c| {
            c.prepare_cached(
                "UPDATE credlock_lockouts SET state = NULL, version = version + 1
                 WHERE key = ?1 AND state IS NOT NULL",
            )?
            .execute([self.key.as_str()])
        })?;
        Ok(())
    }
}
