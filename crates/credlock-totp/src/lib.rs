#![forbid(unsafe_code)]
//! TOTP codes (RFC 6238) from an MFA secret as users paste it.
//!
//! Secrets are accepted as users paste them: base32 (RFC 4648) with spaces or dashes,
//! lowercase, with or without `=` padding, or a whole `otpauth://totp/...` URI, whose
//! `algorithm` (`SHA1`, `SHA256`, `SHA512`), `digits` (6 to 8) and `period` (seconds)
//! parameters are honoured. The default is what authenticator apps and finance sites use:
//! HMAC-SHA1, 6 digits, 30 seconds. The HMAC and the truncation are `totp-rs`'s.
//!
//! Every key that OATH Toolkit's `oathtool --totp -b` and the Python `oathtool` package
//! accept gives their codes here, however short, except the empty key (an empty secret is no
//! secret): 8 base32 characters are a 5-byte key, and some services issue such keys. RFC 4226
//! asks for at least 128 bits, so a shorter key is usable but weak:
//! [`TotpSecret::is_below_rfc4226_minimum`] says so, for an application to warn. Keys longer
//! than 256 bytes are refused.
//!
//! ```
//! # mod credlock { pub use credlock_totp as totp; }
//! use std::time::{Duration, UNIX_EPOCH};
//! use credlock::totp::TotpSecret;
//! use secrecy::ExposeSecret;
//!
//! // RFC 6238 appendix B: the ASCII secret "12345678901234567890", base32-encoded.
//! let secret = TotpSecret::parse("gezd gnbv gy3t qojq gezd gnbv gy3t qojq")?;
//! let code = secret.code_at(UNIX_EPOCH + Duration::from_secs(59));
//! assert_eq!(code.code().expose_secret(), "287082");
//! assert_eq!(code.seconds_left(), 1);
//! # Ok::<(), credlock::totp::InvalidSecret>(())
//! ```

use core::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use secrecy::SecretString;
use zeroize::Zeroizing;

/// An MFA secret that is not a usable TOTP secret: what is wrong with it, never the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the MFA secret is not a usable TOTP secret ({reason})")]
pub struct InvalidSecret {
    reason: &'static str,
}

impl InvalidSecret {
    /// What is wrong with the secret, in a few words (never the secret itself).
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        self.reason
    }
}

/// The HMAC a TOTP secret uses.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TotpAlgorithm {
    /// HMAC-SHA1: the default, and what nearly every site uses.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

/// Shortest secret accepted, in bytes: any key but the empty one, as `oathtool` accepts.
const MIN_SECRET_BYTES: usize = 1;
/// The shortest key RFC 4226 (section 4, requirement R6) allows, in bits.
pub const RFC4226_MIN_KEY_BITS: usize = 128;
/// Longest secret accepted, in bytes.
const MAX_SECRET_BYTES: usize = 256;
/// Longest period accepted, in seconds.
const MAX_PERIOD: u64 = 3600;

/// A parsed TOTP secret and its parameters. Zeroized on drop; `Debug` shows only the
/// parameters.
pub struct TotpSecret {
    key: Zeroizing<Vec<u8>>,
    algorithm: TotpAlgorithm,
    digits: u8,
    period: u64,
}

impl TotpSecret {
    /// Parses a secret as a user pasted it (see the [module docs](self)).
    ///
    /// ```
    /// # mod credlock { pub use credlock_totp as totp; }
    /// use credlock::totp::{TotpAlgorithm, TotpSecret};
    ///
    /// let s = TotpSecret::parse(
    ///     "otpauth://totp/Bank:alice?secret=JBSWY3DPEHPK3PXP&algorithm=SHA256&digits=8&period=60",
    /// )?;
    /// assert_eq!((s.algorithm(), s.digits(), s.period()), (TotpAlgorithm::Sha256, 8, 60));
    /// assert!(TotpSecret::parse("not base32!").is_err());
    /// # Ok::<(), credlock::totp::InvalidSecret>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`InvalidSecret`] naming what is wrong (never the secret): not base32, empty, too
    /// long, an `otpauth` URI that is not `totp`, lacks a secret, or has an unknown
    /// algorithm, a digit count outside 6–8 or a period outside 1–3600 s.
    pub fn parse(text: &str) -> Result<Self, InvalidSecret> {
        let text = text.trim();
        if text
            .get(..10)
            .is_some_and(|p| p.eq_ignore_ascii_case("otpauth://"))
        {
            return Self::parse_uri(text);
        }
        Self::with_defaults(decode_base32(text)?)
    }

    fn with_defaults(key: Zeroizing<Vec<u8>>) -> Result<Self, InvalidSecret> {
        if key.len() < MIN_SECRET_BYTES {
            return Err(invalid("the secret is empty"));
        }
        if key.len() > MAX_SECRET_BYTES {
            return Err(invalid("the secret is too long"));
        }
        Ok(Self {
            key,
            algorithm: TotpAlgorithm::Sha1,
            digits: 6,
            period: 30,
        })
    }

    fn parse_uri(uri: &str) -> Result<Self, InvalidSecret> {
        let rest = &uri[10..];
        let kind = rest.split('/').next().unwrap_or_default();
        if !kind.eq_ignore_ascii_case("totp") {
            return Err(invalid("the otpauth URI is not a TOTP one"));
        }
        let query = rest
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or_default())
            .unwrap_or_default();
        let (mut secret, mut algorithm, mut digits, mut period) = (None, None, None, None);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value)?;
            match name.to_ascii_lowercase().as_str() {
                "secret" => secret = Some(value),
                "algorithm" => {
                    algorithm = Some(match value.to_ascii_uppercase().as_str() {
                        "SHA1" => TotpAlgorithm::Sha1,
                        "SHA256" => TotpAlgorithm::Sha256,
                        "SHA512" => TotpAlgorithm::Sha512,
                        _ => return Err(invalid("the otpauth URI names an unknown algorithm")),
                    });
                }
                "digits" => {
                    digits = Some(
                        value
                            .parse::<u8>()
                            .ok()
                            .filter(|d| (6..=8).contains(d))
                            .ok_or_else(|| invalid("the otpauth URI's digits are not 6 to 8"))?,
                    );
                }
                "period" => {
                    period = Some(
                        value
                            .parse::<u64>()
                            .ok()
                            .filter(|p| (1..=MAX_PERIOD).contains(p))
                            .ok_or_else(|| {
                                invalid("the otpauth URI's period is not 1 to 3600 seconds")
                            })?,
                    );
                }
                _ => {}
            }
        }
        let secret = secret.ok_or_else(|| invalid("the otpauth URI has no secret"))?;
        let mut parsed = Self::with_defaults(decode_base32(&secret)?)?;
        parsed.algorithm = algorithm.unwrap_or(TotpAlgorithm::Sha1);
        parsed.digits = digits.unwrap_or(6);
        parsed.period = period.unwrap_or(30);
        Ok(parsed)
    }

    /// The HMAC algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> TotpAlgorithm {
        self.algorithm
    }

    /// Digits per code (6 to 8).
    #[must_use]
    pub const fn digits(&self) -> u8 {
        self.digits
    }

    /// Seconds per code.
    #[must_use]
    pub const fn period(&self) -> u64 {
        self.period
    }

    /// The key's length in bits (8 base32 characters are 40 bits).
    ///
    /// ```
    /// # mod credlock { pub use credlock_totp as totp; }
    /// use credlock::totp::TotpSecret;
    ///
    /// assert_eq!(TotpSecret::parse("JBSWY3DP")?.key_bits(), 40);
    /// assert_eq!(TotpSecret::parse("JBSW Y3DP EHPK 3PXP")?.key_bits(), 80);
    /// # Ok::<(), credlock::totp::InvalidSecret>(())
    /// ```
    #[must_use]
    pub fn key_bits(&self) -> usize {
        self.key.len() * 8
    }

    /// Whether the key is shorter than the 128 bits RFC 4226 asks for
    /// ([`RFC4226_MIN_KEY_BITS`]). Such a key still gives the service's codes, but is easier
    /// to guess than one of 128 bits or more: an application may warn, and suggest asking the
    /// service for a new secret.
    ///
    /// ```
    /// # mod credlock { pub use credlock_totp as totp; }
    /// use credlock::totp::TotpSecret;
    ///
    /// assert!(TotpSecret::parse("JBSWY3DP")?.is_below_rfc4226_minimum());
    /// assert!(!TotpSecret::parse("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")?.is_below_rfc4226_minimum());
    /// # Ok::<(), credlock::totp::InvalidSecret>(())
    /// ```
    #[must_use]
    pub fn is_below_rfc4226_minimum(&self) -> bool {
        self.key_bits() < RFC4226_MIN_KEY_BITS
    }

    /// The code at `time`, and the seconds it stays valid. A time before 1970 counts as
    /// 1970.
    #[must_use]
    pub fn code_at(&self, time: SystemTime) -> TotpCode {
        let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let algorithm = match self.algorithm {
            TotpAlgorithm::Sha1 => totp_rs::Algorithm::SHA1,
            TotpAlgorithm::Sha256 => totp_rs::Algorithm::SHA256,
            TotpAlgorithm::Sha512 => totp_rs::Algorithm::SHA512,
        };
        // The digits and period were checked when parsing, so the RFC's checks hold.
        let totp = totp_rs::Builder::new()
            .with_algorithm(algorithm)
            .with_digits(self.digits)
            .with_step_duration(self.period)
            .with_secret(self.key.to_vec())
            .build_noncompliant();
        let code = Zeroizing::new(totp.generate(secs).to_string());
        TotpCode {
            code: SecretString::from(code.as_str()),
            seconds_left: self.period - secs % self.period,
        }
    }
}

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TotpSecret")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

/// A TOTP code and how long it stays valid.
#[derive(Debug)]
pub struct TotpCode {
    code: SecretString,
    seconds_left: u64,
}

impl TotpCode {
    /// The code's digits (kept secret: it logs someone in for the rest of its period).
    #[must_use]
    pub fn code(&self) -> &SecretString {
        &self.code
    }

    /// Seconds until the next code (1 to the period).
    #[must_use]
    pub const fn seconds_left(&self) -> u64 {
        self.seconds_left
    }
}

fn invalid(reason: &'static str) -> InvalidSecret {
    InvalidSecret { reason }
}

/// RFC 4648 base32, as pasted: spaces, tabs and dashes ignored, any case, padding optional.
fn decode_base32(text: &str) -> Result<Zeroizing<Vec<u8>>, InvalidSecret> {
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() * 5 / 8 + 1));
    let (mut buffer, mut bits, mut chars) = (0u32, 0u32, 0usize);
    let mut padding = false;
    for c in text.chars() {
        let value = match c {
            ' ' | '\t' | '\r' | '\n' | '-' => continue,
            '=' => {
                padding = true;
                continue;
            }
            _ if padding => return Err(invalid("the secret has characters after its padding")),
            'A'..='Z' => u32::from(c) - u32::from('A'),
            'a'..='z' => u32::from(c) - u32::from('a'),
            '2'..='7' => u32::from(c) - u32::from('2') + 26,
            _ => return Err(invalid("the secret is not base32")),
        };
        buffer = (buffer << 5) | value;
        bits += 5;
        chars += 1;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).unwrap_or_default());
        }
        buffer &= (1 << bits) - 1;
    }
    // A final group of 1, 3 or 6 characters cannot come from whole bytes.
    if matches!(chars % 8, 1 | 3 | 6) {
        return Err(invalid("the secret's base32 length is impossible"));
    }
    Ok(out)
}

/// Percent-decodes a URI query value (`+` stays `+`); the result must be UTF-8. Zeroized on
/// drop: it may be the secret.
fn percent_decode(value: &str) -> Result<Zeroizing<String>, InvalidSecret> {
    let bytes = value.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| invalid("the otpauth URI has a bad percent escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    match String::from_utf8(std::mem::take(&mut *out)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(e) => {
            zeroize::Zeroize::zeroize(&mut e.into_bytes());
            Err(invalid("the otpauth URI is not UTF-8"))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use secrecy::ExposeSecret as _;

    use super::*;

    #[test]
    fn base32_as_pasted() {
        let canonical = TotpSecret::parse("JBSWY3DPEHPK3PXP").unwrap();
        for variant in [
            "jbswy3dpehpk3pxp",
            "JBSW Y3DP EHPK 3PXP",
            " jbsw-y3dp-ehpk-3pxp\n",
            "JBSWY3DPEHPK3PXP======",
        ] {
            let s = TotpSecret::parse(variant).unwrap();
            assert_eq!(*s.key, *canonical.key, "{variant:?}");
        }
        assert_eq!(&**canonical.key, b"Hello!\xde\xad\xbe\xef");
    }

    #[test]
    fn bad_secrets_are_refused_with_a_reason() {
        for (bad, reason) in [
            ("", "the secret is empty"),
            ("  \t ", "the secret is empty"),
            ("========", "the secret is empty"),
            ("otpauth://totp/x?secret=", "the secret is empty"),
            ("A", "the secret's base32 length is impossible"),
            ("JBSWY3DPEHPK3PX1", "the secret is not base32"),
            (
                "JBSWY3DPEHPK3PXPA",
                "the secret's base32 length is impossible",
            ),
            (
                "JBSWY3DP==EHPK3PXP",
                "the secret has characters after its padding",
            ),
            (
                "otpauth://hotp/x?secret=JBSWY3DPEHPK3PXP",
                "the otpauth URI is not a TOTP one",
            ),
            ("otpauth://totp/x?issuer=y", "the otpauth URI has no secret"),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&algorithm=MD5",
                "the otpauth URI names an unknown algorithm",
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&digits=9",
                "the otpauth URI's digits are not 6 to 8",
            ),
            (
                "otpauth://totp/x?secret=JBSWY3DPEHPK3PXP&period=0",
                "the otpauth URI's period is not 1 to 3600 seconds",
            ),
            (
                "otpauth://totp/x?secret=%zz",
                "the otpauth URI has a bad percent escape",
            ),
        ] {
            match TotpSecret::parse(bad) {
                Err(e) => assert_eq!(e.reason(), reason, "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn secret_lengths_are_bounded_inclusively() {
        // Every 5 bytes are 8 base32 characters.
        let base32 = |bytes: usize| "A".repeat(bytes / 5 * 8);
        // One byte (2 characters) is the shortest key, as for `oathtool`.
        assert_eq!(TotpSecret::parse("AA").unwrap().key.len(), 1);
        assert_eq!(TotpSecret::parse("AA======").unwrap().key.len(), 1);
        assert_eq!(TotpSecret::parse(&base32(5)).unwrap().key.len(), 5);
        assert_eq!(TotpSecret::parse(&base32(10)).unwrap().key.len(), 10);
        assert_eq!(TotpSecret::parse(&base32(255)).unwrap().key.len(), 255);
        let too_long = TotpSecret::parse(&base32(260));
        assert!(
            matches!(&too_long, Err(e) if e.reason() == "the secret is too long"),
            "{too_long:?}"
        );
        // 256 bytes exactly: 51 groups of 5 bytes and one byte (2 characters + 6 padding).
        let at_max = format!("{}AA======", "A".repeat(51 * 8));
        assert_eq!(TotpSecret::parse(&at_max).unwrap().key.len(), 256);
        let over = format!("{}AAAA====", "A".repeat(51 * 8));
        assert!(TotpSecret::parse(&over).is_err(), "257 bytes");
    }

    #[test]
    fn short_keys_are_usable_and_flagged_below_rfc_4226() {
        for (text, bits, below) in [
            ("AA", 8, true),
            ("JBSWY3D", 32, true),
            ("JBSWY3DP", 40, true),
            ("JBSWY3DPEHPK3PX", 72, true),
            ("JBSWY3DPEHPK3PXP", 80, true),
            ("JBSWY3DPEHPK3PXPJBSWY3D", 112, true),
            ("JBSWY3DPEHPK3PXPJBSWY3DP", 120, true),
            ("JBSWY3DPEHPK3PXPJBSWY3DPEH", 128, false),
            ("otpauth://totp/x?secret=JBSWY3DP", 40, true),
        ] {
            let s = TotpSecret::parse(text).unwrap();
            assert_eq!(
                (s.key_bits(), s.is_below_rfc4226_minimum()),
                (bits, below),
                "{text}"
            );
        }
    }

    #[test]
    fn uri_parameters_are_honoured() {
        let s = TotpSecret::parse(
            "OTPAUTH://TOTP/Example:alice%40example.com?SECRET=jbswy3dpehpk3pxp%3D%3D%3D&issuer=Example&period=60&digits=8&algorithm=sha512",
        )
        .unwrap();
        assert_eq!(s.algorithm(), TotpAlgorithm::Sha512);
        assert_eq!((s.digits(), s.period()), (8, 60));
        assert_eq!(&**s.key, b"Hello!\xde\xad\xbe\xef");
        let code = s.code_at(UNIX_EPOCH + Duration::from_secs(125));
        assert_eq!(code.code().expose_secret().len(), 8);
        assert_eq!(code.seconds_left(), 55);
    }

    #[test]
    fn debug_shows_no_secret() {
        let s = TotpSecret::parse("JBSWY3DPEHPK3PXP").unwrap();
        let code = s.code_at(UNIX_EPOCH);
        let shown = format!("{s:?}{code:?}");
        assert!(!shown.contains("JBSW") && !shown.contains(code.code().expose_secret()));
        assert_eq!(
            format!("{s:?}"),
            "TotpSecret { algorithm: Sha1, digits: 6, period: 30, .. }"
        );
    }

    #[test]
    fn every_base32_letter_and_digit_decodes() {
        // RFC 4648's alphabet in order (checked against Python's base64.b32decode).
        let key = decode_base32("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567").unwrap();
        let want: [u8; 20] = [
            0x00, 0x44, 0x32, 0x14, 0xc7, 0x42, 0x54, 0xb6, 0x35, 0xcf, 0x84, 0x65, 0x3a, 0x56,
            0xd7, 0xc6, 0x75, 0xbe, 0x77, 0xdf,
        ];
        assert_eq!(*key, want);
        let lower = decode_base32("abcdefghijklmnopqrstuvwxyz234567").unwrap();
        assert_eq!(*lower, want);
    }

    #[test]
    fn percent_escapes_decode_wherever_they_are() {
        assert_eq!(percent_decode("%41b%42c%43").unwrap().as_str(), "AbBcC");
        assert_eq!(percent_decode("a%2Bb+c").unwrap().as_str(), "a+b+c");
        assert_eq!(
            percent_decode("alice%40example.com").unwrap().as_str(),
            "alice@example.com"
        );
        for bad in ["%", "%4", "a%zz", "%C3"] {
            assert!(percent_decode(bad).is_err(), "{bad:?}");
        }
    }
}
