//! The lockout state's file, `.<name>.lockout`: a fixed-size record overwritten in place.
//!
//! The record is counted before every passphrase derivation, so its write sits on the
//! unlock path. The first write creates the file by atomic replace (0600 from the start, like
//! the store file). Later writes overwrite the existing file in place with one `pwrite` of a
//! fixed [`RECORD_LEN`] bytes at offset 0 followed by `fdatasync`: no temporary file, no
//! rename, no directory sync, so one flush instead of four. A write of a few dozen bytes at
//! the start of a file does not tear on the storage this is meant for (a sector is written
//! whole); if it ever did, the record fails to parse and attempts are refused until an
//! operator clears the lockout (fail closed), rather than reset.

use std::path::Path;

use rustix::fd::{AsFd, BorrowedFd};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::paths::Names;
use super::read::{self, ReadOptions};
use super::replace::{self, RealSyscalls};
use super::sys;
use crate::{Error, LockoutRecord, Operation};

/// The size of every stored record: the encoded record padded with spaces.
const RECORD_LEN: usize = 128;

/// Reads the record; the default record if there is no file.
pub(crate) fn load(dir: BorrowedFd<'_>, names: &Names) -> Result<LockoutRecord, Error> {
    let options = ReadOptions::new().max_len(RECORD_LEN);
    match read::read_at(dir, Path::new(&names.name), &names.path, &options)? {
        None => Ok(LockoutRecord::default()),
        Some(bytes) => {
            let end = bytes.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
            LockoutRecord::decode(&bytes[..end]).ok_or_else(|| Error::LockoutCorrupt {
                path: names.path.clone(),
            })
        }
    }
}

/// Writes the record: in place if the file exists (and is ours), by atomic replace if not.
pub(crate) fn save(
    dir: BorrowedFd<'_>,
    names: &Names,
    record: &LockoutRecord,
) -> Result<(), Error> {
    let mut bytes = record.encode();
    bytes.resize(RECORD_LEN, b' ');
    let flags = OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    match sys::retry(|| rustix::fs::openat(dir, &names.name, flags, Mode::empty())) {
        Ok(fd) => {
            let io = |op: Operation| move |e: Errno| Error::from_io(&names.path, op, e.into());
            let st = rustix::fs::fstat(&fd).map_err(io(Operation::Stat))?;
            read::check_type(&st, &names.path)?;
            read::check_owner_and_mode(&st, &names.path, &ReadOptions::new())?;
            let written = sys::retry(|| rustix::io::pwrite(fd.as_fd(), &bytes, 0))
                .map_err(|e| Error::from_io(&names.path, Operation::Write, e))?;
            if written != bytes.len() {
                // A short write of a few dozen bytes: rewrite the whole file instead.
                return replace::replace(dir, names, &bytes, &mut RealSyscalls);
            }
            if sys::size(&st) != RECORD_LEN as u64 {
                rustix::fs::ftruncate(&fd, RECORD_LEN as u64).map_err(io(Operation::Write))?;
            }
            rustix::fs::fdatasync(&fd).map_err(io(Operation::SyncFile))
        }
        Err(e) if sys::is_errno(&e, Errno::NOENT) => {
            replace::replace(dir, names, &bytes, &mut RealSyscalls)
        }
        Err(e) if sys::is_symlink_refusal(&e) => Err(Error::Symlink {
            path: names.path.clone(),
        }),
        Err(e) => Err(Error::from_io(&names.path, Operation::Open, e)),
    }
}
