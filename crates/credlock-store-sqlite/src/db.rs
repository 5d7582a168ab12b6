//! The database file, its connections (a small pool) and error mapping.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use credlock_store::{DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_LEN, Error};
use rusqlite::{Connection, OpenFlags};

use crate::schema::{self, SchemaError};

/// The database file's name inside the set's directory.
pub(crate) const DB_NAME: &str = "credlock.sqlite3";
/// How long a statement waits for another writer before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Idle connections kept for reuse.
const POOL_MAX: usize = 8;

/// One database and its idle connections.
#[derive(Debug)]
pub(crate) struct Db {
    pub(crate) path: PathBuf,
    pub(crate) lock_path: PathBuf,
    pub(crate) lock_timeout: Duration,
    pub(crate) max_len: usize,
    idle: Mutex<Vec<Connection>>,
}

impl Db {
    /// Creates the database file 0600 in `dir` if it is missing, checks it, opens a first
    /// connection (WAL) and migrates the schema.
    pub(crate) fn open(dir: &Path) -> Result<Self, Error> {
        let path = dir.join(DB_NAME);
        create_private_file(&path)?;
        let db = Self {
            lock_path: dir.join(format!("{DB_NAME}.lock")),
            path,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            max_len: DEFAULT_MAX_LEN,
            idle: Mutex::new(Vec::new()),
        };
        let mut conn = db.connect()?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| db.error("setting the WAL journal mode", e))?;
        schema::migrate(&mut conn).map_err(|e| match e {
            SchemaError::Sql(e) => db.error("creating or migrating the schema", e),
            SchemaError::TooNew(found) => Error::Database {
                path: db.path.clone(),
                backend: "sqlite",
                op: "checking the schema version",
                source: format!(
                    "the schema is at version {found}, newer than this credlock's {}; \
                     upgrade credlock",
                    schema::CURRENT
                )
                .into(),
            },
        })?;
        db.put(conn);
        Ok(db)
    }

    fn connect(&self) -> Result<Connection, Error> {
        // Never CREATE: the file was made 0600 by `create_private_file`.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)
            .map_err(|e| self.error("opening the database", e))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| self.error("setting the busy timeout", e))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| self.error("setting synchronous = FULL", e))?;
        Ok(conn)
    }

    /// Runs `f` on an idle connection (or a new one), then returns it to the pool.
    pub(crate) fn with<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, Error> {
        let taken = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let mut conn = match taken {
            Some(c) => c,
            None => self.connect()?,
        };
        let result = f(&mut conn).map_err(|e| self.error(op, e));
        self.put(conn);
        result
    }

    fn put(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle.len() < POOL_MAX {
            idle.push(conn);
        }
    }

    pub(crate) fn error(&self, op: &'static str, e: rusqlite::Error) -> Error {
        Error::Database {
            path: self.path.clone(),
            backend: "sqlite",
            op,
            source: Box::new(e),
        }
    }
}

/// Creates `path` empty with mode 0600 (`O_EXCL`, `O_NOFOLLOW`) if nothing is there, and
/// checks that what is there is a regular file no one else can read or write.
fn create_private_file(path: &Path) -> Result<(), Error> {
    let io_err = |op: &'static str, e: io::Error| Error::Database {
        path: path.to_path_buf(),
        backend: "sqlite",
        op,
        source: Box::new(e),
    };
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(crate::lock::nofollow())
        .open(path)
    {
        Ok(file) => file
            .sync_all()
            .map_err(|e| io_err("creating the database file", e))?,
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_err("creating the database file", e)),
    }
    let meta =
        std::fs::symlink_metadata(path).map_err(|e| io_err("inspecting the database file", e))?;
    if meta.file_type().is_symlink() {
        return Err(Error::Symlink {
            path: path.to_path_buf(),
        });
    }
    if !meta.is_file() {
        return Err(Error::NotRegularFile {
            path: path.to_path_buf(),
            kind: "special file",
        });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(Error::InsecureMode {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}
