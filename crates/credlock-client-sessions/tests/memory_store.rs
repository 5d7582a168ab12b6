//! The `SessionStore` contract, as a suite any store can be run through; here the in-memory
//! store. The PostgreSQL store runs the same checks (in `credlock-store-postgres`).

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use credlock_client_sessions::MemorySessionStore;
use credlock_client_sessions::conformance::{conformance, record, token};

#[test]
fn the_memory_store_keeps_the_contract() {
    conformance(&MemorySessionStore::new());
}

#[test]
fn a_shared_handle_keeps_the_contract_too() {
    // `Arc<S>` is a store in its own right (an app keeps one handle, the vault another).
    conformance(&std::sync::Arc::new(MemorySessionStore::new()));
}

#[test]
fn debug_shows_how_many_sessions_and_no_digest() {
    let store = MemorySessionStore::new();
    assert_eq!(format!("{store:?}"), "MemorySessionStore { sessions: 0 }");
    let s = token(1);
    credlock_client_sessions::SessionStore::insert(&store, record(1, &s), &s).unwrap();
    assert_eq!(format!("{store:?}"), "MemorySessionStore { sessions: 1 }");
}

#[test]
fn expiry_is_by_age_or_idle_time() {
    let s = token(1);
    let mut r = record(1, &s);
    assert!(!r.expired_at(9_999));
    assert!(r.expired_at(10_000));
    r.expires_ms = None;
    r.idle_timeout_ms = Some(500);
    assert!(!r.expired_at(1_499));
    assert!(r.expired_at(1_500));
    assert!(!format!("{r:?}").contains(&format!("{:?}", s.digest().as_bytes())));
}
