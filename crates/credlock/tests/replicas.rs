//! Replicas: registries in two processes (and in two threads with connections of their own)
//! on one PostgreSQL database share each user's lockout exactly, see each other's passphrase
//! changes at the next unlock, and never lose a concurrent update.
//!
//! A throwaway server is started (see `credlock_store_postgres::testing`); without
//! PostgreSQL the tests say so, and fail if `CREDLOCK_REQUIRE_PG=1`.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stdout)]
#![cfg(feature = "postgres")]

mod common;

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{OTHER_PASS, PASS, creds, secret, valid};
use credlock::registry::PostgresStoreSet;
use credlock::{Credentials, DerivationStage, Error, Registry, SessionState, UserId, VaultBuilder};
use credlock_store_postgres::postgres::Config;
use credlock_store_postgres::postgres::config::Host;
use credlock_store_postgres::testing::TestServer;

const CHILD_ENV: &str = "CREDLOCK_REPLICA_CHILD";
const DB_ENV: &str = "CREDLOCK_REPLICA_DB";

/// One replica: a registry on its own connections, counting the derivations it runs.
fn replica(config: &Config) -> (Registry, Arc<AtomicUsize>) {
    let derived = Arc::new(AtomicUsize::new(0));
    let d = Arc::clone(&derived);
    let set = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let registry = Registry::builder(set)
        .vault_options(move |b| {
            let d = Arc::clone(&d);
            b.insecure_kdf_iterations(common::TEST_ITERATIONS)
                .without_tracing_audit()
                .on_key_derivation(move |e| {
                    if e.stage == DerivationStage::Started {
                        d.fetch_add(1, Ordering::SeqCst);
                    }
                })
        })
        .open()
        .unwrap();
    (registry, derived)
}

fn alice() -> UserId {
    UserId::new("alice@example.com").unwrap()
}

/// A connection string for the child (the same database, over the socket).
fn conninfo(config: &Config) -> String {
    let Some(Host::Unix(dir)) = config.get_hosts().first() else {
        panic!("the test server listens on a socket");
    };
    format!(
        "host={} user=postgres dbname={}",
        dir.display(),
        config.get_dbname().unwrap()
    )
}

/// Runs the other replica, a process of its own, in `role`; returns its result line.
fn other_replica(config: &Config, role: &str) -> String {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "replica_entry_point",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, role)
        .env(DB_ENV, conninfo(config))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success(), "the replica failed: {out}");
    out.lines()
        .find_map(|l| l.strip_prefix("REPLICA-RESULT "))
        .unwrap_or_else(|| panic!("no result from the replica: {out}"))
        .to_owned()
}

/// What an error is, in a word, for the child's result line.
fn word(r: &Result<(), Error>) -> &'static str {
    match r {
        Ok(()) => "ok",
        Err(Error::WrongPassphrase) => "wrong",
        Err(Error::LockedOut { .. }) => "locked_out",
        Err(_) => "other",
    }
}

/// The child side: what it does is chosen by `CREDLOCK_REPLICA_CHILD`.
#[test]
#[ignore = "helper process run by the replica tests"]
fn replica_entry_point() {
    let role = std::env::var(CHILD_ENV).expect("run only as a child, with CREDLOCK_REPLICA_CHILD");
    let config: Config = std::env::var(DB_ENV).unwrap().parse().unwrap();
    let (registry, derived) = replica(&config);
    let registry = Arc::new(registry);
    let vault = registry.vault(&alice()).unwrap();
    let result = match role.as_str() {
        // Four threads race three wrong guesses each.
        "race-guesses" => {
            std::thread::scope(|s| {
                for t in 0..4 {
                    let vault = Arc::clone(&vault);
                    s.spawn(move || {
                        for g in 0..3 {
                            let r = vault.unlock(&secret(&format!("wrong-{t}-{g}")));
                            assert!(
                                matches!(r, Err(Error::WrongPassphrase | Error::LockedOut { .. })),
                                "{r:?}"
                            );
                        }
                    });
                }
            });
            String::from("done")
        }
        "unlock-old" => word(&vault.unlock(&secret(PASS))).to_owned(),
        "unlock-new" => word(&vault.unlock(&secret(OTHER_PASS))).to_owned(),
        "updates" => {
            vault.unlock(&secret(PASS)).unwrap();
            for i in 0..20 {
                vault
                    .update_credentials(Credentials::new(
                        format!("child-{i}@example.com"),
                        secret("pw"),
                    ))
                    .unwrap();
            }
            String::from("done")
        }
        other => panic!("unknown role {other}"),
    };
    println!(
        "\nREPLICA-RESULT {result} derived={}",
        derived.load(Ordering::SeqCst)
    );
}

/// The derivations the child reported.
fn derived(result: &str) -> usize {
    result
        .split_once("derived=")
        .and_then(|(_, n)| n.parse().ok())
        .unwrap()
}

#[test]
fn five_wrong_guesses_spread_over_two_replicas_lock_both_out() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    let (a, a_derived) = replica(&config);
    let va = a.vault(&alice()).unwrap();
    va.store(creds(), valid(PASS)).unwrap();
    va.lock();
    a_derived.store(0, Ordering::SeqCst);

    // Twelve wrong guesses in each replica, four threads each, at once: the shared count
    // lets exactly five derivations through, in both processes together.
    let here = {
        let va = Arc::clone(&va);
        std::thread::spawn(move || {
            std::thread::scope(|s| {
                for t in 0..4 {
                    let va = Arc::clone(&va);
                    s.spawn(move || {
                        for g in 0..3 {
                            let _ = va.unlock(&secret(&format!("mine-{t}-{g}")));
                        }
                    });
                }
            });
        })
    };
    let there = other_replica(&config, "race-guesses");
    here.join().unwrap();
    assert_eq!(
        a_derived.load(Ordering::SeqCst) + derived(&there),
        5,
        "derivations in both replicas"
    );
    // Both refuse the right passphrase now, without deriving.
    assert!(matches!(
        va.unlock(&secret(PASS)),
        Err(Error::LockedOut { .. })
    ));
    let there = other_replica(&config, "unlock-old");
    assert!(there.starts_with("locked_out derived=0"), "{there}");
    let locked = a.locked_out().unwrap();
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].state.failures, 5);
    // Clearing on one replica frees the user on the other.
    a.clear_lockout(&alice()).unwrap();
    assert!(other_replica(&config, "unlock-old").starts_with("ok"));
}

#[test]
fn a_passphrase_change_on_one_replica_is_seen_by_the_other() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    let (a, _) = replica(&config);
    let va = a.vault(&alice()).unwrap();
    va.store(creds(), valid(PASS)).unwrap();
    // A vault outside a registry hears no other replica: unlocked under the old key, it
    // finds out when it writes.
    let set = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let vb = VaultBuilder::with_store(set.postgres_store(alice().as_ref().clone()))
        .insecure_kdf_iterations(common::TEST_ITERATIONS)
        .without_tracing_audit()
        .open()
        .unwrap();
    vb.unlock(&secret(PASS)).unwrap();

    va.change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    // A process that unlocks next tests the new passphrase.
    assert!(other_replica(&config, "unlock-old").starts_with("wrong"));
    assert!(other_replica(&config, "unlock-new").starts_with("ok"));
    // Unlocked under the old key, it may not write with it: it is locked instead.
    let r = vb.update_credentials(Credentials::new("stale@example.com", secret("pw")));
    assert!(matches!(r, Err(Error::ChangedElsewhere)), "{r:?}");
    assert_eq!(vb.status(), SessionState::Locked);
    assert!(matches!(
        vb.unlock(&secret(PASS)),
        Err(Error::WrongPassphrase)
    ));
    vb.unlock(&secret(OTHER_PASS)).unwrap();
    assert_eq!(vb.credentials().unwrap().email(), "alice@example.com");
}

#[test]
fn concurrent_updates_from_two_replicas_are_never_lost() {
    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    let (a, _) = replica(&config);
    let va = a.vault(&alice()).unwrap();
    va.store(creds(), valid(PASS)).unwrap();
    // An unlock notes its slot's last use, at most once a minute: noted here, so that the
    // other process's unlock writes nothing and every version counted is an update's.
    va.lock();
    va.unlock(&secret(PASS)).unwrap();
    let version = |c: &Config| -> i64 {
        let mut client = c.connect(credlock_store_postgres::postgres::NoTls).unwrap();
        client
            .query_one(
                "SELECT version FROM credlock_records WHERE key = $1",
                &[&alice().as_str()],
            )
            .unwrap()
            .get(0)
    };
    let before = version(&config);
    // 20 updates here and 20 in the other process, at once: each one is a compare-and-swap
    // that succeeds exactly once, so the version moves by exactly 40.
    let here = {
        let va = Arc::clone(&va);
        std::thread::spawn(move || {
            for i in 0..20 {
                va.update_credentials(Credentials::new(
                    format!("here-{i}@example.com"),
                    secret("pw"),
                ))
                .unwrap();
            }
        })
    };
    let there = other_replica(&config, "updates");
    here.join().unwrap();
    assert!(there.starts_with("done"), "{there}");
    assert_eq!(
        version(&config) - before,
        40,
        "an update was lost or doubled"
    );
    // The record is whole and opens under the passphrase.
    va.lock();
    va.unlock(&secret(PASS)).unwrap();
    let email = va.credentials().unwrap().email().to_owned();
    assert!(
        email.starts_with("here-19@") || email.starts_with("child-19@"),
        "{email}"
    );
}
