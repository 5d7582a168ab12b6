//! The schema, created on first use and migrated forward through a version table, under an
//! advisory lock so that replicas starting at once take turns.
//!
//! `credlock_schema` holds one row: the number of migrations applied. Each entry of
//! [`MIGRATIONS`] takes the schema from version `i` to `i + 1`. A later table (the shared
//! session store, say) is a new entry at the end; an applied entry is never edited.

use postgres::Client;

/// The migrations, in order.
const MIGRATIONS: &[&str] = &[
    // 1: sealed records and lockout states. A deleted record keeps its row (NULL record)
    // and its version keeps increasing, so that a compare-and-swap from before a deletion
    // never matches a record created after it.
    "CREATE TABLE credlock_records (
         key     TEXT PRIMARY KEY,
         record  BYTEA,
         version BIGINT NOT NULL
     );
     CREATE TABLE credlock_lockouts (
         key     TEXT PRIMARY KEY,
         state   TEXT,
         version BIGINT NOT NULL
     );",
    // 2: shared client sessions (the facade's `PostgresSessions`): per user (`key`), the
    // token's SHA-256 digest for lookup (never the token), the session's metadata, and the
    // vault key sealed under a key derived from the token (never the key).
    "CREATE TABLE credlock_sessions (
         id              TEXT PRIMARY KEY,
         key             TEXT NOT NULL,
         digest          BYTEA NOT NULL UNIQUE,
         kind            TEXT NOT NULL,
         label           TEXT NOT NULL,
         scopes          SMALLINT NOT NULL,
         created_ms      BIGINT NOT NULL,
         last_used_ms    BIGINT NOT NULL,
         expires_ms      BIGINT,
         idle_timeout_ms BIGINT,
         sealed_key      TEXT
     );
     CREATE INDEX credlock_sessions_by_key ON credlock_sessions (key);",
    // 3: announcements (`Store::announce`): each one a row, numbered, naming the key, the
    // event and the set that sent it, and a `NOTIFY` on `credlock_events`. The rows let a
    // listener that was cut off catch up on what it missed; rows older than an hour go.
    "CREATE TABLE credlock_events (
         seq    BIGSERIAL PRIMARY KEY,
         key    TEXT NOT NULL,
         event  TEXT NOT NULL,
         origin TEXT NOT NULL,
         at     TIMESTAMPTZ NOT NULL DEFAULT now()
     );
     CREATE INDEX credlock_events_by_time ON credlock_events (at);",
];

/// The schema version this crate writes.
pub(crate) const CURRENT: i32 = 3;

/// The advisory lock key migrations hold (an arbitrary constant: "credlock" in ASCII).
const MIGRATION_LOCK: i64 = 0x6372_6564_6c6f_636b;

/// What went wrong with the schema.
#[derive(Debug)]
pub(crate) enum SchemaError {
    Sql(postgres::Error),
    /// The database was made by a newer credlock.
    TooNew(i32),
}

impl From<postgres::Error> for SchemaError {
    fn from(e: postgres::Error) -> Self {
        Self::Sql(e)
    }
}

/// Creates or migrates the schema in one transaction.
pub(crate) fn migrate(client: &mut Client) -> Result<(), SchemaError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS credlock_schema (version INTEGER NOT NULL)")?;
    let found: Option<i32> = tx
        .query_opt("SELECT version FROM credlock_schema", &[])?
        .map(|r| r.get(0));
    let from = found.unwrap_or(0);
    if from > CURRENT {
        return Err(SchemaError::TooNew(from));
    }
    for sql in MIGRATIONS.iter().skip(usize::try_from(from).unwrap_or(0)) {
        tx.batch_execute(sql)?;
    }
    match found {
        None => tx.execute(
            "INSERT INTO credlock_schema (version) VALUES ($1)",
            &[&CURRENT],
        )?,
        Some(_) => tx.execute("UPDATE credlock_schema SET version = $1", &[&CURRENT])?,
    };
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_current_version_counts_the_migrations() {
        assert_eq!(
            usize::try_from(super::CURRENT).ok(),
            Some(super::MIGRATIONS.len())
        );
    }
}
