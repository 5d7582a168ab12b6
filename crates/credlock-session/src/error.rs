//! The crate's single error type.

use std::time::Duration;

/// Everything that can go wrong when driving a [`Session`](crate::Session).
///
/// Variants carry only non-secret context (a state, a delay, a parameter name); they never
/// contain a key, a record or anything derived from them.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The operation needs stored credentials, but none are stored.
    #[error("no credentials are stored: store credentials first")]
    NoCredentials,

    /// The operation needs the decrypted record, but the vault is locked (explicitly, or
    /// because it stayed idle longer than the idle timeout).
    #[error("the vault is locked: unlock it with the passphrase first")]
    Locked,

    /// [`Session::unlock`](crate::Session::unlock) was called while the vault is already
    /// unlocked.
    #[error("the vault is already unlocked: lock it before unlocking again")]
    AlreadyUnlocked,

    /// Too many consecutive wrong passphrases: unlock attempts are refused until
    /// `retry_after` has passed.
    #[error(
        "too many failed unlock attempts: try again in {} s",
        ceil_secs(*retry_after)
    )]
    LockedOut {
        /// How long to wait before the next attempt is accepted.
        retry_after: Duration,
    },

    /// A [`LockoutPolicy`](crate::LockoutPolicy) parameter is out of range.
    #[error("invalid lockout policy: `{name}` is out of range")]
    InvalidParameter {
        /// Name of the offending parameter (`max_attempts`, `base_delay` or `max_delay`).
        name: &'static str,
    },
}

/// Whole seconds, rounded up, so "try again in 0 s" is never shown while still locked out.
fn ceil_secs(d: Duration) -> u64 {
    if d.subsec_nanos() == 0 {
        d.as_secs()
    } else {
        d.as_secs().saturating_add(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_clear() {
        assert_eq!(
            Error::Locked.to_string(),
            "the vault is locked: unlock it with the passphrase first"
        );
        assert_eq!(
            Error::NoCredentials.to_string(),
            "no credentials are stored: store credentials first"
        );
        assert_eq!(
            Error::AlreadyUnlocked.to_string(),
            "the vault is already unlocked: lock it before unlocking again"
        );
        assert_eq!(
            Error::InvalidParameter { name: "max_delay" }.to_string(),
            "invalid lockout policy: `max_delay` is out of range"
        );
    }

    #[test]
    fn retry_after_rounds_up() {
        let msg = |d| Error::LockedOut { retry_after: d }.to_string();
        assert_eq!(
            msg(Duration::from_secs(30)),
            "too many failed unlock attempts: try again in 30 s"
        );
        assert_eq!(
            msg(Duration::from_millis(29_001)),
            "too many failed unlock attempts: try again in 30 s"
        );
        assert_eq!(
            msg(Duration::from_nanos(1)),
            "too many failed unlock attempts: try again in 1 s"
        );
        assert_eq!(
            msg(Duration::MAX),
            format!(
                "too many failed unlock attempts: try again in {} s",
                u64::MAX
            )
        );
    }
}
