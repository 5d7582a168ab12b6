//! Vault files and Eclosion legacy files from an attacker: typed errors only.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    credlock::fuzzing::parse_untrusted(data);
    credlock_eclosion::fuzzing::parse_untrusted(data);
});
