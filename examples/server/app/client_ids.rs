//! Client ids: the cookie that binds a pending login to the browser that started it.
//!
//! The server issues them and recognises only its own. An id is 128 random bits followed by
//! the first 128 bits of their HMAC-SHA256 under a key this process draws when it starts
//! (43 characters of unpadded base64url), so an id the server never issued (planted in a
//! victim's browser, or made up) is refused and replaced, and no table of issued ids grows
//! with the clients that ask. A restart draws a new key: the ids of the old process are
//! refused, as its pending logins are gone anyway.
//!
//! `/auth/login` replaces the client's id with a new one and binds the pending login to it,
//! so whoever planted an id before the login (a valid one, fetched from this server) does
//! not hold the id that names the pending slot.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Random bytes in an id, and bytes of its tag.
const ID_BYTES: usize = 16;
const TAG_BYTES: usize = 16;
/// The length of an id in unpadded base64url.
const ENCODED_LEN: usize = 43;

/// Issues client ids and checks that one was issued here.
pub(crate) struct ClientIds {
    key: Zeroizing<[u8; 32]>,
}

impl fmt::Debug for ClientIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientIds([REDACTED])")
    }
}

impl ClientIds {
    /// A new key from the operating system's random source.
    pub(crate) fn new() -> Result<Self, getrandom::Error> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut_slice())?;
        Ok(Self { key })
    }

    fn mac(&self, random: &[u8]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256>>::new_from_slice(self.key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
        mac.update(b"credlock server client id v1 ");
        mac.update(random);
        mac
    }

    /// A new id, or `None` if the random source fails.
    pub(crate) fn issue(&self) -> Option<String> {
        let mut bytes = [0u8; ID_BYTES + TAG_BYTES];
        getrandom::fill(&mut bytes[..ID_BYTES]).ok()?;
        let tag = self.mac(&bytes[..ID_BYTES]).finalize().into_bytes();
        bytes[ID_BYTES..].copy_from_slice(&tag[..TAG_BYTES]);
        Some(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// `value`, if it is an id this process issued (the tag is compared in constant time).
    pub(crate) fn verify<'a>(&self, value: &'a str) -> Option<&'a str> {
        if value.len() != ENCODED_LEN {
            return None;
        }
        let mut bytes = [0u8; ID_BYTES + TAG_BYTES];
        match URL_SAFE_NO_PAD.decode_slice(value.as_bytes(), &mut bytes) {
            Ok(n) if n == bytes.len() => {}
            _ => return None,
        }
        self.mac(&bytes[..ID_BYTES])
            .verify_truncated_left(&bytes[ID_BYTES..])
            .ok()
            .map(|()| value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ids_issued_by_this_key_are_recognised() {
        let ids = ClientIds::new().unwrap();
        let other = ClientIds::new().unwrap();
        let id = ids.issue().unwrap();
        assert_eq!(id.len(), ENCODED_LEN);
        assert_eq!(ids.verify(&id), Some(id.as_str()));
        assert_ne!(ids.issue().unwrap(), id);
        assert_eq!(other.verify(&id), None, "another process's key");
        // Well formed (43 base64url characters) but never issued.
        assert_eq!(ids.verify(&"A".repeat(43)), None);
        let mut altered = id.clone().into_bytes();
        altered[0] = if altered[0] == b'A' { b'B' } else { b'A' };
        assert_eq!(ids.verify(std::str::from_utf8(&altered).unwrap()), None);
        assert_eq!(ids.verify(""), None);
        assert_eq!(ids.verify(&format!("{id}=")), None);
        assert_eq!(format!("{ids:?}"), "ClientIds([REDACTED])");
    }
}
