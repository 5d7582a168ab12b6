//! Bad input: each case gets its own clear error; nothing panics, nothing is lost.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    clippy::cast_possible_truncation,
    reason = "test code: helpers outside #[test] functions, and test data generators"
)]

use std::ffi::OsStr;
use std::fs::{self, Permissions};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use credlock_store::{
    DEFAULT_MAX_LEN, Error, FileStore, InvalidPathReason, ReadOptions, Store, read_checked,
};

fn private_file(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap();
    fs::set_permissions(path, Permissions::from_mode(0o600)).unwrap();
}

fn strict() -> ReadOptions {
    ReadOptions::new()
}

#[test]
fn nonexistent_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("missing/vault");
    let err = read_checked(&path, &strict()).unwrap_err();
    assert!(
        matches!(&err, Error::DirectoryNotFound { path: p } if p == &tmp.path().join("missing")),
        "{err:?}"
    );
    assert!(err.to_string().contains("does not exist"), "{err}");

    let err = FileStore::builder(&path)
        .create_dir(false)
        .open()
        .unwrap_err();
    assert!(matches!(err, Error::DirectoryNotFound { .. }), "{err:?}");
    assert!(
        !tmp.path().join("missing").exists(),
        "create_dir(false) created it"
    );

    // A store whose directory disappears after open reports it on each operation.
    let store = FileStore::open(&path).unwrap();
    fs::remove_dir(tmp.path().join("missing")).unwrap();
    assert!(matches!(store.load(), Err(Error::DirectoryNotFound { .. })));
    assert!(matches!(
        store.save(b"x"),
        Err(Error::DirectoryNotFound { .. })
    ));
    assert!(matches!(store.lock(), Err(Error::DirectoryNotFound { .. })));
}

#[test]
fn missing_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault");
    let err = read_checked(&path, &strict()).unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let store = FileStore::open(&path).unwrap();
    assert_eq!(
        store.load().unwrap(),
        None,
        "no file means no credentials, not an error"
    );
    store.delete().unwrap();
    store.delete().unwrap();
    assert!(!store.describe().present);
}

#[test]
fn directory_component_that_is_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("plain");
    private_file(&file, b"x");
    let path = file.join("vault");
    let err = FileStore::open(&path).unwrap_err();
    assert!(matches!(err, Error::NotADirectory { .. }), "{err:?}");
    let err = read_checked(&path, &strict()).unwrap_err();
    assert!(matches!(err, Error::NotADirectory { .. }), "{err:?}");
}

#[test]
fn path_that_is_a_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault");
    fs::create_dir(&path).unwrap();
    let err = FileStore::open(&path).unwrap_err();
    assert!(matches!(err, Error::IsADirectory { .. }), "{err:?}");
    assert!(err.to_string().contains("is a directory"), "{err}");
    assert!(matches!(
        read_checked(&path, &strict()),
        Err(Error::IsADirectory { .. })
    ));

    // Planted after open: every operation refuses, and the directory survives.
    fs::remove_dir(&path).unwrap();
    let store = FileStore::open(&path).unwrap();
    fs::create_dir(&path).unwrap();
    fs::write(path.join("keep"), b"keep").unwrap();
    assert!(matches!(store.load(), Err(Error::IsADirectory { .. })));
    assert!(matches!(store.save(b"x"), Err(Error::IsADirectory { .. })));
    assert!(matches!(store.delete(), Err(Error::IsADirectory { .. })));
    assert_eq!(fs::read(path.join("keep")).unwrap(), b"keep");
}

#[test]
fn path_with_a_nul_byte() {
    let path = PathBuf::from(OsStr::from_bytes(b"/tmp/vau\0lt"));
    for err in [
        FileStore::open(&path).unwrap_err(),
        read_checked(&path, &strict()).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::InvalidPath {
                    reason: InvalidPathReason::NulByte,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("NUL"), "{err}");
    }
}

#[test]
fn path_without_a_file_name() {
    for p in ["", "/", "some/dir/", "..", "a/."] {
        let err = FileStore::open(p).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidPath {
                    reason: InvalidPathReason::NoFileName,
                    ..
                }
            ),
            "{p:?}: {err:?}"
        );
    }
    assert!(matches!(
        read_checked(Path::new(""), &strict()),
        Err(Error::InvalidPath { .. })
    ));
}

#[test]
fn empty_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault");
    private_file(&path, b"");
    let store = FileStore::open(&path).unwrap();
    let err = store.load().unwrap_err();
    assert!(matches!(err, Error::Empty { .. }), "{err:?}");
    assert!(err.to_string().contains("empty"), "{err}");
    assert!(matches!(
        read_checked(&path, &strict()),
        Err(Error::Empty { .. })
    ));
    assert!(path.exists(), "refusing must not remove it");
    // Saving nothing is refused too: an empty file would be unreadable.
    assert!(matches!(store.save(b""), Err(Error::EmptyData { .. })));
}

#[test]
fn file_over_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault");
    private_file(&path, &vec![7u8; DEFAULT_MAX_LEN + 1]);
    let store = FileStore::open(&path).unwrap();
    let err = store.load().unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { len, max, .. } if len == DEFAULT_MAX_LEN as u64 + 1 && max == DEFAULT_MAX_LEN as u64),
        "{err:?}"
    );
    assert!(err.to_string().contains("over the limit"), "{err}");

    // Exactly at the cap is fine; a custom cap applies to load and save.
    private_file(&path, &vec![7u8; DEFAULT_MAX_LEN]);
    assert_eq!(store.load().unwrap().unwrap().len(), DEFAULT_MAX_LEN);
    let small = FileStore::builder(&path).max_len(16).open().unwrap();
    assert!(matches!(small.load(), Err(Error::TooLarge { .. })));
    let err = small.save(&[1u8; 17]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::DataTooLarge {
                len: 17,
                max: 16,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        fs::read(&path).unwrap().len(),
        DEFAULT_MAX_LEN,
        "nothing was lost"
    );
    assert!(matches!(
        read_checked(&path, &strict().max_len(16)),
        Err(Error::TooLarge { .. })
    ));
}

#[test]
fn sparse_huge_file_is_refused_without_reading_it() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault");
    let f = fs::File::create(&path).unwrap();
    f.set_len(8 << 30).unwrap(); // 8 GiB, sparse
    fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
    let err = read_checked(&path, &strict()).unwrap_err();
    assert!(
        matches!(err, Error::TooLarge { len, .. } if len == 8 << 30),
        "{err:?}"
    );
}

#[test]
fn unreadable_file() {
    // As root, permission bits cannot make a file unreadable; /proc/self/mem is a regular,
    // private file owned by this process's user whose first page cannot be read (EIO).
    let mem = Path::new("/proc/self/mem");
    if !mem.exists() {
        eprintln!("SKIPPED unreadable-file check: no /proc/self/mem");
        return;
    }
    let err = read_checked(mem, &strict()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Io {
                op: credlock_store::Operation::Read,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("reading"), "{err}");
}

#[test]
fn special_files_are_refused_without_opening() {
    let tmp = tempfile::tempdir().unwrap();
    // A FIFO would block a plain open for reading; it must be refused, not hang.
    let fifo = tmp.path().join("fifo");
    mkfifo(&fifo);
    let err = read_checked(&fifo, &strict()).unwrap_err();
    assert!(
        matches!(err, Error::NotRegularFile { kind: "FIFO", .. }),
        "{err:?}"
    );
    let err = FileStore::open(&fifo).unwrap_err();
    assert!(matches!(err, Error::NotRegularFile { .. }), "{err:?}");
    let sock = tmp.path().join("sock");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let err = read_checked(&sock, &strict()).unwrap_err();
    assert!(
        matches!(err, Error::NotRegularFile { kind: "socket", .. }),
        "{err:?}"
    );
    let err = read_checked(Path::new("/dev/null"), &strict()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotRegularFile {
                kind: "character device",
                ..
            }
        ),
        "{err:?}"
    );
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo(1) (coreutils) is needed for the FIFO cases");
    assert!(status.success(), "mkfifo {} failed", path.display());
}

#[test]
fn a_fifo_planted_at_the_lock_path_or_the_turnstile_is_refused_not_waited_on() {
    for name in [".vault.lock", ".vault.turnstile"] {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::open(tmp.path().join("vault")).unwrap();
        store.save(b"sealed").unwrap();
        mkfifo(&tmp.path().join(name));
        // On another thread, so that a regression hangs only that thread and fails the test.
        let (tx, rx) = std::sync::mpsc::channel();
        let s = store.clone();
        std::thread::spawn(move || tx.send(s.lock().map(drop)).unwrap());
        let result = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("taking the lock hung on a FIFO");
        let err = result.unwrap_err();
        assert!(
            matches!(err, Error::NotRegularFile { kind: "FIFO", .. }),
            "{name}: {err:?}"
        );
        assert_eq!(err.path(), tmp.path().join(name));
        assert_eq!(store.load().unwrap().as_deref(), Some(&b"sealed"[..]));
    }
}

#[test]
fn reserved_names_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    for name in [
        ".vault.lock",
        ".vault.turnstile",
        ".vault.tmp-0123456789abcdef",
    ] {
        let err = FileStore::open(tmp.path().join(name)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidPath {
                    reason: InvalidPathReason::ReservedName,
                    ..
                }
            ),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn errors_name_the_path_and_never_the_contents() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault");
    private_file(&path, b"SECRET-CONTENTS");
    fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
    let err = read_checked(&path, &strict()).unwrap_err();
    assert_eq!(err.path(), path);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}
