//! The schema, created on first use and migrated forward through a version table.
//!
//! `credlock_schema` holds one row: the number of migrations applied. Each entry of
//! [`MIGRATIONS`] takes the schema from version `i` to `i + 1`; new tables (such as a shared
//! session table) are added as new entries, never by editing an applied one.

use rusqlite::{Connection, OptionalExtension as _, TransactionBehavior};

/// The migrations, in order.
const MIGRATIONS: &[&str] = &[
    // 1: sealed records and lockout states. A deleted record leaves its row with a NULL
    // record and a still-increasing version, so that a compare-and-swap from before the
    // deletion never matches a record created after it.
    "CREATE TABLE credlock_records (
         key     TEXT PRIMARY KEY NOT NULL,
         record  BLOB,
         version INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE TABLE credlock_lockouts (
         key     TEXT PRIMARY KEY NOT NULL,
         state   TEXT,
         version INTEGER NOT NULL
     ) WITHOUT ROWID;",
];

/// The schema version this crate writes.
pub(crate) const CURRENT: i64 = MIGRATIONS.len() as i64;

/// What went wrong with the schema.
#[derive(Debug)]
pub(crate) enum SchemaError {
    Sql(rusqlite::Error),
    /// The database was made by a newer credlock.
    TooNew(i64),
}

impl From<rusqlite::Error> for SchemaError {
    fn from(e: rusqlite::Error) -> Self {
        Self::Sql(e)
    }
}

/// Creates or migrates the schema, in one immediate transaction (so two processes opening a
/// new database at once do not both create it).
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), SchemaError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS credlock_schema (version INTEGER NOT NULL)")?;
    let found: Option<i64> = tx
        .query_row("SELECT version FROM credlock_schema", [], |r| r.get(0))
        .optional()?;
    let from = found.unwrap_or(0);
    if from > CURRENT {
        return Err(SchemaError::TooNew(from));
    }
    for sql in MIGRATIONS.iter().skip(usize::try_from(from).unwrap_or(0)) {
        tx.execute_batch(sql)?;
    }
    match found {
        None => tx.execute(
            "INSERT INTO credlock_schema (version) VALUES (?1)",
            [CURRENT],
        )?,
        Some(_) => tx.execute("UPDATE credlock_schema SET version = ?1", [CURRENT])?,
    };
    tx.commit()?;
    Ok(())
}
