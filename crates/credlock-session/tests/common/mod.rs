//! Test key and record types that log their zeroization.

#![allow(dead_code, unreachable_pub)]

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use credlock_session::{Session, SessionOptions, SessionState};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What was created and what was zeroized-and-dropped, shared by the test values.
#[derive(Debug, Default)]
pub struct Log {
    next_id: u64,
    keys_created: Vec<u64>,
    keys_dropped: Vec<u64>,
    records_created: Vec<u64>,
    records_dropped: Vec<u64>,
}

/// Handle to a shared [`Log`].
#[derive(Clone, Debug, Default)]
pub struct Tracker(Rc<RefCell<Log>>);

impl Tracker {
    pub fn new() -> Self {
        Self::default()
    }

    fn next_id(&self) -> u64 {
        let mut log = self.0.borrow_mut();
        log.next_id += 1;
        log.next_id
    }

    pub fn key(&self) -> TestKey {
        let id = self.next_id();
        self.0.borrow_mut().keys_created.push(id);
        TestKey {
            id,
            bytes: [0xA5; 32],
            tracker: self.clone(),
        }
    }

    pub fn record(&self) -> TestRecord {
        let id = self.next_id();
        self.0.borrow_mut().records_created.push(id);
        TestRecord {
            id,
            secret: format!("hunter2-SECRET-RECORD-{id}"),
            tracker: self.clone(),
        }
    }

    pub fn live_keys(&self) -> usize {
        let log = self.0.borrow();
        log.keys_created.len() - log.keys_dropped.len()
    }

    pub fn live_records(&self) -> usize {
        let log = self.0.borrow();
        log.records_created.len() - log.records_dropped.len()
    }

    pub fn key_dropped(&self, id: u64) -> bool {
        self.0.borrow().keys_dropped.contains(&id)
    }

    pub fn record_dropped(&self, id: u64) -> bool {
        self.0.borrow().records_dropped.contains(&id)
    }
}

/// A key whose `Drop` zeroizes it, checks that the bytes are zero, and logs the drop.
pub struct TestKey {
    pub id: u64,
    bytes: [u8; 32],
    tracker: Tracker,
}

impl TestKey {
    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

impl Zeroize for TestKey {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
    }
}

impl Drop for TestKey {
    fn drop(&mut self) {
        self.zeroize();
        assert_eq!(self.bytes, [0; 32], "key not zeroized");
        self.tracker.0.borrow_mut().keys_dropped.push(self.id);
    }
}

impl ZeroizeOnDrop for TestKey {}

/// Deliberately leaky `Debug`, to prove that `Session`'s `Debug` never calls it.
impl fmt::Debug for TestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SECRET-KEY-{:?}", self.bytes)
    }
}

/// A decrypted record whose `Drop` zeroizes it and logs the drop.
pub struct TestRecord {
    pub id: u64,
    secret: String,
    tracker: Tracker,
}

impl TestRecord {
    pub fn secret(&self) -> &str {
        &self.secret
    }
}

impl Zeroize for TestRecord {
    fn zeroize(&mut self) {
        self.secret.zeroize();
    }
}

impl Drop for TestRecord {
    fn drop(&mut self) {
        self.zeroize();
        assert!(self.secret.is_empty(), "record not zeroized");
        self.tracker.0.borrow_mut().records_dropped.push(self.id);
    }
}

impl ZeroizeOnDrop for TestRecord {}

impl fmt::Debug for TestRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.secret)
    }
}

pub type TestSession = Session<TestKey, TestRecord>;

pub const SEC: Duration = Duration::from_secs(1);

/// A session in `state` (unlocked at `now` if `Unlocked`), with `options`.
pub fn session_in(
    state: SessionState,
    options: SessionOptions,
    tracker: &Tracker,
    now: Instant,
) -> TestSession {
    match state {
        SessionState::NoCredentials => Session::with_options(false, options),
        SessionState::Locked => Session::with_options(true, options),
        SessionState::Unlocked => {
            Session::with_options(true, options).store(tracker.key(), tracker.record(), now)
        }
        other => unreachable!("new state {other:?}"),
    }
}

pub const ALL_STATES: [SessionState; 3] = [
    SessionState::NoCredentials,
    SessionState::Locked,
    SessionState::Unlocked,
];
