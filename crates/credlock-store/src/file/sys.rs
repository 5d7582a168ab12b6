//! Small wrappers over rustix: stat decoding, the effective uid, and errno handling.

use std::io;

use rustix::fs::{FileType, Stat};
use rustix::io::Errno;

/// Permission bits (`st_mode & 0o7777`).
#[allow(clippy::useless_conversion)] // `st_mode` is narrower than u32 on some Unixes.
pub(crate) fn mode_bits(st: &Stat) -> u32 {
    u32::from(st.st_mode) & 0o7777
}

/// File type from `st_mode`.
pub(crate) fn file_type(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// File owner.
#[allow(clippy::useless_conversion)] // `st_uid` has other widths on some Unixes.
pub(crate) fn owner(st: &Stat) -> u32 {
    u32::from(st.st_uid)
}

/// File size in bytes (0 if the kernel reports a negative size).
pub(crate) fn size(st: &Stat) -> u64 {
    u64::try_from(st.st_size).unwrap_or(0)
}

/// Whether two stats describe the same inode.
#[allow(clippy::useless_conversion)] // `st_dev`/`st_ino` have other widths on some Unixes.
pub(crate) fn same_inode(a: &Stat, b: &Stat) -> bool {
    u64::from(a.st_dev) == u64::from(b.st_dev) && u64::from(a.st_ino) == u64::from(b.st_ino)
}

/// The effective uid of this process: the user whose files these are.
pub(crate) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// A human name for a file type that is not a regular file, directory or symlink.
pub(crate) fn kind_name(ft: FileType) -> &'static str {
    match ft {
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Directory => "directory",
        FileType::Symlink => "symbolic link",
        FileType::RegularFile => "regular file",
        _ => "special file",
    }
}

/// Whether an I/O error carries the given errno.
pub(crate) fn is_errno(err: &io::Error, errno: Errno) -> bool {
    err.raw_os_error() == Some(errno.raw_os_error())
}

/// Whether an `open` with `O_NOFOLLOW` failed because the path is a symbolic link (`ELOOP`,
/// or `EMLINK` on some BSDs).
pub(crate) fn is_symlink_refusal(err: &io::Error) -> bool {
    is_errno(err, Errno::LOOP) || is_errno(err, Errno::MLINK)
}

/// Retries a system call interrupted by a signal (`EINTR`), converting the error.
pub(crate) fn retry<T>(mut f: impl FnMut() -> rustix::io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(Errno::INTR) => {}
            other => return other.map_err(io::Error::from),
        }
    }
}
