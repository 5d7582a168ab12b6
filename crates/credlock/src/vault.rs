//! The vault: credentials sealed under a passphrase, locked or unlocked.
//!
//! This file tells the story (create, store, unlock, lock, logout, reset, read, update,
//! change the passphrase) and calls only downward: into the machinery under `vault/` (the
//! gate, the lockout, the state, the record, the derivation, the KDF plan and upgrade, the
//! sweeper, the per-vault session holder), which never names anything above it. The faces
//! that add capabilities (`builder`, `sessions`, `operator`, `status`, the Eclosion
//! migration) stand above this file and are never called by it.

pub(crate) mod client_sessions;
pub(crate) mod config;
pub(crate) mod derivation;
pub(crate) mod gate;
pub(crate) mod kdf_plan;
pub(crate) mod lockout;
pub(crate) mod record;
pub(crate) mod sealing;
pub(crate) mod state;
pub(crate) mod sweeper;
pub(crate) mod tally;
mod upgrade;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use credlock_audit::{AuditEvent, EventKind, Outcome};
use credlock_client_sessions::SessionId;
use credlock_crypto::{FernetKey, KdfParams};
use credlock_policy::{PolicyViolations, ValidPassphrase};
use credlock_session::SessionState;
use credlock_store::{MAX_CAS_ATTEMPTS, Store, StoreEvent, Version, WriteOutcome};
use credlock_totp::TotpCode;
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use self::client_sessions::Sessions;
use self::config::Options;
use self::gate::{Attempt, Gate, Refused};
use self::state::{Shared, State};
use self::sweeper::SweeperHandle;
use self::tally::Tally;
use self::upgrade::Upgrade;
use crate::credentials::Credentials;
use crate::error::Error;
use crate::format::{Opened, VaultFile};
use crate::keyslot::{Keyring, MAX_SLOTS, NewSlot, Slot, SlotId, SlotKind, duplicate_key};
use crate::recovery_key::RecoveryKey;

/// A credentials vault: one sealed record in one file, and the session that is locked,
/// unlocked or empty.
///
/// The passphrase is never kept: only the key derived from it, while unlocked, zeroized on
/// [`lock`](Vault::lock), [`logout`](Vault::logout), idle timeout and drop. A restart is
/// always locked.
///
/// A vault is `Send + Sync` and every method takes `&self`: open it once and share it
/// (`Arc<Vault>`) between threads or request handlers. Key derivation never holds the
/// vault's state lock, so [`status`](Vault::status), [`lock`](Vault::lock) and
/// [`security_status`](Vault::security_status) answer at once while an unlock is deriving,
/// and a `lock()` that lands during a derivation wins. Operations that test a passphrase take
/// turns, so parallel callers cannot multiply the guess rate, and each one counts against a
/// lockout kept beside the vault file, shared by every `Vault` value and process and kept
/// across restarts (see [`Vault::lockout_state`]). Security events are audited
/// ([`crate::audit`]). Methods that derive a key or write the file **block** (see the
/// [crate docs](crate#what-blocks-and-for-how-long)).
///
/// ```
/// use credlock::{Credentials, Policy, SessionState, Vault};
/// use credlock::secrecy::{ExposeSecret, SecretString};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("vault.json");
/// # let path_for_test = path.clone();
/// # let open = |p: &std::path::Path| Vault::builder(p).insecure_kdf_iterations(1_000).open();
/// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
/// let creds = Credentials::new("alice@example.com", SecretString::from("monarch-pw-123"));
///
/// let vault = Vault::open(&path)?;               // no credentials yet
/// # let vault = open(&path)?;
/// vault.store(creds, pass)?;                     // sealed, written 0600, unlocked
/// vault.lock();
/// assert_eq!(vault.status(), SessionState::Locked);
///
/// let vault = Vault::open(&path)?;               // after a restart: locked
/// # let vault = open(&path)?;
/// vault.unlock(&SecretString::from("Tangerine-Rocket-42!"))?;
/// assert_eq!(vault.credentials()?.password().expose_secret(), "monarch-pw-123");
/// vault.logout()?;                               // file deleted, key zeroized
/// assert!(!path.exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Vault {
    store: Box<dyn Store>,
    options: Options,
    shared: Arc<Shared>,
    /// The idle sweeper watching this vault, if asked for.
    sweeper: Option<Arc<SweeperHandle>>,
    /// Passphrase attempts refused during a lockout, audited at most once a second.
    refused_attempts: Tally<Refused>,
}

impl Drop for Vault {
    /// Refusals counted since the last event that told of them (the end of a flood) are
    /// audited as the vault goes, so the trail's counts add up.
    fn drop(&mut self) {
        let (auditor, clock) = (&self.options.auditor, &self.options.clock);
        gate::audit_unreported(&self.refused_attempts, auditor, clock);
        self.options.sessions.audit_unreported(auditor, clock);
    }
}

impl Vault {
    pub(crate) fn from_parts(store: Box<dyn Store>, options: Options) -> Result<Self, Error> {
        let stored = store.load()?.is_some();
        let shared = Arc::new(Shared::new(State::new(stored, options.session)));
        let sweeper = options.idle_sweeper.then(|| {
            sweeper::register(sweeper::Entry {
                shared: Arc::downgrade(&shared),
                sessions: options.sessions.clone(),
                auditor: options.auditor.clone(),
                clock: options.clock.clone(),
            })
        });
        Ok(Self {
            shared,
            store,
            options,
            sweeper,
            refused_attempts: Tally::default(),
        })
    }

    /// The session state now (an unlocked vault idle past its timeout reports `Locked`).
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// assert_eq!(vault.status(), SessionState::Unlocked);
    /// vault.lock();
    /// assert_eq!(vault.status(), SessionState::Locked);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn status(&self) -> SessionState {
        self.expire_idle();
        self.shared.state().session.state()
    }

    /// Whether a key is in memory, without applying the idle timeout (nothing is audited).
    pub(crate) fn holds_key(&self) -> bool {
        self.shared.state().session.state() == SessionState::Unlocked
    }

    /// Applies the idle timeout now: an expired key is dropped, the sessions revoked, and
    /// the idle lock audited.
    pub(crate) fn expire_idle(&self) {
        let idle_locked = self.shared.state().expire_idle(self.now());
        if idle_locked {
            let _ = self.audit(EventKind::IdleLocked, Outcome::Success, |e| e);
            self.revoke_sessions_on("idle_lock");
        }
    }

    /// Now on the idle clock (which counts suspend).
    pub(crate) fn now(&self) -> Instant {
        self.options.clock.idle_now()
    }

    /// Revokes every client session as the key goes (lock, logout); never fails the lock.
    fn revoke_sessions_on(&self, operation: &'static str) {
        let _ =
            self.options
                .sessions
                .revoke_all(&self.options.auditor, &self.options.clock, operation);
    }

    /// The vault's client sessions.
    pub(crate) fn session_registry(&self) -> &Sessions {
        &self.options.sessions
    }

    /// Counts as activity for the idle lock, while unlocked: the idle clock restarts. Apps
    /// call it on user activity that does not otherwise reach the vault; reading the
    /// credentials, a TOTP code, an update or a session token validation already count.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::SecretString;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// vault.touch()?;
    /// vault.lock();
    /// assert!(matches!(vault.touch(), Err(credlock::Error::Locked)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] (also once idle-expired: activity cannot revive it),
    /// [`Error::NoCredentials`].
    pub fn touch(&self) -> Result<(), Error> {
        self.note_activity().map(|_| ())
    }

    /// Applies the idle timeout, then records activity if unlocked; returns the state's
    /// epoch.
    pub(crate) fn note_activity(&self) -> Result<u64, Error> {
        self.expire_idle();
        let now = self.now();
        let mut state = self.shared.state();
        state.session.key(now)?;
        state.session.touch(now);
        Ok(state.epoch)
    }

    /// Checks a new passphrase for the account `email` against this vault's policy, with the
    /// email (and its parts) as context words: the same check [`Vault::store`],
    /// [`Vault::replace`] and [`Vault::change_passphrase`] apply. The policy sees the
    /// passphrase as the KDF will hash it: its NFKC form, unless the vault is kept
    /// Eclosion-compatible.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let email = "alice@example.com";
    /// let violations = vault.check_passphrase(SecretString::from("Password1234!"), email).unwrap_err();
    /// assert!(violations.contains("common_passphrase"));
    /// let violations = vault.check_passphrase(SecretString::from("Alice@example.com1"), email).unwrap_err();
    /// assert!(violations.contains("context_word"));
    /// assert!(vault.check_passphrase(SecretString::from("Marmalade-Comet-17?"), email).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Every unmet requirement at once, as [`PolicyViolations`].
    pub fn check_passphrase(
        &self,
        passphrase: SecretString,
        email: &str,
    ) -> Result<ValidPassphrase, PolicyViolations> {
        // The policy judges the text the KDF hashes (NFKC unless kept Eclosion-compatible),
        // so a look-alike spelling (fullwidth letters, ligatures) of a blocked passphrase is
        // blocked too. The passphrase returned is that text, which hashes the same.
        let hashed = self
            .options
            .kdf
            .normalization
            .apply(passphrase.expose_secret());
        let passphrase = if hashed.as_str() == passphrase.expose_secret() {
            passphrase
        } else {
            SecretString::from(hashed.as_str().to_owned())
        };
        self.options.policy.check_with_context(passphrase, &[email])
    }

    /// Re-checks a passphrase validated elsewhere against this vault's policy and the
    /// account's email, as [`Vault::check_passphrase`] does.
    fn enforce_policy(&self, passphrase: &ValidPassphrase, email: &str) -> Result<(), Error> {
        let copy = SecretString::from(passphrase.expose_secret().to_owned());
        self.check_passphrase(copy, email)?;
        Ok(())
    }

    /// Seals `credentials` under `passphrase` into a new vault and leaves it unlocked.
    ///
    /// # Errors
    ///
    /// [`Error::VaultExists`] if credentials are already stored (use [`Vault::replace`] to
    /// overwrite them on purpose); [`Error::Policy`] if the passphrase does not meet this
    /// vault's policy for the credentials' email (see [`Vault::check_passphrase`]);
    /// [`Error::InvalidMfaSecret`] if the MFA secret is not a TOTP secret (see
    /// [`Credentials::validate`]; a short one is accepted); [`Error::Storage`] if writing
    /// fails, in which case nothing changed; [`Error::Crypto`] if the random source fails.
    pub fn store(
        &self,
        credentials: Credentials,
        passphrase: ValidPassphrase,
    ) -> Result<(), Error> {
        self.enforce_policy(&passphrase, credentials.email())?;
        self.write_sealed(credentials, &passphrase, false)?;
        self.audit(EventKind::VaultCreated, Outcome::Success, |e| e)
    }

    /// Like [`Vault::store`], but replaces any vault already stored, whatever its passphrase.
    /// Replicas sharing the store hear it (see [`Vault::lock`]): they drop the old key and
    /// the sessions they keep.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let other = Policy::default().check(SecretString::from("Marmalade-Comet-17?"))?;
    /// vault.replace(Credentials::new("bob@example.com", SecretString::from("pw2")), other)?;
    /// assert_eq!(vault.credentials()?.email(), "bob@example.com");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Vault::store`], without [`Error::VaultExists`].
    pub fn replace(
        &self,
        credentials: Credentials,
        passphrase: ValidPassphrase,
    ) -> Result<(), Error> {
        self.enforce_policy(&passphrase, credentials.email())?;
        self.write_sealed(credentials, &passphrase, true)?;
        self.audit(EventKind::VaultCreated, Outcome::Success, |e| {
            e.operation("replace")
        })
    }

    /// Seals and writes new credentials a user gave (their MFA secret checked), and leaves
    /// the vault unlocked (unless a `lock()` landed).
    pub(crate) fn write_sealed(
        &self,
        credentials: Credentials,
        passphrase: &ValidPassphrase,
        replace: bool,
    ) -> Result<(), Error> {
        credentials.validate()?;
        self.write_sealed_with(
            credentials,
            passphrase,
            replace,
            self.options.new_kdf_params()?,
        )
    }

    /// Seals and writes `credentials` as they are under the given KDF parameters: what
    /// [`Vault::write_sealed`] writes once it has checked them, and what an import moves
    /// from another application (its MFA secret kept as it was).
    pub(crate) fn write_sealed_with(
        &self,
        credentials: Credentials,
        passphrase: &ValidPassphrase,
        replace: bool,
        params: KdfParams,
    ) -> Result<(), Error> {
        if !replace && self.store.describe().present {
            self.shared.state().refresh_presence(true);
            return Err(Error::VaultExists { path: self.path() });
        }
        let epoch = self.shared.state().epoch;
        let passphrase_key = self.options.deriver.derive_new(passphrase, &params)?;
        let (key, file) = sealing::seal_new(
            self.options.keyslots(),
            passphrase_key,
            params,
            self.options.provider(),
            &record::to_bytes(&credentials)?,
            self.options.clock.now_ms(),
        )?;
        let bytes = file.to_bytes()?;
        if replace {
            self.store.save(&bytes)?;
            self.announce(StoreEvent::Replaced);
        } else if self.store.create(&bytes)? == WriteOutcome::Conflict {
            // Created elsewhere while the key was being derived.
            self.shared.state().refresh_presence(true);
            return Err(Error::VaultExists { path: self.path() });
        } else {
            self.announce(StoreEvent::Created);
        }
        // New credentials start with a clean slate.
        self.store.reset_lockout()?;
        self.shared
            .state()
            .install(key, credentials, &file, epoch, self.now());
        self.poke_sweeper();
        if replace {
            // Sessions were granted under the credentials and passphrase just replaced.
            self.revoke_sessions_on("replace");
        }
        Ok(())
    }

    /// Unlocks the vault: derives the key from `passphrase` and the parameters in the file,
    /// and opens the record.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// # vault.lock();
    /// assert!(matches!(
    ///     vault.unlock(&SecretString::from("wrong")),
    ///     Err(credlock::Error::WrongPassphrase)
    /// ));
    /// vault.unlock(&SecretString::from("Tangerine-Rocket-42!"))?;
    /// assert_eq!(vault.status(), SessionState::Unlocked);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::WrongPassphrase`]: the vault stays locked and the failure counts towards
    ///   the lockout (kept beside the vault file, so it holds across `Vault` values,
    ///   processes and restarts).
    /// - [`Error::LockedOut`]: too many failures; no derivation is attempted.
    /// - [`Error::AlreadyUnlocked`], [`Error::NoCredentials`]: wrong state.
    /// - [`Error::Interrupted`]: the right passphrase, but [`Vault::lock`] or
    ///   [`Vault::logout`] was called while the key was being derived; the vault stays locked.
    /// - [`Error::VaultMissing`]: the file was removed behind our back (the vault is now
    ///   empty).
    /// - [`Error::CorruptVault`], [`Error::UnsupportedVersion`],
    ///   [`Error::UnsupportedAlgorithm`], [`Error::KdfParams`]: the file is not a vault this
    ///   version can open; it is left untouched and no derivation is attempted for bad
    ///   parameters.
    /// - [`Error::Storage`]: the file could not be read safely.
    ///
    /// After a successful unlock, a vault whose key derivation is weaker than the options'
    /// target is re-sealed at the target (see
    /// [`VaultBuilder::kdf_latency_budget`](crate::VaultBuilder::kdf_latency_budget),
    /// [`VaultBuilder::keep_eclosion_compatible_kdf`](crate::VaultBuilder::keep_eclosion_compatible_kdf)),
    /// which takes one more derivation at the new cost. A failure to write it leaves the vault
    /// unlocked and unchanged (audited; tried again at the next unlock).
    pub fn unlock(&self, passphrase: &SecretString) -> Result<(), Error> {
        let (epoch, file) = self.begin_unlock()?;
        // A key provider missing or wrong is told before the attempt is counted.
        file.check_key_provider(self.options.provider())?;
        let (plaintext, slot) = self.gate().test_then(
            Attempt::Unlock,
            passphrase,
            &file.params,
            |shared| self.still_wanted(shared, epoch),
            |key| file.open_with_passphrase_key(key, self.options.provider()),
            |opened| self.install_opened(&file, epoch, opened),
        )?;
        self.finish_unlock(slot.as_ref())?;
        // A vault weaker than the options' KDF target is re-sealed at it, and one of an
        // older format moves to keyslots (`vault/upgrade.rs`).
        Upgrade {
            store: self.store.as_ref(),
            shared: &self.shared,
            options: &self.options,
        }
        .after_unlock(passphrase, &file, &plaintext, slot.as_ref(), epoch)
    }

    /// Unlocks the vault with the secret of a `secret` keyslot (one an application added
    /// with [`Vault::add_secret_slot`](crate::Vault::add_secret_slot)): no KDF runs, but the
    /// attempt takes its turn and counts against the lockout exactly as a passphrase does.
    ///
    /// # Errors
    ///
    /// As [`Vault::unlock`]; [`Error::WrongPassphrase`] when no secret slot opens with
    /// `secret`; [`Error::NoKeyslots`] for a vault of format version 1 or 2.
    pub fn unlock_with_secret(&self, secret: &[u8]) -> Result<(), Error> {
        self.unlock_through_slot(Attempt::UnlockWithSecret, |file| {
            file.open_with_secret(SlotKind::Secret, secret)
        })
        .map(|_| ())
    }

    /// Unlocks through a slot other than the passphrase's: `open` tests the secret against
    /// the file read (no KDF), in turn, counted against the lockout as a passphrase is.
    /// Returns the slot that opened it.
    pub(crate) fn unlock_through_slot(
        &self,
        attempt: Attempt,
        open: impl FnOnce(&VaultFile) -> Result<Opened, Error>,
    ) -> Result<Option<SlotId>, Error> {
        let (epoch, file) = self.begin_unlock()?;
        if file.keyring.is_none() {
            return Err(Error::NoKeyslots {
                version: file.version(),
            });
        }
        let (_plaintext, slot) = self.gate().test_secret_then(
            attempt,
            |shared| self.still_wanted(shared, epoch),
            || open(&file),
            |opened| self.install_opened(&file, epoch, opened),
        )?;
        self.finish_unlock(slot.as_ref())?;
        Ok(slot)
    }

    /// The start of an unlock: the idle timeout applied, the state checked, its epoch noted,
    /// the file read.
    fn begin_unlock(&self) -> Result<(u64, VaultFile), Error> {
        self.expire_idle();
        let epoch = {
            let state = self.shared.state();
            state.session.check_unlock_allowed(self.now())?;
            state.epoch
        };
        let file = self.read_file()?;
        Ok((epoch, file))
    }

    /// Whether an unlock begun at `epoch` still makes sense once it is its turn: a caller
    /// queued behind another unlock (or a lock) finds out before deriving.
    fn still_wanted(&self, shared: &Shared, epoch: u64) -> Result<(), Error> {
        let state = shared.state();
        state.session.check_unlock_allowed(self.now())?;
        if state.epoch == epoch {
            Ok(())
        } else {
            Err(Error::Interrupted)
        }
    }

    /// Installs what an unlock of `file` (begun at `epoch`) opened, in the same turn, so the
    /// next queued unlock sees it.
    fn install_opened(
        &self,
        file: &VaultFile,
        epoch: u64,
        opened: Opened,
    ) -> Result<(Zeroizing<Vec<u8>>, Option<SlotId>), Error> {
        let credentials = record::from_bytes(&opened.plaintext)?;
        let mut state = self.shared.state();
        if state.epoch != epoch {
            return Err(Error::Interrupted);
        }
        let session = std::mem::take(&mut state.session);
        match session.unlock(opened.key, credentials, self.now()) {
            Ok(s) => {
                state.session = s;
                state.params = Some(file.params);
                state.ring = file.ring_id();
                Ok((opened.plaintext, opened.slot))
            }
            Err((s, e)) => {
                state.session = s;
                Err(e.into())
            }
        }
    }

    /// The end of an unlock: the sweeper told, the success audited (naming the slot).
    fn finish_unlock(&self, slot: Option<&SlotId>) -> Result<(), Error> {
        self.poke_sweeper();
        self.audit(
            EventKind::UnlockSucceeded,
            Outcome::Success,
            |e| match slot {
                Some(id) => e.slot(id.as_str()),
                None => e,
            },
        )
        .inspect_err(|_| {
            self.shared.state().lock();
        })
    }

    /// The idle sweeper watching this vault, if any.
    #[cfg(test)]
    pub(crate) fn sweeper(&self) -> Option<&Arc<SweeperHandle>> {
        self.sweeper.as_ref()
    }

    /// The shared state, as the sweeper holds it.
    #[cfg(test)]
    pub(crate) fn shared_arc(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// A new idle deadline: the sweeper, if any, looks again.
    fn poke_sweeper(&self) {
        if let Some(sweeper) = &self.sweeper {
            sweeper.poke();
        }
    }

    /// Locks the vault: the key and the credentials are dropped and zeroized, and every
    /// client session is revoked. Does nothing here if the vault is not unlocked.
    ///
    /// Over a store shared by replicas (a [`Registry`](crate::Registry) on PostgreSQL), the
    /// lock is announced, whether or not the vault was unlocked here: every other replica's
    /// registry drops the user's key and the sessions it keeps. The announcement is queued,
    /// not waited for.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// vault.lock();
    /// assert_eq!(vault.status(), SessionState::Locked);
    /// assert!(vault.credentials().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lock(&self) {
        let was_unlocked = self.shared.state().lock();
        // Whether or not it was unlocked here, the user locked it: every replica drops it.
        self.announce(StoreEvent::Locked);
        if was_unlocked {
            // Locking never fails; a failing audit sink cannot undo it.
            let _ = self.audit(EventKind::Locked, Outcome::Success, |e| e);
        }
        self.revoke_sessions_on("lock");
    }

    /// Tells the other holders of the record (replicas sharing the store) what happened
    /// here, so that they drop what it ended. Never fails the operation: a store that could
    /// not send it keeps it and sends it later (PostgreSQL), and the delay is traced.
    pub(crate) fn announce(&self, event: StoreEvent) {
        if let Err(e) = self.store.announce(event) {
            tracing::warn!(
                event = event.as_str(),
                error = %e,
                "an announcement to the other replicas is delayed"
            );
        }
    }

    /// Acts on what another holder of the record (a replica) announced, without announcing
    /// anything itself: a lock, a passphrase change or new credentials there drop the key
    /// and the client sessions here; a logout or a reset there leaves this vault empty;
    /// sessions revoked there are revoked here; a record created there makes an empty vault
    /// locked; credentials updated there (same key) are re-read here with the key held, and
    /// if that fails (the record is gone, unreadable, or sealed under other parameters) the
    /// key and the sessions are dropped, never the stale credentials served. `None` (an event
    /// this version cannot name, or announcements that were missed) drops the key and the
    /// sessions. Shared sessions are left to the replica that
    /// announced: it removed the rows already, and a row minted since is not this one's to
    /// remove.
    pub(crate) fn hear(&self, event: Option<StoreEvent>) {
        let operation = match event {
            Some(StoreEvent::Locked) => "replica_locked",
            Some(StoreEvent::LoggedOut) => "replica_logged_out",
            Some(StoreEvent::Reset) => "replica_reset",
            Some(StoreEvent::PassphraseChanged) => "replica_passphrase_changed",
            Some(StoreEvent::Replaced) => "replica_replaced",
            Some(StoreEvent::Created) => "replica_created",
            Some(StoreEvent::SessionsRevoked) => "replica_sessions_revoked",
            Some(StoreEvent::CredentialsUpdated) => "replica_credentials_updated",
            _ => "replica_unknown",
        };
        // The same key opens the updated record: re-read it (nothing held, nothing to do),
        // until the stored version stands still, so that an update made here meanwhile is
        // not replaced by the older record read before it.
        let reread = || -> Result<(), Error> {
            let (mut file, mut version) = self.read_file_versioned()?;
            for _ in 0..MAX_CAS_ATTEMPTS {
                {
                    let mut state = self.shared.state();
                    let now = self.now();
                    let Ok(key) = state.session.key(now) else {
                        return Ok(());
                    };
                    if !state.holds_key_of(&file) {
                        return Err(Error::ChangedElsewhere);
                    }
                    let credentials = record::from_bytes(&key.open(&file.token)?)?;
                    state.session.replace_record(credentials, now)?;
                }
                let (again, stored) = self.read_file_versioned()?;
                if stored == version {
                    return Ok(());
                }
                (file, version) = (again, stored);
            }
            Err(Error::ChangedElsewhere)
        };
        if event == Some(StoreEvent::CredentialsUpdated) && reread().is_ok() {
            return;
        }
        let (auditor, clock) = (&self.options.auditor, &self.options.clock);
        match event {
            Some(StoreEvent::SessionsRevoked) => {
                let _ = self
                    .options
                    .sessions
                    .revoke_heard(auditor, clock, operation);
            }
            Some(StoreEvent::Created) => {
                let present = self.store.describe().present;
                self.shared.state().refresh_presence(present);
            }
            _ => {
                let was_unlocked = self.shared.state().lock();
                if was_unlocked {
                    let _ = self.audit(EventKind::Locked, Outcome::Success, |e| {
                        e.operation(operation)
                    });
                }
                let _ = self
                    .options
                    .sessions
                    .revoke_heard(auditor, clock, operation);
                if matches!(event, Some(StoreEvent::LoggedOut | StoreEvent::Reset)) {
                    let present = self.store.describe().present;
                    self.shared.state().refresh_presence(present);
                }
            }
        }
    }

    /// Logs out: deletes the vault file (with a directory sync) and forgets the key. Only an
    /// unlocked vault can log out, so whoever reaches an app's logout without the passphrase
    /// cannot destroy the user's record (see [`Vault::reset`] for "forgot my passphrase").
    /// Replicas sharing the store hear it (see [`Vault::lock`]): their vaults become empty.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// vault.logout()?;
    /// assert_eq!(vault.status(), SessionState::NoCredentials);
    /// assert!(!path.exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] unless unlocked (nothing is deleted; with no credentials stored,
    /// logging out does nothing and succeeds);
    /// [`Error::Storage`] if the file could not be deleted; the vault is then locked (the key
    /// is gone either way) and the file is still there.
    pub fn logout(&self) -> Result<(), Error> {
        self.expire_idle();
        match self.shared.state().session.key(self.now()) {
            Ok(_) => {}
            // Nothing stored: nothing to delete (logging out twice is fine).
            Err(credlock_session::Error::NoCredentials) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        self.delete_record(EventKind::LoggedOut)
    }

    /// **Destructive**: deletes the stored credentials without a passphrase, whatever the
    /// state and even while locked out: the "forgot my passphrase" path. An app exposes it on
    /// purpose, behind its own authorisation; it is always audited. Replicas sharing the
    /// store hear it (see [`Vault::lock`]): their vaults become empty.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::SecretString;
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// vault.lock();
    /// assert!(vault.logout().is_err()); // locked: logout deletes nothing
    /// vault.reset()?;                   // forgot the passphrase: start again
    /// assert_eq!(vault.status(), SessionState::NoCredentials);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if the file could not be deleted (the vault is then locked);
    /// [`Error::AuditFailed`] with fail-closed auditing if the event could not be recorded
    /// (then nothing is deleted).
    pub fn reset(&self) -> Result<(), Error> {
        self.delete_record(EventKind::Reset)
    }

    /// Deletes the record and its lockout state, audited as `kind`.
    pub(crate) fn delete_record(&self, kind: EventKind) -> Result<(), Error> {
        let result = self.store.lock().and_then(|_guard| self.store.delete());
        match result {
            Ok(()) => {
                self.shared.state().logout();
                self.announce(if kind == EventKind::LoggedOut {
                    StoreEvent::LoggedOut
                } else {
                    StoreEvent::Reset
                });
                self.revoke_sessions_on(kind.as_str());
                self.audit(kind, Outcome::Success, |e| e)
            }
            Err(e) => {
                self.shared.state().lock();
                self.announce(StoreEvent::Locked);
                self.revoke_sessions_on("lock");
                let _ = self.audit(kind, Outcome::Failure, |e| e);
                Err(e.into())
            }
        }
    }

    /// A copy of the credentials, while unlocked. The copy's secrets are zeroized when it is
    /// dropped; reading counts as activity for the idle timeout.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let creds = vault.credentials()?;
    /// assert_eq!(creds.email(), "alice@example.com");
    /// assert_eq!(creds.password().expose_secret(), "pw");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] (also after the idle timeout), [`Error::NoCredentials`].
    pub fn credentials(&self) -> Result<Credentials, Error> {
        self.expire_idle();
        let now = self.now();
        let mut state = self.shared.state();
        let copy = state.session.record(now)?.duplicate();
        state.session.touch(now);
        Ok(copy)
    }

    /// The current TOTP code from the stored MFA secret, and the seconds it stays valid.
    /// Counts as activity for the idle lock.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let vault = Vault::builder(dir.path().join("vault.json")).insecure_kdf_iterations(1_000).open()?;
    /// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// let creds = Credentials::new("alice@example.com", SecretString::from("pw"))
    ///     .with_mfa_secret(SecretString::from("jbsw y3dp ehpk 3pxp"));
    /// vault.store(creds, pass)?;
    /// let code = vault.totp()?;
    /// assert_eq!(code.code().expose_secret().len(), 6);
    /// assert!((1..=30).contains(&code.seconds_left()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Locked`], [`Error::NoCredentials`]; [`Error::NoMfaSecret`] if the
    /// credentials have none; [`Error::InvalidMfaSecret`], naming why, for a secret that
    /// gives no codes: one an import kept as the other application stored it (see
    /// [`Vault::import_foreign`](crate::Vault::import_foreign)), or one stored by a version
    /// that did not check it.
    pub fn totp(&self) -> Result<TotpCode, Error> {
        self.note_activity()?;
        let now = self.now();
        let secret = {
            let state = self.shared().state();
            state.session.record(now)?.totp_secret()?
        };
        let secret = secret.ok_or(Error::NoMfaSecret)?;
        Ok(secret.code_at(self.options().clock.now()))
    }

    /// Replaces the stored credentials while unlocked, re-sealing them with the key in memory
    /// (no passphrase needed). What an Eclosion import carried along (its notes key and
    /// timestamps) is kept. A new MFA secret is checked as [`Vault::store`] checks it; the
    /// one already stored is accepted as it is, so an app can change the password of
    /// credentials whose imported MFA secret gives no codes. Replicas sharing the store hear
    /// it: one holding the key re-reads the record with it (see [`Vault::lock`]).
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let newer = Credentials::new("alice@example.com", SecretString::from("new-pw"))
    ///     .with_mfa_secret(SecretString::from("JBSWY3DPEHPK3PXP"));
    /// vault.update_credentials(newer)?;
    /// assert!(vault.credentials()?.mfa_secret().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Locked`], [`Error::NoCredentials`]: wrong state. [`Error::InvalidMfaSecret`]:
    /// a new MFA secret that is not a TOTP secret (nothing is written).
    /// [`Error::ChangedElsewhere`]:
    /// another process changed the vault's passphrase since it was unlocked here (nothing is
    /// written, and the vault is locked). [`Error::VaultMissing`]: the file was removed.
    /// [`Error::Storage`]: writing failed; the file and the credentials in memory are
    /// unchanged.
    pub fn update_credentials(&self, credentials: Credentials) -> Result<(), Error> {
        self.expire_idle();
        self.note_activity()?;
        let credentials = {
            let state = self.shared.state();
            let current = state.session.record(self.now()).ok();
            credentials.validate_unless_kept_from(current)?;
            credentials.keeping_extras_of(current)
        };
        let mut tries = 0;
        let epoch = loop {
            let (on_disk, version) = self.read_file_versioned()?;
            let (file, epoch) = {
                let mut state = self.shared.state();
                let key = state.session.key(self.now())?;
                // A key of another passphrase or another epoch (changed elsewhere) must not
                // write: the vault is locked instead.
                if !state.holds_key_of(&on_disk) {
                    state.lock();
                    return Err(Error::ChangedElsewhere);
                }
                let file = VaultFile {
                    token: key.seal(&record::to_bytes(&credentials)?)?,
                    ..on_disk
                };
                (file, state.epoch)
            };
            let bytes = file.to_bytes()?;
            // Compare-and-swap: a concurrent writer (another process or replica) makes this
            // read again, so its update is never overwritten unseen.
            if self.store.replace_if(version, &bytes)? != WriteOutcome::Conflict {
                // The replicas holding the key re-read the record.
                self.announce(StoreEvent::CredentialsUpdated);
                break epoch;
            }
            tries += 1;
            if tries >= MAX_CAS_ATTEMPTS {
                return Err(credlock_store::Error::Contended {
                    path: self.path().unwrap_or_default(),
                    attempts: tries,
                }
                .into());
            }
        };
        {
            let mut state = self.shared.state();
            if state.epoch == epoch {
                state.session.replace_record(credentials, self.now())?;
            }
        }
        self.audit(EventKind::CredentialsUpdated, Outcome::Success, |e| e)
    }

    /// Changes the passphrase: checks `old` against the file, then re-seals the same record
    /// under `new` with a fresh salt (and the iteration count of the current options).
    /// Afterwards `old` no longer opens it. Works whether the vault is locked or unlocked,
    /// and leaves it so: an unlocked vault holds the new key, a locked one stays locked (the
    /// key of a vault nobody unlocked is not left in memory). Replicas sharing the store hear
    /// it (see [`Vault::lock`]): they drop the old key and the sessions they keep.
    ///
    /// Every client session and API token is revoked (audited as `sessions_revoked`,
    /// operation `passphrase_change`): a user who suspects a leak changes the passphrase, and
    /// whatever a thief minted must die with the old one. To keep the session of the client
    /// that asked for the change, use [`Vault::change_passphrase_keeping`].
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let new = Policy::default().check(SecretString::from("Marmalade-Comet-17?"))?;
    /// vault.change_passphrase(&SecretString::from("Tangerine-Rocket-42!"), new)?;
    /// vault.lock();
    /// assert!(vault.unlock(&SecretString::from("Tangerine-Rocket-42!")).is_err());
    /// vault.unlock(&SecretString::from("Marmalade-Comet-17?"))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::WrongPassphrase`] if `old` is wrong (counted towards the lockout; nothing
    /// written), [`Error::LockedOut`], [`Error::NoCredentials`], [`Error::VaultMissing`],
    /// [`Error::Policy`] if `new` does not meet this vault's policy for the stored email, and
    /// the file and storage errors of [`Vault::unlock`] and [`Vault::store`]. If
    /// [`Vault::lock`] lands while this runs, the change is still made but the vault stays
    /// locked.
    pub fn change_passphrase(&self, old: &SecretString, new: ValidPassphrase) -> Result<(), Error> {
        self.change_passphrase_then_revoke(old, new, None)
    }

    /// [`Vault::change_passphrase`], keeping one session: the one of the client that asked
    /// for the change (so it stays signed in); every other session and API token is revoked.
    /// With [shared sessions](crate::VaultBuilder::shared_sessions), `keep` is revoked too:
    /// its row holds the vault key sealed under the old passphrase's key.
    ///
    /// ```
    /// use credlock::sessions::{Scope, SessionRequest};
    /// use credlock::{Credentials, Policy, Vault};
    /// use credlock::secrecy::SecretString;
    /// # let dir = tempfile::tempdir()?;
    /// # let vault = Vault::builder(dir.path().join("vault.json")).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let mine = vault.mint_session(SessionRequest::client("this browser"))?;
    /// let leaked = vault.mint_session(SessionRequest::api_token("bot", Scope::Totp))?;
    /// let new = Policy::default().check(SecretString::from("Marmalade-Comet-17?"))?;
    /// vault.change_passphrase_keeping(&SecretString::from("Tangerine-Rocket-42!"), new, &mine.info.id)?;
    /// assert!(vault.validate_session(mine.token.expose_secret(), Scope::Manage).is_ok());
    /// assert!(vault.validate_session(leaked.token.expose_secret(), Scope::Totp).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Vault::change_passphrase`]; nothing is revoked when the change is not made.
    pub fn change_passphrase_keeping(
        &self,
        old: &SecretString,
        new: ValidPassphrase,
        keep: &SessionId,
    ) -> Result<(), Error> {
        self.change_passphrase_then_revoke(old, new, Some(keep))
    }

    /// Changes the passphrase, then revokes every session but `keep`.
    fn change_passphrase_then_revoke(
        &self,
        old: &SecretString,
        new: ValidPassphrase,
        keep: Option<&SessionId>,
    ) -> Result<(), Error> {
        self.expire_idle();
        let (epoch, was_unlocked) = {
            let state = self.shared.state();
            match state.session.state() {
                SessionState::NoCredentials => return Err(Error::NoCredentials),
                unlocked_or_not => (state.epoch, unlocked_or_not == SessionState::Unlocked),
            }
        };
        let (file, version) = self.read_file_versioned()?;
        // A key provider missing or wrong is told before the attempt is counted.
        file.check_key_provider(self.options.provider())?;
        let opened = self.test_passphrase(Attempt::ChangePassphrase, old, &file.params, |key| {
            file.open_with_passphrase_key(key, self.options.provider())
        })?;
        let credentials = record::from_bytes(&opened.plaintext)?;
        self.enforce_policy(&new, credentials.email())?;
        let params = self.options.new_kdf_params()?;
        let new_key = self.options.deriver.derive_new(&new, &params)?;
        // The record's exact bytes are re-sealed: the credentials do not change. With
        // keyslots, under a new data key (the old passphrase's slot goes, the others are
        // re-wrapped): a copy of the old file opens with the old passphrase, and nothing
        // written from now on does.
        let now_ms = self.options.clock.now_ms();
        let rotated = file.keyring.is_some();
        // The file the old passphrase opened must still be the one stored (compare-and-swap;
        // a slot's last use noted meanwhile is not a change).
        let (key, new_file) = self.write_over(&file, version, |current| {
            if rotated {
                sealing::rotate(
                    current,
                    &opened.plaintext,
                    |slot| slot.kind != SlotKind::Passphrase,
                    vec![sealing::passphrase_slot(
                        &new_key,
                        params,
                        self.options.provider(),
                    )?],
                    now_ms,
                )
            } else {
                sealing::seal_new(
                    self.options.keyslots(),
                    duplicate_key(&new_key),
                    params,
                    self.options.provider(),
                    &opened.plaintext,
                    now_ms,
                )
            }
        })?;
        // A key held elsewhere belongs to the old passphrase: the other replicas drop it.
        self.announce(StoreEvent::PassphraseChanged);
        // A vault changed while unlocked stays unlocked, with the new key; a locked one stays
        // locked (no key in memory that nobody asked to open).
        if was_unlocked {
            self.shared
                .state()
                .install(key, credentials, &new_file, epoch, self.now());
            self.poke_sweeper();
        }
        // Sessions minted under the old passphrase go (all of them when shared: their rows
        // hold keys sealed under it). Those a failing store leaves behind are refused: shared
        // ones open nothing, and in-process ones are revoked again at the next lock.
        let _ = self.options.sessions.revoke_all_but(
            &self.options.auditor,
            &self.options.clock,
            "passphrase_change",
            keep,
        );
        self.audit(EventKind::PassphraseChanged, Outcome::Success, |e| e)?;
        if rotated {
            self.audit(EventKind::KeyRotated, Outcome::Success, |e| {
                e.operation("change_passphrase")
            })?;
        }
        Ok(())
    }

    /// Recovers the vault with its recovery key, when the passphrase is forgotten: sets
    /// `new_passphrase`, replaces the recovery key used with a new one (returned, to be
    /// shown **once**), rotates the data key and leaves the vault unlocked. Nothing is lost:
    /// the record is the same. The recovery key is tested through the vault's one gate and
    /// counts against the lockout as a passphrase does; a text that is not a recovery key
    /// at all is refused before (nothing counted). Every client session is revoked, the
    /// other replicas drop their key, and the recovery is audited (`recovered`, naming the
    /// slot, then `key_rotated`).
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let vault = Vault::builder(dir.path().join("vault.json")).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let kit = vault.add_recovery_key("printed kit")?;      // shown once, written down
    /// vault.lock();
    /// // ... the passphrase is forgotten ...
    /// let new = Policy::default().check(SecretString::from("Marmalade-Comet-17?"))?;
    /// let next_kit = vault.recover(&kit.display(), new)?;
    /// assert_eq!(vault.status(), SessionState::Unlocked);
    /// assert_eq!(vault.credentials()?.password().expose_secret(), "pw");
    /// vault.lock();
    /// assert!(vault.recover(&kit.display(), Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?).is_err());
    /// vault.unlock(&SecretString::from("Marmalade-Comet-17?"))?;
    /// # drop(next_kit);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::MalformedRecoveryKey`] (nothing counted), [`Error::WrongPassphrase`] for a
    /// recovery key this vault does not hold (counted), [`Error::LockedOut`],
    /// [`Error::NoKeyslots`] for a vault of format version 1 or 2, [`Error::Policy`] for a
    /// new passphrase the policy refuses (nothing written), [`Error::ChangedElsewhere`] if
    /// the file changed meanwhile (nothing written), and the file errors of
    /// [`Vault::unlock`].
    pub fn recover(
        &self,
        recovery_key: &SecretString,
        new_passphrase: ValidPassphrase,
    ) -> Result<RecoveryKey, Error> {
        let key = RecoveryKey::parse(recovery_key.expose_secret())?;
        self.expire_idle();
        let epoch = {
            let state = self.shared.state();
            if state.session.state() == SessionState::NoCredentials {
                return Err(Error::NoCredentials);
            }
            state.epoch
        };
        let (file, version) = self.read_file_versioned()?;
        if file.keyring.is_none() {
            return Err(Error::NoKeyslots {
                version: file.version(),
            });
        }
        let opened = self.gate().test_secret_then(
            Attempt::Recover,
            |_| Ok(()),
            || file.open_with_secret(SlotKind::RecoveryKey, key.expose_bytes()),
            Ok,
        )?;
        let used = opened.slot.clone().ok_or(Error::CorruptVault {
            reason: "a recovery key opened no slot",
        })?;
        let label = file
            .keyring
            .as_ref()
            .and_then(|k| k.slots.iter().find(|s| s.id == used))
            .map_or_else(|| String::from("recovery key"), |s| s.label.clone());
        let credentials = record::from_bytes(&opened.plaintext)?;
        self.enforce_policy(&new_passphrase, credentials.email())?;
        let params = self.options.new_kdf_params()?;
        let new_key = self.options.deriver.derive_new(&new_passphrase, &params)?;
        let replacement = RecoveryKey::generate()?;
        let (data_key, new_file) = self.write_over(&file, version, |current| {
            sealing::rotate(
                current,
                &opened.plaintext,
                |slot| slot.kind != SlotKind::Passphrase && slot.id != used,
                vec![
                    sealing::passphrase_slot(&new_key, params, self.options.provider())?,
                    sealing::secret_slot(
                        SlotKind::RecoveryKey,
                        &label,
                        replacement.expose_bytes(),
                    )?,
                ],
                self.options.clock.now_ms(),
            )
        })?;
        self.announce(StoreEvent::PassphraseChanged);
        self.shared
            .state()
            .install(data_key, credentials, &new_file, epoch, self.now());
        self.poke_sweeper();
        let _ = self.options.sessions.revoke_all_but(
            &self.options.auditor,
            &self.options.clock,
            "recover",
            None,
        );
        self.audit(EventKind::Recovered, Outcome::Success, |e| {
            e.slot(used.as_str())
        })?;
        self.audit(EventKind::KeyRotated, Outcome::Success, |e| {
            e.operation("recover")
        })?;
        Ok(replacement)
    }

    /// Writes what `make` makes of `base` (read at `version`) in its place, by
    /// compare-and-swap. A file changed meanwhile only in what is not a key (a slot's last
    /// use, noted by an unlock elsewhere) is read again and `make` is run on it; any other
    /// change is [`Error::ChangedElsewhere`] and nothing is written.
    fn write_over(
        &self,
        base: &VaultFile,
        version: Version,
        make: impl Fn(&VaultFile) -> Result<(FernetKey, VaultFile), Error>,
    ) -> Result<(FernetKey, VaultFile), Error> {
        let (mut current, mut version) = (base.clone(), version);
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (key, new_file) = make(&current)?;
            if self.store.replace_if(version, &new_file.to_bytes()?)? != WriteOutcome::Conflict {
                return Ok((key, new_file));
            }
            let (on_disk, read_at) = self.read_file_versioned()?;
            let same_keys = on_disk.token == base.token
                && on_disk.params == base.params
                && on_disk.ring_id() == base.ring_id()
                && on_disk.keyring.as_ref().map(|k| k.slots.len())
                    == base.keyring.as_ref().map(|k| k.slots.len());
            if !same_keys {
                return Err(Error::ChangedElsewhere);
            }
            (current, version) = (on_disk, read_at);
        }
        Err(Error::ChangedElsewhere)
    }

    /// Proves `passphrase` is this unlocked vault's, through the gate (in turn, counted
    /// against the lockout, audited when wrong), without changing the vault's state: a
    /// second client signing in while the vault stays unlocked.
    pub(crate) fn verify_passphrase(&self, passphrase: &SecretString) -> Result<(), Error> {
        self.expire_idle();
        let file = self.read_file()?;
        file.check_key_provider(self.options.provider())?;
        self.gate().test(
            Attempt::SignIn,
            passphrase,
            &file.params,
            |shared| {
                shared.state().session.key(self.now())?;
                Ok(())
            },
            |key| {
                let opened = file.open_with_passphrase_key(key, self.options.provider())?;
                let state = self.shared.state();
                // A lock() that landed during the derivation wins; it is not a wrong guess.
                let current = state
                    .session
                    .key(self.now())
                    .map_err(|_| Error::Interrupted)?;
                if &opened.key == current {
                    Ok(())
                } else {
                    // The passphrase is right, but the file moved on (another writer).
                    Err(Error::ChangedElsewhere)
                }
            },
        )
    }

    /// Adds the slot `new` makes to the unlocked vault's keyring (compare-and-swap, tried
    /// again if another writer wrote meanwhile): no rotation, the data key is the one in
    /// memory.
    pub(crate) fn add_slot_unlocked(
        &self,
        new: impl Fn() -> Result<NewSlot, Error>,
    ) -> Result<SlotId, Error> {
        self.update_keyring_unlocked(|keyring, key, now_ms| {
            // The cap, before any work.
            if keyring.slots.len() >= MAX_SLOTS {
                return Err(Error::TooManySlots { max: MAX_SLOTS });
            }
            keyring.add(new()?, key, now_ms)
        })
    }

    /// Changes the unlocked vault's keyring with `change` (given the data key in memory and
    /// the time), without rotating: a compare-and-swap on the file, tried again (with a new
    /// read) if another writer wrote meanwhile; a key that is no longer the file's is
    /// [`Error::ChangedElsewhere`] (the vault is locked).
    pub(crate) fn update_keyring_unlocked<T>(
        &self,
        change: impl Fn(&mut Keyring, &FernetKey, u64) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.note_activity()?;
        for _ in 0..MAX_CAS_ATTEMPTS {
            let (file, version) = self.read_file_versioned()?;
            let mut keyring = file.keyring.clone().ok_or(Error::NoKeyslots {
                version: file.version(),
            })?;
            let out = {
                let mut state = self.shared.state();
                let key = state.session.key(self.now())?;
                if !state.holds_key_of(&file) {
                    state.lock();
                    return Err(Error::ChangedElsewhere);
                }
                change(&mut keyring, key, self.options.clock.now_ms())?
            };
            let new_file = VaultFile {
                keyring: Some(keyring),
                ..file
            };
            if self.store.replace_if(version, &new_file.to_bytes()?)? != WriteOutcome::Conflict {
                return Ok(out);
            }
        }
        Err(credlock_store::Error::Contended {
            path: self.path().unwrap_or_default(),
            attempts: MAX_CAS_ATTEMPTS,
        }
        .into())
    }

    /// Rotates the unlocked vault's data key: the record re-sealed under a fresh one, the
    /// slots `keep_slot` keeps re-wrapped, the key epoch up (compare-and-swap: a file
    /// changed elsewhere is [`Error::ChangedElsewhere`], nothing written). Every client
    /// session but `keep_session` is revoked (all of them when shared: their rows hold the
    /// old key) and the other replicas drop the old key. Audited as `key_rotated` with
    /// `operation`.
    pub(crate) fn rotate_unlocked(
        &self,
        operation: &'static str,
        keep_slot: impl Fn(&Slot) -> bool,
        keep_session: Option<&SessionId>,
    ) -> Result<(), Error> {
        self.expire_idle();
        let (file, version) = self.read_file_versioned()?;
        if file.keyring.is_none() {
            return Err(Error::NoKeyslots {
                version: file.version(),
            });
        }
        let (plaintext, epoch) = {
            let mut state = self.shared.state();
            let key = state.session.key(self.now())?;
            if !state.holds_key_of(&file) {
                state.lock();
                return Err(Error::ChangedElsewhere);
            }
            let plaintext = key.open(&file.token).map_err(|_| Error::CorruptVault {
                reason: "the record does not open under the data key",
            })?;
            (plaintext, state.epoch)
        };
        let (data_key, new_file) = self.write_over(&file, version, |current| {
            sealing::rotate(
                current,
                &plaintext,
                &keep_slot,
                Vec::new(),
                self.options.clock.now_ms(),
            )
        })?;
        self.announce(StoreEvent::PassphraseChanged);
        let credentials = record::from_bytes(&plaintext)?;
        self.shared
            .state()
            .install(data_key, credentials, &new_file, epoch, self.now());
        let _ = self.options.sessions.revoke_all_but(
            &self.options.auditor,
            &self.options.clock,
            operation,
            keep_session,
        );
        self.audit(EventKind::KeyRotated, Outcome::Success, |e| {
            e.operation(operation)
        })
    }

    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    pub(crate) fn backend(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    pub(crate) fn path(&self) -> Option<PathBuf> {
        self.store.describe().path
    }

    /// Reads and parses the vault file; no derivation.
    pub(crate) fn read_file(&self) -> Result<VaultFile, Error> {
        self.read_file_versioned().map(|(file, _)| file)
    }

    /// Reads and parses the vault file with its version, for a compare-and-swap write.
    pub(crate) fn read_file_versioned(&self) -> Result<(VaultFile, Version), Error> {
        self.options.read(self.store.as_ref(), &self.shared)
    }

    /// Tests a caller-supplied passphrase through the passphrase gate (`vault/gate.rs`).
    pub(crate) fn test_passphrase<T>(
        &self,
        attempt: Attempt,
        passphrase: &SecretString,
        params: &KdfParams,
        judge: impl FnOnce(FernetKey) -> Result<T, Error>,
    ) -> Result<T, Error> {
        self.gate()
            .test(attempt, passphrase, params, |_| Ok(()), judge)
    }

    /// The passphrase gate over this vault's parts.
    fn gate(&self) -> Gate<'_> {
        Gate {
            store: self.store.as_ref(),
            shared: &self.shared,
            deriver: &self.options.deriver,
            auditor: &self.options.auditor,
            clock: &self.options.clock,
            policy: self.options.lockout,
            refusals: &self.refused_attempts,
        }
    }

    /// Emits an audit event of this vault, built from `kind` and `outcome` by `fill`.
    pub(crate) fn audit(
        &self,
        kind: EventKind,
        outcome: Outcome,
        fill: impl FnOnce(AuditEvent) -> AuditEvent,
    ) -> Result<(), Error> {
        self.options
            .auditor
            .record(&self.options.clock, kind, outcome, fill)
    }
}
