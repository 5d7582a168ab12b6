//! **Insecure** entry points that take the time and the IV from the caller.
//!
//! They exist for known-answer vectors and tests, which need byte-exact tokens and a fixed
//! clock. A reused IV or a made-up timestamp weakens every token sealed with it, and a
//! caller-chosen "now" defeats TTL checks: real code uses [`FernetKey::seal`],
//! [`FernetKey::open`] and [`FernetKey::open_with_ttl`].

use zeroize::Zeroizing;

use crate::error::Error;
use crate::fernet::TimeCheck;
use crate::key::FernetKey;

/// Seals with a caller-chosen timestamp (Unix seconds) and IV, like pyca's private
/// `Fernet._encrypt_from_parts`. **Never reuse an IV under one key.**
///
/// ```
/// use credlock_crypto::{FernetKey, insecure};
/// let key = FernetKey::from_base64url("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")?;
/// let iv = core::array::from_fn(|i| i as u8);
/// let token = insecure::seal_with_time_and_iv(&key, b"hello", 499_162_800, &iv);
/// assert_eq!(token, "gAAAAAAdwJ6wAAECAwQFBgcICQoLDA0ODy021cpGVWKZ_eEwCGM4BLLF_5CV9dOPmrhuVUPgJobwOz7JcbmrR64jVmpU4IwqDA==");
/// # Ok::<(), credlock_crypto::Error>(())
/// ```
#[must_use]
pub fn seal_with_time_and_iv(
    key: &FernetKey,
    plaintext: &[u8],
    timestamp: u64,
    iv: &[u8; 16],
) -> String {
    key.seal_with_parts(plaintext, timestamp, iv)
}

/// Opens a token at a caller-chosen time, like pyca's `Fernet.decrypt_at_time(token, ttl,
/// now)`: with `Some(ttl)`, the token must satisfy `timestamp + ttl >= now` and
/// `now + 60 >= timestamp`; with `None` no time check is made, as in
/// [`FernetKey::open`].
///
/// # Errors
///
/// [`Error::InvalidToken`] for any token that does not open, or fails the time check.
pub fn open_at_time(
    key: &FernetKey,
    token: &str,
    ttl: Option<u64>,
    now: u64,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    key.open_checked(token, ttl.map(|ttl| TimeCheck { ttl, now }))
}
