//! Checked reading: no symbolic links, regular files only, owner and mode checks, a size cap.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use rustix::fd::BorrowedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::{paths, sys};
use crate::{DEFAULT_MAX_LEN, Error, Operation};

/// How [`read_checked`] vets a file before reading it.
///
/// The default is strict, as for the store's own file: owned by the current user, no group or
/// other permission bits, at most [`DEFAULT_MAX_LEN`] bytes. Symbolic links and anything but a
/// regular file are always refused.
///
/// # Example
///
/// ```
/// use credlock_store::ReadOptions;
///
/// // For importing a file another program wrote: skip the mode check, keep the rest.
/// let foreign = ReadOptions::new().require_private_mode(false);
/// assert!(!foreign.private_mode_required());
/// assert!(foreign.owner_required());
/// assert_eq!(foreign.max_len_value(), credlock_store::DEFAULT_MAX_LEN);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    require_private_mode: bool,
    require_owner: bool,
    max_len: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl ReadOptions {
    /// The strict defaults: private mode and ownership required, [`DEFAULT_MAX_LEN`] cap.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(credlock_store::ReadOptions::new().private_mode_required());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self {
            require_private_mode: true,
            require_owner: true,
            max_len: DEFAULT_MAX_LEN,
        }
    }

    /// Whether to refuse a file with any group or other permission bit
    /// ([`Error::InsecureMode`]). Default `true`.
    ///
    /// # Security
    ///
    /// Turn this off only to import a file that another program wrote with a wider mode; the
    /// caller should then tell the user that the old file may have been readable by others.
    ///
    /// # Example
    ///
    /// ```
    /// let o = credlock_store::ReadOptions::new().require_private_mode(false);
    /// assert!(!o.private_mode_required());
    /// ```
    #[must_use]
    pub const fn require_private_mode(mut self, yes: bool) -> Self {
        self.require_private_mode = yes;
        self
    }

    /// Whether to refuse a file owned by another user ([`Error::WrongOwner`]). Default `true`.
    ///
    /// # Example
    ///
    /// ```
    /// let o = credlock_store::ReadOptions::new().require_owner(false);
    /// assert!(!o.owner_required());
    /// ```
    #[must_use]
    pub const fn require_owner(mut self, yes: bool) -> Self {
        self.require_owner = yes;
        self
    }

    /// The largest file to read, in bytes ([`Error::TooLarge`] beyond it). Default
    /// [`DEFAULT_MAX_LEN`].
    ///
    /// # Example
    ///
    /// ```
    /// let o = credlock_store::ReadOptions::new().max_len(4096);
    /// assert_eq!(o.max_len_value(), 4096);
    /// ```
    #[must_use]
    pub const fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// Whether the mode check is on.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(credlock_store::ReadOptions::default().private_mode_required());
    /// ```
    #[must_use]
    pub const fn private_mode_required(&self) -> bool {
        self.require_private_mode
    }

    /// Whether the owner check is on.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(credlock_store::ReadOptions::default().owner_required());
    /// ```
    #[must_use]
    pub const fn owner_required(&self) -> bool {
        self.require_owner
    }

    /// The size cap in bytes.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(credlock_store::ReadOptions::default().max_len_value(), 1 << 20);
    /// ```
    #[must_use]
    pub const fn max_len_value(&self) -> usize {
        self.max_len
    }
}

/// Reads a whole file that this crate did not necessarily write (such as an Eclosion
/// `credentials.json` to import), with the same vetting as [`Store::load`](crate::Store::load):
/// the last path component must not be a symbolic link (`O_NOFOLLOW`), the file must be a
/// regular file no larger than `options.max_len`, and, as `options` says, owned by the current
/// user and without group/other permission bits. Symbolic links in the directories above are
/// followed.
///
/// The file is checked through the descriptor that is read (`fstat` after `open`), so it
/// cannot be swapped between check and read. Nothing is ever modified.
///
/// # Errors
///
/// - [`Error::InvalidPath`] for an empty path or one with a NUL byte;
/// - [`Error::NotFound`] if there is no file, [`Error::DirectoryNotFound`] if its directory is
///   missing, [`Error::NotADirectory`] if a component of the directory is not one;
/// - [`Error::Symlink`], [`Error::IsADirectory`], [`Error::NotRegularFile`];
/// - [`Error::WrongOwner`] and [`Error::InsecureMode`] when required by `options`;
/// - [`Error::Empty`] for a 0-byte file and [`Error::TooLarge`] above the cap;
/// - [`Error::PermissionDenied`] or [`Error::Io`] if the system refuses to open or read it.
///
/// # Example
///
/// ```
/// use std::os::unix::fs::PermissionsExt;
/// use credlock_store::{read_checked, Error, ReadOptions};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("credentials.json");
/// std::fs::write(&path, b"{}")?;
/// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
///
/// // Strict reading refuses a file others can read...
/// assert!(matches!(read_checked(&path, &ReadOptions::new()), Err(Error::InsecureMode { .. })));
/// // ...an import may accept it, knowingly.
/// let bytes = read_checked(&path, &ReadOptions::new().require_private_mode(false))?;
/// assert_eq!(bytes, b"{}");
/// # Ok(())
/// # }
/// ```
pub fn read_checked(path: &Path, options: &ReadOptions) -> Result<Vec<u8>, Error> {
    paths::check_no_nul(path)?;
    if path.as_os_str().is_empty() {
        return Err(Error::InvalidPath {
            path: path.to_path_buf(),
            reason: crate::InvalidPathReason::NoFileName,
        });
    }
    match read_at(rustix::fs::CWD, path, path, options)? {
        Some(bytes) => Ok(bytes),
        None => {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            match parent {
                Some(dir) if !dir.exists() => Err(Error::DirectoryNotFound {
                    path: dir.to_path_buf(),
                }),
                _ => Err(Error::NotFound {
                    path: path.to_path_buf(),
                }),
            }
        }
    }
}

/// Reads `rel` (relative to `dirfd`) with the checks of `options`; `Ok(None)` if it does not
/// exist. `shown` is the path errors report.
pub(crate) fn read_at(
    dirfd: BorrowedFd<'_>,
    rel: &Path,
    shown: &Path,
    options: &ReadOptions,
) -> Result<Option<Vec<u8>>, Error> {
    // Look before opening, so that a FIFO or device at the path is never opened.
    match sys::retry(|| rustix::fs::statat(dirfd, rel, AtFlags::SYMLINK_NOFOLLOW)) {
        Ok(st) => check_type(&st, shown)?,
        Err(e) if sys::is_errno(&e, Errno::NOENT) => return Ok(None),
        Err(e) => return Err(open_error(shown, Operation::Stat, e)),
    }
    #[cfg(test)]
    super::race::run(super::race::Point::ReadOpen);
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    let fd = match sys::retry(|| rustix::fs::openat(dirfd, rel, flags, Mode::empty())) {
        Ok(fd) => fd,
        Err(e) if sys::is_errno(&e, Errno::NOENT) => return Ok(None),
        Err(e) if sys::is_symlink_refusal(&e) => {
            return Err(Error::Symlink {
                path: shown.to_path_buf(),
            });
        }
        Err(e) => return Err(open_error(shown, Operation::Open, e)),
    };
    #[cfg(test)]
    between_look_and_open::opened(&fd);
    // Decide on what was opened, not on what was looked at.
    let st =
        rustix::fs::fstat(&fd).map_err(|e| Error::from_io(shown, Operation::Stat, e.into()))?;
    check_type(&st, shown)?;
    check_owner_and_mode(&st, shown, options)?;
    let max = u64::try_from(options.max_len).unwrap_or(u64::MAX);
    let len = sys::size(&st);
    if len > max {
        return Err(Error::TooLarge {
            path: shown.to_path_buf(),
            len,
            max,
        });
    }
    let expected = usize::try_from(len)
        .unwrap_or(usize::MAX)
        .min(options.max_len);
    let mut bytes = Vec::with_capacity(expected.saturating_add(1));
    // Read one byte more than allowed, to notice a file that grew after the fstat.
    File::from(fd)
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| Error::from_io(shown, Operation::Read, e))?;
    if bytes.len() > options.max_len {
        return Err(Error::TooLarge {
            path: shown.to_path_buf(),
            len: max.saturating_add(1),
            max,
        });
    }
    if bytes.is_empty() {
        return Err(Error::Empty {
            path: shown.to_path_buf(),
        });
    }
    Ok(Some(bytes))
}

/// Refuses a file of another user, or one open to group or others, as `options` ask.
pub(crate) fn check_owner_and_mode(
    st: &Stat,
    shown: &Path,
    options: &ReadOptions,
) -> Result<(), Error> {
    let me = sys::euid();
    let owner = sys::owner(st);
    if options.require_owner && owner != me {
        return Err(Error::WrongOwner {
            path: shown.to_path_buf(),
            owner,
            expected: me,
        });
    }
    let mode = sys::mode_bits(st);
    if options.require_private_mode && mode & 0o077 != 0 {
        return Err(Error::InsecureMode {
            path: shown.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Refuses anything but a regular file, each kind with its own error.
pub(crate) fn check_type(st: &Stat, shown: &Path) -> Result<(), Error> {
    let path = shown.to_path_buf();
    match sys::file_type(st) {
        FileType::RegularFile => Ok(()),
        FileType::Symlink => Err(Error::Symlink { path }),
        FileType::Directory => Err(Error::IsADirectory { path }),
        other => Err(Error::NotRegularFile {
            path,
            kind: sys::kind_name(other),
        }),
    }
}

fn open_error(shown: &Path, op: Operation, e: std::io::Error) -> Error {
    if sys::is_errno(&e, Errno::NOTDIR) {
        let dir = shown.parent().unwrap_or(shown);
        return Error::NotADirectory {
            path: dir.to_path_buf(),
        };
    }
    Error::from_io(shown, op, e)
}

/// A test-only look at the descriptor [`read_at`] opened (the swap before the open is
/// [`race::Point::ReadOpen`](super::race::Point::ReadOpen)).
#[cfg(test)]
pub(crate) mod between_look_and_open {
    use std::cell::RefCell;

    use rustix::fd::OwnedFd;

    type FdHook = Box<dyn FnMut(&OwnedFd)>;

    thread_local! {
        static OPENED: RefCell<Option<FdHook>> = RefCell::new(None);
    }

    /// Shows the descriptor of the next read on this thread to `look`.
    pub(crate) fn on_open(look: impl FnMut(&OwnedFd) + 'static) {
        OPENED.with(|h| *h.borrow_mut() = Some(Box::new(look)));
    }

    pub(super) fn opened(fd: &OwnedFd) {
        if let Some(mut look) = OPENED.with(|h| h.borrow_mut().take()) {
            look(fd);
        }
    }
}
