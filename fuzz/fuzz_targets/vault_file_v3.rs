//! Vault files of format version 3 (keyslots) from an attacker, opened as far as they go:
//! typed errors only.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    credlock::fuzzing::open_untrusted_v3(data);
});
