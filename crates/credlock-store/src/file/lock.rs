//! The cross-process lock: `flock` on a stable lock file beside the store file.
//!
//! The data file cannot carry the lock: each save renames a new inode over it, so a lock on it
//! would be lost. The lock file is created once (mode 0600) and never removed, so every process
//! locks the same inode.

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use super::paths::Names;
use super::read::check_type;
use super::replace::FILE_MODE;
use super::sys;
use crate::{Error, Operation};

/// Longest pause between two attempts to take a busy lock.
const MAX_BACKOFF: Duration = Duration::from_millis(20);

/// Holds the lock until dropped (closing the descriptor releases the `flock`).
#[derive(Debug)]
pub(crate) struct FileLockGuard {
    _fd: OwnedFd,
}

/// Takes the exclusive lock, waiting up to `timeout` (`Duration::ZERO`: one try).
pub(crate) fn acquire(
    dir: BorrowedFd<'_>,
    names: &Names,
    timeout: Duration,
) -> Result<FileLockGuard, Error> {
    let lock_path = names.lock_path();
    let fd = open_lock_file(dir, names, &lock_path)?;
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(FileLockGuard { _fd: fd }),
            Err(Errno::WOULDBLOCK | Errno::INTR) => {}
            Err(e) => return Err(Error::from_io(&lock_path, Operation::Lock, e.into())),
        }
        let waited = start.elapsed();
        let Some(left) = timeout.checked_sub(waited).filter(|d| !d.is_zero()) else {
            return Err(Error::LockTimeout {
                path: lock_path,
                waited,
            });
        };
        thread::sleep(pause.min(left));
        pause = (pause * 2).min(MAX_BACKOFF);
    }
}

fn open_lock_file(dir: BorrowedFd<'_>, names: &Names, lock_path: &Path) -> Result<OwnedFd, Error> {
    // Read-only is enough for flock, and keeps an existing lock file usable on a read-only mount.
    // NONBLOCK: opening a FIFO planted at the lock path would otherwise wait forever for a
    // writer; this way the open returns and the type check below refuses it.
    let flags = OFlags::RDONLY
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::NONBLOCK
        | OFlags::CLOEXEC
        | OFlags::NOCTTY;
    let fd = sys::retry(|| {
        rustix::fs::openat(dir, &names.lock_name, flags, Mode::from_raw_mode(FILE_MODE))
    })
    .map_err(|e| {
        if sys::is_errno(&e, Errno::LOOP) || sys::is_errno(&e, Errno::MLINK) {
            Error::Symlink {
                path: lock_path.to_path_buf(),
            }
        } else if sys::is_errno(&e, Errno::ISDIR) {
            Error::IsADirectory {
                path: lock_path.to_path_buf(),
            }
        } else {
            Error::from_io(lock_path, Operation::Lock, e)
        }
    })?;
    let st =
        rustix::fs::fstat(&fd).map_err(|e| Error::from_io(lock_path, Operation::Lock, e.into()))?;
    check_type(&st, lock_path)?;
    let (owner, me) = (sys::owner(&st), sys::euid());
    if owner != me {
        return Err(Error::WrongOwner {
            path: lock_path.to_path_buf(),
            owner,
            expected: me,
        });
    }
    Ok(fd)
}
