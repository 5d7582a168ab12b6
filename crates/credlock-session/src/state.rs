//! The payload-free state reported to callers.

use core::fmt;
use std::time::Duration;

/// Which state a [`Session`](crate::Session) is in, without any payload.
///
/// Safe to log, display and serialise (as `"no_credentials"`, `"locked"`, `"unlocked"`).
///
/// ```
/// # mod credlock { pub use credlock_session::*; }
/// use credlock::SessionState;
///
/// assert_eq!(SessionState::NoCredentials.to_string(), "no credentials");
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionState {
    /// No sealed record exists; the only useful transition is
    /// [`store`](crate::Session::store).
    NoCredentials,
    /// A sealed record is stored; neither key nor record is in memory.
    Locked,
    /// Key and decrypted record are in memory.
    Unlocked,
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoCredentials => "no credentials",
            Self::Locked => "locked",
            Self::Unlocked => "unlocked",
        })
    }
}

/// A secret-free snapshot of a [`Session`](crate::Session) for status reports, taken with
/// [`Session::status`](crate::Session::status).
///
/// Durations serialise as serde's `{ "secs": .., "nanos": .. }`.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct SessionStatus {
    /// State at the snapshot's instant, idle timeout applied (see
    /// [`Session::state_at`](crate::Session::state_at)).
    pub state: SessionState,
    /// Consecutive failed unlock attempts.
    pub failed_attempts: u32,
    /// Time left in the current lockout, if unlocking is refused.
    pub retry_after: Option<Duration>,
    /// Time left before the idle auto-lock, if unlocked with an idle timeout.
    pub idle_remaining: Option<Duration>,
}
