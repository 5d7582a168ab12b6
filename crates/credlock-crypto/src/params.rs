//! KDF parameters: algorithm, iteration count and salt.

use core::fmt;

use crate::argon2id::{Argon2Cost, Argon2Limits, check_cost};
use crate::error::{Error, fill_random};
use crate::normalization::Normalization;

/// Length of a KDF salt in bytes.
pub const SALT_LEN: usize = 16;

/// A 16-byte KDF salt. Not secret, but it must be unique per vault.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Salt([u8; SALT_LEN]);

impl Salt {
    /// A fresh salt from the operating system's random source.
    ///
    /// ```
    /// # mod credlock { pub use credlock_crypto as crypto; }
    /// let a = credlock::crypto::Salt::random()?;
    /// let b = credlock::crypto::Salt::random()?;
    /// assert_ne!(a, b);
    /// # Ok::<(), credlock::crypto::Error>(())
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
    /// # mod credlock { pub use credlock_crypto as crypto; }
    /// use credlock::crypto::{Error, Salt};
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

/// The key-derivation function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KdfAlgorithm {
    /// PBKDF2 with HMAC-SHA256 and a 32-byte output, as Python's `cryptography` computes it.
    Pbkdf2HmacSha256,
    /// Argon2id version 0x13 (RFC 9106) with a 32-byte output, no secret and no associated
    /// data: memory-hard, so a GPU cannot run thousands of guesses side by side cheaply.
    Argon2id,
}

impl KdfAlgorithm {
    /// The stable name written in vault files: `pbkdf2-hmac-sha256` or `argon2id`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pbkdf2HmacSha256 => "pbkdf2-hmac-sha256",
            Self::Argon2id => "argon2id",
        }
    }

    /// The algorithm with this stable name, if it is one this crate knows.
    ///
    /// ```
    /// # mod credlock { pub use credlock_crypto as crypto; }
    /// use credlock::crypto::KdfAlgorithm;
    /// assert_eq!(KdfAlgorithm::from_name("pbkdf2-hmac-sha256"), Some(KdfAlgorithm::Pbkdf2HmacSha256));
    /// assert_eq!(KdfAlgorithm::from_name("argon2id"), Some(KdfAlgorithm::Argon2id));
    /// assert_eq!(KdfAlgorithm::from_name("md5-crypt"), None);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Pbkdf2HmacSha256, Self::Argon2id]
            .into_iter()
            .find(|a| a.name() == name)
    }
}

impl fmt::Display for KdfAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Checked parameters for deriving a vault key: algorithm, cost, salt, and how the
/// passphrase's text is normalised ([`Normalization::None`] unless set with
/// [`KdfParams::with_normalization`]).
///
/// For Argon2id ([`KdfParams::argon2id`]) the cost is an [`Argon2Cost`], and
/// [`KdfParams::iterations`] is its number of passes.
///
/// There is no `Default`, because a salt must be fresh per vault: use
/// [`KdfParams::generate`] for a new vault, and [`KdfParams::new`] for parameters read back
/// from a file, which refuses counts below [`KdfParams::MIN_ITERATIONS`] (too weak) and above
/// [`KdfParams::MAX_ITERATIONS`] (a planted file could otherwise hang the application).
///
/// ```
/// # mod credlock { pub use credlock_crypto as crypto; }
/// use credlock::crypto::{KdfParams, Salt};
/// let params = KdfParams::new(480_000, Salt::from_bytes([0; 16]))?;
/// assert_eq!(params.iterations(), KdfParams::RECOMMENDED_ITERATIONS);
/// assert!(KdfParams::new(1_000, Salt::from_bytes([0; 16])).is_err());
/// assert!(KdfParams::new(5_000_000_000, Salt::from_bytes([0; 16])).is_err());
/// # Ok::<(), credlock::crypto::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    algorithm: KdfAlgorithm,
    /// PBKDF2 iterations, or Argon2id passes.
    iterations: u32,
    /// Argon2id memory (KiB) and lanes; zero for PBKDF2.
    memory_kib: u32,
    lanes: u32,
    salt: Salt,
    normalization: Normalization,
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
        Self::pbkdf2(Self::RECOMMENDED_ITERATIONS, salt)
    }

    const fn pbkdf2(iterations: u32, salt: Salt) -> Self {
        Self {
            algorithm: KdfAlgorithm::Pbkdf2HmacSha256,
            iterations,
            memory_kib: 0,
            lanes: 0,
            salt,
            normalization: Normalization::None,
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
            Ok(n) if (min..=Self::MAX_ITERATIONS).contains(&n) => Ok(Self::pbkdf2(n, salt)),
            _ => Err(Error::IterationsOutOfRange {
                iterations,
                min: u64::from(min),
                max: u64::from(Self::MAX_ITERATIONS),
            }),
        }
    }

    /// Argon2id parameters, checked against the floor ([`Argon2Cost::MIN`]: OWASP's 19 MiB,
    /// 2 passes, 1 lane) and the caps in `limits` before anything is allocated.
    ///
    /// ```
    /// # mod credlock { pub use credlock_crypto as crypto; }
    /// use credlock::crypto::{Argon2Cost, Argon2Limits, Error, KdfParams, Salt};
    /// let salt = Salt::from_bytes([0; 16]);
    /// let params = KdfParams::argon2id(Argon2Cost::RECOMMENDED, salt, &Argon2Limits::DEFAULT)?;
    /// assert_eq!(params.argon2_cost(), Some(Argon2Cost::RECOMMENDED));
    /// let weak = Argon2Cost::new(4 * 1024, 2, 1);
    /// assert!(matches!(
    ///     KdfParams::argon2id(weak, salt, &Argon2Limits::DEFAULT),
    ///     Err(Error::Argon2ParamOutOfRange { param: "memory_kib", .. })
    /// ));
    /// let huge = Argon2Cost::new(64 * 1024 * 1024, 2, 1); // 64 GiB
    /// assert!(KdfParams::argon2id(huge, salt, &Argon2Limits::DEFAULT).is_err());
    /// # Ok::<(), credlock::crypto::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Argon2ParamOutOfRange`] naming the first parameter out of range: `lanes`
    /// (1..=[`Argon2Cost::MAX_LANES`]), `memory_kib` or `passes`.
    pub fn argon2id(cost: Argon2Cost, salt: Salt, limits: &Argon2Limits) -> Result<Self, Error> {
        check_cost(&cost, &Argon2Cost::MIN, limits)?;
        Ok(Self::argon2(cost, salt))
    }

    /// **Insecure**: Argon2id parameters with any cost from 8 KiB per lane and 1 pass up to
    /// the caps, for tests and known-answer vectors. Never use this for a real vault.
    ///
    /// # Errors
    ///
    /// [`Error::Argon2ParamOutOfRange`] as [`KdfParams::argon2id`], with the lower floor.
    pub fn insecure_argon2id(
        cost: Argon2Cost,
        salt: Salt,
        limits: &Argon2Limits,
    ) -> Result<Self, Error> {
        check_cost(&cost, &Argon2Cost::new(8, 1, 1), limits)?;
        Ok(Self::argon2(cost, salt))
    }

    const fn argon2(cost: Argon2Cost, salt: Salt) -> Self {
        Self {
            algorithm: KdfAlgorithm::Argon2id,
            iterations: cost.passes(),
            memory_kib: cost.memory_kib(),
            lanes: cost.lanes(),
            salt,
            normalization: Normalization::None,
        }
    }

    /// The same parameters with the passphrase normalised as `normalization` before hashing.
    ///
    /// ```
    /// # mod credlock { pub use credlock_crypto as crypto; }
    /// use credlock::crypto::{derive_key, KdfParams, Normalization, Salt};
    /// let raw = KdfParams::insecure_low_cost(1_000, Salt::from_bytes([1; 16]))?;
    /// let nfkc = raw.with_normalization(Normalization::Nfkc);
    /// assert_eq!(derive_key("caf\u{e9}", &nfkc)?, derive_key("cafe\u{301}", &nfkc)?);
    /// assert_ne!(derive_key("caf\u{e9}", &raw)?, derive_key("cafe\u{301}", &raw)?);
    /// # Ok::<(), credlock::crypto::Error>(())
    /// ```
    #[must_use]
    pub const fn with_normalization(self, normalization: Normalization) -> Self {
        Self {
            normalization,
            ..self
        }
    }

    /// How the passphrase is normalised before hashing.
    #[must_use]
    pub const fn normalization(&self) -> Normalization {
        self.normalization
    }

    /// The Argon2id cost, for Argon2id parameters.
    #[must_use]
    pub const fn argon2_cost(&self) -> Option<Argon2Cost> {
        match self.algorithm {
            KdfAlgorithm::Argon2id => Some(Argon2Cost::new(
                self.memory_kib,
                self.iterations,
                self.lanes,
            )),
            KdfAlgorithm::Pbkdf2HmacSha256 => None,
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

    /// The iteration count: PBKDF2's iterations, or Argon2id's passes.
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
