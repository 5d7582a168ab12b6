//! The vault's in-memory state and the locks around it.
//!
//! A [`Vault`](crate::Vault) is shared (`&self` methods, `Arc<Vault>` in apps), so its state
//! sits behind two locks with a fixed order:
//!
//! 1. the **passphrase gate** ([`Shared::gate`]): held while a caller-supplied passphrase is
//!    counted, derived and judged (see [`super::gate`]), so that parallel callers take turns
//!    and cannot multiply the guess rate;
//! 2. the store's cross-process lock, held for the lockout bookkeeping and for writes;
//! 3. the **state lock** ([`Shared::state`]): the session, held only for microseconds and
//!    never across a key derivation, a read or a write, so that `status()`, `lock()` and
//!    `security_status()` answer at once while an unlock is deriving.
//!
//! A slow operation notes the state's [`epoch`](State::epoch) before it derives and checks it
//! after: `lock()`, `logout()` and every new key bump it, so a `lock()` that lands during a
//! derivation wins over the unlock that finishes after it.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use credlock_crypto::{FernetKey, KdfParams};
use credlock_session::{Session, SessionOptions, SessionState};

use crate::credentials::Credentials;
use crate::format::{RingId, VaultFile};

/// The session and what goes with it.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) session: Session<FernetKey, Credentials>,
    /// The KDF parameters of the file the in-memory key belongs to (while unlocked).
    pub(crate) params: Option<KdfParams>,
    /// The vault id and key epoch of that file, if it has keyslots (while unlocked).
    pub(crate) ring: Option<RingId>,
    /// Bumped by every change that must win over a derivation running concurrently.
    pub(crate) epoch: u64,
}

impl State {
    pub(crate) fn new(stored: bool, options: SessionOptions) -> Self {
        Self {
            session: Session::with_options(stored, options),
            params: None,
            ring: None,
            epoch: 0,
        }
    }

    /// Applies the idle timeout: an expired session is locked and its key dropped now.
    /// Returns whether this call locked it.
    pub(crate) fn expire_idle(&mut self, now: Instant) -> bool {
        let was_unlocked = self.session.state() == SessionState::Unlocked;
        self.transition(|s| s.enforce_idle_timeout(now));
        let unlocked = self.session.state() == SessionState::Unlocked;
        if !unlocked {
            self.params = None;
            self.ring = None;
        }
        was_unlocked && !unlocked
    }

    /// Drops the key and the credentials; wins over any derivation running now. Returns
    /// whether the vault was unlocked.
    pub(crate) fn lock(&mut self) -> bool {
        let was_unlocked = self.session.state() == SessionState::Unlocked;
        self.transition(Session::lock);
        self.params = None;
        self.ring = None;
        self.epoch = self.epoch.wrapping_add(1);
        was_unlocked
    }

    /// Forgets everything: the record was deleted.
    pub(crate) fn logout(&mut self) {
        self.transition(Session::logout);
        self.params = None;
        self.ring = None;
        self.epoch = self.epoch.wrapping_add(1);
    }

    /// Installs a new key and record after a write (store, replace, passphrase change) of
    /// `file` that began at `epoch`. If a `lock()` or `logout()` landed in the meantime, the write stands
    /// but the vault stays locked.
    pub(crate) fn install(
        &mut self,
        key: FernetKey,
        credentials: Credentials,
        file: &VaultFile,
        epoch: u64,
        now: Instant,
    ) {
        let interrupted = self.epoch != epoch;
        self.transition(|s| s.store(key, credentials, now));
        self.params = Some(file.params);
        self.ring = file.ring_id();
        self.epoch = self.epoch.wrapping_add(1);
        if interrupted {
            self.lock();
        }
    }

    /// Whether the key in memory belongs to `file` (the same KDF parameters, and for
    /// version 3 the same vault and key epoch): a writer holding a stale key must not write.
    pub(crate) fn holds_key_of(&self, file: &VaultFile) -> bool {
        self.params == Some(file.params) && self.ring == file.ring_id()
    }

    /// Brings the session in line with whether a vault is stored: a file that vanished makes
    /// the vault empty; one that appeared (written by another process) makes an empty vault
    /// locked.
    pub(crate) fn refresh_presence(&mut self, present: bool) {
        match (present, self.session.state()) {
            (false, SessionState::Locked | SessionState::Unlocked) => self.logout(),
            (true, SessionState::NoCredentials) => {
                let options = *self.session.options();
                self.session = Session::with_options(true, options);
            }
            _ => {}
        }
    }

    fn transition(
        &mut self,
        f: impl FnOnce(Session<FernetKey, Credentials>) -> Session<FernetKey, Credentials>,
    ) {
        self.session = f(std::mem::take(&mut self.session));
    }
}

/// The state lock and the passphrase gate.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    gate: Mutex<()>,
}

impl Shared {
    pub(crate) fn new(state: State) -> Self {
        Self {
            state: Mutex::new(state),
            gate: Mutex::new(()),
        }
    }

    /// The state, for a few microseconds: never hold it across a derivation or I/O.
    ///
    /// A panic while it was held leaves a consistent session (every transition replaces the
    /// whole session), so a poisoned lock is taken over rather than propagated.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The passphrase gate: held by [`super::gate`] while one passphrase is tested; taken
    /// before the store lock and the state lock.
    pub(crate) fn gate(&self) -> MutexGuard<'_, ()> {
        self.gate.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
