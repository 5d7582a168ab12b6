//! The facade's error type.

use core::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use credlock_client_sessions::{Scope, SessionStoreError};
use credlock_policy::PolicyViolations;
use credlock_totp::InvalidSecret;

/// Everything that can go wrong with a vault.
///
/// No variant holds a passphrase, a key, a token or a credential. A wrong passphrase and a
/// tampered token are the same [`Error::WrongPassphrase`]: Fernet cannot tell them apart, and
/// an attacker should not learn which it was.
///
/// Each error either prints its cause in its own message or returns it from
/// [`source`](std::error::Error::source), never both, so `{:#}` (anyhow), eyre and a
/// hand-written chain print every cause once. Branch on [`Error::kind`] rather than on
/// messages; the [crate docs](crate#errors-an-app-can-act-on) map each kind to an HTTP status
/// and an exit code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The passphrase does not open the vault (or the sealed record was tampered with).
    #[error("the passphrase is wrong, or the vault file has been tampered with")]
    WrongPassphrase,
    /// A new passphrase does not meet the vault's policy (every unmet rule, with codes).
    #[error("{0}")]
    Policy(PolicyViolations),
    /// No credentials are stored.
    #[error("no credentials are stored: store credentials first")]
    NoCredentials,
    /// The vault is locked; the operation needs it unlocked.
    #[error("the vault is locked: unlock it with the passphrase first")]
    Locked,
    /// The vault is already unlocked.
    #[error("the vault is already unlocked: lock it before unlocking again")]
    AlreadyUnlocked,
    /// Too many failed unlock attempts: wait before trying again. No key derivation was
    /// attempted. [`Error::retry_after_secs`] gives the wait for a `Retry-After` header.
    #[error("too many failed unlock attempts: try again in {} s", ceil_secs(*retry_after))]
    LockedOut {
        /// How long until the next attempt is allowed.
        retry_after: Duration,
    },
    /// So many consecutive failed attempts (see
    /// [`MAX_CONSECUTIVE_FAILURES`](crate::MAX_CONSECUTIVE_FAILURES)) that attempts are
    /// refused until an operator clears the lockout
    /// ([`Vault::clear_lockout`](crate::Vault::clear_lockout)). No key derivation was
    /// attempted.
    #[error(
        "{failures} consecutive failed passphrase attempts: attempts are refused until an \
         administrator clears the lockout"
    )]
    LockedOutUntilCleared {
        /// Consecutive failed attempts.
        failures: u32,
    },
    /// Credentials are already stored and the call did not ask to replace them.
    #[error(
        "a vault already exists{}: unlock it, or replace it explicitly (Vault::replace)",
        at(path.as_ref())
    )]
    VaultExists {
        /// Where the vault is, if it is a file.
        path: Option<PathBuf>,
    },
    /// The vault file disappeared behind our back (deleted by another process or by hand).
    #[error("the vault file{} no longer exists: it was removed by someone else", at(path.as_ref()))]
    VaultMissing {
        /// Where the vault was, if it is a file.
        path: Option<PathBuf>,
    },
    /// Another process changed the vault (a new passphrase, or new credentials under a new
    /// salt) since it was unlocked here; nothing was written. The vault has been locked:
    /// unlock it again to see the current credentials.
    #[error(
        "the vault was changed by another process since it was unlocked here; nothing was \
         written and the vault is now locked: unlock it again"
    )]
    ChangedElsewhere,
    /// [`Vault::lock`](crate::Vault::lock) or [`Vault::logout`](crate::Vault::logout) was
    /// called while this operation was deriving its key: the lock wins, and the operation
    /// did not unlock the vault. Unlock again if that is still wanted.
    #[error(
        "the vault was locked while this operation was deriving its key; it stays locked: \
         unlock it again"
    )]
    Interrupted,
    /// The vault file is not a valid credlock vault; it was left untouched.
    #[error("the vault file is not a valid credlock vault ({reason}); it was left untouched")]
    CorruptVault {
        /// What is wrong, without any of the file's contents.
        reason: &'static str,
    },
    /// The vault file was written by a newer format version.
    #[error(
        "the vault file has format version {found}, which this version of credlock cannot \
         read (it reads version {supported}); upgrade credlock"
    )]
    UnsupportedVersion {
        /// The version found in the file.
        found: u64,
        /// The version this build reads and writes.
        supported: u64,
    },
    /// The vault file names a key-derivation algorithm this build does not know.
    #[error("the vault file uses an unsupported key-derivation algorithm {found:?}")]
    UnsupportedAlgorithm {
        /// The algorithm named in the file (at most 64 characters of it).
        found: String,
    },
    /// The vault file or the options ask for KDF parameters outside the accepted bounds.
    #[error("unacceptable key-derivation parameters: {0}")]
    KdfParams(CryptoError),
    /// Reading or writing the vault's storage failed; [`StorageError::kind`] says how.
    #[error(transparent)]
    Storage(StorageError),
    /// A cryptographic operation failed for a reason other than a wrong passphrase (the
    /// random source or the clock).
    #[error(transparent)]
    Crypto(CryptoError),
    /// With fail-closed auditing, an audit event could not be recorded; see
    /// [`VaultBuilder::audit_fail_closed`](crate::VaultBuilder::audit_fail_closed).
    #[error("the audit trail could not record the event (fail-closed auditing)")]
    AuditFailed(#[source] credlock_audit::AuditError),
    /// An invalid option (an out-of-range lockout policy, say).
    #[error("invalid option `{name}`")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
    },
    /// A session token was refused: malformed, unknown, revoked, rotated, or presented while
    /// the vault is locked (a lock revokes every session). Which of these is not said.
    #[error("the session token is not valid: sign in again")]
    InvalidToken,
    /// A session token has expired (by age, or unused for too long).
    #[error("the session has expired: sign in again")]
    TokenExpired,
    /// A session token is valid but its scopes do not allow this operation.
    #[error("the session's scopes do not allow this (it needs `{needed}`)")]
    ScopeRefused {
        /// The scope the operation needs.
        needed: Scope,
    },
    /// The session store failed; the token or the operation was refused.
    #[error(transparent)]
    SessionStore(SessionStoreError),
    /// The MFA secret is not a TOTP secret credlock can use (base32, or an
    /// `otpauth://totp/` URI with known parameters).
    #[error("the MFA secret is not a usable TOTP secret ({reason})")]
    InvalidMfaSecret {
        /// What is wrong, without any of the secret.
        reason: &'static str,
    },
    /// The stored credentials have no MFA secret, so there is no TOTP code.
    #[error("the stored credentials have no MFA secret")]
    NoMfaSecret,
    /// A [`Registry`](crate::Registry) holds as many vaults in memory as it may
    /// ([`RegistryBuilder::max_open_vaults`](crate::registry::RegistryBuilder::max_open_vaults))
    /// and none of them can be let go (each is unlocked or in use): retry later.
    #[error("{max} vaults are open, each unlocked or in use: try again later")]
    TooManyOpenVaults {
        /// The registry's cap.
        max: usize,
    },
    /// A keyslot label is empty, too long, or holds control characters.
    #[error("a keyslot label is 1 to {max_chars} characters, without control characters")]
    InvalidSlotLabel {
        /// The longest label accepted, in characters.
        max_chars: usize,
    },
    /// The vault holds as many keyslots as it may; nothing was done.
    #[error("the vault already holds {max} keyslots")]
    TooManySlots {
        /// The cap ([`MAX_SLOTS`](crate::MAX_SLOTS)).
        max: usize,
    },
    /// No keyslot has this id.
    #[error("the vault has no keyslot with this id")]
    SlotNotFound,
    /// The passphrase slot cannot be removed: a vault always keeps its passphrase (change it
    /// with [`Vault::change_passphrase`](crate::Vault::change_passphrase)).
    #[error("the passphrase slot cannot be removed")]
    PassphraseSlotRequired,
    /// A secret for a `secret` keyslot is shorter or longer than accepted.
    #[error("a keyslot secret is {min_bytes} to {max_bytes} bytes long")]
    InvalidSecret {
        /// The shortest accepted.
        min_bytes: usize,
        /// The longest accepted.
        max_bytes: usize,
    },
    /// The vault's passphrase slot needs a key provider and none is configured
    /// ([`VaultBuilder::key_provider`](crate::VaultBuilder::key_provider)). Nothing was tried
    /// or counted.
    #[error("this vault needs the key provider {needed}, and none is configured")]
    KeyProviderMissing {
        /// The provider and key the vault names (no secret).
        needed: String,
    },
    /// The key provider configured is not the one the vault needs (another provider or key
    /// id, or one holding another key). Nothing was tried or counted.
    #[error("this vault needs the key provider {needed}; {configured} is configured: {reason}")]
    KeyProviderMismatch {
        /// The provider and key the vault names.
        needed: String,
        /// The provider and key configured.
        configured: String,
        /// What differs.
        reason: &'static str,
    },
    /// The key provider failed (unreachable, timed out, refused the PIN, …); see
    /// [`ProviderError::is_retryable`](credlock_keyprovider::ProviderError::is_retryable).
    #[error("the key provider failed: {0}")]
    KeyProvider(#[source] credlock_keyprovider::ProviderError),
    /// A passkey ceremony failed: a WebAuthn response that does not verify (signature,
    /// challenge, origin, RP id, user presence or verification, counter), a PRF output
    /// missing, short or all zero, or a ceremony used twice, out of order or expired. Nothing
    /// was tested or counted.
    #[error("passkey refused: {reason}")]
    Passkey {
        /// What failed (never any of the response's bytes).
        reason: String,
        /// Whether the request was at fault (HTTP 401) rather than the server (500).
        client_fault: bool,
    },
    /// The text given is not a recovery key (wrong length or characters); nothing was tried
    /// or counted.
    #[error("not a recovery key: {reason}")]
    MalformedRecoveryKey {
        /// What is wrong, without any of the text.
        reason: &'static str,
    },
    /// The operation needs keyslots (vault format version 3), and this vault is of an
    /// earlier version: kept Eclosion-compatible, or not unlocked since this version
    /// (an unlock moves it to version 3).
    #[error(
        "this vault has no keyslots (format version {version}); unlock it without keep_eclosion_compatible_kdf to move it to version 3"
    )]
    NoKeyslots {
        /// The vault file's format version.
        version: u64,
    },
}

impl From<InvalidSecret> for Error {
    fn from(e: InvalidSecret) -> Self {
        Self::InvalidMfaSecret { reason: e.reason() }
    }
}

impl From<PolicyViolations> for Error {
    fn from(v: PolicyViolations) -> Self {
        Self::Policy(v)
    }
}

/// What kind of failure an [`Error`] is, for branching (HTTP status, exit code, retry).
///
/// [`ErrorKind::http_status`] and [`ErrorKind::code`] give what an HTTP service answers, and
/// [`Error::retry_after_secs`] its `Retry-After`:
///
/// ```
/// use std::time::Duration;
/// use credlock::{Error, ErrorKind};
///
/// assert_eq!(Error::WrongPassphrase.kind().http_status(), 401);
/// let locked_out = Error::LockedOut { retry_after: Duration::from_secs(30) };
/// assert_eq!(locked_out.kind().http_status(), 429);
/// assert_eq!(locked_out.kind().code(), "locked_out");
/// assert_eq!(locked_out.retry_after_secs(), Some(30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The passphrase does not open the vault ([`Error::WrongPassphrase`]).
    WrongPassphrase,
    /// Too many failed attempts: retry after [`Error::retry_after_secs`].
    LockedOut,
    /// The vault must be unlocked first ([`Error::Locked`]).
    Locked,
    /// No credentials are stored ([`Error::NoCredentials`]).
    NoCredentials,
    /// The request conflicts with the vault's state (already unlocked, already exists,
    /// changed elsewhere, interrupted by a lock, destination exists): not retryable as is.
    Conflict,
    /// A new passphrase does not meet the policy ([`Error::Policy`]).
    PolicyRejected,
    /// The vault file (or an Eclosion source) is not one this version can open: corrupt, a
    /// newer format, an unknown algorithm, or KDF parameters out of bounds.
    InvalidVault,
    /// The storage failed; the [`StorageKind`] says how.
    Storage(StorageKind),
    /// The application passed an invalid option.
    InvalidOption,
    /// The random source or the clock failed.
    Crypto,
    /// Fail-closed auditing could not record an event.
    AuditFailed,
    /// A session token is invalid or expired: authenticate again (HTTP 401).
    Unauthenticated,
    /// A valid session token lacks the scope for this operation (HTTP 403).
    Forbidden,
    /// Credentials to store are not valid (an unusable MFA secret).
    InvalidCredentials,
    /// The registry is at its cap of open vaults ([`Error::TooManyOpenVaults`]): retry later
    /// (HTTP 503).
    Overloaded,
    /// The request itself is malformed (a recovery key that is not one, a slot label too
    /// long): HTTP 400.
    InvalidInput,
    /// What the request names does not exist (a keyslot id): HTTP 404.
    NotFound,
    /// The key provider failed ([`Error::KeyProvider`]): HTTP 503, retry if the provider's
    /// error is retryable.
    KeyProvider,
}

impl ErrorKind {
    /// The HTTP status an HTTP service answers with for this kind (the crate docs' table):
    /// 400 for malformed input, 401 for a wrong passphrase or an invalid session, 403 for a
    /// missing scope, 404 for no credentials (or no file, or no such keyslot), 409 for a conflict, 422 for a passphrase or credentials
    /// refused, 423 while locked, 429 while locked out (with `Retry-After`), 503 when the
    /// storage is busy or its database unavailable, the registry is full or the key provider
    /// failed (retry), 500
    /// otherwise.
    #[must_use]
    pub const fn http_status(self) -> u16 {
        match self {
            Self::WrongPassphrase | Self::Unauthenticated => 401,
            Self::Forbidden => 403,
            Self::InvalidInput => 400,
            Self::NoCredentials | Self::NotFound | Self::Storage(StorageKind::NotFound) => 404,
            Self::Conflict => 409,
            Self::PolicyRejected | Self::InvalidCredentials => 422,
            Self::Locked => 423,
            Self::LockedOut => 429,
            Self::Storage(StorageKind::Busy | StorageKind::Unavailable)
            | Self::Overloaded
            | Self::KeyProvider => 503,
            Self::InvalidVault
            | Self::Storage(_)
            | Self::InvalidOption
            | Self::Crypto
            | Self::AuditFailed => 500,
        }
    }

    /// A short stable code for a response body or a log: `wrong_passphrase`, `locked_out`,
    /// `locked`, `no_credentials`, `conflict`, `policy_rejected`, `invalid_vault`,
    /// `storage_` and the [`StorageKind::code`], `invalid_option`, `crypto`, `audit_failed`,
    /// `unauthenticated`, `forbidden`, `invalid_credentials`, `overloaded`, `invalid_input`,
    /// `not_found`, `key_provider`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::WrongPassphrase => "wrong_passphrase",
            Self::LockedOut => "locked_out",
            Self::Locked => "locked",
            Self::NoCredentials => "no_credentials",
            Self::Conflict => "conflict",
            Self::PolicyRejected => "policy_rejected",
            Self::InvalidVault => "invalid_vault",
            Self::Storage(kind) => match kind {
                StorageKind::NotFound => "storage_not_found",
                StorageKind::InvalidPath => "storage_invalid_path",
                StorageKind::Refused => "storage_refused",
                StorageKind::Busy => "storage_busy",
                StorageKind::Unavailable => "storage_unavailable",
                StorageKind::Corrupt => "storage_corrupt",
                StorageKind::NoSpace => "storage_no_space",
                StorageKind::ReadOnly => "storage_read_only",
                StorageKind::Other => "storage_io",
            },
            Self::InvalidOption => "invalid_option",
            Self::Crypto => "crypto",
            Self::AuditFailed => "audit_failed",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::InvalidCredentials => "invalid_credentials",
            Self::Overloaded => "overloaded",
            Self::InvalidInput => "invalid_input",
            Self::NotFound => "not_found",
            Self::KeyProvider => "key_provider",
        }
    }
}

/// How a storage operation failed, from [`StorageError::kind`] or [`Error::kind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageKind {
    /// The file or its directory does not exist.
    NotFound,
    /// The path cannot name a store file (a NUL byte, no file name, a reserved name).
    InvalidPath,
    /// Refused as unsafe or not ours: permissions open to others, a foreign owner, a
    /// symbolic link, not a regular file, a directory writable by others, or the operating
    /// system denied access.
    Refused,
    /// Locked by another process for longer than the lock timeout: retry later.
    Busy,
    /// The database could not be reached or ended the connection (a restart, a failover):
    /// retry. A write in flight then may or may not have been made.
    Unavailable,
    /// The stored bytes are not a plausible vault (empty, or over the size cap).
    Corrupt,
    /// No space left (or a quota exceeded); nothing was changed.
    NoSpace,
    /// The file system is read-only; nothing was changed.
    ReadOnly,
    /// Any other I/O failure.
    Other,
}

impl StorageKind {
    /// A short stable code: `not_found`, `invalid_path`, `refused`, `busy`, `unavailable`,
    /// `corrupt`, `no_space`, `read_only`, `io`.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::InvalidPath => "invalid_path",
            Self::Refused => "refused",
            Self::Busy => "busy",
            Self::Unavailable => "unavailable",
            Self::Corrupt => "corrupt",
            Self::NoSpace => "no_space",
            Self::ReadOnly => "read_only",
            Self::Other => "io",
        }
    }
}

impl Error {
    /// What kind of failure this is.
    ///
    /// ```
    /// use std::time::Duration;
    /// use credlock::{Error, ErrorKind};
    ///
    /// let e = Error::LockedOut { retry_after: Duration::from_millis(29_001) };
    /// assert_eq!(e.kind(), ErrorKind::LockedOut);
    /// assert_eq!(e.retry_after_secs(), Some(30));
    /// ```
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::WrongPassphrase => ErrorKind::WrongPassphrase,
            Self::LockedOut { .. } | Self::LockedOutUntilCleared { .. } => ErrorKind::LockedOut,
            Self::Locked => ErrorKind::Locked,
            Self::NoCredentials => ErrorKind::NoCredentials,
            Self::AlreadyUnlocked
            | Self::VaultExists { .. }
            | Self::ChangedElsewhere
            | Self::Interrupted => ErrorKind::Conflict,
            Self::VaultMissing { .. } => ErrorKind::Storage(StorageKind::NotFound),
            Self::Policy(_) => ErrorKind::PolicyRejected,
            Self::CorruptVault { .. }
            | Self::UnsupportedVersion { .. }
            | Self::UnsupportedAlgorithm { .. }
            | Self::KdfParams(_) => ErrorKind::InvalidVault,
            Self::Storage(e) => ErrorKind::Storage(e.kind()),
            Self::InvalidOption { .. } => ErrorKind::InvalidOption,
            Self::Crypto(_) => ErrorKind::Crypto,
            Self::AuditFailed(_) => ErrorKind::AuditFailed,
            Self::InvalidToken | Self::TokenExpired => ErrorKind::Unauthenticated,
            Self::ScopeRefused { .. } => ErrorKind::Forbidden,
            Self::SessionStore(_) => ErrorKind::Storage(StorageKind::Other),
            Self::InvalidMfaSecret { .. } => ErrorKind::InvalidCredentials,
            Self::NoMfaSecret => ErrorKind::NoCredentials,
            Self::TooManyOpenVaults { .. } => ErrorKind::Overloaded,
            Self::InvalidSlotLabel { .. }
            | Self::MalformedRecoveryKey { .. }
            | Self::InvalidSecret { .. } => ErrorKind::InvalidInput,
            Self::SlotNotFound => ErrorKind::NotFound,
            Self::KeyProviderMissing { .. } | Self::KeyProviderMismatch { .. } => {
                ErrorKind::InvalidOption
            }
            Self::KeyProvider(_) => ErrorKind::KeyProvider,
            Self::Passkey {
                client_fault: true, ..
            } => ErrorKind::Unauthenticated,
            Self::Passkey { .. } => ErrorKind::Crypto,
            Self::TooManySlots { .. } | Self::PassphraseSlotRequired | Self::NoKeyslots { .. } => {
                ErrorKind::Conflict
            }
        }
    }

    /// While locked out for a time: the wait in whole seconds, rounded up (never 0), as an
    /// HTTP `Retry-After` header wants it. `None` for every other error (and for
    /// [`Error::LockedOutUntilCleared`], which no waiting ends).
    #[must_use]
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::LockedOut { retry_after } => Some(ceil_secs(*retry_after).max(1)),
            _ => None,
        }
    }

    /// The storage failure behind this error, if it is one.
    #[must_use]
    pub fn storage(&self) -> Option<&StorageError> {
        match self {
            Self::Storage(e) => Some(e),
            _ => None,
        }
    }
}

pub(crate) fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn at(path: Option<&PathBuf>) -> String {
    path.map(|p| format!(" at {}", p.display()))
        .unwrap_or_default()
}

/// A storage failure: what happened, where, and how to fix it, from the file store.
///
/// Opaque, so that the storage crate can change without breaking callers.
#[derive(Debug)]
pub struct StorageError(StorageInner);

#[derive(Debug)]
enum StorageInner {
    Store(credlock_store::Error),
    Io { path: PathBuf, source: io::Error },
}

impl StorageError {
    /// An I/O failure at `path` outside the store (an importer reading another application's
    /// file, say), classified by its kind as the store's failures are.
    #[must_use]
    pub fn io(path: &std::path::Path, source: io::Error) -> Self {
        Self(StorageInner::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// How the operation failed.
    #[must_use]
    pub fn kind(&self) -> StorageKind {
        use credlock_store::Error as E;
        match &self.0 {
            StorageInner::Store(e) => match e {
                E::DirectoryNotFound { .. } | E::NotFound { .. } => StorageKind::NotFound,
                E::InvalidPath { .. } => StorageKind::InvalidPath,
                E::NotADirectory { .. }
                | E::IsADirectory { .. }
                | E::DirectoryInsecure { .. }
                | E::DirectoryWrongOwner { .. }
                | E::Symlink { .. }
                | E::NotRegularFile { .. }
                | E::WrongOwner { .. }
                | E::InsecureMode { .. }
                | E::UnsupportedFilesystem { .. }
                | E::PermissionDenied { .. } => StorageKind::Refused,
                E::Empty { .. }
                | E::TooLarge { .. }
                | E::LockoutCorrupt { .. }
                | E::CorruptRow { .. } => StorageKind::Corrupt,
                E::InvalidKey { .. } => StorageKind::InvalidPath,
                E::Contended { .. } => StorageKind::Busy,
                E::StorageFull { .. } => StorageKind::NoSpace,
                E::ReadOnlyFilesystem { .. } => StorageKind::ReadOnly,
                E::LockTimeout { .. } => StorageKind::Busy,
                E::Unavailable { .. } => StorageKind::Unavailable,
                _ => StorageKind::Other,
            },
            StorageInner::Io { source, .. } => match source.kind() {
                io::ErrorKind::NotFound => StorageKind::NotFound,
                io::ErrorKind::PermissionDenied => StorageKind::Refused,
                _ => StorageKind::Other,
            },
        }
    }

    /// A finer stable code than [`StorageError::kind`], for status reports and logs:
    /// `insecure_mode`, `wrong_owner`, `symlink`, `not_regular_file`, `directory_insecure`,
    /// `directory_wrong_owner`, `permission_denied`, `unsupported_filesystem`, or the
    /// [`StorageKind::code`].
    #[must_use]
    pub fn code(&self) -> &'static str {
        use credlock_store::Error as E;
        match &self.0 {
            StorageInner::Store(e) => match e {
                E::InsecureMode { .. } => "insecure_mode",
                E::WrongOwner { .. } => "wrong_owner",
                E::Symlink { .. } => "symlink",
                E::NotRegularFile { .. } | E::IsADirectory { .. } | E::NotADirectory { .. } => {
                    "not_regular_file"
                }
                E::DirectoryInsecure { .. } => "directory_insecure",
                E::DirectoryWrongOwner { .. } => "directory_wrong_owner",
                E::PermissionDenied { .. } => "permission_denied",
                E::UnsupportedFilesystem { .. } => "unsupported_filesystem",
                E::LockoutCorrupt { .. } => "lockout_corrupt",
                _ => self.kind().code(),
            },
            StorageInner::Io { .. } => self.kind().code(),
        }
    }

    /// The I/O error kind behind the failure, where there is one.
    #[must_use]
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        std::error::Error::source(self)
            .and_then(|s| s.downcast_ref::<io::Error>())
            .map(io::Error::kind)
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            StorageInner::Store(e) => fmt::Display::fmt(e, f),
            StorageInner::Io { path, .. } => write!(f, "cannot access {}", path.display()),
        }
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            StorageInner::Store(e) => std::error::Error::source(e),
            StorageInner::Io { source, .. } => Some(source),
        }
    }
}

impl From<credlock_store::Error> for Error {
    fn from(e: credlock_store::Error) -> Self {
        Self::Storage(StorageError(StorageInner::Store(e)))
    }
}

/// A failure of the cryptographic layer (random source, clock, parameter bounds).
///
/// Opaque, so that the crypto crate can change without breaking callers.
#[derive(Debug)]
pub struct CryptoError(credlock_crypto::Error);

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for CryptoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

impl From<credlock_crypto::Error> for Error {
    fn from(e: credlock_crypto::Error) -> Self {
        use credlock_crypto::Error as E;
        match e {
            E::InvalidToken | E::EmptyPassphrase => Self::WrongPassphrase,
            E::IterationsOutOfRange { .. }
            | E::SaltLength { .. }
            | E::Argon2ParamOutOfRange { .. } => Self::KdfParams(CryptoError(e)),
            other => Self::Crypto(CryptoError(other)),
        }
    }
}

impl From<credlock_session::Error> for Error {
    fn from(e: credlock_session::Error) -> Self {
        use credlock_session::Error as E;
        match e {
            E::NoCredentials => Self::NoCredentials,
            E::AlreadyUnlocked => Self::AlreadyUnlocked,
            E::LockedOut { retry_after } => Self::LockedOut { retry_after },
            E::InvalidParameter { name } => Self::InvalidOption { name },
            // `Locked`, and any state error a later session version adds.
            _ => Self::Locked,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic, clippy::unwrap_used)]

    use std::time::Duration;

    use credlock_store::{Error as E, InvalidKeyReason, InvalidPathReason, Operation};

    use super::*;

    #[test]
    fn every_kind_has_the_documented_http_status_and_a_distinct_code() {
        use ErrorKind as K;
        use StorageKind as S;
        let table = [
            (K::WrongPassphrase, 401, "wrong_passphrase"),
            (K::LockedOut, 429, "locked_out"),
            (K::Locked, 423, "locked"),
            (K::NoCredentials, 404, "no_credentials"),
            (K::Conflict, 409, "conflict"),
            (K::PolicyRejected, 422, "policy_rejected"),
            (K::InvalidVault, 500, "invalid_vault"),
            (K::Storage(S::NotFound), 404, "storage_not_found"),
            (K::Storage(S::InvalidPath), 500, "storage_invalid_path"),
            (K::Storage(S::Refused), 500, "storage_refused"),
            (K::Storage(S::Busy), 503, "storage_busy"),
            (K::Storage(S::Unavailable), 503, "storage_unavailable"),
            (K::Storage(S::Corrupt), 500, "storage_corrupt"),
            (K::Storage(S::NoSpace), 500, "storage_no_space"),
            (K::Storage(S::ReadOnly), 500, "storage_read_only"),
            (K::Storage(S::Other), 500, "storage_io"),
            (K::InvalidOption, 500, "invalid_option"),
            (K::Crypto, 500, "crypto"),
            (K::AuditFailed, 500, "audit_failed"),
            (K::Unauthenticated, 401, "unauthenticated"),
            (K::Forbidden, 403, "forbidden"),
            (K::InvalidCredentials, 422, "invalid_credentials"),
            (K::Overloaded, 503, "overloaded"),
        ];
        let mut codes = std::collections::BTreeSet::new();
        for (kind, status, code) in table {
            assert_eq!(
                (kind.http_status(), kind.code()),
                (status, code),
                "{kind:?}"
            );
            assert!(codes.insert(code), "{code} twice");
        }
    }

    fn kind_and_code(e: E) -> (StorageKind, &'static str) {
        let e = StorageError(StorageInner::Store(e));
        (e.kind(), e.code())
    }

    #[test]
    fn every_store_failure_has_its_kind_and_code() {
        let p = || PathBuf::from("/srv/vault.json");
        let io = || io::Error::other("disk says no");
        use StorageKind as K;
        let table: Vec<(E, K, &str)> = vec![
            (E::DirectoryNotFound { path: p() }, K::NotFound, "not_found"),
            (E::NotFound { path: p() }, K::NotFound, "not_found"),
            (
                E::InvalidPath {
                    path: p(),
                    reason: InvalidPathReason::NulByte,
                },
                K::InvalidPath,
                "invalid_path",
            ),
            (
                E::InvalidKey {
                    path: p(),
                    reason: InvalidKeyReason::Empty,
                },
                K::InvalidPath,
                "invalid_path",
            ),
            (
                E::NotADirectory { path: p() },
                K::Refused,
                "not_regular_file",
            ),
            (
                E::IsADirectory { path: p() },
                K::Refused,
                "not_regular_file",
            ),
            (
                E::NotRegularFile {
                    path: p(),
                    kind: "FIFO",
                },
                K::Refused,
                "not_regular_file",
            ),
            (
                E::DirectoryInsecure {
                    path: p(),
                    mode: 0o777,
                },
                K::Refused,
                "directory_insecure",
            ),
            (
                E::DirectoryWrongOwner {
                    path: p(),
                    owner: 1,
                    expected: 2,
                },
                K::Refused,
                "directory_wrong_owner",
            ),
            (E::Symlink { path: p() }, K::Refused, "symlink"),
            (
                E::WrongOwner {
                    path: p(),
                    owner: 1,
                    expected: 2,
                },
                K::Refused,
                "wrong_owner",
            ),
            (
                E::InsecureMode {
                    path: p(),
                    mode: 0o644,
                },
                K::Refused,
                "insecure_mode",
            ),
            (
                E::UnsupportedFilesystem {
                    path: p(),
                    mode: 0o777,
                },
                K::Refused,
                "unsupported_filesystem",
            ),
            (
                E::PermissionDenied {
                    path: p(),
                    op: Operation::Open,
                    source: io(),
                },
                K::Refused,
                "permission_denied",
            ),
            (E::Empty { path: p() }, K::Corrupt, "corrupt"),
            (
                E::TooLarge {
                    path: p(),
                    len: 2,
                    max: 1,
                },
                K::Corrupt,
                "corrupt",
            ),
            (
                E::LockoutCorrupt { path: p() },
                K::Corrupt,
                "lockout_corrupt",
            ),
            (
                E::CorruptRow {
                    path: p(),
                    what: "version",
                },
                K::Corrupt,
                "corrupt",
            ),
            (
                E::Contended {
                    path: p(),
                    attempts: 3,
                },
                K::Busy,
                "busy",
            ),
            (
                E::LockTimeout {
                    path: p(),
                    waited: Duration::from_secs(1),
                },
                K::Busy,
                "busy",
            ),
            (
                E::StorageFull {
                    path: p(),
                    op: Operation::Write,
                    source: io(),
                },
                K::NoSpace,
                "no_space",
            ),
            (
                E::ReadOnlyFilesystem {
                    path: p(),
                    op: Operation::Write,
                    source: io(),
                },
                K::ReadOnly,
                "read_only",
            ),
            (
                E::Io {
                    path: p(),
                    op: Operation::Read,
                    source: io(),
                },
                K::Other,
                "io",
            ),
            (E::EmptyData { path: p() }, K::Other, "io"),
            (
                E::Database {
                    path: p(),
                    backend: "sqlite",
                    op: "read",
                    source: Box::new(io()),
                },
                K::Other,
                "io",
            ),
            (
                E::Unavailable {
                    path: p(),
                    backend: "postgres",
                    op: "read",
                    source: Box::new(io()),
                },
                K::Unavailable,
                "unavailable",
            ),
        ];
        for (e, kind, code) in table {
            let name = format!("{e:?}");
            assert_eq!(kind_and_code(e), (kind, code), "{name}");
        }
    }

    #[test]
    fn an_io_failure_outside_the_store_is_classified_by_its_kind() {
        let path = std::path::Path::new("/srv/export.json");
        for (io_kind, kind) in [
            (io::ErrorKind::NotFound, StorageKind::NotFound),
            (io::ErrorKind::PermissionDenied, StorageKind::Refused),
            (io::ErrorKind::WouldBlock, StorageKind::Other),
        ] {
            let e = StorageError::io(path, io::Error::from(io_kind));
            assert_eq!((e.kind(), e.io_kind()), (kind, Some(io_kind)));
            assert_eq!(e.to_string(), "cannot access /srv/export.json");
        }
    }

    #[test]
    fn session_errors_keep_their_meaning() {
        use credlock_session::Error as S;
        let wait = Duration::from_secs(30);
        assert!(matches!(
            Error::from(S::LockedOut { retry_after: wait }),
            Error::LockedOut { retry_after } if retry_after == wait
        ));
        assert!(matches!(
            Error::from(S::InvalidParameter {
                name: "max_attempts"
            }),
            Error::InvalidOption {
                name: "max_attempts"
            }
        ));
        assert!(matches!(
            Error::from(S::NoCredentials),
            Error::NoCredentials
        ));
        assert!(matches!(
            Error::from(S::AlreadyUnlocked),
            Error::AlreadyUnlocked
        ));
        assert!(matches!(Error::from(S::Locked), Error::Locked));
    }

    #[test]
    fn a_crypto_failure_says_what_the_crypto_layer_said() {
        let inner = credlock_crypto::Error::ClockBeforeEpoch.to_string();
        let Error::Crypto(e) = Error::from(credlock_crypto::Error::ClockBeforeEpoch) else {
            panic!("not a crypto error");
        };
        assert!(!inner.is_empty());
        assert_eq!(e.to_string(), inner);
    }

    #[test]
    fn a_store_failure_keeps_its_io_cause() {
        let e = StorageError(StorageInner::Store(E::PermissionDenied {
            path: PathBuf::from("/srv/vault.json"),
            op: Operation::Open,
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        }));
        let cause = std::error::Error::source(&e).unwrap();
        assert!(cause.downcast_ref::<io::Error>().is_some());
        assert_eq!(e.io_kind(), Some(io::ErrorKind::PermissionDenied));
    }

    #[test]
    fn a_path_is_named_only_when_there_is_one() {
        assert_eq!(at(None), "");
        assert_eq!(
            at(Some(&PathBuf::from("/srv/vault.json"))),
            " at /srv/vault.json"
        );
    }
}
