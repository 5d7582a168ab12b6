//! Operator views and actions over a [`Registry`]: users, locked-out users, clearing a
//! lockout, removing a user. Audited.

use credlock_audit::{EventKind, Outcome};
use serde::Serialize;

use super::{Registry, UserId};
use crate::error::Error;
use crate::vault::lockout::LockoutState;

/// A locked-out user and their lockout, from [`Registry::locked_out`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LockedOutUser {
    /// The user.
    #[serde(serialize_with = "as_str")]
    pub user: UserId,
    /// Failures, and until when attempts are refused (or that only an operator can end it).
    pub state: LockoutState,
}

fn as_str<S: serde::Serializer>(user: &UserId, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(user.as_str())
}

impl Registry {
    /// Every user with a stored record, in ascending order of id. Reads the store's listing
    /// (a directory listing, one query), no record.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if the listing fails.
    pub fn users(&self) -> Result<Vec<UserId>, Error> {
        Ok(self.set.keys()?.into_iter().map(UserId::from_key).collect())
    }

    /// The users locked out now (for a time, or until an operator clears them), with their
    /// failure counts and deadlines, in ascending order of id: an operator's "locked users"
    /// view. Audited (`lockouts_listed`, as vault `registry`).
    ///
    /// ```
    /// use credlock::registry::MemoryStoreSet;
    /// use credlock::{Credentials, Policy, Registry, UserId};
    /// use credlock::secrecy::SecretString;
    ///
    /// let registry = Registry::builder(MemoryStoreSet::new())
    ///     .vault_options(|b| b.insecure_kdf_iterations(1_000))
    ///     .open()?;
    /// let bob = UserId::new("bob")?;
    /// let vault = registry.vault(&bob)?;
    /// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// vault.store(Credentials::new("bob@example.com", SecretString::from("pw")), pass)?;
    /// vault.lock();
    /// for _ in 0..5 {
    ///     let _ = vault.unlock(&SecretString::from("guess"));
    /// }
    /// let locked = registry.locked_out()?;
    /// assert_eq!(locked[0].user, bob);
    /// assert_eq!(locked[0].state.retry_after_secs, Some(30));
    /// registry.clear_lockout(&bob)?;
    /// assert!(registry.locked_out()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if the listing fails or a user's lockout state cannot be parsed
    /// (clear that user's lockout).
    pub fn locked_out(&self) -> Result<Vec<LockedOutUser>, Error> {
        let now = self.admin.options().clock.now_ms();
        let locked: Vec<LockedOutUser> = self
            .set
            .lockouts()?
            .into_iter()
            .map(|(key, record)| LockedOutUser {
                user: UserId::from_key(key),
                state: LockoutState::of(&record, now),
            })
            .filter(|u| u.state.until_cleared || u.state.retry_after_secs.is_some())
            .collect();
        let count = u32::try_from(locked.len()).unwrap_or(u32::MAX);
        self.admin
            .audit(EventKind::LockoutsListed, Outcome::Success, |e| {
                e.failures(count)
            })?;
        Ok(locked)
    }

    /// Clears `user`'s lockout and failure count without a passphrase (the operator's
    /// "unlock user"), for every process sharing the store. Audited as the user's
    /// `lockout_cleared`.
    ///
    /// # Errors
    ///
    /// As [`Vault::clear_lockout`](crate::Vault::clear_lockout).
    pub fn clear_lockout(&self, user: &UserId) -> Result<(), Error> {
        self.vault(user)?.clear_lockout()
    }

    /// **Destructive**: removes `user`'s record and lockout state without a passphrase, and
    /// forgets their vault in this process (a vault of theirs held elsewhere becomes empty).
    /// Audited as the user's `user_removed`, success or failure. Removing a user with no
    /// record succeeds.
    ///
    /// ```
    /// use credlock::registry::MemoryStoreSet;
    /// use credlock::{Credentials, Policy, Registry, UserId};
    /// use credlock::secrecy::SecretString;
    ///
    /// let registry = Registry::builder(MemoryStoreSet::new())
    ///     .vault_options(|b| b.insecure_kdf_iterations(1_000))
    ///     .open()?;
    /// let carol = UserId::new("carol")?;
    /// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// registry
    ///     .vault(&carol)?
    ///     .store(Credentials::new("carol@example.com", SecretString::from("pw")), pass)?;
    /// registry.remove_user(&carol)?;
    /// assert!(registry.users()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if the record could not be removed (it is then still there).
    pub fn remove_user(&self, user: &UserId) -> Result<(), Error> {
        let vault = self.vault(user)?;
        vault.delete_record(EventKind::UserRemoved)?;
        self.held().vaults.remove(user);
        Ok(())
    }
}
