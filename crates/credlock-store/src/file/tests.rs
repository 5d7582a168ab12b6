//! Fault injection through the [`Syscalls`] seam, and other white-box tests.
//!
//! These are the authoritative fault tests: they run everywhere, as root too (where permission
//! bits cannot make a write fail). `tests/faults.rs` repeats the full-disk and read-only cases
//! on a real tmpfs when one can be mounted.

use std::ffi::OsStr;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::{FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use super::replace::Syscalls;
use super::*;

const OLD: &[u8] = b"old sealed bytes, which must survive every failed save";

/// A seam that fails the chosen step once, and records what it saw.
#[derive(Default)]
struct Faulty {
    /// Fail `create_temp` with this errno (every time) / the first `n` times with EEXIST.
    create_errno: Option<Errno>,
    exist_first: usize,
    /// After this many bytes were written, fail `write` with `write_errno`.
    write_fail_after: Option<usize>,
    write_errno: Option<Errno>,
    /// Accept at most this many bytes per `write` call.
    max_chunk: Option<usize>,
    /// Return Ok(0) from `write`.
    write_zero: bool,
    /// Return EINTR from the first `write`.
    interrupt_once: bool,
    sync_errno: Option<Errno>,
    rename_errno: Option<Errno>,
    sync_dir_errno: Option<Errno>,
    /// Give the temporary file this mode (a file system that ignores the one asked for).
    temp_mode: Option<u32>,

    written: usize,
    create_calls: usize,
    write_calls: usize,
    sync_calls: usize,
    /// Mode of the temporary file, as `stat` by name sees it at the first write.
    temp_mode_at_first_write: Option<u32>,
    temp_names: Vec<PathBuf>,
    dir: PathBuf,
}

impl Faulty {
    fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            ..Self::default()
        }
    }
}

fn io_err(errno: Errno) -> io::Error {
    io::Error::from_raw_os_error(errno.raw_os_error())
}

impl Syscalls for Faulty {
    fn create_temp(&mut self, dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
        self.create_calls += 1;
        if let Some(errno) = self.create_errno {
            return Err(io_err(errno));
        }
        if self.create_calls <= self.exist_first {
            return Err(io_err(Errno::EXIST));
        }
        self.temp_names.push(self.dir.join(name));
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600))?;
        if let Some(mode) = self.temp_mode {
            rustix::fs::fchmod(&fd, Mode::from_raw_mode(mode))?;
        }
        Ok(fd)
    }

    fn write(&mut self, fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
        self.write_calls += 1;
        if self.temp_mode_at_first_write.is_none() {
            let temp = self.temp_names.last().expect("a temp file was created");
            let meta = std::fs::symlink_metadata(temp).expect("the temp file exists by name");
            self.temp_mode_at_first_write = Some(meta.permissions().mode() & 0o7777);
        }
        if self.interrupt_once && self.write_calls == 1 {
            return Err(io_err(Errno::INTR));
        }
        if self.write_zero {
            return Ok(0);
        }
        let mut take = buf.len();
        if let Some(max) = self.max_chunk {
            take = take.min(max);
        }
        if let Some(limit) = self.write_fail_after {
            if self.written >= limit {
                return Err(io_err(self.write_errno.unwrap_or(Errno::IO)));
            }
            take = take.min(limit - self.written);
        }
        let n = rustix::io::write(fd, &buf[..take])?;
        self.written += n;
        Ok(n)
    }

    fn sync_file(&mut self, fd: BorrowedFd<'_>) -> io::Result<()> {
        self.sync_calls += 1;
        match self.sync_errno {
            Some(errno) => Err(io_err(errno)),
            None => Ok(rustix::fs::fsync(fd)?),
        }
    }

    fn rename(&mut self, dir: BorrowedFd<'_>, from: &OsStr, to: &OsStr) -> io::Result<()> {
        match self.rename_errno {
            Some(errno) => Err(io_err(errno)),
            None => Ok(rustix::fs::renameat(dir, from, dir, to)?),
        }
    }

    fn sync_dir(&mut self, dir: BorrowedFd<'_>) -> io::Result<()> {
        match self.sync_dir_errno {
            Some(errno) => Err(io_err(errno)),
            None => Ok(rustix::fs::fsync(dir)?),
        }
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    path: PathBuf,
    store: FileStore,
}

fn fixture(with_old: bool) -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    let path = dir.join("vault");
    let store = FileStore::open(&path).unwrap();
    if with_old {
        store.save(OLD).unwrap();
    }
    Fixture {
        _tmp: tmp,
        dir,
        path,
        store,
    }
}

/// Everything in the directory except the store file, its lock file and its turnstile.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "vault" && n != ".vault.lock" && n != ".vault.turnstile")
        .collect()
}

fn new_bytes() -> Vec<u8> {
    (0..20_000u32).map(|i| (i % 251) as u8).collect()
}

/// Saves through `faulty`, expects an error, and checks the target and the directory.
fn failed_save(fx: &Fixture, faulty: &mut Faulty) -> Error {
    let err = fx.store.save_with(&new_bytes(), faulty).unwrap_err();
    assert_eq!(
        std::fs::read(&fx.path).unwrap(),
        OLD,
        "target changed after: {err}"
    );
    assert_eq!(
        leftovers(&fx.dir),
        Vec::<String>::new(),
        "temp file left after: {err}"
    );
    for temp in &faulty.temp_names {
        assert!(!temp.exists(), "{temp:?}");
    }
    err
}

#[test]
fn full_disk_mid_write_keeps_target_and_says_so() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.write_fail_after = Some(4096);
    faulty.write_errno = Some(Errno::NOSPC);
    let err = failed_save(&fx, &mut faulty);
    assert!(
        matches!(
            err,
            Error::StorageFull {
                op: Operation::Write,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.io_kind(), Some(io::ErrorKind::StorageFull));
    assert_eq!(
        faulty.written, 4096,
        "the failure came part way through the data"
    );
    assert_eq!(faulty.sync_calls, 0);
    let msg = err.to_string();
    assert!(
        msg.contains("no space left") && msg.contains("unchanged"),
        "{msg}"
    );
    assert!(msg.contains(&*fx.path.to_string_lossy()), "{msg}");
}

#[test]
fn quota_exceeded_is_storage_full() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.write_fail_after = Some(10);
    faulty.write_errno = Some(Errno::DQUOT);
    let err = failed_save(&fx, &mut faulty);
    assert!(matches!(err, Error::StorageFull { .. }), "{err:?}");
}

#[test]
fn io_error_mid_write_keeps_target() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.write_fail_after = Some(7000);
    faulty.write_errno = Some(Errno::IO);
    let err = failed_save(&fx, &mut faulty);
    assert!(
        matches!(
            err,
            Error::Io {
                op: Operation::Write,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    // The OS error is the source, not repeated in the message.
    assert!(!msg.contains("Input/output error"), "{msg}");
    let source = std::error::Error::source(&err).map(ToString::to_string);
    assert!(source.is_some_and(|s| s.contains("Input/output error")));
    assert!(msg.contains("writing the temporary file"), "{msg}");
    assert!(msg.contains("unchanged"), "{msg}");
}

#[test]
fn failed_fsync_is_an_error_and_not_retried() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.sync_errno = Some(Errno::IO);
    let err = failed_save(&fx, &mut faulty);
    assert!(
        matches!(
            err,
            Error::Io {
                op: Operation::SyncFile,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(faulty.sync_calls, 1, "fsync must not be retried");
    assert!(err.to_string().contains("fsync"), "{err}");
}

#[test]
fn full_disk_at_fsync_keeps_target() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.sync_errno = Some(Errno::NOSPC);
    let err = failed_save(&fx, &mut faulty);
    assert!(
        matches!(
            err,
            Error::StorageFull {
                op: Operation::SyncFile,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn read_only_file_system_refuses_temp_file() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.create_errno = Some(Errno::ROFS);
    let err = failed_save(&fx, &mut faulty);
    assert!(
        matches!(
            err,
            Error::ReadOnlyFilesystem {
                op: Operation::CreateTemp,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.io_kind(), Some(io::ErrorKind::ReadOnlyFilesystem));
    assert!(err.to_string().contains("read-only"), "{err}");
    assert_eq!(faulty.create_calls, 1, "only a name clash is retried");
}

#[test]
fn a_temporary_file_that_is_not_private_is_refused() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.temp_mode = Some(0o644);
    let err = failed_save(&fx, &mut faulty);
    assert!(
        matches!(err, Error::UnsupportedFilesystem { .. }),
        "{err:?}"
    );
    assert_eq!(
        faulty.write_calls, 0,
        "nothing is written to a readable file"
    );
}

#[test]
fn the_real_create_never_follows_or_reuses_a_name() {
    let tmp = tempfile::tempdir().unwrap();
    let dirfd = dir::open_checked(tmp.path()).unwrap();
    let target = tmp.path().join("target");
    std::fs::write(&target, b"left alone").unwrap();
    let link = OsStr::new(".vault.tmp-0123456789abcdef");
    std::os::unix::fs::symlink(&target, tmp.path().join(link)).unwrap();
    let err = RealSyscalls.create_temp(dirfd.as_fd(), link).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(Errno::EXIST.raw_os_error()));
    assert_eq!(std::fs::read(&target).unwrap(), b"left alone");
    let fresh = OsStr::new(".vault.tmp-fedcba9876543210");
    drop(RealSyscalls.create_temp(dirfd.as_fd(), fresh).unwrap());
    let meta = std::fs::symlink_metadata(tmp.path().join(fresh)).unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.permissions().mode() & 0o7777, 0o600);
}

#[test]
fn same_inode_needs_the_device_and_the_inode() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    std::fs::write(&a, b"a").unwrap();
    std::fs::write(&b, b"b").unwrap();
    let st = |p: &Path| rustix::fs::stat(p).unwrap();
    assert!(sys::same_inode(&st(&a), &st(&a)));
    // One device, two inodes.
    assert!(!sys::same_inode(&st(&a), &st(&b)));
}

#[test]
fn file_kinds_have_names() {
    for (kind, name) in [
        (FileType::Fifo, "FIFO"),
        (FileType::Socket, "socket"),
        (FileType::CharacterDevice, "character device"),
        (FileType::BlockDevice, "block device"),
        (FileType::Directory, "directory"),
        (FileType::Symlink, "symbolic link"),
        (FileType::RegularFile, "regular file"),
        (FileType::Unknown, "special file"),
    ] {
        assert_eq!(sys::kind_name(kind), name);
    }
}

#[test]
fn a_store_set_describes_its_directory_mode() {
    let tmp = tempfile::tempdir().unwrap();
    let set = FileStoreSet::open(tmp.path().join("vaults")).unwrap();
    let info = crate::StoreSet::describe(&set);
    assert_eq!(info.mode, Some(0o700));
    assert!(info.present);
}

#[test]
fn permission_denied_on_create_is_reported() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.create_errno = Some(Errno::ACCESS);
    let err = failed_save(&fx, &mut faulty);
    assert!(
        matches!(
            err,
            Error::PermissionDenied {
                op: Operation::CreateTemp,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn failed_rename_removes_temp_and_keeps_target() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.rename_errno = Some(Errno::IO);
    let err = failed_save(&fx, &mut faulty);
    assert!(
        matches!(
            err,
            Error::Io {
                op: Operation::Rename,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        faulty.sync_calls, 1,
        "the data was flushed before the rename"
    );
}

#[test]
fn failed_directory_fsync_is_an_error_not_a_false_success() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.sync_dir_errno = Some(Errno::IO);
    let err = fx.store.save_with(&new_bytes(), &mut faulty).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Io {
                op: Operation::SyncDirectory,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("may not survive a power loss"),
        "{err}"
    );
    // The rename had happened: the new file is complete and in place, and no temp remains.
    assert_eq!(std::fs::read(&fx.path).unwrap(), new_bytes());
    assert_eq!(leftovers(&fx.dir), Vec::<String>::new());
}

#[test]
fn failure_without_a_previous_file_leaves_nothing() {
    let fx = fixture(false);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.write_fail_after = Some(100);
    faulty.write_errno = Some(Errno::NOSPC);
    assert!(fx.store.save_with(&new_bytes(), &mut faulty).is_err());
    assert!(!fx.path.exists());
    assert_eq!(leftovers(&fx.dir), Vec::<String>::new());
    assert_eq!(fx.store.load().unwrap(), None);
}

#[test]
fn short_and_interrupted_writes_still_write_everything() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.max_chunk = Some(777);
    faulty.interrupt_once = true;
    fx.store.save_with(&new_bytes(), &mut faulty).unwrap();
    assert_eq!(fx.store.load().unwrap().unwrap(), new_bytes());
    assert!(faulty.write_calls > 20);
}

#[test]
fn write_accepting_nothing_is_an_error_not_a_hang() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.write_zero = true;
    let err = failed_save(&fx, &mut faulty);
    assert_eq!(err.io_kind(), Some(io::ErrorKind::WriteZero), "{err:?}");
}

#[test]
fn temp_name_collisions_are_retried_then_reported() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    faulty.exist_first = 3;
    fx.store.save_with(&new_bytes(), &mut faulty).unwrap();
    assert_eq!(faulty.create_calls, 4);

    let mut faulty = Faulty::new(&fx.dir);
    faulty.create_errno = Some(Errno::EXIST);
    let err = fx.store.save_with(OLD, &mut faulty).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Io {
                op: Operation::CreateTemp,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(faulty.create_calls, 16);
}

#[test]
fn temp_file_is_0600_in_the_same_directory_from_its_first_instant() {
    let fx = fixture(true);
    let mut faulty = Faulty::new(&fx.dir);
    fx.store.save_with(&new_bytes(), &mut faulty).unwrap();
    assert_eq!(faulty.temp_mode_at_first_write, Some(0o600));
    let temp = &faulty.temp_names[0];
    assert_eq!(temp.parent(), Some(fx.dir.as_path()));
    let name = temp.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(".vault.tmp-") && name.len() == ".vault.tmp-".len() + 16,
        "{name}"
    );
    assert_eq!(fx.store.file_mode(), Some(0o600));
}

#[test]
fn stale_temp_files_are_removed_but_live_and_foreign_ones_kept() {
    let fx = fixture(true);
    let stale = fx.dir.join(".vault.tmp-00000000deadbeef");
    let live = fx.dir.join(".vault.tmp-0123456789abcdef");
    let foreign = [
        ".vault2.tmp-0123456789abcdef",
        ".vault.tmp-0123",
        "vault.tmp-0123456789abcdef",
        "notes.txt",
    ];
    std::fs::write(&stale, b"half a file").unwrap();
    std::fs::write(&live, b"being written").unwrap();
    for name in foreign {
        std::fs::write(fx.dir.join(name), b"not ours").unwrap();
    }
    // A live writer holds an flock on its temporary file.
    let held = rustix::fs::open(&live, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap();
    rustix::fs::flock(&held, FlockOperation::LockExclusive).unwrap();

    let _reopened = FileStore::open(&fx.path).unwrap();
    assert!(!stale.exists(), "a stale temp file survived a reopen");
    assert!(live.exists(), "a live writer's temp file was removed");
    for name in foreign {
        assert!(fx.dir.join(name).exists(), "{name} was removed");
    }
    drop(held);
    fx.store.delete().unwrap();
    assert!(!live.exists(), "delete left a stale temp file");
    assert!(!fx.path.exists());
}

#[test]
fn lock_times_out_with_a_clear_error_and_is_freed_on_drop() {
    let fx = fixture(false);
    let other = FileStore::builder(&fx.path)
        .lock_timeout(Duration::from_millis(150))
        .open()
        .unwrap();
    let guard = fx.store.lock().unwrap();
    let start = Instant::now();
    let err = other.lock().unwrap_err();
    let waited = start.elapsed();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    assert_eq!(err.path(), fx.dir.join(".vault.lock"));
    assert!(
        err.to_string().contains("another process holds the lock"),
        "{err}"
    );

    let try_once = FileStore::builder(&fx.path)
        .lock_timeout(Duration::ZERO)
        .open()
        .unwrap();
    assert!(matches!(try_once.lock(), Err(Error::LockTimeout { .. })));
    drop(guard);
    let _again = try_once.lock().unwrap();
    // The lock file and the turnstile are private, stable, and survive a save and a delete.
    let turnstile = fx.dir.join(".vault.turnstile");
    for file in [fx.store.lock_path(), turnstile.clone()] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{file:?}");
    }
    fx.store.save(OLD).unwrap();
    fx.store.delete().unwrap();
    assert!(fx.store.lock_path().exists());
    assert!(turnstile.exists());
}

/// Takes `flock(LOCK_EX)` on `path` through a descriptor of its own, as another process would.
fn flock_as_another(path: &Path) -> OwnedFd {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap();
    rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).unwrap();
    fd
}

#[test]
fn a_waiter_at_the_turnstile_goes_first() {
    let fx = fixture(false);
    let turnstile = fx.dir.join(".vault.turnstile");
    let try_once = FileStore::builder(&fx.path)
        .lock_timeout(Duration::ZERO)
        .open()
        .unwrap();
    try_once.lock().unwrap().release(); // creates both files
    // Somebody stands at the turnstile, waiting for the lock: the lock is free, but a try
    // does not jump the line.
    let in_line = flock_as_another(&turnstile);
    let err = try_once.lock().unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err:?}");
    assert_eq!(err.path(), fx.store.lock_path());
    drop(in_line);
    try_once.lock().unwrap().release();

    // A waiter leaves the turnstile as soon as it has the lock, and when it gives up.
    let holder = flock_as_another(&fx.store.lock_path());
    let patient = FileStore::builder(&fx.path)
        .lock_timeout(Duration::from_secs(60))
        .open()
        .unwrap();
    std::thread::scope(|s| {
        let waiter = s.spawn(|| patient.lock().unwrap());
        // Wait (bounded) until the waiter stands at the turnstile.
        let start = Instant::now();
        while is_free(&turnstile) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "the waiter never queued"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(holder);
        let guard = waiter.join().unwrap();
        assert!(is_free(&turnstile));
        assert!(!is_free(&fx.store.lock_path()));
        drop(guard);
    });
    let impatient = FileStore::builder(&fx.path)
        .lock_timeout(Duration::from_millis(20))
        .open()
        .unwrap();
    let holder = flock_as_another(&fx.store.lock_path());
    assert!(matches!(impatient.lock(), Err(Error::LockTimeout { .. })));
    assert!(is_free(&turnstile));
    drop(holder);
}

/// Whether nobody holds an `flock` on `path` (probed through a descriptor of its own).
fn is_free(path: &Path) -> bool {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap();
    rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).is_ok()
}

#[test]
fn errno_classification() {
    let p = Path::new("/x");
    let e = |errno: Errno| Error::from_io(p, Operation::Open, io_err(errno));
    assert!(matches!(e(Errno::ACCESS), Error::PermissionDenied { .. }));
    assert!(matches!(e(Errno::PERM), Error::PermissionDenied { .. }));
    assert!(matches!(e(Errno::NOSPC), Error::StorageFull { .. }));
    assert!(matches!(e(Errno::DQUOT), Error::StorageFull { .. }));
    assert!(matches!(e(Errno::ROFS), Error::ReadOnlyFilesystem { .. }));
    assert!(matches!(e(Errno::IO), Error::Io { .. }));
    let denied = e(Errno::ACCESS).to_string();
    assert!(
        denied.contains("permission denied while opening"),
        "{denied}"
    );
}

/// A seam whose first `create_temp` lets a concurrent cleanup run between the creation of the
/// temporary file and the writer's lock on it: the cleanup removes it (`unlink_first`) or
/// still holds it locked when the writer tries (`hold_first`).
struct CleanupRace {
    dir: PathBuf,
    names: Names,
    hold_first: bool,
    held: Option<OwnedFd>,
    creates: usize,
}

impl Syscalls for CleanupRace {
    fn create_temp(&mut self, dir: BorrowedFd<'_>, name: &OsStr) -> io::Result<OwnedFd> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(dir, name, flags, Mode::from_raw_mode(0o600))?;
        self.creates += 1;
        if self.creates == 1 {
            if self.hold_first {
                // The cleanup has the file locked at the moment the writer tries.
                let other = rustix::fs::open(
                    self.dir.join(name),
                    OFlags::RDONLY | OFlags::CLOEXEC,
                    Mode::empty(),
                )?;
                rustix::fs::flock(&other, FlockOperation::NonBlockingLockExclusive)?;
                self.held = Some(other);
            } else {
                let dirfd = dir::open_checked(&self.dir).map_err(io::Error::other)?;
                let removed = cleanup::remove_stale_temps(dirfd.as_fd(), &self.names)
                    .map_err(io::Error::other)?;
                assert_eq!(removed, 1, "the cleanup took the unlocked fresh file");
            }
        }
        Ok(fd)
    }
}

#[test]
fn a_cleanup_between_creating_and_locking_the_temp_file_loses_no_save() {
    for hold_first in [false, true] {
        let fx = fixture(true);
        let names = Names::new(&fx.path).unwrap();
        let mut race = CleanupRace {
            dir: fx.dir.clone(),
            names,
            hold_first,
            held: None,
            creates: 0,
        };
        fx.store.save_with(&new_bytes(), &mut race).unwrap();
        assert_eq!(race.creates, 2, "a second temporary file was made");
        assert_eq!(std::fs::read(&fx.path).unwrap(), new_bytes());
        drop(race.held.take());
        let mut left = leftovers(&fx.dir);
        left.retain(|n| n.contains(".tmp-"));
        if hold_first {
            // The cleanup that held it removes it; here nobody did, and the next open will.
            assert_eq!(left.len(), 1, "{left:?}");
            FileStore::open(&fx.path).unwrap();
        }
        let mut left = leftovers(&fx.dir);
        left.retain(|n| n.contains(".tmp-"));
        assert_eq!(left, Vec::<String>::new());
    }
}

mod swapped_between_look_and_open {
    //! The file at the path changes between the `statat` that looks at it and the `openat`
    //! that opens it: the read decides on what it opened.

    use std::os::unix::fs::symlink;

    use super::super::read::between_look_and_open;
    use super::*;

    const SECRET: &[u8] = b"sealed bytes";

    /// A private directory with a 0600 store file `vault` and a 0600 `other` file.
    fn dir_with_file() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("vault");
        let other = tmp.path().join("other");
        for p in [&path, &other] {
            std::fs::write(p, SECRET).unwrap();
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        (tmp, path, other)
    }

    fn read(path: &Path) -> Result<Vec<u8>, Error> {
        read_checked(path, &ReadOptions::new())
    }

    #[test]
    fn a_file_that_vanished_is_not_found() {
        let (_tmp, path, _) = dir_with_file();
        let gone = path.clone();
        race::set(race::Point::ReadOpen, move || {
            std::fs::remove_file(&gone).unwrap()
        });
        assert!(matches!(read(&path), Err(Error::NotFound { .. })));
    }

    #[test]
    fn a_file_that_became_a_symlink_is_refused_not_followed() {
        let (_tmp, path, other) = dir_with_file();
        let swapped = path.clone();
        race::set(race::Point::ReadOpen, move || {
            std::fs::remove_file(&swapped).unwrap();
            symlink(&other, &swapped).unwrap();
        });
        assert!(matches!(read(&path), Err(Error::Symlink { .. })));
    }

    #[test]
    fn a_file_that_became_a_fifo_is_refused_without_blocking() {
        let (_tmp, path, _) = dir_with_file();
        let swapped = path.clone();
        race::set(race::Point::ReadOpen, move || {
            std::fs::remove_file(&swapped).unwrap();
            make_fifo(&swapped);
        });
        // Without O_NONBLOCK the open would wait for a writer that never comes.
        assert!(matches!(read(&path), Err(Error::NotRegularFile { .. })));
    }

    #[test]
    fn a_file_that_became_a_directory_is_refused() {
        let (_tmp, path, _) = dir_with_file();
        let swapped = path.clone();
        race::set(race::Point::ReadOpen, move || {
            std::fs::remove_file(&swapped).unwrap();
            std::fs::create_dir(&swapped).unwrap();
        });
        assert!(matches!(read(&path), Err(Error::IsADirectory { .. })));
    }

    #[test]
    fn a_directory_that_became_a_file_is_named_as_such_not_as_a_symlink() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("sub");
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("vault");
        std::fs::write(&path, SECRET).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let (moved, swapped) = (tmp.path().join("elsewhere"), dir.clone());
        race::set(race::Point::ReadOpen, move || {
            std::fs::rename(&swapped, &moved).unwrap();
            std::fs::write(&swapped, b"a file where the directory was").unwrap();
        });
        match read(&path) {
            Err(Error::NotADirectory { path: shown }) => assert_eq!(shown, dir),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_store_load_decides_on_what_it_opened() {
        let (tmp, path, other) = dir_with_file();
        let store = FileStore::open(&path).unwrap();
        let swapped = path.clone();
        race::set(race::Point::ReadOpen, move || {
            std::fs::remove_file(&swapped).unwrap();
            symlink(&other, &swapped).unwrap();
        });
        assert!(matches!(store.load(), Err(Error::Symlink { .. })));
        std::fs::remove_file(&path).unwrap();
        let gone = path.clone();
        std::fs::write(&path, SECRET).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        race::set(race::Point::ReadOpen, move || {
            std::fs::remove_file(&gone).unwrap()
        });
        assert_eq!(store.load().unwrap(), None);
        drop(tmp);
    }

    #[test]
    fn the_descriptor_read_is_close_on_exec_and_non_blocking() {
        let (_tmp, path, _) = dir_with_file();
        let seen = std::rc::Rc::new(std::cell::Cell::new(None));
        let record = seen.clone();
        between_look_and_open::on_open(move |fd| {
            let fd_flags = rustix::io::fcntl_getfd(fd).unwrap();
            let status = rustix::fs::fcntl_getfl(fd).unwrap();
            record.set(Some((
                fd_flags.contains(rustix::io::FdFlags::CLOEXEC),
                status.contains(OFlags::NONBLOCK),
                status & OFlags::ACCMODE == OFlags::RDONLY,
            )));
        });
        assert_eq!(read(&path).unwrap(), SECRET);
        assert_eq!(seen.get(), Some((true, true, true)));
    }
}

#[test]
fn read_options_report_what_was_set() {
    let strict = ReadOptions::new();
    assert!(strict.private_mode_required() && strict.owner_required());
    assert_eq!(strict.max_len_value(), DEFAULT_MAX_LEN);
    let loose = strict
        .require_private_mode(false)
        .require_owner(false)
        .max_len(4096);
    assert!(!loose.private_mode_required() && !loose.owner_required());
    assert_eq!(loose.max_len_value(), 4096);
    assert_eq!(ReadOptions::default(), strict);
}

#[test]
fn a_directory_made_by_another_between_the_look_and_the_mkdir_is_used() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vaults");
    let made = dir.clone();
    race::set(race::Point::Mkdir, move || {
        std::fs::create_dir(&made).unwrap();
        std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o700)).unwrap();
    });
    dir::create_or_open_checked(&dir).unwrap();
    assert!(dir.is_dir());
}

#[test]
fn a_parent_replaced_by_a_file_before_the_mkdir_is_not_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let parent = tmp.path().join("parent");
    let dir = parent.join("vaults");
    let swapped = parent.clone();
    race::set(race::Point::Mkdir, move || {
        std::fs::write(&swapped, b"a file").unwrap()
    });
    let err = dir::create_or_open_checked(&dir).unwrap_err();
    assert!(matches!(err, Error::NotADirectory { .. }), "{err:?}");
    assert_eq!(err.path(), dir);
}

#[test]
fn a_dangling_symlink_as_the_directory_is_not_found() {
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join("vaults");
    std::os::unix::fs::symlink(tmp.path().join("gone/away"), &link).unwrap();
    // The mkdir finds the link's name taken; the directory it names still does not exist.
    let err = dir::create_or_open_checked(&link).unwrap_err();
    assert!(matches!(err, Error::DirectoryNotFound { .. }), "{err:?}");
    assert_eq!(err.path(), link);
    assert!(!tmp.path().join("gone").exists());
}

#[test]
fn a_fifo_as_the_directory_is_refused_without_hanging() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("vaults");
    make_fifo(&fifo);
    // On another thread, so that a regression (opening the FIFO) hangs only that thread.
    let (tx, rx) = std::sync::mpsc::channel();
    let path = fifo.join("vault");
    std::thread::spawn(move || tx.send(FileStore::open(&path).map(drop)).unwrap());
    let err = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("opening a FIFO as the directory hung")
        .unwrap_err();
    assert!(matches!(err, Error::NotADirectory { .. }), "{err:?}");
}

#[test]
fn a_symlink_or_fifo_under_a_temporary_name_is_removed_unopened() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault");
    let target = tmp.path().join("target");
    std::fs::write(&target, b"left alone").unwrap();
    let link = tmp.path().join(".vault.tmp-0123456789abcdef");
    let fifo = tmp.path().join(".vault.tmp-fedcba9876543210");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    make_fifo(&fifo);
    FileStore::open(&path).unwrap();
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the link is left"
    );
    assert!(
        std::fs::symlink_metadata(&fifo).is_err(),
        "the FIFO is left"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"left alone");
}

/// A FIFO (mode 0600) at `path`.
fn make_fifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        FileType::Fifo,
        Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

#[test]
fn a_temporary_swapped_for_a_fifo_or_link_during_cleanup_is_handled_without_hanging() {
    for swap_to_fifo in [true, false] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let temp = dir.join(".vault.tmp-0123456789abcdef");
        let target = dir.join("target");
        std::fs::write(&target, b"left alone").unwrap();
        std::fs::write(&temp, b"stale").unwrap();
        // On another thread, so that a regression (a blocking open) hangs only that thread.
        let (tx, rx) = std::sync::mpsc::channel();
        let (swapped, aim) = (temp.clone(), target.clone());
        std::thread::spawn(move || {
            race::set(race::Point::CleanupOpen, move || {
                std::fs::remove_file(&swapped).unwrap();
                if swap_to_fifo {
                    make_fifo(&swapped);
                } else {
                    std::os::unix::fs::symlink(&aim, &swapped).unwrap();
                }
            });
            let names = Names::new(&dir.join("vault")).unwrap();
            let dirfd = dir::open_checked(&dir).unwrap();
            tx.send(cleanup::remove_stale_temps(dirfd.as_fd(), &names).map_err(|e| e.to_string()))
                .unwrap();
        });
        let removed = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the cleanup hung on what was swapped in")
            .unwrap();
        if swap_to_fifo {
            // Opened without waiting, locked and removed: nobody holds it.
            assert_eq!(removed, 1);
            assert!(std::fs::symlink_metadata(&temp).is_err());
        } else {
            // The link is not followed: the candidate is left, its target untouched.
            assert_eq!(removed, 0);
            assert!(
                std::fs::symlink_metadata(&temp)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"left alone");
    }
}
