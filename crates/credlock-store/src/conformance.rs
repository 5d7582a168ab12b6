//! The conformance suite of the [`Store`] and [`StoreSet`] contract, written once and run
//! by the tests of every backend (feature `conformance`).
//!
//! A backend's test calls [`run_all`] with an empty set and a [`Tamper`] that knows how to
//! plant bad data in that backend. Every check panics with a message naming the broken rule,
//! so it is for tests only.
//!
//! ```
//! # #[cfg(feature = "conformance")] {
//! use credlock_store::conformance::{Tamper, run_all};
//! use credlock_store::{MemoryStoreSet, StoreKey};
//!
//! #[derive(Debug)]
//! struct Memory(MemoryStoreSet);
//! impl Tamper for Memory {
//!     fn corrupt_record(&self, key: &StoreKey) {
//!         self.0.memory_store(key).set_contents(Some(Vec::new()));
//!     }
//!     fn corrupt_lockout(&self, _key: &StoreKey) -> bool {
//!         false // a memory store holds a parsed record: nothing to corrupt
//!     }
//! }
//! let set = MemoryStoreSet::new();
//! run_all(&set, &Memory(set.clone()));
//! # }
//! ```

#![allow(clippy::unwrap_used, clippy::panic, clippy::missing_panics_doc)]

use std::collections::HashSet;
use std::sync::Barrier;
use std::thread;

use crate::{Error, LockoutRecord, Store, StoreEvent, StoreKey, StoreSet, Version, WriteOutcome};

/// Threads in the race checks.
const THREADS: usize = 4;
/// Updates per thread in the race checks.
const ROUNDS: usize = 25;

/// Plants bad data in a backend, behind the contract's back.
pub trait Tamper {
    /// Makes the stored record of `key` unreadable (an empty or malformed row, an empty
    /// file); the key must read as present afterwards.
    fn corrupt_record(&self, key: &StoreKey);

    /// Makes the stored lockout state of `key` unparseable; returns `false` if the backend
    /// cannot hold an unparseable state (the check is then skipped, and says so in its
    /// name).
    fn corrupt_lockout(&self, key: &StoreKey) -> bool;
}

/// Runs every check against `set`, which must be empty, with `tamper` for the bad-data
/// checks. Panics, naming the rule, on the first failure.
pub fn run_all(set: &dyn StoreSet, tamper: &dyn Tamper) {
    assert!(set.keys().unwrap().is_empty(), "run_all needs an empty set");
    records(set);
    conditional_writes(set);
    handles_share_the_record(set);
    record_races_lose_nothing(set);
    lockout_state(set);
    lockout_races_lose_nothing(set);
    bad_data_is_refused(set, tamper);
    listing(set);
    announcements(set);
}

fn key(name: &str) -> StoreKey {
    StoreKey::new(name).unwrap()
}

fn store(set: &dyn StoreSet, name: &str) -> Box<dyn Store> {
    set.store(&key(name)).unwrap()
}

/// Plain load, save and delete.
pub fn records(set: &dyn StoreSet) {
    let s = store(set, "records");
    assert_eq!(s.load().unwrap(), None, "a new key holds nothing");
    assert!(s.read().unwrap().is_none());
    assert!(!s.describe().present);
    s.save(b"one").unwrap();
    assert_eq!(s.load().unwrap().as_deref(), Some(&b"one"[..]));
    assert!(s.describe().present);
    s.save(b"two").unwrap();
    assert_eq!(s.load().unwrap().as_deref(), Some(&b"two"[..]));
    assert!(
        matches!(s.save(b""), Err(Error::EmptyData { .. })),
        "empty data is refused"
    );
    assert_eq!(s.load().unwrap().as_deref(), Some(&b"two"[..]), "kept");
    s.delete().unwrap();
    assert_eq!(s.load().unwrap(), None);
    s.delete().unwrap();
    let big = vec![7_u8; 64 * 1024];
    s.save(&big).unwrap();
    assert_eq!(s.load().unwrap(), Some(big), "64 KiB round-trip");
    s.delete().unwrap();
}

/// Create-if-absent and replace-if-unchanged.
pub fn conditional_writes(set: &dyn StoreSet) {
    let s = store(set, "cas");
    let v1 = s
        .create(b"first")
        .unwrap()
        .written()
        .expect("create on an empty key");
    let read = s.read().unwrap().unwrap();
    assert_eq!((read.value.as_slice(), read.version), (&b"first"[..], v1));
    assert_eq!(
        s.create(b"second").unwrap(),
        WriteOutcome::Conflict,
        "create over a record"
    );
    assert_eq!(s.load().unwrap().as_deref(), Some(&b"first"[..]), "kept");
    let v2 = s
        .replace_if(v1, b"second")
        .unwrap()
        .written()
        .expect("unchanged");
    assert_ne!(v1, v2, "a write changes the version");
    assert_eq!(s.read().unwrap().unwrap().version, v2);
    assert_eq!(
        s.replace_if(v1, b"third").unwrap(),
        WriteOutcome::Conflict,
        "a stale version"
    );
    assert_eq!(s.load().unwrap().as_deref(), Some(&b"second"[..]), "kept");
    assert!(matches!(
        s.create(b""),
        Err(Error::EmptyData { .. }) | Ok(WriteOutcome::Conflict)
    ));
    assert!(matches!(
        s.replace_if(v2, b""),
        Err(Error::EmptyData { .. })
    ));
    assert_eq!(s.load().unwrap().as_deref(), Some(&b"second"[..]), "kept");
    // An unconditional save also changes the version.
    s.save(b"saved").unwrap();
    let v3 = s.read().unwrap().unwrap().version;
    assert_eq!(s.replace_if(v2, b"x").unwrap(), WriteOutcome::Conflict);
    s.delete().unwrap();
    assert_eq!(
        s.replace_if(v3, b"x").unwrap(),
        WriteOutcome::Conflict,
        "replace after delete"
    );
    assert_eq!(s.load().unwrap(), None, "nothing resurrected");
    assert!(s.create(b"again").unwrap().written().is_some());
    s.delete().unwrap();
}

/// Two handles on one key (two processes, or two replicas) see each other's writes.
pub fn handles_share_the_record(set: &dyn StoreSet) {
    let a = store(set, "shared");
    let b = set.store(&key("SHARED")).unwrap();
    let v = a.create(b"from a").unwrap().written().unwrap();
    assert_eq!(b.load().unwrap().as_deref(), Some(&b"from a"[..]));
    assert_eq!(b.read().unwrap().unwrap().version, v, "one version for all");
    b.replace_if(v, b"from b").unwrap().written().unwrap();
    assert_eq!(a.replace_if(v, b"lost?").unwrap(), WriteOutcome::Conflict);
    assert_eq!(a.load().unwrap().as_deref(), Some(&b"from b"[..]));
    let other = store(set, "shared-other");
    assert_eq!(other.load().unwrap(), None, "keys are separate");
    a.delete().unwrap();
    assert_eq!(b.load().unwrap(), None);
}

/// Read-modify-write loops on one key from several threads (each with its own handle):
/// every successful compare-and-swap is one increment, none lost, none doubled.
pub fn record_races_lose_nothing(set: &dyn StoreSet) {
    let name = "race";
    store(set, name).create(b"0").unwrap().written().unwrap();
    let barrier = Barrier::new(THREADS);
    let versions: Vec<Vec<Version>> = thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let barrier = &barrier;
                scope.spawn(move || {
                    let s = store(set, name);
                    let mut mine = Vec::new();
                    barrier.wait();
                    for _ in 0..ROUNDS {
                        loop {
                            let cur = s.read().unwrap().unwrap();
                            let n: usize =
                                std::str::from_utf8(&cur.value).unwrap().parse().unwrap();
                            let next = (n + 1).to_string();
                            if let WriteOutcome::Written(v) =
                                s.replace_if(cur.version, next.as_bytes()).unwrap()
                            {
                                mine.push(v);
                                break;
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total = THREADS * ROUNDS;
    let got = store(set, name).load().unwrap().unwrap();
    assert_eq!(got, total.to_string().into_bytes(), "an update was lost");
    let distinct: HashSet<Version> = versions.iter().flatten().copied().collect();
    assert_eq!(distinct.len(), total, "two writers got one version");
    store(set, name).delete().unwrap();
}

/// The lockout state: default, compare-and-swap, reset, and its tie to the record.
pub fn lockout_state(set: &dyn StoreSet) {
    let s = store(set, "lockout");
    s.save(b"record").unwrap();
    let start = s.read_lockout().unwrap();
    assert_eq!(
        start.value,
        LockoutRecord::default(),
        "no failures at first"
    );
    let rec = LockoutRecord::new(3, Some((1_000, std::time::Duration::from_secs(30))));
    let v = s
        .replace_lockout_if(start.version, &rec)
        .unwrap()
        .written()
        .unwrap();
    assert_eq!(s.read_lockout().unwrap().value, rec);
    assert_eq!(s.load_lockout().unwrap(), rec);
    assert_eq!(
        s.replace_lockout_if(start.version, &LockoutRecord::default())
            .unwrap(),
        WriteOutcome::Conflict,
        "a stale lockout version"
    );
    assert_eq!(s.read_lockout().unwrap(), crate::Versioned::new(rec, v));
    assert_eq!(
        s.load().unwrap().as_deref(),
        Some(&b"record"[..]),
        "the record is apart"
    );
    let other = store(set, "lockout-other");
    assert_eq!(
        other.load_lockout().unwrap(),
        LockoutRecord::default(),
        "per key"
    );
    s.reset_lockout().unwrap();
    assert_eq!(s.load_lockout().unwrap(), LockoutRecord::default());
    let after = s
        .update_lockout(&mut |r| Some(LockoutRecord::new(r.failures() + 2, None)))
        .unwrap();
    assert_eq!(after.failures(), 2);
    let unchanged = s.update_lockout(&mut |_| None).unwrap();
    assert_eq!(unchanged.failures(), 2, "no update, no write");
    s.save_lockout(&LockoutRecord::new(9, None)).unwrap();
    assert_eq!(s.load_lockout().unwrap().failures(), 9);
    s.delete().unwrap();
    assert_eq!(
        s.load_lockout().unwrap(),
        LockoutRecord::default(),
        "deleting the record deletes its lockout state"
    );
}

/// Failed-attempt increments from several threads (each with its own handle) are all
/// counted, and a reset in the middle is not undone.
pub fn lockout_races_lose_nothing(set: &dyn StoreSet) {
    let name = "lockout-race";
    store(set, name).save(b"record").unwrap();
    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        for _ in 0..THREADS {
            let barrier = &barrier;
            scope.spawn(move || {
                let s = store(set, name);
                barrier.wait();
                for _ in 0..ROUNDS {
                    s.update_lockout(&mut |r| Some(LockoutRecord::new(r.failures() + 1, None)))
                        .unwrap();
                }
            });
        }
    });
    let s = store(set, name);
    let total = u32::try_from(THREADS * ROUNDS).unwrap();
    assert_eq!(
        s.load_lockout().unwrap().failures(),
        total,
        "an increment was lost"
    );
    s.reset_lockout().unwrap();
    let v = s.read_lockout().unwrap().version;
    s.update_lockout(&mut |r| Some(LockoutRecord::new(r.failures() + 1, None)))
        .unwrap();
    assert_eq!(
        s.replace_lockout_if(v, &LockoutRecord::new(100, None))
            .unwrap(),
        WriteOutcome::Conflict,
        "a write based on the reset state after an increment"
    );
    assert_eq!(s.load_lockout().unwrap().failures(), 1);
    s.delete().unwrap();
}

/// Planted bad data is refused with an error (never returned as data, never a panic), and
/// nothing else is touched; a reset is the way out of a bad lockout state.
pub fn bad_data_is_refused(set: &dyn StoreSet, tamper: &dyn Tamper) {
    let k = key("tampered");
    let s = set.store(&k).unwrap();
    s.save(b"good").unwrap();
    s.save_lockout(&LockoutRecord::new(2, None)).unwrap();
    let neighbour = store(set, "tampered-neighbour");
    neighbour.save(b"neighbour").unwrap();
    tamper.corrupt_record(&k);
    let err = s.load().expect_err("a corrupt record was returned as data");
    assert!(!err.to_string().is_empty());
    assert!(s.read().is_err(), "read refuses it too");
    assert_eq!(
        s.create(b"over").unwrap(),
        WriteOutcome::Conflict,
        "a corrupt record is still present"
    );
    assert_eq!(
        neighbour.load().unwrap().as_deref(),
        Some(&b"neighbour"[..])
    );
    s.save(b"repaired").unwrap();
    assert_eq!(s.load().unwrap().as_deref(), Some(&b"repaired"[..]));
    if tamper.corrupt_lockout(&k) {
        let err = s
            .load_lockout()
            .expect_err("a corrupt lockout state was used");
        assert!(matches!(err, Error::LockoutCorrupt { .. }), "{err}");
        assert!(s.read_lockout().is_err());
        assert!(
            s.update_lockout(&mut |_| Some(LockoutRecord::default()))
                .is_err(),
            "an update never overwrites a state it could not read"
        );
        s.reset_lockout().unwrap();
        assert_eq!(s.load_lockout().unwrap(), LockoutRecord::default());
    }
    assert_eq!(
        s.load().unwrap().as_deref(),
        Some(&b"repaired"[..]),
        "record kept"
    );
    s.delete().unwrap();
    neighbour.delete().unwrap();
}

/// The set lists its keys and its locked-out keys.
pub fn listing(set: &dyn StoreSet) {
    assert!(set.keys().unwrap().is_empty(), "every check cleaned up");
    for name in ["bob", "alice", "carol"] {
        store(set, name).save(name.as_bytes()).unwrap();
    }
    // A store handed out but never written is not listed.
    let _unused = store(set, "dave");
    assert_eq!(
        set.keys().unwrap(),
        vec![key("alice"), key("bob"), key("carol")]
    );
    assert!(set.lockouts().unwrap().is_empty());
    let rec = LockoutRecord::new(5, Some((1_000, std::time::Duration::from_secs(30))));
    store(set, "carol").save_lockout(&rec).unwrap();
    store(set, "alice")
        .save_lockout(&LockoutRecord::new(1, None))
        .unwrap();
    store(set, "bob")
        .save_lockout(&LockoutRecord::new(1, None))
        .unwrap();
    store(set, "bob").reset_lockout().unwrap();
    assert_eq!(
        set.lockouts().unwrap(),
        vec![
            (key("alice"), LockoutRecord::new(1, None)),
            (key("carol"), rec)
        ]
    );
    for name in ["bob", "alice", "carol"] {
        store(set, name).delete().unwrap();
    }
    assert!(set.keys().unwrap().is_empty());
    assert!(set.lockouts().unwrap().is_empty());
}

/// Announcing is accepted for every event, whether the backend carries announcements or not,
/// and changes nothing a reader sees: no record, no lockout state, no key listed.
pub fn announcements(set: &dyn StoreSet) {
    let s = store(set, "announcer");
    for event in StoreEvent::ALL {
        s.announce(*event).unwrap();
    }
    assert_eq!(s.load().unwrap(), None, "an announcement writes no record");
    assert_eq!(s.load_lockout().unwrap(), LockoutRecord::default());
    s.save(b"sealed").unwrap();
    let version = s.read().unwrap().unwrap().version;
    s.announce(StoreEvent::Locked).unwrap();
    assert_eq!(
        s.read().unwrap().unwrap().version,
        version,
        "an announcement does not change the record's version"
    );
    s.delete().unwrap();
    assert!(set.keys().unwrap().is_empty());
}
