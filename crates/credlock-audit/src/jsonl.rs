//! The [`JsonLinesSink`]: an append-only, owner-only JSON Lines file with rotation.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use rustix::fd::AsFd;
use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::{AuditError, AuditEvent, AuditSink};

/// The size at which a [`JsonLinesSink`] rotates its file unless told otherwise: 10 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;

/// How many rotated files a [`JsonLinesSink`] keeps unless told otherwise.
pub const DEFAULT_KEEP: usize = 5;

/// How often one `record` follows a file that another process rotated or replaced, before
/// it writes to the file it has.
const MAX_REOPENS: usize = 16;

/// Appends events to a [JSON Lines](https://jsonlines.org/) file, one
/// [`to_json_line`](AuditEvent::to_json_line) per line, and rotates it by size.
///
/// # The file
///
/// - It is created with mode 0600 (set when it is created, never changed after) and opened
///   append-only, without following a symbolic link, close-on-exec, and non-blocking (so a
///   FIFO at the path is refused instead of hanging the open).
/// - An existing file is checked through the opened descriptor: it must be a regular file
///   of the current (effective) user, with no permission for the group or others and no
///   other hard link. Anything else is refused with [`AuditError::Unsafe`]; the file is
///   never "repaired".
/// - The directory holding it is the app's choice and is not checked; it should not be
///   writable by other users.
///
/// # Recording
///
/// Each [`record`](AuditSink::record) writes the whole line with one `write_all` and then
/// `fdatasync`s the file before returning, so an event that was recorded survives a crash.
/// Writers in this process take turns (a mutex); writers in other processes append whole
/// lines too (`O_APPEND`), and take turns with this one through an advisory `flock` of the
/// file while they check its size, rotate it and write.
///
/// # Rotation
///
/// Before a line is written, if the file is not empty and the line would take it past
/// [`max_bytes`](JsonLinesBuilder::max_bytes), the file is rotated: `path.(K−1)` is renamed
/// to `path.K` (replacing the oldest), …, `path.1` to `path.2`, `path` to `path.1`, the
/// directory is synced, and a fresh 0600 file is started at `path`. `K` is
/// [`keep`](JsonLinesBuilder::keep); with `keep(0)` the full file is removed and nothing is
/// kept. A line longer than `max_bytes` is still written, alone in its file. Rotated files
/// numbered above `K` by an earlier configuration are left alone.
///
/// If the file at `path` is renamed or removed by someone else (another process's
/// rotation, or a `logrotate` that renames), the next `record` notices and continues in the
/// file now at `path`, creating it if needed.
///
/// ```
/// # mod credlock { pub use credlock_audit as audit; }
/// use credlock::audit::{AuditEvent, AuditSink, EventKind, JsonLinesSink, Outcome};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("audit.jsonl");
/// let sink = JsonLinesSink::builder(&path).max_bytes(1 << 20).keep(3).open()?;
/// sink.record(&AuditEvent::now("main", EventKind::VaultCreated, Outcome::Success))?;
/// let text = std::fs::read_to_string(&path)?;
/// assert_eq!(text.lines().count(), 1);
/// assert!(text.ends_with("}\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct JsonLinesSink {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: Mutex<File>,
}

/// Settings of a [`JsonLinesSink`], from [`JsonLinesSink::builder`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct JsonLinesBuilder {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
}

impl JsonLinesSink {
    /// Opens (creating if needed) the log at `path`, with the default rotation
    /// ([`DEFAULT_MAX_BYTES`], [`DEFAULT_KEEP`]).
    ///
    /// # Errors
    ///
    /// [`AuditError::Unsafe`] when `path` names a symbolic link, something other than a
    /// regular file, a file of another user, a file the group or others have any permission
    /// on, or a file with other hard links; [`AuditError::Io`] when it cannot be opened or
    /// created (for example when its directory does not exist).
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditError, JsonLinesSink};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let sink = JsonLinesSink::open(dir.path().join("audit.jsonl"))?;
    /// assert_eq!(sink.keep(), 5);
    ///
    /// let missing = JsonLinesSink::open(dir.path().join("no/such/dir/audit.jsonl"));
    /// assert!(matches!(missing, Err(AuditError::Io { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        Self::builder(path).open()
    }

    /// Settings for a log at `path`, starting from the defaults.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::JsonLinesSink;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let sink = JsonLinesSink::builder(dir.path().join("audit.jsonl"))
    ///     .max_bytes(64 * 1024)
    ///     .keep(2)
    ///     .open()?;
    /// assert_eq!(sink.max_bytes(), 64 * 1024);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder(path: impl AsRef<Path>) -> JsonLinesBuilder {
        JsonLinesBuilder {
            path: path.as_ref().to_path_buf(),
            max_bytes: DEFAULT_MAX_BYTES,
            keep: DEFAULT_KEEP,
        }
    }

    /// The path of the current log file.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::JsonLinesSink;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("audit.jsonl");
    /// assert_eq!(JsonLinesSink::open(&path)?.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The size past which the file is rotated.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{JsonLinesSink, DEFAULT_MAX_BYTES};
    ///
    /// let dir = tempfile::tempdir()?;
    /// assert_eq!(JsonLinesSink::open(dir.path().join("a.jsonl"))?.max_bytes(), DEFAULT_MAX_BYTES);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// How many rotated files are kept.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{JsonLinesSink, DEFAULT_KEEP};
    ///
    /// let dir = tempfile::tempdir()?;
    /// assert_eq!(JsonLinesSink::open(dir.path().join("a.jsonl"))?.keep(), DEFAULT_KEEP);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn keep(&self) -> usize {
        self.keep
    }

    /// Under the in-process mutex: makes `file` the file at `self.path`, locked against
    /// other processes and rotated if `len` more bytes would not fit, then appends `line`.
    fn write_locked(&self, file: &mut File, line: &[u8]) -> Result<(), AuditError> {
        let len = u64::try_from(line.len()).unwrap_or(u64::MAX);
        for _ in 0..MAX_REOPENS {
            lock(&self.path, file)?;
            let st = fstat(&self.path, file)?;
            if !names(&self.path, &st)? {
                // Rotated, removed or replaced by someone else: continue in what is there now.
                *file = open_log(&self.path)?;
                continue;
            }
            // Checked again after a rotation of our own: another writer may have filled the
            // new file before this one got its lock. A line longer than the limit still goes
            // alone into an empty file.
            if st.st_size > 0 && size(&st).saturating_add(len) > self.max_bytes {
                self.rotate()?;
                *file = open_log(&self.path)?;
                continue;
            }
            break;
        }
        file.write_all(line)
            .map_err(|e| AuditError::io(&self.path, e))?;
        file.sync_data().map_err(|e| AuditError::io(&self.path, e))
    }

    /// Shifts the rotated files up by one, dropping the oldest, moves the current file to
    /// `path.1` (or removes it when nothing is kept), and syncs the directory.
    fn rotate(&self) -> Result<(), AuditError> {
        if self.keep == 0 {
            ignore_missing(std::fs::remove_file(&self.path))
                .map_err(|e| AuditError::io(&self.path, e))?;
        } else {
            // Only the run of existing files path.1, path.2, … is shifted, so that rotating
            // costs what is there, not what `keep` allows.
            let mut present = 0;
            while present < self.keep - 1
                && rotated_path(&self.path, present + 1)
                    .symlink_metadata()
                    .is_ok()
            {
                present += 1;
            }
            for i in (1..=present).rev() {
                let from = rotated_path(&self.path, i);
                ignore_missing(std::fs::rename(&from, rotated_path(&self.path, i + 1)))
                    .map_err(|e| AuditError::io(&from, e))?;
            }
            ignore_missing(std::fs::rename(&self.path, rotated_path(&self.path, 1)))
                .map_err(|e| AuditError::io(&self.path, e))?;
        }
        sync_parent(&self.path)
    }
}

impl JsonLinesBuilder {
    /// Rotates the file before a line would take it past `n` bytes (default
    /// [`DEFAULT_MAX_BYTES`], 10 MiB).
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::JsonLinesSink;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let sink = JsonLinesSink::builder(dir.path().join("a.jsonl")).max_bytes(4096).open()?;
    /// assert_eq!(sink.max_bytes(), 4096);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn max_bytes(mut self, n: u64) -> Self {
        self.max_bytes = n;
        self
    }

    /// Keeps `n` rotated files, `path.1` (newest) to `path.n` (oldest); the oldest is
    /// dropped at the next rotation (default [`DEFAULT_KEEP`], 5). With `0`, a full file is
    /// removed and a new one started.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::JsonLinesSink;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let sink = JsonLinesSink::builder(dir.path().join("a.jsonl")).keep(0).open()?;
    /// assert_eq!(sink.keep(), 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keep(mut self, n: usize) -> Self {
        self.keep = n;
        self
    }

    /// Opens (creating if needed) the log.
    ///
    /// # Errors
    ///
    /// As [`JsonLinesSink::open`].
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use std::os::unix::fs::PermissionsExt;
    /// use credlock::audit::JsonLinesSink;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("a.jsonl");
    /// JsonLinesSink::builder(&path).open()?;
    /// assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(self) -> Result<JsonLinesSink, AuditError> {
        let file = open_log(&self.path)?;
        Ok(JsonLinesSink {
            path: self.path,
            max_bytes: self.max_bytes,
            keep: self.keep,
            file: Mutex::new(file),
        })
    }
}

impl AuditSink for JsonLinesSink {
    /// Appends the event as one line and syncs it to disk, rotating first if needed.
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        let mut line = event.to_json_line();
        line.push('\n');
        // A panic while holding the lock leaves at worst a file handle that is still valid.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        let result = self.write_locked(&mut file, line.as_bytes());
        // The file in hand is kept open: release the lock taken on it. (A file replaced on
        // the way was closed, which released its lock.)
        let _ = rustix::fs::flock(file.as_fd(), FlockOperation::Unlock);
        result
    }

    fn describe(&self) -> String {
        format!(
            "jsonl {} (rotate at {} bytes, keep {})",
            self.path.display(),
            self.max_bytes,
            self.keep
        )
    }
}

/// Opens (creating with mode 0600) the log at `path` for appending, and checks it.
fn open_log(path: &Path) -> Result<File, AuditError> {
    let flags = OFlags::WRONLY
        | OFlags::APPEND
        | OFlags::CREATE
        | OFlags::NOFOLLOW
        | OFlags::NONBLOCK
        | OFlags::CLOEXEC
        | OFlags::NOCTTY;
    let fd = retry(|| rustix::fs::open(path, flags, Mode::RUSR | Mode::WUSR))
        .map_err(|e| explain_open_error(path, e))?;
    let file = File::from(fd);
    let st = fstat(path, &file)?;
    if let Some(reason) = unsafe_reason(&st) {
        return Err(AuditError::Unsafe {
            path: path.to_path_buf(),
            reason,
        });
    }
    if st.st_size == 0 {
        // Possibly just created: make its name durable before events are written to it.
        sync_parent(path)?;
    }
    Ok(file)
}

/// What makes an opened file unfit for the audit log, if anything.
#[allow(clippy::useless_conversion)] // `st_uid`, `st_mode`, `st_nlink` differ in width across Unixes.
fn unsafe_reason(st: &Stat) -> Option<&'static str> {
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        Some("it is not a regular file")
    } else if u32::from(st.st_uid) != rustix::process::geteuid().as_raw() {
        Some("it belongs to another user")
    } else if u32::from(st.st_mode) & 0o077 != 0 {
        Some("the group or others have access to it (it must be mode 0600)")
    } else if u64::from(st.st_nlink) > 1 {
        Some("it has other hard links")
    } else {
        None
    }
}

/// Turns a failed open into [`AuditError::Unsafe`] when the path names a symbolic link,
/// something that is not a regular file (`ELOOP`, `ENXIO` for a FIFO without a reader,
/// `EISDIR`, ...) or another user's file (`EACCES`), and into [`AuditError::Io`] otherwise.
fn explain_open_error(path: &Path, err: io::Error) -> AuditError {
    let reason = match rustix::fs::statat(rustix::fs::CWD, path, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(st) => match FileType::from_raw_mode(st.st_mode) {
            FileType::Symlink => Some("it is a symbolic link"),
            FileType::RegularFile => unsafe_reason(&st),
            _ => Some("it is not a regular file"),
        },
        Err(_) => None,
    };
    match reason {
        Some(reason) => AuditError::Unsafe {
            path: path.to_path_buf(),
            reason,
        },
        None => AuditError::io(path, err),
    }
}

/// Takes the advisory lock other processes' sinks take before they check, rotate or write.
/// A file system without `flock` (`ENOLCK`, `EOPNOTSUPP`) is written without it.
fn lock(path: &Path, file: &File) -> Result<(), AuditError> {
    match retry(|| rustix::fs::flock(file.as_fd(), FlockOperation::LockExclusive)) {
        Ok(()) => Ok(()),
        Err(e)
            if [Errno::NOLCK, Errno::OPNOTSUPP]
                .iter()
                .any(|n| e.raw_os_error() == Some(n.raw_os_error())) =>
        {
            Ok(())
        }
        Err(e) => Err(AuditError::io(path, e)),
    }
}

fn fstat(path: &Path, file: &File) -> Result<Stat, AuditError> {
    rustix::fs::fstat(file.as_fd()).map_err(|e| AuditError::io(path, e.into()))
}

/// Whether `path` still names the file `st` describes.
#[allow(clippy::useless_conversion)] // `st_dev`/`st_ino` differ in width across Unixes.
fn names(path: &Path, st: &Stat) -> Result<bool, AuditError> {
    match rustix::fs::statat(rustix::fs::CWD, path, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(now) => Ok(u64::from(now.st_dev) == u64::from(st.st_dev)
            && u64::from(now.st_ino) == u64::from(st.st_ino)),
        Err(Errno::NOENT) => Ok(false),
        Err(e) => Err(AuditError::io(path, e.into())),
    }
}

fn size(st: &Stat) -> u64 {
    u64::try_from(st.st_size).unwrap_or(0)
}

/// `path.n`.
fn rotated_path(path: &Path, n: usize) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(format!(".{n}"));
    PathBuf::from(name)
}

/// Syncs the directory holding `path`, so renames and creations in it survive a crash.
fn sync_parent(path: &Path) -> Result<(), AuditError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = retry(|| rustix::fs::open(dir, flags, Mode::empty()))
        .map_err(|e| AuditError::io(dir, e))?;
    retry(|| rustix::fs::fsync(&fd)).map_err(|e| AuditError::io(dir, e))
}

fn ignore_missing(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Retries a system call interrupted by a signal (`EINTR`), converting the error.
fn retry<T>(mut f: impl FnMut() -> rustix::io::Result<T>) -> io::Result<T> {
    loop {
        match f() {
            Err(Errno::INTR) => {}
            other => return other.map_err(io::Error::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_names() {
        assert_eq!(
            rotated_path(Path::new("/var/log/a.jsonl"), 3),
            Path::new("/var/log/a.jsonl.3")
        );
        assert_eq!(rotated_path(Path::new("a"), 10), Path::new("a.10"));
    }
}
