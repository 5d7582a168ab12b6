//! Replicas hear each other: two registries on one PostgreSQL database (two replicas, each
//! with connections of its own). A lock, a passphrase change, a logout, a reset or a
//! revocation of every session on one reaches the other, which drops the key and the
//! sessions at once; credentials updated on one are re-read by the other with the key it
//! holds (or, if it cannot, it drops the key); a replica whose listening connection was cut off catches up once it is
//! back. The delay of 50 locks is measured and printed (`--nocapture`).
//!
//! A throwaway server is started (see `credlock_store_postgres::testing`); without
//! PostgreSQL the tests say so, and fail if `CREDLOCK_REQUIRE_PG=1`.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout)]
#![cfg(feature = "postgres")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{OTHER_PASS, PASS, creds, secret, valid};
use credlock::registry::{PostgresStoreSet, StoreSet as _};
use credlock::secrecy::ExposeSecret as _;
use credlock::sessions::{Scope, SessionRequest};
use credlock::{Credentials, Error, Registry, SessionState, UserId, Vault};
use credlock_store::{StoreEvent, StoreKey, WriteOutcome};
use credlock_store_postgres::postgres::{Client, Config, NoTls};
use credlock_store_postgres::testing::{self, TestServer};

/// How long a replica may take to hear before the test fails: generous; the figures are
/// printed apart.
const DEADLINE: Duration = Duration::from_secs(10);

/// One replica: a registry on connections of its own.
fn replica(config: &Config) -> Registry {
    let set = PostgresStoreSet::builder(config.clone()).open().unwrap();
    Registry::builder(set)
        .vault_options(|b| {
            b.insecure_kdf_iterations(common::TEST_ITERATIONS)
                .without_tracing_audit()
        })
        .open()
        .unwrap()
}

fn alice() -> UserId {
    UserId::new("alice@example.com").unwrap()
}

fn bob() -> UserId {
    UserId::new("bob@example.com").unwrap()
}

/// Two replicas on a fresh database (A's on `a_config`, if given); alice's vault stored and
/// unlocked on A, and unlocked on B.
struct Pair {
    _server: Arc<TestServer>,
    config: Config,
    a: Registry,
    b: Registry,
    va: Arc<Vault>,
    vb: Arc<Vault>,
}

fn pair_with(server: Arc<TestServer>, config: &Config, a_config: &Config) -> Pair {
    let (a, b) = (replica(a_config), replica(config));
    let va = a.vault(&alice()).unwrap();
    va.store(creds(), valid(PASS)).unwrap();
    let vb = b.vault(&alice()).unwrap();
    vb.unlock(&secret(PASS)).unwrap();
    assert_eq!(va.status(), SessionState::Unlocked);
    Pair {
        _server: server,
        config: config.clone(),
        a,
        b,
        va,
        vb,
    }
}

fn pair() -> Option<Pair> {
    let server = TestServer::shared()?;
    let config = server.database();
    Some(pair_with(server, &config, &config))
}

/// Waits until `f` holds, up to [`DEADLINE`]; how long it took.
fn until(what: &str, f: impl FnMut() -> bool) -> Duration {
    testing::until(what, DEADLINE, Duration::from_micros(100), f)
}

fn mint(v: &Vault, request: SessionRequest) -> String {
    v.mint_session(request)
        .unwrap()
        .token
        .expose_secret()
        .to_owned()
}

/// Makes sure `registry` has handled everything announced before this call: a lock of bob's
/// vault, announced from `other` after it, reaches it last (notifications keep their order).
fn barrier(registry: &Registry, other: &Registry) {
    let here = registry.vault(&bob()).unwrap();
    let there = other.vault(&bob()).unwrap();
    if there.status() == SessionState::NoCredentials {
        there.store(creds(), valid(PASS)).unwrap();
    }
    until("bob's vault to show up", || {
        here.status() != SessionState::NoCredentials
    });
    if here.status() == SessionState::Locked {
        here.unlock(&secret(PASS)).unwrap();
    }
    there.lock();
    until("the barrier", || here.status() == SessionState::Locked);
}

#[test]
fn a_lock_on_one_replica_drops_the_key_and_the_sessions_on_the_other() {
    let Some(p) = pair() else { return };
    let token = mint(&p.va, SessionRequest::api_token("bot", Scope::Totp));
    assert!(p.va.totp_for(&token).is_ok());

    p.vb.lock();
    let heard = until("A to lock", || p.va.status() == SessionState::Locked);
    println!("lock heard after {heard:?}");
    assert!(matches!(p.va.credentials(), Err(Error::Locked)));
    assert!(matches!(p.va.totp(), Err(Error::Locked)));
    assert!(matches!(p.va.totp_for(&token), Err(Error::InvalidToken)));
    assert!(p.va.sessions().unwrap().is_empty());
    // Unlocking there again is an unlock, not a conflict with a key left behind.
    p.va.unlock(&secret(PASS)).unwrap();
    assert_eq!(p.va.credentials().unwrap().email(), "alice@example.com");
    // And B, which announced, stayed as it was: locked by its own hand, not twice.
    assert_eq!(p.vb.status(), SessionState::Locked);
}

#[test]
fn a_lock_on_a_replica_that_was_not_unlocked_still_locks_the_others() {
    let Some(p) = pair() else { return };
    p.vb.lock();
    until("A to lock", || p.va.status() == SessionState::Locked);
    p.va.unlock(&secret(PASS)).unwrap();
    // B is locked already; the user locks again there.
    p.vb.lock();
    until("A to lock again", || p.va.status() == SessionState::Locked);
}

#[test]
fn a_passphrase_change_on_one_replica_locks_the_other_and_ends_its_sessions() {
    let Some(p) = pair() else { return };
    let token = mint(&p.va, SessionRequest::api_token("bot", Scope::Totp));
    let browser = mint(&p.va, SessionRequest::client("browser"));
    assert!(p.va.totp_for(&token).is_ok());

    p.vb.change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    let heard = until("A to lock", || p.va.status() == SessionState::Locked);
    println!("passphrase change heard after {heard:?}");
    // No more codes for A's sessions, nor anything else through them.
    assert!(matches!(p.va.totp_for(&token), Err(Error::InvalidToken)));
    assert!(matches!(
        p.va.credentials_for(&browser),
        Err(Error::InvalidToken)
    ));
    assert!(matches!(
        p.va.unlock(&secret(PASS)),
        Err(Error::WrongPassphrase)
    ));
    p.va.unlock(&secret(OTHER_PASS)).unwrap();
    // The old tokens stay refused after a new unlock.
    assert!(matches!(p.va.totp_for(&token), Err(Error::InvalidToken)));

    // B changed it while unlocked: it keeps the new key, and did not hear itself.
    barrier(&p.b, &p.a);
    assert_eq!(p.vb.status(), SessionState::Unlocked);
    assert_eq!(p.vb.credentials().unwrap().email(), "alice@example.com");
}

#[test]
fn a_logout_or_a_reset_on_one_replica_empties_the_other() {
    let Some(p) = pair() else { return };
    p.vb.logout().unwrap();
    until("A to be empty", || {
        p.va.status() == SessionState::NoCredentials
    });
    assert!(matches!(p.va.credentials(), Err(Error::NoCredentials)));

    // Stored again on A: B, empty, learns there is a record (locked there).
    p.va.store(creds(), valid(PASS)).unwrap();
    until("B to see the record", || {
        p.vb.status() == SessionState::Locked
    });
    p.vb.unlock(&secret(PASS)).unwrap();

    // Forgot the passphrase, on A: B's key goes with the record.
    p.va.lock();
    p.va.reset().unwrap();
    until("B to be empty", || {
        p.vb.status() == SessionState::NoCredentials
    });
    assert!(matches!(p.vb.totp(), Err(Error::NoCredentials)));
}

#[test]
fn credentials_updated_on_one_replica_are_served_by_the_other_with_the_key_it_holds() {
    let Some(p) = pair() else { return };
    let on_a = mint(&p.va, SessionRequest::client("browser on A"));
    assert_eq!(
        p.va.credentials().unwrap().password().expose_secret(),
        "monarch-pw-123"
    );

    let newer = Credentials::new("alice@example.com", secret("correct horse"));
    p.vb.update_credentials(newer).unwrap();
    let heard = until("A to serve the new password", || {
        p.va.credentials()
            .is_ok_and(|c| c.password().expose_secret() == "correct horse")
    });
    println!("update heard after {heard:?}");
    // Same key, new record: A stays unlocked and its sessions live on.
    assert_eq!(p.va.status(), SessionState::Unlocked);
    assert_eq!(
        p.va.credentials_for(&on_a)
            .unwrap()
            .password()
            .expose_secret(),
        "correct horse"
    );
    // A's record is the stored one: an update there keeps B's change (no stale overwrite).
    let again = p.va.credentials().unwrap();
    p.va.update_credentials(again).unwrap();
    assert_eq!(
        p.vb.credentials().unwrap().password().expose_secret(),
        "correct horse"
    );
}

#[test]
fn a_replica_that_cannot_re_read_updated_credentials_drops_the_key() {
    let Some(p) = pair() else { return };
    let on_a = mint(&p.va, SessionRequest::client("browser on A"));
    // Someone replaces alice's record with bytes that are no vault, and says it was updated.
    let set = PostgresStoreSet::builder(p.config.clone()).open().unwrap();
    let store = set
        .store(&StoreKey::new(alice().as_str()).unwrap())
        .unwrap();
    let version = store.read().unwrap().unwrap().version;
    let written = store.replace_if(version, b"not a vault").unwrap();
    assert!(matches!(written, WriteOutcome::Written(_)));
    store.announce(StoreEvent::CredentialsUpdated).unwrap();
    until("A to drop the key", || {
        p.va.status() == SessionState::Locked
    });
    assert!(matches!(p.va.credentials(), Err(Error::Locked)));
    assert!(matches!(
        p.va.credentials_for(&on_a),
        Err(Error::InvalidToken)
    ));
}

#[test]
fn revoking_every_session_on_one_replica_revokes_the_others_sessions() {
    let Some(p) = pair() else { return };
    let on_a = mint(&p.va, SessionRequest::client("browser on A"));
    let on_b = mint(&p.vb, SessionRequest::client("browser on B"));

    assert_eq!(p.vb.revoke_all_sessions().unwrap(), 1);
    until("A's session to be refused", || {
        matches!(
            p.va.validate_session(&on_a, Scope::Totp),
            Err(Error::InvalidToken)
        )
    });
    assert!(p.vb.validate_session(&on_b, Scope::Totp).is_err());
    // "Sign out everywhere" rotates the data key where it was asked (B stays unlocked, with
    // the new key); A's key is the old one, which opens nothing written from now on, so A
    // drops it once it hears of the rotation.
    assert_eq!(p.vb.status(), SessionState::Unlocked);
    until("A to drop the key the rotation retired", || {
        p.va.status() == SessionState::Locked
    });
    assert!(matches!(p.va.credentials(), Err(Error::Locked)));
}

/// The `percent`-th percentile of sorted `d` (nearest rank).
fn percentile(d: &[Duration], percent: usize) -> Duration {
    let rank = (d.len() * percent).div_ceil(100).max(1);
    d[rank.min(d.len()) - 1]
}

#[test]
fn fifty_locks_are_heard_and_their_delay_is_measured() {
    let Some(p) = pair() else { return };
    let mut delays = Vec::new();
    for _ in 0..50 {
        if p.va.status() != SessionState::Unlocked {
            p.va.unlock(&secret(PASS)).unwrap();
        }
        // From the user's lock on B (its announcement included) to A without the key.
        let start = Instant::now();
        p.vb.lock();
        until("A to lock", || p.va.status() == SessionState::Locked);
        delays.push(start.elapsed());
    }
    delays.sort();
    println!(
        "lock on B to A locked, 50 times: p50 {:?}, p99 {:?}, max {:?}",
        percentile(&delays, 50),
        percentile(&delays, 99),
        delays[delays.len() - 1]
    );
}

fn admin(config: &Config) -> Client {
    config.connect(NoTls).unwrap()
}

/// How many connections named `name` the server has.
fn connections(config: &Config, name: &str) -> i64 {
    admin(config)
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .unwrap()
        .get(0)
}

#[test]
fn a_replica_cut_off_from_its_listener_drops_the_key_once_it_hears_again() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    // A connects as a role of its own, which the test can keep from connecting again.
    let role = format!("replica_deaf_{}", std::process::id());
    admin(&config)
        .batch_execute(&format!("CREATE ROLE {role} LOGIN SUPERUSER"))
        .unwrap();
    let mut a_config = config.clone();
    a_config.user(&role).application_name(&role);
    let p = pair_with(server, &config, &a_config);
    let listener = format!("{role} listener");
    assert_eq!(connections(&config, &listener), 1);

    // A's listening connection ends, and A cannot make a new one.
    let mut admin = admin(&config);
    admin
        .batch_execute(&format!("ALTER ROLE {role} NOLOGIN"))
        .unwrap();
    admin
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&listener],
        )
        .unwrap();
    until("A's listener to be gone", || {
        connections(&config, &listener) == 0
    });

    // The lock on B reaches no listening connection of A's.
    p.vb.lock();
    assert_eq!(p.va.status(), SessionState::Unlocked);
    // A still works meanwhile (its pooled connections are its own).
    assert_eq!(p.va.credentials().unwrap().email(), "alice@example.com");

    // Let back in, A reads what it missed and drops the key.
    admin
        .batch_execute(&format!("ALTER ROLE {role} LOGIN"))
        .unwrap();
    let back = until("A to lock after it is back", || {
        p.va.status() == SessionState::Locked
    });
    println!("the missed lock was acted on {back:?} after the listener was let back in");
    assert!(matches!(p.va.credentials(), Err(Error::Locked)));
    assert_eq!(connections(&config, &listener), 1);
    // And it hears live again.
    p.va.unlock(&secret(PASS)).unwrap();
    p.vb.lock();
    until("A to lock", || p.va.status() == SessionState::Locked);
}
