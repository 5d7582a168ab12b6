//! Property test: whatever bytes are saved are loaded back, through both stores.
#![cfg(unix)]
#![allow(
    clippy::unwrap_used,
    clippy::print_stderr,
    clippy::cast_possible_truncation,
    reason = "test code: helpers outside #[test] functions, and test data generators"
)]

use credlock_store::{FileStore, MemoryStore, Store};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn file_round_trip(
        versions in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..4096), 1..4),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::open(tmp.path().join("vault")).unwrap();
        for bytes in &versions {
            store.save(bytes).unwrap();
            prop_assert_eq!(store.load().unwrap(), Some(bytes.clone()));
            prop_assert_eq!(store.file_mode(), Some(0o600));
        }
        // Reopening finds the last version, and only the file (and its lock) in the directory.
        let reopened = FileStore::open(tmp.path().join("vault")).unwrap();
        prop_assert_eq!(reopened.load().unwrap(), versions.last().cloned());
        let names: Vec<_> = std::fs::read_dir(tmp.path()).unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        prop_assert_eq!(names, vec![std::ffi::OsString::from("vault")]);
    }

    #[test]
    fn memory_round_trip(bytes in prop::collection::vec(any::<u8>(), 1..4096)) {
        let store = MemoryStore::new();
        store.save(&bytes).unwrap();
        prop_assert_eq!(store.load().unwrap(), Some(bytes));
    }
}

#[test]
fn large_round_trip_at_the_cap() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::open(tmp.path().join("vault")).unwrap();
    let bytes: Vec<u8> = (0..credlock_store::DEFAULT_MAX_LEN)
        .map(|i| (i.wrapping_mul(31) % 256) as u8)
        .collect();
    store.save(&bytes).unwrap();
    assert_eq!(store.load().unwrap().unwrap(), bytes);
}
