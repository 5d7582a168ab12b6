//! Faults on the shared engine: two replicas (two registries on one PostgreSQL database, a
//! server of this test's own) under a load of unlocks, wrong guesses, updates and locks from
//! both, while the server restarts, and then while one replica's connections are terminated.
//!
//! Checked at the end: no update lost or doubled (the record's version moved by the updates
//! that succeeded, plus at most those whose outcome the client could not learn); no guess
//! derived beyond the lockout's count; a lock made while the other replica could not hear
//! it (the server was down, or its listener was cut off) reaches it once it is back; every
//! failure was a typed, retryable one (`ErrorKind::Storage(StorageKind::Unavailable)`), or a
//! refusal the state explains; both replicas work again without being rebuilt, and
//! hear each other again. The figures (operations failed, recovery times) are printed
//! (`--nocapture`).

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout)]
#![cfg(feature = "postgres")]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{PASS, creds, secret, valid};
use credlock::registry::PostgresStoreSet;
use credlock::{
    Credentials, DerivationStage, Error, ErrorKind, LockoutPolicy, Registry, SessionState,
    StorageKind, UserId, VaultBuilder,
};
use credlock_store_postgres::postgres::{Client, Config, NoTls};
use credlock_store_postgres::testing::{self, REQUIRE_ENV, StartError, TestServer};

/// How long a replica may take to recover or hear before the test fails: generous; the
/// figures are printed apart.
const DEADLINE: Duration = Duration::from_secs(20);

/// Mallory's record is sealed at this iteration count, so that the derivations of wrong
/// guesses (the only ones that use it) can be told apart from alice's unlocks.
const MALLORY_ITERATIONS: u32 = common::TEST_ITERATIONS + 1;

/// The lockout: 5 failures, then locked for longer than the test runs.
fn lockout() -> LockoutPolicy {
    LockoutPolicy::new(5, Duration::from_secs(3600), Duration::from_secs(3600)).unwrap()
}

fn user(name: &str) -> UserId {
    UserId::new(name).unwrap()
}

/// One replica: a registry on connections named `name`, counting mallory's derivations.
fn replica(config: &Config, name: &str, mallory_derived: &Arc<AtomicUsize>) -> Arc<Registry> {
    let mut config = config.clone();
    config.application_name(name);
    let set = PostgresStoreSet::builder(config).open().unwrap();
    let derived = Arc::clone(mallory_derived);
    let registry = Registry::builder(set)
        .vault_options(move |b| {
            let derived = Arc::clone(&derived);
            b.insecure_kdf_iterations(common::TEST_ITERATIONS)
                .without_tracing_audit()
                .lockout(lockout())
                .on_key_derivation(move |e| {
                    if e.stage == DerivationStage::Started && e.iterations == MALLORY_ITERATIONS {
                        derived.fetch_add(1, Ordering::SeqCst);
                    }
                })
        })
        .open()
        .unwrap();
    Arc::new(registry)
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ok,
    /// A refusal the state explains (wrong passphrase, locked out, locked, unlocked already,
    /// interrupted by a lock).
    Refused(&'static str),
    /// The database was away: `ErrorKind::Storage(StorageKind::Unavailable)`.
    Storage,
    /// Anything else: a failure of the test.
    Other(String),
}

fn outcome(r: &Result<(), Error>) -> Outcome {
    match r {
        Ok(()) => Outcome::Ok,
        Err(e) => match e.kind() {
            // The database away: typed, and worth trying again.
            ErrorKind::Storage(StorageKind::Unavailable) => Outcome::Storage,
            _ => match e {
                Error::WrongPassphrase => Outcome::Refused("wrong"),
                Error::LockedOut { .. } => Outcome::Refused("locked_out"),
                Error::Locked => Outcome::Refused("locked"),
                Error::AlreadyUnlocked => Outcome::Refused("already_unlocked"),
                Error::Interrupted => Outcome::Refused("interrupted"),
                other => Outcome::Other(format!("{other:?}")),
            },
        },
    }
}

/// One operation of the load.
#[derive(Debug, Clone)]
struct Op {
    at: Instant,
    what: &'static str,
    outcome: Outcome,
}

/// A replica's load: wrong guesses on mallory, updates, unlocks and locks of alice's vault.
fn load(name: &'static str, registry: Arc<Registry>, stop: Arc<AtomicBool>) -> JoinHandle<Vec<Op>> {
    std::thread::spawn(move || {
        let alice = registry.vault(&user("alice")).unwrap();
        let mallory = registry.vault(&user("mallory")).unwrap();
        let mut ops = Vec::new();
        let mut i = 0u32;
        while !stop.load(Ordering::SeqCst) {
            i += 1;
            let (what, r) = match i % 8 {
                0 => (
                    "guess",
                    mallory.unlock(&secret(&format!("{name}-guess-{i}"))),
                ),
                7 => {
                    alice.lock();
                    ("lock", Ok(()))
                }
                _ if alice.status() == SessionState::Locked => {
                    ("unlock", alice.unlock(&secret(PASS)))
                }
                _ => (
                    "update",
                    alice.update_credentials(Credentials::new(
                        format!("{name}-{i}@example.com"),
                        secret("pw"),
                    )),
                ),
            };
            ops.push(Op {
                at: Instant::now(),
                what,
                outcome: outcome(&r),
            });
            std::thread::sleep(Duration::from_millis(2));
        }
        ops
    })
}

fn admin(config: &Config) -> Client {
    config.connect(NoTls).unwrap()
}

fn record_version(config: &Config, key: &str) -> i64 {
    admin(config)
        .query_one(
            "SELECT version FROM credlock_records WHERE key = $1",
            &[&key],
        )
        .unwrap()
        .get(0)
}

/// Waits until `f` holds, up to [`DEADLINE`]; how long it took.
fn until(what: &str, f: impl FnMut() -> bool) -> Duration {
    testing::until(what, DEADLINE, Duration::from_millis(1), f)
}

/// A server of this test's own (it is restarted), or `None` to skip.
fn own_server() -> Option<TestServer> {
    match TestServer::start() {
        Ok(server) => Some(server),
        Err(StartError::NotFound) if std::env::var(REQUIRE_ENV).as_deref() != Ok("1") => None,
        Err(e) => panic!("no test server: {e:?}"),
    }
}

/// How many operations of `ops` failed with a storage error between `from` and `to`, by
/// kind of operation.
fn failed(ops: &[Op], from: Instant, to: Instant) -> BTreeMap<&'static str, usize> {
    let mut failed = BTreeMap::new();
    for op in ops.iter().filter(|o| o.at >= from && o.at < to) {
        if op.outcome == Outcome::Storage {
            *failed.entry(op.what).or_insert(0) += 1;
        }
    }
    failed
}

/// How long after `from` the first operation of `ops` that touches the database succeeded.
fn recovered(ops: &[Op], from: Instant) -> Option<Duration> {
    ops.iter()
        .find(|o| o.at >= from && o.what != "lock" && o.outcome == Outcome::Ok)
        .map(|o| o.at.duration_since(from))
}

#[test]
fn a_restart_and_lost_connections_under_load_lose_nothing_and_both_replicas_recover() {
    let Some(server) = own_server() else { return };
    let config = server.database();
    let mallory_derived = Arc::new(AtomicUsize::new(0));
    let a = replica(&config, "replica-a", &mallory_derived);
    let b = replica(&config, "replica-b", &mallory_derived);

    // Alice: stored on A, unlocked on both. Mallory: sealed at its own iteration count.
    // Carol and Dave: unlocked on A, for a lock from B that A cannot hear at the time.
    a.vault(&user("alice"))
        .unwrap()
        .store(creds(), valid(PASS))
        .unwrap();
    b.vault(&user("alice"))
        .unwrap()
        .unlock(&secret(PASS))
        .unwrap();
    let set = PostgresStoreSet::builder(config.clone()).open().unwrap();
    VaultBuilder::with_store(set.postgres_store(user("mallory").as_ref().clone()))
        .insecure_kdf_iterations(MALLORY_ITERATIONS)
        .without_tracing_audit()
        .open()
        .unwrap()
        .store(creds(), valid(PASS))
        .unwrap();
    for name in ["carol", "dave"] {
        let on_a = a.vault(&user(name)).unwrap();
        on_a.store(creds(), valid(PASS)).unwrap();
        assert_eq!(on_a.status(), SessionState::Unlocked);
        b.vault(&user(name)).unwrap();
    }
    let version_before = record_version(&config, "alice");

    let stop = Arc::new(AtomicBool::new(false));
    // Two threads per replica, so that each pool holds several connections.
    let loads = [
        [
            load("a1", Arc::clone(&a), Arc::clone(&stop)),
            load("a2", Arc::clone(&a), Arc::clone(&stop)),
        ],
        [
            load("b1", Arc::clone(&b), Arc::clone(&stop)),
            load("b2", Arc::clone(&b), Arc::clone(&stop)),
        ],
    ];
    std::thread::sleep(Duration::from_millis(800));

    // 1. The server restarts. While it is down, the user locks carol on B: B cannot tell
    //    anyone yet.
    let stopping = Instant::now();
    server.stop().unwrap();
    b.vault(&user("carol")).unwrap().lock();
    std::thread::sleep(Duration::from_millis(300));
    server.resume().unwrap();
    let resumed = Instant::now();
    let carol_heard = until("A to drop carol's key after the restart", || {
        a.vault(&user("carol")).unwrap().status() == SessionState::Locked
    });
    std::thread::sleep(Duration::from_millis(1500));

    // 2. A's connections (its pool and its listener) are terminated; at once, the user
    //    locks dave on B.
    let killed = admin(&config)
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE application_name LIKE 'replica-a%'",
            &[],
        )
        .unwrap()
        .get::<_, i64>(0);
    let terminated = Instant::now();
    b.vault(&user("dave")).unwrap().lock();
    let dave_heard = until("A to drop dave's key after its connections ended", || {
        a.vault(&user("dave")).unwrap().status() == SessionState::Locked
    });
    std::thread::sleep(Duration::from_millis(1500));

    stop.store(true, Ordering::SeqCst);
    let [ops_a, ops_b] = loads.map(|threads| {
        let mut ops: Vec<Op> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        ops.sort_by_key(|o| o.at);
        ops
    });
    let end = Instant::now();

    // Every failure was the database away (typed, retryable) or a refusal the state explains.
    for (name, ops) in [("A", &ops_a), ("B", &ops_b)] {
        let other: Vec<_> = ops
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Other(_)))
            .collect();
        assert!(other.is_empty(), "{name}: untyped failures: {other:?}");
    }

    // No update lost, none doubled: the version moved once per update that succeeded, and
    // at most once more per update whose commit the client could not learn of.
    let all: Vec<&Op> = ops_a.iter().chain(&ops_b).collect();
    let count = |what: &str, o: &Outcome| {
        all.iter()
            .filter(|op| op.what == what && op.outcome == *o)
            .count()
    };
    let (updated, update_failed) = (
        count("update", &Outcome::Ok),
        count("update", &Outcome::Storage),
    );
    let moved = usize::try_from(record_version(&config, "alice") - version_before).unwrap();
    println!(
        "updates: {updated} succeeded, {update_failed} failed (storage); version moved {moved}"
    );
    assert!(
        updated <= moved && moved <= updated + update_failed,
        "an update was lost or doubled: {updated} succeeded, {update_failed} failed, moved {moved}"
    );

    // No guess beyond the lockout's count: every derivation was counted first.
    let derived = mallory_derived.load(Ordering::SeqCst);
    let locked_out = a.locked_out().unwrap();
    let counted = locked_out
        .iter()
        .find(|u| u.user == user("mallory"))
        .map_or(0, |u| u.state.failures);
    let wrong = count("guess", &Outcome::Refused("wrong"));
    let refused = count("guess", &Outcome::Refused("locked_out"));
    let guess_failed = count("guess", &Outcome::Storage);
    println!(
        "guesses: {wrong} derived and judged wrong, {refused} refused (locked out), \
         {guess_failed} failed (storage); derivations {derived}, counted {counted}"
    );
    assert_eq!(derived, wrong, "a guess derived without its answer");
    assert!(
        derived <= usize::try_from(counted).unwrap(),
        "a derivation not counted"
    );
    assert!(counted <= 5, "counted past the lockout: {counted}");

    // The figures.
    println!(
        "restart: the server was down {:?}; after it was back, A's first success came {:?} \
         later and B's {:?}; storage failures while it was down: A {:?}, B {:?}; after it \
         was back: A {:?}, B {:?}; A dropped carol's key (locked on B while the server was \
         down) {carol_heard:?} after the server was back",
        resumed.duration_since(stopping),
        recovered(&ops_a, resumed),
        recovered(&ops_b, resumed),
        failed(&ops_a, stopping, resumed),
        failed(&ops_b, stopping, resumed),
        failed(&ops_a, resumed, terminated),
        failed(&ops_b, resumed, terminated),
    );
    let back_a = recovered(&ops_a, terminated);
    println!(
        "terminated {killed} connections of A's: A's first success came {back_a:?} later; \
         storage failures: A {:?}, B {:?}; A dropped dave's key (locked on B at once) \
         {dave_heard:?} later",
        failed(&ops_a, terminated, end),
        failed(&ops_b, terminated, end),
    );
    assert!(back_a.is_some(), "A never worked again");
    assert!(recovered(&ops_b, resumed).is_some(), "B never worked again");

    // Both replicas work again, and hear each other again, without being rebuilt.
    for (here, there) in [(&a, &b), (&b, &a)] {
        let v = here.vault(&user("alice")).unwrap();
        if v.status() == SessionState::Locked {
            v.unlock(&secret(PASS)).unwrap();
        }
        v.update_credentials(Credentials::new("after@example.com", secret("pw")))
            .unwrap();
        there.vault(&user("alice")).unwrap().lock();
        until("a lock to be heard after the faults", || {
            v.status() == SessionState::Locked
        });
    }
}
