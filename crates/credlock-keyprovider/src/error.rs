//! [`ProviderError`]: what can go wrong with a key provider, naming the provider and never a
//! secret.

use std::path::PathBuf;
use std::time::Duration;

/// A key provider's failure.
///
/// Every variant names the provider (its [`ProviderIdentity`](crate::ProviderIdentity) as text,
/// such as `pkcs11:token=credlock;key=pepper`) or the path concerned, and never a key, a PIN or
/// the provider's output. Reasons are fixed texts or system error names (`ENOENT`), so a message
/// can be logged as it is.
///
/// Branch on [`ProviderError::kind`] (stable) or [`ProviderError::is_retryable`], not on the
/// text.
///
/// # Example
///
/// ```
/// use credlock_keyprovider::{ProviderError, ProviderErrorKind};
///
/// let e = ProviderError::KeyNotFound { provider: "keyring:credlock/pepper".into() };
/// assert_eq!(e.kind(), ProviderErrorKind::KeyNotFound);
/// assert!(!e.is_retryable());
/// assert_eq!(e.to_string(), "key provider keyring:credlock/pepper: the key was not found");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// The provider could not be reached or could not answer now: a token removed, a device
    /// error, the keyring refusing access, a worker thread that could not start. Often
    /// transient.
    #[error("key provider {provider} is unavailable: {reason}")]
    Unavailable {
        /// The provider, as its identity's text.
        provider: String,
        /// What failed (no secret).
        reason: String,
    },
    /// The provider is reachable but holds no key under the configured name (a missing file, a
    /// keyring entry or token object that does not exist).
    #[error("key provider {provider}: the key was not found")]
    KeyNotFound {
        /// The provider, as its identity's text.
        provider: String,
    },
    /// The provider's token (a PKCS#11 slot with the configured label) was not found.
    #[error("key provider {provider}: no token with that label")]
    TokenNotFound {
        /// The provider, as its identity's text.
        provider: String,
    },
    /// The provider's library (a PKCS#11 module) could not be loaded or initialised.
    #[error("key provider {provider}: the module could not be loaded: {reason}")]
    ModuleNotFound {
        /// The provider, as its identity's text.
        provider: String,
        /// What failed (no secret).
        reason: String,
    },
    /// The token refused the PIN (wrong, locked or expired). The PIN itself is never kept.
    #[error("key provider {provider}: the PIN was refused ({reason})")]
    PinRefused {
        /// The provider, as its identity's text.
        provider: String,
        /// The token's answer, such as `CKR_PIN_INCORRECT` or `CKR_PIN_LOCKED`.
        reason: String,
    },
    /// The PIN was not given: its environment variable is unset or empty, or its file is
    /// unreadable.
    #[error("key provider {provider}: no PIN: {reason}")]
    PinMissing {
        /// The provider, as its identity's text.
        provider: String,
        /// Where the PIN was looked for (the variable's or file's name, never its value).
        reason: String,
    },
    /// [`WithTimeout`](crate::WithTimeout): the provider did not answer within the deadline.
    /// The caller was released; the provider's call may still be running on the worker.
    #[error("key provider {provider} did not answer within {after:?}")]
    TimedOut {
        /// The provider, as its identity's text.
        provider: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// [`WithTimeout`](crate::WithTimeout): the queue of calls waiting for the provider is
    /// full (the provider is stuck or far too slow); the call was refused at once.
    #[error("key provider {provider} is busy: {queued} calls already wait for it")]
    Busy {
        /// The provider, as its identity's text.
        provider: String,
        /// The queue's bound.
        queued: usize,
    },
    /// A key file is not safe to trust: a symbolic link, not a regular file (a FIFO, a device,
    /// a directory), owned by another user, or readable or writable by group or others.
    #[error("key file {path:?} refused: {reason}")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Why (no content of the file).
        reason: String,
    },
    /// The key material or a setting is malformed: a key of the wrong length or encoding, a
    /// key object of the wrong type or with the wrong attributes, an invalid credential name.
    #[error("key provider {provider}: malformed: {reason}")]
    Malformed {
        /// The provider, as its identity's text (or the path of a key file).
        provider: String,
        /// What is wrong (never the material itself).
        reason: String,
    },
    /// A provider specification (`--key-provider SPEC`) could not be parsed. The spec's text is
    /// not repeated, in case a secret was typed into it by mistake.
    #[error("invalid key provider spec: {reason}")]
    InvalidSpec {
        /// What is wrong.
        reason: String,
    },
    /// The spec names a kind of provider this build does not include (a crate or feature that
    /// is absent, or a platform without it).
    #[error("key provider kind {kind:?} is not available in this build: {reason}")]
    Unsupported {
        /// The kind (`pkcs11`, `keyring`, ...).
        kind: String,
        /// What would provide it.
        reason: String,
    },
    /// The provider failed while computing (a device error during signing, an answer of the
    /// wrong length).
    #[error("key provider {provider} failed: {reason}")]
    Failed {
        /// The provider, as its identity's text.
        provider: String,
        /// What failed (no secret).
        reason: String,
    },
}

/// A small, stable classification of [`ProviderError`], for HTTP statuses, exit codes and
/// retry decisions.
///
/// # Example
///
/// ```
/// use credlock_keyprovider::{ProviderError, ProviderErrorKind};
/// use std::time::Duration;
///
/// let e = ProviderError::TimedOut { provider: "file:/k".into(), after: Duration::from_secs(2) };
/// assert_eq!(e.kind(), ProviderErrorKind::Unavailable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProviderErrorKind {
    /// The provider cannot answer now ([`ProviderError::Unavailable`], `TimedOut`, `Busy`,
    /// `Failed`): retry later, report 503.
    Unavailable,
    /// The key, token or module is missing ([`ProviderError::KeyNotFound`], `TokenNotFound`,
    /// `ModuleNotFound`): an operator must fix the setup.
    KeyNotFound,
    /// Access was refused ([`ProviderError::Permissions`], `PinRefused`, `PinMissing`).
    AccessDenied,
    /// The configuration or the key material is wrong ([`ProviderError::Malformed`],
    /// `InvalidSpec`, `Unsupported`).
    Configuration,
}

impl ProviderError {
    /// The error's stable class.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_keyprovider::{ProviderError, ProviderErrorKind};
    ///
    /// let e = ProviderError::InvalidSpec { reason: "empty".into() };
    /// assert_eq!(e.kind(), ProviderErrorKind::Configuration);
    /// ```
    #[must_use]
    pub fn kind(&self) -> ProviderErrorKind {
        match self {
            Self::Unavailable { .. }
            | Self::TimedOut { .. }
            | Self::Busy { .. }
            | Self::Failed { .. } => ProviderErrorKind::Unavailable,
            Self::KeyNotFound { .. } | Self::TokenNotFound { .. } | Self::ModuleNotFound { .. } => {
                ProviderErrorKind::KeyNotFound
            }
            Self::Permissions { .. } | Self::PinRefused { .. } | Self::PinMissing { .. } => {
                ProviderErrorKind::AccessDenied
            }
            Self::Malformed { .. } | Self::InvalidSpec { .. } | Self::Unsupported { .. } => {
                ProviderErrorKind::Configuration
            }
        }
    }

    /// Whether the same call may succeed if tried again later without changing anything: the
    /// provider was unavailable, timed out, busy, or failed while computing. A missing key, a
    /// refused PIN, a bad file or a bad spec is not retryable (retrying a refused PIN could
    /// lock the token).
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_keyprovider::ProviderError;
    ///
    /// let busy = ProviderError::Busy { provider: "pkcs11:token=t;key=k".into(), queued: 8 };
    /// assert!(busy.is_retryable());
    /// let pin = ProviderError::PinRefused {
    ///     provider: "pkcs11:token=t;key=k".into(),
    ///     reason: "CKR_PIN_INCORRECT".into(),
    /// };
    /// assert!(!pin.is_retryable());
    /// ```
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.kind() == ProviderErrorKind::Unavailable
    }
}
