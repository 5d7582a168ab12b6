//! Passphrase to key: PBKDF2-HMAC-SHA256.

use crate::error::Error;
use crate::key::FernetKey;
use crate::params::KdfParams;

/// Derives the vault key from a passphrase.
///
/// The passphrase is hashed as its exact UTF-8 bytes, with no Unicode normalisation, as
/// Python's `passphrase.encode("utf-8")` does: the NFC and NFD spellings of "Pässwörd" give
/// different keys. The 32-byte output is the Fernet key (bytes 0..16 sign, 16..32 encrypt).
///
/// ```
/// use credlock_crypto::{derive_key, KdfParams, Salt};
/// let params = KdfParams::insecure_low_cost(1_000, Salt::from_bytes([1; 16]))?;
/// let key = derive_key("correct horse battery staple", &params)?;
/// assert_eq!(key, derive_key("correct horse battery staple", &params)?);
/// assert_ne!(key, derive_key("Correct horse battery staple", &params)?);
/// # Ok::<(), credlock_crypto::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::EmptyPassphrase`] for an empty passphrase.
///
/// # Security
///
/// This takes `params.iterations()` HMAC computations in series (about a quarter of a second
/// at the recommended 480,000); its cost is the vault's whole defence against guessing.
pub fn derive_key(passphrase: &str, params: &KdfParams) -> Result<FernetKey, Error> {
    derive_key_from_bytes(passphrase.as_bytes(), params)
}

/// Derives the vault key from a passphrase given as raw bytes.
///
/// [`derive_key`] is this function on the UTF-8 bytes of a `&str`.
///
/// # Errors
///
/// [`Error::EmptyPassphrase`] for an empty passphrase.
pub fn derive_key_from_bytes(passphrase: &[u8], params: &KdfParams) -> Result<FernetKey, Error> {
    if passphrase.is_empty() {
        return Err(Error::EmptyPassphrase);
    }
    let mut key = FernetKey::zeroed();
    crate::hazmat::pbkdf2_hmac_sha256(
        passphrase,
        params.salt().as_bytes(),
        params.iterations(),
        key.bytes_mut(),
    );
    Ok(key)
}
