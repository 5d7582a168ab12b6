//! Eclosion's legacy `credentials.json` from another program: typed errors only; what opens
//! under the fixtures' key survives an export and a re-import unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    credlock_eclosion::fuzzing::eclosion_legacy(data);
});
