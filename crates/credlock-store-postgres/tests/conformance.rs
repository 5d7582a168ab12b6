//! The store contract's conformance suite on a real PostgreSQL server, and the schema's
//! versioning.

#![allow(clippy::unwrap_used)]
#![cfg(feature = "test-server")]

use credlock_store::conformance::{Tamper, run_all};
use credlock_store::{Error, StoreKey, StoreSet, WriteOutcome};
use credlock_store_postgres::PostgresStoreSet;
use credlock_store_postgres::postgres::{Config, NoTls};
use credlock_store_postgres::testing::TestServer;

struct Sql(Config);

impl Tamper for Sql {
    fn corrupt_record(&self, key: &StoreKey) {
        let mut c = self.0.connect(NoTls).unwrap();
        c.execute(
            "UPDATE credlock_records SET record = ''::bytea WHERE key = $1",
            &[&key.as_str()],
        )
        .unwrap();
    }

    fn corrupt_lockout(&self, key: &StoreKey) -> bool {
        let mut c = self.0.connect(NoTls).unwrap();
        c.execute(
            "UPDATE credlock_lockouts SET state = 'failures lots' WHERE key = $1",
            &[&key.as_str()],
        )
        .unwrap();
        true
    }
}

#[test]
fn the_postgres_store_conforms() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    let set = PostgresStoreSet::builder(config.clone()).open().unwrap();
    run_all(&set, &Sql(config));
}

#[test]
fn two_replicas_share_rows_and_the_schema_is_made_once() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    // Replicas starting at once: the migration runs once, under its advisory lock.
    let sets: Vec<PostgresStoreSet> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = config.clone();
                s.spawn(move || PostgresStoreSet::builder(c).open().unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let key = StoreKey::new("shared").unwrap();
    let v = sets[0]
        .store(&key)
        .unwrap()
        .create(b"a")
        .unwrap()
        .written()
        .unwrap();
    assert!(
        sets[1]
            .store(&key)
            .unwrap()
            .replace_if(v, b"b")
            .unwrap()
            .written()
            .is_some()
    );
    assert_eq!(
        sets[2].store(&key).unwrap().replace_if(v, b"c").unwrap(),
        WriteOutcome::Conflict
    );
    assert_eq!(
        sets[3].store(&key).unwrap().load().unwrap().as_deref(),
        Some(&b"b"[..])
    );
    // The cross-process lock excludes the other replicas, and is freed on drop.
    let guard = sets[0].store(&key).unwrap().lock().unwrap();
    drop(guard);
    sets[1].store(&key).unwrap().lock().unwrap().release();
    let mut c = config.connect(NoTls).unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM credlock_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[test]
fn a_schema_from_a_newer_version_is_refused_and_left_alone() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    drop(PostgresStoreSet::builder(config.clone()).open().unwrap());
    let mut c = config.connect(NoTls).unwrap();
    c.execute("UPDATE credlock_schema SET version = 99", &[])
        .unwrap();
    let err = PostgresStoreSet::builder(config.clone())
        .open()
        .unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err}");
    assert!(!err.to_string().contains("password"));
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("version 99"), "{source}");
    let v: i32 = c
        .query_one("SELECT version FROM credlock_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, 99);
}

#[test]
fn a_schema_at_version_1_is_migrated_forward_keeping_its_records() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    let set = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let key = StoreKey::new("alice").unwrap();
    set.store(&key).unwrap().save(b"sealed").unwrap();
    drop(set);
    // Back to what version 1 made: no session table, no announcements.
    let mut c = config.connect(NoTls).unwrap();
    c.batch_execute(
        "DROP TABLE credlock_sessions; DROP TABLE credlock_events; \
         UPDATE credlock_schema SET version = 1",
    )
    .unwrap();
    let set = PostgresStoreSet::builder(config.clone()).open().unwrap();
    assert_eq!(
        set.store(&key).unwrap().load().unwrap().as_deref(),
        Some(&b"sealed"[..])
    );
    let v: i32 = c
        .query_one("SELECT version FROM credlock_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, 3);
    for table in ["credlock_sessions", "credlock_events"] {
        let rows: i64 = c
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .unwrap()
            .get(0);
        assert_eq!(rows, 0, "{table}");
    }
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    let mut config = Config::new();
    config
        .host_path("/nonexistent-credlock-socket-dir")
        .user("nobody")
        .password("hunter2-secret")
        .dbname("x");
    let err = PostgresStoreSet::builder(config).open().unwrap_err();
    // No server there: worth trying again later, not a fault of the operation.
    assert!(
        matches!(
            err,
            Error::Unavailable {
                op: "connecting",
                ..
            }
        ),
        "{err}"
    );
    let text = format!("{err} {:?}", err);
    assert!(!text.contains("hunter2"), "the password leaked: {text}");
}
