//! Registration (WebAuthn §7.1): a new passkey's public key, checked.

use ciborium::Value;
use p256::ecdsa::Signature;
use p256::ecdsa::signature::Verifier as _;
use sha2::{Digest as _, Sha256};

use crate::auth_data::{AuthData, Ceremony};
use crate::client_data::ClientData;
use crate::limits::{
    MAX_ATTESTATION_OBJECT, MAX_CLIENT_DATA_JSON, MAX_CREDENTIAL_ID, MAX_REGISTRATION_AUTH_DATA,
    MAX_SIGNATURE,
};
use crate::options::ES256;
use crate::{
    Challenge, CredentialId, CredentialPublicKey, RegisteredCredential, RegistrationResponse,
    RelyingParty, WebauthnError, cbor, encoding,
};

const MALFORMED_ATT: WebauthnError = WebauthnError::Malformed {
    what: "attestation object",
};

/// The three members of an attestation object.
struct AttestationObject {
    fmt: String,
    att_stmt: Vec<(Value, Value)>,
    auth_data: Vec<u8>,
}

fn text_key(key: &Value) -> Option<&str> {
    key.as_text()
}

fn parse_attestation_object(bytes: &[u8]) -> Result<AttestationObject, WebauthnError> {
    let Value::Map(entries) = cbor::read_whole(bytes, "attestation object")? else {
        return Err(MALFORMED_ATT);
    };
    let (mut fmt, mut att_stmt, mut auth_data) = (None, None, None);
    for (key, value) in entries {
        let slot = match text_key(&key) {
            Some("fmt") => {
                let Value::Text(v) = value else {
                    return Err(MALFORMED_ATT);
                };
                fmt.replace(v).is_some()
            }
            Some("attStmt") => {
                let Value::Map(v) = value else {
                    return Err(MALFORMED_ATT);
                };
                att_stmt.replace(v).is_some()
            }
            Some("authData") => {
                let Value::Bytes(v) = value else {
                    return Err(MALFORMED_ATT);
                };
                auth_data.replace(v).is_some()
            }
            // Other members are not WebAuthn's; they are ignored (nothing signs them).
            _ => false,
        };
        if slot {
            // A member given twice.
            return Err(MALFORMED_ATT);
        }
    }
    let (Some(fmt), Some(att_stmt), Some(auth_data)) = (fmt, att_stmt, auth_data) else {
        return Err(MALFORMED_ATT);
    };
    if auth_data.len() > MAX_REGISTRATION_AUTH_DATA {
        return Err(WebauthnError::TooLarge {
            what: "authenticator data",
            limit: MAX_REGISTRATION_AUTH_DATA,
        });
    }
    Ok(AttestationObject {
        fmt,
        att_stmt,
        auth_data,
    })
}

/// Checks the attestation statement: `none` (empty statement), or `packed`
/// self-attestation (an ES256 signature by the credential's own key over authenticator data
/// and the client data hash, no certificate). Attestation with certificates is refused: the
/// options ask for none, and nothing here could use a certificate chain.
fn check_attestation(
    object: &AttestationObject,
    key: &CredentialPublicKey,
    client_data_hash: &[u8; 32],
) -> Result<(), WebauthnError> {
    match object.fmt.as_str() {
        "none" if object.att_stmt.is_empty() => Ok(()),
        "none" => Err(MALFORMED_ATT),
        "packed" => {
            let (mut alg, mut sig) = (None, None);
            for (k, v) in &object.att_stmt {
                let dup = match (text_key(k), v) {
                    (Some("alg"), Value::Integer(a)) => alg.replace(i128::from(*a)).is_some(),
                    (Some("sig"), Value::Bytes(s)) => sig.replace(s).is_some(),
                    // x5c (a certificate chain) or ecdaaKeyId: full attestation.
                    (Some("x5c" | "ecdaaKeyId"), _) => {
                        return Err(WebauthnError::UnsupportedAttestation);
                    }
                    _ => return Err(MALFORMED_ATT),
                };
                if dup {
                    return Err(MALFORMED_ATT);
                }
            }
            let (Some(alg), Some(sig)) = (alg, sig) else {
                return Err(MALFORMED_ATT);
            };
            if alg != i128::from(ES256) {
                return Err(WebauthnError::UnsupportedAlgorithm);
            }
            if sig.len() > MAX_SIGNATURE {
                return Err(WebauthnError::BadSignature);
            }
            let sig = Signature::from_der(sig).map_err(|_| WebauthnError::BadSignature)?;
            let mut signed = object.auth_data.clone();
            signed.extend_from_slice(client_data_hash);
            key.verifying_key()
                .verify(&signed, &sig)
                .map_err(|_| WebauthnError::BadSignature)
        }
        _ => Err(WebauthnError::UnsupportedAttestation),
    }
}

/// Verifies a registration response against the challenge issued for it, and returns the
/// credential to store.
///
/// Checks, in this order: the credential type (`public-key`, when given); `clientDataJSON`
/// (at most 4 KiB) is a `webauthn.create` for `expected`, from one of `rp.origins`, not
/// cross-origin; the attestation object (at most 4 KiB of CBOR) has `fmt`, `attStmt` and
/// `authData` (at most 2 KiB); the authenticator data is for `rp.id`, with user presence, and
/// carries attested credential data whose key is ES256 on P-256, followed only by a CBOR
/// map of extensions when its flag says so; the statement is `none` or `packed`
/// self-attestation (verified); `id` and `rawId` are the attested credential ID (at most
/// 1023 bytes). User verification is recorded, not required.
///
/// `expected` is the challenge taken from the [`Challenges`](crate::Challenges) store for a
/// [`Purpose::Registration`](crate::Purpose::Registration).
///
/// # Errors
/// The [`WebauthnError`] variant of the first check that fails; nothing is returned from a
/// response that fails any.
///
/// ```
/// # #[cfg(feature = "software-authenticator")] {
/// use credlock_webauthn::*;
/// let rp = RelyingParty::new("localhost", "credlock", ["http://localhost:8080"]);
/// let challenge = Challenge::random()?;
/// let options = creation_options(&rp, &UserHandle::random()?, "alice", &challenge, &[]);
/// // The browser and the authenticator answer the options...
/// let mut authenticator = SoftwareAuthenticator::new("localhost");
/// let posted = authenticator.register(&options, "http://localhost:8080")?;
/// // ...and the server verifies what was posted.
/// let response = RegistrationResponse::from_json(posted.to_string().as_bytes())?;
/// let credential = verify_registration(&rp, &response, &challenge)?;
/// assert!(credential.prf_enabled);
/// assert_eq!(
///     verify_registration(&rp, &response, &Challenge::random()?),
///     Err(WebauthnError::ChallengeMismatch)
/// );
/// # }
/// # Ok::<(), credlock_webauthn::WebauthnError>(())
/// ```
pub fn verify_registration(
    rp: &RelyingParty,
    response: &RegistrationResponse,
    expected: &Challenge,
) -> Result<RegisteredCredential, WebauthnError> {
    if response.kind.as_deref().is_some_and(|k| k != "public-key") {
        return Err(WebauthnError::WrongType);
    }
    let client_data_json = encoding::decode(
        &response.response.client_data_json,
        MAX_CLIENT_DATA_JSON,
        "clientDataJSON",
    )?;
    ClientData::parse(&client_data_json)?.check("webauthn.create", expected, rp)?;
    let client_data_hash: [u8; 32] = Sha256::digest(&client_data_json).into();

    let object = encoding::decode(
        &response.response.attestation_object,
        MAX_ATTESTATION_OBJECT,
        "attestation object",
    )?;
    let object = parse_attestation_object(&object)?;
    let auth_data = AuthData::parse(&object.auth_data, Ceremony::Registration, rp)?;
    let Some(attested) = &auth_data.attested else {
        return Err(WebauthnError::Malformed {
            what: "authenticator data",
        });
    };
    check_attestation(&object, &attested.public_key, &client_data_hash)?;

    let id = CredentialId::from_base64url(&response.id)?;
    if let Some(raw_id) = &response.raw_id {
        let raw = encoding::decode(raw_id, MAX_CREDENTIAL_ID, "rawId")?;
        if raw != id.as_bytes() {
            return Err(WebauthnError::Malformed { what: "rawId" });
        }
    }
    if id != attested.id {
        return Err(WebauthnError::WrongCredential);
    }

    let prf_enabled = response
        .client_extension_results
        .prf
        .as_ref()
        .and_then(|p| p.enabled)
        .unwrap_or(false);
    Ok(RegisteredCredential {
        id,
        public_key: attested.public_key.clone(),
        sign_count: auth_data.sign_count,
        user_verified: auth_data.user_verified(),
        prf_enabled,
        backup_eligible: auth_data.backup_eligible(),
        aaguid: attested.aaguid,
    })
}
