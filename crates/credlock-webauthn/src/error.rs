//! The one error type of this crate.

/// Why a WebAuthn ceremony, an option builder or the challenge store refused.
///
/// Every variant carries only fixed text or small numbers chosen by this crate: nothing the
/// browser or the authenticator sent is echoed back, so a message can go to a log as it is.
/// Apps that answer HTTP requests should map every variant to one opaque "passkey refused"
/// answer and keep the variant for their audit log; [`WebauthnError::is_client_fault`]
/// separates what a request can cause from server-side faults.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebauthnError {
    /// The ceremony type in `clientDataJSON` is not the expected one (`webauthn.create` for a
    /// registration, `webauthn.get` for an assertion), or the credential type is not
    /// `public-key`.
    #[error("the client data is for another ceremony type")]
    WrongType,
    /// The challenge in `clientDataJSON` is not the one the server expected.
    #[error("the challenge does not match the one issued")]
    ChallengeMismatch,
    /// The challenge store has no such challenge (never issued, or evicted).
    #[error("the challenge is unknown")]
    UnknownChallenge,
    /// The challenge was already used once (each is single-use).
    #[error("the challenge was already used")]
    ChallengeReused,
    /// The challenge lived longer than the store's time to live.
    #[error("the challenge has expired")]
    ChallengeExpired,
    /// The challenge was issued for another purpose (registration or assertion) or for
    /// another user or vault.
    #[error("the challenge was issued for another purpose or user")]
    ChallengeWrongPurpose,
    /// The origin in `clientDataJSON` is not one of the relying party's origins.
    #[error("the origin is not one of the relying party's")]
    WrongOrigin,
    /// The ceremony ran in a cross-origin iframe (`crossOrigin: true`), which is refused.
    #[error("cross-origin ceremonies are refused")]
    CrossOrigin,
    /// The authenticator data is for another relying party ID (its `rpIdHash` is not
    /// SHA-256 of [`RelyingParty::id`](crate::RelyingParty::id)).
    #[error("the authenticator data is for another relying party ID")]
    WrongRpId,
    /// The user-present (UP) flag is not set.
    #[error("the authenticator did not test user presence")]
    UserNotPresent,
    /// User verification was required and the user-verified (UV) flag is not set.
    #[error("the authenticator did not verify the user")]
    UserNotVerified,
    /// The assertion signature (or a packed self-attestation signature) does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// The assertion names another credential than the one it is checked against.
    #[error("the assertion is from another credential")]
    WrongCredential,
    /// The signature counter did not increase: the authenticator may have been cloned.
    #[error(
        "the signature counter went from {stored} to {received}: possibly a cloned authenticator"
    )]
    CounterRegressed {
        /// The counter stored with the credential.
        stored: u32,
        /// The counter in this assertion.
        received: u32,
    },
    /// The credential public key is not ES256 (COSE EC2 key on P-256 with algorithm -7).
    #[error("the credential public key is not ES256 on P-256")]
    UnsupportedAlgorithm,
    /// The attestation statement format is neither `none` nor `packed` self-attestation.
    #[error("the attestation format is not supported (only none and packed self-attestation)")]
    UnsupportedAttestation,
    /// An input is too large to be looked at.
    #[error("the {what} is larger than {limit} bytes")]
    TooLarge {
        /// Which input.
        what: &'static str,
        /// Its limit in bytes.
        limit: usize,
    },
    /// An input is not what WebAuthn says it should be.
    #[error("malformed {what}")]
    Malformed {
        /// Which input, or which part of it.
        what: &'static str,
    },
    /// The assertion has no PRF results (`clientExtensionResults.prf.results.first`).
    #[error("the assertion carries no PRF output")]
    PrfMissing,
    /// A PRF output is shorter than 32 bytes.
    #[error("a PRF output is shorter than 32 bytes")]
    PrfTooShort,
    /// A PRF output is 32 zero bytes.
    #[error("a PRF output is all zero")]
    PrfAllZero,
    /// The challenge store is full of challenges that have not expired.
    #[error("too many outstanding challenges")]
    TooManyChallenges,
    /// The operating system's random number generator failed.
    #[error("the random number generator failed")]
    Rng,
    /// The software authenticator refused the options as a browser would (another RP ID, an
    /// excluded credential, no usable credential, no ES256 among the parameters).
    #[cfg(feature = "software-authenticator")]
    #[error("the software authenticator refused: {reason}")]
    AuthenticatorRefused {
        /// Why, in words chosen by this crate.
        reason: &'static str,
    },
}

impl WebauthnError {
    /// Whether the request (the browser, the authenticator or whoever posted it) caused the
    /// error, rather than the server (its randomness, its challenge store being full).
    ///
    /// ```
    /// use credlock_webauthn::WebauthnError;
    /// assert!(WebauthnError::BadSignature.is_client_fault());
    /// assert!(!WebauthnError::Rng.is_client_fault());
    /// ```
    #[must_use]
    pub fn is_client_fault(&self) -> bool {
        !matches!(self, Self::Rng | Self::TooManyChallenges)
    }
}
