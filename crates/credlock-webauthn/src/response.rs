//! What the browser posts back: `PublicKeyCredential.toJSON()` of a registration or an
//! assertion (`RegistrationResponseJSON`, `AuthenticationResponseJSON`).

use serde::Deserialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::limits::{MAX_CLIENT_DATA_JSON, MAX_RESPONSE_JSON};
use crate::{Challenge, WebauthnError, client_data, encoding};

/// A registration response as the browser posts it (`credential.toJSON()` after
/// `navigator.credentials.create`):
///
/// ```json
/// {
///   "id": "<credential ID, base64url>",
///   "rawId": "<the same>",
///   "type": "public-key",
///   "response": {
///     "clientDataJSON": "<base64url>",
///     "attestationObject": "<base64url>"
///   },
///   "clientExtensionResults": { "prf": { "enabled": true } }
/// }
/// ```
///
/// Other members (`transports`, `authenticatorAttachment`, `publicKey`, ...) are ignored.
/// Deserialise it with [`RegistrationResponse::from_json`], which refuses bodies over
/// 16 KiB before parsing; when it is deserialised as part of a larger structure, the app
/// must cap the request body itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationResponse {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) raw_id: Option<String>,
    #[serde(rename = "type", default)]
    pub(crate) kind: Option<String>,
    pub(crate) response: AttestationResponseJson,
    #[serde(default)]
    pub(crate) client_extension_results: ClientExtensionResults,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AttestationResponseJson {
    #[serde(rename = "clientDataJSON")]
    pub(crate) client_data_json: String,
    #[serde(rename = "attestationObject")]
    pub(crate) attestation_object: String,
}

/// An assertion response as the browser posts it (`credential.toJSON()` after
/// `navigator.credentials.get`):
///
/// ```json
/// {
///   "id": "<credential ID, base64url>",
///   "rawId": "<the same>",
///   "type": "public-key",
///   "response": {
///     "clientDataJSON": "<base64url>",
///     "authenticatorData": "<base64url>",
///     "signature": "<base64url, DER>",
///     "userHandle": "<base64url, optional>"
///   },
///   "clientExtensionResults": {
///     "prf": { "results": { "first": "<base64url, 32 bytes>", "second": "<optional>" } }
///   }
/// }
/// ```
///
/// Deserialise it with [`AssertionResponse::from_json`] (16 KiB cap) or
/// [`AssertionResponse::from_value`].
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssertionResponse {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) raw_id: Option<String>,
    #[serde(rename = "type", default)]
    pub(crate) kind: Option<String>,
    pub(crate) response: AssertionResponseJson,
    #[serde(default)]
    pub(crate) client_extension_results: ClientExtensionResults,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AssertionResponseJson {
    #[serde(rename = "clientDataJSON")]
    pub(crate) client_data_json: String,
    #[serde(rename = "authenticatorData")]
    pub(crate) authenticator_data: String,
    pub(crate) signature: String,
    #[serde(rename = "userHandle", default)]
    pub(crate) user_handle: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ClientExtensionResults {
    #[serde(default)]
    pub(crate) prf: Option<PrfClientOutputs>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct PrfClientOutputs {
    #[serde(default)]
    pub(crate) enabled: Option<bool>,
    #[serde(default)]
    pub(crate) results: Option<PrfResultsJson>,
}

#[derive(Clone, Default, Deserialize)]
pub(crate) struct PrfResultsJson {
    /// The outputs' base64url text is zeroized on drop too.
    pub(crate) first: Zeroizing<String>,
    #[serde(default)]
    pub(crate) second: Option<Zeroizing<String>>,
}

impl core::fmt::Debug for PrfResultsJson {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PrfResultsJson([redacted])")
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(
    json: &[u8],
    what: &'static str,
) -> Result<T, WebauthnError> {
    if json.len() > MAX_RESPONSE_JSON {
        return Err(WebauthnError::TooLarge {
            what,
            limit: MAX_RESPONSE_JSON,
        });
    }
    serde_json::from_slice(json).map_err(|_| WebauthnError::Malformed { what })
}

fn claimed(client_data_json: &str) -> Result<Challenge, WebauthnError> {
    let bytes = encoding::decode(client_data_json, MAX_CLIENT_DATA_JSON, "clientDataJSON")?;
    let data = client_data::ClientData::parse(&bytes)?;
    Challenge::from_base64url(&data.challenge)
}

impl RegistrationResponse {
    /// Parses the JSON the browser posted.
    ///
    /// # Errors
    /// [`WebauthnError::TooLarge`] over 16 KiB, [`WebauthnError::Malformed`] for JSON that
    /// is not a registration response.
    ///
    /// ```
    /// use credlock_webauthn::RegistrationResponse;
    /// assert!(RegistrationResponse::from_json(b"{}").is_err());
    /// ```
    pub fn from_json(json: &[u8]) -> Result<Self, WebauthnError> {
        parse_json(json, "registration response")
    }

    /// Converts an already parsed JSON value.
    ///
    /// # Errors
    /// [`WebauthnError::Malformed`] for a value that is not a registration response.
    pub fn from_value(value: Value) -> Result<Self, WebauthnError> {
        serde_json::from_value(value).map_err(|_| WebauthnError::Malformed {
            what: "registration response",
        })
    }

    /// The challenge that `clientDataJSON` claims, unverified: what to look up in the
    /// [`Challenges`](crate::Challenges) store before verifying.
    ///
    /// # Errors
    /// [`WebauthnError::TooLarge`] or [`WebauthnError::Malformed`] when `clientDataJSON` is
    /// too large or not client data with a 32-byte challenge.
    pub fn claimed_challenge(&self) -> Result<Challenge, WebauthnError> {
        claimed(&self.response.client_data_json)
    }
}

impl AssertionResponse {
    /// Parses the JSON the browser posted.
    ///
    /// # Errors
    /// [`WebauthnError::TooLarge`] over 16 KiB, [`WebauthnError::Malformed`] for JSON that
    /// is not an assertion response.
    ///
    /// ```
    /// use credlock_webauthn::AssertionResponse;
    /// assert!(AssertionResponse::from_json(&[b' '; 20_000]).is_err());
    /// ```
    pub fn from_json(json: &[u8]) -> Result<Self, WebauthnError> {
        parse_json(json, "assertion response")
    }

    /// Converts an already parsed JSON value.
    ///
    /// # Errors
    /// [`WebauthnError::Malformed`] for a value that is not an assertion response.
    pub fn from_value(value: Value) -> Result<Self, WebauthnError> {
        serde_json::from_value(value).map_err(|_| WebauthnError::Malformed {
            what: "assertion response",
        })
    }

    /// The challenge that `clientDataJSON` claims, unverified: what to look up in the
    /// [`Challenges`](crate::Challenges) store before verifying.
    ///
    /// # Errors
    /// As [`RegistrationResponse::claimed_challenge`].
    pub fn claimed_challenge(&self) -> Result<Challenge, WebauthnError> {
        claimed(&self.response.client_data_json)
    }

    /// The credential ID the assertion claims (its `id`), unverified: which stored
    /// credential to verify it against.
    ///
    /// # Errors
    /// [`WebauthnError::Malformed`] or [`WebauthnError::TooLarge`] for an `id` that is not a
    /// credential ID in base64url.
    pub fn claimed_credential_id(&self) -> Result<crate::CredentialId, WebauthnError> {
        crate::CredentialId::from_base64url(&self.id)
    }

    /// The user handle the authenticator returned (`response.userHandle`), unverified: with
    /// a discoverable credential and no `allowCredentials`, which account to look the
    /// credential up in. `None` when absent or empty.
    ///
    /// # Errors
    /// [`WebauthnError::Malformed`] or [`WebauthnError::TooLarge`] for a `userHandle` that
    /// is not a user handle (1 to 64 bytes) in base64url.
    pub fn claimed_user_handle(&self) -> Result<Option<crate::UserHandle>, WebauthnError> {
        match self.response.user_handle.as_deref() {
            None | Some("") => Ok(None),
            Some(text) => {
                let bytes = encoding::decode(text, crate::limits::MAX_USER_HANDLE, "user handle")?;
                crate::UserHandle::new(bytes).map(Some)
            }
        }
    }
}
