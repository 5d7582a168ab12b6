//! Atomic replace: a private temporary file, written, flushed, renamed over the target, and
//! the directory flushed.
//!
//! The system calls that can fail for reasons outside our control go through [`Syscalls`], so
//! tests can inject a full disk or an I/O error at any step.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use super::paths::Names;
use super::sys;
use crate::{Error, Operation};

/// Mode of every file this crate creates, given at creation.
pub(crate) const FILE_MODE: u32 = 0o600;

/// How many fresh temporary names to try if one already exists.
const CREATE_ATTEMPTS: usize = 16;

/// The failure-prone steps of a save. The default methods make the real system calls; tests
/// override some of them to inject faults.
pub(crate) trait Syscalls {
    /// Creates a new file `name` in `dir`: write-only, `O_EXCL`, `O_NOFOLLOW`, mode 0600.
    fn create_temp(&mut self, dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
        let flags = OFlags::WRONLY
            | OFlags::CREATE
            | OFlags::EXCL
            | OFlags::NOFOLLOW
            | OFlags::CLOEXEC
            | OFlags::NOCTTY;
        sys::retry(|| rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(FILE_MODE)))
    }

    /// Writes some of `buf`, returning how much.
    fn write(&mut self, fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
        sys::retry(|| rustix::io::write(fd, buf))
    }

    /// Flushes the file's data and metadata to stable storage. Any failure, even `EINTR`, is
    /// final: after a failed `fsync` the kernel may have dropped the dirty pages, and a second
    /// call could report a success that is not one.
    fn sync_file(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        Ok(rustix::fs::fsync(fd)?)
    }

    /// Renames `from` over `to`, both in `dir`.
    fn rename(&mut self, dir: BorrowedFd<'_>, from: &OsStr, to: &OsStr) -> io::Result<()> {
        sys::retry(|| rustix::fs::renameat(dir, from, dir, to))
    }

    /// Flushes the directory, making a rename or removal durable (never retried either).
    fn sync_dir(&mut self, dir: BorrowedFd<'_>) -> io::Result<()> {
        Ok(rustix::fs::fsync(dir)?)
    }
}

/// The real system calls.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RealSyscalls;

impl Syscalls for RealSyscalls {}

/// Replaces `names.name` in `dir` with `bytes`. On any error before the rename, the temporary
/// file is removed and the target is untouched. A failed fsync is reported, never retried.
pub(crate) fn replace(
    dir: BorrowedFd<'_>,
    names: &Names,
    bytes: &[u8],
    calls: &mut impl Syscalls,
) -> Result<(), Error> {
    let path = names.path.as_path();
    let (temp_name, temp) = create_temp(dir, names, calls)?;
    let result = check_private(&temp, path)
        .and_then(|()| write_all(temp.as_fd(), bytes, path, calls))
        .and_then(|()| {
            calls
                .sync_file(temp.as_fd())
                .map_err(|e| Error::from_io(path, Operation::SyncFile, e))
        })
        .and_then(|()| {
            calls
                .rename(dir, &temp_name, &names.name)
                .map_err(|e| Error::from_io(path, Operation::Rename, e))
        });
    if let Err(err) = result {
        // Best effort: if this fails too, the next open removes the stale file.
        let _ = rustix::fs::unlinkat(dir, &temp_name, AtFlags::empty());
        return Err(err);
    }
    // The new file is in place; its directory entry is durable only after this.
    let synced = calls
        .sync_dir(dir)
        .map_err(|e| Error::from_io(path, Operation::SyncDirectory, e));
    drop(temp);
    synced
}

fn create_temp(
    dir: BorrowedFd<'_>,
    names: &Names,
    calls: &mut impl Syscalls,
) -> Result<(OsString, OwnedFd), Error> {
    let mut last = None;
    for _ in 0..CREATE_ATTEMPTS {
        let name = names.temp_name();
        match calls.create_temp(dir, &name) {
            Ok(fd) => {
                if lock_fresh_temp(&fd, &names.path)? {
                    return Ok((name, fd));
                }
                // A concurrent cleanup took the file between its creation and our lock, and
                // removes it: start again with a new one.
                last = Some(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            Err(e) if sys::is_errno(&e, Errno::EXIST) => last = Some(e),
            Err(e) => return Err(Error::from_io(&names.path, Operation::CreateTemp, e)),
        }
    }
    let e = last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists));
    Err(Error::from_io(&names.path, Operation::CreateTemp, e))
}

/// Locks a temporary file just created, so that a concurrent cleanup of stale temporary files
/// (which removes only unlocked ones) leaves it alone. Between the creation and the lock a
/// cleanup may have locked it first (the lock is busy) or already removed it (no link left):
/// then `false`, and the caller makes another.
fn lock_fresh_temp(fd: &OwnedFd, path: &Path) -> Result<bool, Error> {
    match sys::retry(|| rustix::fs::flock(fd, FlockOperation::NonBlockingLockExclusive)) {
        Ok(()) => {}
        Err(e) if sys::is_errno(&e, Errno::WOULDBLOCK) => return Ok(false),
        Err(e) => return Err(Error::from_io(path, Operation::CreateTemp, e)),
    }
    let st =
        rustix::fs::fstat(fd).map_err(|e| Error::from_io(path, Operation::CreateTemp, e.into()))?;
    Ok(st.st_nlink > 0)
}

/// Refuses to go on if the new file did not get a private mode (a file system that ignores
/// Unix permissions).
fn check_private(temp: &OwnedFd, path: &Path) -> Result<(), Error> {
    let st = rustix::fs::fstat(temp)
        .map_err(|e| Error::from_io(path, Operation::CreateTemp, e.into()))?;
    let mode = sys::mode_bits(&st);
    if mode & 0o077 != 0 {
        return Err(Error::UnsupportedFilesystem {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

fn write_all(
    fd: BorrowedFd<'_>,
    mut bytes: &[u8],
    path: &Path,
    calls: &mut impl Syscalls,
) -> Result<(), Error> {
    while !bytes.is_empty() {
        match calls.write(fd, bytes) {
            Ok(0) => {
                return Err(Error::from_io(
                    path,
                    Operation::Write,
                    io::Error::new(io::ErrorKind::WriteZero, "the file system accepted 0 bytes"),
                ));
            }
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::from_io(path, Operation::Write, e)),
        }
    }
    Ok(())
}
