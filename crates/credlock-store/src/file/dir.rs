//! Opening, creating and checking the directory that holds the store file.

use std::fs::DirBuilder;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use rustix::fd::OwnedFd;
use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;

use super::sys;
use crate::{Error, Operation};

/// Mode of a directory this crate creates.
const DIR_MODE: u32 = 0o700;

/// Opens `dir` (following symbolic links in it) and checks it: a directory owned by the
/// current user or root, not writable by group or others.
pub(crate) fn open_checked(dir: &Path) -> Result<OwnedFd, Error> {
    let fd = open(dir)?;
    check(dir, &fd)?;
    Ok(fd)
}

/// Like [`open_checked`], but first creates `dir` with mode 0700 if it does not exist, and
/// flushes its parent so the new directory survives a crash.
///
/// Only the last component is ever created: a missing parent is
/// [`Error::DirectoryNotFound`] naming the parent, never a chain of directories made on the
/// caller's behalf (a typo in a configured path must not plant directories elsewhere).
pub(crate) fn create_or_open_checked(dir: &Path) -> Result<OwnedFd, Error> {
    match open(dir) {
        Err(Error::DirectoryNotFound { .. }) => {
            #[cfg(test)]
            super::race::run(super::race::Point::Mkdir);
            match DirBuilder::new()
                .recursive(false)
                .mode(DIR_MODE)
                .create(dir)
            {
                Ok(()) => {}
                // Another process created it meanwhile: check it like any existing one.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    return Err(Error::DirectoryNotFound {
                        path: dir.parent().unwrap_or(dir).to_path_buf(),
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotADirectory => {
                    return Err(Error::NotADirectory {
                        path: dir.to_path_buf(),
                    });
                }
                Err(e) => return Err(Error::from_io(dir, Operation::CreateDirectory, e)),
            }
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                let parent_fd = open(parent)?;
                rustix::fs::fsync(&parent_fd)
                    .map_err(|e| Error::from_io(dir, Operation::SyncDirectory, e.into()))?;
            }
            open_checked(dir)
        }
        Err(e) => Err(e),
        Ok(fd) => {
            check(dir, &fd)?;
            Ok(fd)
        }
    }
}

fn open(dir: &Path) -> Result<OwnedFd, Error> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    sys::retry(|| rustix::fs::open(dir, flags, Mode::empty())).map_err(|e| {
        if sys::is_errno(&e, Errno::NOENT) {
            Error::DirectoryNotFound {
                path: dir.to_path_buf(),
            }
        } else if sys::is_errno(&e, Errno::NOTDIR) {
            Error::NotADirectory {
                path: dir.to_path_buf(),
            }
        } else {
            Error::from_io(dir, Operation::OpenDirectory, e)
        }
    })
}

fn check(dir: &Path, fd: &OwnedFd) -> Result<(), Error> {
    let st = rustix::fs::fstat(fd)
        .map_err(|e| Error::from_io(dir, Operation::OpenDirectory, e.into()))?;
    if sys::file_type(&st) != FileType::Directory {
        return Err(Error::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let owner = sys::owner(&st);
    let me = sys::euid();
    if owner != me && owner != 0 {
        return Err(Error::DirectoryWrongOwner {
            path: dir.to_path_buf(),
            owner,
            expected: me,
        });
    }
    let mode = sys::mode_bits(&st);
    if mode & 0o022 != 0 {
        return Err(Error::DirectoryInsecure {
            path: dir.to_path_buf(),
            mode,
        });
    }
    Ok(())
}
