//! KDF parameters: algorithm, iteration count and salt.

use core::fmt;

use crate::error::{Error, fill_random};

/// Length of a KDF salt in bytes.
pub const SALT_LEN: usize = 16;

/// A 16-byte KDF salt. Not secret, but it must be unique per vault.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Salt([u8; SALT_LEN]);

impl Salt {
    /// A fresh salt from the operating system's random source.
    ///
    /// ```
    /// let a = credlock_crypto::Salt::random()?;
    /// let b = credlock_crypto::Salt::random()?;
    /// assert_ne!(a, b);
    /// # Ok::<(), credlock_crypto::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Random`] if the operating system's random source fails.
    pub fn random() -> Result<Self, Error> {
        let mut bytes = [0u8; SALT_LEN];
        fill_random(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// A salt from known bytes (read back from a vault file, or a test vector).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; SALT_LEN]) -> Self {
        Self(bytes)
    }

    /// A salt from a slice that must hold exactly [`SALT_LEN`] bytes.
    ///
    /// ```
    /// use credlock_crypto::{Error, Salt};
    /// assert!(Salt::from_slice(&[7u8; 16]).is_ok());
    /// assert!(matches!(Salt::from_slice(&[7u8; 15]), Err(Error::SaltLength { actual: 15, .. })));
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::SaltLength`] for any other length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        <[u8; SALT_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| Error::SaltLength {
                actual: bytes.len(),
                expected: SALT_LEN,
            })
    }

    /// The salt's bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; SALT_LEN] {
        &self.0
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// The key-derivation function. Only one exists today; the enum leaves room for more.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KdfAlgorithm {
    /// PBKDF2 with HMAC-SHA256 and a 32-byte output, as Python's `cryptography` computes it.
    Pbkdf2HmacSha256,
}

impl KdfAlgorithm {
    /// The stable name written in vault files: `pbkdf2-hmac-sha256`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pbkdf2HmacSha256 => "pbkdf2-hmac-sha256",
        }
    }

    /// The algorithm with this stable name, if it is one this crate knows.
    ///
    /// ```
    /// use credlock_crypto::KdfAlgorithm;
    /// assert_eq!(KdfAlgorithm::from_name("pbkdf2-hmac-sha256"), Some(KdfAlgorithm::Pbkdf2HmacSha256));
    /// assert_eq!(KdfAlgorithm::from_name("md5-crypt"), None);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        (name == Self::Pbkdf2HmacSha256.name()).then_some(Self::Pbkdf2HmacSha256)
    }
}

impl fmt::Display for KdfAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checked parameters for deriving a vault key: algorithm, iteration count and salt.
///
/// There is no `Default`, because a salt must be fresh per vault: use
/// [`KdfParams::generate`] for a new vault, and [`KdfParams::new`] for parameters read back
/// from a file, which refuses counts below [`KdfParams::MIN_ITERATIONS`] (too weak) and above
/// [`KdfParams::MAX_ITERATIONS`] (a planted file could otherwise hang the application).
///
/// ```
/// use credlock_crypto::{KdfParams, Salt};
/// let params = KdfParams::new(480_000, Salt::from_bytes([0; 16]))?;
/// assert_eq!(params.iterations(), KdfParams::RECOMMENDED_ITERATIONS);
/// assert!(KdfParams::new(1_000, Salt::from_bytes([0; 16])).is_err());
/// assert!(KdfParams::new(5_000_000_000, Salt::from_bytes([0; 16])).is_err());
/// # Ok::<(), credlock_crypto::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    algorithm: KdfAlgorithm,
    iterations: u32,
    salt: Salt,
}

impl KdfParams {
    /// The default cost: 480,000 iterations, as Python's `cryptography` documentation and
    /// Eclosion use.
    pub const RECOMMENDED_ITERATIONS: u32 = 480_000;
    /// The floor for parameters accepted from a file or a caller: 100,000 iterations.
    pub const MIN_ITERATIONS: u32 = 100_000;
    /// The cap: 10,000,000 iterations (about 20 times the recommended cost, a few seconds of
    /// CPU), so a planted vault file cannot ask for billions of iterations.
    pub const MAX_ITERATIONS: u32 = 10_000_000;

    /// Parameters with a checked iteration count.
    ///
    /// # Errors
    ///
    /// [`Error::IterationsOutOfRange`] unless
    /// `MIN_ITERATIONS <= iterations <= MAX_ITERATIONS`.
    pub fn new(iterations: u64, salt: Salt) -> Result<Self, Error> {
        Self::checked(iterations, Self::MIN_ITERATIONS, salt)
    }

    /// The recommended cost with the given salt.
    #[must_use]
    pub const fn recommended(salt: Salt) -> Self {
        Self {
            algorithm: KdfAlgorithm::Pbkdf2HmacSha256,
            iterations: Self::RECOMMENDED_ITERATIONS,
            salt,
        }
    }

    /// The recommended cost with a fresh random salt: what a new vault uses.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] if the operating system's random source fails.
    pub fn generate() -> Result<Self, Error> {
        Ok(Self::recommended(Salt::random()?))
    }

    /// **Insecure**: parameters with any count from 1 up to the cap, for tests and
    /// known-answer vectors that cannot afford or do not use a real cost. Never use this for
    /// a real vault: a low count makes a stolen file cheap to brute-force.
    ///
    /// # Errors
    ///
    /// [`Error::IterationsOutOfRange`] for 0 or a count above [`KdfParams::MAX_ITERATIONS`].
    pub fn insecure_low_cost(iterations: u64, salt: Salt) -> Result<Self, Error> {
        Self::checked(iterations, 1, salt)
    }

    fn checked(iterations: u64, min: u32, salt: Salt) -> Result<Self, Error> {
        match u32::try_from(iterations) {
            Ok(n) if (min..=Self::MAX_ITERATIONS).contains(&n) => Ok(Self {
                algorithm: KdfAlgorithm::Pbkdf2HmacSha256,
                iterations: n,
                salt,
            }),
            _ => Err(Error::IterationsOutOfRange {
                iterations,
                min: u64::from(min),
                max: u64::from(Self::MAX_ITERATIONS),
            }),
        }
    }

    /// The same algorithm and cost with a fresh random salt (for a passphrase change).
    ///
    /// # Errors
    ///
    /// [`Error::Random`] if the operating system's random source fails.
    pub fn with_fresh_salt(&self) -> Result<Self, Error> {
        Ok(Self {
            salt: Salt::random()?,
            ..*self
        })
    }

    /// The key-derivation algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> KdfAlgorithm {
        self.algorithm
    }

    /// The iteration count.
    #[must_use]
    pub const fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The salt.
    #[must_use]
    pub const fn salt(&self) -> &Salt {
        &self.salt
    }
}
