//! Modes, owners and symbolic links: what a new file gets, and what a read refuses.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    clippy::cast_possible_truncation,
    reason = "test code: helpers outside #[test] functions, and test data generators"
)]

use std::fs::{self, Permissions};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;

use credlock_store::{Error, FileStore, ReadOptions, Store, read_checked};

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
}

fn store_in(tmp: &tempfile::TempDir) -> (FileStore, std::path::PathBuf) {
    let path = tmp.path().join("vault");
    (FileStore::open(&path).unwrap(), path)
}

const UMASK_ENV: &str = "CREDLOCK_STORE_UMASK_CHILD";

#[test]
fn new_file_is_0600_even_with_umask_0_and_dir_is_0700() {
    // The umask is per process: run the check in a child process of its own, so that umask 0
    // cannot leak into the other tests of this binary.
    let marker = tempfile::tempdir().unwrap();
    let done = marker.path().join("checked");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["umask_0_child", "--exact", "--ignored", "--test-threads=1"])
        .env(UMASK_ENV, &done)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the umask-0 check failed in its child process"
    );
    assert!(done.exists(), "the umask-0 check did not run");
}

#[test]
#[ignore = "helper process run by new_file_is_0600_even_with_umask_0_and_dir_is_0700"]
fn umask_0_child() {
    let Some(done) = std::env::var_os(UMASK_ENV) else {
        return;
    };
    // The widest umask: a file created 0666 and chmod-ed later would show it.
    rustix::process::umask(rustix::fs::Mode::empty());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("new/nested");
    let path = dir.join("vault");
    // Only the last component is created: a missing parent is refused, not made.
    assert!(matches!(
        FileStore::open(&path),
        Err(Error::DirectoryNotFound { path: p }) if p == tmp.path().join("new")
    ));
    assert!(!tmp.path().join("new").exists());
    FileStore::open(tmp.path().join("new/x")).unwrap();
    let store = FileStore::open(&path).unwrap();
    store.save(b"first").unwrap();
    assert_eq!(mode(&path), 0o600, "first stat of a new file");
    store.save(b"second").unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&tmp.path().join("new")), 0o700);
    store.lock().unwrap().release();
    assert_eq!(mode(&store.lock_path()), 0o600);
    assert_eq!(mode(&dir.join(".vault.turnstile")), 0o600);
    assert_eq!(store.describe().mode, Some(0o600));
    assert_eq!(
        fs::metadata(&path).unwrap().uid(),
        rustix::process::geteuid().as_raw()
    );
    fs::write(done, b"").unwrap();
}

#[test]
fn group_or_other_bits_are_refused_with_chmod_advice() {
    for bad in [0o640, 0o604, 0o644, 0o660, 0o606, 0o610, 0o601, 0o666] {
        let tmp = tempfile::tempdir().unwrap();
        let (store, path) = store_in(&tmp);
        store.save(b"sealed").unwrap();
        set_mode(&path, bad);
        let err = store.load().unwrap_err();
        match &err {
            Error::InsecureMode { mode, .. } => assert_eq!(*mode, bad),
            other => panic!("{bad:o}: {other:?}"),
        }
        let msg = err.to_string();
        assert!(msg.contains(&format!("chmod 600 {path:?}")), "{msg}");
        assert!(msg.contains(&format!("{bad:04o}")), "{msg}");
        // Refusing changed nothing.
        assert_eq!(mode(&path), bad);
        assert_eq!(fs::read(&path).unwrap(), b"sealed");
        // The same check applies to read_checked by default.
        assert!(matches!(
            read_checked(&path, &ReadOptions::new()),
            Err(Error::InsecureMode { .. })
        ));
    }
}

#[test]
fn owner_only_modes_are_accepted() {
    for good in [0o600, 0o400] {
        let tmp = tempfile::tempdir().unwrap();
        let (store, path) = store_in(&tmp);
        store.save(b"sealed").unwrap();
        set_mode(&path, good);
        assert_eq!(store.load().unwrap().unwrap(), b"sealed", "{good:o}");
    }
}

#[test]
fn saving_over_a_widened_file_restores_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, path) = store_in(&tmp);
    store.save(b"sealed").unwrap();
    set_mode(&path, 0o644);
    store.save(b"resealed").unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(store.load().unwrap().unwrap(), b"resealed");
}

#[test]
fn symlink_at_the_path_is_refused_and_its_target_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("elsewhere");
    fs::write(&target, b"target contents").unwrap();
    set_mode(&target, 0o600);
    let path = tmp.path().join("vault");
    symlink(&target, &path).unwrap();

    let err = FileStore::open(&path).unwrap_err();
    assert!(matches!(err, Error::Symlink { .. }), "{err:?}");
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert!(matches!(
        read_checked(&path, &ReadOptions::new()),
        Err(Error::Symlink { .. })
    ));

    // A link planted after open is refused by load and save alike.
    fs::remove_file(&path).unwrap();
    let store = FileStore::open(&path).unwrap();
    symlink(&target, &path).unwrap();
    assert!(matches!(store.load(), Err(Error::Symlink { .. })));
    assert!(matches!(store.save(b"new"), Err(Error::Symlink { .. })));
    assert_eq!(fs::read(&target).unwrap(), b"target contents");
    assert_eq!(mode(&target), 0o600);
    assert!(
        fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );

    // Logout removes the link itself, never its target.
    store.delete().unwrap();
    assert!(fs::symlink_metadata(&path).is_err());
    assert_eq!(fs::read(&target).unwrap(), b"target contents");
}

#[test]
fn dangling_symlink_is_refused_not_created_through() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("would-be-created");
    let path = tmp.path().join("vault");
    symlink(&target, &path).unwrap();
    assert!(matches!(
        read_checked(&path, &ReadOptions::new()),
        Err(Error::Symlink { .. })
    ));
    assert!(!target.exists());
}

#[test]
fn file_owned_by_another_user_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (store, path) = store_in(&tmp);
    store.save(b"sealed").unwrap();
    let me = rustix::process::geteuid().as_raw();
    let other = if me == 4242 { 4243 } else { 4242 };
    if let Err(e) = std::os::unix::fs::chown(&path, Some(other), None) {
        // Only root may give a file away; the check is then unreachable from this process.
        eprintln!("SKIPPED wrong-owner check: cannot chown as uid {me}: {e}");
        return;
    }
    let err = store.load().unwrap_err();
    match &err {
        Error::WrongOwner {
            owner, expected, ..
        } => {
            assert_eq!((*owner, *expected), (other, me));
        }
        e => panic!("{e:?}"),
    }
    assert!(err.to_string().contains("chown"), "{err}");
    // An import may waive the owner check explicitly.
    let bytes = read_checked(&path, &ReadOptions::new().require_owner(false)).unwrap();
    assert_eq!(bytes, b"sealed");
}

#[test]
fn group_or_other_writable_directory_is_refused() {
    for bad in [0o770, 0o707, 0o777, 0o1777] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("state");
        let path = dir.join("vault");
        let store = FileStore::open(&path).unwrap();
        store.save(b"sealed").unwrap();
        set_mode(&dir, bad);
        let err = FileStore::open(&path).unwrap_err();
        match &err {
            Error::DirectoryInsecure { mode, .. } => assert_eq!(*mode, bad),
            e => panic!("{bad:o}: {e:?}"),
        }
        let msg = err.to_string();
        if bad & 0o1000 == 0 {
            assert!(msg.contains("chmod go-w"), "{msg}");
        } else {
            // A shared sticky directory (like /tmp) is explained; its mode is not to be touched.
            assert!(!msg.contains("chmod"), "{msg}");
            assert!(
                msg.contains("sticky") && msg.contains("private directory"),
                "{msg}"
            );
        }
        // An already open store re-checks on every operation.
        assert!(matches!(store.load(), Err(Error::DirectoryInsecure { .. })));
        assert!(matches!(
            store.save(b"x"),
            Err(Error::DirectoryInsecure { .. })
        ));
        assert_eq!(fs::read(&path).unwrap(), b"sealed");
    }
    // Readable by others but not writable is fine.
    let tmp = tempfile::tempdir().unwrap();
    set_mode(tmp.path(), 0o755);
    let store = FileStore::open(tmp.path().join("vault")).unwrap();
    store.save(b"ok").unwrap();
}

#[test]
fn directory_owned_by_another_user_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("state");
    fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o700);
    if let Err(e) = std::os::unix::fs::chown(&dir, Some(4242), None) {
        eprintln!("SKIPPED directory-owner check: cannot chown: {e}");
        return;
    }
    let err = FileStore::open(dir.join("vault")).unwrap_err();
    assert!(
        matches!(err, Error::DirectoryWrongOwner { owner: 4242, .. }),
        "{err:?}"
    );
}
