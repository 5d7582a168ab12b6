//! Shared client sessions in PostgreSQL (feature `sessions`): the table `credlock_sessions`,
//! created by this crate's migrations in the database a [`PostgresStoreSet`] opened, kept
//! through the client-session contract of `credlock-client-sessions`.

use core::fmt;

use credlock_client_sessions::{
    Scopes, SealedKey, SessionId, SessionKind, SessionRecord, SessionStore, SessionStoreError,
    TokenDigest, TokenSecret,
};
use credlock_store::StoreKey;
use postgres::Row;

use crate::PostgresStoreSet;

/// Every user's shared sessions in one PostgreSQL database: give it to credlock's
/// `RegistryBuilder::shared_sessions` (or one user's [`PostgresSessionStore`] to
/// `VaultBuilder::shared_sessions`).
///
/// Rows hold a session's id, its user's key, its token's SHA-256 digest (the lookup), its
/// metadata, and the vault key sealed under a key derived from the token: the database alone
/// opens nothing. Cheap to clone; shares the store set's connections. Every method
/// **blocks** on the database.
///
/// ```no_run
/// use credlock_client_sessions::SessionStore as _;
/// use credlock_store::StoreKey;
/// use credlock_store_postgres::{PostgresSessions, PostgresStoreSet};
///
/// let set = PostgresStoreSet::builder("host=/run/postgresql user=app dbname=app".parse()?).open()?;
/// let alice = PostgresSessions::new(set).user(&StoreKey::new("alice")?);
/// assert!(alice.list()?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PostgresSessions {
    set: PostgresStoreSet,
}

impl PostgresSessions {
    /// The sessions kept in `set`'s database (whose schema `set` created or migrated).
    #[must_use]
    pub fn new(set: PostgresStoreSet) -> Self {
        Self { set }
    }

    /// The store of one user's sessions (a credlock `UserId` is such a key).
    #[must_use]
    pub fn user(&self, user: &impl AsRef<StoreKey>) -> PostgresSessionStore {
        PostgresSessionStore {
            set: self.set.clone(),
            key: user.as_ref().clone(),
        }
    }
}

/// One user's sessions in PostgreSQL (see [`PostgresSessions`]): it sees, lists and removes
/// only the rows of its user, so a lock on any replica removes that user's sessions and no
/// one else's.
#[derive(Clone)]
pub struct PostgresSessionStore {
    set: PostgresStoreSet,
    key: StoreKey,
}

impl fmt::Debug for PostgresSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresSessionStore")
            .field("key", &self.key.as_str())
            .finish_non_exhaustive()
    }
}

const COLUMNS: &str = "id, digest, kind, label, scopes, created_ms, last_used_ms, expires_ms, idle_timeout_ms, sealed_key";

fn unavailable(e: credlock_store::Error) -> SessionStoreError {
    SessionStoreError::Unavailable(Box::new(e))
}

/// Milliseconds as PostgreSQL's `BIGINT` (saturating: no time of ours is past 2^63 ms).
fn to_sql(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX)
}

impl PostgresSessionStore {
    fn with<T: Send>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut postgres::Client) -> Result<T, postgres::Error> + Send,
    ) -> Result<T, SessionStoreError> {
        self.set.with_client(op, f).map_err(unavailable)
    }

    /// A row read back; anything this crate did not write is refused (never a panic, even
    /// for a column whose type was altered).
    fn record(&self, row: &Row) -> Result<SessionRecord, SessionStoreError> {
        let corrupt = |what| unavailable(self.set.corrupt_row(what));
        let column = |what| move |_| corrupt(what);
        let ms = |v: i64| u64::try_from(v).map_err(|_| corrupt("a session time is negative"));
        let opt_ms = |v: Option<i64>| v.map(ms).transpose();
        let bad_column = "a session column has an unexpected type";
        let id = row.try_get::<_, &str>(0).map_err(column(bad_column))?;
        let id = SessionId::parse(id).ok_or_else(|| corrupt("a session id is malformed"))?;
        let digest = row.try_get::<_, &[u8]>(1).map_err(column(bad_column))?;
        let digest = <[u8; 32]>::try_from(digest)
            .map_err(|_| corrupt("a session digest is not 32 bytes"))?;
        let kind = row.try_get::<_, &str>(2).map_err(column(bad_column))?;
        let kind =
            SessionKind::from_name(kind).ok_or_else(|| corrupt("a session kind is unknown"))?;
        let scopes = row.try_get::<_, i16>(4).map_err(column(bad_column))?;
        let scopes = u8::try_from(scopes)
            .ok()
            .filter(|b| Scopes::from_bits(*b).bits() == *b)
            .map(Scopes::from_bits)
            .ok_or_else(|| corrupt("a session's scopes are unknown"))?;
        let int = |i| row.try_get::<_, i64>(i).map_err(column(bad_column));
        let opt_int = |i| row.try_get::<_, Option<i64>>(i).map_err(column(bad_column));
        Ok(SessionRecord {
            id,
            digest: TokenDigest::from_bytes(digest),
            kind,
            label: row.try_get::<_, String>(3).map_err(column(bad_column))?,
            scopes,
            created_ms: ms(int(5)?)?,
            last_used_ms: ms(int(6)?)?,
            expires_ms: opt_ms(opt_int(7)?)?,
            idle_timeout_ms: opt_ms(opt_int(8)?)?,
            sealed_key: row
                .try_get::<_, Option<String>>(9)
                .map_err(column(bad_column))?
                .map(SealedKey::from_text),
        })
    }
}

impl SessionStore for PostgresSessionStore {
    fn insert(&self, record: SessionRecord, _: &TokenSecret) -> Result<(), SessionStoreError> {
        let key = self.key.as_str();
        self.with("inserting a session", |c| {
            let mut tx = c.transaction()?;
            // An id is random; one already there (of this user) is replaced, as in memory.
            tx.execute(
                "DELETE FROM credlock_sessions WHERE id = $1 AND key = $2",
                &[&record.id.as_str(), &key],
            )?;
            tx.execute(
                &format!("INSERT INTO credlock_sessions (key, {COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"),
                &[
                    &key,
                    &record.id.as_str(),
                    &record.digest.as_bytes().as_slice(),
                    &record.kind.as_str(),
                    &record.label,
                    &i16::from(record.scopes.bits()),
                    &to_sql(record.created_ms),
                    &to_sql(record.last_used_ms),
                    &record.expires_ms.map(to_sql),
                    &record.idle_timeout_ms.map(to_sql),
                    &record.sealed_key.as_ref().map(SealedKey::as_str),
                ],
            )?;
            tx.commit()
        })
    }

    fn find(
        &self,
        digest: &TokenDigest,
        _: &TokenSecret,
    ) -> Result<Option<SessionRecord>, SessionStoreError> {
        let row = self.with("finding a session", |c| {
            c.query_opt(
                &format!("SELECT {COLUMNS} FROM credlock_sessions WHERE digest = $1 AND key = $2"),
                &[&digest.as_bytes().as_slice(), &self.key.as_str()],
            )
        })?;
        // Found through the index; the match is compared once more in constant time.
        match row {
            Some(row) => Ok(Some(self.record(&row)?).filter(|r| r.digest.ct_eq(digest))),
            None => Ok(None),
        }
    }

    fn touch(&self, id: &SessionId, now_ms: u64) -> Result<(), SessionStoreError> {
        self.with("recording a session's use", |c| {
            c.execute(
                "UPDATE credlock_sessions SET last_used_ms = GREATEST(last_used_ms, $1) \
                 WHERE id = $2 AND key = $3",
                &[&to_sql(now_ms), &id.as_str(), &self.key.as_str()],
            )
        })
        .map(|_| ())
    }

    fn list(&self) -> Result<Vec<SessionRecord>, SessionStoreError> {
        let rows = self.with("listing sessions", |c| {
            c.query(
                &format!("SELECT {COLUMNS} FROM credlock_sessions WHERE key = $1"),
                &[&self.key.as_str()],
            )
        })?;
        rows.iter().map(|r| self.record(r)).collect()
    }

    fn remove(&self, id: &SessionId) -> Result<bool, SessionStoreError> {
        self.with("removing a session", |c| {
            c.execute(
                "DELETE FROM credlock_sessions WHERE id = $1 AND key = $2",
                &[&id.as_str(), &self.key.as_str()],
            )
        })
        .map(|n| n > 0)
    }

    fn remove_all(&self) -> Result<usize, SessionStoreError> {
        self.with("removing every session", |c| {
            c.execute(
                "DELETE FROM credlock_sessions WHERE key = $1",
                &[&self.key.as_str()],
            )
        })
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    }

    fn replace_digest(
        &self,
        id: &SessionId,
        digest: TokenDigest,
        sealed_key: Option<SealedKey>,
        _: &TokenSecret,
        now_ms: u64,
    ) -> Result<bool, SessionStoreError> {
        // One statement: the old digest and sealed key are gone the moment the new ones are in.
        self.with("rotating a session", |c| {
            c.execute(
                "UPDATE credlock_sessions SET digest = $1, sealed_key = $2, \
                 last_used_ms = GREATEST(last_used_ms, $3) WHERE id = $4 AND key = $5",
                &[
                    &digest.as_bytes().as_slice(),
                    &sealed_key.as_ref().map(SealedKey::as_str),
                    &to_sql(now_ms),
                    &id.as_str(),
                    &self.key.as_str(),
                ],
            )
        })
        .map(|n| n > 0)
    }
}
