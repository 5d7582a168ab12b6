//! Key and record are really dropped (and zeroized) whenever the session leaves `Unlocked`.

use std::time::Instant;

use credlock_session::{SessionOptions, SessionState};

use crate::common::{SEC, Tracker, session_in};

fn unlocked(t: &Tracker, now: Instant) -> (crate::common::TestSession, u64, u64) {
    let s = session_in(SessionState::Unlocked, SessionOptions::default(), t, now);
    let key = s.key(now).expect("just unlocked").id;
    let record = s.record(now).expect("just unlocked").id;
    let (k, r) = (key, record);
    assert!(!t.key_dropped(k) && !t.record_dropped(r));
    (s, k, r)
}

#[test]
fn lock_drops_key_and_record() {
    let (now, t) = (Instant::now(), Tracker::new());
    let (s, k, r) = unlocked(&t, now);
    let s = s.lock();
    assert!(t.key_dropped(k) && t.record_dropped(r));
    assert_eq!((t.live_keys(), t.live_records()), (0, 0));
    drop(s);
}

#[test]
fn logout_drops_key_and_record() {
    let (now, t) = (Instant::now(), Tracker::new());
    let (s, k, r) = unlocked(&t, now);
    let s = s.logout();
    assert!(t.key_dropped(k) && t.record_dropped(r));
    assert_eq!(s.state(), SessionState::NoCredentials);
}

#[test]
fn store_over_drops_the_previous_pair_only() {
    let (now, t) = (Instant::now(), Tracker::new());
    let (s, k, r) = unlocked(&t, now);
    let s = s.store(t.key(), t.record(), now);
    assert!(t.key_dropped(k) && t.record_dropped(r));
    assert_eq!((t.live_keys(), t.live_records()), (1, 1));
    assert_eq!(s.key(now).unwrap().bytes(), &[0xA5; 32], "new key intact");
    assert!(s.record(now).unwrap().secret().starts_with("hunter2"));
}

#[test]
fn replace_record_drops_the_old_record_keeps_the_key() {
    let (now, t) = (Instant::now(), Tracker::new());
    let (mut s, k, r) = unlocked(&t, now);
    s.replace_record(t.record(), now).unwrap();
    assert!(t.record_dropped(r) && !t.key_dropped(k));
}

#[test]
fn idle_expiry_drops_key_and_record() {
    let (now, t) = (Instant::now(), Tracker::new());
    let (s, k, r) = unlocked(&t, now);
    let later = now + SessionOptions::DEFAULT_IDLE_TIMEOUT;
    let s = s.enforce_idle_timeout(later);
    assert!(t.key_dropped(k) && t.record_dropped(r));
    assert_eq!(s.state(), SessionState::Locked);

    // The `&mut self` paths drop them too.
    for op in 0..3 {
        let (mut s, k, r) = unlocked(&t, now);
        let at = later + SEC;
        match op {
            0 => s.touch(at),
            1 => s.record_failed_unlock(at),
            _ => assert!(s.replace_record(t.record(), at).is_err()),
        }
        assert!(t.key_dropped(k) && t.record_dropped(r), "op {op}");
        assert_eq!(s.state(), SessionState::Locked);
        drop(s);
        assert_eq!((t.live_keys(), t.live_records()), (0, 0));
    }
}

#[test]
fn rejected_unlock_drops_the_offered_pair() {
    let (now, t) = (Instant::now(), Tracker::new());
    let s = session_in(
        SessionState::NoCredentials,
        SessionOptions::default(),
        &t,
        now,
    );
    let (k, r) = (t.key(), t.record());
    let (kid, rid) = (k.id, r.id);
    let (_s, _) = s.unlock(k, r, now).unwrap_err();
    assert!(t.key_dropped(kid) && t.record_dropped(rid));
}

#[test]
fn dropping_the_session_drops_key_and_record() {
    let (now, t) = (Instant::now(), Tracker::new());
    let (s, k, r) = unlocked(&t, now);
    drop(s);
    assert!(t.key_dropped(k) && t.record_dropped(r));
}
