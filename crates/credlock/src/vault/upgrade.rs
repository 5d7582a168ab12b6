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
//!
//! The same step moves a vault of version 1 or 2 to **version 3** (keyslots, see
//! [`crate::keyslot`]) unless the vault is kept Eclosion-compatible: a fresh data key seals
//! the same record bytes and one passphrase slot wraps it, under the KDF output the unlock
//! just computed (or, with a KDF upgrade due at the same time, the new one). It is written,
//! audited (`kdf_upgraded`, operation `format_upgrade`) and retried exactly as the KDF
//! upgrade. On a version-3 vault it also notes the slot's last use (at most once a minute,
//! no audit, failures ignored).

use credlock_audit::{EventKind, Outcome};
use credlock_crypto::{FernetKey, KEY_LEN};
use credlock_store::{Store, WriteOutcome};
use secrecy::SecretString;

use super::config::Options;
use super::record;
use super::sealing;
use super::state::Shared;
use crate::error::Error;
use crate::format::VaultFile;
use crate::keyslot::{SlotId, SlotKind};

/// How old a slot's last use may be before an unlock writes it again.
const LAST_USE_GRANULARITY_MS: u64 = 60_000;

/// The parts of a vault the KDF upgrade needs, for one unlock.
pub(crate) struct Upgrade<'a> {
    pub(crate) store: &'a dyn Store,
    pub(crate) shared: &'a Shared,
    pub(crate) options: &'a Options,
}

/// What an unlock's rewrite did.
enum Rewrite {
    Nothing,
    /// Only the slot's last use: not audited.
    LastUse,
    /// A KDF upgrade, a move to version 3, or both: audited as this operation.
    Audited(&'static str),
}

impl Upgrade<'_> {
    /// After an unlock (begun at `epoch`) of `file` with `passphrase` through `slot` (version
    /// 3), which opened to the record bytes `plaintext`: upgrades the file's KDF if the
    /// options ask for more, and moves it to version 3 if it is older. Only an audit failure
    /// under fail-closed auditing is returned (the vault is then locked).
    pub(crate) fn after_unlock(
        &self,
        passphrase: &SecretString,
        file: &VaultFile,
        plaintext: &[u8],
        slot: Option<&SlotId>,
        epoch: u64,
    ) -> Result<(), Error> {
        let (outcome, operation) = match self.rewrite(passphrase, file, plaintext, slot, epoch) {
            Ok(Rewrite::Nothing | Rewrite::LastUse) => return Ok(()),
            Ok(Rewrite::Audited(operation)) => (Outcome::Success, operation),
            Err(e @ Error::AuditFailed(_)) => return Err(e),
            // The unlock stands and the file is as it was: try again next time.
            Err(_) => (
                Outcome::Failure,
                if file.keyring.is_none() && self.options.keyslots() {
                    "format_upgrade"
                } else {
                    "unlock"
                },
            ),
        };
        self.audit(outcome, operation).inspect_err(|_| {
            self.shared.state().lock();
        })
    }

    fn audit(&self, outcome: Outcome, operation: &'static str) -> Result<(), Error> {
        let options = self.options;
        options
            .auditor
            .record(&options.clock, EventKind::KdfUpgraded, outcome, |e| {
                e.operation(operation)
            })
    }

    /// Whether the options' key provider is one the file's passphrase slot does not need
    /// yet (a provider added to existing vaults, at their next unlock).
    fn adds_provider(&self, file: &VaultFile) -> bool {
        self.options.provider().is_some() && file.key_provider().is_none()
    }

    /// A copy of the key in memory (the one the unlock installed), if still unlocked.
    fn key_in_memory(&self) -> Option<FernetKey> {
        let state = self.shared.state();
        let key = state.session.key(self.options.clock.idle_now()).ok()?;
        let bytes = <&[u8; KEY_LEN]>::try_from(key.expose_secret_bytes()).ok()?;
        Some(FernetKey::from_bytes(bytes))
    }

    /// Rewrites the file if the KDF, the format or the slot's last use asks for it.
    fn rewrite(
        &self,
        passphrase: &SecretString,
        file: &VaultFile,
        plaintext: &[u8],
        slot: Option<&SlotId>,
        epoch: u64,
    ) -> Result<Rewrite, Error> {
        let options = self.options;
        let now_ms = options.clock.now_ms();
        let kdf_upgrade = options.kdf.upgrade_for(&file.params, &options.deriver)?;
        let to_v3 = file.keyring.is_none() && options.keyslots();
        let Some(in_memory) = self.key_in_memory() else {
            return Ok(Rewrite::Nothing);
        };
        let (key, new, rewrite) = match (&file.keyring, kdf_upgrade) {
            // Versions 1 and 2: the key in memory is the passphrase's KDF output.
            (None, None) if !to_v3 => return Ok(Rewrite::Nothing),
            (None, upgrade) => {
                let (derived, params, operation) = match upgrade {
                    Some(params) if !to_v3 => {
                        let derived = options.deriver.derive_verified(passphrase, &params)?;
                        (derived, params, "unlock")
                    }
                    Some(params) => {
                        let derived = options.deriver.derive_verified(passphrase, &params)?;
                        (derived, params, "format_upgrade")
                    }
                    None => (in_memory, file.params, "format_upgrade"),
                };
                let (key, new) = sealing::seal_new(
                    to_v3,
                    derived,
                    params,
                    options.provider(),
                    plaintext,
                    now_ms,
                )?;
                (key, new, Rewrite::Audited(operation))
            }
            // Version 3: the key in memory is the data key; the passphrase slot is re-made
            // under the new KDF (same data key, same epoch: the secret did not change), or
            // to need the key provider configured.
            (Some(keyring), upgrade) if upgrade.is_some() || self.adds_provider(file) => {
                let (params, operation) = match upgrade {
                    Some(params) => (params, "unlock"),
                    None => (file.params, "key_provider"),
                };
                let derived = options.deriver.derive_verified(passphrase, &params)?;
                let mut keyring = keyring.clone();
                keyring.slots.retain(|s| s.kind != SlotKind::Passphrase);
                let id = keyring.add(
                    sealing::passphrase_slot(&derived, params, options.provider())?,
                    &in_memory,
                    now_ms,
                )?;
                keyring.mark_used(&id, now_ms);
                let new = VaultFile {
                    params,
                    token: file.token.clone(),
                    keyring: Some(keyring),
                };
                (in_memory, new, Rewrite::Audited(operation))
            }
            (Some(_), _) => {
                let Some(slot) = slot else {
                    return Ok(Rewrite::Nothing);
                };
                // A failure to note the last use is not worth an audit event.
                return Ok(if self.note_last_use(file, slot, now_ms).unwrap_or(false) {
                    Rewrite::LastUse
                } else {
                    Rewrite::Nothing
                });
            }
        };
        if !self.replace_if_unchanged(file, &new)? {
            return Ok(Rewrite::Nothing);
        }
        let credentials = record::from_bytes(plaintext)?;
        self.shared
            .state()
            .install(key, credentials, &new, epoch, options.clock.idle_now());
        Ok(rewrite)
    }

    /// Notes `slot`'s last use in the file read now, unless it still holds the keys of
    /// `expected` no longer, or the last use it shows is under a minute old: the freshness is
    /// judged on the file read just before the compare-and-swap, so concurrent unlocks (other
    /// processes, replicas) note it once a minute between them. Returns whether it wrote.
    fn note_last_use(
        &self,
        expected: &VaultFile,
        slot: &SlotId,
        now_ms: u64,
    ) -> Result<bool, Error> {
        let (on_disk, version) = self.options.read(self.store, self.shared)?;
        if on_disk.token != expected.token || on_disk.ring_id() != expected.ring_id() {
            return Ok(false);
        }
        let Some(mut keyring) = on_disk.keyring.clone() else {
            return Ok(false);
        };
        let fresh = keyring
            .slots
            .iter()
            .find(|s| &s.id == slot)
            .and_then(|s| s.last_used_ms)
            .is_some_and(|t| now_ms.saturating_sub(t) < LAST_USE_GRANULARITY_MS);
        if fresh {
            return Ok(false);
        }
        keyring.mark_used(slot, now_ms);
        let new = VaultFile {
            keyring: Some(keyring),
            ..on_disk
        };
        Ok(self.store.replace_if(version, &new.to_bytes()?)? != WriteOutcome::Conflict)
    }

    /// Writes `new` in place of the vault file only if the file still holds what `expected`
    /// holds (its token and key epoch): a versioned read, a comparison and the store's
    /// compare-and-swap on that version, so no other writer's change (another process or
    /// replica) is overwritten; returns whether it wrote.
    fn replace_if_unchanged(&self, expected: &VaultFile, new: &VaultFile) -> Result<bool, Error> {
        let (on_disk, version) = self.options.read(self.store, self.shared)?;
        if on_disk.token != expected.token || on_disk.ring_id() != expected.ring_id() {
            return Ok(false);
        }
        Ok(self.store.replace_if(version, &new.to_bytes()?)? != WriteOutcome::Conflict)
    }
}
