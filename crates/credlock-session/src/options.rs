//! Tunables: the unlock lockout policy and the idle timeout.

use std::time::Duration;

use crate::Error;

/// How many wrong passphrases are tolerated, and how long unlocking is then refused.
///
/// After `max_attempts` consecutive failures, the `n`-th failure (`n >= max_attempts`) refuses
/// further unlock attempts for `min(base_delay * 2^(n - max_attempts), max_delay)`, counted
/// from the moment of that failure. A successful unlock resets the count. See the
/// [crate docs](crate#lockout) for the full rules.
///
/// [`Default`] is [`LockoutPolicy::RECOMMENDED`]: 5 attempts, 30 s, doubling up to 15 min.
///
/// ```
/// # mod credlock { pub use credlock_session::*; }
/// use std::time::Duration;
/// use credlock::LockoutPolicy;
///
/// let p = LockoutPolicy::RECOMMENDED;
/// assert_eq!(p.delay_after(4), None);
/// assert_eq!(p.delay_after(5), Some(Duration::from_secs(30)));
/// assert_eq!(p.delay_after(6), Some(Duration::from_secs(60)));
/// assert_eq!(p.delay_after(100), Some(Duration::from_secs(15 * 60)));
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct LockoutPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl LockoutPolicy {
    /// Recommended policy: 5 consecutive failures, then 30 s, doubling up to 15 min.
    pub const RECOMMENDED: Self = Self {
        max_attempts: 5,
        base_delay: Duration::from_secs(30),
        max_delay: Duration::from_secs(15 * 60),
    };

    /// Builds a policy.
    ///
    /// ```
    /// # mod credlock { pub use credlock_session::*; }
    /// use std::time::Duration;
    /// use credlock::LockoutPolicy;
    ///
    /// let p = LockoutPolicy::new(3, Duration::from_secs(10), Duration::from_secs(60))?;
    /// assert_eq!(p.delay_after(3), Some(Duration::from_secs(10)));
    /// assert!(LockoutPolicy::new(0, Duration::from_secs(10), Duration::from_secs(60)).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidParameter`] naming the parameter if `max_attempts` is 0, `base_delay`
    /// is zero, or `max_delay < base_delay`.
    pub const fn new(
        max_attempts: u32,
        base_delay: Duration,
        max_delay: Duration,
    ) -> Result<Self, Error> {
        if max_attempts == 0 {
            return Err(Error::InvalidParameter {
                name: "max_attempts",
            });
        }
        if base_delay.is_zero() {
            return Err(Error::InvalidParameter { name: "base_delay" });
        }
        // `Duration` comparisons are not `const`; compare the parts.
        if max_delay.as_secs() < base_delay.as_secs()
            || (max_delay.as_secs() == base_delay.as_secs()
                && max_delay.subsec_nanos() < base_delay.subsec_nanos())
        {
            return Err(Error::InvalidParameter { name: "max_delay" });
        }
        Ok(Self {
            max_attempts,
            base_delay,
            max_delay,
        })
    }

    /// Consecutive failures tolerated before the first lockout.
    #[must_use]
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Lockout imposed by the `max_attempts`-th consecutive failure.
    #[must_use]
    pub const fn base_delay(&self) -> Duration {
        self.base_delay
    }

    /// Upper bound of any single lockout.
    #[must_use]
    pub const fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// Lockout imposed right after the `failures`-th consecutive failure, or `None` if that
    /// many failures impose none. Never overflows: a product that does not fit is capped at
    /// [`max_delay`](Self::max_delay).
    ///
    /// ```
    /// # mod credlock { pub use credlock_session::*; }
    /// use std::time::Duration;
    /// use credlock::LockoutPolicy;
    ///
    /// let p = LockoutPolicy::new(1, Duration::from_secs(1), Duration::MAX)?;
    /// assert_eq!(p.delay_after(0), None);
    /// assert_eq!(p.delay_after(11), Some(Duration::from_secs(1024)));
    /// assert_eq!(p.delay_after(u32::MAX), Some(Duration::MAX));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        let doublings = failures.checked_sub(self.max_attempts)?;
        // In nanoseconds as u128: `base << doublings` is exact while it does not shift out
        // a set bit, i.e. while `doublings < leading_zeros` (`base_delay` is non-zero).
        let base = self.base_delay.as_nanos();
        let max = self.max_delay.as_nanos();
        if doublings >= base.leading_zeros() || base << doublings >= max {
            return Some(self.max_delay);
        }
        Some(nanos_to_duration(base << doublings))
    }
}

/// Converts nanoseconds below `Duration::MAX` back to a `Duration`.
fn nanos_to_duration(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    let subsec = u32::try_from(nanos % NANOS_PER_SEC).unwrap_or(0);
    Duration::new(secs, subsec)
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self::RECOMMENDED
    }
}

/// Options of a [`Session`](crate::Session): lockout policy and idle timeout.
///
/// [`Default`] is [`SessionOptions::RECOMMENDED`]: [`LockoutPolicy::RECOMMENDED`] and an idle
/// timeout of [`SessionOptions::DEFAULT_IDLE_TIMEOUT`] (15 min). Serialises (without any
/// secret) for a status report.
///
/// ```
/// # mod credlock { pub use credlock_session::*; }
/// use std::time::Duration;
/// use credlock::SessionOptions;
///
/// let opts = SessionOptions::default().with_idle_timeout(Duration::from_secs(300));
/// assert_eq!(opts.idle_timeout(), Some(Duration::from_secs(300)));
/// assert!(opts.lockout().is_some());
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct SessionOptions {
    lockout: Option<LockoutPolicy>,
    idle_timeout: Option<Duration>,
}

impl SessionOptions {
    /// Default idle timeout: 15 minutes.
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

    /// Recommended options: lockout on ([`LockoutPolicy::RECOMMENDED`]) and a 15 min idle
    /// timeout.
    pub const RECOMMENDED: Self = Self {
        lockout: Some(LockoutPolicy::RECOMMENDED),
        idle_timeout: Some(Self::DEFAULT_IDLE_TIMEOUT),
    };

    /// Same as [`SessionOptions::RECOMMENDED`].
    ///
    /// ```
    /// # mod credlock { pub use credlock_session::*; }
    /// use credlock::SessionOptions;
    /// assert_eq!(SessionOptions::new(), SessionOptions::default());
    /// ```
    #[must_use]
    pub const fn new() -> Self {
        Self::RECOMMENDED
    }

    /// Uses `policy` for unlock lockout.
    ///
    /// ```
    /// # mod credlock { pub use credlock_session::*; }
    /// use std::time::Duration;
    /// use credlock::{LockoutPolicy, SessionOptions};
    ///
    /// let policy = LockoutPolicy::new(3, Duration::from_secs(60), Duration::from_secs(3600))?;
    /// let opts = SessionOptions::new().with_lockout(policy);
    /// assert_eq!(opts.lockout(), Some(policy));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub const fn with_lockout(mut self, policy: LockoutPolicy) -> Self {
        self.lockout = Some(policy);
        self
    }

    /// Disables unlock lockout: wrong passphrases are still counted, but never refused.
    ///
    /// # Security
    ///
    /// Without lockout, only the KDF cost slows down an attacker who can call unlock
    /// repeatedly from inside the app.
    ///
    /// ```
    /// # mod credlock { pub use credlock_session::*; }
    /// use credlock::SessionOptions;
    /// assert_eq!(SessionOptions::new().insecure_without_lockout().lockout(), None);
    /// ```
    #[must_use]
    pub const fn insecure_without_lockout(mut self) -> Self {
        self.lockout = None;
        self
    }

    /// Locks automatically once the session has been idle for `timeout`.
    ///
    /// `Duration::ZERO` is accepted and makes every read after unlocking fail, since the
    /// session is idle-expired at the very instant of its last use.
    ///
    /// ```
    /// # mod credlock { pub use credlock_session::*; }
    /// use std::time::Duration;
    /// use credlock::SessionOptions;
    ///
    /// let opts = SessionOptions::new().with_idle_timeout(Duration::from_secs(60));
    /// assert_eq!(opts.idle_timeout(), Some(Duration::from_secs(60)));
    /// ```
    #[must_use]
    pub const fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = Some(timeout);
        self
    }

    /// Disables the idle auto-lock: the session stays unlocked until locked explicitly.
    ///
    /// ```
    /// # mod credlock { pub use credlock_session::*; }
    /// use credlock::SessionOptions;
    /// assert_eq!(SessionOptions::new().without_idle_timeout().idle_timeout(), None);
    /// ```
    #[must_use]
    pub const fn without_idle_timeout(mut self) -> Self {
        self.idle_timeout = None;
        self
    }

    /// The lockout policy, or `None` if lockout is disabled.
    #[must_use]
    pub const fn lockout(&self) -> Option<LockoutPolicy> {
        self.lockout
    }

    /// The idle timeout, or `None` if idle auto-lock is disabled.
    #[must_use]
    pub const fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self::RECOMMENDED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn recommended_timeline() {
        let p = LockoutPolicy::default();
        let delays: Vec<_> = (0..=12).map(|n| p.delay_after(n)).collect();
        assert_eq!(
            delays,
            [
                None,
                None,
                None,
                None,
                None,
                Some(S(30)),
                Some(S(60)),
                Some(S(120)),
                Some(S(240)),
                Some(S(480)),
                Some(S(900)),
                Some(S(900)),
                Some(S(900)),
            ]
        );
        assert_eq!(p.delay_after(u32::MAX), Some(S(900)));
    }

    #[test]
    fn checked_constructor() {
        let bad = |m, b, x| LockoutPolicy::new(m, b, x).unwrap_err();
        assert_eq!(
            bad(0, S(1), S(1)),
            Error::InvalidParameter {
                name: "max_attempts"
            }
        );
        assert_eq!(
            bad(1, Duration::ZERO, S(1)),
            Error::InvalidParameter { name: "base_delay" }
        );
        assert_eq!(
            bad(1, S(2), S(1)),
            Error::InvalidParameter { name: "max_delay" }
        );
        assert_eq!(
            bad(1, Duration::new(1, 2), Duration::new(1, 1)),
            Error::InvalidParameter { name: "max_delay" }
        );
        let p = LockoutPolicy::new(1, S(1), S(1)).unwrap();
        assert_eq!(p.delay_after(1), Some(S(1)));
        assert_eq!(p.delay_after(2), Some(S(1)));
        assert_eq!(
            (p.max_attempts(), p.base_delay(), p.max_delay()),
            (1, S(1), S(1))
        );
    }

    #[test]
    fn huge_values_saturate() {
        let p = LockoutPolicy::new(u32::MAX, Duration::MAX, Duration::MAX).unwrap();
        assert_eq!(p.delay_after(u32::MAX - 1), None);
        assert_eq!(p.delay_after(u32::MAX), Some(Duration::MAX));
        let p = LockoutPolicy::new(1, Duration::from_nanos(1), Duration::MAX).unwrap();
        assert_eq!(p.delay_after(32), Some(Duration::from_nanos(1 << 31)));
        assert_eq!(p.delay_after(33), Some(Duration::from_nanos(1 << 32)));
        assert_eq!(p.delay_after(64), Some(Duration::from_nanos(1 << 63)));
        assert_eq!(
            p.delay_after(94),
            Some(Duration::new(9_903_520_314_283_042_199, 192_993_792))
        );
        assert_eq!(p.delay_after(100), Some(Duration::MAX));
        assert_eq!(p.delay_after(128), Some(Duration::MAX));
        let p = LockoutPolicy::new(1, Duration::new(3, 5), Duration::MAX).unwrap();
        assert_eq!(p.delay_after(2), Some(Duration::new(6, 10)));
    }

    #[test]
    fn options_builders() {
        let o = SessionOptions::default();
        assert_eq!(o, SessionOptions::RECOMMENDED);
        assert_eq!(o.lockout(), Some(LockoutPolicy::RECOMMENDED));
        assert_eq!(o.idle_timeout(), Some(S(900)));
        let o = o.insecure_without_lockout().without_idle_timeout();
        assert_eq!((o.lockout(), o.idle_timeout()), (None, None));
    }
}
