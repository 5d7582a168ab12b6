//! Eclosion's SQLite store (`eclosion.db`, table `credentials`, row `id = 1`): import and
//! export. How the import reads without leaving a trace is in the [crate docs](crate).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use credlock::crypto::{FernetKey, Salt};
use credlock::migrate::ExportKey;
use credlock::secrecy::{ExposeSecret as _, SecretString};
use credlock::{Credentials, Vault};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension as _, TransactionBehavior};
use zeroize::Zeroizing;

use crate::error::Error;
#[cfg(fuzzing)]
use crate::legacy::LegacyFields;
use crate::legacy::{
    ECLOSION_CREATED_AT, ECLOSION_NOTES_KEY, ECLOSION_UPDATED_AT, Extras, ImportOptions,
    ImportReport, LEGACY_ITERATIONS, Source, check_import_allowed, fields, file_mode,
    from_migration, import_fields, storage,
};

/// The `credentials` table exactly as Eclosion (SQLAlchemy, from v1.0.27-beta.20260202.1 to
/// v1.3.10) creates it, down to the whitespace SQLite keeps in `sqlite_master`.
#[cfg(test)]
const CREATE_CREDENTIALS: &str = "CREATE TABLE credentials (\n\
\tid INTEGER NOT NULL, \n\
\tsalt TEXT NOT NULL, \n\
\temail_encrypted TEXT NOT NULL, \n\
\tpassword_encrypted TEXT NOT NULL, \n\
\tmfa_secret_encrypted TEXT, \n\
\tnotes_key_encrypted TEXT, \n\
\tcreated_at DATETIME NOT NULL, \n\
\tupdated_at DATETIME NOT NULL, \n\
\tPRIMARY KEY (id), \n\
\tCONSTRAINT single_row_credentials CHECK (id = 1)\n\
)";

/// Eclosion's columns of `credentials`, in its order.
const COLUMNS: [&str; 8] = [
    "id",
    "salt",
    "email_encrypted",
    "password_encrypted",
    "mfa_secret_encrypted",
    "notes_key_encrypted",
    "created_at",
    "updated_at",
];

/// The columns an import cannot do without.
const REQUIRED: [&str; 3] = ["salt", "email_encrypted", "password_encrypted"];

/// Columns kept in the vault as extras, and the extra each becomes.
const KEPT: [(&str, &str); 3] = [
    ("notes_key_encrypted", ECLOSION_NOTES_KEY),
    ("created_at", ECLOSION_CREATED_AT),
    ("updated_at", ECLOSION_UPDATED_AT),
];

const WHAT: &str = "Eclosion's database";

fn db_error(reason: &'static str) -> Error {
    Error::Database { reason }
}

/// How an export into `eclosion.db` behaves. The default refuses to overwrite credentials
/// already stored there.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatabaseExportOptions {
    /// Replace the credentials row of an existing database that already has one (as
    /// Eclosion's own `save()` does). Default: refuse with
    /// [`Error::CredentialsExist`].
    pub replace_existing: bool,
}

impl DatabaseExportOptions {
    /// The defaults: never overwrite stored credentials.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Replace an existing credentials row.
    #[must_use]
    pub const fn replace_existing(mut self, on: bool) -> Self {
        self.replace_existing = on;
        self
    }
}

/// [`EclosionExt::import_eclosion_sqlite`](crate::EclosionExt::import_eclosion_sqlite).
pub(crate) fn import(
    vault: &Vault,
    database: &Path,
    passphrase: &SecretString,
    options: &ImportOptions,
) -> Result<ImportReport, Error> {
    if options.remove_original {
        return Err(Error::InvalidOption {
            name: "remove_original",
        });
    }
    check_import_allowed(vault, options)?;
    let found = read_database(database)?;
    let source = Source {
        path: database,
        mode: file_mode(database),
        what: WHAT,
        database: true,
    };
    let mut fields = fields(&found.salt, found.email, found.password, found.mfa)
        .map_err(|e| source.name_in(e))?;
    fields.notes_key = found.notes_key;
    fields.plain_extras = found.plain_extras;
    let mut report = import_fields(vault, &fields, &source, passphrase, options)?;
    report.kept_as_extras = found.kept;
    report.columns_not_carried = found.columns_not_carried;
    report.tables_not_carried = found.tables_not_carried;
    Ok(report)
}

/// [`EclosionExt::export_eclosion_sqlite`](crate::EclosionExt::export_eclosion_sqlite).
pub(crate) fn export(
    vault: &Vault,
    database: &Path,
    passphrase: &SecretString,
    options: &DatabaseExportOptions,
) -> Result<(), Error> {
    // Check the destination before testing the passphrase: a bad path is not a guess.
    match std::fs::symlink_metadata(database) {
        Ok(meta) if meta.file_type().is_file() => {}
        Ok(_) => {
            return Err(db_error(
                "the path is a symbolic link or not a regular file",
            ));
        }
        // Eclosion starts on no database that holds only its credentials: the export never
        // makes one (see the README's interoperability section).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoEclosionDatabase {
                path: database.to_path_buf(),
            });
        }
        Err(e) => return Err(storage(database, e)),
    }
    vault
        .export_foreign(
            passphrase,
            LEGACY_ITERATIONS,
            Some("eclosion_database"),
            |proven: &ExportKey| {
                let row = Row::seal(&proven.credentials, &proven.key, proven.params.salt())?;
                write_existing(database, &row, options)
            },
        )
        .map_err(from_migration)
}

/// The fields an import of `database` would decrypt, read as the import reads them.
#[cfg(fuzzing)]
pub(crate) fn read_fields(database: &Path) -> Result<LegacyFields, Error> {
    let found = read_database(database)?;
    let mut fields = fields(&found.salt, found.email, found.password, found.mfa)?;
    fields.notes_key = found.notes_key;
    fields.plain_extras = found.plain_extras;
    Ok(fields)
}

/// What the import read from the database, before any decryption.
struct Found {
    salt: String,
    email: Option<String>,
    password: Option<String>,
    mfa: Option<String>,
    notes_key: Option<String>,
    plain_extras: Extras,
    kept: Vec<String>,
    columns_not_carried: Vec<String>,
    tables_not_carried: Vec<String>,
}

/// How many times an immutable read is tried before giving up on a database that keeps
/// changing under it.
const IMMUTABLE_ATTEMPTS: u32 = 3;

fn read_database(database: &Path) -> Result<Found, Error> {
    read_database_with(database, &mut |_| {})
}

/// Reads the database. An immutable open (see the module docs) sees no locks, so a writer
/// that opened, wrote and checkpointed the database meanwhile could have changed the main
/// file under the read: the file (size, time, inode) and its `-wal`/`-shm` are compared
/// before and after, and the read is done again, the way the files then call for, if they
/// changed. `after_read` runs between the read and the comparison (a seam for tests).
fn read_database_with(database: &Path, after_read: &mut dyn FnMut(u32)) -> Result<Found, Error> {
    let meta = std::fs::symlink_metadata(database).map_err(|e| storage(database, e))?;
    if !meta.file_type().is_file() {
        return Err(db_error(
            "the path is a symbolic link or not a regular file",
        ));
    }
    for attempt in 1..=IMMUTABLE_ATTEMPTS {
        let before = Stamp::of(database);
        let (conn, private_copy, how) = open_read_only(database)?;
        let found = read_open(&conn);
        drop(conn);
        drop(private_copy);
        after_read(attempt);
        if how != Opened::Immutable || Stamp::of(database) == before {
            return found;
        }
    }
    Err(db_error(
        "it kept changing while being read without locks; try again when Eclosion is idle",
    ))
}

/// What identifies the state of the database's files on disk.
#[derive(PartialEq, Eq)]
struct Stamp(Vec<Option<(u64, u64, i64, i64)>>);

impl Stamp {
    fn of(database: &Path) -> Self {
        use std::os::unix::fs::MetadataExt as _;
        Self(
            [
                database.to_path_buf(),
                sibling(database, "-wal"),
                sibling(database, "-shm"),
            ]
            .iter()
            .map(|p| {
                std::fs::symlink_metadata(p)
                    .ok()
                    .map(|m| (m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
            })
            .collect(),
        )
    }
}

fn read_open(conn: &Connection) -> Result<Found, Error> {
    let unreadable = |_| db_error("it cannot be read as an SQLite database");
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<_, _>>()
        })
        .map_err(unreadable)?;
    if !tables.iter().any(|t| t == "credentials") {
        return Err(db_error("it has no `credentials` table"));
    }
    let columns = table_columns(conn, "credentials").map_err(unreadable)?;
    if REQUIRED.iter().any(|c| !columns.contains(*c)) {
        return Err(db_error(
            "its `credentials` table lacks Eclosion's salt, email and password columns",
        ));
    }
    let row: Option<Vec<(String, Value)>> = conn
        .prepare("SELECT * FROM credentials WHERE id = 1")
        .and_then(|mut s| {
            let names: Vec<String> = s.column_names().map(str::to_owned).collect();
            s.query_row([], |r| {
                names
                    .iter()
                    .enumerate()
                    .map(|(i, n)| Ok((n.clone(), r.get::<_, Value>(i)?)))
                    .collect()
            })
            .optional()
        })
        .map_err(unreadable)?;
    let Some(row) = row else {
        return Err(db_error(
            "the `credentials` table has no row 1: Eclosion holds no credentials",
        ));
    };
    let text = |name: &str| -> Result<Option<String>, Error> {
        match row.iter().find(|(n, _)| n == name).map(|(_, v)| v) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Text(t)) => Ok(Some(t.clone())),
            Some(Value::Integer(i)) => Ok(Some(i.to_string())),
            Some(Value::Real(r)) => Ok(Some(r.to_string())),
            Some(Value::Blob(_)) => Err(db_error("a credentials column holds binary data")),
        }
    };
    let salt = text("salt")?.ok_or(db_error("the salt is NULL: Eclosion holds no credentials"))?;
    let (email, password, mfa) = (
        text("email_encrypted")?,
        text("password_encrypted")?,
        text("mfa_secret_encrypted")?,
    );
    let notes_key = text("notes_key_encrypted")?.filter(|t| !t.is_empty());
    let mut plain_extras = Extras::new();
    let mut kept = Vec::new();
    for (column, extra) in KEPT {
        let value = text(column)?.filter(|t| !t.is_empty());
        if let Some(value) = value {
            if extra != ECLOSION_NOTES_KEY {
                plain_extras.insert(extra, Zeroizing::new(value));
            }
            kept.push(format!("credentials.{column}"));
        }
    }
    let columns_not_carried = columns
        .iter()
        .filter(|c| !COLUMNS.contains(&c.as_str()))
        .map(|c| format!("credentials.{c}"))
        .collect();
    let tables_not_carried = tables.into_iter().filter(|t| t != "credentials").collect();
    Ok(Found {
        salt,
        email,
        password,
        mfa,
        notes_key,
        plain_extras,
        kept,
        columns_not_carried,
        tables_not_carried,
    })
}

fn table_columns(conn: &Connection, table: &str) -> rusqlite::Result<BTreeSet<String>> {
    let mut stmt = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
    stmt.query_map([table], |r| r.get::<_, String>(0))?
        .collect()
}

/// How [`open_read_only`] opened the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opened {
    /// `mode=ro`, under SQLite's locks.
    ReadOnly,
    /// `mode=ro&immutable=1`: no locks, the main file alone.
    Immutable,
    /// A private copy.
    Copy,
}

/// Opens `database` for reading without creating anything beside it (see the module docs).
/// The second value, when there is one, is the private copy's directory, deleted on drop
/// (after the connection, which the caller drops first).
fn open_read_only(
    database: &Path,
) -> Result<(Connection, Option<tempfile::TempDir>, Opened), Error> {
    let io = |e: std::io::Error| storage(database, e);
    let mut header = [0u8; 20];
    {
        use std::io::Read as _;
        let mut file = std::fs::File::open(database).map_err(io)?;
        let n = file.read(&mut header).map_err(io)?;
        if n < header.len() || &header[..16] != b"SQLite format 3\0" {
            return Err(db_error("it is not an SQLite database"));
        }
    }
    // Bytes 18 and 19: the read and write versions, 2 in WAL mode.
    let wal_mode = header[18] == 2 || header[19] == 2;
    let wal = sibling(database, "-wal");
    let shm = sibling(database, "-shm");
    let (has_wal, has_shm) = (
        std::fs::symlink_metadata(&wal).is_ok(),
        std::fs::symlink_metadata(&shm).is_ok(),
    );
    let open = |path: &Path, query: &str| {
        Connection::open_with_flags(
            uri(path, query),
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|_| db_error("it cannot be opened as an SQLite database"))
    };
    if !wal_mode || (has_wal && has_shm) {
        return Ok((open(database, "mode=ro")?, None, Opened::ReadOnly));
    }
    if !has_wal && !has_shm {
        return Ok((
            open(database, "mode=ro&immutable=1")?,
            None,
            Opened::Immutable,
        ));
    }
    // A -wal without its -shm (or the reverse): recover in a private copy.
    let dir = tempfile::Builder::new()
        .prefix("credlock-eclosion-")
        .tempdir()
        .map_err(io)?;
    let copy = dir.path().join("eclosion.db");
    std::fs::copy(database, &copy).map_err(io)?;
    if has_wal {
        std::fs::copy(&wal, sibling(&copy, "-wal")).map_err(io)?;
    }
    let conn = Connection::open_with_flags(
        &copy,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|_| db_error("it cannot be opened as an SQLite database"))?;
    Ok((conn, Some(dir), Opened::Copy))
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// An SQLite URI for `path` (every byte outside the unreserved set percent-encoded).
fn uri(path: &Path, query: &str) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let mut out = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push('?');
    out.push_str(query);
    out
}

/// The row an export writes.
struct Row {
    salt: String,
    email: String,
    password: String,
    mfa: Option<String>,
    notes_key: Option<String>,
    created_at: String,
    updated_at: String,
}

impl Row {
    fn seal(creds: &Credentials, key: &FernetKey, salt: &Salt) -> Result<Self, Error> {
        // As Eclosion's `CredentialEncryption.encrypt`: "" for an empty value.
        let seal = |value: &str| -> Result<String, Error> {
            if value.is_empty() {
                Ok(String::new())
            } else {
                key.seal(value.as_bytes())
                    .map_err(|e| Error::Vault(e.into()))
            }
        };
        let optional = |value: Option<&str>| -> Result<Option<String>, Error> {
            match value.filter(|v| !v.is_empty()) {
                Some(v) => Ok(Some(seal(v)?)),
                None => Ok(None),
            }
        };
        let now = sqlalchemy_now()?;
        Ok(Self {
            salt: STANDARD.encode(salt.as_bytes()),
            email: seal(creds.email())?,
            password: seal(creds.password().expose_secret())?,
            mfa: optional(creds.mfa_secret().map(|s| s.expose_secret()))?,
            notes_key: optional(creds.extra(ECLOSION_NOTES_KEY))?,
            created_at: creds
                .extra(ECLOSION_CREATED_AT)
                .map_or_else(|| now.clone(), str::to_owned),
            updated_at: now,
        })
    }

    fn insert(&self, conn: &Connection) -> rusqlite::Result<usize> {
        conn.execute(
            "INSERT INTO credentials (id, salt, email_encrypted, password_encrypted, \
             mfa_secret_encrypted, notes_key_encrypted, created_at, updated_at) \
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            rusqlite::params![
                self.salt,
                self.email,
                self.password,
                self.mfa,
                self.notes_key,
                self.created_at,
                self.updated_at
            ],
        )
    }
}

/// An existing database: the row in one transaction, refusing stored credentials unless
/// asked to replace them.
fn write_existing(
    database: &Path,
    row: &Row,
    options: &DatabaseExportOptions,
) -> Result<(), Error> {
    let mut conn = Connection::open_with_flags(
        database,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|_| db_error("it cannot be opened as an SQLite database"))?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(|_| db_error("it cannot be opened as an SQLite database"))?;
    let failed = |_| db_error("the credentials could not be written; nothing was changed");
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|_| db_error("it cannot be written (not an SQLite database, or busy)"))?;
    let columns = table_columns(&tx, "credentials").map_err(failed)?;
    if columns.is_empty() {
        return Err(db_error("it has no `credentials` table"));
    }
    if COLUMNS.iter().any(|c| !columns.contains(*c)) {
        return Err(db_error(
            "its `credentials` table lacks some of Eclosion's columns",
        ));
    }
    let stored: i64 = tx
        .query_row("SELECT COUNT(*) FROM credentials", [], |r| r.get(0))
        .map_err(failed)?;
    if stored > 0 {
        if !options.replace_existing {
            return Err(Error::CredentialsExist {
                path: database.to_path_buf(),
            });
        }
        // As Eclosion's own save(): delete, then insert.
        tx.execute("DELETE FROM credentials", []).map_err(failed)?;
    }
    row.insert(&tx).map_err(failed)?;
    tx.commit().map_err(failed)
}

/// Now, as SQLAlchemy stores a `DateTime` in SQLite: `YYYY-MM-DD HH:MM:SS.ffffff` (UTC, as
/// Eclosion's `datetime.now(UTC)`).
fn sqlalchemy_now() -> Result<String, Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| Error::Vault(credlock::crypto::Error::ClockBeforeEpoch.into()))?;
    Ok(sqlalchemy_time(now.as_secs(), now.subsec_micros()))
}

fn sqlalchemy_time(secs: u64, micros: u32) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{micros:06}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn timestamps_are_written_as_sqlalchemy_does() {
        assert_eq!(sqlalchemy_time(0, 0), "1970-01-01 00:00:00.000000");
        // 2026-11-26 10:20:46.999046, the fixture's created_at.
        assert_eq!(
            sqlalchemy_time(1_795_688_446, 999_046),
            "2026-11-26 10:20:46.999046"
        );
        assert_eq!(
            sqlalchemy_time(951_782_400, 1),
            "2000-02-29 00:00:00.000001"
        );
    }

    /// A writer that changes the database under an immutable read (opens it, commits, and
    /// checkpoints on close): the read is done again and returns the new row.
    #[test]
    fn an_immutable_read_that_the_database_changed_under_is_done_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("eclosion.db");
        let conn = Connection::open(&db).unwrap();
        conn.execute_batch(CREATE_CREDENTIALS).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; INSERT INTO credentials VALUES \
             (1, 'c2FsdA==', 'e1', 'p', NULL, NULL, 'created-1', 'u');",
        )
        .unwrap();
        drop(conn);
        assert!(!sibling(&db, "-wal").exists(), "closed cleanly: no -wal");
        let mut attempts = Vec::new();
        let found = read_database_with(&db, &mut |attempt| {
            attempts.push(attempt);
            if attempt == 1 {
                let w = Connection::open(&db).unwrap();
                w.execute("UPDATE credentials SET email_encrypted = 'e2'", [])
                    .unwrap();
                drop(w);
            }
        })
        .unwrap();
        assert_eq!(attempts, [1, 2]);
        assert_eq!(found.email.as_deref(), Some("e2"));
        // A database that changes under every read is refused, not read torn.
        let err = read_database_with(&db, &mut |n| {
            let w = Connection::open(&db).unwrap();
            w.execute(
                "UPDATE credentials SET email_encrypted = ?1",
                [format!("e{n}")],
            )
            .unwrap();
        })
        .err()
        .unwrap();
        assert!(matches!(err, Error::Database { .. }), "{err:?}");
    }

    #[test]
    fn uris_percent_encode_the_path() {
        assert_eq!(
            uri(Path::new("/a b/e?#%.db"), "mode=ro"),
            "file:/a%20b/e%3F%23%25.db?mode=ro"
        );
    }
}
