//! Entry points for the fuzz targets in `fuzz/`, compiled only under `cfg(fuzzing)`.

use credlock_crypto::{Argon2Limits, KdfParams};

use credlock_crypto::{FernetKey, Salt};

use crate::error::Error;
use crate::format::{Acceptance, VaultFile};
use crate::keyslot::{Kek, Keyring, SlotKind};
use crate::vault::record;

/// Parses `data` as a vault file (secure and test bounds) and as a sealed record; every
/// outcome must be an `Ok` or a typed error, never a panic.
pub fn parse_untrusted(data: &[u8]) {
    for acceptance in [Acceptance::Secure, Acceptance::InsecureLowCost] {
        if let Ok(file) = VaultFile::parse_with(data, acceptance, &Argon2Limits::DEFAULT) {
            if let Some(cost) = file.params.argon2_cost() {
                let limits = Argon2Limits::DEFAULT;
                assert!(cost.memory_kib() <= limits.max_memory_kib());
                assert!(cost.passes() <= limits.max_passes());
            } else {
                assert!(file.params.iterations() <= KdfParams::MAX_ITERATIONS);
                assert!(
                    acceptance == Acceptance::InsecureLowCost
                        || file.params.iterations() >= KdfParams::MIN_ITERATIONS
                );
            }
            let again = VaultFile::parse_with(
                &file.to_bytes().unwrap_or_default(),
                acceptance,
                &Argon2Limits::DEFAULT,
            );
            assert!(
                again.is_ok(),
                "a parsed file must serialise to a parseable one"
            );
        }
    }
    let _ = record::from_bytes(data);
}

/// A version-3 file from an attacker, opened as far as it goes: parsed under the test
/// bounds, then (at the fuzzer's cost: a KDF of at most 1,000 iterations) its passphrase
/// slot tried with a fixed passphrase, every recovery and secret slot with a fixed secret,
/// and the whole keyring rotated and re-serialised. Every outcome must be an `Ok` or a
/// typed error, never a panic.
pub fn open_untrusted_v3(data: &[u8]) {
    let Ok(file) = VaultFile::parse_with(data, Acceptance::InsecureLowCost, &Argon2Limits::DEFAULT)
    else {
        return;
    };
    let Some(keyring) = &file.keyring else {
        return;
    };
    if file.params.argon2_cost().is_none() && file.params.iterations() <= 1_000 {
        if let Ok(derived) = credlock_crypto::derive_key("Tangerine-Rocket-42!", &file.params) {
            check(file.open_with_passphrase_key(derived, None).map(|_| ()));
        }
    }
    // A slot naming a key provider: told before anything, never a panic.
    check(file.check_key_provider(None));
    for kind in [SlotKind::RecoveryKey, SlotKind::Secret] {
        check(file.open_with_secret(kind, &[0x42; 32]).map(|_| ()));
    }
    // A rotation needs only the public keys: it must work on any parsed keyring.
    if let Ok(data_key) = FernetKey::generate() {
        let rotated: Result<Keyring, Error> = keyring.rotated(&data_key, |_| true);
        if let Ok(rotated) = rotated {
            let again = VaultFile {
                keyring: Some(rotated),
                ..file.clone()
            };
            let bytes = again.to_bytes().unwrap_or_default();
            assert!(
                VaultFile::parse_with(&bytes, Acceptance::InsecureLowCost, &Argon2Limits::DEFAULT)
                    .is_ok(),
                "a rotated keyring must serialise to a parseable file"
            );
        }
    }
    // A KEK from nothing in particular never opens a slot it did not make.
    if let (Ok(salt), Some(slot)) = (Salt::random(), keyring.slots.first()) {
        if let Ok(kek) = Kek::from_secret(SlotKind::Secret, salt.as_bytes(), &[0; 16]) {
            assert!(slot.open(&kek, &keyring.vault_id, keyring.epoch).is_err());
        }
    }
}

/// Errors are fine; they only must be typed (no panic reached here).
fn check(result: Result<(), Error>) {
    if let Err(e) = result {
        let _ = e.to_string();
    }
}
