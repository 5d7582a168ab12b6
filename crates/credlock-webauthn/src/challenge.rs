//! Challenges: 32 random bytes per ceremony, each single-use, short-lived and bound to what
//! it was issued for.

use core::fmt;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use subtle::ConstantTimeEq as _;

use crate::limits::MAX_SUBJECT;
use crate::{WebauthnError, encoding};

/// A WebAuthn challenge: 32 random bytes, sent to the browser as unpadded base64url and
/// signed over by the authenticator (inside `clientDataJSON`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Challenge([u8; 32]);

impl Challenge {
    /// 32 random bytes from the operating system.
    ///
    /// # Errors
    /// [`WebauthnError::Rng`] when the operating system's generator fails.
    ///
    /// ```
    /// let c = credlock_webauthn::Challenge::random()?;
    /// assert_eq!(c.to_base64url().len(), 43);
    /// # Ok::<(), credlock_webauthn::WebauthnError>(())
    /// ```
    pub fn random() -> Result<Self, WebauthnError> {
        let mut bytes = [0; 32];
        getrandom::fill(&mut bytes).map_err(|_| WebauthnError::Rng)?;
        Ok(Self(bytes))
    }

    /// A challenge from its bytes (for tests and for a challenge kept elsewhere, e.g. in a
    /// server-side session).
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A challenge from its base64url text.
    ///
    /// # Errors
    /// [`WebauthnError::Malformed`] unless the text is base64url of exactly 32 bytes.
    ///
    /// ```
    /// use credlock_webauthn::Challenge;
    /// let c = Challenge::from_bytes([7; 32]);
    /// assert_eq!(Challenge::from_base64url(&c.to_base64url())?, c);
    /// assert!(Challenge::from_base64url("AAAA").is_err());
    /// # Ok::<(), credlock_webauthn::WebauthnError>(())
    /// ```
    pub fn from_base64url(text: &str) -> Result<Self, WebauthnError> {
        let bytes = encoding::decode(text, 32, "challenge")
            .map_err(|_| WebauthnError::Malformed { what: "challenge" })?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| WebauthnError::Malformed { what: "challenge" })?;
        Ok(Self(bytes))
    }

    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Unpadded base64url, as the options and `clientDataJSON` carry it.
    #[must_use]
    pub fn to_base64url(&self) -> String {
        encoding::encode(&self.0)
    }

    /// Compares in constant time.
    pub(crate) fn matches(&self, other: &[u8]) -> bool {
        other.len() == 32 && bool::from(self.0.ct_eq(other))
    }
}

impl fmt::Debug for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Challenge")
            .field(&self.to_base64url())
            .finish()
    }
}

impl Serialize for Challenge {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64url())
    }
}

impl<'de> Deserialize<'de> for Challenge {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_base64url(&text).map_err(serde::de::Error::custom)
    }
}

/// What a challenge was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Purpose {
    /// Creating a passkey (`navigator.credentials.create`).
    Registration,
    /// Using one (`navigator.credentials.get`), e.g. to unlock a vault.
    Assertion,
}

#[derive(Debug)]
struct Outstanding {
    purpose: Purpose,
    subject: String,
    issued: Instant,
    /// Issue order, to evict the oldest first.
    serial: u64,
}

/// The challenges issued and not yet used: a bounded in-memory store.
///
/// Each challenge is **single-use** (taking it removes it, whether the ceremony then
/// succeeds or not), lives at most the store's time to live, and is bound to a [`Purpose`]
/// and a subject (the user or vault it was issued for): taking it for another purpose or
/// subject fails and uses it up. The clock is a parameter (`now`), so tests can move it.
///
/// When the store is full, the oldest outstanding challenge is dropped: an expired one if
/// there is any (challenges expire in the order they were issued), else a live one, whose
/// ceremony then fails with [`WebauthnError::UnknownChallenge`] and the user tries again. So
/// a flood of requests cannot stop new challenges from being issued; apps should also
/// rate-limit the endpoints that issue them.
///
/// Whether a challenge was used or never issued cannot be told apart once it is gone; the
/// store remembers the last used ones (as many as its capacity) to answer
/// [`WebauthnError::ChallengeReused`] for a replay.
///
/// ```
/// use std::time::{Duration, Instant};
/// use credlock_webauthn::{Challenges, Purpose, WebauthnError};
///
/// let mut store = Challenges::new(1000, Duration::from_secs(300));
/// let t0 = Instant::now();
/// let c = store.issue(Purpose::Assertion, "alice", t0)?;
/// store.take(&c, Purpose::Assertion, "alice", t0 + Duration::from_secs(5))?;
/// assert_eq!(
///     store.take(&c, Purpose::Assertion, "alice", t0 + Duration::from_secs(6)),
///     Err(WebauthnError::ChallengeReused)
/// );
/// # Ok::<(), WebauthnError>(())
/// ```
#[derive(Debug)]
pub struct Challenges {
    outstanding: HashMap<Challenge, Outstanding>,
    /// The outstanding challenges by issue order, oldest first.
    outstanding_by_age: BTreeMap<u64, Challenge>,
    /// Recently used challenges, to name a replay for what it is (bounded like
    /// `outstanding`), and the same by the order they were issued in.
    used: HashMap<Challenge, u64>,
    used_by_age: BTreeMap<u64, Challenge>,
    capacity: usize,
    ttl: Duration,
    serial: u64,
}

impl Challenges {
    /// The default time to live: 5 minutes, the options' `timeout`.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

    /// A store of at most `capacity` outstanding challenges (at least 1), each valid for
    /// `ttl`.
    #[must_use]
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            outstanding: HashMap::new(),
            outstanding_by_age: BTreeMap::new(),
            used: HashMap::new(),
            used_by_age: BTreeMap::new(),
            capacity: capacity.max(1),
            ttl,
            serial: 0,
        }
    }

    /// How many challenges are outstanding.
    #[must_use]
    pub fn len(&self) -> usize {
        self.outstanding.len()
    }

    /// Whether no challenge is outstanding.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.outstanding.is_empty()
    }

    /// Issues a new random challenge for `purpose` and `subject` (a user name or vault ID,
    /// at most 256 bytes).
    ///
    /// # Errors
    /// [`WebauthnError::Rng`] when the operating system's generator fails,
    /// [`WebauthnError::TooLarge`] for a subject longer than 256 bytes.
    pub fn issue(
        &mut self,
        purpose: Purpose,
        subject: &str,
        now: Instant,
    ) -> Result<Challenge, WebauthnError> {
        if subject.len() > MAX_SUBJECT {
            return Err(WebauthnError::TooLarge {
                what: "challenge subject",
                limit: MAX_SUBJECT,
            });
        }
        let challenge = Challenge::random()?;
        self.insert(challenge.clone(), purpose, subject, now);
        Ok(challenge)
    }

    fn insert(&mut self, challenge: Challenge, purpose: Purpose, subject: &str, now: Instant) {
        // Full: drop the oldest. Challenges expire in the order they were issued, so expired
        // ones go first.
        while self.outstanding.len() >= self.capacity {
            let Some((&serial, _)) = self.outstanding_by_age.first_key_value() else {
                break;
            };
            self.forget_outstanding(serial);
        }
        self.serial += 1;
        self.outstanding_by_age
            .insert(self.serial, challenge.clone());
        self.outstanding.insert(
            challenge,
            Outstanding {
                purpose,
                subject: subject.to_owned(),
                issued: now,
                serial: self.serial,
            },
        );
    }

    fn forget_outstanding(&mut self, serial: u64) {
        if let Some(challenge) = self.outstanding_by_age.remove(&serial) {
            self.outstanding.remove(&challenge);
        }
    }

    /// Takes (uses up) a challenge issued for `purpose` and `subject`. Call it before
    /// verifying the response that carries it, with the challenge the response claims
    /// ([`RegistrationResponse::claimed_challenge`](crate::RegistrationResponse::claimed_challenge),
    /// [`AssertionResponse::claimed_challenge`](crate::AssertionResponse::claimed_challenge)),
    /// and pass it to the verification as the expected one.
    ///
    /// # Errors
    /// [`WebauthnError::ChallengeReused`] for a challenge already taken,
    /// [`WebauthnError::UnknownChallenge`] for one never issued (or evicted),
    /// [`WebauthnError::ChallengeExpired`] past the time to live,
    /// [`WebauthnError::ChallengeWrongPurpose`] for another purpose or subject. In every
    /// case the challenge is used up.
    pub fn take(
        &mut self,
        challenge: &Challenge,
        purpose: Purpose,
        subject: &str,
        now: Instant,
    ) -> Result<(), WebauthnError> {
        let Some(entry) = self.outstanding.remove(challenge) else {
            return Err(if self.used.contains_key(challenge) {
                WebauthnError::ChallengeReused
            } else {
                WebauthnError::UnknownChallenge
            });
        };
        self.outstanding_by_age.remove(&entry.serial);
        self.remember_used(challenge.clone(), entry.serial);
        if now.saturating_duration_since(entry.issued) > self.ttl {
            return Err(WebauthnError::ChallengeExpired);
        }
        if entry.purpose != purpose || entry.subject != subject {
            return Err(WebauthnError::ChallengeWrongPurpose);
        }
        Ok(())
    }

    fn remember_used(&mut self, challenge: Challenge, serial: u64) {
        while self.used.len() >= self.capacity {
            let Some((_, oldest)) = self.used_by_age.pop_first() else {
                break;
            };
            self.used.remove(&oldest);
        }
        self.used_by_age.insert(serial, challenge.clone());
        self.used.insert(challenge, serial);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eviction_drops_expired_then_oldest() {
        let ttl = Duration::from_secs(10);
        let mut store = Challenges::new(2, ttl);
        let t0 = Instant::now();
        let a = store.issue(Purpose::Assertion, "s", t0).unwrap();
        let b = store
            .issue(Purpose::Assertion, "s", t0 + Duration::from_secs(1))
            .unwrap();
        // Full: the oldest (a) goes.
        let c = store
            .issue(Purpose::Assertion, "s", t0 + Duration::from_secs(2))
            .unwrap();
        assert_eq!(store.len(), 2);
        let t = t0 + Duration::from_secs(3);
        assert_eq!(
            store.take(&a, Purpose::Assertion, "s", t),
            Err(WebauthnError::UnknownChallenge)
        );
        assert_eq!(store.take(&b, Purpose::Assertion, "s", t), Ok(()));
        assert_eq!(store.take(&c, Purpose::Assertion, "s", t), Ok(()));
        assert!(store.is_empty());
    }

    #[test]
    fn debug_shows_the_challenge() {
        let c = Challenge::from_bytes([0xff; 32]);
        assert_eq!(
            format!("{c:?}"),
            "Challenge(\"__________________________________________8\")"
        );
        let mut store = Challenges::new(2, Duration::from_secs(1));
        assert!(store.is_empty());
        store
            .issue(Purpose::Assertion, "s", Instant::now())
            .unwrap();
        assert!(!store.is_empty());
    }

    #[test]
    fn full_store_drops_only_expired_when_that_suffices() {
        let ttl = Duration::from_secs(10);
        let mut store = Challenges::new(2, ttl);
        let t0 = Instant::now();
        let _old = store.issue(Purpose::Assertion, "s", t0).unwrap();
        let young = store
            .issue(Purpose::Assertion, "s", t0 + Duration::from_secs(9))
            .unwrap();
        let _new = store
            .issue(Purpose::Assertion, "s", t0 + Duration::from_secs(11))
            .unwrap();
        assert_eq!(
            store.take(
                &young,
                Purpose::Assertion,
                "s",
                t0 + Duration::from_secs(12)
            ),
            Ok(())
        );
    }

    #[test]
    fn ttl_boundary() {
        let ttl = Duration::from_secs(10);
        let mut store = Challenges::new(8, ttl);
        let t0 = Instant::now();
        let a = store.issue(Purpose::Registration, "s", t0).unwrap();
        assert_eq!(store.take(&a, Purpose::Registration, "s", t0 + ttl), Ok(()));
        let b = store.issue(Purpose::Registration, "s", t0).unwrap();
        assert_eq!(
            store.take(
                &b,
                Purpose::Registration,
                "s",
                t0 + ttl + Duration::from_millis(1)
            ),
            Err(WebauthnError::ChallengeExpired)
        );
    }

    #[test]
    fn used_memory_is_bounded() {
        let mut store = Challenges::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        let mut taken = Vec::new();
        for _ in 0..3 {
            let c = store.issue(Purpose::Assertion, "s", t0).unwrap();
            store.take(&c, Purpose::Assertion, "s", t0).unwrap();
            taken.push(c);
        }
        assert_eq!(store.used.len(), 2);
        assert_eq!(store.used_by_age.len(), 2);
        assert!(store.outstanding_by_age.is_empty());
        // The first one is forgotten; the last two are named as replays.
        assert_eq!(
            store.take(&taken[0], Purpose::Assertion, "s", t0),
            Err(WebauthnError::UnknownChallenge)
        );
        assert_eq!(
            store.take(&taken[2], Purpose::Assertion, "s", t0),
            Err(WebauthnError::ChallengeReused)
        );
    }

    #[test]
    fn indexes_stay_in_step() {
        let ttl = Duration::from_secs(10);
        let mut store = Challenges::new(3, ttl);
        let t0 = Instant::now();
        let mut issued = Vec::new();
        for i in 0..40u64 {
            let now = t0 + Duration::from_secs(i / 2);
            let c = store.issue(Purpose::Assertion, "s", now).unwrap();
            issued.push(c);
            if i % 3 == 0 {
                let pick = &issued[usize::try_from(i * 7 % (i + 1)).unwrap()];
                let _ = store.take(pick, Purpose::Assertion, "s", now);
            }
            assert!(store.outstanding.len() <= 3);
            assert_eq!(store.outstanding.len(), store.outstanding_by_age.len());
            assert_eq!(store.used.len(), store.used_by_age.len());
            assert!(store.used.len() <= 3);
            for (serial, c) in &store.outstanding_by_age {
                assert_eq!(store.outstanding[c].serial, *serial);
            }
        }
    }

    #[test]
    fn subject_is_bounded() {
        let mut store = Challenges::new(2, Duration::from_secs(10));
        assert!(matches!(
            store.issue(Purpose::Assertion, &"x".repeat(257), Instant::now()),
            Err(WebauthnError::TooLarge { .. })
        ));
        assert!(
            store
                .issue(Purpose::Assertion, &"x".repeat(256), Instant::now())
                .is_ok()
        );
    }
}
