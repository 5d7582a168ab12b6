//! Removal of temporary files left behind by a writer that died.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use rustix::fd::BorrowedFd;
use rustix::fs::{AtFlags, Dir, FileType, FlockOperation, Mode, OFlags};

use super::paths::Names;
use super::sys;
use crate::{Error, Operation};

/// Removes this store file's temporary files that no live writer holds; returns how many.
///
/// A writer holds an exclusive `flock` on its temporary file from creation to rename, and the
/// kernel drops it when the writer dies, so a lock we can take marks a stale file. Only names
/// of the form `.<name>.tmp-<16 hex>` for this store file are considered.
pub(crate) fn remove_stale_temps(dir: BorrowedFd<'_>, names: &Names) -> Result<usize, Error> {
    let listing_error =
        |e: rustix::io::Errno| Error::from_io(&names.path, Operation::ReadDirectory, e.into());
    let mut removed = 0;
    let mut listing = Dir::read_from(dir).map_err(listing_error)?;
    while let Some(entry) = listing.read() {
        let entry = entry.map_err(listing_error)?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes());
        if names.is_temp_name(name) && remove_if_stale(dir, name) {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Removes one candidate if no one holds it. Races with other processes (the file renamed or
/// removed meanwhile) are not errors: the candidate is then simply left alone.
fn remove_if_stale(dir: BorrowedFd<'_>, name: &OsStr) -> bool {
    let Ok(before) = rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) else {
        return false;
    };
    match sys::file_type(&before) {
        FileType::RegularFile => {}
        // We never create these; a link or FIFO under our reserved name is removed unopened.
        FileType::Symlink | FileType::Fifo | FileType::Socket => {
            return rustix::fs::unlinkat(dir, name, AtFlags::empty()).is_ok();
        }
        _ => return false,
    }
    #[cfg(test)]
    super::race::run(super::race::Point::CleanupOpen);
    // NONBLOCK: a FIFO swapped in after the look must not make the open wait for a writer.
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let Ok(fd) = rustix::fs::openat(dir, name, flags, Mode::empty()) else {
        return false;
    };
    if rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_err() {
        return false; // a live writer holds it
    }
    // Remove it only if the name still refers to the file we locked.
    let (Ok(locked), Ok(now)) = (
        rustix::fs::fstat(&fd),
        rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW),
    ) else {
        return false;
    };
    sys::same_inode(&locked, &now) && rustix::fs::unlinkat(dir, name, AtFlags::empty()).is_ok()
}
