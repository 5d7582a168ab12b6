//! Low-level primitives without the guard rails of [`KdfParams`](crate::KdfParams).
//!
//! These take any salt length, any iteration count and any output length, for known-answer
//! tests (RFC 7914 uses a 4-byte salt and one iteration) and benchmarks. Applications should
//! use [`derive_key`](crate::derive_key).

/// PBKDF2-HMAC-SHA256 of `password` and `salt` with `iterations` rounds, filling `out`.
///
/// An iteration count of 0 is treated as 1 (RFC 8018 requires a positive count).
///
/// ```
/// let mut out = [0u8; 64];
/// credlock_crypto::hazmat::pbkdf2_hmac_sha256(b"passwd", b"salt", 1, &mut out);
/// assert_eq!(&out[..4], &[0x55, 0xac, 0x04, 0x6e]); // RFC 7914 section 11
/// ```
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations.max(1), out);
}
