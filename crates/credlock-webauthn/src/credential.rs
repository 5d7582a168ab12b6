//! Credential IDs, user handles, credential public keys and the stored credential.

use core::fmt;

use p256::ecdsa::VerifyingKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::limits::{MAX_CREDENTIAL_ID, MAX_USER_HANDLE};
use crate::{WebauthnError, encoding};

/// A credential ID: 1 to 1023 opaque bytes chosen by the authenticator. Serialised as
/// unpadded base64url, as in WebAuthn's JSON forms.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CredentialId(Vec<u8>);

impl CredentialId {
    /// A credential ID from its bytes.
    ///
    /// # Errors
    /// [`WebauthnError::Malformed`] when empty, [`WebauthnError::TooLarge`] above 1023 bytes.
    ///
    /// ```
    /// use credlock_webauthn::CredentialId;
    /// let id = CredentialId::new(vec![1, 2, 3])?;
    /// assert_eq!(id.to_base64url(), "AQID");
    /// assert!(CredentialId::new(vec![]).is_err());
    /// # Ok::<(), credlock_webauthn::WebauthnError>(())
    /// ```
    pub fn new(bytes: Vec<u8>) -> Result<Self, WebauthnError> {
        if bytes.is_empty() {
            return Err(WebauthnError::Malformed {
                what: "credential ID",
            });
        }
        if bytes.len() > MAX_CREDENTIAL_ID {
            return Err(WebauthnError::TooLarge {
                what: "credential ID",
                limit: MAX_CREDENTIAL_ID,
            });
        }
        Ok(Self(bytes))
    }

    /// A credential ID from unpadded (or padded) base64url.
    ///
    /// # Errors
    /// As [`CredentialId::new`], and [`WebauthnError::Malformed`] for text that is not
    /// base64url.
    ///
    /// ```
    /// use credlock_webauthn::CredentialId;
    /// assert_eq!(CredentialId::from_base64url("AQID")?.as_bytes(), &[1, 2, 3]);
    /// # Ok::<(), credlock_webauthn::WebauthnError>(())
    /// ```
    pub fn from_base64url(text: &str) -> Result<Self, WebauthnError> {
        Self::new(encoding::decode(text, MAX_CREDENTIAL_ID, "credential ID")?)
    }

    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Unpadded base64url, as the browser's JSON carries it.
    #[must_use]
    pub fn to_base64url(&self) -> String {
        encoding::encode(&self.0)
    }
}

impl fmt::Debug for CredentialId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CredentialId")
            .field(&self.to_base64url())
            .finish()
    }
}

impl Serialize for CredentialId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64url())
    }
}

impl<'de> Deserialize<'de> for CredentialId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::from_base64url(&text).map_err(serde::de::Error::custom)
    }
}

/// A user handle: the opaque ID of the user account that a passkey is created for, 1 to 64
/// bytes (WebAuthn says it must not reveal who the user is: use random bytes, not a name).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UserHandle(Vec<u8>);

impl UserHandle {
    /// A user handle from its bytes.
    ///
    /// # Errors
    /// [`WebauthnError::Malformed`] when empty, [`WebauthnError::TooLarge`] above 64 bytes.
    ///
    /// ```
    /// use credlock_webauthn::UserHandle;
    /// assert!(UserHandle::new(vec![9; 64]).is_ok());
    /// assert!(UserHandle::new(vec![9; 65]).is_err());
    /// ```
    pub fn new(bytes: Vec<u8>) -> Result<Self, WebauthnError> {
        if bytes.is_empty() {
            return Err(WebauthnError::Malformed {
                what: "user handle",
            });
        }
        if bytes.len() > MAX_USER_HANDLE {
            return Err(WebauthnError::TooLarge {
                what: "user handle",
                limit: MAX_USER_HANDLE,
            });
        }
        Ok(Self(bytes))
    }

    /// 32 random bytes from the operating system.
    ///
    /// # Errors
    /// [`WebauthnError::Rng`] when the operating system's generator fails.
    ///
    /// ```
    /// let handle = credlock_webauthn::UserHandle::random()?;
    /// assert_eq!(handle.as_bytes().len(), 32);
    /// # Ok::<(), credlock_webauthn::WebauthnError>(())
    /// ```
    pub fn random() -> Result<Self, WebauthnError> {
        let mut bytes = vec![0; 32];
        getrandom::fill(&mut bytes).map_err(|_| WebauthnError::Rng)?;
        Ok(Self(bytes))
    }

    /// The bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Unpadded base64url.
    #[must_use]
    pub fn to_base64url(&self) -> String {
        encoding::encode(&self.0)
    }
}

impl fmt::Debug for UserHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UserHandle")
            .field(&self.to_base64url())
            .finish()
    }
}

impl Serialize for UserHandle {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_base64url())
    }
}

impl<'de> Deserialize<'de> for UserHandle {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = encoding::decode(&text, MAX_USER_HANDLE, "user handle")
            .map_err(serde::de::Error::custom)?;
        Self::new(bytes).map_err(serde::de::Error::custom)
    }
}

/// A credential's ES256 public key: a point on P-256, checked to be on the curve.
/// Serialised as the unpadded base64url of its uncompressed SEC1 encoding (65 bytes).
#[derive(Clone, PartialEq, Eq)]
pub struct CredentialPublicKey(VerifyingKey);

impl CredentialPublicKey {
    /// A key from its SEC1 encoding (uncompressed or compressed).
    ///
    /// # Errors
    /// [`WebauthnError::Malformed`] when the bytes are not a point on P-256.
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<Self, WebauthnError> {
        VerifyingKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| WebauthnError::Malformed {
                what: "credential public key",
            })
    }

    /// The uncompressed SEC1 encoding: `0x04 || x || y`.
    #[must_use]
    pub fn to_sec1_bytes(&self) -> Vec<u8> {
        self.0.to_sec1_point(false).as_bytes().to_vec()
    }

    /// The key for `p256`'s ECDSA verification.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }

    #[cfg(feature = "software-authenticator")]
    pub(crate) fn from_verifying_key(key: VerifyingKey) -> Self {
        Self(key)
    }
}

impl fmt::Debug for CredentialPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CredentialPublicKey")
            .field(&encoding::encode(&self.to_sec1_bytes()))
            .finish()
    }
}

impl Serialize for CredentialPublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&encoding::encode(&self.to_sec1_bytes()))
    }
}

impl<'de> Deserialize<'de> for CredentialPublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = encoding::decode(&text, 65, "credential public key")
            .map_err(serde::de::Error::custom)?;
        Self::from_sec1_bytes(&bytes).map_err(serde::de::Error::custom)
    }
}

/// A passkey as registered: what the server stores for it (serde, no secret in it).
///
/// After each verified assertion, store the new counter with
/// [`RegisteredCredential::record`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RegisteredCredential {
    /// The credential ID.
    pub id: CredentialId,
    /// Its ES256 public key.
    pub public_key: CredentialPublicKey,
    /// The signature counter last seen (0 for authenticators that do not count, such as
    /// synced passkeys).
    pub sign_count: u32,
    /// Whether the user was verified (UV) at registration.
    pub user_verified: bool,
    /// Whether the browser reported the PRF extension as enabled for this credential
    /// (`clientExtensionResults.prf.enabled`). A credential without it cannot unlock a vault.
    pub prf_enabled: bool,
    /// Whether the credential may be backed up or synced (the BE flag).
    pub backup_eligible: bool,
    /// The authenticator model's AAGUID (all zero when the browser hides it, as with
    /// attestation `none`).
    pub aaguid: [u8; 16],
}

impl RegisteredCredential {
    /// Takes in a verified assertion of this credential: stores its signature counter.
    ///
    /// ```
    /// # #[cfg(feature = "software-authenticator")] {
    /// # use credlock_webauthn::*;
    /// # let rp = RelyingParty::new("localhost", "t", ["http://localhost"]);
    /// # let mut auth = SoftwareAuthenticator::new("localhost");
    /// # let user = UserHandle::random()?;
    /// # let c = Challenge::random()?;
    /// # let reg = auth.register(&creation_options(&rp, &user, "u", &c, &[]), "http://localhost")?;
    /// # let mut cred = verify_registration(&rp, &RegistrationResponse::from_value(reg)?, &c)?;
    /// # let c = Challenge::random()?;
    /// # let salts = PrfSalts::new([1; 32], None);
    /// # let opts = request_options(&rp, &[cred.id.clone()], &c, &salts);
    /// # let a = AssertionResponse::from_value(auth.assert(&opts, "http://localhost")?)?;
    /// let verified = verify_assertion(&rp, &a, &cred, &c, true)?;
    /// cred.record(&verified);
    /// assert_eq!(cred.sign_count, verified.new_sign_count);
    /// # }
    /// # Ok::<(), credlock_webauthn::WebauthnError>(())
    /// ```
    pub fn record(&mut self, assertion: &crate::VerifiedAssertion) {
        if assertion.credential_id == self.id {
            self.sign_count = assertion.new_sign_count;
        }
    }
}
