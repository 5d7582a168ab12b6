//! Writing a vault file: a new one (version 3 with a fresh data key and a passphrase slot,
//! or version 1/2 for a vault kept Eclosion-compatible) and a rotation (a fresh data key,
//! the record re-sealed, the slots kept re-wrapped to their public keys, new slots added).
//!
//! No secret of a kept slot is needed to rotate: see [`crate::keyslot`].

use credlock_crypto::{FernetKey, KdfParams, fill_random};
use credlock_keyprovider::KeyProvider;

use crate::error::Error;
use crate::format::VaultFile;
use crate::keyslot::{
    Kek, Keyring, NewSlot, ProviderBinding, SLOT_SALT_LEN, Slot, SlotKind, SlotSource, peppered,
};

/// The label of a vault's passphrase slot.
pub(crate) const PASSPHRASE_LABEL: &str = "passphrase";

/// A passphrase slot for the passphrase whose KDF output (under `params`) is `derived`,
/// needing `provider`'s operation as well if there is one (its identity and check value are
/// recorded in the slot).
pub(crate) fn passphrase_slot(
    derived: &FernetKey,
    params: KdfParams,
    provider: Option<&dyn KeyProvider>,
) -> Result<NewSlot, Error> {
    Ok(NewSlot {
        kind: SlotKind::Passphrase,
        label: PASSPHRASE_LABEL.to_owned(),
        source: SlotSource::Kdf(params),
        provider: provider.map(ProviderBinding::of).transpose()?,
        kek: Kek::from_passphrase_key(&peppered(derived, provider)?)?,
    })
}

/// A slot of `kind` (recovery key or secret) for `secret`, with a fresh salt.
pub(crate) fn secret_slot(kind: SlotKind, label: &str, secret: &[u8]) -> Result<NewSlot, Error> {
    let mut salt = [0u8; SLOT_SALT_LEN];
    fill_random(&mut salt)?;
    Ok(NewSlot {
        kind,
        label: label.to_owned(),
        source: SlotSource::Salt(salt),
        provider: None,
        kek: Kek::from_secret(kind, secret, &salt)?,
    })
}

/// A new vault file holding `plaintext`, for the passphrase whose KDF output under `params`
/// is `passphrase_key`: version 3 (a fresh data key, one passphrase slot, needing `provider`
/// if given) when `keyslots`, else sealed under the passphrase's key (version 1 or 2; a key
/// provider needs keyslots). Returns the key the record is
/// sealed under, and the file.
pub(crate) fn seal_new(
    keyslots: bool,
    passphrase_key: FernetKey,
    params: KdfParams,
    provider: Option<&dyn KeyProvider>,
    plaintext: &[u8],
    now_ms: u64,
) -> Result<(FernetKey, VaultFile), Error> {
    if !keyslots {
        let token = passphrase_key.seal(plaintext)?;
        let file = VaultFile {
            params,
            token,
            keyring: None,
        };
        return Ok((passphrase_key, file));
    }
    let data_key = FernetKey::generate()?;
    let keyring = Keyring::create(
        &data_key,
        passphrase_slot(&passphrase_key, params, provider)?,
        now_ms,
    )?;
    let token = data_key.seal(plaintext)?;
    let file = VaultFile {
        params,
        token,
        keyring: Some(keyring),
    };
    Ok((data_key, file))
}

/// `file` (version 3) rotated to a fresh data key: `plaintext` re-sealed, the slots `keep`
/// keeps re-wrapped, the epoch up, then `add` added. Returns the new data key and file.
pub(crate) fn rotate(
    file: &VaultFile,
    plaintext: &[u8],
    keep: impl Fn(&Slot) -> bool,
    add: Vec<NewSlot>,
    now_ms: u64,
) -> Result<(FernetKey, VaultFile), Error> {
    let keyring = file.keyring.as_ref().ok_or(Error::NoKeyslots {
        version: file.version(),
    })?;
    let data_key = FernetKey::generate()?;
    let mut keyring = keyring.rotated(&data_key, keep)?;
    for new in add {
        keyring.add(new, &data_key, now_ms)?;
    }
    let params = match &keyring.passphrase_slot()?.source {
        SlotSource::Kdf(params) => *params,
        SlotSource::Salt(_) | SlotSource::Passkey { .. } => {
            return Err(Error::CorruptVault {
                reason: "the passphrase slot has no KDF",
            });
        }
    };
    let token = data_key.seal(plaintext)?;
    let file = VaultFile {
        params,
        token,
        keyring: Some(keyring),
    };
    Ok((data_key, file))
}
