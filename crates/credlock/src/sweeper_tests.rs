//! The idle sweeper (`vault/sweeper.rs`) driven through whole vaults: its tests stand above
//! the vault, as the machinery never names it.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use credlock_audit::{EventKind, MemorySink};
use credlock_session::SessionState;
use secrecy::SecretString;

use crate::idle_clock::FakeClock;
use crate::vault::sweeper::{Entry, SWEEPER, sweep};
use crate::{Credentials, ValidPassphrase, Vault};

/// The sweeper is per process: its tests take turns.
static SERIAL: Mutex<()> = Mutex::new(());

const MIN: Duration = Duration::from_secs(60);

fn vault(dir: &tempfile::TempDir, name: &str, clock: &FakeClock, trail: &MemorySink) -> Vault {
    let v = Vault::builder(dir.path().join(name))
        .insecure_kdf_iterations(1_000)
        .insecure_clock(clock.clone())
        .idle_timeout(15 * MIN)
        .idle_sweeper()
        .audit_to(trail.clone())
        .open()
        .unwrap();
    let pass = ValidPassphrase::insecure_unchecked(SecretString::from("Tangerine-Rocket-42!"));
    v.store(
        Credentials::new("a@example.com", SecretString::from("pw")),
        pass,
    )
    .unwrap();
    v
}

/// The state as it is in memory, without applying the idle timeout.
fn raw_state(v: &Vault) -> SessionState {
    v.shared().state().session.state()
}

fn idle_locks(trail: &MemorySink) -> usize {
    trail
        .events()
        .iter()
        .filter(|e| e.kind == EventKind::IdleLocked)
        .count()
}

#[test]
fn the_sweeper_zeroizes_at_the_deadline_not_at_the_next_call() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new();
    let trail = MemorySink::new();
    let a = vault(&dir, "a.json", &clock, &trail);
    let b = vault(&dir, "b.json", &clock, &trail);
    let handle = Arc::clone(a.sweeper().unwrap());
    assert!(
        Arc::ptr_eq(&handle, b.sweeper().unwrap()),
        "one sweeper per process"
    );

    clock.advance(10 * MIN);
    b.touch().unwrap();
    clock.advance(5 * MIN - Duration::from_millis(1));
    handle.poke_and_wait();
    assert_eq!(raw_state(&a), SessionState::Unlocked);
    assert_eq!(idle_locks(&trail), 0);

    clock.advance(Duration::from_millis(1));
    handle.poke_and_wait();
    assert_eq!(raw_state(&a), SessionState::Locked, "a's key is gone");
    assert_eq!(raw_state(&b), SessionState::Unlocked, "b was used later");
    assert_eq!(idle_locks(&trail), 1, "the sweeper audited the idle lock");
    assert!(!a.security_status().key_in_memory);
    assert!(b.security_status().key_in_memory);

    // A suspend: the boot clock moves, the monotonic one does not.
    clock.suspend(11 * MIN);
    handle.poke_and_wait();
    assert_eq!(raw_state(&b), SessionState::Locked);
    assert_eq!(idle_locks(&trail), 2);
    drop(handle);
}

#[test]
fn every_new_key_in_memory_pokes_the_sweeper() {
    // Asleep with no unlocked vault, the thread waits for a poke: a vault that installs
    // a key without one would keep it past its deadline until some other vault's call.
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new();
    let trail = MemorySink::new();
    let a = vault(&dir, "a.json", &clock, &trail);
    let handle = Arc::clone(a.sweeper().unwrap());
    let pokes = || handle.core.watch().pokes;
    let pass = || SecretString::from("Tangerine-Rocket-42!");

    a.lock();
    let before = pokes();
    a.unlock(&pass()).unwrap();
    assert_eq!(pokes(), before + 1, "unlock");
    let before = pokes();
    a.change_passphrase(
        &pass(),
        ValidPassphrase::insecure_unchecked(SecretString::from("Marmalade-Comet-17?")),
    )
    .unwrap();
    assert_eq!(pokes(), before + 1, "a changed passphrase");
    a.logout().unwrap();
    let before = pokes();
    a.store(
        Credentials::new("a@example.com", SecretString::from("pw")),
        ValidPassphrase::insecure_unchecked(pass()),
    )
    .unwrap();
    assert_eq!(pokes(), before + 1, "new credentials");
    // Locking installs nothing: no poke.
    let before = pokes();
    a.lock();
    assert_eq!(pokes(), before);
}

#[test]
fn the_sweeper_stops_when_the_last_vault_is_dropped() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new();
    let trail = MemorySink::new();
    let a = vault(&dir, "a.json", &clock, &trail);
    let b = vault(&dir, "b.json", &clock, &trail);
    let handle = Arc::downgrade(a.sweeper().unwrap());
    assert!(handle.upgrade().unwrap().is_running());
    drop(a);
    // A dropped vault is skipped; the other is still watched.
    let live = handle.upgrade().unwrap();
    live.poke_and_wait();
    assert!(live.is_running());
    assert_eq!(live.core.watch().entries.len(), 1);
    let core = Arc::clone(&live.core);
    drop(live);
    drop(b);
    assert!(handle.upgrade().is_none(), "the last handle is gone");
    // The last handle's drop told the thread to stop and joined it: the thread's own
    // reference to the core is gone with it.
    assert!(core.watch().stop);
    assert_eq!(Arc::strong_count(&core), 1, "the thread has ended");
    assert!(SWEEPER.lock().unwrap().upgrade().is_none());

    // A later vault starts a new thread.
    let c = vault(&dir, "c.json", &clock, &trail);
    assert!(c.sweeper().unwrap().is_running());
}

#[test]
fn the_sweeper_sleeps_until_the_earliest_deadline_or_a_poke() {
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let clock = FakeClock::new();
    let trail = MemorySink::new();
    let a = vault(&dir, "a.json", &clock, &trail);
    let entry = |v: &Vault| Entry {
        shared: Arc::downgrade(v.shared_arc()),
        sessions: v.options().sessions.clone(),
        auditor: v.options().auditor.clone(),
        clock: v.options().clock.clone(),
    };
    // The time a pass returns is what the thread sleeps for (at most `MAX_WAIT`).
    clock.advance(4 * MIN);
    assert_eq!(sweep(&entry(&a)), Some(11 * MIN));
    clock.advance(11 * MIN);
    assert_eq!(
        sweep(&entry(&a)),
        None,
        "locked now: no deadline, sleep until a poke"
    );
    assert_eq!(raw_state(&a), SessionState::Locked);
    a.unlock(&SecretString::from("Tangerine-Rocket-42!"))
        .unwrap();
    assert_eq!(sweep(&entry(&a)), Some(15 * MIN));
    a.lock();
    assert_eq!(sweep(&entry(&a)), None);
}
