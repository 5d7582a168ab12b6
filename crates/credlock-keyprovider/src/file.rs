//! [`FileKeyProvider`]: the key in a file, read once, checked as strictly as a vault file.

use std::fmt;
use std::path::{Path, PathBuf};

use rustix::fs::{FileType, Mode, OFlags};
use rustix::io::Errno;
use zeroize::{Zeroize as _, Zeroizing};

use crate::{KEY_LEN, KeyProvider, ProviderError, ProviderIdentity, ProviderKey};

/// The largest key file accepted: 64 hex digits and a newline.
pub const MAX_KEY_FILE_LEN: usize = 2 * KEY_LEN + 1;

/// The environment variable systemd sets to the unit's credentials directory.
pub const CREDENTIALS_DIRECTORY: &str = "CREDENTIALS_DIRECTORY";

/// A 32-byte key read from a file once, at open, and kept in zeroizing memory.
///
/// # File format
///
/// Either exactly 32 raw bytes, or exactly 64 hex digits (either case) with an optional
/// trailing `\n`. Anything else is [`ProviderError::Malformed`]. To make one:
///
/// ```sh
/// (umask 077; head -c 32 /dev/urandom > pepper)            # raw
/// (umask 077; openssl rand -hex 32 > pepper)                # hex
/// ```
///
/// # Checks (as for a vault file)
///
/// The file is opened with `O_NOFOLLOW | O_NONBLOCK` and checked with `fstat` on the open
/// descriptor, so nothing can be swapped in between:
///
/// - a symbolic link, a FIFO, a device, a socket or a directory is refused
///   ([`ProviderError::Permissions`]), and opening a FIFO never blocks;
/// - the owner must be the effective uid, and the mode must have no group or other bits
///   (`0600` or `0400`) ([`ProviderError::Permissions`]);
/// - at most [`MAX_KEY_FILE_LEN`] bytes ([`ProviderError::Malformed`]);
/// - a missing file is [`ProviderError::KeyNotFound`].
///
/// Systemd credentials ([`FileKeyProvider::from_systemd_credential`]) are written by the
/// service manager, owned by root with an ACL that lets the service's user read them; for
/// those, root is accepted as owner and group read (the ACL mask) as mode, nothing more.
///
/// # Example
///
/// ```
/// use std::os::unix::fs::OpenOptionsExt;
/// use std::io::Write;
/// use credlock_keyprovider::{FileKeyProvider, KeyProvider, reference_apply};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("pepper");
/// let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
/// f.write_all(b"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n")?;
///
/// let p = FileKeyProvider::open(&path)?;
/// let key: [u8; 32] = core::array::from_fn(|i| i as u8);
/// assert_eq!(*p.apply(&[5u8; 32])?, *reference_apply(&key, &[5u8; 32]));
/// assert_eq!(p.identity().kind, "file");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FileKeyProvider {
    key: ProviderKey,
    path: PathBuf,
}

/// How strictly the owner and mode are checked.
#[derive(Clone, Copy)]
pub(crate) struct Policy {
    /// Accept root as owner (systemd's credentials).
    root_owner_ok: bool,
    /// Accept group read (the ACL mask of systemd's credentials).
    group_read_ok: bool,
}

pub(crate) const STRICT: Policy = Policy {
    root_owner_ok: false,
    group_read_ok: false,
};
const SYSTEMD: Policy = Policy {
    root_owner_ok: true,
    group_read_ok: true,
};

impl FileKeyProvider {
    /// Opens and reads the key file at `path` (see the checks above). The file is read once;
    /// the descriptor is closed before this returns.
    ///
    /// # Errors
    ///
    /// [`ProviderError::KeyNotFound`] if the file does not exist;
    /// [`ProviderError::Permissions`] for a symbolic link, a non-regular file, another owner, a
    /// group/other mode bit, or a file this process may not read;
    /// [`ProviderError::Malformed`] for a file neither 32 raw bytes nor 64 hex digits;
    /// [`ProviderError::Unavailable`] for another I/O error.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_keyprovider::{FileKeyProvider, ProviderError};
    /// let e = FileKeyProvider::open("/nonexistent/pepper").unwrap_err();
    /// assert!(matches!(e, ProviderError::KeyNotFound { .. }));
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ProviderError> {
        Self::open_with(path.as_ref(), STRICT)
    }

    /// Reads the credential `name` from systemd's credentials directory,
    /// `$CREDENTIALS_DIRECTORY/name` (set by `LoadCredential=` or `LoadCredentialEncrypted=`;
    /// see the crate docs for the unit lines).
    ///
    /// # Errors
    ///
    /// [`ProviderError::Unavailable`] if `$CREDENTIALS_DIRECTORY` is not set (the process was
    /// not started by systemd with a credential); [`ProviderError::Malformed`] if `name` is not
    /// a plain file name; otherwise as [`FileKeyProvider::open`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// let p = credlock_keyprovider::FileKeyProvider::from_systemd_credential("pepper")?;
    /// # Ok::<(), credlock_keyprovider::ProviderError>(())
    /// ```
    pub fn from_systemd_credential(name: &str) -> Result<Self, ProviderError> {
        let Some(dir) = std::env::var_os(CREDENTIALS_DIRECTORY) else {
            return Err(ProviderError::Unavailable {
                provider: format!("systemd:{name}"),
                reason: format!(
                    "{CREDENTIALS_DIRECTORY} is not set: start the service with \
                     LoadCredentialEncrypted={name}:... (or LoadCredential=)"
                ),
            });
        };
        Self::from_credentials_dir(Path::new(&dir), name)
    }

    /// Reads the credential `name` from the credentials directory `dir`, with the checks of
    /// [`FileKeyProvider::from_systemd_credential`] (which passes `$CREDENTIALS_DIRECTORY`).
    ///
    /// # Errors
    ///
    /// As [`FileKeyProvider::from_systemd_credential`].
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_keyprovider::{FileKeyProvider, ProviderError};
    /// let e = FileKeyProvider::from_credentials_dir("/tmp".as_ref(), "../etc/passwd").unwrap_err();
    /// assert!(matches!(e, ProviderError::Malformed { .. }));
    /// ```
    pub fn from_credentials_dir(dir: &Path, name: &str) -> Result<Self, ProviderError> {
        check_credential_name(name)?;
        Self::open_with(&dir.join(name), SYSTEMD)
    }

    /// The key file's path.
    ///
    /// # Example
    ///
    /// ```
    /// # let _ = |p: credlock_keyprovider::FileKeyProvider| {
    /// let path: &std::path::Path = p.path();
    /// # };
    /// ```
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open_with(path: &Path, policy: Policy) -> Result<Self, ProviderError> {
        let provider = || format!("file:{}", path.display());
        let (buf, len) = read_private(path, policy, MAX_KEY_FILE_LEN)?;
        let key = parse_key(&buf[..len]).ok_or_else(|| ProviderError::Malformed {
            provider: provider(),
            reason: format!(
                "{len} bytes: a key file is exactly 32 raw bytes, or 64 hex digits and an \
                 optional newline"
            ),
        })?;
        Ok(Self {
            key,
            path: path.to_path_buf(),
        })
    }
}

/// The largest file [`read_private`] reads.
pub(crate) const MAX_PRIVATE_FILE_LEN: usize = 256;

/// Opens `path` with `O_NOFOLLOW | O_NONBLOCK`, checks the open descriptor (a regular file,
/// owner, mode, at most `max` bytes, `max <= MAX_PRIVATE_FILE_LEN`), and reads it into a
/// zeroizing buffer. Returns the buffer and the length read.
pub(crate) fn read_private(
    path: &Path,
    policy: Policy,
    max: usize,
) -> Result<(Zeroizing<[u8; MAX_PRIVATE_FILE_LEN + 1]>, usize), ProviderError> {
    let max = max.min(MAX_PRIVATE_FILE_LEN);
    let provider = || format!("file:{}", path.display());
    let refuse = |reason: String| ProviderError::Permissions {
        path: path.to_path_buf(),
        reason,
    };
    let flags =
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC | OFlags::NOCTTY;
    let fd = match rustix::fs::open(path, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => {
            return Err(ProviderError::KeyNotFound {
                provider: provider(),
            });
        }
        Err(Errno::LOOP) => return Err(refuse("it is a symbolic link".into())),
        Err(e @ (Errno::ACCESS | Errno::PERM)) => {
            return Err(refuse(format!("this process may not read it ({e:?})")));
        }
        Err(e) => {
            return Err(ProviderError::Unavailable {
                provider: provider(),
                reason: format!("open failed ({e:?})"),
            });
        }
    };
    let st = rustix::fs::fstat(&fd).map_err(|e| ProviderError::Unavailable {
        provider: provider(),
        reason: format!("fstat failed ({e:?})"),
    })?;
    let file_type = FileType::from_raw_mode(st.st_mode);
    if file_type != FileType::RegularFile {
        return Err(refuse(format!(
            "not a regular file (a {})",
            type_name(file_type)
        )));
    }
    let euid = rustix::process::geteuid().as_raw();
    if st.st_uid != euid && !(policy.root_owner_ok && st.st_uid == 0) {
        return Err(refuse(format!(
            "owned by uid {}, not by this process's uid {euid}",
            st.st_uid
        )));
    }
    let perm = st.st_mode & 0o777;
    let forbidden = if policy.group_read_ok { 0o037 } else { 0o077 };
    if perm & forbidden != 0 {
        return Err(refuse(format!(
            "mode {perm:04o} gives group or others access (chmod 600 it)"
        )));
    }
    let too_long = || ProviderError::Malformed {
        provider: provider(),
        reason: format!("the file is longer than {max} bytes"),
    };
    if usize::try_from(st.st_size).map_or(true, |n| n > max) {
        return Err(too_long());
    }
    // Read into a fixed zeroizing buffer, up to one byte more than the limit, so a file that
    // grew after the fstat is still caught, and no byte is left behind in a reallocation.
    let mut buf = Zeroizing::new([0u8; MAX_PRIVATE_FILE_LEN + 1]);
    let mut len = 0;
    while len <= max {
        match rustix::io::read(&fd, &mut buf[len..=max]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(Errno::INTR) => {}
            Err(e) => {
                return Err(ProviderError::Unavailable {
                    provider: provider(),
                    reason: format!("read failed ({e:?})"),
                });
            }
        }
    }
    if len > max {
        return Err(too_long());
    }
    Ok((buf, len))
}

/// 32 raw bytes, or 64 hex digits with an optional trailing newline.
fn parse_key(bytes: &[u8]) -> Option<ProviderKey> {
    if bytes.len() == KEY_LEN {
        return ProviderKey::from_slice(bytes);
    }
    let hex = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if hex.len() != 2 * KEY_LEN {
        return None;
    }
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    for (out, pair) in key.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (nibble(pair[0])?, nibble(pair[1])?);
        *out = (hi << 4) | lo;
    }
    let parsed = ProviderKey::from_slice(&key[..]);
    key.zeroize();
    parsed
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn type_name(t: FileType) -> &'static str {
    match t {
        FileType::Directory => "directory",
        FileType::Fifo => "FIFO",
        FileType::Socket => "socket",
        FileType::CharacterDevice => "character device",
        FileType::BlockDevice => "block device",
        FileType::Symlink => "symbolic link",
        _ => "special file",
    }
}

/// A systemd credential name: a plain file name (no `/`, not `.` or `..`, no NUL), at most 255
/// bytes.
pub(crate) fn check_credential_name(name: &str) -> Result<(), ProviderError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains(['/', '\0']);
    if ok {
        Ok(())
    } else {
        Err(ProviderError::Malformed {
            provider: "systemd".into(),
            reason: "a credential name is a plain file name (no '/', not '.' or '..')".into(),
        })
    }
}

impl KeyProvider for FileKeyProvider {
    fn identity(&self) -> ProviderIdentity {
        ProviderIdentity::new("file", self.path.display().to_string())
    }

    fn apply(&self, input: &[u8; KEY_LEN]) -> Result<Zeroizing<[u8; KEY_LEN]>, ProviderError> {
        Ok(self.key.apply(input))
    }
}

impl fmt::Debug for FileKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileKeyProvider")
            .field("path", &self.path)
            .field("key", &self.key)
            .finish()
    }
}
