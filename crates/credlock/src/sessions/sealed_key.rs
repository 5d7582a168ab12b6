//! A vault key wrapped for one shared session: Fernet under a key derived from the token.
//!
//! The wrapping key is HKDF-SHA256 (RFC 5869) of the token's 256 random bits, without a
//! salt (the input is already uniform), with the info string
//! `credlock shared session key v1 ` followed by the session id: 32 bytes, used as a Fernet
//! key (HMAC-SHA256 half, AES-128-CBC half) to seal the vault's 32-byte key. The session id
//! in the info binds a wrapped key to its row: a wrapped key copied into another session's
//! row does not open there. Whoever holds the row but not the token holds a Fernet token
//! under a key with 256 bits of entropy; whoever holds the token but not the row holds
//! nothing of the vault.

use core::fmt;

use credlock_crypto::{FernetKey, KEY_LEN};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::info::SessionId;
use super::token::TokenSecret;
use crate::error::Error;

/// The info string's prefix; the session id follows.
const INFO_PREFIX: &[u8] = b"credlock shared session key v1 ";

/// The vault key of a shared session, sealed under a key only the session's token yields:
/// what a shared [`SessionStore`](super::SessionStore) keeps in the session's row, as text
/// (a Fernet token). Useless without the token. `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey(String);

impl SealedKey {
    /// A sealed key as a store reads it back.
    #[must_use]
    pub fn from_text(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The sealed key's text, as a store writes it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Seals `key` for the session `id` whose token has `secret`.
    pub(crate) fn seal(
        key: &FernetKey,
        id: &SessionId,
        secret: &TokenSecret,
    ) -> Result<Self, Error> {
        let wrapping = wrapping_key(id, secret)?;
        Ok(Self(wrapping.seal(key.expose_secret_bytes())?))
    }

    /// Opens the vault key with the token's `secret`; any failure (another token, another
    /// session's row, a tampered row) is [`Error::InvalidToken`].
    pub(crate) fn open(&self, id: &SessionId, secret: &TokenSecret) -> Result<FernetKey, Error> {
        let wrapping = wrapping_key(id, secret)?;
        let bytes = wrapping.open(&self.0).map_err(|_| Error::InvalidToken)?;
        let bytes =
            <&[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| Error::InvalidToken)?;
        Ok(FernetKey::from_bytes(bytes))
    }
}

/// HKDF-SHA256 of the token's bits, for session `id`.
fn wrapping_key(id: &SessionId, secret: &TokenSecret) -> Result<FernetKey, Error> {
    let hkdf = Hkdf::<Sha256>::new(None, secret.expose_secret_bytes());
    let mut okm = Zeroizing::new([0u8; KEY_LEN]);
    hkdf.expand_multi_info(&[INFO_PREFIX, id.as_str().as_bytes()], okm.as_mut_slice())
        .map_err(|_| Error::InvalidToken)?;
    Ok(FernetKey::from_bytes(&okm))
}

impl fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedKey(..)")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::sessions::token::SessionToken;

    #[test]
    fn only_the_token_and_the_session_open_it() {
        let key = FernetKey::generate().unwrap();
        let (_, secret) = SessionToken::generate().unwrap();
        let (_, other) = SessionToken::generate().unwrap();
        let (id, id2) = (
            SessionId::generate().unwrap(),
            SessionId::generate().unwrap(),
        );
        let sealed = SealedKey::seal(&key, &id, &secret).unwrap();
        assert!(sealed.open(&id, &secret).unwrap() == key);
        assert!(matches!(sealed.open(&id, &other), Err(Error::InvalidToken)));
        assert!(matches!(
            sealed.open(&id2, &secret),
            Err(Error::InvalidToken)
        ));
        let mut tampered = sealed.as_str().to_owned();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let tampered = SealedKey::from_text(tampered);
        assert!(tampered != sealed);
        assert!(matches!(
            tampered.open(&id, &secret),
            Err(Error::InvalidToken)
        ));
        assert_eq!(format!("{sealed:?}"), "SealedKey(..)");
    }
}
