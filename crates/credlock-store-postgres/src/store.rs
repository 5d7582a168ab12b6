//! [`PostgresStore`]: one key's record and lockout state, as rows of the database.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use credlock_store::{
    DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_LEN, Error, LockoutRecord, Store, StoreEvent, StoreInfo,
    StoreKey, StoreKind, StoreLock, Version, Versioned, WriteOutcome,
};
use postgres::types::ToSql;

use crate::events::Announcer;
use crate::lock;
use crate::pool::Pool;

/// One key's [`Store`] in a PostgreSQL database; from
/// [`PostgresStoreSet`](crate::PostgresStoreSet).
///
/// Every operation is one statement (a delete is one transaction of two), so handles of the
/// same key in any number of threads, processes and replicas share the rows exactly.
pub struct PostgresStore {
    pub(crate) pool: Arc<Pool>,
    pub(crate) announcer: Arc<Announcer>,
    pub(crate) key: StoreKey,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.pool.name)
            .field("key", &self.key)
            .finish()
    }
}

fn sql_version(v: Version) -> i64 {
    // Versions are written by this crate from 1 upwards; one beyond i64 matches no row.
    i64::try_from(v.get()).unwrap_or(-1)
}

impl PostgresStore {
    /// `postgres://…/db/<key>`, the name errors give.
    fn row_path(&self) -> PathBuf {
        self.pool.name.join(self.key.as_str())
    }

    fn version(&self, raw: i64) -> Result<Version, Error> {
        u64::try_from(raw)
            .map(Version::new)
            .map_err(|_| Error::CorruptRow {
                path: self.row_path(),
                what: "negative version",
            })
    }

    fn check_len(&self, bytes: &[u8]) -> Result<(), Error> {
        if bytes.is_empty() {
            return Err(Error::EmptyData {
                path: self.row_path(),
            });
        }
        if bytes.len() > DEFAULT_MAX_LEN {
            return Err(Error::DataTooLarge {
                path: self.row_path(),
                len: bytes.len(),
                max: DEFAULT_MAX_LEN,
            });
        }
        Ok(())
    }

    /// Runs a conditional write whose `RETURNING version` yields a row only if it wrote.
    fn conditional(
        &self,
        op: &'static str,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<WriteOutcome, Error> {
        let written: Option<i64> = self
            .pool
            .with(op, |c| c.query_opt(sql, params))?
            .map(|row| row.get(0));
        match written {
            Some(v) => Ok(WriteOutcome::Written(self.version(v)?)),
            None => Ok(WriteOutcome::Conflict),
        }
    }

    fn encode(record: &LockoutRecord) -> String {
        String::from_utf8_lossy(&record.encode()).into_owned()
    }
}

impl Store for PostgresStore {
    fn load(&self) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.read()?.map(|v| v.value))
    }

    fn read(&self) -> Result<Option<Versioned<Vec<u8>>>, Error> {
        let row = self.pool.with("reading a record", |c| {
            c.query_opt(
                "SELECT record, version FROM credlock_records WHERE key = $1",
                &[&self.key.as_str()],
            )
        })?;
        let Some(row) = row else { return Ok(None) };
        let (record, version): (Option<Vec<u8>>, i64) = (row.get(0), row.get(1));
        let version = self.version(version)?;
        match record {
            None => Ok(None),
            Some(b) if b.is_empty() => Err(Error::Empty {
                path: self.row_path(),
            }),
            Some(b) if b.len() > DEFAULT_MAX_LEN => Err(Error::TooLarge {
                path: self.row_path(),
                len: u64::try_from(b.len()).unwrap_or(u64::MAX),
                max: u64::try_from(DEFAULT_MAX_LEN).unwrap_or(u64::MAX),
            }),
            Some(b) => Ok(Some(Versioned::new(b, version))),
        }
    }

    fn save(&self, bytes: &[u8]) -> Result<(), Error> {
        self.check_len(bytes)?;
        self.pool.with("writing a record", |c| {
            c.execute(
                "INSERT INTO credlock_records (key, record, version) VALUES ($1, $2, 1)
                 ON CONFLICT (key) DO UPDATE
                 SET record = EXCLUDED.record, version = credlock_records.version + 1",
                &[&self.key.as_str(), &bytes],
            )
        })?;
        Ok(())
    }

    fn create(&self, bytes: &[u8]) -> Result<WriteOutcome, Error> {
        self.check_len(bytes)?;
        self.conditional(
            "creating a record",
            "INSERT INTO credlock_records (key, record, version) VALUES ($1, $2, 1)
             ON CONFLICT (key) DO UPDATE
             SET record = EXCLUDED.record, version = credlock_records.version + 1
             WHERE credlock_records.record IS NULL
             RETURNING version",
            &[&self.key.as_str(), &bytes],
        )
    }

    fn replace_if(&self, expected: Version, bytes: &[u8]) -> Result<WriteOutcome, Error> {
        self.check_len(bytes)?;
        self.conditional(
            "replacing a record",
            "UPDATE credlock_records SET record = $2, version = version + 1
             WHERE key = $1 AND version = $3 AND record IS NOT NULL
             RETURNING version",
            &[&self.key.as_str(), &bytes, &sql_version(expected)],
        )
    }

    fn delete(&self) -> Result<(), Error> {
        self.pool.with("deleting a record", |c| {
            let mut tx = c.transaction()?;
            tx.execute(
                "UPDATE credlock_records SET record = NULL, version = version + 1
                 WHERE key = $1 AND record IS NOT NULL",
                &[&self.key.as_str()],
            )?;
            tx.execute(
                "UPDATE credlock_lockouts SET state = NULL, version = version + 1
                 WHERE key = $1 AND state IS NOT NULL",
                &[&self.key.as_str()],
            )?;
            tx.commit()
        })
    }

    fn lock(&self) -> Result<StoreLock, Error> {
        lock::acquire(&self.pool, self.key.as_str(), DEFAULT_LOCK_TIMEOUT)
    }

    fn describe(&self) -> StoreInfo {
        let present = matches!(self.read(), Ok(Some(_)) | Err(_));
        StoreInfo::new(StoreKind::Postgres, Some(&self.pool.name), None, present)
    }

    fn load_lockout(&self) -> Result<LockoutRecord, Error> {
        Ok(self.read_lockout()?.value)
    }

    fn read_lockout(&self) -> Result<Versioned<LockoutRecord>, Error> {
        let row = self.pool.with("reading a lockout state", |c| {
            c.query_opt(
                "SELECT state, version FROM credlock_lockouts WHERE key = $1",
                &[&self.key.as_str()],
            )
        })?;
        let Some(row) = row else {
            return Ok(Versioned::new(LockoutRecord::default(), Version::new(0)));
        };
        let (state, version): (Option<String>, i64) = (row.get(0), row.get(1));
        let version = self.version(version)?;
        let record = match state {
            None => Some(LockoutRecord::default()),
            Some(s) => LockoutRecord::decode(s.as_bytes()),
        };
        record
            .map(|r| Versioned::new(r, version))
            .ok_or_else(|| Error::LockoutCorrupt {
                path: self.row_path(),
            })
    }

    fn save_lockout(&self, record: &LockoutRecord) -> Result<(), Error> {
        let state = Self::encode(record);
        self.pool.with("writing a lockout state", |c| {
            c.execute(
                "INSERT INTO credlock_lockouts (key, state, version) VALUES ($1, $2, 1)
                 ON CONFLICT (key) DO UPDATE
                 SET state = EXCLUDED.state, version = credlock_lockouts.version + 1",
                &[&self.key.as_str(), &state],
            )
        })?;
        Ok(())
    }

    fn replace_lockout_if(
        &self,
        expected: Version,
        record: &LockoutRecord,
    ) -> Result<WriteOutcome, Error> {
        let state = Self::encode(record);
        if expected.get() == 0 {
            // Version 0: no row yet.
            return self.conditional(
                "counting an attempt",
                "INSERT INTO credlock_lockouts (key, state, version) VALUES ($1, $2, 1)
                 ON CONFLICT (key) DO NOTHING
                 RETURNING version",
                &[&self.key.as_str(), &state],
            );
        }
        self.conditional(
            "counting an attempt",
            "UPDATE credlock_lockouts SET state = $2, version = version + 1
             WHERE key = $1 AND version = $3
             RETURNING version",
            &[&self.key.as_str(), &state, &sql_version(expected)],
        )
    }

    /// Queues the announcement for the set's sender thread and returns without waiting for
    /// the database: one statement then makes a row in `credlock_events` and a `NOTIFY` on
    /// the channel `credlock_events`, committed together, and one the database does not
    /// take is tried again until it does (see the
    /// [crate docs](crate#replicas-hear-each-other)). Fails only if no thread can be started
    /// and sending in place fails.
    fn announce(&self, event: StoreEvent) -> Result<(), Error> {
        self.announcer
            .announce(&self.pool, self.key.as_str(), event)
    }

    fn reset_lockout(&self) -> Result<(), Error> {
        self.pool.with("clearing a lockout state", |c| {
            c.execute(
                "UPDATE credlock_lockouts SET state = NULL, version = version + 1
                 WHERE key = $1 AND state IS NOT NULL",
                &[&self.key.as_str()],
            )
        })?;
        Ok(())
    }
}
