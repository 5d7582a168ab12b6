//! The 32-byte Fernet key.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use secrecy::SecretString;
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, fill_random};

/// Length of a Fernet key in bytes.
pub const KEY_LEN: usize = 32;

/// A Fernet key: bytes 0..16 sign (HMAC-SHA256), bytes 16..32 encrypt (AES-128-CBC).
///
/// Zeroized on drop; its `Debug` shows nothing of the key; equality is constant-time.
/// Make one with [`derive_key`](crate::derive_key) from a passphrase, or read one in the
/// padded base64url form that Python's `Fernet(key)` takes.
pub struct FernetKey {
    /// `[signing key, encryption key]`.
    halves: [[u8; 16]; 2],
}

impl FernetKey {
    /// A key from its 32 raw bytes. The caller should zeroize its own copy.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        let mut key = Self::zeroed();
        key.bytes_mut().copy_from_slice(bytes);
        key
    }

    /// A fresh random key, as Python's `Fernet.generate_key()` makes.
    ///
    /// # Errors
    ///
    /// [`Error::Random`] if the operating system's random source fails.
    pub fn generate() -> Result<Self, Error> {
        let mut key = Self::zeroed();
        fill_random(key.bytes_mut())?;
        Ok(key)
    }

    /// A key from the 44-character padded base64url text that Python's `Fernet(key)` takes.
    ///
    /// ```
    /// # mod credlock { pub use credlock_crypto as crypto; }
    /// use credlock::crypto::FernetKey;
    /// let key = FernetKey::from_base64url("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")?;
    /// assert!(FernetKey::from_base64url("not a key").is_err());
    /// # Ok::<(), credlock::crypto::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::MalformedKey`] unless the text is canonical padded base64url of 32 bytes.
    pub fn from_base64url(text: &str) -> Result<Self, Error> {
        let raw = Zeroizing::new(URL_SAFE.decode(text).map_err(|_| Error::MalformedKey)?);
        let bytes = <&[u8; KEY_LEN]>::try_from(raw.as_slice()).map_err(|_| Error::MalformedKey)?;
        Ok(Self::from_bytes(bytes))
    }

    /// The key as padded base64url text (what Python's `Fernet(key)` takes), kept secret.
    #[must_use]
    pub fn to_base64url(&self) -> SecretString {
        SecretString::from(URL_SAFE.encode(self.expose_secret_bytes()))
    }

    /// The 32 raw key bytes. Handle with care: do not log, store or copy them.
    #[must_use]
    pub fn expose_secret_bytes(&self) -> &[u8] {
        self.halves.as_flattened()
    }

    pub(crate) fn zeroed() -> Self {
        Self {
            halves: [[0; 16]; 2],
        }
    }

    /// All 32 bytes, for filling in place.
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        self.halves.as_flattened_mut()
    }

    pub(crate) fn signing_key(&self) -> &[u8; 16] {
        &self.halves[0]
    }

    pub(crate) fn encryption_key(&self) -> &[u8; 16] {
        &self.halves[1]
    }
}

impl Zeroize for FernetKey {
    fn zeroize(&mut self) {
        self.halves.as_flattened_mut().zeroize();
    }
}

impl Drop for FernetKey {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for FernetKey {}

impl PartialEq for FernetKey {
    fn eq(&self, other: &Self) -> bool {
        self.expose_secret_bytes()
            .ct_eq(other.expose_secret_bytes())
            .into()
    }
}

impl Eq for FernetKey {}

impl fmt::Debug for FernetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FernetKey([REDACTED])")
    }
}
