//! The cross-process lock of [`Store::lock`](credlock_store::Store::lock): an advisory lock
//! on `credlock.sqlite3.lock` beside the database, for the whole database.
//!
//! The contract's own operations never take it (they are single conditional statements);
//! it serves callers that hold a store's lock around a read-modify-write of their own.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use credlock_store::{Error, StoreKind, StoreLock};

/// `O_NOFOLLOW`: a planted symbolic link is refused, not followed.
pub(crate) fn nofollow() -> i32 {
    i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or(0)
}

/// Takes the lock, polling up to `timeout`.
pub(crate) fn acquire(path: &Path, timeout: Duration) -> Result<StoreLock, Error> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(nofollow())
        .open(path)
        .map_err(|e| io_error(path, e))?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(StoreLock::new(StoreKind::Sqlite, Held(file))),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(io_error(path, e)),
        }
        let waited = start.elapsed();
        if waited >= timeout {
            return Err(Error::LockTimeout {
                path: path.to_path_buf(),
                waited,
            });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::Database {
        path: path.to_path_buf(),
        backend: "sqlite",
        op: "opening the lock file",
        source: Box::new(e),
    }
}

/// The held lock; closing the file releases it.
#[derive(Debug)]
struct Held(#[allow(dead_code, reason = "held for its drop, which releases the lock")] File);
