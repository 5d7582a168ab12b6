//! Lockout timeline with the recommended policy and a custom one.

use std::time::{Duration, Instant};

use credlock_session::{Error, LockoutPolicy, SessionOptions, SessionState};

use crate::common::{SEC, TestSession, Tracker, session_in};

const MIN: Duration = Duration::from_secs(60);

fn locked(options: SessionOptions, t: &Tracker, now: Instant) -> TestSession {
    session_in(SessionState::Locked, options, t, now)
}

fn out(retry_after: Duration) -> Result<(), Error> {
    Err(Error::LockedOut { retry_after })
}

#[test]
fn four_failures_are_free_the_fifth_locks_out_for_30_s() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let mut s = locked(SessionOptions::default(), &t, t0);
    for n in 1..=4 {
        s.record_failed_unlock(t0);
        assert_eq!(s.failed_attempts(), n);
        assert_eq!(s.check_unlock_allowed(t0), Ok(()), "after {n} failures");
    }
    let t5 = t0 + 3 * SEC;
    s.record_failed_unlock(t5);
    assert_eq!(s.failed_attempts(), 5);
    assert_eq!(s.check_unlock_allowed(t5), out(30 * SEC));
    assert_eq!(s.check_unlock_allowed(t5 + 10 * SEC), out(20 * SEC));
    assert_eq!(
        s.check_unlock_allowed(t5 + 30 * SEC - Duration::from_nanos(1)),
        out(Duration::from_nanos(1))
    );
    assert_eq!(s.check_unlock_allowed(t5 + 30 * SEC), Ok(()));
    assert_eq!(s.lockout_remaining(t5 + 30 * SEC), None);
    assert_eq!(s.lockout_remaining(t5), Some(30 * SEC));

    // unlock itself refuses during the lockout, and drops the offered pair.
    let (s, err) = s.unlock(t.key(), t.record(), t5 + SEC).unwrap_err();
    assert_eq!(
        err,
        Error::LockedOut {
            retry_after: 29 * SEC
        }
    );
    assert_eq!((s.state(), t.live_keys()), (SessionState::Locked, 0));
    assert_eq!(s.failed_attempts(), 5, "a refused unlock is not a failure");
    assert_eq!(s.status(t5 + SEC).retry_after, Some(29 * SEC));
}

#[test]
fn delay_doubles_per_failure_up_to_the_cap() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let mut s = locked(SessionOptions::default(), &t, t0);
    let mut now = t0;
    for _ in 0..4 {
        s.record_failed_unlock(now);
    }
    let expected = [
        30 * SEC,
        MIN,
        2 * MIN,
        4 * MIN,
        8 * MIN,
        15 * MIN,
        15 * MIN,
        15 * MIN,
    ];
    for (i, delay) in expected.into_iter().enumerate() {
        s.record_failed_unlock(now);
        assert_eq!(
            s.check_unlock_allowed(now),
            out(delay),
            "failure #{}",
            i + 5
        );
        now += delay; // wait the lockout out, then fail again
        assert_eq!(s.check_unlock_allowed(now), Ok(()));
    }
    assert_eq!(s.failed_attempts(), 12);
}

#[test]
fn failure_during_lockout_restarts_it_doubled() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let mut s = locked(SessionOptions::default(), &t, t0);
    for _ in 0..5 {
        s.record_failed_unlock(t0);
    }
    s.record_failed_unlock(t0 + 10 * SEC);
    assert_eq!(s.check_unlock_allowed(t0 + 10 * SEC), out(MIN));
}

#[test]
fn success_resets_the_count() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let mut s = locked(SessionOptions::default(), &t, t0);
    for _ in 0..6 {
        s.record_failed_unlock(t0);
    }
    let after = t0 + MIN;
    s.check_unlock_allowed(after).unwrap();
    let s = s
        .unlock(t.key(), t.record(), after)
        .map_err(|(_, e)| e)
        .unwrap();
    assert_eq!(s.failed_attempts(), 0);
    let mut s = s.lock();
    assert_eq!(s.failed_attempts(), 0);
    // A fresh series: four more failures are free again.
    for _ in 0..4 {
        s.record_failed_unlock(after);
    }
    assert_eq!(s.check_unlock_allowed(after), Ok(()));
}

#[test]
fn lock_keeps_the_count_store_and_logout_reset_it() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let mut s = session_in(SessionState::Unlocked, SessionOptions::default(), &t, t0);
    for _ in 0..5 {
        s.record_failed_unlock(t0); // e.g. wrong old passphrase when changing it
    }
    assert_eq!(s.lockout_remaining(t0), Some(30 * SEC));
    let s = s.lock();
    assert_eq!(s.failed_attempts(), 5);
    assert_eq!(s.check_unlock_allowed(t0), out(30 * SEC));

    let mut s = s.store(t.key(), t.record(), t0).lock();
    assert_eq!(
        (s.failed_attempts(), s.check_unlock_allowed(t0)),
        (0, Ok(()))
    );
    for _ in 0..5 {
        s.record_failed_unlock(t0);
    }
    let s = s.logout();
    assert_eq!(s.failed_attempts(), 0);
    assert_eq!(s.lockout_remaining(t0), None);
}

#[test]
fn disabled_lockout_counts_but_never_refuses() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let mut s = locked(SessionOptions::new().insecure_without_lockout(), &t, t0);
    for _ in 0..1000 {
        s.record_failed_unlock(t0);
    }
    assert_eq!(s.failed_attempts(), 1000);
    assert_eq!(s.check_unlock_allowed(t0), Ok(()));
}

#[test]
fn custom_policy_and_huge_delays_do_not_panic() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let policy = LockoutPolicy::new(1, Duration::MAX, Duration::MAX).unwrap();
    let mut s = locked(SessionOptions::new().with_lockout(policy), &t, t0);
    s.record_failed_unlock(t0);
    assert_eq!(s.check_unlock_allowed(t0), out(Duration::MAX));
    s.record_failed_unlock(t0);
    assert_eq!(s.check_unlock_allowed(t0 + SEC), out(Duration::MAX - SEC));
    // An earlier instant than the failure: the full delay remains.
    let earlier = t0.checked_sub(SEC).unwrap_or(t0);
    assert_eq!(s.check_unlock_allowed(earlier), out(Duration::MAX));
}

#[test]
fn lockout_message_is_secret_free() {
    let (t0, t) = (Instant::now(), Tracker::new());
    let mut s = locked(SessionOptions::default(), &t, t0);
    for _ in 0..5 {
        s.record_failed_unlock(t0);
    }
    let err = s
        .check_unlock_allowed(t0 + Duration::from_millis(500))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "too many failed unlock attempts: try again in 30 s"
    );
}
