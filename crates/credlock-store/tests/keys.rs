//! No key escapes its place: whatever string an app passes as a key, either it is refused or
//! its files are direct children of the set's directory.

#![allow(clippy::unwrap_used)]
#![cfg(unix)]

use credlock_store::{FileStoreSet, StoreKey, StoreSet};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_accepted_key_names_a_direct_child(
        raw in prop_oneof![
            any::<String>(),
            "[a-zA-Z0-9./\\\\@+_ -]{0,140}",
            Just("..".to_owned()),
            Just("a/../../etc".to_owned()),
        ]
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let set = FileStoreSet::open(tmp.path().join("vaults")).unwrap();
        if let Ok(key) = StoreKey::new(&raw) {
            let path = set.path_of(&key);
            prop_assert_eq!(path.parent(), Some(set.dir()));
            let name = path.file_name().unwrap().to_str().unwrap();
            prop_assert_eq!(name, format!("{}.vault", key.as_str()));
            prop_assert!(!name.starts_with('.'));
            let store = set.store(&key).unwrap();
            store.save(b"x").unwrap();
            store.save_lockout(&credlock_store::LockoutRecord::new(1, None)).unwrap();
            // Everything written lies in the set's directory, and the directory only.
            let outside: Vec<_> = std::fs::read_dir(tmp.path()).unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            prop_assert_eq!(outside, vec![std::ffi::OsString::from("vaults")]);
            prop_assert!(path.is_file());
            prop_assert_eq!(set.keys().unwrap(), vec![key]);
        }
    }
}
