//! The crate's error type.
//!
//! Failures of the operating system keep their [`io::Error`](std::io::Error) as
//! [`source`](std::error::Error::source) and do not repeat it in their own message, so a chain
//! printer (`{:#}` with anyhow, eyre) shows it once.

use std::fmt;
use std::path::PathBuf;

/// Why an event could not be recorded, or a sink could not be opened.
///
/// No variant carries the event itself: an error can be logged or shown without repeating
/// what the audit log refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    /// Opening, writing, syncing or rotating the audit log failed.
    #[error("cannot write the audit log {path:?}")]
    Io {
        /// The file or directory the failed operation was on (the log, a rotated log, or
        /// the directory holding them).
        path: PathBuf,
        /// What the operating system reported.
        #[source]
        source: std::io::Error,
    },

    /// The audit log path names something that must not be written to: a symbolic link,
    /// something other than a regular file, a file of another user, a file the group or
    /// others can read, or a file with other hard links.
    #[error("the audit log {path:?} is unsafe: {reason}")]
    Unsafe {
        /// The audit log path.
        path: PathBuf,
        /// What is wrong with it, for example `"it is a symbolic link"`.
        reason: &'static str,
    },

    /// The sink refused the event without an operating-system error (for example a
    /// [`FailingSink`](crate::FailingSink)).
    #[error("the audit sink refused the event")]
    Refused,

    /// A webhook secret too short to authenticate anything
    /// ([`WebhookSecret::new`](crate::webhook::WebhookSecret::new)).
    #[error("the webhook secret is too short: at least {min} bytes are needed")]
    WebhookSecretTooShort {
        /// The minimum length in bytes.
        min: usize,
    },

    /// A webhook's id, timestamp or signature header is missing or not in the expected form.
    #[error("the webhook's {header} header is missing or malformed")]
    WebhookMalformed {
        /// The header's name.
        header: &'static str,
    },

    /// A webhook's signature does not match its timestamp and body under the shared secret:
    /// it was not sent by the holder of the secret, or it was altered on the way.
    #[error("the webhook's signature does not match its timestamp and body")]
    WebhookBadSignature,

    /// A correctly signed webhook whose timestamp is too far from now: a replay of an old
    /// delivery, or a sender whose clock is wrong.
    #[error(
        "the webhook's timestamp is {age_secs} s away from now, more than the {tolerance_secs} s \
         allowed"
    )]
    WebhookStale {
        /// How far the timestamp is from the receiver's clock, in whole seconds.
        age_secs: u64,
        /// The tolerance the receiver allows, in whole seconds.
        tolerance_secs: u64,
    },

    /// A correctly signed webhook whose event id a [`SeenIds`](crate::webhook::v2::SeenIds)
    /// already holds: a replay of a delivery within its time window, or the sender's retry
    /// of a delivery already accepted.
    #[error("the webhook's id was already seen: a replayed or repeated delivery")]
    WebhookReplayed,

    /// A [`SeenIds`](crate::webhook::v2::SeenIds) holds as many ids as it may, none of them
    /// expired: the delivery is refused rather than forgetting an id that could still be
    /// replayed. The sender should retry later.
    #[error("the webhook replay cache is full ({capacity} ids within the time window)")]
    WebhookReplayCacheFull {
        /// How many ids the cache holds at most.
        capacity: usize,
    },

    /// The operating system's random source failed (making a webhook event id).
    #[error("the operating system's random source failed")]
    Random(#[source] RandomError),

    /// A key for hashing the identifying fields of events too short to be secret
    /// ([`HashingKey::new`](crate::HashingKey::new)).
    #[error("the hashing key is too short: at least {min} bytes are needed")]
    HashingKeyTooShort {
        /// The minimum length in bytes.
        min: usize,
    },
}

/// The platform error behind [`AuditError::Random`].
///
/// Opaque so that the random-source crate can be upgraded without breaking callers.
#[derive(Debug)]
pub struct RandomError(getrandom::Error);

impl fmt::Display for RandomError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for RandomError {}

/// Fills `dest` from the operating system's random source.
pub(crate) fn fill_random(dest: &mut [u8]) -> Result<(), AuditError> {
    getrandom::fill(dest).map_err(|e| AuditError::Random(RandomError(e)))
}

impl AuditError {
    /// Builds an [`AuditError::Io`].
    #[cfg(unix)]
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::io;

    use super::*;

    #[test]
    fn messages_are_clear() {
        assert_eq!(
            AuditError::Unsafe {
                path: "/var/log/a.jsonl".into(),
                reason: "it is a symbolic link"
            }
            .to_string(),
            "the audit log \"/var/log/a.jsonl\" is unsafe: it is a symbolic link"
        );
        assert_eq!(
            AuditError::Refused.to_string(),
            "the audit sink refused the event"
        );
        assert_eq!(
            AuditError::WebhookReplayed.to_string(),
            "the webhook's id was already seen: a replayed or repeated delivery"
        );
        assert_eq!(
            AuditError::WebhookReplayCacheFull { capacity: 10 }.to_string(),
            "the webhook replay cache is full (10 ids within the time window)"
        );
    }

    #[test]
    fn io_source_is_returned_not_printed() {
        let err = AuditError::Io {
            path: "/x".into(),
            source: io::Error::other("disk on fire"),
        };
        assert_eq!(err.to_string(), "cannot write the audit log \"/x\"");
        let source = err.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("disk on fire"));
        assert!(AuditError::Refused.source().is_none());
    }
}
