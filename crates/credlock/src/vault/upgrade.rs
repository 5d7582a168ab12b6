//! The KDF upgrade on unlock, an explicit step as the gate is ([`Upgrade`]): right after a successful unlock, a vault whose key derivation
//! is weaker than the application's target (fewer PBKDF2 iterations, PBKDF2 where Argon2id
//! is asked for, raw bytes where NFKC is asked for) is re-sealed at the target.
//!
//! - The same record bytes are sealed under a key derived from the passphrase that just
//!   opened the vault, with a fresh salt. That derivation is not a passphrase *test* (the
//!   passphrase was verified through the gate a moment ago): it goes through
//!   [`Deriver::derive_verified`](super::derivation::Deriver), is not counted towards the
//!   lockout and cannot fail as a wrong guess.
//! - The new file replaces the old one through the store contract only
//!   (a versioned re-read, a comparison and the store's
//!   compare-and-swap), so it works on every backend, and a crash at any point
//!   leaves either the old file or the new one, each opening with the passphrase. A vault
//!   changed by another writer since it was read is left to that writer.
//! - Success is audited as [`EventKind::KdfUpgraded`]; a failure (a full disk, say) leaves
//!   the vault as it was and unlocked, is audited as a failed `kdf_upgraded`, and is tried
//!   again at the next unlock.

use credlock_audit::{EventKind, Outcome};
use credlock_store::{Store, WriteOutcome};
use secrecy::SecretString;

use super::config::Options;
use super::record;
use super::state::Shared;
use crate::error::Error;
use crate::format::VaultFile;

/// The parts of a vault the KDF upgrade needs, for one unlock.
pub(crate) struct Upgrade<'a> {
    pub(crate) store: &'a dyn Store,
    pub(crate) shared: &'a Shared,
    pub(crate) options: &'a Options,
}

impl Upgrade<'_> {
    /// After an unlock (begun at `epoch`) of `file` with `passphrase`, which opened to the
    /// record bytes `plaintext`: upgrades the file's KDF if the options ask for more. Only
    /// an audit failure under fail-closed auditing is returned (the vault is then locked).
    pub(crate) fn after_unlock(
        &self,
        passphrase: &SecretString,
        file: &VaultFile,
        plaintext: &[u8],
        epoch: u64,
    ) -> Result<(), Error> {
        let outcome = match self.reseal_at_target(passphrase, file, plaintext, epoch) {
            Ok(false) => return Ok(()),
            Ok(true) => self.audit(Outcome::Success),
            Err(e @ Error::AuditFailed(_)) => Err(e),
            // The unlock stands and the file is as it was: try again next time.
            Err(_) => self.audit(Outcome::Failure),
        };
        outcome.inspect_err(|_| {
            self.shared.state().lock();
        })
    }

    fn audit(&self, outcome: Outcome) -> Result<(), Error> {
        let options = self.options;
        options
            .auditor
            .record(&options.clock, EventKind::KdfUpgraded, outcome, |e| {
                e.operation("unlock")
            })
    }

    /// Re-seals the record at the target cost if the file's is weaker; returns whether the
    /// file was replaced.
    fn reseal_at_target(
        &self,
        passphrase: &SecretString,
        file: &VaultFile,
        plaintext: &[u8],
        epoch: u64,
    ) -> Result<bool, Error> {
        let options = self.options;
        let Some(params) = options.kdf.upgrade_for(&file.params, &options.deriver)? else {
            return Ok(false);
        };
        let key = options.deriver.derive_verified(passphrase, &params)?;
        let upgraded = VaultFile {
            params,
            token: key.seal(plaintext)?,
        };
        if !self.replace_if_unchanged(&file.token, &upgraded)? {
            return Ok(false);
        }
        let credentials = record::from_bytes(plaintext)?;
        self.shared
            .state()
            .install(key, credentials, params, epoch, options.clock.idle_now());
        Ok(true)
    }

    /// Writes `new` in place of the vault file only if the file still holds the token
    /// `expected`: a versioned read, a comparison and the store's compare-and-swap on that
    /// version, so no other writer's change (another process or replica) is overwritten;
    /// returns whether it wrote.
    fn replace_if_unchanged(&self, expected: &str, new: &VaultFile) -> Result<bool, Error> {
        let (on_disk, version) = self.options.read(self.store, self.shared)?;
        if on_disk.token != expected {
            return Ok(false);
        }
        Ok(self.store.replace_if(version, &new.to_bytes()?)? != WriteOutcome::Conflict)
    }
}
