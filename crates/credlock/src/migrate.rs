//! The migration joint: how a crate above the facade (such as `credlock-eclosion`) moves a
//! record that another application sealed under the user's passphrase into a vault, and
//! writes one out again, **through the passphrase gate**.
//!
//! An importer never derives a key: it names the key derivation the foreign record was
//! sealed with, and the vault derives the key through its gate (counted against the
//! lockout, refused while locked out, audited) and hands it to the importer's `open` for
//! that record only. An exporter names the cost its format wants and gets a key the gate
//! proved, with the credentials to write. So neither can skip the lockout, and a refused
//! attempt derives nothing.
//!
//! ```
//! use credlock::crypto::{KdfParams, Salt};
//! use credlock::migrate::Verdict;
//! use credlock::secrecy::{ExposeSecret as _, SecretString};
//! use credlock::{Credentials, SessionState, Vault};
//!
//! # let dir = tempfile::tempdir()?;
//! // Another application sealed a password under a key derived from the user's passphrase.
//! let foreign = KdfParams::new(100_000, Salt::random()?)?;
//! # let key = credlock::crypto::derive_key("Correct-Horse-9-Battery!", &foreign)?;
//! # let sealed = key.seal(b"monarch-pw-123")?;
//! let vault = Vault::builder(dir.path().join("vault.json")).insecure_kdf_iterations(1_000).open()?;
//! vault.import_foreign(
//!     &SecretString::from("Correct-Horse-9-Battery!"),
//!     &foreign,
//!     false,
//!     |key| {
//!         let password = key.open(&sealed).map_err(|_| Verdict::WrongKey)?;
//!         let password = std::str::from_utf8(&password).map_err(Verdict::Foreign)?;
//!         Ok(Credentials::new("alice@example.com", SecretString::from(password)))
//!     },
//! )?;
//! assert_eq!(vault.status(), SessionState::Unlocked);
//! assert_eq!(vault.credentials()?.password().expose_secret(), "monarch-pw-123");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;

use credlock_audit::{EventKind, Outcome};
use credlock_crypto::{FernetKey, KdfAlgorithm, KdfParams, Normalization, Salt};
use credlock_policy::ValidPassphrase;
use credlock_session::SessionState;
use secrecy::{ExposeSecret as _, SecretString};

use crate::credentials::Credentials;
use crate::error::Error;
use crate::keyslot::duplicate_key;
use crate::vault::Vault;
use crate::vault::gate::Attempt;

/// A foreign record's verdict on the key the gate derived for it.
#[derive(Debug)]
#[non_exhaustive]
pub enum Verdict<E> {
    /// The key does not open the record: the passphrase is wrong (counted and audited as a
    /// wrong passphrase, as for an unlock).
    WrongKey,
    /// The record is not what the importer expected (damaged, malformed). No judgement of
    /// the passphrase: the attempt stays counted, on the safe side.
    Foreign(E),
}

/// A migration's failure: the vault's, or the importer's or exporter's own.
#[derive(Debug)]
#[allow(
    clippy::exhaustive_enums,
    reason = "a migration fails in the vault or in the foreign code: there is no third place"
)]
pub enum MigrationError<E> {
    /// The vault refused or failed ([`Error::WrongPassphrase`] for a key that did not open
    /// the foreign record, [`Error::VaultExists`] for an import over credentials it was not
    /// allowed to replace, [`Error::LockedOut`], a storage error…).
    Vault(Error),
    /// The importer's or exporter's own failure.
    Foreign(E),
}

impl<E> From<Error> for MigrationError<E> {
    fn from(e: Error) -> Self {
        Self::Vault(e)
    }
}

impl<E: fmt::Display> fmt::Display for MigrationError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Vault(e) => e.fmt(f),
            Self::Foreign(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for MigrationError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Vault(e) => e.source(),
            Self::Foreign(e) => e.source(),
        }
    }
}

/// What an export writes: the unlocked credentials, and a key the gate proved to be the
/// vault's passphrase's, under the key derivation the foreign format wants. `Debug` shows
/// neither the credentials' secrets nor the key.
#[non_exhaustive]
pub struct ExportKey {
    /// The credentials, a copy zeroized on drop.
    pub credentials: Credentials,
    /// The key, derived under [`params`](Self::params); zeroized on drop.
    pub key: FernetKey,
    /// The key derivation `key` comes from (its salt goes into the foreign file).
    pub params: KdfParams,
}

impl fmt::Debug for ExportKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportKey")
            .field("credentials", &self.credentials)
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// Refuses an import over the credentials this vault holds unless `replace` is set, so
    /// that an importer can say so before it reads anything: [`Error::VaultExists`].
    ///
    /// # Errors
    ///
    /// [`Error::VaultExists`] if credentials are stored and `replace` is not set.
    pub fn ensure_importable(&self, replace: bool) -> Result<(), Error> {
        if !replace && self.status() != SessionState::NoCredentials {
            return Err(Error::VaultExists { path: self.path() });
        }
        Ok(())
    }

    /// Imports a record another application sealed under a key derived from the user's
    /// passphrase with `params`: the gate derives that key from `passphrase` (counted
    /// against the lockout; refused, without deriving, while locked out) and `open` turns
    /// it into the credentials. They are then sealed in this vault under the same passphrase
    /// (kept as the user's: it is not checked against the policy, see
    /// [`Vault::check_passphrase`]) at this vault's KDF cost with a fresh salt, hashed as the
    /// foreign record hashed it (its [`Normalization`]) until an upgrade or a passphrase
    /// change, and the vault is left unlocked. Audited as `imported`.
    ///
    /// The credentials are moved as `open` returned them: an MFA secret the other application
    /// stored is kept byte for byte even when it is not a usable TOTP secret (the user's data
    /// moves; whether it gives codes is a separate matter), unlike [`Vault::store`], which
    /// refuses such a secret typed by a user. [`Vault::totp`] then fails with
    /// [`Error::InvalidMfaSecret`] naming why, and an importer reports it
    /// ([`Credentials::validate`] gives the reason).
    ///
    /// # Errors
    ///
    /// [`MigrationError::Vault`] with [`Error::VaultExists`] if credentials are stored and
    /// `replace` is not set (checked before and after the derivation), with
    /// [`Error::WrongPassphrase`] if `open` said [`Verdict::WrongKey`], and the errors of
    /// [`Vault::unlock`] and [`Vault::store`]; [`MigrationError::Foreign`] with `open`'s own
    /// error.
    pub fn import_foreign<E>(
        &self,
        passphrase: &SecretString,
        params: &KdfParams,
        replace: bool,
        open: impl FnOnce(&FernetKey) -> Result<Credentials, Verdict<E>>,
    ) -> Result<(), MigrationError<E>> {
        self.ensure_importable(replace)?;
        let mut foreign = None;
        let judged = self.test_passphrase(Attempt::Import, passphrase, params, |key| {
            open(&key).map_err(|verdict| match verdict {
                Verdict::WrongKey => Error::WrongPassphrase,
                Verdict::Foreign(e) => {
                    foreign = Some(e);
                    Error::CorruptVault {
                        reason: "the foreign record is not what its importer expects",
                    }
                }
            })
        });
        let credentials = match (judged, foreign) {
            (Ok(credentials), _) => credentials,
            (Err(_), Some(e)) => return Err(MigrationError::Foreign(e)),
            (Err(e), None) => return Err(e.into()),
        };
        // The passphrase the foreign record proved stays the user's.
        let pass = ValidPassphrase::insecure_unchecked(SecretString::from(
            passphrase.expose_secret().to_owned(),
        ));
        let new = self
            .options()
            .new_kdf_params()?
            .with_normalization(params.normalization());
        self.write_sealed_with(credentials, &pass, replace, new)?;
        self.audit(EventKind::Imported, Outcome::Success, |e| e)?;
        Ok(())
    }

    /// Exports the unlocked credentials in a foreign format keyed by the vault's passphrase
    /// under PBKDF2-HMAC-SHA256 at `iterations` over the passphrase's raw bytes (the classic
    /// `cryptography`/Fernet recipe): the gate proves `passphrase` is this vault's (counted
    /// against the lockout) and `write` gets the credentials and the key. The vault's own key
    /// and salt are reused when its key derivation is exactly that; otherwise the key is
    /// derived again under a fresh salt. Audited as `exported`, with `operation` if given,
    /// once `write` succeeded.
    ///
    /// # Errors
    ///
    /// [`MigrationError::Vault`] with [`Error::Locked`] or [`Error::NoCredentials`] unless
    /// unlocked, [`Error::WrongPassphrase`] for a passphrase that is not this vault's,
    /// [`Error::LockedOut`], [`Error::Interrupted`] if the vault was locked meanwhile,
    /// [`Error::KdfParams`] for an iteration count out of bounds;
    /// [`MigrationError::Foreign`] with `write`'s own error.
    pub fn export_foreign<T, E>(
        &self,
        passphrase: &SecretString,
        iterations: u32,
        operation: Option<&'static str>,
        write: impl FnOnce(&ExportKey) -> Result<T, E>,
    ) -> Result<T, MigrationError<E>> {
        let proven = self.export_key(passphrase, iterations)?;
        let written = write(&proven).map_err(MigrationError::Foreign)?;
        self.audit(EventKind::Exported, Outcome::Success, |e| match operation {
            Some(op) => e.operation(op),
            None => e,
        })?;
        Ok(written)
    }

    /// The credentials and the key for an export at `iterations`, once the gate has proven
    /// `passphrase` is this vault's.
    fn export_key(&self, passphrase: &SecretString, iterations: u32) -> Result<ExportKey, Error> {
        self.expire_idle();
        let (credentials, params) = {
            let state = self.shared().state();
            let credentials = state.session.record(self.now())?.duplicate();
            (credentials, state.params.ok_or(Error::Locked)?)
        };
        // With keyslots the key in memory is the data key: the passphrase is judged by the
        // passphrase slot of the file, which must hold that data key.
        let file = self.read_file()?;
        let provider = self.options().provider();
        file.check_key_provider(provider)?;
        let key = self.test_passphrase(Attempt::Export, passphrase, &params, |key| {
            let opened = match &file.keyring {
                Some(_) if file.params == params => {
                    Some(file.open_with_passphrase_key(duplicate_key(&key), provider)?)
                }
                _ => None,
            };
            let state = self.shared().state();
            // A lock() that landed during the derivation wins; it is not a wrong guess.
            let current = state
                .session
                .key(self.now())
                .map_err(|_| Error::Interrupted)?;
            match opened {
                Some(opened) if &opened.key == current => Ok(key),
                // The passphrase is right, but the file moved on (another writer).
                Some(_) => Err(Error::ChangedElsewhere),
                None if &key == current => Ok(key),
                None => Err(Error::WrongPassphrase),
            }
        })?;
        // Only a key derived exactly as the foreign format derives it can be reused; any
        // other (Argon2id, another count, NFKC) is derived again.
        if params.iterations() == iterations
            && params.algorithm() == KdfAlgorithm::Pbkdf2HmacSha256
            && params.normalization() == Normalization::None
        {
            return Ok(ExportKey {
                credentials,
                key,
                params,
            });
        }
        // The passphrase is proven right: derive the foreign key under a fresh salt.
        let params = KdfParams::new(u64::from(iterations), Salt::random()?)?
            .with_normalization(Normalization::None);
        let proven = ValidPassphrase::insecure_unchecked(SecretString::from(
            passphrase.expose_secret().to_owned(),
        ));
        Ok(ExportKey {
            credentials,
            key: self.options().deriver.derive_new(&proven, &params)?,
            params,
        })
    }
}
