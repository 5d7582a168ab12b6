//! Entry points for the fuzz targets in `fuzz/`, compiled only under `cfg(fuzzing)`.

use credlock_crypto::KdfParams;

use crate::format::{Acceptance, VaultFile};

/// Parses `data` as a vault file (secure and test bounds), and as an Eclosion legacy file;
/// every outcome must be an `Ok` or a typed error, never a panic.
pub fn parse_untrusted(data: &[u8]) {
    for acceptance in [Acceptance::Secure, Acceptance::InsecureLowCost] {
        if let Ok(file) = VaultFile::parse(data, acceptance) {
            assert!(file.params.iterations() <= KdfParams::MAX_ITERATIONS);
            assert!(
                acceptance == Acceptance::InsecureLowCost
                    || file.params.iterations() >= KdfParams::MIN_ITERATIONS
            );
            let again = VaultFile::parse(&file.to_bytes().unwrap_or_default(), acceptance);
            assert!(
                again.is_ok(),
                "a parsed file must serialise to a parseable one"
            );
        }
    }
    let _ = crate::eclosion::parse_legacy_json(data);
    let _ = crate::record::from_bytes(data);
}
