//! The options the browser passes to `navigator.credentials.create` and `.get`, as JSON.

use serde_json::{Map, Value, json};

use crate::{Challenge, Challenges, CredentialId, PrfSalts, RelyingParty, UserHandle, encoding};

/// COSE algorithm ES256: ECDSA on P-256 with SHA-256.
pub(crate) const ES256: i64 = -7;

/// What the server asks of user verification in an assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserVerification {
    /// The authenticator must verify the user (PIN, biometrics).
    Required,
    /// Verify when the authenticator can.
    Preferred,
    /// Do not verify.
    Discouraged,
}

impl UserVerification {
    fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Preferred => "preferred",
            Self::Discouraged => "discouraged",
        }
    }
}

fn timeout_ms() -> u64 {
    u64::try_from(Challenges::DEFAULT_TTL.as_millis()).unwrap_or(u64::MAX)
}

fn descriptors(ids: impl Iterator<Item = String>) -> Value {
    Value::Array(
        ids.map(|id| json!({ "type": "public-key", "id": id }))
            .collect(),
    )
}

fn prf_values(salts: &PrfSalts) -> Value {
    let mut values = Map::new();
    values.insert("first".into(), encoding::encode(&salts.first).into());
    if let Some(second) = &salts.second {
        values.insert("second".into(), encoding::encode(second).into());
    }
    Value::Object(values)
}

/// The options for `navigator.credentials.create`, in WebAuthn's JSON form
/// (`PublicKeyCredentialCreationOptionsJSON`: binary fields as unpadded base64url, for
/// `PublicKeyCredential.parseCreationOptionsFromJSON`).
///
/// It asks for ES256 only, a discoverable credential if possible (`residentKey:
/// "preferred"`), user verification if possible, no attestation (`attestation: "none"`), and
/// the PRF extension (`extensions: {prf: {}}`); `exclude` lists the user's existing
/// credentials so that one authenticator is not registered twice.
///
/// ```
/// use credlock_webauthn::*;
/// let rp = RelyingParty::new("localhost", "credlock", ["http://localhost:8080"]);
/// let user = UserHandle::new(vec![1, 2, 3])?;
/// let challenge = Challenge::from_bytes([0; 32]);
/// let options = creation_options(&rp, &user, "alice", &challenge, &[]);
/// assert_eq!(options["rp"]["id"], "localhost");
/// assert_eq!(options["user"]["id"], "AQID");
/// assert_eq!(options["pubKeyCredParams"][0]["alg"], -7);
/// assert_eq!(options["extensions"]["prf"], serde_json::json!({}));
/// # Ok::<(), WebauthnError>(())
/// ```
#[must_use]
pub fn creation_options(
    rp: &RelyingParty,
    user_handle: &UserHandle,
    user_name: &str,
    challenge: &Challenge,
    exclude: &[CredentialId],
) -> Value {
    json!({
        "rp": { "id": rp.id, "name": rp.name },
        "user": {
            "id": user_handle.to_base64url(),
            "name": user_name,
            "displayName": user_name,
        },
        "challenge": challenge.to_base64url(),
        "pubKeyCredParams": [{ "type": "public-key", "alg": ES256 }],
        "timeout": timeout_ms(),
        "excludeCredentials": descriptors(exclude.iter().map(CredentialId::to_base64url)),
        "authenticatorSelection": {
            "residentKey": "preferred",
            "requireResidentKey": false,
            "userVerification": "preferred",
        },
        "attestation": "none",
        "extensions": { "prf": {} },
    })
}

/// The options for `navigator.credentials.get`, in WebAuthn's JSON form
/// (`PublicKeyCredentialRequestOptionsJSON`, for
/// `PublicKeyCredential.parseRequestOptionsFromJSON`), with the same PRF salts for every
/// allowed credential.
///
/// With credentials in `allow`, the salts go in `extensions.prf.evalByCredential`, keyed by
/// each credential ID in base64url; with none (a discoverable-credential sign-in), in
/// `extensions.prf.eval`. Salts are unpadded base64url. User verification is `required`:
/// an authenticator's `hmac-secret` gives different outputs with and without user
/// verification (CTAP 2.1 keeps two secrets per credential), so a PRF-wrapped key only
/// unwraps consistently when every assertion verifies the user.
///
/// ```
/// use credlock_webauthn::*;
/// let rp = RelyingParty::new("localhost", "credlock", ["http://localhost:8080"]);
/// let id = CredentialId::new(vec![1, 2, 3])?;
/// let challenge = Challenge::from_bytes([0; 32]);
/// let options = request_options(&rp, &[id], &challenge, &PrfSalts::new([0; 32], None));
/// assert_eq!(options["rpId"], "localhost");
/// assert_eq!(options["allowCredentials"][0]["id"], "AQID");
/// assert_eq!(
///     options["extensions"]["prf"]["evalByCredential"]["AQID"]["first"],
///     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
/// );
/// # Ok::<(), WebauthnError>(())
/// ```
#[must_use]
pub fn request_options(
    rp: &RelyingParty,
    allow: &[CredentialId],
    challenge: &Challenge,
    prf: &PrfSalts,
) -> Value {
    let allow: Vec<(CredentialId, PrfSalts)> =
        allow.iter().map(|id| (id.clone(), prf.clone())).collect();
    if allow.is_empty() {
        let mut options =
            request_options_by_credential(rp, &[], challenge, UserVerification::Required);
        options["extensions"] = json!({ "prf": { "eval": prf_values(prf) } });
        return options;
    }
    request_options_by_credential(rp, &allow, challenge, UserVerification::Required)
}

/// The options for `navigator.credentials.get` with salts of their own for each allowed
/// credential (one passkey keyslot per credential, each with its own salts), and the user
/// verification to ask for. An empty `allow` asks for no PRF evaluation.
///
/// ```
/// use credlock_webauthn::*;
/// let rp = RelyingParty::new("localhost", "credlock", ["http://localhost:8080"]);
/// let a = CredentialId::new(vec![1])?;
/// let b = CredentialId::new(vec![2])?;
/// let options = request_options_by_credential(
///     &rp,
///     &[(a, PrfSalts::new([1; 32], None)), (b, PrfSalts::new([2; 32], Some([3; 32])))],
///     &Challenge::from_bytes([0; 32]),
///     UserVerification::Required,
/// );
/// assert_eq!(options["userVerification"], "required");
/// let by_cred = &options["extensions"]["prf"]["evalByCredential"];
/// assert!(by_cred["AQ"]["second"].is_null());
/// assert!(by_cred["Ag"]["second"].is_string());
/// # Ok::<(), WebauthnError>(())
/// ```
#[must_use]
pub fn request_options_by_credential(
    rp: &RelyingParty,
    allow: &[(CredentialId, PrfSalts)],
    challenge: &Challenge,
    user_verification: UserVerification,
) -> Value {
    let mut by_credential = Map::new();
    for (id, salts) in allow {
        by_credential.insert(id.to_base64url(), prf_values(salts));
    }
    let extensions = if by_credential.is_empty() {
        json!({})
    } else {
        json!({ "prf": { "evalByCredential": by_credential } })
    };
    json!({
        "challenge": challenge.to_base64url(),
        "rpId": rp.id,
        "timeout": timeout_ms(),
        "allowCredentials": descriptors(allow.iter().map(|(id, _)| id.to_base64url())),
        "userVerification": user_verification.as_str(),
        "extensions": extensions,
    })
}
