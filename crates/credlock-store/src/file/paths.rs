//! Store path handling: validation, and the names of the temporary and lock files.
//!
//! For a store file `<dir>/<name>`:
//! - temporary files are `<dir>/.<name>.tmp-<16 lowercase hex digits>`;
//! - the lock file is `<dir>/.<name>.lock`;
//! - the turnstile in front of the lock is `<dir>/.<name>.turnstile`;
//! - the lockout state is `<dir>/.<name>.lockout`.

use std::collections::hash_map::RandomState;
use std::ffi::{OsStr, OsString};
use std::hash::{BuildHasher, Hasher};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Error, InvalidPathReason};

const TEMP_MARK: &[u8] = b".tmp-";
/// The lockout state's file: `.<name>.lockout`.
const LOCKOUT_SUFFIX: &[u8] = b".lockout";
const TEMP_HEX_LEN: usize = 16;
const LOCK_SUFFIX: &[u8] = b".lock";
const TURNSTILE_SUFFIX: &[u8] = b".turnstile";
/// Longest file name most Unix file systems accept (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// The paths that belong to one store file.
#[derive(Debug, Clone)]
pub(crate) struct Names {
    /// The store file, absolute.
    pub(crate) path: PathBuf,
    /// Its directory.
    pub(crate) dir: PathBuf,
    /// Its file name.
    pub(crate) name: OsString,
    /// The lock file's name.
    pub(crate) lock_name: OsString,
    /// The turnstile's name.
    pub(crate) turnstile_name: OsString,
}

/// Refuses a path with a NUL byte.
pub(crate) fn check_no_nul(path: &Path) -> Result<(), Error> {
    if path.as_os_str().as_bytes().contains(&0) {
        return Err(invalid(path, InvalidPathReason::NulByte));
    }
    Ok(())
}

fn invalid(path: &Path, reason: InvalidPathReason) -> Error {
    Error::InvalidPath {
        path: path.to_path_buf(),
        reason,
    }
}

impl Names {
    /// Splits and validates a store path. Relative paths are made absolute against the current
    /// directory now, so that a later `chdir` does not move the store.
    pub(crate) fn new(path: &Path) -> Result<Self, Error> {
        check_no_nul(path)?;
        let bytes = path.as_os_str().as_bytes();
        let ends_badly = bytes.is_empty()
            || bytes.ends_with(b"/")
            || matches!(
                path.components().next_back(),
                Some(Component::CurDir | Component::ParentDir | Component::RootDir) | None
            )
            || bytes.ends_with(b"/.")
            || bytes == b".";
        if ends_badly {
            return Err(invalid(path, InvalidPathReason::NoFileName));
        }
        let abs =
            std::path::absolute(path).map_err(|_| invalid(path, InvalidPathReason::NoFileName))?;
        let (Some(dir), Some(name)) = (abs.parent(), abs.file_name()) else {
            return Err(invalid(path, InvalidPathReason::NoFileName));
        };
        let name_bytes = name.as_bytes();
        if is_reserved(name_bytes)
            || name_bytes.len() + 1 + TEMP_MARK.len() + TEMP_HEX_LEN > NAME_MAX
        {
            return Err(invalid(path, InvalidPathReason::ReservedName));
        }
        let hidden_with = |suffix: &[u8]| {
            let mut out = Vec::with_capacity(1 + name_bytes.len() + suffix.len());
            out.push(b'.');
            out.extend_from_slice(name_bytes);
            out.extend_from_slice(suffix);
            OsString::from_vec(out)
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            name: name.to_os_string(),
            lock_name: hidden_with(LOCK_SUFFIX),
            turnstile_name: hidden_with(TURNSTILE_SUFFIX),
            path: abs,
        })
    }

    /// The names of the lockout state's file, `.<name>.lockout`, in the same directory.
    pub(crate) fn lockout(&self) -> Result<Self, Error> {
        let mut name = Vec::with_capacity(self.name.len() + 1 + LOCKOUT_SUFFIX.len());
        name.push(b'.');
        name.extend_from_slice(self.name.as_bytes());
        name.extend_from_slice(LOCKOUT_SUFFIX);
        let name = OsString::from_vec(name);
        if name.len() + 1 + TEMP_MARK.len() + TEMP_HEX_LEN > NAME_MAX {
            return Err(invalid(&self.path, InvalidPathReason::ReservedName));
        }
        Ok(Self {
            path: self.dir.join(&name),
            dir: self.dir.clone(),
            name,
            // Never taken: the store file's own lock guards its lockout state too.
            lock_name: self.lock_name.clone(),
            turnstile_name: self.turnstile_name.clone(),
        })
    }

    /// The lock file, absolute.
    pub(crate) fn lock_path(&self) -> PathBuf {
        self.dir.join(&self.lock_name)
    }

    /// The turnstile, absolute.
    pub(crate) fn turnstile_path(&self) -> PathBuf {
        self.dir.join(&self.turnstile_name)
    }

    /// A fresh, unpredictable temporary file name for this store file.
    pub(crate) fn temp_name(&self) -> OsString {
        let mut out = self.temp_prefix();
        out.extend_from_slice(format!("{:016x}", random_u64()).as_bytes());
        OsString::from_vec(out)
    }

    /// Whether `candidate` is one of this store file's temporary files.
    pub(crate) fn is_temp_name(&self, candidate: &OsStr) -> bool {
        let prefix = self.temp_prefix();
        candidate
            .as_bytes()
            .strip_prefix(prefix.as_slice())
            .is_some_and(is_hex_suffix)
    }

    fn temp_prefix(&self) -> Vec<u8> {
        let name = self.name.as_bytes();
        let mut out = Vec::with_capacity(1 + name.len() + TEMP_MARK.len() + TEMP_HEX_LEN);
        out.push(b'.');
        out.extend_from_slice(name);
        out.extend_from_slice(TEMP_MARK);
        out
    }
}

fn is_hex_suffix(rest: &[u8]) -> bool {
    rest.len() == TEMP_HEX_LEN && rest.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Whether a file name looks like some store's temporary file, lock file or turnstile.
fn is_reserved(name: &[u8]) -> bool {
    if !name.starts_with(b".") {
        return false;
    }
    if name.ends_with(LOCK_SUFFIX)
        || name.ends_with(LOCKOUT_SUFFIX)
        || name.ends_with(TURNSTILE_SUFFIX)
    {
        return true;
    }
    let Some(head_len) = name.len().checked_sub(TEMP_HEX_LEN) else {
        return false;
    };
    let (head, tail) = name.split_at(head_len);
    head.ends_with(TEMP_MARK) && is_hex_suffix(tail)
}

/// 64 unpredictable bits: std's per-process random hash keys over the time, the pid and a
/// counter. Unpredictability only spares a retry: the file is created with `O_EXCL`.
fn random_u64() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    if let Ok(now) = SystemTime::now().duration_since(UNIX_EPOCH) {
        h.write_u128(now.as_nanos());
    }
    h.finish()
}

/// Splits `path` as a store does and checks what its names promise: every name derived from a
/// store file is a direct child of its directory, reserved (so no store can be named like
/// another's lock, turnstile, lockout state or temporary file), and short enough for the file
/// system; a fresh temporary name is recognised as one.
#[cfg(fuzzing)]
pub(crate) fn fuzz_names(path: &Path) {
    let Ok(names) = Names::new(path) else {
        return;
    };
    let name = names.name.as_bytes();
    assert!(!is_reserved(name), "a store file has a reserved name");
    assert!(!name.is_empty() && !name.contains(&b'/') && name != b"." && name != b"..");
    assert_eq!(names.path.parent(), Some(names.dir.as_path()));
    let temp = names.temp_name();
    assert!(names.is_temp_name(&temp));
    assert!(is_reserved(temp.as_bytes()) && temp.len() <= NAME_MAX);
    let mut derived = vec![names.lock_name.clone(), names.turnstile_name.clone()];
    if let Ok(lockout) = names.lockout() {
        assert_eq!(lockout.dir, names.dir);
        assert!(lockout.temp_name().len() <= NAME_MAX);
        derived.push(lockout.name);
    }
    for other in derived {
        let bytes = other.as_bytes();
        assert!(is_reserved(bytes), "{other:?} is not reserved");
        assert!(bytes.len() <= NAME_MAX && !bytes.contains(&b'/'));
        assert!(!names.is_temp_name(&other), "{other:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_derived_and_recognised() {
        let n = Names::new(Path::new("/x/y/vault.bin")).unwrap();
        assert_eq!(n.dir, Path::new("/x/y"));
        assert_eq!(n.lock_path(), Path::new("/x/y/.vault.bin.lock"));
        assert_eq!(n.turnstile_path(), Path::new("/x/y/.vault.bin.turnstile"));
        let t = n.temp_name();
        assert!(n.is_temp_name(&t), "{t:?}");
        assert_ne!(t, n.temp_name());
        assert!(!n.is_temp_name(OsStr::new(".vault.bin.tmp-0123")));
        assert!(!n.is_temp_name(OsStr::new(".vault.bin.tmp-0123456789ABCDEF")));
        assert!(!n.is_temp_name(OsStr::new(".other.tmp-0123456789abcdef")));
        assert!(n.is_temp_name(OsStr::new(".vault.bin.tmp-0123456789abcdef")));
    }

    #[test]
    fn bad_paths_are_refused_with_a_reason() {
        let reason = |p: &str| match Names::new(Path::new(p)) {
            Err(Error::InvalidPath { reason, .. }) => Some(reason),
            _ => None,
        };
        assert_eq!(reason("a\0b"), Some(InvalidPathReason::NulByte));
        for p in ["", "/", "dir/", "dir/.", ".", "..", "dir/.."] {
            assert_eq!(reason(p), Some(InvalidPathReason::NoFileName), "{p:?}");
        }
        for p in [".v.lock", ".v.turnstile", "d/.v.tmp-0123456789abcdef"] {
            assert_eq!(reason(p), Some(InvalidPathReason::ReservedName), "{p:?}");
        }
        assert_eq!(
            reason(&"n".repeat(240)),
            Some(InvalidPathReason::ReservedName)
        );
        assert_eq!(reason("vault"), None);
        assert_eq!(reason(".vault"), None);
        // Reserved takes both the mark and sixteen lowercase hex digits after it.
        assert_eq!(reason("d/.v.tmp-0123456789abcdeg"), None);
        assert_eq!(reason("d/.0123456789abcdef"), None);
        assert_eq!(reason("d/.v.tmp0123456789abcdef"), None);
    }

    #[test]
    fn a_name_too_long_for_its_lockout_state_is_refused_there() {
        // `.<name>.lockout.tmp-<16 hex>` must fit in 255 bytes: names up to 224 bytes do.
        let lockout = |len: usize| Names::new(Path::new(&"n".repeat(len))).unwrap().lockout();
        let longest = lockout(224).unwrap();
        assert_eq!(longest.name.len(), 1 + 224 + LOCKOUT_SUFFIX.len());
        assert_eq!(longest.temp_name().len(), NAME_MAX);
        for len in [225, 233] {
            assert!(matches!(
                lockout(len),
                Err(Error::InvalidPath {
                    reason: InvalidPathReason::ReservedName,
                    ..
                })
            ));
        }
    }
}
