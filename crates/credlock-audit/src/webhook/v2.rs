//! Version 2 of the signed webhooks: each delivery carries a unique event id, signed together
//! with its timestamp and body, so that a receiver can refuse a replay within the time
//! window ([`SeenIds`]) as well as outside it ([`verify`]).
//!
//! The wire format is that of [Standard Webhooks](https://www.standardwebhooks.com/)
//! (symmetric signatures), so a receiver may also use one of its libraries:
//!
//! | header                                      | value                                        |
//! |---------------------------------------------|----------------------------------------------|
//! | `webhook-id` ([`ID_HEADER`])                | the [`EventId`]: `msg_` and 32 lowercase hex digits (128 random bits), the same for every attempt to deliver one event |
//! | `webhook-timestamp` ([`TIMESTAMP_HEADER`])  | when this attempt was signed, in decimal Unix seconds |
//! | `webhook-signature` ([`SIGNATURE_HEADER`])  | `v1,` and the standard base64 (with padding) of HMAC-SHA256 under the shared secret of `"{id}.{timestamp}.{body}"` |
//!
//! `v1,` there is the Standard Webhooks tag for HMAC-SHA256; the header may hold several
//! space-separated signatures (under an old and a new secret while the secret is changed),
//! and [`verify`] accepts the delivery if one of them matches. A Standard Webhooks library
//! takes the secret as `whsec_` followed by the standard base64 of the
//! [`WebhookSecret`]'s bytes. The version 1 headers and functions of the parent module are
//! unchanged; a receiver told which scheme the sender uses checks only that one.
//!
//! # Sending
//!
//! Make one [`EventId`] per event and keep it for every attempt to deliver that event; sign
//! each attempt afresh with [`sign_now`], and send the three headers of
//! [`SignedHeaders::to_pairs`] with the exact bytes that were signed as the body. The HTTP
//! client must not follow redirects: a redirect would hand the signed body and headers to a
//! URL the operator did not configure (and a 307 or 308 would POST them there again). Treat
//! a 3xx answer as a failed delivery.
//!
//! # Receiving
//!
//! 1. [`verify`] the headers against the raw body: this refuses a forged or altered delivery
//!    and one whose timestamp is outside the tolerance, and returns a [`VerifiedDelivery`].
//! 2. [`SeenIds::remember`] it: this refuses an id already accepted within the window (a
//!    replay, or the sender's retry of a delivery whose answer it did not get).
//! 3. Act on the event. Answer a refused replay with a 2xx status if the sender retries on
//!    errors, since the event was handled the first time.
//!
//! ```
//! # mod credlock { pub use credlock_audit as audit; }
//! use std::time::{Duration, UNIX_EPOCH};
//! use credlock::audit::AuditError;
//! use credlock::audit::webhook::WebhookSecret;
//! use credlock::audit::webhook::v2::{self, EventId, SeenIds};
//!
//! let secret = WebhookSecret::new(b"whsec-0123456789abcdef".to_vec())?;
//! let body = br#"{"kind":"lockout_started"}"#;
//!
//! // The sender: one id per event, a signature per attempt.
//! let id = EventId::random()?;
//! let headers = v2::sign_now(&secret, &id, body)?;
//! let [(id_name, id_value), (ts_name, ts_value), (sig_name, sig_value)] = headers.to_pairs();
//! assert_eq!((id_name, ts_name, sig_name), ("webhook-id", "webhook-timestamp", "webhook-signature"));
//!
//! // The receiver: the headers and body as received, its clock, one cache for all deliveries.
//! let mut seen = SeenIds::new(10_000, v2::DEFAULT_TOLERANCE);
//! let now = UNIX_EPOCH + Duration::from_secs(headers.timestamp() + 2);
//! let delivery =
//!     v2::verify(&secret, &id_value, &ts_value, &sig_value, body, now, seen.tolerance())?;
//! seen.remember(&delivery, now)?;
//!
//! // The same delivery again: well signed, still fresh, but its id was seen.
//! let again =
//!     v2::verify(&secret, &id_value, &ts_value, &sig_value, body, now, seen.tolerance())?;
//! assert!(matches!(seen.remember(&again, now), Err(AuditError::WebhookReplayed)));
//!
//! // Another id under the same signature: not what was signed.
//! let other = EventId::random()?;
//! assert!(matches!(
//!     v2::verify(&secret, other.as_str(), &ts_value, &sig_value, body, now, seen.tolerance()),
//!     Err(AuditError::WebhookBadSignature)
//! ));
//! # Ok::<(), AuditError>(())
//! ```

use core::fmt;
use core::str::FromStr;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use super::{WebhookSecret, check_age, parse_timestamp, unix_now};
use crate::error::{AuditError, fill_random};

mod seen_ids;

pub use seen_ids::SeenIds;

/// The header carrying the event id ([`EventId`]).
pub const ID_HEADER: &str = "webhook-id";
/// The header carrying the signing time of the attempt, in decimal Unix seconds.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header carrying the signatures: `v1,` and 44 characters of standard base64, several
/// separated by spaces.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// How far from the receiver's clock a timestamp may be by default: 5 minutes.
pub const DEFAULT_TOLERANCE: Duration = super::DEFAULT_TOLERANCE;
/// The longest event id accepted, in bytes.
pub const MAX_ID_LEN: usize = 64;

/// What the ids of [`EventId::random`] start with.
const ID_PREFIX: &str = "msg_";
/// The Standard Webhooks tag of an HMAC-SHA256 signature.
const SIG_PREFIX: &str = "v1,";
/// The length of the standard base64, with padding, of a 32-byte tag.
const SIG_B64_LEN: usize = 44;

/// The unique id of a webhook event: 1 to [`MAX_ID_LEN`] ASCII letters, digits, `_` or
/// `-`. Those [`random`](EventId::random) makes are `msg_` and 32 lowercase hex digits.
///
/// Not a secret: it is sent in the clear, in the [`ID_HEADER`].
///
/// ```
/// # mod credlock { pub use credlock_audit as audit; }
/// use credlock::audit::webhook::v2::EventId;
///
/// let id = EventId::random()?;
/// assert_eq!(id.as_str().len(), 36);
/// assert_ne!(id, EventId::random()?);
/// let parsed: EventId = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk".parse()?;
/// assert_eq!(parsed.to_string(), "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk");
/// assert!("msg.1".parse::<EventId>().is_err());
/// # Ok::<(), credlock::audit::AuditError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EventId(String);

impl EventId {
    /// A new id: `msg_` and the lowercase hex of 128 bits from the operating system's random
    /// source.
    ///
    /// # Errors
    ///
    /// [`AuditError::Random`] if the random source fails.
    pub fn random() -> Result<Self, AuditError> {
        let mut bits = [0u8; 16];
        fill_random(&mut bits)?;
        let mut id = String::with_capacity(ID_PREFIX.len() + 2 * bits.len());
        id.push_str(ID_PREFIX);
        crate::hex::push_lower(&mut id, &bits);
        Ok(Self(id))
    }

    /// The id as sent in the [`ID_HEADER`].
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for EventId {
    type Err = AuditError;

    /// An id kept from an earlier attempt, or received.
    ///
    /// # Errors
    ///
    /// [`AuditError::WebhookMalformed`] naming the [`ID_HEADER`] for an empty or too long
    /// string, or one with a character other than ASCII letters, digits, `_` and `-` (a `.`
    /// would make the signed string ambiguous).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = !s.is_empty()
            && s.len() <= MAX_ID_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            Err(AuditError::WebhookMalformed { header: ID_HEADER })
        }
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EventId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The three headers of one attempt to deliver an event, from [`sign_now`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    id: EventId,
    timestamp: u64,
    signature: String,
}

impl SignedHeaders {
    /// The event id, for the [`ID_HEADER`].
    #[must_use]
    pub fn id(&self) -> &EventId {
        &self.id
    }

    /// The signing time in Unix seconds, for the [`TIMESTAMP_HEADER`] (in decimal).
    #[must_use]
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// The signature, for the [`SIGNATURE_HEADER`].
    #[must_use]
    pub fn signature(&self) -> &str {
        &self.signature
    }

    /// The header names and values, in the order id, timestamp, signature.
    #[must_use]
    pub fn to_pairs(&self) -> [(&'static str, String); 3] {
        [
            (ID_HEADER, self.id.0.clone()),
            (TIMESTAMP_HEADER, self.timestamp.to_string()),
            (SIGNATURE_HEADER, self.signature.clone()),
        ]
    }
}

/// A delivery whose signature matched and whose timestamp was within the tolerance, from
/// [`verify`]; hand it to [`SeenIds::remember`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDelivery {
    id: EventId,
    timestamp: u64,
}

impl VerifiedDelivery {
    /// The verified event id.
    #[must_use]
    pub fn id(&self) -> &EventId {
        &self.id
    }

    /// The verified timestamp, in Unix seconds.
    #[must_use]
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }
}

/// The MAC of `"{id}.{timestamp}.{body}"` under the secret.
fn mac(secret: &WebhookSecret, id: &EventId, timestamp: u64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = secret.keyed_mac();
    mac.update(id.0.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The [`SIGNATURE_HEADER`] value for `body` of the event `id`, sent at `timestamp` (Unix
/// seconds): `v1,` and the standard base64 of HMAC-SHA256 of `"{id}.{timestamp}.{body}"`.
///
/// ```
/// # mod credlock { pub use credlock_audit as audit; }
/// use credlock::audit::webhook::WebhookSecret;
/// use credlock::audit::webhook::v2::{self, EventId};
///
/// let secret = WebhookSecret::new(b"whsec-0123456789abcdef".to_vec())?;
/// let id: EventId = "msg_0123456789abcdef0123456789abcdef".parse()?;
/// let signature = v2::sign(&secret, &id, 1_764_157_361, br#"{"kind":"locked"}"#);
/// assert!(signature.starts_with("v1,"));
/// assert_eq!(signature.len(), 47);
/// # Ok::<(), credlock::audit::AuditError>(())
/// ```
#[must_use]
pub fn sign(secret: &WebhookSecret, id: &EventId, timestamp: u64, body: &[u8]) -> String {
    let tag = mac(secret, id, timestamp, body).finalize().into_bytes();
    let mut out = String::with_capacity(SIG_PREFIX.len() + SIG_B64_LEN);
    out.push_str(SIG_PREFIX);
    STANDARD.encode_string(tag, &mut out);
    out
}

/// The headers for one attempt to deliver `body` of the event `id`, signed now.
///
/// # Errors
///
/// [`AuditError::WebhookMalformed`] if the system clock is before 1970.
pub fn sign_now(
    secret: &WebhookSecret,
    id: &EventId,
    body: &[u8],
) -> Result<SignedHeaders, AuditError> {
    let timestamp = unix_now(TIMESTAMP_HEADER)?;
    Ok(SignedHeaders {
        id: id.clone(),
        timestamp,
        signature: sign(secret, id, timestamp, body),
    })
}

/// Checks a received webhook: the `id`, `timestamp` and `signature` header values as
/// received, the raw `body`, the receiver's clock `now` and the `tolerance` it allows either
/// way (pass [`SeenIds::tolerance`] when a [`SeenIds`] follows).
///
/// The signature is checked first, in constant time; only a genuine delivery is then judged
/// on its age. A replay within the tolerance passes: [`SeenIds::remember`] refuses it.
///
/// # Errors
///
/// [`AuditError::WebhookMalformed`] for an id that is not an [`EventId`], a timestamp that
/// is not decimal, or a signature header without a well-formed `v1,` signature;
/// [`AuditError::WebhookBadSignature`] when no signature matches;
/// [`AuditError::WebhookStale`] when the timestamp is further than `tolerance` from `now`.
pub fn verify(
    secret: &WebhookSecret,
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<VerifiedDelivery, AuditError> {
    let id: EventId = id.parse()?;
    let timestamp = parse_timestamp(timestamp).ok_or(AuditError::WebhookMalformed {
        header: TIMESTAMP_HEADER,
    })?;
    let tags = parse_signatures(signature);
    if tags.is_empty() {
        return Err(AuditError::WebhookMalformed {
            header: SIGNATURE_HEADER,
        });
    }
    let expected = mac(secret, &id, timestamp, body);
    if !tags
        .iter()
        .any(|tag| expected.clone().verify_slice(tag).is_ok())
    {
        return Err(AuditError::WebhookBadSignature);
    }
    check_age(timestamp, now, tolerance)?;
    Ok(VerifiedDelivery { id, timestamp })
}

/// The well-formed `v1,` tags of a signature header; entries of other versions or malformed
/// ones are left out.
fn parse_signatures(header: &str) -> Vec<[u8; 32]> {
    header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix(SIG_PREFIX))
        .filter(|b64| b64.len() == SIG_B64_LEN)
        .filter_map(|b64| STANDARD.decode(b64).ok())
        .filter_map(|tag| <[u8; 32]>::try_from(tag).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn secret() -> WebhookSecret {
        WebhookSecret::new(b"whsec-0123456789abcdef".to_vec()).unwrap()
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    const BODY: &[u8] = br#"{"kind":"lockout_started"}"#;
    const TS: u64 = 1_764_157_361;

    /// The known answer of the Standard Webhooks reference library (Rust), whose secret
    /// `whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD` is these 24 bytes in base64; also computed
    /// with Python's `hmac` and `base64` modules.
    #[test]
    fn signs_as_standard_webhooks_does() {
        let key = STANDARD.decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        let secret = WebhookSecret::new(key).unwrap();
        let id: EventId = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk".parse().unwrap();
        let body = br#"{"email":"test@example.com","username":"test_user"}"#;
        let signature = sign(&secret, &id, 1_649_367_553, body);
        assert_eq!(signature, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
        let delivery = verify(
            &secret,
            id.as_str(),
            "1649367553",
            &signature,
            body,
            at(1_649_367_553),
            DEFAULT_TOLERANCE,
        )
        .unwrap();
        assert_eq!(delivery.id(), &id);
        assert_eq!(delivery.timestamp(), 1_649_367_553);
    }

    #[test]
    fn random_ids_are_msg_and_32_hex_digits_and_differ() {
        let a = EventId::random().unwrap();
        let b = EventId::random().unwrap();
        assert_ne!(a, b);
        for id in [&a, &b] {
            let hex = id.as_str().strip_prefix("msg_").unwrap();
            assert_eq!(hex.len(), 32);
            assert!(hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
            assert_eq!(id.as_str().parse::<EventId>().unwrap(), *id);
        }
    }

    #[test]
    fn ids_are_bounded_and_cannot_hold_a_dot() {
        assert!("a".parse::<EventId>().is_ok());
        assert!("A-z_9".parse::<EventId>().is_ok());
        assert!("x".repeat(MAX_ID_LEN).parse::<EventId>().is_ok());
        for bad in [
            String::new(),
            "x".repeat(MAX_ID_LEN + 1),
            "msg.1".to_owned(),
            "msg 1".to_owned(),
            "msg\n1".to_owned(),
            "msgé".to_owned(),
        ] {
            assert!(
                matches!(
                    bad.parse::<EventId>(),
                    Err(AuditError::WebhookMalformed { header: ID_HEADER })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_changed_id_breaks_the_signature() {
        let id: EventId = "msg_0123456789abcdef0123456789abcdef".parse().unwrap();
        let signature = sign(&secret(), &id, TS, BODY);
        let ok = |id: &str| {
            verify(
                &secret(),
                id,
                "1764157361",
                &signature,
                BODY,
                at(TS),
                DEFAULT_TOLERANCE,
            )
        };
        ok(id.as_str()).unwrap();
        for other in [
            "msg_0123456789abcdef0123456789abcdee",
            "msg_0123456789abcdef0123456789abcde",
            "msg_0123456789abcdef0123456789abcdef0",
            "MSG_0123456789abcdef0123456789abcdef",
        ] {
            assert!(
                matches!(ok(other), Err(AuditError::WebhookBadSignature)),
                "{other}"
            );
        }
    }

    #[test]
    fn the_timestamp_body_and_secret_are_signed_too() {
        let id: EventId = "msg_1".parse().unwrap();
        let signature = sign(&secret(), &id, TS, BODY);
        let other = WebhookSecret::new(b"another-secret-of-16".to_vec()).unwrap();
        let cases: [(&WebhookSecret, &str, &[u8]); 3] = [
            (&secret(), "1764157362", BODY),
            (&secret(), "1764157361", br#"{"kind":"logged_out"}"#),
            (&other, "1764157361", BODY),
        ];
        for (key, ts, body) in cases {
            assert!(matches!(
                verify(
                    key,
                    "msg_1",
                    ts,
                    &signature,
                    body,
                    at(TS),
                    DEFAULT_TOLERANCE
                ),
                Err(AuditError::WebhookBadSignature)
            ));
        }
        // Moving a dot between the id and the timestamp is refused before any MAC.
        assert!(matches!(
            verify(
                &secret(),
                "msg_1.1",
                "764157361",
                &signature,
                BODY,
                at(TS),
                DEFAULT_TOLERANCE
            ),
            Err(AuditError::WebhookMalformed { header: ID_HEADER })
        ));
        // The version 1 signature of the same timestamp and body is not a version 2 one.
        let v1 = super::super::sign(&secret(), TS, BODY);
        assert!(
            verify(
                &secret(),
                "msg_1",
                "1764157361",
                &v1,
                BODY,
                at(TS),
                DEFAULT_TOLERANCE
            )
            .is_err()
        );
    }

    #[test]
    fn one_matching_signature_among_several_is_enough() {
        let id: EventId = "msg_1".parse().unwrap();
        let old = WebhookSecret::new(b"the-old-secret-16".to_vec()).unwrap();
        let both = format!(
            "v1a,ignored {} {}",
            sign(&old, &id, TS, BODY),
            sign(&secret(), &id, TS, BODY)
        );
        for key in [&secret(), &old] {
            verify(
                key,
                "msg_1",
                "1764157361",
                &both,
                BODY,
                at(TS),
                DEFAULT_TOLERANCE,
            )
            .unwrap();
        }
        let third = WebhookSecret::new(b"a-third-secret-16".to_vec()).unwrap();
        assert!(matches!(
            verify(
                &third,
                "msg_1",
                "1764157361",
                &both,
                BODY,
                at(TS),
                DEFAULT_TOLERANCE
            ),
            Err(AuditError::WebhookBadSignature)
        ));
    }

    #[test]
    fn stale_and_malformed_deliveries_are_refused() {
        let id: EventId = "msg_1".parse().unwrap();
        let signature = sign(&secret(), &id, TS, BODY);
        assert!(matches!(
            verify(
                &secret(),
                "msg_1",
                "1764157361",
                &signature,
                BODY,
                at(TS + 301),
                DEFAULT_TOLERANCE
            ),
            Err(AuditError::WebhookStale {
                age_secs: 301,
                tolerance_secs: 300
            })
        ));
        assert!(matches!(
            verify(
                &secret(),
                "msg_1",
                "1764157361",
                &signature,
                BODY,
                at(TS - 301),
                DEFAULT_TOLERANCE
            ),
            Err(AuditError::WebhookStale { age_secs: 301, .. })
        ));
        assert!(matches!(
            verify(
                &secret(),
                "msg_1",
                " 1764157361",
                &signature,
                BODY,
                at(TS),
                DEFAULT_TOLERANCE
            ),
            Err(AuditError::WebhookMalformed {
                header: TIMESTAMP_HEADER
            })
        ));
        let b64 = &signature[3..];
        for bad in [
            String::new(),
            b64.to_owned(),
            format!("v2,{b64}"),
            format!("v1,{}", &b64[..43]),
            format!("v1,{}", "!".repeat(44)),
            format!("sha256={}", "0".repeat(64)),
        ] {
            assert!(
                matches!(
                    verify(
                        &secret(),
                        "msg_1",
                        "1764157361",
                        &bad,
                        BODY,
                        at(TS),
                        DEFAULT_TOLERANCE
                    ),
                    Err(AuditError::WebhookMalformed {
                        header: SIGNATURE_HEADER
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn signed_now_headers_verify() {
        let id = EventId::random().unwrap();
        let headers = sign_now(&secret(), &id, BODY).unwrap();
        assert_eq!(headers.id(), &id);
        assert_eq!(
            headers.signature(),
            sign(&secret(), &id, headers.timestamp(), BODY)
        );
        let [(n1, v1), (n2, v2), (n3, v3)] = headers.to_pairs();
        assert_eq!(
            [n1, n2, n3],
            [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER]
        );
        assert_eq!(v2, headers.timestamp().to_string());
        let delivery = verify(
            &secret(),
            &v1,
            &v2,
            &v3,
            BODY,
            SystemTime::now(),
            DEFAULT_TOLERANCE,
        )
        .unwrap();
        assert_eq!(delivery.timestamp(), headers.timestamp());
    }
}
