//! [`PostgresStoreSet`]: every key's store in one PostgreSQL database, shared by replicas.

use std::sync::Arc;

use credlock_store::{
    Error, Listener, LockoutRecord, Store, StoreInfo, StoreKey, StoreKind, StoreSet, Watch,
};
use postgres::tls::{MakeTlsConnect, TlsConnect};
use postgres::{Config, NoTls, Socket};

use crate::events::{self, Announcer};
use crate::pool::{Connect, Pool, off_runtime};
use crate::schema::{self, SchemaError};
use crate::store::PostgresStore;

/// A [`StoreSet`] in a PostgreSQL database: the tables `credlock_records` and
/// `credlock_lockouts` (and `credlock_schema`, the schema's version).
///
/// Cheap to clone (clones share the connection pool) and `Send + Sync`. Handing out a key's
/// store does no I/O. Open one per process (per replica); every replica's set on the same
/// database shares every key's record and lockout state.
#[derive(Debug, Clone)]
pub struct PostgresStoreSet {
    pool: Arc<Pool>,
    announcer: Arc<Announcer>,
}

/// Options for a [`PostgresStoreSet`]; from [`PostgresStoreSet::builder`].
#[must_use = "call .open() to connect"]
pub struct PostgresStoreSetBuilder {
    config: Config,
    connect: Box<Connect>,
}

impl std::fmt::Debug for PostgresStoreSetBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStoreSetBuilder")
            .finish_non_exhaustive()
    }
}

impl PostgresStoreSetBuilder {
    /// Connects through `tls`, a TLS connector (such as `postgres-rustls`'s
    /// `MakeRustlsConnect`); set `sslmode=require` in the configuration so that a server
    /// without TLS is refused. Without this option the connection is not encrypted
    /// ([`NoTls`]).
    pub fn tls<T>(mut self, tls: T) -> Self
    where
        T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
        T::TlsConnect: Send,
        T::Stream: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        self.connect = Box::new(move |config: &Config| config.connect(tls.clone()));
        self
    }

    /// Connects, and creates or migrates the schema.
    ///
    /// # Errors
    ///
    /// [`Error::Database`] if the server cannot be reached, refuses the credentials, or holds
    /// a schema from a newer credlock (left unaltered).
    pub fn open(self) -> Result<PostgresStoreSet, Error> {
        let pool = Arc::new(Pool::new(&self.config, self.connect));
        off_runtime(|| migrate(&pool))?;
        Ok(PostgresStoreSet {
            pool,
            announcer: Arc::new(Announcer::new()),
        })
    }
}

/// Creates or migrates the schema on a connection of `pool`.
fn migrate(pool: &Pool) -> Result<(), Error> {
    let mut client = pool.take()?;
    schema::migrate(&mut client).map_err(|e| match e {
        SchemaError::Sql(e) => pool.error("creating or migrating the schema", e),
        SchemaError::TooNew(found) => Error::Database {
            path: pool.name.clone(),
            backend: "postgres",
            op: "checking the schema version",
            source: format!(
                "the schema is at version {found}, newer than this credlock's {}; \
                     upgrade credlock",
                schema::CURRENT
            )
            .into(),
        },
    })?;
    pool.put(client);
    Ok(())
}

impl PostgresStoreSet {
    /// A builder for the database `config` names (for example
    /// `"host=/run/postgresql user=app dbname=app".parse()?`), without TLS unless
    /// [`tls`](PostgresStoreSetBuilder::tls) is given.
    pub fn builder(config: Config) -> PostgresStoreSetBuilder {
        PostgresStoreSetBuilder {
            config,
            connect: Box::new(|config: &Config| config.connect(NoTls)),
        }
    }

    /// The key's store, typed (the trait's [`StoreSet::store`] boxes it).
    #[must_use]
    pub fn postgres_store(&self, key: StoreKey) -> PostgresStore {
        PostgresStore {
            pool: Arc::clone(&self.pool),
            announcer: Arc::clone(&self.announcer),
            key,
        }
    }

    /// Runs `f` on a pooled connection to this set's database, naming `op` in the error if
    /// it fails: for the tables other crates keep in the same schema (the facade's shared
    /// session store uses `credlock_sessions`, created by this crate's migrations).
    ///
    /// # Errors
    ///
    /// [`Error::Database`] if no connection can be made or `f` fails.
    pub fn with_client<T: Send>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, Error> {
        self.pool.with(op, f)
    }

    /// A [`Error::CorruptRow`] naming this set's database.
    #[must_use]
    pub fn corrupt_row(&self, what: &'static str) -> Error {
        Error::CorruptRow {
            path: self.pool.name.clone(),
            what,
        }
    }

    /// Parses a key column: it must be a key this crate wrote.
    fn key_of(&self, raw: &str) -> Result<StoreKey, Error> {
        match StoreKey::new(raw) {
            Ok(k) if k.as_str() == raw => Ok(k),
            _ => Err(Error::CorruptRow {
                path: self.pool.name.clone(),
                what: "a key is not a valid store key",
            }),
        }
    }
}

impl StoreSet for PostgresStoreSet {
    fn store(&self, key: &StoreKey) -> Result<Box<dyn Store>, Error> {
        Ok(Box::new(self.postgres_store(key.clone())))
    }

    fn keys(&self) -> Result<Vec<StoreKey>, Error> {
        let rows = self.pool.with("listing keys", |c| {
            c.query(
                "SELECT key FROM credlock_records WHERE record IS NOT NULL ORDER BY key",
                &[],
            )
        })?;
        rows.iter().map(|r| self.key_of(r.get(0))).collect()
    }

    fn lockouts(&self) -> Result<Vec<(StoreKey, LockoutRecord)>, Error> {
        let rows = self.pool.with("listing lockout states", |c| {
            c.query(
                "SELECT key, state FROM credlock_lockouts WHERE state IS NOT NULL ORDER BY key",
                &[],
            )
        })?;
        let mut out = Vec::new();
        for row in rows {
            let key = self.key_of(row.get(0))?;
            let state: &str = row.get(1);
            let record =
                LockoutRecord::decode(state.as_bytes()).ok_or_else(|| Error::LockoutCorrupt {
                    path: self.pool.name.join(key.as_str()),
                })?;
            if record != LockoutRecord::default() {
                out.push((key, record));
            }
        }
        Ok(out)
    }

    fn describe(&self) -> StoreInfo {
        StoreInfo::new(StoreKind::Postgres, Some(&self.pool.name), None, true)
    }

    /// Listens on a connection of its own, on a thread of its own, for the announcements of
    /// every other set on this database (see the [crate docs](crate#replicas-hear-each-other)):
    /// returns once it listens, or once a first attempt failed (it goes on trying, and says
    /// [`Notice::Missed`](credlock_store::Notice::Missed) when it gets through).
    fn watch(&self, listener: Listener) -> Result<Option<Watch>, Error> {
        events::watch(&self.pool, &self.announcer, listener).map(Some)
    }
}
