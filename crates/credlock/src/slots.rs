//! Keyslots: the ways into a vault besides its passphrase (format version 3, see
//! [`crate::format`]): listing them, adding a recovery key or an application's secret, and
//! removing one (which rotates the data key).

use credlock_audit::{EventKind, Outcome};
use credlock_client_sessions::SessionId;

use credlock_store::WriteOutcome;
use secrecy::SecretString;

use crate::error::Error;
use crate::format::VaultFile;
use crate::keyslot::{SlotId, SlotInfo, SlotKind, duplicate_key};
use crate::recovery_key::RecoveryKey;
use crate::vault::Vault;
use crate::vault::gate::Attempt;
use crate::vault::sealing::{passphrase_slot, secret_slot};

/// The shortest secret a `secret` slot takes, in bytes (128 bits).
pub const MIN_SECRET_BYTES: usize = 16;
/// The longest, in bytes.
pub const MAX_SECRET_BYTES: usize = 1024;

impl Vault {
    /// The vault's keyslots (never a secret): what opens each, its label, and when it was
    /// made and last used. Works locked or unlocked (it reads the file).
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SlotKind, Vault};
    /// use credlock::secrecy::SecretString;
    /// # let dir = tempfile::tempdir()?;
    /// # let vault = Vault::builder(dir.path().join("vault.json")).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// vault.add_recovery_key("printed kit")?;
    /// let kinds: Vec<_> = vault.list_slots()?.into_iter().map(|s| (s.kind, s.label)).collect();
    /// assert_eq!(kinds, [(SlotKind::Passphrase, "passphrase".into()), (SlotKind::RecoveryKey, "printed kit".into())]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NoKeyslots`] for a vault of format version 1 or 2; the file errors of
    /// [`Vault::unlock`].
    pub fn list_slots(&self) -> Result<Vec<SlotInfo>, Error> {
        let file = self.read_file()?;
        let keyring = file.keyring.as_ref().ok_or(Error::NoKeyslots {
            version: file.version(),
        })?;
        Ok(keyring.infos())
    }

    /// Adds a recovery key, while unlocked: 160 random bits, returned **once** to be shown
    /// and written down (see [`RecoveryKey::display`]); the vault keeps only a slot the key
    /// opens. [`Vault::recover`] uses it when the passphrase is forgotten. Audited as
    /// `slot_added`.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`], [`Error::NoCredentials`]; [`Error::NoKeyslots`] for a vault of
    /// format version 1 or 2; [`Error::TooManySlots`] at [`MAX_SLOTS`](crate::MAX_SLOTS);
    /// [`Error::InvalidSlotLabel`]; [`Error::ChangedElsewhere`] if the key in memory is no
    /// longer the file's (the vault is locked); storage errors (nothing changed).
    pub fn add_recovery_key(&self, label: &str) -> Result<RecoveryKey, Error> {
        let key = RecoveryKey::generate()?;
        let id = self
            .add_slot_unlocked(|| secret_slot(SlotKind::RecoveryKey, label, key.expose_bytes()))?;
        self.audit(EventKind::SlotAdded, Outcome::Success, |e| {
            e.slot(id.as_str()).operation("recovery_key")
        })?;
        Ok(key)
    }

    /// Adds a `secret` slot, while unlocked: a random secret of
    /// [`MIN_SECRET_BYTES`]..=[`MAX_SECRET_BYTES`] bytes that the application keeps (in a
    /// device's keystore, say) and gives to [`Vault::unlock_with_secret`]. Audited as
    /// `slot_added`.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::SecretString;
    /// # let dir = tempfile::tempdir()?;
    /// # let vault = Vault::builder(dir.path().join("vault.json")).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let device_secret = [7u8; 32]; // random, in a real app
    /// vault.add_secret_slot("this laptop", &device_secret)?;
    /// vault.lock();
    /// vault.unlock_with_secret(&device_secret)?;
    /// assert_eq!(vault.status(), SessionState::Unlocked);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Vault::add_recovery_key`]; [`Error::InvalidSecret`] for a secret of a length
    /// outside the bounds.
    pub fn add_secret_slot(&self, label: &str, secret: &[u8]) -> Result<SlotId, Error> {
        if !(MIN_SECRET_BYTES..=MAX_SECRET_BYTES).contains(&secret.len()) {
            return Err(Error::InvalidSecret {
                min_bytes: MIN_SECRET_BYTES,
                max_bytes: MAX_SECRET_BYTES,
            });
        }
        let id = self.add_slot_unlocked(|| secret_slot(SlotKind::Secret, label, secret))?;
        self.audit(EventKind::SlotAdded, Outcome::Success, |e| {
            e.slot(id.as_str()).operation("secret")
        })?;
        Ok(id)
    }

    /// Removes a keyslot, while unlocked, and **rotates the data key**: the record is
    /// re-sealed under a new one and every other slot re-wrapped, so the removed slot's
    /// secret opens no file written from now on (a copy of an older file still opens with
    /// it). Every client session is revoked. The passphrase slot cannot be removed. Audited
    /// as `key_rotated` (operation `remove_slot`), then `slot_removed`.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`], [`Error::NoCredentials`]; [`Error::SlotNotFound`];
    /// [`Error::PassphraseSlotRequired`]; [`Error::NoKeyslots`];
    /// [`Error::ChangedElsewhere`] if the file changed meanwhile (nothing written).
    pub fn remove_slot(&self, id: &SlotId) -> Result<(), Error> {
        self.remove_slot_then_revoke(id, None)
    }

    /// [`Vault::remove_slot`], keeping one client session (the one of the client asking),
    /// as [`Vault::change_passphrase_keeping`] does.
    ///
    /// # Errors
    ///
    /// As [`Vault::remove_slot`].
    pub fn remove_slot_keeping(&self, id: &SlotId, keep: &SessionId) -> Result<(), Error> {
        self.remove_slot_then_revoke(id, Some(keep))
    }

    /// Stops needing the key provider: the passphrase slot is re-made without it (the
    /// passphrase proven through the gate, counted against the lockout), while the vault is
    /// unlocked and the provider still configured. Then open the vault without
    /// [`VaultBuilder::key_provider`](crate::VaultBuilder::key_provider) (with it, the next
    /// unlock would add it again). Audited as `kdf_upgraded`, operation
    /// `remove_key_provider`. Nothing to do (and nothing tested) for a vault that does not
    /// need a provider.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`], [`Error::NoCredentials`]; [`Error::KeyProviderMissing`],
    /// [`Error::KeyProviderMismatch`], [`Error::KeyProvider`] (nothing counted);
    /// [`Error::WrongPassphrase`] (counted), [`Error::LockedOut`];
    /// [`Error::ChangedElsewhere`] if the file changed meanwhile (nothing written).
    pub fn remove_key_provider(&self, passphrase: &SecretString) -> Result<(), Error> {
        self.touch()?;
        let (file, version) = self.read_file_versioned()?;
        let (Some(keyring), Some(_)) = (&file.keyring, file.key_provider()) else {
            return Ok(());
        };
        let provider = self.options().provider();
        file.check_key_provider(provider)?;
        let (derived, data_key) = self.test_passphrase(
            Attempt::RemoveKeyProvider,
            passphrase,
            &file.params,
            |key| {
                let derived = duplicate_key(&key);
                let opened = file.open_with_passphrase_key(key, provider)?;
                Ok((derived, opened.key))
            },
        )?;
        let mut keyring = keyring.clone();
        keyring.slots.retain(|s| s.kind != SlotKind::Passphrase);
        keyring.add(
            passphrase_slot(&derived, file.params, None)?,
            &data_key,
            self.options().clock.now_ms(),
        )?;
        let new_file = VaultFile {
            keyring: Some(keyring),
            ..file
        };
        if self.backend().replace_if(version, &new_file.to_bytes()?)? == WriteOutcome::Conflict {
            return Err(Error::ChangedElsewhere);
        }
        self.audit(EventKind::KdfUpgraded, Outcome::Success, |e| {
            e.operation("remove_key_provider")
        })
    }

    fn remove_slot_then_revoke(&self, id: &SlotId, keep: Option<&SessionId>) -> Result<(), Error> {
        self.touch()?;
        let slot = self
            .list_slots()?
            .into_iter()
            .find(|s| &s.id == id)
            .ok_or(Error::SlotNotFound)?;
        if slot.kind == SlotKind::Passphrase {
            return Err(Error::PassphraseSlotRequired);
        }
        self.rotate_unlocked("remove_slot", |s| &s.id != id, keep)?;
        self.audit(EventKind::SlotRemoved, Outcome::Success, |e| {
            e.slot(id.as_str())
        })
    }
}
