//! The passphrase gate: the one way a caller-supplied passphrase reaches a key derivation.
//!
//! [`Gate::test`] is the only code that makes a [`Counted`] proof (a test of this crate
//! checks so), and [`Deriver::derive_attempt`] is the only way to derive a key from a
//! passphrase being tested, and it wants that proof; the other derivation,
//! [`Deriver::derive_new`], takes only a passphrase that passed the policy (and
//! `Deriver::derive_verified`, used only by the KDF upgrade in [`super::upgrade`], one that
//! this gate verified a moment before, so it is no new guess and is not counted). So an operation
//! that tests a passphrase (unlock, passphrase change, export, import) cannot skip the
//! lockout: it has to come through here, which
//!
//! 1. takes the vault's in-process gate, so attempts on one `Vault` take turns;
//! 2. in one atomic update of the persisted lockout state (a compare-and-swap shared by
//!    every process and replica using the store), reads it; while locked out, refuses
//!    **without deriving** (audited); otherwise counts the attempt durably **before**
//!    deriving, so a crash or a kill during the derivation leaves it counted, and
//!    parallel callers in any number of processes see each other's attempts;
//! 3. derives and judges the passphrase;
//! 4. records the outcome: success resets the count (the attempt is un-counted); a wrong
//!    passphrase stays counted, and is audited with the lockout it started, if any.
//!
//! Every wrong passphrase is audited (there are few: each costs a derivation, and the
//! lockout bounds them). Refused attempts cost nothing, so a flood of them is audited as
//! the vault's tally of refused attempts ([`super::tally`]): the first at once, then at most
//! one `attempt_refused` event a second, whose `count` says how many it stands for. Every
//! refused attempt is still refused.

use std::time::Duration;

use credlock_audit::{EventKind, Outcome};
use credlock_crypto::{FernetKey, KdfParams};
use credlock_session::LockoutPolicy;
use credlock_store::{LockoutRecord, Store};
use secrecy::SecretString;

use super::derivation::{Counted, Deriver};
use super::lockout::{counted, remaining, until_cleared};
use super::state::Shared;
use super::tally::Tally;
use crate::audit::Auditor;
use crate::clock::Clock;
use crate::error::{Error, ceil_secs};

/// The operation a passphrase is tested for (named in audit events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    Unlock,
    ChangePassphrase,
    Export,
    Import,
    /// A recovery key, to set a new passphrase.
    Recover,
    /// A passphrase proven by a second client while the vault stays as it is.
    SignIn,
    /// A secret slot's secret (an app's, a passkey's or a key provider's), to unlock.
    UnlockWithSecret,
    /// The passphrase, to stop needing the key provider.
    RemoveKeyProvider,
    /// A passkey's PRF output (from a verified WebAuthn assertion), to unlock.
    #[cfg(feature = "passkeys")]
    UnlockWithPasskey,
}

impl Attempt {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Unlock => "unlock",
            Self::ChangePassphrase => "change_passphrase",
            Self::Export => "export",
            Self::Import => "import",
            Self::Recover => "recover",
            Self::SignIn => "sign_in",
            Self::UnlockWithSecret => "unlock_with_secret",
            Self::RemoveKeyProvider => "remove_key_provider",
            #[cfg(feature = "passkeys")]
            Self::UnlockWithPasskey => "unlock_with_passkey",
        }
    }
}

/// One attempt refused during a lockout, as its audit event tells it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Refused {
    attempt: Attempt,
    failures: u32,
    /// How long attempts are still refused; `None` until an operator clears the lockout.
    wait: Option<Duration>,
}

impl Refused {
    /// Audits `count` refused attempts, the last of which was `self`.
    fn audit(self, auditor: &Auditor, clock: &Clock, count: u32) -> Result<(), Error> {
        auditor.record(clock, EventKind::AttemptRefused, Outcome::Refused, |e| {
            let e = e
                .operation(self.attempt.as_str())
                .failures(self.failures)
                .count(count);
            match self.wait {
                Some(wait) => e.retry_after_secs(ceil_secs(wait).max(1)),
                None => e,
            }
        })
    }
}

/// Audits the refused attempts `refusals` counted and did not audit yet (when the vault
/// goes); a failing sink is ignored.
pub(crate) fn audit_unreported(refusals: &Tally<Refused>, auditor: &Auditor, clock: &Clock) {
    if let Some((count, last)) = refusals.take_unreported() {
        let _ = last.audit(auditor, clock, count);
    }
}

/// What the gate needs of one vault.
pub(crate) struct Gate<'a> {
    pub(crate) store: &'a dyn Store,
    pub(crate) shared: &'a Shared,
    pub(crate) deriver: &'a Deriver,
    pub(crate) auditor: &'a Auditor,
    pub(crate) clock: &'a Clock,
    pub(crate) policy: Option<LockoutPolicy>,
    /// The vault's tally of refused attempts.
    pub(crate) refusals: &'a Tally<Refused>,
}

impl Gate<'_> {
    /// Tests `passphrase` for `attempt`: once it is this attempt's turn, asks `ready` whether
    /// the attempt still makes sense (an unlock whose vault another caller unlocked, or
    /// locked, meanwhile answers there, without counting or deriving); then checks and counts
    /// it against the lockout, derives its key under `params`, and lets `judge` decide
    /// (returning [`Error::WrongPassphrase`] for a wrong one); records the outcome.
    pub(crate) fn test<T>(
        &self,
        attempt: Attempt,
        passphrase: &SecretString,
        params: &KdfParams,
        ready: impl FnOnce(&Shared) -> Result<(), Error>,
        judge: impl FnOnce(FernetKey) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.test_then(attempt, passphrase, params, ready, judge, Ok)
    }

    /// [`Gate::test`], then `settle` with what `judge` returned, still in this attempt's
    /// turn: what the next attempt's `ready` sees (an unlock's key installed) is settled
    /// before it looks. An error of `settle` is not a judgement of the passphrase: the
    /// outcome is recorded before it runs.
    pub(crate) fn test_then<T, U>(
        &self,
        attempt: Attempt,
        passphrase: &SecretString,
        params: &KdfParams,
        ready: impl FnOnce(&Shared) -> Result<(), Error>,
        judge: impl FnOnce(FernetKey) -> Result<T, Error>,
        settle: impl FnOnce(T) -> Result<U, Error>,
    ) -> Result<U, Error> {
        self.counted(attempt, ready, settle, |proof| {
            self.deriver
                .derive_attempt(proof, passphrase, params)
                .and_then(judge)
        })
    }

    /// Tests a secret that needs no KDF (a recovery key, a secret slot's secret) for
    /// `attempt`, exactly as [`Gate::test_then`] tests a passphrase: in turn, `ready`, then
    /// checked and counted against the lockout (a refused attempt runs nothing), then
    /// `judge` (returning [`Error::WrongPassphrase`] for a wrong secret), the outcome
    /// recorded, then `settle`.
    pub(crate) fn test_secret_then<T, U>(
        &self,
        attempt: Attempt,
        ready: impl FnOnce(&Shared) -> Result<(), Error>,
        judge: impl FnOnce() -> Result<T, Error>,
        settle: impl FnOnce(T) -> Result<U, Error>,
    ) -> Result<U, Error> {
        self.counted(attempt, ready, settle, |_proof| judge())
    }

    /// One counted attempt: the turn, `ready`, the lockout's check and count, `run`, the
    /// outcome, `settle`.
    fn counted<T, U>(
        &self,
        attempt: Attempt,
        ready: impl FnOnce(&Shared) -> Result<(), Error>,
        settle: impl FnOnce(T) -> Result<U, Error>,
        run: impl FnOnce(&Counted) -> Result<T, Error>,
    ) -> Result<U, Error> {
        let _turn = self.shared.gate();
        ready(self.shared)?;
        let (proof, counted) = self.count(attempt)?;
        let result = run(&proof);
        match &result {
            Ok(_) => self.uncount()?,
            Err(Error::WrongPassphrase) => self.audit_rejection(attempt, &counted)?,
            // Not a judgement of the secret (an I/O error, a malformed record, an altered
            // slot): the attempt stays counted, on the safe side.
            Err(_) => {}
        }
        settle(result?)
    }

    /// Refuses while locked out (no derivation); otherwise counts the attempt durably and
    /// returns the record as counted. The check and the count are one atomic update of the
    /// stored state ([`Store::update_lockout`], a compare-and-swap), so attempts from other
    /// threads, processes or replicas are neither lost nor let through a lockout they set.
    fn count(&self, attempt: Attempt) -> Result<(Counted, LockoutRecord), Error> {
        let now = self.clock.now_ms();
        let mut refused = None;
        let record = self.store.update_lockout(&mut |record| {
            if let Some(wait) = remaining(record, now) {
                refused = Some((record.failures(), wait, until_cleared(record)));
                return None;
            }
            refused = None;
            Some(counted(record, self.policy, now))
        })?;
        let Some((failures, wait, until_cleared)) = refused else {
            return Ok((Counted::after_counting(), record));
        };
        let this = Refused {
            attempt,
            failures,
            wait: (!until_cleared).then_some(wait),
        };
        if let Some(count) = self.refusals.count(self.clock.idle_now(), this) {
            this.audit(self.auditor, self.clock, count)?;
        }
        Err(if until_cleared {
            Error::LockedOutUntilCleared { failures }
        } else {
            Error::LockedOut { retry_after: wait }
        })
    }

    /// A successful attempt resets the count: the attempt is un-counted.
    fn uncount(&self) -> Result<(), Error> {
        if self.store.read_lockout()?.value != LockoutRecord::default() {
            self.store.reset_lockout()?;
        }
        Ok(())
    }

    /// Audits a wrong passphrase, and the lockout its counting started if it did.
    fn audit_rejection(&self, attempt: Attempt, record: &LockoutRecord) -> Result<(), Error> {
        let started = self
            .policy
            .and_then(|p| p.delay_after(record.failures()))
            .and_then(|_| remaining(record, self.clock.now_ms()));
        let failures = record.failures();
        self.auditor.record(
            self.clock,
            EventKind::PassphraseRejected,
            Outcome::Failure,
            |e| e.operation(attempt.as_str()).failures(failures),
        )?;
        if let Some(wait) = started {
            let forever = until_cleared(record);
            self.auditor.record(
                self.clock,
                EventKind::LockoutStarted,
                Outcome::Refused,
                |e| {
                    let e = e.operation(attempt.as_str()).failures(failures);
                    if forever {
                        e
                    } else {
                        e.retry_after_secs(ceil_secs(wait.max(Duration::from_millis(1))))
                    }
                },
            )?;
        }
        Ok(())
    }
}
