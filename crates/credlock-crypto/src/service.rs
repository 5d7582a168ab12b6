//! The process-wide derivation service: PBKDF2 derivations that are waiting at the same
//! moment run side by side on one core (up to four chains interleaved on SHA-NI, eight or
//! sixteen per vector register without it), each result returned to its own caller.
//!
//! Every caller runs on its own thread and computes its own pad states and first
//! iteration. Then, if fewer batches are running than the machine has logical CPUs, it
//! runs its chain at once, on its own thread, together with whatever other chains are
//! already queued (up to the engine's width): a derivation alone never waits for company,
//! and then runs on the single-chain path, as [`derive_key`](crate::derive_key) does.
//! Otherwise it queues. A running batch looks at the queue between slices of 8,192
//! iterations and takes in what is waiting, up to its width; when its leader's own chain
//! is done, its unfinished chains go back to the front of the queue and a waiting caller
//! leads them on. There is no batching window: only what is already queued is batched.
//!
//! The service decides nothing about whether a derivation may run: each caller was
//! admitted by its own gate (lockout, rate limits) before it calls.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::error::Error;
use crate::key::FernetKey;
use crate::params::KdfParams;
use crate::pbkdf2_fast::{Chain, LaneEngine, advance_group};

/// Derives the vault key from a passphrase as [`derive_key`](crate::derive_key) does, the
/// same bytes for the same inputs, through the process-wide [`DerivationService`]: a
/// PBKDF2 derivation that meets others waiting at the same moment runs side by side with
/// them; Argon2id runs as in `derive_key`.
///
/// ```
/// use credlock_crypto::{derive_key, derive_key_batched, KdfParams, Salt};
/// let params = KdfParams::insecure_low_cost(1_000, Salt::from_bytes([1; 16]))?;
/// assert_eq!(
///     derive_key_batched("correct horse battery staple", &params)?,
///     derive_key("correct horse battery staple", &params)?,
/// );
/// # Ok::<(), credlock_crypto::Error>(())
/// ```
///
/// # Errors
///
/// As [`derive_key`](crate::derive_key).
pub fn derive_key_batched(passphrase: &str, params: &KdfParams) -> Result<FernetKey, Error> {
    DerivationService::global().derive_key(passphrase, params)
}

/// Runs PBKDF2 derivations that are waiting at the same moment side by side on one core.
///
/// One service per process ([`DerivationService::global`], behind
/// [`derive_key_batched`]); it runs on its callers' threads and starts none of its own.
/// At most as many batches run at once as the machine has logical CPUs.
///
/// ```
/// use credlock_crypto::{DerivationService, KdfParams, Salt};
/// let service = DerivationService::global();
/// assert!(service.width() >= 1);
/// let params = KdfParams::insecure_low_cost(1_000, Salt::from_bytes([2; 16]))?;
/// let keys: Vec<_> = std::thread::scope(|s| {
///     let handles: Vec<_> = (0..3)
///         .map(|i| {
///             let params = &params;
///             s.spawn(move || service.derive_key(&format!("passphrase {i}"), params))
///         })
///         .collect();
///     handles.into_iter().map(|h| h.join().unwrap()).collect()
/// });
/// assert_eq!(keys[1].as_ref().unwrap(), &credlock_crypto::derive_key("passphrase 1", &params)?);
/// # Ok::<(), credlock_crypto::Error>(())
/// ```
pub struct DerivationService {
    lanes: LaneEngine,
    max_running: usize,
    state: Mutex<State>,
    changed: Condvar,
}

impl core::fmt::Debug for DerivationService {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DerivationService")
            .field("width", &self.width())
            .field("max_running", &self.max_running)
            .finish_non_exhaustive()
    }
}

/// The queue and the results, under one lock.
#[derive(Default)]
struct State {
    /// Chains waiting for a batch, oldest first, with their tickets.
    queue: VecDeque<(u64, Chain)>,
    /// Finished chains (or `None`: their batch did not finish) for their callers to take.
    done: Vec<(u64, Option<Chain>)>,
    /// Batches running now.
    running: usize,
    next_ticket: u64,
    /// Batches started so far.
    batches: u64,
    /// Chains that joined a batch already running.
    joined: u64,
}

impl DerivationService {
    /// The process-wide service, made on first use for this CPU's fastest way of running
    /// many chains and as many concurrent batches as it has logical CPUs.
    pub fn global() -> &'static Self {
        static GLOBAL: OnceLock<DerivationService> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            Self::new(LaneEngine::detect(), cpus)
        })
    }

    fn new(lanes: LaneEngine, max_running: usize) -> Self {
        Self {
            lanes,
            max_running: max_running.max(1),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
        }
    }

    /// The most derivations one batch runs side by side on this CPU (4 with SHA-NI, 16 with
    /// AVX-512, 8 with AVX2, 1 otherwise).
    #[must_use]
    pub fn width(&self) -> usize {
        self.lanes.width()
    }

    /// [`derive_key_batched`] through this service.
    ///
    /// # Errors
    ///
    /// As [`derive_key`](crate::derive_key).
    pub fn derive_key(&self, passphrase: &str, params: &KdfParams) -> Result<FernetKey, Error> {
        let text = params.normalization().apply(passphrase);
        self.derive_raw(text.as_bytes(), params)
    }

    fn derive_raw(&self, passphrase: &[u8], params: &KdfParams) -> Result<FernetKey, Error> {
        if passphrase.is_empty() || params.argon2_cost().is_some() {
            return crate::kdf::derive_raw(passphrase, params);
        }
        let chain = Chain::start(
            self.lanes.single(),
            passphrase,
            params.salt().as_bytes(),
            params.iterations(),
            1,
        );
        let chain = self.run(chain).ok_or(Error::DerivationAbandoned)?;
        let mut key = FernetKey::zeroed();
        chain.write_output(key.bytes_mut());
        Ok(key)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent at every unlock, so a panic elsewhere under the lock
        // leaves nothing half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `chain` to its end, in a batch of this caller's or of another's.
    fn run(&self, chain: Chain) -> Option<Chain> {
        let mut state = self.lock();
        let ticket = state.next_ticket;
        state.next_ticket = state.next_ticket.wrapping_add(1);
        state.queue.push_back((ticket, chain));
        loop {
            if let Some(at) = state.done.iter().position(|(t, _)| *t == ticket) {
                return state.done.swap_remove(at).1;
            }
            if state.running < self.max_running
                && let Some(at) = state.queue.iter().position(|(t, _)| *t == ticket)
            {
                return self.lead(state, at, ticket);
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Takes the chain at `at` (this caller's) and up to `width - 1` of the oldest others,
    /// and runs them on this thread in slices of [`SLICE`] iterations. Between slices it
    /// hands finished chains to their callers and fills the lanes freed, or not yet used,
    /// from the queue: chains that arrive while a batch runs join it rather than wait for
    /// it. When this caller's chain is done, the unfinished others go back to the front
    /// of the queue, where one of their callers takes them on.
    fn lead<'a>(
        &'a self,
        mut state: MutexGuard<'a, State>,
        at: usize,
        ticket: u64,
    ) -> Option<Chain> {
        let mut running = Running {
            service: self,
            tickets: Vec::with_capacity(self.width()),
            chains: Vec::with_capacity(self.width()),
        };
        if let Some((t, chain)) = state.queue.remove(at) {
            running.tickets.push(t);
            running.chains.push(chain);
        }
        state.running += 1;
        state.batches += 1;
        let mut first = true;
        loop {
            while running.chains.len() < self.width() {
                let Some((t, chain)) = state.queue.pop_front() else {
                    break;
                };
                running.tickets.push(t);
                running.chains.push(chain);
                if !first {
                    state.joined += 1;
                }
            }
            first = false;
            drop(state);
            advance_group(self.lanes, &mut running.chains, SLICE);
            state = self.lock();
            let mut handed = false;
            let mut i = 0;
            while i < running.chains.len() {
                if running.chains[i].is_done() && running.tickets[i] != ticket {
                    let chain = running.chains.swap_remove(i);
                    let t = running.tickets.swap_remove(i);
                    state.done.push((t, Some(chain)));
                    handed = true;
                } else {
                    i += 1;
                }
            }
            let mine = running.tickets.iter().position(|t| *t == ticket);
            if let Some(at) = mine.filter(|&at| running.chains[at].is_done()) {
                running.tickets.swap_remove(at);
                let chain = running.chains.swap_remove(at);
                let others = running.tickets.drain(..).zip(running.chains.drain(..));
                for (t, c) in others.rev() {
                    state.queue.push_front((t, c));
                }
                state.running -= 1;
                drop(state);
                self.changed.notify_all();
                return Some(chain);
            }
            if handed {
                self.changed.notify_all();
            }
        }
    }
}

/// Iterations a batch runs between two looks at the queue (about a quarter of a
/// millisecond of one chain on SHA-NI): short enough for arrivals to join soon, long
/// enough that the look costs nothing measurable.
const SLICE: u32 = 8192;

/// A batch being run; if it is dropped with tickets left (a panic while running), their
/// callers are told it was abandoned rather than left waiting.
struct Running<'a> {
    service: &'a DerivationService,
    tickets: Vec<u64>,
    chains: Vec<Chain>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if self.tickets.is_empty() {
            return;
        }
        let mut state = self.service.lock();
        for ticket in self.tickets.drain(..) {
            state.done.push((ticket, None));
        }
        state.running -= 1;
        drop(state);
        self.service.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Salt;

    fn params(iterations: u64) -> KdfParams {
        KdfParams::insecure_low_cost(iterations, Salt::from_bytes([9; 16])).unwrap()
    }

    #[test]
    fn a_lone_derivation_runs_at_once_on_its_own_thread() {
        let service = DerivationService::new(LaneEngine::detect(), 1);
        let key = service.derive_key("alone", &params(2000)).unwrap();
        assert_eq!(key, crate::derive_key("alone", &params(2000)).unwrap());
        let state = service.lock();
        assert!(state.queue.is_empty() && state.done.is_empty());
        assert_eq!(state.running, 0);
    }

    #[test]
    fn many_callers_on_one_batch_slot_each_get_their_own_key() {
        // One batch at a time: callers arriving while it runs queue up and are batched.
        for lanes in [
            Some(LaneEngine::detect()),
            Some(LaneEngine::portable()),
            LaneEngine::sha_ni(),
            LaneEngine::avx2(),
            LaneEngine::avx512(),
        ]
        .into_iter()
        .flatten()
        {
            let service = DerivationService::new(lanes, 1);
            let callers = 2 * service.width() + 3;
            let keys: Vec<FernetKey> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..callers)
                    .map(|i| {
                        let service = &service;
                        s.spawn(move || {
                            let count = 3000 + 500 * (i as u64 % 3);
                            service.derive_key(&format!("caller {i}"), &params(count))
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap().unwrap())
                    .collect()
            });
            for (i, key) in keys.iter().enumerate() {
                let count = 3000 + 500 * (i as u64 % 3);
                let alone = crate::derive_key(&format!("caller {i}"), &params(count)).unwrap();
                assert_eq!(key, &alone, "{lanes:?}: caller {i}");
            }
            let state = service.lock();
            assert!(state.queue.is_empty() && state.done.is_empty());
            assert_eq!(state.running, 0);
        }
    }

    #[test]
    fn only_what_is_queued_is_batched() {
        // The one batch slot held: callers queue; once it is let go, they run in full groups.
        let service = DerivationService::new(LaneEngine::detect(), 1);
        let width = service.width();
        let callers = 2 * width;
        service.lock().running = 1;
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..callers)
                .map(|i| {
                    let service = &service;
                    s.spawn(move || service.derive_key(&format!("queued {i}"), &params(1000)))
                })
                .collect();
            while service.lock().queue.len() < callers {
                std::thread::yield_now();
            }
            service.lock().running = 0;
            service.changed.notify_all();
            for (i, h) in handles.into_iter().enumerate() {
                let alone = crate::derive_key(&format!("queued {i}"), &params(1000)).unwrap();
                assert_eq!(h.join().unwrap().unwrap(), alone);
            }
        });
        assert_eq!(service.lock().batches, 2, "two full groups of {width}");
    }

    #[test]
    fn chains_arriving_while_a_batch_runs_join_it() {
        let service = DerivationService::new(LaneEngine::detect(), 1);
        let joiners = service.width() - 1;
        std::thread::scope(|s| {
            let long = s.spawn(|| service.derive_key("long", &params(3_000_000)));
            while service.lock().batches == 0 {
                std::thread::yield_now();
            }
            let handles: Vec<_> = (0..joiners)
                .map(|i| {
                    let service = &service;
                    s.spawn(move || service.derive_key(&format!("short {i}"), &params(1000)))
                })
                .collect();
            for (i, h) in handles.into_iter().enumerate() {
                let alone = crate::derive_key(&format!("short {i}"), &params(1000)).unwrap();
                assert_eq!(h.join().unwrap().unwrap(), alone);
            }
            let alone = crate::derive_key("long", &params(3_000_000)).unwrap();
            assert_eq!(long.join().unwrap().unwrap(), alone);
        });
        let state = service.lock();
        assert_eq!(state.batches, 1, "one batch, which the others joined");
        assert_eq!(state.joined, joiners as u64);
        assert!(state.queue.is_empty() && state.done.is_empty());
    }

    #[test]
    fn a_leader_done_first_hands_the_unfinished_chains_on() {
        // Short leader, long joiner: the joiner's chain goes back to the queue and its own
        // caller finishes it.
        let service = DerivationService::new(LaneEngine::detect(), 1);
        std::thread::scope(|s| {
            let first = s.spawn(|| service.derive_key("first", &params(40_000)));
            while service.lock().batches == 0 {
                std::thread::yield_now();
            }
            let second = s.spawn(|| service.derive_key("second", &params(400_000)));
            assert_eq!(
                first.join().unwrap().unwrap(),
                crate::derive_key("first", &params(40_000)).unwrap()
            );
            assert_eq!(
                second.join().unwrap().unwrap(),
                crate::derive_key("second", &params(400_000)).unwrap()
            );
        });
        let state = service.lock();
        assert!(state.queue.is_empty() && state.done.is_empty());
        assert_eq!(state.running, 0);
    }

    #[test]
    fn argon2id_and_empty_passphrases_take_the_plain_path() {
        let service = DerivationService::global();
        assert!(matches!(
            service.derive_key("", &params(1000)),
            Err(Error::EmptyPassphrase)
        ));
        let argon = KdfParams::argon2id(
            crate::Argon2Cost::MIN,
            Salt::from_bytes([3; 16]),
            &crate::Argon2Limits::DEFAULT,
        )
        .unwrap();
        assert_eq!(
            service.derive_key("pw", &argon).unwrap(),
            crate::derive_key("pw", &argon).unwrap()
        );
    }

    #[test]
    fn an_abandoned_batch_tells_its_callers() {
        let service = DerivationService::new(LaneEngine::portable(), 1);
        let chain = |p: &[u8]| Chain::start(service.lanes.single(), p, b"salt", 10, 1);
        {
            let mut state = service.lock();
            state.queue.push_back((7, chain(b"a")));
            state.running = 1;
        }
        // A batch that took ticket 7 and was dropped without finishing.
        drop(Running {
            service: &service,
            tickets: vec![7],
            chains: vec![chain(b"a")],
        });
        let state = service.lock();
        assert_eq!(state.running, 0);
        assert!(matches!(state.done.as_slice(), [(7, None)]));
    }
}
