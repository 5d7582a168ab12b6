//! The registry of many users' vaults: lazy opening, one vault per user, validated ids that
//! never escape their place, and the audited admin operations, on every embedded backend.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{PASS, creds, secret, valid};
use credlock::audit::{EventKind, MemorySink};
use credlock::registry::{FileStoreSet, MemoryStoreSet, StoreSet};
use credlock::{Registry, SessionState, UserId};
use proptest::prelude::*;

/// A registry with cheap derivations, a settable wall clock and an audit trail.
fn registry(set: impl StoreSet + 'static) -> (Registry, MemorySink, Arc<Mutex<SystemTime>>) {
    let trail = MemorySink::new();
    let now = Arc::new(Mutex::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
    ));
    let (t, n) = (trail.clone(), Arc::clone(&now));
    let registry = Registry::builder(set)
        .vault_options(move |b| {
            let n = Arc::clone(&n);
            b.insecure_kdf_iterations(common::TEST_ITERATIONS)
                .without_tracing_audit()
                .audit_to(t.clone())
                .insecure_wall_clock(move || *n.lock().unwrap())
        })
        .open()
        .unwrap();
    (registry, trail, now)
}

fn id(s: &str) -> UserId {
    UserId::new(s).unwrap()
}

/// The whole story on one backend: lazy vaults, one per user, shared state, admin.
fn users_are_separate_and_admin_works(set: impl StoreSet + 'static, reopen: impl Fn() -> Registry) {
    let (reg, trail, now) = registry(set);
    assert_eq!(reg.open_vaults(), 0);
    for user in ["alice", "bob", "carol"] {
        let v = reg.vault(&id(user)).unwrap();
        assert_eq!(v.status(), SessionState::NoCredentials);
        v.store(creds(), valid(PASS)).unwrap();
        v.lock();
    }
    assert_eq!(reg.open_vaults(), 3);
    // One vault per user, whatever the case of the id.
    let a1 = reg.vault(&id("alice")).unwrap();
    let a2 = reg.vault(&id("ALICE")).unwrap();
    assert!(Arc::ptr_eq(&a1, &a2));
    a1.unlock(&secret(PASS)).unwrap();
    assert_eq!(a2.status(), SessionState::Unlocked);
    assert_eq!(
        reg.vault(&id("bob")).unwrap().status(),
        SessionState::Locked
    );
    assert_eq!(
        reg.users().unwrap(),
        vec![id("alice"), id("bob"), id("carol")]
    );

    // Five wrong guesses lock bob out, and only bob.
    let bob = reg.vault(&id("bob")).unwrap();
    for _ in 0..5 {
        assert!(bob.unlock(&secret("wrong guess")).is_err());
    }
    let locked = reg.locked_out().unwrap();
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].user, id("bob"));
    assert_eq!(locked[0].state.failures, 5);
    assert_eq!(locked[0].state.retry_after_secs, Some(30));
    assert_eq!(locked[0].state.locked_until_unix_secs, Some(1_000_030));
    assert!(trail.kinds().contains(&EventKind::LockoutsListed));
    // Another registry on the same storage (another process) sees the same lockout.
    let other = reopen();
    assert_eq!(other.locked_out().unwrap().len(), 1);
    assert!(matches!(
        other.vault(&id("bob")).unwrap().unlock(&secret(PASS)),
        Err(credlock::Error::LockedOut { .. })
    ));
    // The lockout expires with the clock.
    *now.lock().unwrap() += Duration::from_secs(31);
    assert!(reg.locked_out().unwrap().is_empty());
    *now.lock().unwrap() -= Duration::from_secs(31);
    reg.clear_lockout(&id("bob")).unwrap();
    assert!(reg.locked_out().unwrap().is_empty());
    bob.unlock(&secret(PASS)).unwrap();

    // Removing a user is audited and removes only them.
    let other_carol = other.vault(&id("carol")).unwrap();
    assert_eq!(other_carol.status(), SessionState::Locked);
    trail.clear();
    reg.remove_user(&id("carol")).unwrap();
    let removed: Vec<_> = trail
        .events()
        .into_iter()
        .filter(|e| e.kind == EventKind::UserRemoved)
        .collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].vault, "carol");
    assert_eq!(reg.users().unwrap(), vec![id("alice"), id("bob")]);
    // Another process's vault of the removed user finds it gone at its next unlock.
    assert!(matches!(
        other_carol.unlock(&secret(PASS)),
        Err(credlock::Error::VaultMissing { .. })
    ));
    assert_eq!(other_carol.status(), SessionState::NoCredentials);
    assert_eq!(
        reopen().vault(&id("carol")).unwrap().status(),
        SessionState::NoCredentials
    );
    reg.remove_user(&id("nobody")).unwrap();

    // Locked vaults not in use can be dropped from memory; unlocked ones stay.
    drop((a1, a2, bob));
    reg.vault(&id("bob")).unwrap().lock();
    assert_eq!(reg.evict_idle(), 1);
    assert_eq!(
        reg.vault(&id("alice")).unwrap().status(),
        SessionState::Unlocked
    );
    // A locked vault the app still holds stays in memory until it is let go.
    let held = reg.vault(&id("bob")).unwrap();
    assert_eq!(held.status(), SessionState::Locked);
    assert_eq!(reg.evict_idle(), 0, "in use");
    drop(held);
    assert_eq!(reg.evict_idle(), 1);
}

#[test]
fn file_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vaults");
    let d = dir.clone();
    users_are_separate_and_admin_works(FileStoreSet::open(&dir).unwrap(), move || {
        registry(FileStoreSet::open(&d).unwrap()).0
    });
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    assert_eq!(names, ["alice.vault", "bob.vault"]);
}

#[test]
fn memory_registry() {
    let set = MemoryStoreSet::new();
    let s = set.clone();
    users_are_separate_and_admin_works(set, move || registry(s.clone()).0);
}

#[cfg(feature = "sqlite")]
#[test]
fn sqlite_registry() {
    use credlock::registry::SqliteStoreSet;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let d = dir.clone();
    users_are_separate_and_admin_works(SqliteStoreSet::open(&dir).unwrap(), move || {
        registry(SqliteStoreSet::open(&d).unwrap()).0
    });
}

#[test]
fn opening_a_registry_of_many_users_reads_none_of_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vaults");
    {
        let (reg, _, _) = registry(FileStoreSet::open(&dir).unwrap());
        for i in 0..50 {
            reg.vault(&id(&format!("user-{i}")))
                .unwrap()
                .store(creds(), valid(PASS))
                .unwrap();
        }
    }
    // Planted garbage in one user's record: opening the registry does not notice,
    // only that user's vault does, with a typed error.
    std::fs::write(dir.join("user-7.vault"), b"").unwrap();
    let (reg, _, _) = registry(FileStoreSet::open(&dir).unwrap());
    assert_eq!(reg.open_vaults(), 0);
    assert_eq!(reg.users().unwrap().len(), 50);
    let err = reg.vault(&id("user-7")).unwrap_err();
    assert_eq!(
        err.kind(),
        credlock::ErrorKind::Storage(credlock::StorageKind::Corrupt)
    );
    assert_eq!(
        reg.vault(&id("user-8")).unwrap().status(),
        SessionState::Locked
    );
    assert_eq!(reg.open_vaults(), 1);
}

#[test]
fn a_registry_is_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Registry>();
    let (reg, _, _) = registry(MemoryStoreSet::new());
    let reg = Arc::new(reg);
    std::thread::scope(|s| {
        for t in 0..4 {
            let reg = Arc::clone(&reg);
            s.spawn(move || {
                for i in 0..10 {
                    let v = reg.vault(&id(&format!("u{}", (t * 10 + i) % 15))).unwrap();
                    let _ = v.status();
                }
            });
        }
    });
    assert_eq!(
        reg.open_vaults(),
        15,
        "one vault per user, even when opened in a race"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever string an app passes as a user id, it is refused or the user's files are
    /// direct children of the registry's directory, named after the folded id.
    #[test]
    fn no_user_id_escapes_the_registry_directory(
        raw in prop_oneof![
            any::<String>(),
            "[a-zA-Z0-9./\\\\@+_ \\n-]{0,140}",
            Just("../outside".to_owned()),
            Just("a/../../outside".to_owned()),
            Just(".hidden".to_owned()),
        ]
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("vaults");
        let reg = Registry::builder(FileStoreSet::open(&dir).unwrap())
            .vault_options(|b| b.insecure_kdf_iterations(1).without_tracing_audit())
            .open()
            .unwrap();
        match UserId::new(&raw) {
            Err(e) => prop_assert!(!e.to_string().is_empty()),
            Ok(user) => {
                reg.vault(&user).unwrap().store(creds(), valid(PASS)).unwrap();
                let outside: Vec<_> = std::fs::read_dir(tmp.path()).unwrap()
                    .map(|e| e.unwrap().file_name())
                    .collect();
                prop_assert_eq!(outside, vec![std::ffi::OsString::from("vaults")]);
                let visible: Vec<_> = std::fs::read_dir(&dir).unwrap()
                    .map(|e| e.unwrap().file_name().into_string().unwrap())
                    .filter(|n| !n.starts_with('.'))
                    .collect();
                prop_assert_eq!(visible, vec![format!("{}.vault", user.as_str())]);
                prop_assert_eq!(reg.users().unwrap(), vec![user]);
            }
        }
    }
}

#[test]
fn two_registries_creating_one_user_at_once_make_one_vault() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vaults");
    let a = registry(FileStoreSet::open(&dir).unwrap()).0;
    let b = registry(FileStoreSet::open(&dir).unwrap()).0;
    let barrier = std::sync::Barrier::new(2);
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = [&a, &b]
            .into_iter()
            .map(|reg| {
                let barrier = &barrier;
                s.spawn(move || {
                    let v = reg.vault(&id("dave")).unwrap();
                    barrier.wait();
                    v.store(creds(), valid(PASS))
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(created, 1, "{results:?}");
    assert!(
        results
            .iter()
            .any(|r| matches!(r, Err(credlock::Error::VaultExists { .. })))
    );
}

/// A registry over `set` on a fake clock, with the given bounds.
fn bounded(
    set: impl StoreSet + 'static,
    max: usize,
    evict_after: Duration,
) -> (Registry, credlock::FakeClock) {
    let clock = credlock::FakeClock::new();
    let c = clock.clone();
    let registry = Registry::builder(set)
        .vault_options(move |b| {
            b.insecure_kdf_iterations(common::TEST_ITERATIONS)
                .without_tracing_audit()
                .without_idle_timeout()
                .insecure_clock(c.clone())
        })
        .max_open_vaults(max)
        .evict_after(evict_after)
        .open()
        .unwrap();
    (registry, clock)
}

#[test]
fn unknown_users_are_answered_without_opening_or_keeping_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("vaults");
    let (reg, _clock) = bounded(
        FileStoreSet::open(&dir).unwrap(),
        10,
        Duration::from_secs(900),
    );
    for i in 0..1_000 {
        assert!(
            reg.existing_vault(&id(&format!("nobody-{i}")))
                .unwrap()
                .is_none()
        );
    }
    assert_eq!(reg.open_vaults(), 0);
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(files.is_empty(), "nothing written: {files:?}");
    // A user with a record is opened and kept.
    reg.vault(&id("alice"))
        .unwrap()
        .store(creds(), valid(PASS))
        .unwrap();
    let alice = reg.existing_vault(&id("ALICE")).unwrap().unwrap();
    assert_eq!(alice.status(), SessionState::Unlocked);
    assert!(Arc::ptr_eq(&alice, &reg.vault(&id("alice")).unwrap()));
    // The configuration report says nothing of any user.
    let report = reg.security_status();
    assert_eq!(report.state, Some(SessionState::NoCredentials));
    assert_eq!(report.failed_attempts, 0);
    assert!(report.file.is_none());
}

#[test]
fn empty_and_long_unused_locked_vaults_are_let_go_of_unlocked_and_held_ones_stay() {
    let min = Duration::from_secs(60);
    let (reg, clock) = bounded(MemoryStoreSet::new(), 100, 15 * min);
    for user in ["locked", "unlocked"] {
        let v = reg.vault(&id(user)).unwrap();
        v.store(creds(), valid(PASS)).unwrap();
    }
    reg.vault(&id("locked")).unwrap().lock();
    // Asked for and let go of: an empty vault (no record).
    drop(reg.vault(&id("empty")).unwrap());
    let held = reg.vault(&id("held")).unwrap();
    held.store(creds(), valid(PASS)).unwrap();
    held.lock();
    assert_eq!(reg.open_vaults(), 4);

    // The registry looks at most every 10 s: then the empty vault goes at once.
    clock.advance(Duration::from_secs(10));
    drop(reg.vault(&id("other")).unwrap());
    assert_eq!(
        reg.open_vaults(),
        4,
        "empty gone; locked, unlocked, held and other held"
    );
    assert!(reg.existing_vault(&id("empty")).unwrap().is_none());

    // Past the idle age, the locked vault nothing holds goes; the unlocked one and the one
    // the app holds stay.
    clock.advance(15 * min);
    assert!(reg.existing_vault(&id("nobody")).unwrap().is_none());
    drop(reg.vault(&id("someone")).unwrap());
    let kept: Vec<bool> = ["locked", "unlocked", "held"]
        .iter()
        .map(|u| reg.is_open(&id(u)))
        .collect();
    assert_eq!(kept, [false, true, true]);
    // Let go of, not lost: asked for again, it is opened from its record, still locked.
    assert_eq!(
        reg.vault(&id("locked")).unwrap().status(),
        SessionState::Locked
    );
    assert_eq!(held.status(), SessionState::Locked);
}

#[test]
fn a_full_registry_lets_the_least_recently_used_go_and_refuses_when_it_cannot() {
    let (reg, clock) = bounded(MemoryStoreSet::new(), 3, Duration::from_secs(900));
    for user in ["a", "b", "c"] {
        reg.vault(&id(user))
            .unwrap()
            .store(creds(), valid(PASS))
            .unwrap();
        clock.advance(Duration::from_millis(1));
    }
    // Three vaults unlocked: no room for a fourth.
    let err = reg.vault(&id("d")).unwrap_err();
    assert!(matches!(err, credlock::Error::TooManyOpenVaults { max: 3 }));
    assert_eq!(err.kind(), credlock::ErrorKind::Overloaded);
    // Lock two: the least recently used of them goes to make room.
    reg.vault(&id("b")).unwrap().lock();
    clock.advance(Duration::from_millis(1));
    reg.vault(&id("a")).unwrap().lock();
    let d = reg.vault(&id("d")).unwrap();
    assert_eq!(d.status(), SessionState::NoCredentials);
    assert_eq!(reg.open_vaults(), 3);
    assert!(!reg.is_open(&id("b")), "b was used longest ago");
    assert!(reg.is_open(&id("a")) && reg.is_open(&id("c")));
    assert!(matches!(
        Registry::builder(MemoryStoreSet::new())
            .max_open_vaults(0)
            .open(),
        Err(credlock::Error::InvalidOption {
            name: "max_open_vaults"
        })
    ));
}

#[test]
fn the_options_hook_hears_whose_vault_it_configures() {
    let asked: Arc<Mutex<Vec<Option<String>>>> = Arc::default();
    let seen = Arc::clone(&asked);
    let registry = Registry::builder(MemoryStoreSet::new())
        .vault_options_for_user(move |b, user| {
            seen.lock()
                .unwrap()
                .push(user.map(|u| u.as_str().to_owned()));
            let b = b.insecure_kdf_iterations(common::TEST_ITERATIONS);
            match user.map(UserId::as_str) {
                Some("ops") => b.idle_timeout(Duration::from_secs(60)),
                _ => b.idle_timeout(Duration::from_secs(600)),
            }
        })
        .open()
        .unwrap();
    assert_eq!(*asked.lock().unwrap(), [None], "the registry's own options");
    assert_eq!(registry.security_status().idle_timeout_secs, Some(600));

    let ops = registry.vault(&id("OPS")).unwrap();
    let alice = registry.vault(&id("alice")).unwrap();
    assert_eq!(ops.security_status().idle_timeout_secs, Some(60));
    assert_eq!(alice.security_status().idle_timeout_secs, Some(600));
    // Once per user, with the case-folded id; a held vault is not configured again.
    let _ = registry.vault(&id("ops")).unwrap();
    assert_eq!(
        *asked.lock().unwrap(),
        [None, Some("ops".to_owned()), Some("alice".to_owned())]
    );
}
