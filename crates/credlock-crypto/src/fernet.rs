//! Fernet tokens, exactly as the spec and Python's `cryptography` make and check them.
//!
//! A token is padded base64url of
//! `0x80 | timestamp (u64 big-endian) | IV (16) | AES-128-CBC-PKCS7 ciphertext | HMAC-SHA256 (32)`,
//! the HMAC covering everything before it. Opening verifies the HMAC in constant time before
//! anything is decrypted.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt as _, BlockModeEncrypt as _, KeyInit as _, KeyIvInit as _};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::URL_SAFE;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::{Error, fill_random};
use crate::key::FernetKey;

const VERSION: u8 = 0x80;
const IV_LEN: usize = 16;
const BLOCK_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 8 + IV_LEN;
const MAC_LEN: usize = 32;
/// How far in the future a token's timestamp may be when a TTL is checked (pyca's
/// `_MAX_CLOCK_SKEW`).
const MAX_CLOCK_SKEW_SECS: u64 = 60;

/// How a token's text is decoded: padded base64url, as the spec has it, but like Python's
/// `base64.urlsafe_b64decode` (which pyca's `Fernet` uses) the unused low bits of the last
/// character are ignored rather than refused. A token credlock writes is always canonical;
/// the leniency only means that every token pyca opens, credlock opens too. It cannot open
/// anything pyca would not: the HMAC covers the decoded bytes, which the unused bits are not
/// part of. (Characters outside the base64url alphabet, which Python skips, are still
/// refused: see the crate docs.)
const TOKEN_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

type Aes128CbcEnc = cbc::Encryptor<aes::Aes128>;
type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

/// A time check asked for by the caller: the token must be at most `ttl` seconds old at
/// `now`, and at most 60 seconds in the future.
#[derive(Clone, Copy)]
pub(crate) struct TimeCheck {
    pub(crate) ttl: u64,
    pub(crate) now: u64,
}

impl FernetKey {
    /// Seals `plaintext` into a Fernet token with a fresh random IV and the current time.
    ///
    /// ```
    /// # mod credlock { pub use credlock_crypto as crypto; }
    /// use credlock::crypto::FernetKey;
    /// let key = FernetKey::generate()?;
    /// let token = key.seal(b"hello")?;
    /// assert!(token.starts_with("gAAAAA"));
    /// assert_eq!(key.open(&token)?.as_slice(), b"hello");
    /// # Ok::<(), credlock::crypto::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Random`] if the random source fails, [`Error::ClockBeforeEpoch`] if the clock
    /// reads a time before 1970.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, Error> {
        let mut iv = [0u8; IV_LEN];
        fill_random(&mut iv)?;
        Ok(self.seal_with_parts(plaintext, unix_now()?, &iv))
    }

    /// Opens a token with no time check, as Python's `Fernet.decrypt(token)` does.
    ///
    /// This is how stored credentials are opened: a clock that stepped back (or a token
    /// sealed on a machine whose clock ran ahead) never locks the user out.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`] for a wrong key or a malformed, truncated or tampered token.
    pub fn open(&self, token: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
        self.open_checked(token, None)
    }

    /// Opens a token that must be at most `ttl` old by the system clock, and at most
    /// 60 seconds in the future, as Python's `Fernet.decrypt(token, ttl)` does.
    ///
    /// ```
    /// # mod credlock { pub use credlock_crypto as crypto; }
    /// use std::time::Duration;
    /// use credlock::crypto::FernetKey;
    /// let key = FernetKey::generate()?;
    /// let token = key.seal(b"one-time code")?;
    /// assert!(key.open_with_ttl(&token, Duration::from_secs(300)).is_ok());
    /// # Ok::<(), credlock::crypto::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`] as for [`FernetKey::open`], and for an expired token or one
    /// from too far in the future; [`Error::ClockBeforeEpoch`] if the clock reads before 1970.
    pub fn open_with_ttl(&self, token: &str, ttl: Duration) -> Result<Zeroizing<Vec<u8>>, Error> {
        let check = TimeCheck {
            ttl: ttl.as_secs(),
            now: unix_now()?,
        };
        self.open_checked(token, Some(check))
    }

    pub(crate) fn seal_with_parts(
        &self,
        plaintext: &[u8],
        timestamp: u64,
        iv: &[u8; IV_LEN],
    ) -> String {
        let token = self.seal_inner(plaintext, timestamp, iv);
        scrub_stack();
        token
    }

    fn seal_inner(&self, plaintext: &[u8], timestamp: u64, iv: &[u8; IV_LEN]) -> String {
        let ciphertext = Aes128CbcEnc::new(self.encryption_key().into(), iv.into())
            .encrypt_padded_vec::<Pkcs7>(plaintext);
        let mut data = Vec::with_capacity(HEADER_LEN + ciphertext.len() + MAC_LEN);
        data.push(VERSION);
        data.extend_from_slice(&timestamp.to_be_bytes());
        data.extend_from_slice(iv);
        data.extend_from_slice(&ciphertext);
        let mut mac = self.hmac();
        mac.update(&data);
        data.extend_from_slice(&mac.finalize().into_bytes());
        URL_SAFE.encode(data)
    }

    pub(crate) fn open_checked(
        &self,
        token: &str,
        check: Option<TimeCheck>,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let opened = self.open_inner(token, check);
        scrub_stack();
        opened
    }

    fn open_inner(
        &self,
        token: &str,
        check: Option<TimeCheck>,
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let data = TOKEN_BASE64
            .decode(token.as_bytes())
            .map_err(|_| Error::InvalidToken)?;
        // Version, timestamp, IV, at least one ciphertext block, HMAC.
        if data.len() < HEADER_LEN + BLOCK_LEN + MAC_LEN || data.first() != Some(&VERSION) {
            return Err(Error::InvalidToken);
        }
        let (signed, tag) = data.split_at(data.len() - MAC_LEN);
        let (header, ciphertext) = signed.split_at(HEADER_LEN);
        let (timestamp, iv) = header[1..].split_at(8);
        let timestamp = u64::from_be_bytes(timestamp.try_into().map_err(|_| Error::InvalidToken)?);
        if let Some(TimeCheck { ttl, now }) = check {
            // In u128 so that no timestamp, TTL or clock value can overflow.
            let (timestamp, ttl, now) = (u128::from(timestamp), u128::from(ttl), u128::from(now));
            if timestamp + ttl < now || now + u128::from(MAX_CLOCK_SKEW_SECS) < timestamp {
                return Err(Error::InvalidToken);
            }
        }
        let mut mac = self.hmac();
        mac.update(signed);
        // Constant-time comparison (`subtle` inside `verify_slice`).
        mac.verify_slice(tag).map_err(|_| Error::InvalidToken)?;
        if ciphertext.len() % BLOCK_LEN != 0 {
            return Err(Error::InvalidToken);
        }
        let iv: &[u8; IV_LEN] = iv.try_into().map_err(|_| Error::InvalidToken)?;
        Aes128CbcDec::new(self.encryption_key().into(), iv.into())
            .decrypt_padded_vec::<Pkcs7>(ciphertext)
            .map(Zeroizing::new)
            .map_err(|_| Error::InvalidToken)
    }

    /// HMAC-SHA256 keyed with the signing half. HMAC zero-pads a short key to the 64-byte
    /// block (RFC 2104), so padding it here is the same key and makes keying infallible. The
    /// padded key is passed by reference from a zeroizing buffer, never as a temporary.
    fn hmac(&self) -> Hmac<Sha256> {
        let mut block = Zeroizing::new([0u8; 64]);
        block[..16].copy_from_slice(self.signing_key());
        Hmac::<Sha256>::new((&*block).into())
    }
}

/// Bytes of stack overwritten after each seal and open.
const SCRUB_BYTES: usize = 16 * 1024;

/// Overwrites the stack below the caller, where the cipher's and the MAC's frames were.
///
/// The AES key schedule, the CBC mode and the HMAC keying are the dependencies' code: their
/// states are zeroized on drop (the `zeroize` features of `aes`, `cbc` and `hmac`), but the
/// copies their frames and moves leave on the stack (16-byte round keys; HMAC's padded key
/// XOR the pad) are not. A zeroized buffer as large as those frames, in a frame of its own
/// just below the caller's, overwrites them.
#[inline(never)]
fn scrub_stack() {
    let mut scratch = [0xa5u8; SCRUB_BYTES];
    core::hint::black_box(&mut scratch);
    zeroize::Zeroize::zeroize(&mut scratch);
    core::hint::black_box(&scratch);
}

fn unix_now() -> Result<u64, Error> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| Error::ClockBeforeEpoch)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    /// The token with the unused low bits of its last base64 character set (a 73-byte token
    /// ends in `XY==`: `Y` carries 4 unused bits).
    fn non_canonical(token: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let (head, tail) = token.split_at(token.len() - 3);
        let last = tail.as_bytes()[0];
        let index = ALPHABET.iter().position(|&c| c == last).unwrap();
        let changed = char::from(ALPHABET[index | 1]);
        format!("{head}{changed}{}", &tail[1..])
    }

    #[test]
    fn a_token_with_non_zero_unused_bits_opens_as_pyca_opens_it() {
        let key = FernetKey::from_bytes(&[7; 32]);
        let token = key.seal_with_parts(b"hello", 1_767_225_600, &[0xa0; IV_LEN]);
        assert!(token.ends_with("=="), "{token}");
        let lenient = non_canonical(&token);
        assert_ne!(lenient, token);
        assert_eq!(key.open(&token).unwrap().as_slice(), b"hello");
        assert_eq!(key.open(&lenient).unwrap().as_slice(), b"hello");
        // Still padded, still base64url.
        assert!(key.open(token.trim_end_matches('=')).is_err());
        assert!(key.open(&format!("{token}\n")).is_err());
    }
}
