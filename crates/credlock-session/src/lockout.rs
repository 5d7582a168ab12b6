//! Bookkeeping of consecutive failed unlocks (crate-private).

use std::time::{Duration, Instant};

use crate::{Error, LockoutPolicy};

/// Consecutive failures and the lockout they imposed, if any.
///
/// The lockout is stored as a start and a length rather than as a deadline, so no `Instant`
/// arithmetic is needed: a huge delay or an `Instant` far in the future cannot overflow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LockoutTracker {
    failures: u32,
    lockout: Option<ActiveLockout>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ActiveLockout {
    since: Instant,
    delay: Duration,
}

impl LockoutTracker {
    pub(crate) const fn failures(&self) -> u32 {
        self.failures
    }

    /// Time left before the next attempt is accepted, or `None` if attempts are accepted.
    ///
    /// An `now` earlier than the failure that imposed the lockout counts as "no time has
    /// passed", so an out-of-order clock never shortens a lockout.
    pub(crate) fn remaining(&self, now: Instant) -> Option<Duration> {
        let lockout = self.lockout?;
        let elapsed = now.saturating_duration_since(lockout.since);
        lockout
            .delay
            .checked_sub(elapsed)
            .filter(|left| !left.is_zero())
    }

    pub(crate) fn check(&self, now: Instant) -> Result<(), Error> {
        match self.remaining(now) {
            Some(retry_after) => Err(Error::LockedOut { retry_after }),
            None => Ok(()),
        }
    }

    /// Counts one failure; imposes (or replaces) a lockout when `policy` says so.
    pub(crate) fn record_failure(&mut self, policy: Option<LockoutPolicy>, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        if let Some(delay) = policy.and_then(|p| p.delay_after(self.failures)) {
            self.lockout = Some(ActiveLockout { since: now, delay });
        }
    }

    pub(crate) fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_window_is_half_open() {
        let t0 = Instant::now();
        let mut t = LockoutTracker::default();
        let p = LockoutPolicy::new(1, Duration::from_secs(10), Duration::from_secs(10)).unwrap();
        t.record_failure(Some(p), t0);
        assert_eq!(t.remaining(t0), Some(Duration::from_secs(10)));
        let almost = t0 + Duration::from_secs(10) - Duration::from_nanos(1);
        assert_eq!(t.remaining(almost), Some(Duration::from_nanos(1)));
        assert_eq!(t.remaining(t0 + Duration::from_secs(10)), None);
        assert!(t.check(t0 + Duration::from_secs(11)).is_ok());
    }

    #[test]
    fn earlier_now_does_not_shorten() {
        let t0 = Instant::now() + Duration::from_secs(100);
        let mut t = LockoutTracker::default();
        t.record_failure(
            Some(LockoutPolicy::new(1, Duration::MAX, Duration::MAX).unwrap()),
            t0,
        );
        assert_eq!(
            t.remaining(t0 - Duration::from_secs(50)),
            Some(Duration::MAX)
        );
        assert_eq!(
            t.check(t0 + Duration::from_secs(1)),
            Err(Error::LockedOut {
                retry_after: Duration::MAX - Duration::from_secs(1)
            })
        );
    }

    #[test]
    fn counter_saturates() {
        let mut t = LockoutTracker {
            failures: u32::MAX - 1,
            lockout: None,
        };
        t.record_failure(None, Instant::now());
        t.record_failure(None, Instant::now());
        assert_eq!(t.failures(), u32::MAX);
        assert_eq!(t.remaining(Instant::now()), None);
        t.reset();
        assert_eq!(t, LockoutTracker::default());
    }
}
