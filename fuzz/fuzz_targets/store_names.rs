//! Names from users and from a directory: user ids and store keys, store paths, and a
//! registry directory holding files of any name. A key never names a file outside the
//! directory or a reserved one; listing lists only what the set could have made.
#![no_main]

use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use credlock::UserId;
use credlock_store::{FileStoreSet, StoreKey, StoreSet};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    id: String,
    path: Vec<u8>,
    files: Vec<(String, bool)>,
}

fuzz_target!(|input: Input| {
    credlock_store::fuzzing::store_path(&input.path);

    let key = StoreKey::new(&input.id);
    let user = UserId::new(&input.id);
    assert_eq!(key.is_ok(), user.is_ok());
    if let (Ok(key), Ok(user)) = (&key, &user) {
        assert_eq!(key.as_str(), user.as_str());
        assert_eq!(key.as_str(), input.id.to_ascii_lowercase());
        assert_eq!(StoreKey::new(key.as_str()).as_ref(), Ok(key));
    }

    let Ok(tmp) = tempfile::tempdir() else { return };
    let Ok(set) = FileStoreSet::open(tmp.path().join("vaults")) else {
        return;
    };
    if let Ok(key) = &key {
        let path = set.path_of(key);
        assert_eq!(path.parent(), Some(set.dir()));
        credlock_store::fuzzing::store_path(path.as_os_str().as_encoded_bytes());
    }
    // Files of any name (directories when the flag is set) in the set's directory.
    let mut made = BTreeSet::new();
    for (name, as_dir) in input.files.iter().take(16) {
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
            continue;
        }
        let p = set.dir().join(name);
        let ok = if *as_dir {
            std::fs::create_dir(&p).is_ok()
        } else {
            std::fs::write(&p, b"not a sealed record").is_ok()
        };
        if ok {
            made.insert(name.clone());
        }
    }
    if let Ok(keys) = set.keys() {
        for k in keys {
            let file = format!("{}.vault", k.as_str());
            assert!(made.contains(&file), "{k:?} listed without its file");
            if let Ok(store) = set.store(&k) {
                let _ = store.load();
            }
        }
    }
    let _ = set.lockouts();
});
