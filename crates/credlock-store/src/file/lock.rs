//! The cross-process lock: `flock` on a stable lock file beside the store file, entered through
//! a turnstile so that waiters take turns.
//!
//! # The lock
//!
//! The data file cannot carry the lock: each save renames a new inode over it, so a lock on it
//! would be lost. The lock file `.<name>.lock` is created once (mode 0600) and never removed, so
//! every process locks the same inode. Holding `flock(LOCK_EX)` on it is what excludes other
//! holders; nothing else does.
//!
//! # Why a turnstile
//!
//! `flock` is not fair. When the holder releases it, Linux wakes the blocked waiters and lets
//! them race for it, and a request that arrives meanwhile does not queue behind them. With
//! non-blocking attempts and a back-off, a process that releases the lock and at once asks for
//! it again (a read-modify-write loop) finds it free nearly every time, the others being asleep
//! between attempts: one process made 644 updates while the other made 7 in 8 s. A blocked
//! waiter is woken at once and usually wins, but only by being scheduled before the holder
//! comes back, a race that a busy machine can tilt.
//!
//! So waiters line up at a second stable file, the turnstile `.<name>.turnstile` (also 0600,
//! also never removed). To take the lock, a process:
//!
//! 1. takes `flock(LOCK_EX)` on the turnstile: at most one process at a time, the head of the
//!    line, waits for the lock itself; the others wait here;
//! 2. takes `flock(LOCK_EX)` on the lock file;
//! 3. releases the turnstile, and returns holding the lock.
//!
//! A holder that releases the lock and asks for it again finds the turnstile held by the head,
//! and waits behind it: the head gets the lock first. The one gap is at the turnstile itself:
//! the waiters try it every [`POLL`], so once the head has moved on it can stay free for up to
//! that long, and a holder that comes back within the gap goes again. Its run of turns ends at
//! the next attempt of a waiter, which then heads the line. Who gets a free turnstile is decided
//! by whose attempt comes first; all waiters try at the same fixed period, so none has a lasting
//! edge and nobody is starved.
//!
//! # Waiting
//!
//! Each step is a non-blocking `flock`, repeated every [`POLL`] until it succeeds or the timeout
//! runs out; `Duration::ZERO` makes one attempt at each step (it fails if the lock is held or
//! somebody is already in line for it). The period is fixed, not a growing back-off: a back-off
//! would give the newest waiter, typically the process that just released the lock, the most
//! frequent attempts, and so the best chance at the turnstile. The price of polling: a waiter
//! makes one system call per period, and the lock changes hands half a period late on average.
//!
//! Blocking in `flock` would hand the lock over sooner, but a blocked `flock` cannot be cancelled
//! without signals. Honouring the timeout would take a helper thread that stays blocked after
//! its caller gave up: still in line, and, if it reached the lock, holding it for a moment after
//! the holder let go, so that an attempt that should find the lock free could fail. A polling
//! waiter is gone from the line the moment it gives up.
//!
//! # Crashes and other lockers
//!
//! Both locks are `flock`s, which the kernel drops when the last descriptor of their open file
//! is closed, so also when the process dies: a holder or a waiter that crashes, wherever it is
//! in the steps above, wedges nobody. The descriptors are opened `O_CLOEXEC`, so a program run by
//! the holder does not inherit them.
//!
//! # Letting go, and forked children
//!
//! An `flock` belongs to the open file, not to a descriptor: every descriptor of that open
//! file shares it, and so does a child forked while it is held, whose copies of the descriptors
//! live until its exec closes them (`O_CLOEXEC`) or until it exits. A child that another thread
//! of the holder forks (`std::process::Command` does) thus shares the lock for a moment, from
//! the fork to its exec. Closing the descriptor alone would leave the lock held that long
//! after the guard is gone, and a child that never execs would keep it. So both locks are let
//! go with an explicit `flock(LOCK_UN)` before the close ([`Flocked`]): the turnstile as soon as
//! the lock is taken (or the wait given up), the lock when the guard is dropped, at once,
//! whatever copies children hold.
//!
//! The lock is the taking process's: a forked child's copy of a guard does not hold it (the
//! holder's drop frees it under the child), and dropping that copy in the child only closes the
//! child's descriptor, leaving the holder's lock in place. Only when the holder dies without
//! dropping its guard (killed) does the lock last as long as a copy: a child between fork and
//! exec keeps it until its exec, a child that never execs until it exits.
//!
//! A process that locks the lock file without the turnstile (an older credlock, `flock(1)`) is
//! still excluded as before; it only does not wait its turn. When the turnstile cannot be
//! created or opened (a read-only file system, a directory this user cannot write), the lock is
//! taken without it, as before, without the turn-taking.

use std::ffi::OsStr;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use rustix::process::Pid;

use super::paths::Names;
use super::read::check_type;
use super::replace::FILE_MODE;
use super::sys;
use crate::{Error, Operation};

/// Pause between two attempts to take the turnstile or the lock.
const POLL: Duration = Duration::from_millis(1);

/// Holds the lock until dropped (see [`Flocked`]).
#[derive(Debug)]
pub(crate) struct FileLockGuard {
    _lock: Flocked,
}

/// A descriptor on which this process holds `flock(LOCK_EX)`. Dropping it unlocks, then
/// closes: the lock is let go even if a forked child holds a copy of the descriptor (see the
/// module docs).
#[derive(Debug)]
struct Flocked {
    fd: OwnedFd,
    /// The process that took the lock: in a child forked meanwhile, the drop of a copy of this
    /// value only closes the child's descriptor.
    owner: Pid,
}

impl Drop for Flocked {
    fn drop(&mut self) {
        if rustix::process::getpid() == self.owner {
            // Cannot fail for a valid descriptor with a lock; the close that follows is the
            // fallback anyway.
            let _ = rustix::fs::flock(&self.fd, FlockOperation::Unlock);
        }
    }
}

/// Takes the exclusive lock, waiting up to `timeout` (`Duration::ZERO`: one try).
pub(crate) fn acquire(
    dir: BorrowedFd<'_>,
    names: &Names,
    timeout: Duration,
) -> Result<FileLockGuard, Error> {
    let lock_path = names.lock_path();
    let lock = open_lock_file(dir, &names.lock_name, &lock_path)?;
    let turnstile = open_turnstile(dir, names)?;
    let start = Instant::now();
    let in_line = turnstile
        .map(|turnstile| wait_for(turnstile, start, timeout, &lock_path))
        .transpose()?;
    // On a timeout here, dropping `in_line` leaves the line.
    let lock = wait_for(lock, start, timeout, &lock_path)?;
    // Leaving the turnstile lets the next waiter in, to wait for this lock.
    drop(in_line);
    Ok(FileLockGuard { _lock: lock })
}

/// Takes `flock(LOCK_EX)` on `fd`, trying every [`POLL`] until `timeout` after `start`.
fn wait_for(
    fd: OwnedFd,
    start: Instant,
    timeout: Duration,
    lock_path: &Path,
) -> Result<Flocked, Error> {
    loop {
        match rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {
                let owner = rustix::process::getpid();
                return Ok(Flocked { fd, owner });
            }
            Err(Errno::WOULDBLOCK | Errno::INTR) => {}
            Err(e) => return Err(Error::from_io(lock_path, Operation::Lock, e.into())),
        }
        let waited = start.elapsed();
        let Some(left) = timeout.checked_sub(waited).filter(|d| !d.is_zero()) else {
            return Err(Error::LockTimeout {
                path: lock_path.to_path_buf(),
                waited,
            });
        };
        thread::sleep(POLL.min(left));
    }
}

/// Opens the turnstile, or `None` where it cannot be created or opened (see the module docs).
fn open_turnstile(dir: BorrowedFd<'_>, names: &Names) -> Result<Option<OwnedFd>, Error> {
    let path = names.turnstile_path();
    match open_lock_file(dir, &names.turnstile_name, &path) {
        Ok(fd) => Ok(Some(fd)),
        Err(Error::ReadOnlyFilesystem { .. } | Error::PermissionDenied { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Opens (creating it if missing) the lock file or the turnstile, `name` in `dir`, and checks
/// that it is a regular file of this user.
fn open_lock_file(dir: BorrowedFd<'_>, name: &OsStr, path: &Path) -> Result<OwnedFd, Error> {
    // Read-only is enough for flock, and keeps an existing lock file usable on a read-only mount.
    // NONBLOCK: opening a FIFO planted at the lock path would otherwise wait forever for a
    // writer; this way the open returns and the type check below refuses it.
    let flags = OFlags::RDONLY
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::NONBLOCK
        | OFlags::CLOEXEC
        | OFlags::NOCTTY;
    let fd = sys::retry(|| rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(FILE_MODE)))
        .map_err(|e| {
            if sys::is_symlink_refusal(&e) {
                Error::Symlink {
                    path: path.to_path_buf(),
                }
            } else if sys::is_errno(&e, Errno::ISDIR) {
                Error::IsADirectory {
                    path: path.to_path_buf(),
                }
            } else {
                Error::from_io(path, Operation::Lock, e)
            }
        })?;
    let st = rustix::fs::fstat(&fd).map_err(|e| Error::from_io(path, Operation::Lock, e.into()))?;
    check_type(&st, path)?;
    let (owner, me) = (sys::owner(&st), sys::euid());
    if owner != me {
        return Err(Error::WrongOwner {
            path: path.to_path_buf(),
            owner,
            expected: me,
        });
    }
    Ok(fd)
}
