//! Entry points for the fuzz targets in `fuzz/`, compiled only under `cfg(fuzzing)`.

use credlock_crypto::{Argon2Limits, KdfParams};

use crate::format::{Acceptance, VaultFile};
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
