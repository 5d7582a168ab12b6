//! The conformance suite of the store contract, run against the file and memory backends.

#![allow(clippy::unwrap_used)]
#![cfg(all(unix, feature = "conformance"))]

use credlock_store::conformance::{Tamper, run_all};
use credlock_store::{FileStoreSet, MemoryStoreSet, StoreKey};

#[derive(Debug)]
struct Files(FileStoreSet);

impl Tamper for Files {
    fn corrupt_record(&self, key: &StoreKey) {
        // An empty file: never written by a store.
        std::fs::write(self.0.path_of(key), b"").unwrap();
    }

    fn corrupt_lockout(&self, key: &StoreKey) -> bool {
        let path = self
            .0
            .dir()
            .join(format!(".{}.vault.lockout", key.as_str()));
        std::fs::write(path, b"credlock-lockout 1\nfailures -1\n").unwrap();
        true
    }
}

#[test]
fn the_file_store_conforms() {
    let tmp = tempfile::tempdir().unwrap();
    let set = FileStoreSet::open(tmp.path().join("vaults")).unwrap();
    run_all(&set, &Files(set.clone()));
}

#[derive(Debug)]
struct Memory(MemoryStoreSet);

impl Tamper for Memory {
    fn corrupt_record(&self, key: &StoreKey) {
        self.0.memory_store(key).set_contents(Some(Vec::new()));
    }

    fn corrupt_lockout(&self, _key: &StoreKey) -> bool {
        // A memory store holds the parsed record: there is nothing to corrupt.
        false
    }
}

#[test]
fn the_memory_store_conforms() {
    let set = MemoryStoreSet::new();
    run_all(&set, &Memory(set.clone()));
}
