//! No wasted derivations: an unlock that waits its turn at the passphrase gate and then finds
//! the vault already unlocked, or locked by a later `lock()`, answers without deriving a key
//! and without counting an attempt.
//!
//! The seams: a store that counts the reads of the record (every unlock reads it before it
//! queues at the gate) and a derivation observer that holds the first derivation until the
//! test releases it, once every other unlock has read the record: they are then queued (or
//! about to be) behind it, past the state check an unlock makes before it reads.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::{PASS, TEST_ITERATIONS, creds, secret, valid};
use credlock::{DerivationStage, Error, MemoryStore, SessionState, Vault, VaultBuilder};
use credlock_store::{
    Error as StoreError, LockoutRecord, Store, StoreInfo, StoreLock, Version, Versioned,
    WriteOutcome,
};

/// A memory store that counts the reads of its record.
#[derive(Debug)]
struct CountingReads {
    inner: MemoryStore,
    reads: Arc<AtomicUsize>,
}

impl Store for CountingReads {
    fn load(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.load()
    }
    fn save(&self, bytes: &[u8]) -> Result<(), StoreError> {
        self.inner.save(bytes)
    }
    fn delete(&self) -> Result<(), StoreError> {
        self.inner.delete()
    }
    fn lock(&self) -> Result<StoreLock, StoreError> {
        self.inner.lock()
    }
    fn describe(&self) -> StoreInfo {
        self.inner.describe()
    }
    fn load_lockout(&self) -> Result<LockoutRecord, StoreError> {
        self.inner.load_lockout()
    }
    fn save_lockout(&self, record: &LockoutRecord) -> Result<(), StoreError> {
        self.inner.save_lockout(record)
    }
    fn read(&self) -> Result<Option<Versioned<Vec<u8>>>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.read()
    }
    fn create(&self, bytes: &[u8]) -> Result<WriteOutcome, StoreError> {
        self.inner.create(bytes)
    }
    fn replace_if(&self, expected: Version, bytes: &[u8]) -> Result<WriteOutcome, StoreError> {
        self.inner.replace_if(expected, bytes)
    }
    fn read_lockout(&self) -> Result<Versioned<LockoutRecord>, StoreError> {
        self.inner.read_lockout()
    }
    fn replace_lockout_if(
        &self,
        expected: Version,
        record: &LockoutRecord,
    ) -> Result<WriteOutcome, StoreError> {
        self.inner.replace_lockout_if(expected, record)
    }
    fn reset_lockout(&self) -> Result<(), StoreError> {
        self.inner.reset_lockout()
    }
    fn update_lockout(
        &self,
        update: &mut dyn FnMut(&LockoutRecord) -> Option<LockoutRecord>,
    ) -> Result<LockoutRecord, StoreError> {
        self.inner.update_lockout(update)
    }
}

/// A stored, locked vault whose first derivation waits until `release` is set; the
/// derivations started, and the reads of the record.
struct Rig {
    vault: Arc<Vault>,
    derivations: Arc<AtomicUsize>,
    reads: Arc<AtomicUsize>,
    release: Arc<AtomicBool>,
}

impl Rig {
    /// Waits until the record has been read `n` more times than `base`.
    fn wait_for_reads(&self, base: usize, n: usize) {
        while self.reads.load(Ordering::SeqCst) < base + n {
            std::thread::yield_now();
        }
    }

    /// Waits until a derivation has started.
    fn wait_for_a_derivation(&self) {
        while self.derivations.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
    }

    /// Locked again, the counters reset and the next first derivation held.
    fn relocked(self) -> Self {
        self.vault.lock();
        self.derivations.store(0, Ordering::SeqCst);
        self.release.store(false, Ordering::SeqCst);
        self
    }
}

fn rig() -> Rig {
    let reads = Arc::new(AtomicUsize::new(0));
    let derivations = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(AtomicBool::new(true));
    let (d, h) = (Arc::clone(&derivations), Arc::clone(&release));
    let vault = VaultBuilder::with_store(CountingReads {
        inner: MemoryStore::new(),
        reads: Arc::clone(&reads),
    })
    .insecure_kdf_iterations(TEST_ITERATIONS)
    .without_tracing_audit()
    .on_key_derivation(move |e| {
        if e.stage != DerivationStage::Started {
            return;
        }
        // Only the first derivation waits, for the test to release it.
        if d.fetch_add(1, Ordering::SeqCst) == 0 {
            while !h.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
        }
    })
    .open()
    .unwrap();
    vault.store(creds(), valid(PASS)).unwrap();
    Rig {
        vault: Arc::new(vault),
        derivations,
        reads,
        release,
    }
    .relocked()
}

const QUEUED: usize = 12;

#[test]
fn unlocks_queued_behind_a_successful_one_derive_nothing() {
    let rig = rig();
    let base = rig.reads.load(Ordering::SeqCst);
    let results: Vec<Result<(), Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..=QUEUED)
            .map(|_| s.spawn(|| rig.vault.unlock(&secret(PASS))))
            .collect();
        // Every unlock has read the record, so each is past its first state check.
        rig.wait_for_reads(base, 1 + QUEUED);
        rig.release.store(true, Ordering::SeqCst);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(rig.vault.status(), SessionState::Unlocked);
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in &results {
        assert!(matches!(r, Ok(()) | Err(Error::AlreadyUnlocked)), "{r:?}");
    }
    assert_eq!(
        rig.derivations.load(Ordering::SeqCst),
        1,
        "only the unlock that got the first turn derived"
    );
    assert_eq!(rig.vault.lockout_state().unwrap().failures, 0);
}

#[test]
fn unlocks_queued_before_a_lock_derive_nothing_after_it() {
    let rig = rig();
    let base = rig.reads.load(Ordering::SeqCst);
    let results: Vec<Result<(), Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..=QUEUED)
            .map(|_| s.spawn(|| rig.vault.unlock(&secret(PASS))))
            .collect();
        rig.wait_for_reads(base, 1 + QUEUED);
        rig.wait_for_a_derivation();
        // Every unlock began before this lock, which lands during the first derivation.
        rig.vault.lock();
        rig.release.store(true, Ordering::SeqCst);
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in &results {
        assert!(matches!(r, Err(Error::Interrupted)), "{r:?}");
    }
    assert_eq!(
        rig.derivations.load(Ordering::SeqCst),
        1,
        "the queued unlocks found the lock before deriving"
    );
    assert_eq!(rig.vault.status(), SessionState::Locked);

    // An unlock that begins after the lock is a new one: it derives and opens.
    let rig = rig.relocked();
    rig.release.store(true, Ordering::SeqCst);
    rig.vault.unlock(&secret(PASS)).unwrap();
    assert_eq!(rig.derivations.load(Ordering::SeqCst), 1);
}
