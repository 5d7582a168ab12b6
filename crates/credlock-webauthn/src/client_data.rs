//! `clientDataJSON`: what the browser says about the ceremony, hashed into what the
//! authenticator signs.

use serde::Deserialize;

use crate::{Challenge, RelyingParty, WebauthnError};

#[derive(Deserialize)]
pub(crate) struct ClientData {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) challenge: String,
    pub(crate) origin: String,
    #[serde(rename = "crossOrigin", default)]
    pub(crate) cross_origin: Option<bool>,
}

impl ClientData {
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, WebauthnError> {
        serde_json::from_slice(bytes).map_err(|_| WebauthnError::Malformed {
            what: "clientDataJSON",
        })
    }

    /// Checks the ceremony type, the challenge, the origin and that the ceremony was not
    /// cross-origin, in that order.
    pub(crate) fn check(
        &self,
        kind: &str,
        expected: &Challenge,
        rp: &RelyingParty,
    ) -> Result<(), WebauthnError> {
        if self.kind != kind {
            return Err(WebauthnError::WrongType);
        }
        let challenge = Challenge::from_base64url(&self.challenge)
            .map_err(|_| WebauthnError::ChallengeMismatch)?;
        if !expected.matches(challenge.as_bytes()) {
            return Err(WebauthnError::ChallengeMismatch);
        }
        if !rp.allows_origin(&self.origin) {
            return Err(WebauthnError::WrongOrigin);
        }
        if self.cross_origin == Some(true) {
            return Err(WebauthnError::CrossOrigin);
        }
        Ok(())
    }
}
