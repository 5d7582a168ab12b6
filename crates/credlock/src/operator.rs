//! Operator control of a vault's lockout: read it and clear it without the passphrase, as
//! an administrator's "locked users" view does. Both are audited.

use credlock_audit::{EventKind, Outcome};

use crate::error::Error;
use crate::vault::Vault;
use crate::vault::lockout::LockoutState;

impl Vault {
    /// The lockout state (failures, and until when attempts are refused), read without a
    /// passphrase, for an operator's "locked users" view. Audited.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, Vault};
    /// use credlock::secrecy::SecretString;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let vault = Vault::builder(dir.path().join("vault.json"))
    ///     .insecure_kdf_iterations(1_000)
    ///     .open()?;
    /// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// vault.lock();
    /// for _ in 0..5 {
    ///     let _ = vault.unlock(&SecretString::from("wrong"));
    /// }
    /// let state = vault.lockout_state()?;
    /// assert_eq!((state.failures, state.retry_after_secs), (5, Some(30)));
    /// vault.clear_lockout()?;                       // the operator lets the user try again
    /// assert_eq!(vault.lockout_state()?.failures, 0);
    /// vault.unlock(&SecretString::from("Tangerine-Rocket-42!"))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if the state cannot be read (a tampered state is
    /// [`StorageKind::Corrupt`](crate::StorageKind::Corrupt): clear it).
    pub fn lockout_state(&self) -> Result<LockoutState, Error> {
        let record = self.backend().load_lockout()?;
        let state = LockoutState::of(&record, self.options().clock.now_ms());
        self.audit(EventKind::LockoutInspected, Outcome::Success, |e| {
            e.failures(state.failures)
        })?;
        Ok(state)
    }

    /// Clears the lockout and the failure count, without a passphrase: the operator's
    /// "unlock user". Audited. Also the way out of a tampered lockout state.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if the state cannot be written.
    pub fn clear_lockout(&self) -> Result<(), Error> {
        let previous = self.backend().load_lockout().ok();
        self.backend().reset_lockout()?;
        self.audit(
            EventKind::LockoutCleared,
            Outcome::Success,
            |e| match previous {
                Some(p) => e.failures(p.failures()),
                None => e,
            },
        )
    }
}
