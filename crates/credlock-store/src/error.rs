//! The crate's error type.
//!
//! Every variant names the path involved and, in its message, what to do about it. No variant
//! ever carries file contents. Failures of the operating system keep their [`io::Error`] as
//! [`source`](std::error::Error::source) and do not repeat it in their own message, so a chain
//! printer (`{:#}` with anyhow, eyre) shows it once; [`Error::io_kind`] gives its
//! [`io::ErrorKind`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What went wrong while loading, saving, deleting or locking stored bytes.
///
/// The message of each variant says what is wrong and how to fix it. Every variant that can
/// come from a failed save means the previous file was left as it was, except
/// [`Operation::SyncDirectory`] failures, which happen after the new file is in place (see
/// [`manual`](crate::manual)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The path cannot name a store file.
    #[error("invalid store path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: PathBuf,
        /// Why it was refused.
        reason: InvalidPathReason,
    },

    /// The directory that should hold the file does not exist.
    #[error(
        "directory {path:?} does not exist; create it with `mkdir -m 700 -p {path:?}` or let \
         FileStore::open create it"
    )]
    DirectoryNotFound {
        /// The missing directory.
        path: PathBuf,
    },

    /// The path of the directory (or one of its ancestors) names something that is not a
    /// directory.
    #[error("{path:?} is not a directory; choose a store path inside a directory")]
    NotADirectory {
        /// The path that should have been a directory.
        path: PathBuf,
    },

    /// The directory holding the file can be written by the group or by others, who could then
    /// replace or remove the file, or plant files beside it. A shared directory with the
    /// sticky bit (such as `/tmp`) is explained, not "fixed": its mode must not be changed.
    #[error("{}", directory_insecure_message(path, *mode))]
    DirectoryInsecure {
        /// The directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// The directory holding the file belongs to another user (neither the current user nor
    /// root).
    #[error(
        "directory {path:?} is owned by uid {owner}, not by the current user (uid {expected}) \
         or root; use a directory you own, or run `chown {expected} {path:?}`"
    )]
    DirectoryWrongOwner {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The effective uid of this process.
        expected: u32,
    },

    /// There is no file at the path (only [`read_checked`](crate::read_checked) reports this;
    /// [`Store::load`](crate::Store::load) returns `Ok(None)` instead).
    #[error("file {path:?} does not exist; check the path")]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },

    /// The path names a directory, not a file.
    #[error("{path:?} is a directory, not a file; choose the path of a file")]
    IsADirectory {
        /// The path.
        path: PathBuf,
    },

    /// The path is a symbolic link, which is never followed.
    #[error(
        "{path:?} is a symbolic link; it is never followed, so that nobody can redirect the \
         file elsewhere; remove the link (`rm {path:?}`) and, if it pointed at your file, move \
         that file here"
    )]
    Symlink {
        /// The path of the link.
        path: PathBuf,
    },

    /// The path is neither a regular file, a directory nor a symbolic link.
    #[error("{path:?} is a {kind}, not a regular file; remove it or choose another path")]
    NotRegularFile {
        /// The path.
        path: PathBuf,
        /// What it is: "FIFO", "socket", "character device", "block device" or "special file".
        kind: &'static str,
    },

    /// The file belongs to another user.
    #[error(
        "file {path:?} is owned by uid {owner}, not by the current user (uid {expected}); \
         if it is yours, run `chown {expected} {path:?}`, otherwise do not use it"
    )]
    WrongOwner {
        /// The file.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// The effective uid of this process.
        expected: u32,
    },

    /// The file can be read or written by the group or by others (as OpenSSH's `StrictModes`
    /// refuses private keys).
    #[error(
        "file {path:?} has mode {mode:04o}, so group or others may read it; run \
         `chmod 600 {path:?}`, and consider your credentials exposed if others could read them"
    )]
    InsecureMode {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// A new file created with mode 0600 came out with group or other bits, so the file system
    /// does not keep Unix permissions (vfat, some network shares).
    #[error(
        "the file system holding {path:?} does not keep Unix permissions (a new 0600 file got \
         mode {mode:04o}); keep the store on a local Unix file system"
    )]
    UnsupportedFilesystem {
        /// The target path.
        path: PathBuf,
        /// The mode the new file was given.
        mode: u32,
    },

    /// The file is empty, which a store never writes (a truncated copy, or a placeholder).
    #[error(
        "file {path:?} is empty (0 bytes), so it holds no credentials; restore it from a backup, \
         or delete it and log in again"
    )]
    Empty {
        /// The file.
        path: PathBuf,
    },

    /// The file is larger than the size cap, so it is not read.
    #[error(
        "file {path:?} is {len} bytes, over the limit of {max} bytes, so it was not read; it is \
         not a credential file: move it away"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (at least `max + 1` if it grew while being read).
        len: u64,
        /// The limit.
        max: u64,
    },

    /// The stored lockout state cannot be parsed: someone edited or truncated it. Passphrase
    /// attempts should be refused until an operator clears it.
    #[error(
        "the lockout state {path:?} is not in the expected format; passphrase attempts are \
         refused until an operator clears the lockout"
    )]
    LockoutCorrupt {
        /// The lockout state's path (or the memory store's placeholder).
        path: PathBuf,
    },

    /// The data to save is empty; use [`Store::delete`](crate::Store::delete) to remove a file.
    #[error("refusing to save 0 bytes to {path:?}; nothing was written (to remove it, delete it)")]
    EmptyData {
        /// The target path.
        path: PathBuf,
    },

    /// The data to save is larger than the size cap, so it would not be readable again.
    #[error(
        "refusing to save {len} bytes to {path:?}: over the limit of {max} bytes; nothing was \
         written"
    )]
    DataTooLarge {
        /// The target path.
        path: PathBuf,
        /// The length of the data.
        len: usize,
        /// The limit.
        max: usize,
    },

    /// The operating system refused access (`EACCES` or `EPERM`).
    #[error(
        "permission denied while {op} {path:?}; check the owner and mode of the file and its \
         directory"
    )]
    PermissionDenied {
        /// The target path.
        path: PathBuf,
        /// What was being done.
        op: Operation,
        /// The error from the operating system.
        #[source]
        source: io::Error,
    },

    /// The file system is full or the user's quota is used up (`ENOSPC`, `EDQUOT`).
    #[error(
        "no space left while {op} {path:?}; the previous file (if any) was left unchanged; free \
         some disk space and retry"
    )]
    StorageFull {
        /// The target path.
        path: PathBuf,
        /// What was being done.
        op: Operation,
        /// The error from the operating system.
        #[source]
        source: io::Error,
    },

    /// The file system is mounted read-only (`EROFS`).
    #[error(
        "the file system holding {path:?} is read-only ({op}); the previous file (if any) was \
         left unchanged; remount it read-write or choose another path"
    )]
    ReadOnlyFilesystem {
        /// The target path.
        path: PathBuf,
        /// What was being done.
        op: Operation,
        /// The error from the operating system.
        #[source]
        source: io::Error,
    },

    /// Any other failure of the operating system, such as an I/O error (`EIO`).
    #[error("{op} {path:?} failed; {hint}", hint = op.hint())]
    Io {
        /// The target path.
        path: PathBuf,
        /// What was being done.
        op: Operation,
        /// The error from the operating system.
        #[source]
        source: io::Error,
    },

    /// Another holder kept the lock for longer than the lock timeout.
    #[error(
        "another process holds the lock {path:?} (waited {waited:?}); wait for it to finish and \
         retry, or close the other program using this store"
    )]
    LockTimeout {
        /// The lock file (for a memory store, a placeholder name).
        path: PathBuf,
        /// How long this call waited.
        waited: Duration,
    },

    /// A compare-and-swap update lost to other writers every time it was tried.
    #[error(
        "the state of {path:?} kept changing under {attempts} update attempts; another writer \
         is updating it in a tight loop: retry later"
    )]
    Contended {
        /// The store (or a placeholder name).
        path: PathBuf,
        /// How many times the update was tried.
        attempts: u32,
    },

    /// A key (a user id) that cannot name a store: see [`StoreKey`](crate::StoreKey).
    #[error("invalid store key for {path:?}: {reason}")]
    InvalidKey {
        /// Where the store would have been (a directory or a database).
        path: PathBuf,
        /// Why the key was refused.
        reason: InvalidKeyReason,
    },

    /// The database refused or failed an operation (connection, query, schema).
    #[error(
        "{backend} database {path:?}: {op} failed; check that the database is reachable \
             and that its schema is credlock's"
    )]
    Database {
        /// The database file, or the server's description (never with a password).
        path: PathBuf,
        /// `"sqlite"` or `"postgres"`.
        backend: &'static str,
        /// What was being done.
        op: &'static str,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The database could not be reached, or ended the connection (a restart, a failover,
    /// a terminated backend, no connection slot left): nothing is wrong with the data, and
    /// the operation may be tried again. A write in flight when the connection ended may or
    /// may not have been made; a compare-and-swap tried again finds out which.
    #[error(
        "{backend} database {path:?}: {op} failed: the server could not be reached or ended \
         the connection; try again"
    )]
    Unavailable {
        /// The database file, or the server's description (never with a password).
        path: PathBuf,
        /// `"postgres"`.
        backend: &'static str,
        /// What was being done.
        op: &'static str,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A stored row is malformed (edited by hand, or written by something else): it is
    /// refused, never repaired or reset.
    #[error("a stored row for {path:?} is malformed ({what}); it was not used")]
    CorruptRow {
        /// The database and key of the row.
        path: PathBuf,
        /// What is wrong with it.
        what: &'static str,
    },
}

impl Error {
    /// The kind of the operating-system error behind this error, if there is one.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{MemoryStore, Store};
    ///
    /// let err = MemoryStore::new().save(b"").unwrap_err();
    /// assert_eq!(err.io_kind(), None);
    /// ```
    #[must_use]
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match self {
            Self::PermissionDenied { source, .. }
            | Self::StorageFull { source, .. }
            | Self::ReadOnlyFilesystem { source, .. }
            | Self::Io { source, .. } => Some(source.kind()),
            _ => None,
        }
    }

    /// The path this error is about.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{MemoryStore, Store};
    ///
    /// let err = MemoryStore::new().save(b"").unwrap_err();
    /// assert_eq!(err.path(), std::path::Path::new(MemoryStore::PATH));
    /// ```
    #[must_use]
    pub fn path(&self) -> &Path {
        match self {
            Self::InvalidPath { path, .. }
            | Self::DirectoryNotFound { path }
            | Self::NotADirectory { path }
            | Self::DirectoryInsecure { path, .. }
            | Self::DirectoryWrongOwner { path, .. }
            | Self::NotFound { path }
            | Self::IsADirectory { path }
            | Self::Symlink { path }
            | Self::NotRegularFile { path, .. }
            | Self::WrongOwner { path, .. }
            | Self::InsecureMode { path, .. }
            | Self::UnsupportedFilesystem { path, .. }
            | Self::Empty { path }
            | Self::LockoutCorrupt { path }
            | Self::TooLarge { path, .. }
            | Self::EmptyData { path }
            | Self::DataTooLarge { path, .. }
            | Self::PermissionDenied { path, .. }
            | Self::StorageFull { path, .. }
            | Self::ReadOnlyFilesystem { path, .. }
            | Self::Io { path, .. }
            | Self::LockTimeout { path, .. }
            | Self::Contended { path, .. }
            | Self::InvalidKey { path, .. }
            | Self::Database { path, .. }
            | Self::Unavailable { path, .. }
            | Self::CorruptRow { path, .. } => path,
        }
    }

    /// Classifies an operating-system error by its errno.
    #[cfg_attr(not(unix), allow(dead_code))]
    pub(crate) fn from_io(path: &Path, op: Operation, source: io::Error) -> Self {
        let path = path.to_path_buf();
        match classify(&source) {
            Class::Denied => Self::PermissionDenied { path, op, source },
            Class::Full => Self::StorageFull { path, op, source },
            Class::ReadOnly => Self::ReadOnlyFilesystem { path, op, source },
            Class::Other => Self::Io { path, op, source },
        }
    }
}

/// The message of [`Error::DirectoryInsecure`]: a private directory gets `chmod go-w`; a
/// shared sticky directory (`/tmp`) is explained, since changing its mode would break it for
/// everyone else.
fn directory_insecure_message(path: &Path, mode: u32) -> String {
    if mode & 0o1000 != 0 {
        format!(
            "directory {path:?} has mode {mode:04o}: it is a shared directory (writable by \
             others, with the sticky bit, like /tmp); others cannot replace a file there, but \
             they can create files beside it, so a vault does not belong there; keep it in a \
             private directory instead (for example one made with `mkdir -m 700`), and leave \
             the mode of {path:?} as it is"
        )
    } else {
        format!(
            "directory {path:?} has mode {mode:04o}, writable by group or others, who could \
             replace the file; if the directory is yours and private, run `chmod go-w {path:?}`; \
             otherwise choose a directory only you can write"
        )
    }
}

#[cfg_attr(not(unix), allow(dead_code))]
enum Class {
    Denied,
    Full,
    ReadOnly,
    Other,
}

/// What kind of failure `err` is. The standard library maps `EACCES`/`EPERM`, `ENOSPC`,
/// `EDQUOT` and `EROFS` to these kinds on every Unix, so the kind alone decides.
#[cfg_attr(not(unix), allow(dead_code))]
fn classify(err: &io::Error) -> Class {
    match err.kind() {
        io::ErrorKind::PermissionDenied => Class::Denied,
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Class::Full,
        io::ErrorKind::ReadOnlyFilesystem => Class::ReadOnly,
        _ => Class::Other,
    }
}

/// Why a path cannot name a store file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidPathReason {
    /// The path contains a NUL byte, which no Unix path can hold.
    NulByte,
    /// The path has no file name (it is empty, or ends in `/`, `.` or `..`).
    NoFileName,
    /// The file name is one the store uses for its own temporary or lock files
    /// (`.<name>.tmp-<hex>`, `.<name>.lock` or `.<name>.turnstile`), or is too long to derive
    /// them from.
    ReservedName,
}

impl fmt::Display for InvalidPathReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NulByte => "it contains a NUL byte; remove it from the path",
            Self::NoFileName => {
                "it has no file name (empty, or ends in `/`, `.` or `..`); add a file name"
            }
            Self::ReservedName => {
                "its file name looks like one of the store's own temporary or lock files, or is \
                 too long; choose another name"
            }
        })
    }
}

/// The step that failed, as reported by [`Error::PermissionDenied`], [`Error::StorageFull`],
/// [`Error::ReadOnlyFilesystem`] and [`Error::Io`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Operation {
    /// Creating the directory that holds the file.
    CreateDirectory,
    /// Opening or inspecting the directory that holds the file.
    OpenDirectory,
    /// Listing the directory (to clean up stale temporary files).
    ReadDirectory,
    /// Opening the file for reading.
    Open,
    /// Reading the file's metadata.
    Stat,
    /// Reading the file.
    Read,
    /// Creating the temporary file of a save.
    CreateTemp,
    /// Writing the temporary file.
    Write,
    /// Flushing the temporary file to stable storage (`fsync`).
    SyncFile,
    /// Renaming the temporary file over the target.
    Rename,
    /// Flushing the directory after a rename or removal (`fsync`).
    SyncDirectory,
    /// Removing the file.
    Remove,
    /// Opening or locking the lock file.
    Lock,
}

impl Operation {
    fn hint(self) -> &'static str {
        match self {
            Self::CreateTemp | Self::Write | Self::SyncFile | Self::Rename => {
                "nothing was replaced: the previous file (if any) is unchanged; check the disk \
                 and retry"
            }
            Self::SyncDirectory => {
                "the new file is in place, but the directory could not be flushed, so the change \
                 may not survive a power loss; check the disk and save again"
            }
            Self::Remove => "the file may still exist; check the disk and retry",
            _ => "check the disk and the path, then retry",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CreateDirectory => "creating the directory for",
            Self::OpenDirectory => "opening the directory of",
            Self::ReadDirectory => "listing the directory of",
            Self::Open => "opening",
            Self::Stat => "inspecting",
            Self::Read => "reading",
            Self::CreateTemp => "creating the temporary file for",
            Self::Write => "writing the temporary file for",
            Self::SyncFile => "flushing (fsync) the temporary file for",
            Self::Rename => "renaming the temporary file over",
            Self::SyncDirectory => "flushing (fsync) the directory of",
            Self::Remove => "removing",
            Self::Lock => "locking",
        })
    }
}

impl std::error::Error for InvalidKeyReason {}

/// Why a key (a user id) was refused; see [`StoreKey`](crate::StoreKey).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidKeyReason {
    /// The key is empty.
    Empty,
    /// The key is longer than [`StoreKey::MAX_LEN`](crate::StoreKey::MAX_LEN) bytes.
    TooLong,
    /// The key holds a character outside the allowed set (ASCII letters, digits and
    /// `.` `_` `-` `@` `+`), such as `/`, a space, a control character or a non-ASCII one.
    BadCharacter,
    /// The key does not start with a letter or a digit.
    BadStart,
}

impl fmt::Display for InvalidKeyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "it is empty",
            Self::TooLong => "it is longer than 128 bytes",
            Self::BadCharacter => {
                "it holds a character other than ASCII letters, digits and `.` `_` `-` `@` `+`"
            }
            Self::BadStart => "it does not start with an ASCII letter or digit",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn io_failures_are_classified_by_kind_and_by_errno() {
        let path = Path::new("/v/vault.json");
        let of = |e: io::Error| Error::from_io(path, Operation::Write, e);
        for e in [
            io::Error::from(io::ErrorKind::PermissionDenied),
            io::Error::from_raw_os_error(rustix::io::Errno::ACCESS.raw_os_error()),
            io::Error::from_raw_os_error(rustix::io::Errno::PERM.raw_os_error()),
        ] {
            assert!(matches!(of(e), Error::PermissionDenied { .. }));
        }
        for e in [
            io::Error::from(io::ErrorKind::StorageFull),
            io::Error::from(io::ErrorKind::QuotaExceeded),
            io::Error::from_raw_os_error(rustix::io::Errno::NOSPC.raw_os_error()),
            io::Error::from_raw_os_error(rustix::io::Errno::DQUOT.raw_os_error()),
        ] {
            assert!(matches!(of(e), Error::StorageFull { .. }));
        }
        for e in [
            io::Error::from(io::ErrorKind::ReadOnlyFilesystem),
            io::Error::from_raw_os_error(rustix::io::Errno::ROFS.raw_os_error()),
        ] {
            assert!(matches!(of(e), Error::ReadOnlyFilesystem { .. }));
        }
        for e in [
            io::Error::from(io::ErrorKind::NotFound),
            io::Error::from_raw_os_error(rustix::io::Errno::IO.raw_os_error()),
        ] {
            assert!(matches!(of(e), Error::Io { .. }));
        }
    }

    #[test]
    fn every_operation_has_its_own_hint() {
        assert_eq!(
            Operation::Remove.hint(),
            "the file may still exist; check the disk and retry"
        );
        assert_eq!(
            Operation::Open.hint(),
            "check the disk and the path, then retry"
        );
        assert!(Operation::SyncDirectory.hint().contains("power loss"));
        assert!(Operation::Rename.hint().contains("nothing was replaced"));
    }
}
