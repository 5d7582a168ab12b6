//! The blocking PostgreSQL store called from async code: every method of the store contract
//! (the conformance suite), the session store's, opening a set and dropping it, from inside
//! a current-thread runtime, a multi-thread runtime's `block_on` and a task on its workers.
//! The `postgres` client's own `block_on` panics on such threads ("Cannot start a runtime
//! from within a runtime"), also in its `Drop`; the store must not.

#![allow(clippy::unwrap_used)]
#![cfg(all(feature = "test-server", feature = "sessions"))]

use credlock_client_sessions::conformance::conformance as session_conformance;
use std::sync::mpsc;
use std::time::Duration;

use credlock_store::conformance::{Tamper, run_all};
use credlock_store::{Notice, StoreEvent, StoreKey, StoreSet};
use credlock_store_postgres::postgres::{Config, NoTls};
use credlock_store_postgres::testing::TestServer;
use credlock_store_postgres::{PostgresSessions, PostgresStoreSet};

struct Sql(Config);

impl Tamper for Sql {
    fn corrupt_record(&self, key: &StoreKey) {
        let config = self.0.clone();
        let key = key.as_str().to_owned();
        // The test's own client, off the runtime like the store's.
        std::thread::spawn(move || {
            let mut c = config.connect(NoTls).unwrap();
            c.execute(
                "UPDATE credlock_records SET record = ''::bytea WHERE key = $1",
                &[&key],
            )
            .unwrap();
        })
        .join()
        .unwrap();
    }

    fn corrupt_lockout(&self, key: &StoreKey) -> bool {
        let config = self.0.clone();
        let key = key.as_str().to_owned();
        std::thread::spawn(move || {
            let mut c = config.connect(NoTls).unwrap();
            c.execute(
                "UPDATE credlock_lockouts SET state = 'failures lots' WHERE key = $1",
                &[&key],
            )
            .unwrap();
        })
        .join()
        .unwrap();
        true
    }
}

/// Everything the store offers, called where the caller is inside a runtime: a set opened,
/// the whole contract, the session store's, and the set dropped.
fn everything(config: &Config, user: &str) {
    let set = PostgresStoreSet::builder(config.clone()).open().unwrap();
    run_all(&set, &Sql(config.clone()));
    session_conformance(&PostgresSessions::new(set.clone()).user(&StoreKey::new(user).unwrap()));
    // A watch started, an announcement from another set heard, both dropped.
    let (tx, heard) = mpsc::channel();
    let watch = set
        .watch(Box::new(move |n| {
            let _ = tx.send(n);
        }))
        .unwrap();
    let other = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let key = StoreKey::new(user).unwrap();
    other
        .store(&key)
        .unwrap()
        .announce(StoreEvent::Locked)
        .unwrap();
    assert_eq!(
        heard.recv_timeout(Duration::from_secs(10)).unwrap(),
        Notice::Announced {
            key,
            event: StoreEvent::Locked
        }
    );
    drop((watch, other));
    drop(set);
}

#[test]
fn every_method_returns_inside_a_current_thread_runtime() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { everything(&config, "current-thread") });
}

#[test]
fn every_method_returns_inside_a_multi_thread_runtime_and_on_its_workers() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async { everything(&config, "block-on") });
    let on_worker = config.clone();
    rt.block_on(async move {
        tokio::spawn(async move { everything(&on_worker, "worker") })
            .await
            .unwrap();
    });
    // On the runtime's blocking pool too (where apps are told to call blocking work).
    let blocking = config.clone();
    rt.block_on(async move {
        tokio::task::spawn_blocking(move || everything(&blocking, "blocking"))
            .await
            .unwrap();
    });
}
