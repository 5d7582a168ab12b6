//! The idle sweeper: one background thread per process that locks idle vaults at their
//! deadline, so that a key never outlives its idle timeout waiting for the next call.
//!
//! Opt-in per vault ([`VaultBuilder::idle_sweeper`](crate::VaultBuilder::idle_sweeper)).
//! Every vault that asked for it holds a handle; the thread holds only weak references to
//! the vaults' state, so a dropped vault is simply skipped, and the thread stops (and is
//! joined) when the last handle drops.
//!
//! The thread sleeps on a condition variable until the earliest deadline of the vaults it
//! watches, at most [`MAX_WAIT`], or until poked (a vault was unlocked, so a deadline may
//! be earlier than the one it sleeps towards). With no unlocked vault it sleeps until poked.
//! The cap exists because the condition variable's timeout runs on the monotonic clock,
//! which stops while the machine sleeps: after a suspend past the deadline, the key goes
//! within [`MAX_WAIT`] of waking. No busy loop: one short pass per wake.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use credlock_audit::{EventKind, Outcome};

use crate::audit::Auditor;
use crate::clock::Clock;
use crate::sessions::Sessions;
use crate::state::Shared;

/// The longest the sweeper sleeps while some vault is unlocked with an idle timeout.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(1);

/// What the sweeper needs of one vault.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) shared: Weak<Shared>,
    pub(crate) sessions: Sessions,
    pub(crate) auditor: Auditor,
    pub(crate) clock: Clock,
}

#[derive(Debug, Default)]
struct Watch {
    entries: Vec<Entry>,
    stop: bool,
    /// Bumped by each poke.
    pokes: u64,
    /// The poke count the last finished pass started from.
    served: u64,
}

#[derive(Debug, Default)]
struct Core {
    watch: Mutex<Watch>,
    /// Wakes the thread (poke, stop).
    wake: Condvar,
    /// Signals a finished pass.
    passed: Condvar,
}

impl Core {
    fn watch(&self) -> MutexGuard<'_, Watch> {
        self.watch.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A vault's hold on the process's sweeper thread.
#[derive(Debug)]
pub(crate) struct SweeperHandle {
    core: Arc<Core>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

static SWEEPER: Mutex<Weak<SweeperHandle>> = Mutex::new(Weak::new());

/// Watches a vault, starting the thread if none runs; the vault keeps the handle.
pub(crate) fn register(entry: Entry) -> Arc<SweeperHandle> {
    let mut global = SWEEPER.lock().unwrap_or_else(PoisonError::into_inner);
    let handle = global.upgrade().unwrap_or_else(|| {
        let core = Arc::new(Core::default());
        let thread_core = Arc::clone(&core);
        let thread = std::thread::Builder::new()
            .name(String::from("credlock-idle-sweeper"))
            .spawn(move || run(&thread_core))
            .inspect_err(|e| {
                // Without the thread, an expired key is still dropped by the next call.
                tracing::warn!(
                    error = %e,
                    "the idle sweeper thread could not be started"
                );
            })
            .ok();
        let handle = Arc::new(SweeperHandle {
            core,
            thread: Mutex::new(thread),
        });
        *global = Arc::downgrade(&handle);
        handle
    });
    drop(global);
    handle.core.watch().entries.push(entry);
    handle.poke();
    handle
}

impl SweeperHandle {
    /// Wakes the thread to look at every vault again now.
    pub(crate) fn poke(&self) {
        let mut watch = self.core.watch();
        watch.pokes = watch.pokes.wrapping_add(1);
        self.core.wake.notify_all();
    }

    /// Pokes the thread and waits until a pass that started after the poke has finished.
    #[cfg(test)]
    pub(crate) fn poke_and_wait(&self) {
        let mut watch = self.core.watch();
        watch.pokes = watch.pokes.wrapping_add(1);
        let target = watch.pokes;
        self.core.wake.notify_all();
        while watch.served < target && !watch.stop {
            watch = self
                .core
                .passed
                .wait(watch)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Whether the thread is running.
    #[cfg(test)]
    pub(crate) fn is_running(&self) -> bool {
        self.thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .is_some_and(|t| !t.is_finished())
    }
}

impl Drop for SweeperHandle {
    /// The last vault is gone: stop the thread and wait for it.
    fn drop(&mut self) {
        self.core.watch().stop = true;
        self.core.wake.notify_all();
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }
}

/// The thread: a pass over the vaults, then a sleep until the earliest deadline.
fn run(core: &Core) {
    let mut watch = core.watch();
    loop {
        if watch.stop {
            return;
        }
        let serving = watch.pokes;
        watch.entries.retain(|e| e.shared.strong_count() > 0);
        let entries = watch.entries.clone();
        drop(watch);
        let next = entries.iter().filter_map(sweep).min();
        watch = core.watch();
        watch.served = serving;
        core.passed.notify_all();
        if watch.stop {
            return;
        }
        if watch.pokes != serving {
            continue;
        }
        let asleep = |w: &mut Watch| !w.stop && w.pokes == serving;
        watch = match next {
            None => core
                .wake
                .wait_while(watch, asleep)
                .unwrap_or_else(PoisonError::into_inner),
            Some(left) => {
                core.wake
                    .wait_timeout_while(watch, left.min(MAX_WAIT), asleep)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
        };
    }
}

/// Locks one vault if its idle deadline has passed; the time left otherwise, if it is
/// unlocked with an idle timeout.
fn sweep(entry: &Entry) -> Option<Duration> {
    let shared = entry.shared.upgrade()?;
    let now = entry.clock.idle_now();
    let (locked, left) = {
        let mut state = shared.state();
        let locked = state.expire_idle(now);
        (locked, state.session.idle_remaining(now))
    };
    if locked {
        // The sweeper cannot report a failing sink to anyone but the trail itself.
        let _ = entry
            .auditor
            .record(&entry.clock, EventKind::IdleLocked, Outcome::Success, |e| e);
        let _ = entry
            .sessions
            .revoke_all(&entry.auditor, &entry.clock, "idle_lock");
    }
    left
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use credlock_audit::MemorySink;
    use credlock_session::SessionState;
    use secrecy::SecretString;

    use super::*;
    use crate::idle_clock::FakeClock;
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
}
