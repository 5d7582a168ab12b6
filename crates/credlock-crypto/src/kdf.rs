//! Passphrase to key: PBKDF2-HMAC-SHA256 or Argon2id.

use crate::error::Error;
use crate::key::FernetKey;
use crate::params::KdfParams;

/// Derives the vault key from a passphrase.
///
/// The passphrase is normalised as `params.normalization()` says, then hashed as UTF-8 bytes
/// with `params.algorithm()`. With [`Normalization::None`](crate::Normalization::None) (the
/// default, as Python's `passphrase.encode("utf-8")` hashes) the NFC and NFD spellings of
/// "Pässwörd" give different keys; with [`Normalization::Nfkc`](crate::Normalization::Nfkc)
/// they give the same key. The 32-byte output is the Fernet key (bytes 0..16 sign, 16..32
/// encrypt).
///
/// ```
/// # mod credlock { pub use credlock_crypto as crypto; }
/// use credlock::crypto::{derive_key, KdfParams, Salt};
/// let params = KdfParams::insecure_low_cost(1_000, Salt::from_bytes([1; 16]))?;
/// let key = derive_key("correct horse battery staple", &params)?;
/// assert_eq!(key, derive_key("correct horse battery staple", &params)?);
/// assert_ne!(key, derive_key("Correct horse battery staple", &params)?);
/// # Ok::<(), credlock::crypto::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::EmptyPassphrase`] for an empty passphrase; for Argon2id,
/// [`Error::Argon2OutOfMemory`] if its memory cannot be allocated.
///
/// # Security
///
/// PBKDF2 takes `params.iterations()` HMAC computations in series (about a quarter of a
/// second at the recommended 480,000); Argon2id allocates and fills its memory cost. This
/// cost is the vault's whole defence against guessing.
pub fn derive_key(passphrase: &str, params: &KdfParams) -> Result<FernetKey, Error> {
    let text = params.normalization().apply(passphrase);
    derive_raw(text.as_bytes(), params)
}

/// Derives the vault key from a passphrase given as raw bytes.
///
/// Bytes that are UTF-8 are normalised as in [`derive_key`]; other bytes are not text and
/// are hashed as they are.
///
/// # Errors
///
/// As [`derive_key`].
pub fn derive_key_from_bytes(passphrase: &[u8], params: &KdfParams) -> Result<FernetKey, Error> {
    match core::str::from_utf8(passphrase) {
        Ok(text) => derive_key(text, params),
        Err(_) => derive_raw(passphrase, params),
    }
}

pub(crate) fn derive_raw(passphrase: &[u8], params: &KdfParams) -> Result<FernetKey, Error> {
    if passphrase.is_empty() {
        return Err(Error::EmptyPassphrase);
    }
    let mut key = FernetKey::zeroed();
    match params.argon2_cost() {
        None => crate::hazmat::pbkdf2_hmac_sha256(
            passphrase,
            params.salt().as_bytes(),
            params.iterations(),
            key.bytes_mut(),
        ),
        Some(cost) => {
            crate::argon2id::derive(passphrase, params.salt().as_bytes(), &cost, key.bytes_mut())?
        }
    }
    Ok(key)
}
