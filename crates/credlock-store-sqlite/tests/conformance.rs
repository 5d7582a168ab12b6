//! The store contract's conformance suite, and the file modes, on SQLite.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;

use credlock_store::conformance::{Tamper, run_all};
use credlock_store::{Error, StoreKey, StoreSet};
use credlock_store_sqlite::SqliteStoreSet;
use rusqlite::Connection;

#[derive(Debug)]
struct Sql(std::path::PathBuf);

impl Tamper for Sql {
    fn corrupt_record(&self, key: &StoreKey) {
        let c = Connection::open(&self.0).unwrap();
        c.execute(
            "UPDATE credlock_records SET record = 42 WHERE key = ?1",
            [key.as_str()],
        )
        .unwrap();
    }

    fn corrupt_lockout(&self, key: &StoreKey) -> bool {
        let c = Connection::open(&self.0).unwrap();
        c.execute(
            "UPDATE credlock_lockouts SET state = 'failures lots' WHERE key = ?1",
            [key.as_str()],
        )
        .unwrap();
        true
    }
}

#[test]
fn the_sqlite_store_conforms() {
    let tmp = tempfile::tempdir().unwrap();
    let set = SqliteStoreSet::open(tmp.path().join("db")).unwrap();
    run_all(&set, &Sql(set.path().to_path_buf()));
}

#[test]
fn the_database_is_0600_in_a_0700_directory_made_at_its_last_component_only() {
    let tmp = tempfile::tempdir().unwrap();
    assert!(matches!(
        SqliteStoreSet::open(tmp.path().join("missing/db")),
        Err(Error::DirectoryNotFound { .. })
    ));
    // The widest umask would show a file created wide and narrowed later.
    let set = SqliteStoreSet::open(tmp.path().join("db")).unwrap();
    set.store(&StoreKey::new("a").unwrap())
        .unwrap()
        .save(b"x")
        .unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&tmp.path().join("db")), 0o700);
    for entry in std::fs::read_dir(tmp.path().join("db")).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
    assert!(
        tmp.path().join("db/credlock.sqlite3-wal").exists(),
        "WAL mode"
    );
}

#[test]
fn a_world_readable_database_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let set = SqliteStoreSet::open(tmp.path()).unwrap();
    let path = set.path().to_path_buf();
    drop(set);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(matches!(
        SqliteStoreSet::open(tmp.path()),
        Err(Error::InsecureMode { mode: 0o644, .. })
    ));
}

#[test]
fn a_schema_from_a_newer_version_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let path = SqliteStoreSet::open(tmp.path())
        .unwrap()
        .path()
        .to_path_buf();
    Connection::open(&path)
        .unwrap()
        .execute("UPDATE credlock_schema SET version = 99", [])
        .unwrap();
    let err = SqliteStoreSet::open(tmp.path()).unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err}");
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("version 99"), "{source}");
    let v: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT version FROM credlock_schema", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 99);
}

#[test]
fn two_sets_on_one_file_share_rows_like_two_processes() {
    let tmp = tempfile::tempdir().unwrap();
    let a = SqliteStoreSet::open(tmp.path()).unwrap();
    let b = SqliteStoreSet::open(tmp.path()).unwrap();
    let key = StoreKey::new("shared").unwrap();
    let v = a
        .store(&key)
        .unwrap()
        .create(b"a")
        .unwrap()
        .written()
        .unwrap();
    let sb = b.store(&key).unwrap();
    assert_eq!(sb.read().unwrap().unwrap().version, v);
    assert!(sb.replace_if(v, b"b").unwrap().written().is_some());
    assert_eq!(
        a.store(&key).unwrap().replace_if(v, b"c").unwrap(),
        credlock_store::WriteOutcome::Conflict
    );
    let _guard = a.store(&key).unwrap().lock().unwrap();
}
