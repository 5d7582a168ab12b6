//! The client-session contract's conformance suite on a real PostgreSQL server (feature
//! `sessions`), and one user's store seeing only that user's rows.

#![allow(clippy::unwrap_used)]
#![cfg(all(feature = "test-server", feature = "sessions"))]

use credlock_client_sessions::SessionStore as _;
use credlock_client_sessions::conformance::{conformance, id, record, token};
use credlock_store::StoreKey;
use credlock_store_postgres::testing::TestServer;
use credlock_store_postgres::{PostgresSessions, PostgresStoreSet};

fn key(name: &str) -> StoreKey {
    StoreKey::new(name).unwrap()
}

#[test]
fn the_postgres_session_store_keeps_the_contract() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let set = PostgresStoreSet::builder(server.database()).open().unwrap();
    let sessions = PostgresSessions::new(set);
    conformance(&sessions.user(&key("alice")));

    // One user's store sees and removes only that user's sessions.
    let (alice, bob) = (sessions.user(&key("alice")), sessions.user(&key("bob")));
    let t = token(7);
    alice.insert(record(7, &t), &t).unwrap();
    assert!(bob.find(&t.digest(), &t).unwrap().is_none());
    assert!(bob.list().unwrap().is_empty());
    assert!(!bob.remove(&id(7)).unwrap());
    assert_eq!(bob.remove_all().unwrap(), 0);
    assert!(alice.find(&t.digest(), &t).unwrap().is_some());
}

#[test]
fn debug_names_the_user_and_nothing_of_the_database() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let set = PostgresStoreSet::builder(server.database()).open().unwrap();
    let store = PostgresSessions::new(set).user(&key("alice"));
    let shown = format!("{store:?}");
    assert!(
        shown.starts_with("PostgresSessionStore { key: \"alice\""),
        "{shown}"
    );
    assert!(!shown.contains("password"), "{shown}");
}
