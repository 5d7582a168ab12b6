//! Key derivation, the one slow step, with an observer for metrics and tests.

use core::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credlock_crypto::{FernetKey, KdfParams, derive_key, derive_key_batched};

use credlock_policy::ValidPassphrase;
use secrecy::{ExposeSecret as _, SecretString};

use crate::error::Error;

/// Where a key derivation is, as reported to an observer set with
/// [`VaultBuilder::on_key_derivation`](crate::VaultBuilder::on_key_derivation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DerivationStage {
    /// A derivation is about to start, in the calling thread.
    Started,
    /// It has finished (successfully or not).
    Finished,
}

/// One report to a key-derivation observer. It holds no secret: only the stage and the cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DerivationEvent {
    /// Started or finished.
    pub stage: DerivationStage,
    /// The PBKDF2 iteration count of this derivation (for Argon2id: its passes).
    pub iterations: u32,
}

/// Proof that a passphrase attempt passed the lockout and was counted: the only way to
/// derive a key from a passphrase under test
/// ([`Deriver::derive_attempt`]). Only the passphrase gate ([`super::gate`]) makes one; a
/// test of this crate checks that no other module calls [`Counted::after_counting`].
#[derive(Debug)]
pub(crate) struct Counted {
    _private: (),
}

impl Counted {
    /// For the gate only: called after the attempt was counted durably.
    pub(crate) const fn after_counting() -> Self {
        Self { _private: () }
    }
}

/// An observer of key derivations.
pub(crate) type Observer = Arc<dyn Fn(DerivationEvent) + Send + Sync>;

/// A stand-in for timing a calibration probe: how long a derivation of this cost "takes".
pub(crate) type ProbeTimer = Arc<dyn Fn(DerivationEvent) -> Duration + Send + Sync>;

/// Derives keys, telling the observer (if any) before and after each derivation.
#[derive(Clone, Default)]
pub(crate) struct Deriver {
    observer: Option<Observer>,
    timer: Option<ProbeTimer>,
}

impl fmt::Debug for Deriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deriver")
            .field("observer", &self.observer.as_ref().map(|_| "set"))
            .field("timer", &self.timer.as_ref().map(|_| "set"))
            .finish()
    }
}

/// The passphrase calibration probes derive from (the time does not depend on it).
const PROBE_PASSPHRASE: &str = "credlock calibration probe";

impl Deriver {
    pub(crate) fn observed(observer: Observer) -> Self {
        Self {
            observer: Some(observer),
            timer: None,
        }
    }

    /// This deriver with the probe timer of `other`, if it has one.
    pub(crate) fn with_timer_of(self, other: &Self) -> Self {
        Self {
            timer: other.timer.clone(),
            ..self
        }
    }

    /// The same deriver, with calibration probes timed by `timer` instead of run.
    pub(crate) fn with_probe_timer(self, timer: ProbeTimer) -> Self {
        Self {
            timer: Some(timer),
            ..self
        }
    }

    /// Times one derivation at `params` with a fixed, non-secret passphrase, for calibrating
    /// a latency budget. Reported to the observer like any derivation. With a probe timer
    /// (tests), the timer answers and nothing is derived.
    pub(crate) fn time_probe(&self, params: &KdfParams) -> Result<Duration, Error> {
        if let Some(timer) = &self.timer {
            return Ok(timer(DerivationEvent {
                stage: DerivationStage::Finished,
                iterations: params.iterations(),
            }));
        }
        // Alone, not through the batching service: the probe times one derivation's latency.
        let start = Instant::now();
        drop(self.observed_derivation(params, || derive_key(PROBE_PASSPHRASE, params))?);
        Ok(start.elapsed())
    }

    /// Derives a new key from a passphrase that **was already verified** in this operation
    /// (it opened the vault through the gate a moment ago), to re-seal the record under new
    /// KDF parameters (the upgrade after an unlock). This is not a test of the passphrase:
    /// it is not counted towards the lockout and cannot fail as a wrong guess.
    pub(crate) fn derive_verified(
        &self,
        passphrase: &SecretString,
        params: &KdfParams,
    ) -> Result<FernetKey, Error> {
        self.derive(passphrase.expose_secret(), params)
    }

    /// Derives the key of a new passphrase (one that passed the policy), for a new vault or
    /// a passphrase change: no guess is being tested.
    pub(crate) fn derive_new(
        &self,
        passphrase: &ValidPassphrase,
        params: &KdfParams,
    ) -> Result<FernetKey, Error> {
        self.derive(passphrase.expose_secret(), params)
    }

    /// Derives the key of a caller-supplied passphrase that is being tested. Only the
    /// passphrase gate can call this: it alone makes the [`Counted`] proof that the attempt
    /// passed the lockout and was counted first.
    pub(crate) fn derive_attempt(
        &self,
        _counted: &Counted,
        passphrase: &SecretString,
        params: &KdfParams,
    ) -> Result<FernetKey, Error> {
        self.derive(passphrase.expose_secret(), params)
    }

    /// Derives through the process-wide derivation service, which runs PBKDF2 derivations
    /// waiting at the same moment side by side (a lone one runs at once, alone); every
    /// caller here has already passed its own gate.
    fn derive(&self, passphrase: &str, params: &KdfParams) -> Result<FernetKey, Error> {
        self.observed_derivation(params, || derive_key_batched(passphrase, params))
    }

    /// Runs `derivation`, telling the observer before and after.
    fn observed_derivation(
        &self,
        params: &KdfParams,
        derivation: impl FnOnce() -> Result<FernetKey, credlock_crypto::Error>,
    ) -> Result<FernetKey, Error> {
        let report = |stage| {
            if let Some(observer) = &self.observer {
                observer(DerivationEvent {
                    stage,
                    iterations: params.iterations(),
                });
            }
        };
        report(DerivationStage::Started);
        let key = derivation();
        report(DerivationStage::Finished);
        Ok(key?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_says_which_hooks_are_set_and_nothing_else() {
        assert_eq!(
            format!("{:?}", Deriver::default()),
            "Deriver { observer: None, timer: None }"
        );
        let observed = Deriver::observed(Arc::new(|_| {}));
        let timed = Deriver::default().with_probe_timer(Arc::new(|_| Duration::ZERO));
        assert_eq!(
            format!("{:?}", observed.with_timer_of(&timed)),
            r#"Deriver { observer: Some("set"), timer: Some("set") }"#
        );
    }

    #[test]
    fn a_new_observer_keeps_the_probe_timer() {
        let timed = Deriver::default()
            .with_probe_timer(Arc::new(|e| Duration::from_secs(e.iterations.into())));
        let observed = Deriver::observed(Arc::new(|_| {})).with_timer_of(&timed);
        let params = KdfParams::new(100_000, credlock_crypto::Salt::from_bytes([7; 16])).unwrap();
        assert_eq!(
            observed.time_probe(&params).unwrap(),
            Duration::from_secs(100_000),
            "timed, not derived"
        );
    }
}
