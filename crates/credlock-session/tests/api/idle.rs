//! Idle auto-lock: boundary, activity, and the "reads act locked" rule.

use std::time::{Duration, Instant};

use credlock_session::{Error, SessionOptions, SessionState};

use crate::common::{SEC, TestSession, Tracker, session_in};

const T: Duration = Duration::from_secs(60);
const NS: Duration = Duration::from_nanos(1);

fn unlocked(t: &Tracker, now: Instant) -> TestSession {
    let opts = SessionOptions::new().with_idle_timeout(T);
    session_in(SessionState::Unlocked, opts, t, now)
}

#[test]
fn boundary_is_exactly_the_timeout() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let s = unlocked(&t, t0);
    assert!(s.key(t0 + T - NS).is_ok());
    assert_eq!(s.idle_remaining(t0 + T - NS), Some(NS));
    assert_eq!(s.key(t0 + T).map(drop), Err(Error::Locked));
    assert_eq!(s.record(t0 + T).map(drop), Err(Error::Locked));
    assert_eq!(s.idle_remaining(t0 + T), Some(Duration::ZERO));
    assert_eq!(s.state(), SessionState::Unlocked, "no transition yet");
    assert_eq!(s.state_at(t0 + T), SessionState::Locked);
    assert_eq!(s.status(t0 + T).state, SessionState::Locked);

    let s = s.enforce_idle_timeout(t0 + T - NS);
    assert_eq!(s.state(), SessionState::Unlocked);
    let s = s.enforce_idle_timeout(t0 + T);
    assert_eq!((s.state(), t.live_keys()), (SessionState::Locked, 0));
}

#[test]
fn touch_and_replace_record_restart_the_clock() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let mut s = unlocked(&t, t0);
    s.touch(t0 + 50 * SEC);
    assert!(s.key(t0 + 50 * SEC + T - NS).is_ok());
    s.replace_record(t.record(), t0 + 100 * SEC).unwrap();
    assert!(s.key(t0 + 100 * SEC + T - NS).is_ok());
    assert!(s.key(t0 + 100 * SEC + T).is_err());
    // Reads are not activity.
    assert_eq!(s.idle_remaining(t0 + 100 * SEC), Some(T));
}

#[test]
fn touch_after_expiry_locks_instead_of_reviving() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let mut s = unlocked(&t, t0);
    s.touch(t0 + T);
    assert_eq!((s.state(), t.live_keys()), (SessionState::Locked, 0));
    assert_eq!(s.key(t0 + T).map(drop), Err(Error::Locked));
}

#[test]
fn earlier_instants_do_not_count_as_idle_or_rewind() {
    let t0 = Instant::now() + Duration::from_secs(3600);
    let t = Tracker::new();
    let mut s = unlocked(&t, t0);
    assert!(s.key(t0 - Duration::from_secs(3000)).is_ok());
    s.touch(t0 - Duration::from_secs(3000)); // ignored: does not move last use back
    assert!(s.key(t0 + T - NS).is_ok());
    assert!(s.key(t0 + T).is_err());
}

#[test]
fn expired_session_unlocks_like_a_locked_one() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let s = unlocked(&t, t0);
    assert_eq!(s.check_unlock_allowed(t0), Err(Error::AlreadyUnlocked));
    assert_eq!(s.check_unlock_allowed(t0 + T), Ok(()));
    let s = s
        .unlock(t.key(), t.record(), t0 + T)
        .map_err(|(_, e)| e)
        .unwrap();
    assert_eq!(t.live_keys(), 1, "old key dropped, new one kept");
    assert!(s.key(t0 + 2 * T - NS).is_ok());
}

#[test]
fn no_timeout_and_huge_timeout() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let opts = SessionOptions::new().without_idle_timeout();
    let s = session_in(SessionState::Unlocked, opts, &t, t0);
    let far = t0 + Duration::from_secs(100 * 365 * 24 * 3600);
    assert!(s.key(far).is_ok());
    assert_eq!(s.idle_remaining(far), None);

    let opts = SessionOptions::new().with_idle_timeout(Duration::MAX);
    let s = session_in(SessionState::Unlocked, opts, &t, t0);
    assert!(s.key(far).is_ok());
    let s = s.enforce_idle_timeout(far);
    assert_eq!(s.state(), SessionState::Unlocked);
}

#[test]
fn zero_timeout_expires_at_once() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let opts = SessionOptions::new().with_idle_timeout(Duration::ZERO);
    let s = session_in(SessionState::Unlocked, opts, &t, t0);
    assert_eq!(s.key(t0).map(drop), Err(Error::Locked));
}

#[test]
fn default_timeout_is_15_minutes() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let s = session_in(SessionState::Unlocked, SessionOptions::default(), &t, t0);
    assert!(s.key(t0 + 15 * 60 * SEC - NS).is_ok());
    assert!(s.key(t0 + 15 * 60 * SEC).is_err());
}
