//! Signed webhooks: security events POSTed as JSON to another service, which checks that
//! they come from the holder of a shared secret and are fresh.
//!
//! The sender signs `"{timestamp}.{body}"` with HMAC-SHA256 under the shared secret and sends
//! two headers beside the JSON body: [`TIMESTAMP_HEADER`] (Unix seconds) and
//! [`SIGNATURE_HEADER`] (`sha256=` and 64 lowercase hex digits). Binding the timestamp into
//! the MAC stops an attacker from replaying an old delivery with a new time; the receiver's
//! [`verify`] rejects a bad signature ([`AuditError::WebhookBadSignature`]) and a timestamp
//! outside its tolerance ([`AuditError::WebhookStale`]), comparing MACs in constant time.
//!
//! A receiver in any language computes the same thing; in Python:
//! `hmac.new(secret, f"{ts}.".encode() + body, hashlib.sha256).hexdigest()`.
//!
//! A replay of a delivery within the tolerance passes this check. [`v2`] signs a unique
//! event id with the timestamp and body, so that a receiver can also refuse those; it uses
//! other headers, and the functions here are unchanged for senders and receivers of this
//! version.
//!
//! ```
//! # mod credlock { pub use credlock_audit as audit; }
//! use std::time::{Duration, UNIX_EPOCH};
//! use credlock::audit::AuditError;
//! use credlock::audit::webhook::{self, WebhookSecret};
//!
//! let secret = WebhookSecret::new(b"whsec-0123456789abcdef".to_vec())?;
//! let body = br#"{"kind":"lockout_started"}"#;
//! let signature = webhook::sign(&secret, 1_764_157_361, body);
//! assert_eq!(
//!     signature,
//!     "sha256=3bfc2073b0efe25295a76b85fe3ee82c7a64f0f5bd9b000280114f7490444373"
//! );
//!
//! // The receiver: the headers as received, its own clock, its tolerance.
//! let now = UNIX_EPOCH + Duration::from_secs(1_764_157_400);
//! let tolerance = webhook::DEFAULT_TOLERANCE;
//! webhook::verify(&secret, "1764157361", &signature, body, now, tolerance)?;
//! assert!(matches!(
//!     webhook::verify(&secret, "1764157361", &signature, b"{}", now, tolerance),
//!     Err(AuditError::WebhookBadSignature)
//! ));
//! let an_hour_later = now + Duration::from_secs(3_600);
//! assert!(matches!(
//!     webhook::verify(&secret, "1764157361", &signature, body, an_hour_later, tolerance),
//!     Err(AuditError::WebhookStale { .. })
//! ));
//! # Ok::<(), AuditError>(())
//! ```

use core::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::AuditError;

pub mod v2;

/// The header carrying the signing time, in decimal Unix seconds.
pub const TIMESTAMP_HEADER: &str = "X-Credlock-Timestamp";
/// The header carrying the signature: `sha256=` and 64 lowercase hex digits.
pub const SIGNATURE_HEADER: &str = "X-Credlock-Signature";
/// How far from the receiver's clock a timestamp may be by default: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);
/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

const PREFIX: &str = "sha256=";

/// The secret shared by a webhook's sender and receiver. Zeroized on drop; its `Debug`
/// shows nothing of it.
pub struct WebhookSecret {
    key: Zeroizing<Vec<u8>>,
}

impl WebhookSecret {
    /// A secret from its bytes (read from a file the operator made, say, with any trailing
    /// line ending removed by the caller).
    ///
    /// # Errors
    ///
    /// [`AuditError::WebhookSecretTooShort`] below [`MIN_SECRET_BYTES`].
    pub fn new(key: Vec<u8>) -> Result<Self, AuditError> {
        let key = Zeroizing::new(key);
        if key.len() < MIN_SECRET_BYTES {
            return Err(AuditError::WebhookSecretTooShort {
                min: MIN_SECRET_BYTES,
            });
        }
        Ok(Self { key })
    }

    /// An HMAC-SHA256 keyed with the secret, nothing fed to it yet.
    fn keyed_mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length: a long one is hashed first, so this cannot fail.
        <Hmac<Sha256>>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"))
    }

    fn mac(&self, timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed_mac();
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret([REDACTED])")
    }
}

/// The [`SIGNATURE_HEADER`] value for `body` sent at `timestamp` (Unix seconds).
#[must_use]
pub fn sign(secret: &WebhookSecret, timestamp: u64, body: &[u8]) -> String {
    let tag = secret.mac(timestamp, body).finalize().into_bytes();
    let mut out = String::with_capacity(PREFIX.len() + 2 * tag.len());
    out.push_str(PREFIX);
    crate::hex::push_lower(&mut out, &tag);
    out
}

/// The timestamp and signature headers for `body`, signed now.
///
/// # Errors
///
/// [`AuditError::WebhookMalformed`] if the system clock is before 1970.
pub fn sign_now(secret: &WebhookSecret, body: &[u8]) -> Result<(u64, String), AuditError> {
    let now = unix_now(TIMESTAMP_HEADER)?;
    Ok((now, sign(secret, now, body)))
}

/// The system clock in Unix seconds; before 1970, [`AuditError::WebhookMalformed`] for the
/// timestamp header `header`.
fn unix_now(header: &'static str) -> Result<u64, AuditError> {
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|_| AuditError::WebhookMalformed { header })?
        .as_secs())
}

/// Checks a received webhook: the `timestamp` and `signature` header values as received,
/// the raw `body`, the receiver's clock `now` and the `tolerance` it allows either way.
/// Returns the verified timestamp.
///
/// The signature is checked first, in constant time; only a genuine delivery is then judged
/// on its age.
///
/// # Errors
///
/// [`AuditError::WebhookMalformed`] for a header that is not a decimal timestamp or
/// `sha256=` with 64 hex digits; [`AuditError::WebhookBadSignature`] when the MAC does not
/// match; [`AuditError::WebhookStale`] when the timestamp is further than `tolerance` from
/// `now`.
pub fn verify(
    secret: &WebhookSecret,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<u64, AuditError> {
    let ts = parse_timestamp(timestamp).ok_or(AuditError::WebhookMalformed {
        header: TIMESTAMP_HEADER,
    })?;
    let tag = parse_signature(signature).ok_or(AuditError::WebhookMalformed {
        header: SIGNATURE_HEADER,
    })?;
    secret
        .mac(ts, body)
        .verify_slice(&tag)
        .map_err(|_| AuditError::WebhookBadSignature)?;
    check_age(ts, now, tolerance)?;
    Ok(ts)
}

/// [`AuditError::WebhookStale`] when `ts` (Unix seconds) is further than `tolerance` from
/// `now`, either way.
fn check_age(ts: u64, now: SystemTime, tolerance: Duration) -> Result<(), AuditError> {
    let age = match UNIX_EPOCH.checked_add(Duration::from_secs(ts)) {
        Some(sent) => now.duration_since(sent).unwrap_or_else(|e| e.duration()),
        // Beyond the platform's clock (possible on Windows for a twelve-digit timestamp):
        // far in the future.
        None => Duration::MAX,
    };
    if age > tolerance {
        return Err(AuditError::WebhookStale {
            age_secs: age.as_secs(),
            tolerance_secs: tolerance.as_secs(),
        });
    }
    Ok(())
}

fn parse_timestamp(s: &str) -> Option<u64> {
    // Digits only (no sign, no spaces), and few enough to be a plausible time.
    if s.is_empty() || s.len() > 12 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_signature(s: &str) -> Option<[u8; 32]> {
    let hex = s.strip_prefix(PREFIX)?.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut tag = [0u8; 32];
    for (byte, pair) in tag.iter_mut().zip(hex.chunks_exact(2)) {
        let digit = |c: u8| {
            char::from(c)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> WebhookSecret {
        WebhookSecret::new(b"whsec-0123456789abcdef".to_vec()).unwrap()
    }

    const BODY: &[u8] = br#"{"kind":"lockout_started"}"#;
    const TS: u64 = 1_764_157_361;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// Known answer computed with Python's `hmac` module:
    /// `hmac.new(b"whsec-0123456789abcdef", b'1764157361.{"kind":"lockout_started"}',
    /// hashlib.sha256).hexdigest()`.
    #[test]
    fn signs_now_with_the_current_time() {
        let before = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let (ts, sig) = sign_now(&secret(), BODY).unwrap();
        let after = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(
            (before..=after).contains(&ts),
            "{before} <= {ts} <= {after}"
        );
        assert_eq!(sig, sign(&secret(), ts, BODY));
    }

    #[test]
    fn timestamps_have_at_most_twelve_digits() {
        assert_eq!(parse_timestamp("999999999999"), Some(999_999_999_999));
        assert_eq!(parse_timestamp("1000000000000"), None);
        assert_eq!(parse_timestamp(""), None);
        assert_eq!(parse_timestamp("+1"), None);
    }

    #[test]
    fn signs_timestamp_dot_body_as_python_does() {
        assert_eq!(
            sign(&secret(), TS, BODY),
            "sha256=3bfc2073b0efe25295a76b85fe3ee82c7a64f0f5bd9b000280114f7490444373"
        );
    }

    #[test]
    fn verifies_within_the_tolerance_either_way() {
        let sig = sign(&secret(), TS, BODY);
        for now in [TS, TS + 300, TS - 300] {
            assert_eq!(
                verify(
                    &secret(),
                    "1764157361",
                    &sig,
                    BODY,
                    at(now),
                    DEFAULT_TOLERANCE
                )
                .unwrap(),
                TS
            );
        }
        // Upper-case hex is the same signature.
        let upper = format!("sha256={}", sig[7..].to_uppercase());
        verify(
            &secret(),
            "1764157361",
            &upper,
            BODY,
            at(TS),
            DEFAULT_TOLERANCE,
        )
        .unwrap();
    }

    #[test]
    fn rejects_a_bad_signature_whatever_was_changed() {
        let sig = sign(&secret(), TS, BODY);
        let other = WebhookSecret::new(b"another-secret-of-16".to_vec()).unwrap();
        let cases: [(&WebhookSecret, &str, &[u8]); 3] = [
            (&secret(), "1764157362", BODY), // another time
            (&secret(), "1764157361", br#"{"kind":"logged_out"}"#), // another body
            (&other, "1764157361", BODY),    // another secret
        ];
        for (key, ts, body) in cases {
            assert!(matches!(
                verify(key, ts, &sig, body, at(TS), DEFAULT_TOLERANCE),
                Err(AuditError::WebhookBadSignature)
            ));
        }
        let mut flipped = sig.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
        let flipped = String::from_utf8(flipped).unwrap();
        assert!(matches!(
            verify(
                &secret(),
                "1764157361",
                &flipped,
                BODY,
                at(TS),
                DEFAULT_TOLERANCE
            ),
            Err(AuditError::WebhookBadSignature)
        ));
    }

    #[test]
    fn rejects_a_stale_or_future_timestamp_after_checking_the_signature() {
        let sig = sign(&secret(), TS, BODY);
        let err = verify(
            &secret(),
            "1764157361",
            &sig,
            BODY,
            at(TS + 301),
            DEFAULT_TOLERANCE,
        )
        .unwrap_err();
        assert!(matches!(
            err,
            AuditError::WebhookStale {
                age_secs: 301,
                tolerance_secs: 300
            }
        ));
        assert!(matches!(
            verify(
                &secret(),
                "1764157361",
                &sig,
                BODY,
                at(TS - 301),
                DEFAULT_TOLERANCE
            ),
            Err(AuditError::WebhookStale { age_secs: 301, .. })
        ));
        // A forged old delivery is a bad signature, not a stale one.
        assert!(matches!(
            verify(
                &secret(),
                "1764157361",
                &sig,
                b"forged",
                at(TS + 9_999),
                DEFAULT_TOLERANCE
            ),
            Err(AuditError::WebhookBadSignature)
        ));
    }

    #[test]
    fn rejects_malformed_headers() {
        let sig = sign(&secret(), TS, BODY);
        for ts in [
            "",
            "-1",
            "+1764157361",
            " 1764157361",
            "17641573610000",
            "1e9",
            "٣",
        ] {
            assert!(
                matches!(
                    verify(&secret(), ts, &sig, BODY, at(TS), DEFAULT_TOLERANCE),
                    Err(AuditError::WebhookMalformed {
                        header: TIMESTAMP_HEADER
                    })
                ),
                "{ts:?}"
            );
        }
        let short = &sig[..sig.len() - 2];
        let no_prefix = &sig[7..];
        let bad_hex = format!("sha256={}", "zz".repeat(32));
        let multibyte = format!("sha256={}é", "a".repeat(62));
        for s in ["", short, no_prefix, &bad_hex, &multibyte, "sha1=abcd"] {
            assert!(
                matches!(
                    verify(&secret(), "1764157361", s, BODY, at(TS), DEFAULT_TOLERANCE),
                    Err(AuditError::WebhookMalformed {
                        header: SIGNATURE_HEADER
                    })
                ),
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_short_secret_is_refused_and_no_secret_is_shown() {
        assert!(matches!(
            WebhookSecret::new(b"short".to_vec()),
            Err(AuditError::WebhookSecretTooShort { min: 16 })
        ));
        assert_eq!(format!("{:?}", secret()), "WebhookSecret([REDACTED])");
        assert_eq!(
            AuditError::WebhookStale {
                age_secs: 301,
                tolerance_secs: 300
            }
            .to_string(),
            "the webhook's timestamp is 301 s away from now, more than the 300 s allowed"
        );
    }
}
