//! The vault and the registry for async code (feature `tokio`): every call that derives a key
//! or touches storage runs on tokio's blocking pool, behind a bounded [`Pool`] of permits,
//! never on the runtime's worker threads; what answers from memory ([`Vault::status`])
//! stays a plain call.
//!
//! **Cancellation-safe.** A future dropped while it waits for a permit leaves nothing behind;
//! once the work has started it runs to its end on the blocking pool (an attempt is counted
//! and judged whole, a lock guard is released, a write completes or fails), whatever became
//! of the future. So a client that hangs up never leaves a half-counted attempt or a held
//! lock.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use credlock::nonblocking;
//! use credlock::secrecy::SecretString;
//! use credlock::{Credentials, Policy, SessionState, Vault};
//!
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("vault.json");
//! let vault = nonblocking::Vault::new(Vault::builder(&path)
//! #   .insecure_kdf_iterations(1_000)
//!     .open()?);
//! let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
//! vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass).await?;
//! vault.lock().await;
//! assert_eq!(vault.status(), SessionState::Locked);           // from memory, no await
//! vault.unlock(SecretString::from("Tangerine-Rocket-42!")).await?; // on the blocking pool
//! assert_eq!(vault.credentials().await?.email(), "alice@example.com");
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use credlock_client_sessions::{MintedSession, Scope, SessionId, SessionInfo, SessionRequest};
use credlock_policy::ValidPassphrase;
use credlock_session::SessionState;
use credlock_totp::TotpCode;
use secrecy::{ExposeSecret as _, SecretSlice, SecretString};
use tokio::sync::Semaphore;

use crate::credentials::Credentials;
use crate::error::Error;
use crate::keyslot::{SlotId, SlotInfo};
#[cfg(feature = "passkeys")]
use crate::passkeys::PasskeyCeremony;
#[cfg(feature = "passkeys")]
use crate::passkeys::webauthn::RelyingParty;
use crate::recovery_key::RecoveryKey;
use crate::registry::{self, UserId};
use crate::status::SecurityStatus;
use crate::vault as blocking;
use crate::vault::lockout::LockoutState;

/// A bound on the blocking work in flight: at most this many calls derive keys or touch
/// storage at once; the others wait (asynchronously) for a permit. Cheap to clone; share one
/// between the vaults and the registry of an app.
#[derive(Debug, Clone)]
pub struct Pool {
    permits: Arc<Semaphore>,
}

impl Pool {
    /// At most `max` calls at once (at least one).
    #[must_use]
    pub fn new(max: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(max.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }

    /// The default: twice the cores the process may use (derivations are CPU-bound; storage
    /// waits are short), at least 4.
    #[must_use]
    pub fn default_size() -> usize {
        std::thread::available_parallelism()
            .map_or(4, |n| n.get().saturating_mul(2))
            .max(4)
    }

    /// Runs `work` on tokio's blocking pool once a permit is free. The permit travels with the
    /// work, so a dropped future neither cancels started work nor frees its permit early.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> T {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .unwrap_or_else(|_| unreachable!("the pool's semaphore is never closed"));
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        });
        match task.await {
            Ok(value) => value,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => unreachable!("a blocking task is never cancelled"),
            },
        }
    }
}

impl Default for Pool {
    fn default() -> Self {
        Self::new(Self::default_size())
    }
}

/// A [`Vault`](crate::Vault) for async code: the same operations, as `async fn`s where they
/// block. Cheap to clone (an `Arc` inside).
#[derive(Debug, Clone)]
pub struct Vault {
    inner: Arc<blocking::Vault>,
    pool: Pool,
}

impl Vault {
    /// `vault` for async code, with a pool of its own ([`Pool::default`]).
    #[must_use]
    pub fn new(vault: impl Into<Arc<blocking::Vault>>) -> Self {
        Self::with_pool(vault, Pool::default())
    }

    /// `vault` for async code, sharing `pool` with other vaults.
    #[must_use]
    pub fn with_pool(vault: impl Into<Arc<blocking::Vault>>, pool: Pool) -> Self {
        Self {
            inner: vault.into(),
            pool,
        }
    }

    /// The blocking vault inside, for what this type does not offer (call it with
    /// [`Vault::run`] if it blocks).
    #[must_use]
    pub fn blocking(&self) -> &Arc<blocking::Vault> {
        &self.inner
    }

    /// Runs `work` with the blocking vault on the blocking pool, within the pool's bound.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&blocking::Vault) -> T + Send + 'static,
    ) -> T {
        let vault = Arc::clone(&self.inner);
        self.pool.run(move || work(&vault)).await
    }

    /// [`Vault::status`](crate::Vault::status): from memory, at once.
    #[must_use]
    pub fn status(&self) -> SessionState {
        self.inner.status()
    }

    /// [`Vault::check_passphrase`](crate::Vault::check_passphrase): the policy, in memory.
    ///
    /// # Errors
    ///
    /// As [`Vault::check_passphrase`](crate::Vault::check_passphrase).
    pub fn check_passphrase(
        &self,
        passphrase: SecretString,
        email: &str,
    ) -> Result<ValidPassphrase, credlock_policy::PolicyViolations> {
        self.inner.check_passphrase(passphrase, email)
    }

    /// [`Vault::store`](crate::Vault::store).
    ///
    /// # Errors
    ///
    /// As [`Vault::store`](crate::Vault::store).
    pub async fn store(
        &self,
        credentials: Credentials,
        passphrase: ValidPassphrase,
    ) -> Result<(), Error> {
        self.run(move |v| v.store(credentials, passphrase)).await
    }

    /// [`Vault::replace`](crate::Vault::replace).
    ///
    /// # Errors
    ///
    /// As [`Vault::replace`](crate::Vault::replace).
    pub async fn replace(
        &self,
        credentials: Credentials,
        passphrase: ValidPassphrase,
    ) -> Result<(), Error> {
        self.run(move |v| v.replace(credentials, passphrase)).await
    }

    /// [`Vault::unlock`](crate::Vault::unlock).
    ///
    /// # Errors
    ///
    /// As [`Vault::unlock`](crate::Vault::unlock).
    pub async fn unlock(&self, passphrase: SecretString) -> Result<(), Error> {
        self.run(move |v| v.unlock(&passphrase)).await
    }

    /// [`Vault::lock`](crate::Vault::lock) (it revokes the sessions, which a shared session
    /// store keeps in a database).
    pub async fn lock(&self) {
        self.run(blocking::Vault::lock).await;
    }

    /// [`Vault::logout`](crate::Vault::logout).
    ///
    /// # Errors
    ///
    /// As [`Vault::logout`](crate::Vault::logout).
    pub async fn logout(&self) -> Result<(), Error> {
        self.run(blocking::Vault::logout).await
    }

    /// [`Vault::reset`](crate::Vault::reset).
    ///
    /// # Errors
    ///
    /// As [`Vault::reset`](crate::Vault::reset).
    pub async fn reset(&self) -> Result<(), Error> {
        self.run(blocking::Vault::reset).await
    }

    /// [`Vault::touch`](crate::Vault::touch).
    ///
    /// # Errors
    ///
    /// As [`Vault::touch`](crate::Vault::touch).
    pub async fn touch(&self) -> Result<(), Error> {
        self.run(blocking::Vault::touch).await
    }

    /// [`Vault::credentials`](crate::Vault::credentials).
    ///
    /// # Errors
    ///
    /// As [`Vault::credentials`](crate::Vault::credentials).
    pub async fn credentials(&self) -> Result<Credentials, Error> {
        self.run(blocking::Vault::credentials).await
    }

    /// [`Vault::totp`](crate::Vault::totp).
    ///
    /// # Errors
    ///
    /// As [`Vault::totp`](crate::Vault::totp).
    pub async fn totp(&self) -> Result<TotpCode, Error> {
        self.run(blocking::Vault::totp).await
    }

    /// [`Vault::update_credentials`](crate::Vault::update_credentials).
    ///
    /// # Errors
    ///
    /// As [`Vault::update_credentials`](crate::Vault::update_credentials).
    pub async fn update_credentials(&self, credentials: Credentials) -> Result<(), Error> {
        self.run(move |v| v.update_credentials(credentials)).await
    }

    /// [`Vault::change_passphrase`](crate::Vault::change_passphrase).
    ///
    /// # Errors
    ///
    /// As [`Vault::change_passphrase`](crate::Vault::change_passphrase).
    pub async fn change_passphrase(
        &self,
        old: SecretString,
        new: ValidPassphrase,
    ) -> Result<(), Error> {
        self.run(move |v| v.change_passphrase(&old, new)).await
    }

    /// [`Vault::recover`](crate::Vault::recover).
    ///
    /// # Errors
    ///
    /// As [`Vault::recover`](crate::Vault::recover).
    pub async fn recover(
        &self,
        recovery_key: SecretString,
        new: ValidPassphrase,
    ) -> Result<RecoveryKey, Error> {
        self.run(move |v| v.recover(&recovery_key, new)).await
    }

    /// [`Vault::unlock_with_secret`](crate::Vault::unlock_with_secret).
    ///
    /// # Errors
    ///
    /// As [`Vault::unlock_with_secret`](crate::Vault::unlock_with_secret).
    pub async fn unlock_with_secret(&self, secret: SecretSlice<u8>) -> Result<(), Error> {
        self.run(move |v| v.unlock_with_secret(secret.expose_secret()))
            .await
    }

    /// [`Vault::sign_in`](crate::Vault::sign_in).
    ///
    /// # Errors
    ///
    /// As [`Vault::sign_in`](crate::Vault::sign_in).
    pub async fn sign_in(
        &self,
        passphrase: SecretString,
        request: SessionRequest,
    ) -> Result<MintedSession, Error> {
        self.run(move |v| v.sign_in(&passphrase, request)).await
    }

    /// [`Vault::list_slots`](crate::Vault::list_slots) (it reads the file).
    ///
    /// # Errors
    ///
    /// As [`Vault::list_slots`](crate::Vault::list_slots).
    pub async fn list_slots(&self) -> Result<Vec<SlotInfo>, Error> {
        self.run(blocking::Vault::list_slots).await
    }

    /// [`Vault::add_recovery_key`](crate::Vault::add_recovery_key).
    ///
    /// # Errors
    ///
    /// As [`Vault::add_recovery_key`](crate::Vault::add_recovery_key).
    pub async fn add_recovery_key(&self, label: String) -> Result<RecoveryKey, Error> {
        self.run(move |v| v.add_recovery_key(&label)).await
    }

    /// [`Vault::add_secret_slot`](crate::Vault::add_secret_slot).
    ///
    /// # Errors
    ///
    /// As [`Vault::add_secret_slot`](crate::Vault::add_secret_slot).
    pub async fn add_secret_slot(
        &self,
        label: String,
        secret: SecretSlice<u8>,
    ) -> Result<SlotId, Error> {
        self.run(move |v| v.add_secret_slot(&label, secret.expose_secret()))
            .await
    }

    /// [`Vault::remove_slot`](crate::Vault::remove_slot).
    ///
    /// # Errors
    ///
    /// As [`Vault::remove_slot`](crate::Vault::remove_slot).
    pub async fn remove_slot(&self, id: SlotId) -> Result<(), Error> {
        self.run(move |v| v.remove_slot(&id)).await
    }

    /// [`Vault::passkey_registration_options`](crate::Vault::passkey_registration_options).
    ///
    /// # Errors
    ///
    /// As [`Vault::passkey_registration_options`](crate::Vault::passkey_registration_options).
    #[cfg(feature = "passkeys")]
    pub async fn passkey_registration_options(
        &self,
        rp: RelyingParty,
        user_name: String,
    ) -> Result<(serde_json::Value, PasskeyCeremony), Error> {
        self.run(move |v| v.passkey_registration_options(&rp, &user_name))
            .await
    }

    /// [`Vault::passkey_enrolment_options`](crate::Vault::passkey_enrolment_options).
    ///
    /// # Errors
    ///
    /// As [`Vault::passkey_enrolment_options`](crate::Vault::passkey_enrolment_options).
    #[cfg(feature = "passkeys")]
    pub async fn passkey_enrolment_options(
        &self,
        rp: RelyingParty,
        ceremony: PasskeyCeremony,
        registration: Vec<u8>,
    ) -> Result<(serde_json::Value, PasskeyCeremony), Error> {
        self.run(move |v| v.passkey_enrolment_options(&rp, ceremony, &registration))
            .await
    }

    /// [`Vault::add_passkey`](crate::Vault::add_passkey).
    ///
    /// # Errors
    ///
    /// As [`Vault::add_passkey`](crate::Vault::add_passkey).
    #[cfg(feature = "passkeys")]
    pub async fn add_passkey(
        &self,
        rp: RelyingParty,
        ceremony: PasskeyCeremony,
        assertion: Vec<u8>,
        label: String,
    ) -> Result<SlotId, Error> {
        self.run(move |v| v.add_passkey(&rp, ceremony, &assertion, &label))
            .await
    }

    /// [`Vault::passkey_unlock_options`](crate::Vault::passkey_unlock_options).
    ///
    /// # Errors
    ///
    /// As [`Vault::passkey_unlock_options`](crate::Vault::passkey_unlock_options).
    #[cfg(feature = "passkeys")]
    pub async fn passkey_unlock_options(
        &self,
        rp: RelyingParty,
    ) -> Result<(serde_json::Value, PasskeyCeremony), Error> {
        self.run(move |v| v.passkey_unlock_options(&rp)).await
    }

    /// [`Vault::unlock_with_passkey`](crate::Vault::unlock_with_passkey).
    ///
    /// # Errors
    ///
    /// As [`Vault::unlock_with_passkey`](crate::Vault::unlock_with_passkey).
    #[cfg(feature = "passkeys")]
    pub async fn unlock_with_passkey(
        &self,
        rp: RelyingParty,
        ceremony: PasskeyCeremony,
        assertion: Vec<u8>,
    ) -> Result<SlotId, Error> {
        self.run(move |v| v.unlock_with_passkey(&rp, ceremony, &assertion))
            .await
    }

    /// [`Vault::remove_slot_keeping`](crate::Vault::remove_slot_keeping): the client session
    /// `keep` (the one of the client asking) survives the rotation.
    ///
    /// # Errors
    ///
    /// As [`Vault::remove_slot_keeping`](crate::Vault::remove_slot_keeping).
    pub async fn remove_slot_keeping(&self, id: SlotId, keep: SessionId) -> Result<(), Error> {
        self.run(move |v| v.remove_slot_keeping(&id, &keep)).await
    }

    /// [`Vault::mint_session`](crate::Vault::mint_session).
    ///
    /// # Errors
    ///
    /// As [`Vault::mint_session`](crate::Vault::mint_session).
    pub async fn mint_session(&self, request: SessionRequest) -> Result<MintedSession, Error> {
        self.run(move |v| v.mint_session(request)).await
    }

    /// [`Vault::validate_session`](crate::Vault::validate_session).
    ///
    /// # Errors
    ///
    /// As [`Vault::validate_session`](crate::Vault::validate_session).
    pub async fn validate_session(
        &self,
        token: SecretString,
        scope: Scope,
    ) -> Result<SessionInfo, Error> {
        self.run(move |v| v.validate_session(token.expose_secret(), scope))
            .await
    }

    /// [`Vault::credentials_for`](crate::Vault::credentials_for).
    ///
    /// # Errors
    ///
    /// As [`Vault::credentials_for`](crate::Vault::credentials_for).
    pub async fn credentials_for(&self, token: SecretString) -> Result<Credentials, Error> {
        self.run(move |v| v.credentials_for(token.expose_secret()))
            .await
    }

    /// [`Vault::totp_for`](crate::Vault::totp_for).
    ///
    /// # Errors
    ///
    /// As [`Vault::totp_for`](crate::Vault::totp_for).
    pub async fn totp_for(&self, token: SecretString) -> Result<TotpCode, Error> {
        self.run(move |v| v.totp_for(token.expose_secret())).await
    }

    /// [`Vault::sessions`](crate::Vault::sessions).
    ///
    /// # Errors
    ///
    /// As [`Vault::sessions`](crate::Vault::sessions).
    pub async fn sessions(&self) -> Result<Vec<SessionInfo>, Error> {
        self.run(blocking::Vault::sessions).await
    }

    /// [`Vault::revoke_session`](crate::Vault::revoke_session).
    ///
    /// # Errors
    ///
    /// As [`Vault::revoke_session`](crate::Vault::revoke_session).
    pub async fn revoke_session(&self, id: SessionId) -> Result<bool, Error> {
        self.run(move |v| v.revoke_session(&id)).await
    }

    /// [`Vault::revoke_all_sessions`](crate::Vault::revoke_all_sessions).
    ///
    /// # Errors
    ///
    /// As [`Vault::revoke_all_sessions`](crate::Vault::revoke_all_sessions).
    pub async fn revoke_all_sessions(&self) -> Result<usize, Error> {
        self.run(blocking::Vault::revoke_all_sessions).await
    }

    /// [`Vault::rotate_session`](crate::Vault::rotate_session).
    ///
    /// # Errors
    ///
    /// As [`Vault::rotate_session`](crate::Vault::rotate_session).
    pub async fn rotate_session(&self, id: SessionId) -> Result<MintedSession, Error> {
        self.run(move |v| v.rotate_session(&id)).await
    }

    /// [`Vault::security_status`](crate::Vault::security_status) (it reads the file's
    /// metadata and the lockout state).
    pub async fn security_status(&self) -> SecurityStatus {
        self.run(blocking::Vault::security_status).await
    }

    /// [`Vault::lockout_state`](crate::Vault::lockout_state).
    ///
    /// # Errors
    ///
    /// As [`Vault::lockout_state`](crate::Vault::lockout_state).
    pub async fn lockout_state(&self) -> Result<LockoutState, Error> {
        self.run(blocking::Vault::lockout_state).await
    }

    /// [`Vault::clear_lockout`](crate::Vault::clear_lockout).
    ///
    /// # Errors
    ///
    /// As [`Vault::clear_lockout`](crate::Vault::clear_lockout).
    pub async fn clear_lockout(&self) -> Result<(), Error> {
        self.run(blocking::Vault::clear_lockout).await
    }
}

/// A [`Registry`](crate::Registry) for async code: a user's vault comes back as a
/// [`Vault`] of this module sharing the registry's [`Pool`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Registry {
    inner: Arc<registry::Registry>,
    pool: Pool,
}

impl Registry {
    /// `registry` for async code, with a pool of its own ([`Pool::default`]).
    #[must_use]
    pub fn new(registry: impl Into<Arc<registry::Registry>>) -> Self {
        Self::with_pool(registry, Pool::default())
    }

    /// `registry` for async code, its vaults sharing `pool`.
    #[must_use]
    pub fn with_pool(registry: impl Into<Arc<registry::Registry>>, pool: Pool) -> Self {
        Self {
            inner: registry.into(),
            pool,
        }
    }

    /// The blocking registry inside.
    #[must_use]
    pub fn blocking(&self) -> &Arc<registry::Registry> {
        &self.inner
    }

    /// Runs `work` with the blocking registry on the blocking pool, within the pool's bound.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&registry::Registry) -> T + Send + 'static,
    ) -> T {
        let registry = Arc::clone(&self.inner);
        self.pool.run(move || work(&registry)).await
    }

    /// [`Registry::vault`](crate::Registry::vault) (the first call for a user reads its record).
    ///
    /// # Errors
    ///
    /// As [`Registry::vault`](crate::Registry::vault).
    pub async fn vault(&self, user: UserId) -> Result<Vault, Error> {
        let vault = self.run(move |r| r.vault(&user)).await?;
        Ok(Vault::with_pool(vault, self.pool.clone()))
    }

    /// [`Registry::existing_vault`](crate::Registry::existing_vault): the user's vault if
    /// they have a record; nothing is opened or kept for a user without one.
    ///
    /// # Errors
    ///
    /// As [`Registry::existing_vault`](crate::Registry::existing_vault).
    pub async fn existing_vault(&self, user: UserId) -> Result<Option<Vault>, Error> {
        let vault = self.run(move |r| r.existing_vault(&user)).await?;
        Ok(vault.map(|v| Vault::with_pool(v, self.pool.clone())))
    }

    /// What every user's vault is opened with, and nothing about any user
    /// ([`Registry::security_status`](crate::Registry::security_status)): from memory.
    #[must_use]
    pub fn security_status(&self) -> SecurityStatus {
        self.inner.security_status()
    }

    /// [`Registry::users`](crate::Registry::users).
    ///
    /// # Errors
    ///
    /// As [`Registry::users`](crate::Registry::users).
    pub async fn users(&self) -> Result<Vec<UserId>, Error> {
        self.run(registry::Registry::users).await
    }

    /// [`Registry::locked_out`](crate::Registry::locked_out).
    ///
    /// # Errors
    ///
    /// As [`Registry::locked_out`](crate::Registry::locked_out).
    pub async fn locked_out(&self) -> Result<Vec<registry::LockedOutUser>, Error> {
        self.run(registry::Registry::locked_out).await
    }

    /// [`Registry::clear_lockout`](crate::Registry::clear_lockout).
    ///
    /// # Errors
    ///
    /// As [`Registry::clear_lockout`](crate::Registry::clear_lockout).
    pub async fn clear_lockout(&self, user: UserId) -> Result<(), Error> {
        self.run(move |r| r.clear_lockout(&user)).await
    }

    /// [`Registry::remove_user`](crate::Registry::remove_user).
    ///
    /// # Errors
    ///
    /// As [`Registry::remove_user`](crate::Registry::remove_user).
    pub async fn remove_user(&self, user: UserId) -> Result<(), Error> {
        self.run(move |r| r.remove_user(&user)).await
    }

    /// [`Registry::evict_idle`](crate::Registry::evict_idle).
    pub async fn evict_idle(&self) -> usize {
        self.run(registry::Registry::evict_idle).await
    }
}
