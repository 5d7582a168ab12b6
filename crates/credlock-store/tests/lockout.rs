//! The lockout state in the store contract: kept beside the sealed bytes, 0600, atomic,
//! strictly parsed, shared by every store value on the same path, removed with the record.
#![cfg(unix)]
#![allow(clippy::unwrap_used, reason = "test code")]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use credlock_store::{Error, FileStore, LockoutRecord, MemoryStore, Operation, Store};

fn record() -> LockoutRecord {
    LockoutRecord::new(5, Some((1_764_157_361_000, Duration::from_secs(30))))
}

#[test]
fn file_store_keeps_the_lockout_beside_the_record_in_0600() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault.json");
    let store = FileStore::open(&path).unwrap();
    assert_eq!(store.load_lockout().unwrap(), LockoutRecord::default());
    store.save(b"sealed").unwrap();
    store.save_lockout(&record()).unwrap();

    let file = tmp.path().join(".vault.json.lockout");
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        fs::read(&path).unwrap(),
        b"sealed",
        "the record is not touched"
    );
    // Another store value (another process, a restart) sees the same state.
    let again = FileStore::open(&path).unwrap();
    assert_eq!(again.load_lockout().unwrap(), record());

    store.delete().unwrap();
    assert!(!file.exists(), "the lockout state goes with the record");
    assert_eq!(again.load_lockout().unwrap(), LockoutRecord::default());
}

#[test]
fn a_tampered_or_unsafe_lockout_state_is_an_error_not_a_reset() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("vault.json");
    let store = FileStore::open(&path).unwrap();
    store.save_lockout(&record()).unwrap();
    let file = tmp.path().join(".vault.json.lockout");

    fs::write(&file, b"credlock-lockout 1\nfailures 0\n").unwrap();
    assert!(matches!(
        store.load_lockout(),
        Err(Error::LockoutCorrupt { .. })
    ));

    fs::remove_file(&file).unwrap();
    let elsewhere = tmp.path().join("elsewhere");
    fs::write(&elsewhere, record().encode()).unwrap();
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
    assert!(matches!(store.load_lockout(), Err(Error::Symlink { .. })));
    assert!(matches!(
        store.save_lockout(&record()),
        Err(Error::Symlink { .. })
    ));

    fs::remove_file(&file).unwrap();
    store.save_lockout(&record()).unwrap();
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(
        store.load_lockout(),
        Err(Error::InsecureMode { .. })
    ));
}

#[test]
fn a_directory_at_the_lockout_path_is_an_io_error_not_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::open(tmp.path().join("vault.json")).unwrap();
    fs::create_dir(tmp.path().join(".vault.json.lockout")).unwrap();
    let err = store.save_lockout(&record()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Io {
                op: Operation::Open,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_lockout_file_grown_longer_is_cut_back_by_the_next_save() {
    use std::io::Write as _;
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::open(tmp.path().join("vault.json")).unwrap();
    store.save_lockout(&LockoutRecord::new(1, None)).unwrap();
    let file = tmp.path().join(".vault.json.lockout");
    let len = fs::metadata(&file).unwrap().len();
    fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .unwrap()
        .write_all(b"trailing bytes")
        .unwrap();
    store.save_lockout(&record()).unwrap();
    assert_eq!(fs::metadata(&file).unwrap().len(), len);
    assert_eq!(store.load_lockout().unwrap(), record());
}

#[test]
fn later_writes_overwrite_the_record_in_place() {
    use std::os::unix::fs::MetadataExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::open(tmp.path().join("vault.json")).unwrap();
    store.save_lockout(&LockoutRecord::new(1, None)).unwrap();
    let file = tmp.path().join(".vault.json.lockout");
    let first = fs::metadata(&file).unwrap();
    for n in 2..10 {
        store.save_lockout(&LockoutRecord::new(n, None)).unwrap();
        assert_eq!(store.load_lockout().unwrap().failures(), n);
    }
    store.save_lockout(&record()).unwrap();
    assert_eq!(store.load_lockout().unwrap(), record());
    let last = fs::metadata(&file).unwrap();
    assert_eq!(first.ino(), last.ino(), "one file, overwritten in place");
    assert_eq!(first.len(), last.len(), "a fixed-size record");
    assert_eq!(last.permissions().mode() & 0o7777, 0o600);
}

#[test]
fn a_fifo_at_the_lockout_path_is_refused_not_waited_on() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::open(tmp.path().join("vault.json")).unwrap();
    let fifo = tmp.path().join(".vault.json.lockout");
    let ok = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo(1) is needed")
        .success();
    assert!(ok);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let load = store.load_lockout().map(|_| ());
        let save = store.save_lockout(&record());
        tx.send((load, save)).unwrap();
    });
    let (load, save) = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("the lockout state hung on a FIFO");
    assert!(
        matches!(load, Err(Error::NotRegularFile { .. })),
        "{load:?}"
    );
    assert!(save.is_err(), "{save:?}");
}

#[test]
fn the_lockout_name_is_reserved() {
    let tmp = tempfile::tempdir().unwrap();
    let err = FileStore::open(tmp.path().join(".vault.json.lockout")).unwrap_err();
    assert!(matches!(err, Error::InvalidPath { .. }), "{err:?}");
}

#[test]
fn memory_store_keeps_it_too() {
    let store = MemoryStore::new();
    let other = store.clone();
    store.save(b"sealed").unwrap();
    store.save_lockout(&record()).unwrap();
    assert_eq!(other.load_lockout().unwrap(), record());
    store.delete().unwrap();
    assert_eq!(other.load_lockout().unwrap(), LockoutRecord::default());
}
