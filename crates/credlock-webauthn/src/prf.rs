//! The PRF extension: the salts the server sends and the outputs it gets back.

use core::fmt;

use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// The PRF inputs for one assertion: the slot's current salt (`first`) and, to rotate, the
/// next one (`second`). They are not secret: store them beside the wrapped key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PrfSalts {
    /// The salt whose output unwraps the key now (`prf.eval.first`).
    pub first: [u8; 32],
    /// The salt whose output will wrap it next (`prf.eval.second`), if any.
    pub second: Option<[u8; 32]>,
}

impl PrfSalts {
    /// The salts for one assertion.
    ///
    /// ```
    /// use credlock_webauthn::PrfSalts;
    /// let salts = PrfSalts::new([1; 32], Some([2; 32]));
    /// assert_eq!(salts.second, Some([2; 32]));
    /// ```
    #[must_use]
    pub fn new(first: [u8; 32], second: Option<[u8; 32]>) -> Self {
        Self { first, second }
    }
}

/// The PRF outputs of a verified assertion: 32 bytes per salt, kept in zeroize-on-drop
/// memory, with a redacted `Debug`. Only [`verify_assertion`](crate::verify_assertion)
/// makes them, and only for an assertion it verified.
///
/// # Security
/// The browser computes these from the authenticator's `hmac-secret` output and puts them in
/// `clientExtensionResults`, which the authenticator does not sign: a verified assertion
/// proves the authenticator took part, not that the outputs are the authenticator's. Use
/// them only as key material whose misuse fails closed (unwrapping a key with an
/// authenticated cipher), never as a proof on their own.
#[non_exhaustive]
pub struct PrfOutputs {
    /// The output for [`PrfSalts::first`].
    pub first: Zeroizing<[u8; 32]>,
    /// The output for [`PrfSalts::second`], when the browser returned one.
    pub second: Option<Zeroizing<[u8; 32]>>,
}

impl fmt::Debug for PrfOutputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrfOutputs")
            .field("first", &"[redacted]")
            .field("second", &self.second.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The salt that the browser hands the authenticator's `hmac-secret` extension for a PRF
/// input: SHA-256(`"WebAuthn PRF"` ‖ 0x00 ‖ `input`) (WebAuthn Level 3, §10.1.4). The
/// authenticator's output is HMAC-SHA256(its per-credential secret, this salt), so a PRF
/// output never equals an `hmac-secret` output for the same bytes used directly.
///
/// ```
/// let salt = credlock_webauthn::hmac_secret_salt(&[0; 32]);
/// assert_ne!(salt, [0; 32]);
/// ```
#[must_use]
pub fn hmac_secret_salt(input: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"WebAuthn PRF");
    hash.update([0]);
    hash.update(input);
    hash.finalize().into()
}
