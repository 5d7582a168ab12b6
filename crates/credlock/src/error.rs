//! The facade's error type.

use core::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use credlock_policy::PolicyViolations;

/// Everything that can go wrong with a vault.
///
/// No variant holds a passphrase, a key, a token or a credential. A wrong passphrase and a
/// tampered token are the same [`Error::WrongPassphrase`]: Fernet cannot tell them apart, and
/// an attacker should not learn which it was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The passphrase does not open the vault (or the sealed record was tampered with).
    #[error("the passphrase is wrong, or the vault file has been tampered with")]
    WrongPassphrase,
    /// A new passphrase does not meet the vault's policy.
    #[error("the passphrase does not meet the policy: {0}")]
    Policy(#[from] PolicyViolations),
    /// No credentials are stored.
    #[error("no credentials are stored: store credentials first")]
    NoCredentials,
    /// The vault is locked; the operation needs it unlocked.
    #[error("the vault is locked: unlock it with the passphrase first")]
    Locked,
    /// The vault is already unlocked.
    #[error("the vault is already unlocked: lock it before unlocking again")]
    AlreadyUnlocked,
    /// Too many failed unlock attempts: wait before trying again.
    #[error("too many failed unlock attempts: try again in {} s", ceil_secs(*retry_after))]
    LockedOut {
        /// How long until the next attempt is allowed.
        retry_after: Duration,
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
    KdfParams(#[source] CryptoError),
    /// Reading or writing the vault's storage failed.
    #[error("vault storage: {0}")]
    Storage(#[source] StorageError),
    /// A cryptographic operation failed for a reason other than a wrong passphrase (the
    /// random source or the clock).
    #[error("cryptography: {0}")]
    Crypto(#[source] CryptoError),
    /// A legacy (Eclosion) credentials file is not in the expected format.
    #[error("the Eclosion credentials file is not in the expected format ({reason})")]
    LegacyFormat {
        /// What is wrong, without any of the file's contents.
        reason: &'static str,
    },
    /// A legacy (Eclosion) credentials file holds unencrypted credentials; credlock refuses
    /// to read plaintext secrets.
    #[error(
        "the Eclosion credentials file is not encrypted (\"encrypted\": false); credlock \
         refuses to import plaintext credentials: set a passphrase in Eclosion first"
    )]
    LegacyUnencrypted,
    /// An export destination already exists.
    #[error("{} already exists; choose a new path or remove it first", path.display())]
    DestinationExists {
        /// The destination path.
        path: PathBuf,
    },
    /// An invalid option (an out-of-range lockout policy, say).
    #[error("invalid option `{name}`")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
    },
}

fn ceil_secs(d: Duration) -> u64 {
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
    pub(crate) fn io(path: &std::path::Path, source: io::Error) -> Self {
        Self(StorageInner::Io {
            path: path.to_path_buf(),
            source,
        })
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
            StorageInner::Io { path, source } => write!(f, "{}: {source}", path.display()),
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
            E::IterationsOutOfRange { .. } | E::SaltLength { .. } => {
                Self::KdfParams(CryptoError(e))
            }
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
