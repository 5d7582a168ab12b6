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

use super::client_sessions::Sessions;
use super::state::Shared;
use crate::audit::Auditor;
use crate::clock::Clock;

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
pub(crate) struct Watch {
    pub(crate) entries: Vec<Entry>,
    pub(crate) stop: bool,
    /// Bumped by each poke.
    pub(crate) pokes: u64,
    /// The poke count the last finished pass started from.
    served: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Core {
    watch: Mutex<Watch>,
    /// Wakes the thread (poke, stop).
    wake: Condvar,
    /// Signals a finished pass.
    passed: Condvar,
}

impl Core {
    pub(crate) fn watch(&self) -> MutexGuard<'_, Watch> {
        self.watch.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A vault's hold on the process's sweeper thread.
#[derive(Debug)]
pub(crate) struct SweeperHandle {
    pub(crate) core: Arc<Core>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

pub(crate) static SWEEPER: Mutex<Weak<SweeperHandle>> = Mutex::new(Weak::new());

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
pub(crate) fn sweep(entry: &Entry) -> Option<Duration> {
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
