//! Eclosion's SQLite database from another program: the bytes are written to a fresh
//! `eclosion.db` and read as the import reads it. Typed errors only, the file unchanged and
//! nothing created beside it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    credlock_eclosion::fuzzing::eclosion_sqlite(data);
});
