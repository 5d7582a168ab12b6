//! The error type of this crate.

use core::fmt;

/// Everything that can go wrong in key derivation and sealing.
///
/// Variants carry only non-secret context: a parameter name, a limit, a length. No variant
/// ever holds a passphrase, a key, a token or a plaintext, and every way a token can fail to
/// open (wrong key, tampering, truncation, bad encoding, expiry) is the one opaque
/// [`Error::InvalidToken`], so an attacker learns nothing from which check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The PBKDF2 iteration count is below the floor or above the cap.
    #[error(
        "KDF iteration count {iterations} is outside the accepted range {min}..={max} \
         (a lower count is too weak; a higher one would stall the application)"
    )]
    IterationsOutOfRange {
        /// The count that was asked for.
        iterations: u64,
        /// The smallest accepted count.
        min: u64,
        /// The largest accepted count.
        max: u64,
    },
    /// A salt was given with the wrong number of bytes.
    #[error("the KDF salt has {actual} bytes; exactly {expected} are required")]
    SaltLength {
        /// The length that was given.
        actual: usize,
        /// The required length.
        expected: usize,
    },
    /// The passphrase is empty; an empty passphrase protects nothing.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// A Fernet key was not 32 bytes in padded base64url (44 characters).
    #[error("the Fernet key is malformed: it must be 32 bytes in padded base64url (44 characters)")]
    MalformedKey,
    /// A token did not open: wrong key, tampered or truncated token, bad encoding, or (when a
    /// TTL was asked for) an expired token or one from too far in the future.
    #[error(
        "the token is invalid: wrong key, or a tampered, truncated, malformed or expired token"
    )]
    InvalidToken,
    /// The operating system's random number generator failed.
    #[error("the operating system's random number generator failed")]
    Random(#[source] RandomError),
    /// The system clock reads a time before 1970-01-01, so no Fernet timestamp can be made.
    #[error("the system clock reads a time before 1970-01-01")]
    ClockBeforeEpoch,
    /// An Argon2id parameter (`memory_kib`, `passes` or `lanes`, or a cap in
    /// [`Argon2Limits`](crate::Argon2Limits)) is below the floor or above the cap. Checked
    /// before any memory is allocated.
    #[error(
        "Argon2id {param} {value} is outside the accepted range {min}..={max} \
         (a lower cost is too weak; a higher one would exhaust memory or stall the application)"
    )]
    Argon2ParamOutOfRange {
        /// The parameter's name.
        param: &'static str,
        /// The value that was asked for.
        value: u64,
        /// The smallest accepted value.
        min: u64,
        /// The largest accepted value.
        max: u64,
    },
    /// The memory Argon2id asked for (within the caps) could not be allocated.
    #[error("could not allocate {memory_kib} KiB of memory for Argon2id")]
    Argon2OutOfMemory {
        /// The memory asked for, in KiB.
        memory_kib: u32,
    },
    /// Argon2id refused its inputs (a passphrase longer than 4 GiB).
    #[error("Argon2id refused its inputs (a passphrase longer than 4 GiB)")]
    Argon2Failed,
    /// The batch of the derivation service that held this derivation stopped before it
    /// finished (its thread panicked); nothing was derived.
    #[error("the key derivation was abandoned: the batch running it stopped")]
    DerivationAbandoned,
}

/// The platform error behind [`Error::Random`].
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
///
/// ```
/// let mut nonce = [0u8; 16];
/// credlock_crypto::fill_random(&mut nonce)?;
/// # Ok::<(), credlock_crypto::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Random`] if the operating system's random source fails.
pub fn fill_random(dest: &mut [u8]) -> Result<(), Error> {
    getrandom::fill(dest).map_err(|e| Error::Random(RandomError(e)))
}
