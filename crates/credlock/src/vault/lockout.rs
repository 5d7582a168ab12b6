//! The persisted lockout: the failed-attempt count and the lockout it imposes, kept by the
//! store beside the sealed record, in wall-clock time so that it survives restarts.

use std::time::Duration;

use credlock_session::LockoutPolicy;
use credlock_store::LockoutRecord;
use serde::Serialize;

use crate::error::ceil_secs;

/// Time left in the recorded lockout at `now_ms`, or `None` if attempts are accepted.
///
/// A clock that went backwards (`now_ms` before the lockout's start) counts as no time
/// elapsed: the wait is then the lockout's full configured length, never more. A clock that
/// jumps forwards shortens or ends the lockout.
pub(crate) fn remaining(record: &LockoutRecord, now_ms: u64) -> Option<Duration> {
    let (start, length) = record.lockout()?;
    let elapsed = Duration::from_millis(now_ms.saturating_sub(start));
    length.checked_sub(elapsed).filter(|d| !d.is_zero())
}

/// After this many consecutive failures a lockout lasts until an operator clears it
/// (NIST SP 800-63B §5.2.2: no more than 100 consecutive failed attempts).
pub const MAX_CONSECUTIVE_FAILURES: u32 = 100;

/// The length recorded for a lockout that only an operator can end.
const UNTIL_CLEARED: Duration = Duration::from_millis(u64::MAX);

/// The record with one more attempt counted at `now_ms`, and the lockout the policy imposes
/// after that many failures (starting now), if any: from the
/// [`MAX_CONSECUTIVE_FAILURES`]-th on, one that lasts until cleared.
pub(crate) fn counted(
    record: &LockoutRecord,
    policy: Option<LockoutPolicy>,
    now_ms: u64,
) -> LockoutRecord {
    let failures = record.failures().saturating_add(1);
    let lockout = policy
        .and_then(|p| {
            if failures >= MAX_CONSECUTIVE_FAILURES {
                Some(UNTIL_CLEARED)
            } else {
                p.delay_after(failures)
            }
        })
        .map(|delay| (now_ms, delay))
        .or(record.lockout());
    LockoutRecord::new(failures, lockout)
}

/// Whether the recorded lockout lasts until an operator clears it.
pub(crate) fn until_cleared(record: &LockoutRecord) -> bool {
    record
        .lockout()
        .is_some_and(|(_, len)| len == UNTIL_CLEARED)
}

/// The lockout state of a vault, for an operator: read without a passphrase with
/// [`Vault::lockout_state`](crate::Vault::lockout_state).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct LockoutState {
    /// Consecutive failed passphrase attempts (an attempt is counted before its key
    /// derivation starts, so one in flight, or one whose process was killed, counts).
    pub failures: u32,
    /// When the current lockout ends (wall-clock seconds since the Unix epoch), if one is
    /// running.
    pub locked_until_unix_secs: Option<u64>,
    /// Seconds until the next attempt is accepted, rounded up, if locked out for a time.
    pub retry_after_secs: Option<u64>,
    /// Whether the vault is locked out until an operator clears it (after
    /// [`MAX_CONSECUTIVE_FAILURES`] consecutive failures).
    pub until_cleared: bool,
}

impl LockoutState {
    pub(crate) fn of(record: &LockoutRecord, now_ms: u64) -> Self {
        let until_cleared = until_cleared(record);
        let left = remaining(record, now_ms).filter(|_| !until_cleared);
        Self {
            until_cleared,
            failures: record.failures(),
            locked_until_unix_secs: left.map(|d| {
                (now_ms / 1000).saturating_add(ceil_secs(d + Duration::from_millis(now_ms % 1000)))
            }),
            retry_after_secs: left.map(|d| ceil_secs(d).max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Option<LockoutPolicy> {
        LockoutPolicy::new(5, Duration::from_secs(30), Duration::from_secs(900)).ok()
    }

    #[test]
    fn a_lockout_starts_at_the_fifth_count_and_doubles() {
        let mut r = LockoutRecord::default();
        for _ in 0..4 {
            r = counted(&r, policy(), 1_000);
            assert_eq!(remaining(&r, 1_000), None);
        }
        r = counted(&r, policy(), 1_000);
        assert_eq!(remaining(&r, 1_000), Some(Duration::from_secs(30)));
        assert_eq!(remaining(&r, 31_000), None);
        r = counted(&r, policy(), 31_000);
        assert_eq!(remaining(&r, 31_000), Some(Duration::from_secs(60)));
    }

    #[test]
    fn a_clock_that_goes_backwards_never_lengthens_a_lockout() {
        let r = LockoutRecord::new(5, Some((1_000_000, Duration::from_secs(30))));
        for now in [0, 1, 999_999, 1_000_000] {
            assert_eq!(remaining(&r, now), Some(Duration::from_secs(30)), "{now}");
        }
        assert_eq!(remaining(&r, 1_010_000), Some(Duration::from_secs(20)));
        // A forward jump ends it.
        assert_eq!(remaining(&r, u64::MAX), None);
    }

    #[test]
    fn the_hundredth_failure_locks_out_until_cleared() {
        let mut r = LockoutRecord::default();
        for n in 1..MAX_CONSECUTIVE_FAILURES {
            r = counted(&r, policy(), u64::from(n) * 1_000_000_000);
            assert!(!until_cleared(&r), "{n}");
        }
        r = counted(&r, policy(), 200_000_000_000);
        assert!(until_cleared(&r));
        // A year later, and with the clock turned back: still locked out.
        assert!(remaining(&r, 200_000_000_000 + 31_536_000_000).is_some());
        assert!(remaining(&r, 0).is_some());
        let state = LockoutState::of(&r, 200_000_000_000);
        assert!(state.until_cleared && state.retry_after_secs.is_none());
        // Without a policy, nothing locks out (failures are still counted).
        assert!(
            counted(&LockoutRecord::new(500, None), None, 0)
                .lockout()
                .is_none()
        );
    }

    #[test]
    fn the_state_rounds_up() {
        let r = LockoutRecord::new(5, Some((10_500, Duration::from_secs(30))));
        let s = LockoutState::of(&r, 10_600);
        assert_eq!(s.retry_after_secs, Some(30));
        assert_eq!(s.locked_until_unix_secs, Some(41));
        assert_eq!(LockoutState::of(&r, 40_500).retry_after_secs, None);
    }
}
