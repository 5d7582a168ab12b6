//! Real faults on a tiny tmpfs: a full disk and a read-only file system.
//!
//! Mounting needs root (`CAP_SYS_ADMIN`). Where it is not allowed, each test says so on stderr
//! and checks nothing here: the authoritative fault tests inject the same errors through the
//! writer seam (`src/file/tests.rs`), which works everywhere, as root too. With
//! `CREDLOCK_REQUIRE_TMPFS=1` (set by `.ci/run`: CI runs as root) a tmpfs that cannot be
//! mounted fails the test instead.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::cast_possible_truncation,
    reason = "test code: helpers outside #[test] functions, and test data generators"
)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use credlock_store::{Error, FileStore, Operation, Store};

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    fn remount_read_only(&self) {
        let status = Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(status.success(), "remount read-only failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// The variable that turns a tmpfs that cannot be mounted into a test failure.
const REQUIRE_TMPFS: &str = "CREDLOCK_REQUIRE_TMPFS";

/// Whether [`REQUIRE_TMPFS`] is set to `1` (unset, empty or `0`: not required).
fn tmpfs_required() -> bool {
    match std::env::var(REQUIRE_TMPFS).as_deref() {
        Ok("1") => true,
        Ok("" | "0") | Err(std::env::VarError::NotPresent) => false,
        Ok(other) => panic!("{REQUIRE_TMPFS}={other:?}: expected 1 or 0"),
        Err(e) => panic!("{REQUIRE_TMPFS}: {e}"),
    }
}

/// A tmpfs for `test`, or `None` after saying on stderr that the test was not run; with
/// `CREDLOCK_REQUIRE_TMPFS=1`, a tmpfs that cannot be mounted fails the test.
fn mount_or_report(test: &str, dir: &Path, size: &str) -> Option<Tmpfs> {
    match Tmpfs::mount(dir, size) {
        Ok(m) => Some(m),
        Err(e) if tmpfs_required() => panic!(
            "{test}: cannot mount a tmpfs ({e}), and {REQUIRE_TMPFS}=1 requires it (run as \
             root, or with CAP_SYS_ADMIN, or unset {REQUIRE_TMPFS})"
        ),
        Err(e) => {
            // Straight to the process's stderr, past the test harness's output capture, so
            // that a passing run still shows the test checked nothing.
            let _ = writeln!(
                std::io::stderr(),
                "\nNOT RUN {test}: cannot mount a tmpfs ({e}); the seam-based fault tests \
                 (src/file/tests.rs) cover this case. Set {REQUIRE_TMPFS}=1 to make this a \
                 failure."
            );
            None
        }
    }
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn full_disk_on_a_real_tmpfs() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(fs) = mount_or_report("full_disk_on_a_real_tmpfs", &tmp.path().join("mnt"), "64k")
    else {
        return;
    };
    let path = fs.dir.join("vault");
    let store = FileStore::open(&path).unwrap();
    let old = vec![0x5a; 4000];
    store.save(&old).unwrap();

    // A new version bigger than the whole file system.
    let err = store.save(&vec![0xa5; 200_000]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::StorageFull {
                op: Operation::Write | Operation::SyncFile,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("no space left"), "{err}");
    assert_eq!(
        store.load().unwrap().unwrap(),
        old,
        "the old file must be byte-identical"
    );
    assert_eq!(
        dir_names(&fs.dir),
        ["vault"],
        "a temporary file was left behind"
    );

    // Fill the disk with something else, then try a small save.
    let filler = fs.dir.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 200_000]);
    let err = store.save(&[1u8; 8192]).unwrap_err();
    assert!(matches!(err, Error::StorageFull { .. }), "{err:?}");
    assert_eq!(store.load().unwrap().unwrap(), old);
    std::fs::remove_file(&filler).unwrap();
    // tmpfs returns an unlinked file's pages when the last reference to its inode goes, which
    // can lag behind `unlink` on a busy machine: wait (boundedly) for the space to come back.
    let mut attempts = 0;
    while let Err(e) = store.save(b"fits again") {
        attempts += 1;
        assert!(
            matches!(e, Error::StorageFull { .. }) && attempts < 100,
            "space did not come back after removing the filler: {e:?}"
        );
        assert_eq!(store.load().unwrap().unwrap(), old);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(store.load().unwrap().unwrap(), b"fits again");
    drop(fs);
}

#[test]
fn read_only_file_system_on_a_real_tmpfs() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(fs) = mount_or_report(
        "read_only_file_system_on_a_real_tmpfs",
        &tmp.path().join("mnt"),
        "64k",
    ) else {
        return;
    };
    let path = fs.dir.join("vault");
    let store = FileStore::open(&path).unwrap();
    store.save(b"old").unwrap();
    store.lock().unwrap().release(); // creates the lock file and the turnstile
    // Without its turnstile, which cannot be created on a read-only file system, the lock is
    // still taken (only without the turn-taking).
    std::fs::remove_file(fs.dir.join(".vault.turnstile")).unwrap();
    fs.remount_read_only();

    let err = store.save(b"new").unwrap_err();
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
    assert!(err.to_string().contains("read-only"), "{err}");
    let err = store.delete().unwrap_err();
    assert!(
        matches!(
            err,
            Error::ReadOnlyFilesystem {
                op: Operation::Remove,
                ..
            }
        ),
        "{err:?}"
    );
    // Reading still works, and reopening (which tries to clean up) does not fail.
    assert_eq!(store.load().unwrap().unwrap(), b"old");
    assert_eq!(
        FileStore::open(&path).unwrap().load().unwrap().unwrap(),
        b"old"
    );
    // An existing lock file can still be locked (flock needs no write access), without a
    // turnstile.
    let _guard = store.lock().unwrap();
    assert_eq!(dir_names(&fs.dir), [".vault.lock", "vault"]);
    drop(fs);
}
