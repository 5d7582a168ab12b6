//! The contract: [`KeyProvider`], its identity, and the one HMAC construction every provider
//! computes.

use std::fmt;

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::ProviderError;

/// The domain string every provider puts before its input: `b"credlock key provider v1\0"`
/// (25 bytes, the trailing NUL included).
///
/// [`KeyProvider::apply`] is `HMAC-SHA256(key, DOMAIN || input)` for every provider, so the
/// same 32-byte key in a file, a keyring or an HSM gives the same output, and a key can move
/// between them without re-keying the vaults. The string separates this use of the key from
/// any other a token might be put to.
pub const DOMAIN: &[u8] = b"credlock key provider v1\0";

/// The length of a provider key and of [`KeyProvider::apply`]'s input and output.
pub const KEY_LEN: usize = 32;

/// A key provider: holds a 32-byte secret key (a pepper) and applies it to a 32-byte input.
///
/// A vault with a provider configured wraps its key under
/// `KEK = provider.apply(KDF output)`, so guessing the passphrase offline needs the provider
/// for every guess; a stolen database or backup without the provider is useless even for a
/// weak passphrase.
///
/// # Contract
///
/// - `apply(input)` is `HMAC-SHA256(key, DOMAIN || input)` ([`DOMAIN`]), deterministic, 32
///   bytes; [`reference_apply`] computes it for a key held in memory.
/// - [`identity`](KeyProvider::identity) names the provider and its key without any secret
///   (no key, no PIN): it is safe to record beside a vault.
/// - `Debug` shows no secret.
/// - Errors are [`ProviderError`]s naming the provider, never a secret.
/// - `apply` may block (a file provider answers in microseconds, an HSM in milliseconds, a
///   network HSM may hang): wrap a provider that can hang in [`WithTimeout`](crate::WithTimeout).
///
/// `credlock_keyprovider::conformance` (feature `conformance`) checks an implementation.
pub trait KeyProvider: Send + Sync + fmt::Debug {
    /// Which provider and key this is, safe to record in a vault file.
    fn identity(&self) -> ProviderIdentity;

    /// `HMAC-SHA256(key, DOMAIN || input)`.
    ///
    /// # Errors
    ///
    /// A [`ProviderError`] when the provider cannot compute it now (device removed, session
    /// lost, timed out).
    fn apply(&self, input: &[u8; KEY_LEN]) -> Result<Zeroizing<[u8; KEY_LEN]>, ProviderError>;
}

impl<P: KeyProvider + ?Sized> KeyProvider for std::sync::Arc<P> {
    fn identity(&self) -> ProviderIdentity {
        (**self).identity()
    }
    fn apply(&self, input: &[u8; KEY_LEN]) -> Result<Zeroizing<[u8; KEY_LEN]>, ProviderError> {
        (**self).apply(input)
    }
}

impl<P: KeyProvider + ?Sized> KeyProvider for Box<P> {
    fn identity(&self) -> ProviderIdentity {
        (**self).identity()
    }
    fn apply(&self, input: &[u8; KEY_LEN]) -> Result<Zeroizing<[u8; KEY_LEN]>, ProviderError> {
        (**self).apply(input)
    }
}

/// Which provider and which key: `kind` is `"file"`, `"keyring"` or `"pkcs11"` (or a
/// third-party kind), `key_id` names the key within it. No secret.
///
/// Its `Display` is `kind:key_id`, for example `pkcs11:token=credlock;key=pepper`,
/// `keyring:credlock/pepper`, `file:/run/credentials/app.service/pepper`.
///
/// # Example
///
/// ```
/// use credlock_keyprovider::ProviderIdentity;
///
/// let id = ProviderIdentity::new("pkcs11", "token=credlock;key=pepper");
/// assert_eq!(id.to_string(), "pkcs11:token=credlock;key=pepper");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ProviderIdentity {
    /// The provider's kind: `"file"`, `"keyring"`, `"pkcs11"`.
    pub kind: &'static str,
    /// The key within the provider (a path, `service/user`, `token=...;key=...`).
    pub key_id: String,
}

impl ProviderIdentity {
    /// An identity from its kind and key id.
    ///
    /// # Example
    ///
    /// ```
    /// let id = credlock_keyprovider::ProviderIdentity::new("keyring", "credlock/pepper");
    /// assert_eq!(id.kind, "keyring");
    /// ```
    #[must_use]
    pub fn new(kind: &'static str, key_id: impl Into<String>) -> Self {
        Self {
            kind,
            key_id: key_id.into(),
        }
    }
}

impl fmt::Display for ProviderIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.key_id)
    }
}

/// The provider construction for a key held in memory: `HMAC-SHA256(key, DOMAIN || input)`.
///
/// The file and keyring providers compute exactly this; a PKCS#11 token computes the same with
/// `CKM_SHA256_HMAC` inside the token.
///
/// # Example
///
/// The shared test vector (computed independently with Python's `hmac` and with
/// `openssl dgst -sha256 -mac HMAC`; see `conformance::KNOWN_ANSWER`):
///
/// ```
/// let key: [u8; 32] = core::array::from_fn(|i| i as u8); // 00 01 .. 1f
/// let input: [u8; 32] = core::array::from_fn(|i| 0x20 + i as u8); // 20 21 .. 3f
/// let out = credlock_keyprovider::reference_apply(&key, &input);
/// assert_eq!(
///     out[..4],
///     [0x35, 0x44, 0xe6, 0x43],
/// );
/// ```
#[must_use]
pub fn reference_apply(key: &[u8; KEY_LEN], input: &[u8; KEY_LEN]) -> Zeroizing<[u8; KEY_LEN]> {
    // HMAC pads a key shorter than the hash's block (64 bytes) with zeros, so the 32-byte key
    // zero-padded to a block is the same HMAC key, and needs no fallible length check.
    let mut block = Zeroizing::new([0u8; 64]);
    block[..KEY_LEN].copy_from_slice(key);
    let mut mac = Hmac::<Sha256>::new((&*block).into());
    mac.update(DOMAIN);
    mac.update(input);
    let mut out = Zeroizing::new([0u8; KEY_LEN]);
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

/// A 32-byte provider key in memory, zeroized on drop, with a redacted `Debug`.
///
/// Used by the in-process providers (file, keyring) and by setup helpers that import a key
/// into a token.
///
/// # Example
///
/// ```
/// use credlock_keyprovider::ProviderKey;
///
/// let key = ProviderKey::from_bytes([7u8; 32]);
/// assert_eq!(format!("{key:?}"), "ProviderKey([REDACTED])");
/// assert_eq!(key.expose(), &[7u8; 32]);
/// ```
pub struct ProviderKey(Zeroizing<[u8; KEY_LEN]>);

impl ProviderKey {
    /// Wraps 32 key bytes.
    ///
    /// # Example
    ///
    /// ```
    /// let _k = credlock_keyprovider::ProviderKey::from_bytes([1u8; 32]);
    /// ```
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Copies a slice that must be exactly 32 bytes long; `None` otherwise.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_keyprovider::ProviderKey;
    /// assert!(ProviderKey::from_slice(&[0u8; 32]).is_some());
    /// assert!(ProviderKey::from_slice(&[0u8; 31]).is_none());
    /// ```
    #[must_use]
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if bytes.len() != KEY_LEN {
            return None;
        }
        key.copy_from_slice(bytes);
        Some(Self(key))
    }

    /// The key bytes.
    ///
    /// # Security
    ///
    /// Do not copy them out of zeroizing memory.
    ///
    /// # Example
    ///
    /// ```
    /// let k = credlock_keyprovider::ProviderKey::from_bytes([3u8; 32]);
    /// assert_eq!(k.expose()[0], 3);
    /// ```
    #[must_use]
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// [`reference_apply`] under this key.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_keyprovider::{ProviderKey, reference_apply};
    /// let k = ProviderKey::from_bytes([3u8; 32]);
    /// assert_eq!(*k.apply(&[1u8; 32]), *reference_apply(&[3u8; 32], &[1u8; 32]));
    /// ```
    #[must_use]
    pub fn apply(&self, input: &[u8; KEY_LEN]) -> Zeroizing<[u8; KEY_LEN]> {
        reference_apply(&self.0, input)
    }
}

impl fmt::Debug for ProviderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProviderKey([REDACTED])")
    }
}
