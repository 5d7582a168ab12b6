//! Key derivation, the one slow step, with an observer for metrics and tests.

use core::fmt;
use std::sync::Arc;

use credlock_crypto::{FernetKey, KdfParams, derive_key};

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
    /// The PBKDF2 iteration count of this derivation.
    pub iterations: u32,
}

/// Proof that a passphrase attempt passed the lockout and was counted: the only way to
/// derive a key from a passphrase under test
/// ([`Deriver::derive_attempt`]). Only the passphrase gate ([`crate::gate`]) makes one; a
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

/// Derives keys, telling the observer (if any) before and after each derivation.
#[derive(Clone, Default)]
pub(crate) struct Deriver {
    observer: Option<Observer>,
}

impl fmt::Debug for Deriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Deriver")
            .field("observer", &self.observer.as_ref().map(|_| "set"))
            .finish()
    }
}

impl Deriver {
    pub(crate) fn observed(observer: Observer) -> Self {
        Self {
            observer: Some(observer),
        }
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

    fn derive(&self, passphrase: &str, params: &KdfParams) -> Result<FernetKey, Error> {
        let report = |stage| {
            if let Some(observer) = &self.observer {
                observer(DerivationEvent {
                    stage,
                    iterations: params.iterations(),
                });
            }
        };
        report(DerivationStage::Started);
        let key = derive_key(passphrase, params);
        report(DerivationStage::Finished);
        Ok(key?)
    }
}
