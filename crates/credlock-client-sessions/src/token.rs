//! Session tokens: 256 random bits shown once, and the SHA-256 digest kept in their place.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// The prefix of every session token, so that leaked tokens are easy to recognise (in logs,
/// by secret scanners).
pub const TOKEN_PREFIX: &str = "clk_";

/// Random bytes in a token.
const TOKEN_BYTES: usize = 32;
/// Characters of the base64url (unpadded) encoding of [`TOKEN_BYTES`].
const ENCODED_LEN: usize = 43;

/// A session token as handed to a client: `clk_` and 43 base64url characters (256 random
/// bits). Returned once by `credlock::Vault::mint_session` and
/// `credlock::Vault::rotate_session`; the vault keeps only its
/// SHA-256 digest, so a lost token cannot be shown again. Zeroized on drop; `Debug` shows
/// nothing of it.
pub struct SessionToken(SecretString);

impl SessionToken {
    /// A fresh random token and its secret bytes, the 256 bits from `fill` (the caller's
    /// random source).
    ///
    /// # Errors
    ///
    /// The random source's error.
    pub fn generate<E>(
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<(Self, TokenSecret), E> {
        let mut secret = TokenSecret(Zeroizing::new([0u8; TOKEN_BYTES]));
        fill(secret.0.as_mut_slice())?;
        let mut text = Zeroizing::new(String::with_capacity(TOKEN_PREFIX.len() + ENCODED_LEN));
        text.push_str(TOKEN_PREFIX);
        URL_SAFE_NO_PAD.encode_string(secret.0.as_slice(), &mut text);
        Ok((Self(SecretString::from(text.as_str())), secret))
    }

    /// The token text, to hand to the client once (a cookie, an `Authorization` header).
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken([REDACTED])")
    }
}

/// The 256 secret bits of a token, for a [`SessionStore`](crate::SessionStore) that keeps
/// something under a key derived from the token (see the trait's docs). Zeroized on drop;
/// `Debug` shows nothing of it.
pub struct TokenSecret(Zeroizing<[u8; TOKEN_BYTES]>);

impl TokenSecret {
    /// Parses a token as a client presents it. Anything but `clk_` and 43 canonical
    /// base64url characters is `None`.
    ///
    /// ```
    /// # mod credlock { pub use credlock_client_sessions as sessions; }
    /// use credlock::sessions::TokenSecret;
    /// let secret = TokenSecret::parse("clk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    /// assert_eq!(secret.expose_secret_bytes(), &[0u8; 32]);
    /// assert!(TokenSecret::parse("clk_AAAA").is_none());
    /// ```
    #[must_use]
    pub fn parse(token: &str) -> Option<Self> {
        let encoded = token.strip_prefix(TOKEN_PREFIX)?;
        if encoded.len() != ENCODED_LEN {
            return None;
        }
        let mut secret = Self(Zeroizing::new([0u8; TOKEN_BYTES]));
        match URL_SAFE_NO_PAD.decode_slice(encoded.as_bytes(), secret.0.as_mut_slice()) {
            Ok(TOKEN_BYTES) => Some(secret),
            _ => None,
        }
    }

    /// The token's 32 random bytes. Handle with care: never log or store them.
    #[must_use]
    pub fn expose_secret_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The digest the vault keeps in the token's place: SHA-256 of the 32 bytes.
    #[must_use]
    pub fn digest(&self) -> TokenDigest {
        TokenDigest(Sha256::digest(self.0.as_slice()).into())
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret([REDACTED])")
    }
}

/// The SHA-256 digest of a session token: what a [`SessionStore`](crate::SessionStore)
/// keeps. Compared in constant time; `Debug` shows nothing of it.
#[derive(Clone, Copy)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// A digest from its 32 bytes (as a store reads it back).
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest's 32 bytes (as a store writes it).
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time equality.
    #[must_use]
    pub fn ct_eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_token_parses_back_to_its_secret() {
        let (token, secret) = SessionToken::generate(getrandom::fill).unwrap();
        let text = token.expose_secret();
        assert!(text.starts_with("clk_"));
        assert_eq!(text.len(), 4 + 43);
        let parsed = TokenSecret::parse(text).unwrap();
        assert!(parsed.digest().ct_eq(&secret.digest()));
        assert!(!format!("{token:?}{secret:?}").contains(&text[4..]));
    }

    #[test]
    fn digests_compare_equal_only_when_every_byte_is() {
        let (_, secret) = SessionToken::generate(getrandom::fill).unwrap();
        let digest = secret.digest();
        assert!(digest.ct_eq(&TokenDigest::from_bytes(*digest.as_bytes())));
        for i in [0, 15, 31] {
            let mut bytes = *digest.as_bytes();
            bytes[i] ^= 1;
            assert!(!digest.ct_eq(&TokenDigest::from_bytes(bytes)), "byte {i}");
        }
    }

    #[test]
    fn debug_redacts_every_part() {
        let (token, secret) = SessionToken::generate(getrandom::fill).unwrap();
        assert_eq!(format!("{token:?}"), "SessionToken([REDACTED])");
        assert_eq!(format!("{secret:?}"), "TokenSecret([REDACTED])");
        assert_eq!(format!("{:?}", secret.digest()), "TokenDigest(..)");
    }

    #[test]
    fn malformed_tokens_are_none() {
        let (token, _) = SessionToken::generate(getrandom::fill).unwrap();
        let text = token.expose_secret();
        for bad in [
            "",
            "clk_",
            &text[4..],
            &text[..text.len() - 1],
            &format!("{text}A"),
            &format!("xyz_{}", &text[4..]),
            &format!("{}+", &text[..text.len() - 1]),
        ] {
            assert!(TokenSecret::parse(bad).is_none(), "{bad:?}");
        }
    }
}
