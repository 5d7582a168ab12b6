//! Helpers shared by the integration tests: a relying party, a software authenticator with
//! a registered credential, and ways to edit what the browser posts.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use credlock_webauthn::*;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

pub const ORIGIN: &str = "http://localhost:8080";
pub const OTHER_ALLOWED_ORIGIN: &str = "https://localhost:8443";

pub fn rp() -> RelyingParty {
    RelyingParty::new("localhost", "credlock", [ORIGIN, OTHER_ALLOWED_ORIGIN])
}

pub fn b64d(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

pub fn b64e(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes the base64url field at `pointer`, lets `edit` change the bytes, encodes it back.
pub fn edit(json: &mut Value, pointer: &str, edit: impl FnOnce(&mut Vec<u8>)) {
    let field = json.pointer_mut(pointer).unwrap();
    let mut bytes = b64d(field.as_str().unwrap());
    edit(&mut bytes);
    *field = Value::String(b64e(&bytes));
}

/// Parses the JSON client data at `pointer`, lets `edit` change it, encodes it back.
pub fn edit_client_data(json: &mut Value, edit_json: impl FnOnce(&mut Value)) {
    edit(json, "/response/clientDataJSON", |bytes| {
        let mut data: Value = serde_json::from_slice(bytes).unwrap();
        edit_json(&mut data);
        *bytes = serde_json::to_vec(&data).unwrap();
    });
}

pub fn registration(
    rp: &RelyingParty,
    json: &Value,
    c: &Challenge,
) -> Result<RegisteredCredential, WebauthnError> {
    verify_registration(rp, &RegistrationResponse::from_value(json.clone())?, c)
}

pub fn assertion(
    rp: &RelyingParty,
    json: &Value,
    cred: &RegisteredCredential,
    c: &Challenge,
    require_uv: bool,
) -> Result<VerifiedAssertion, WebauthnError> {
    verify_assertion(
        rp,
        &AssertionResponse::from_value(json.clone())?,
        cred,
        c,
        require_uv,
    )
}

/// A registration response from `auth` and the challenge it answers.
pub fn register(auth: &mut SoftwareAuthenticator) -> (Value, Challenge) {
    let challenge = Challenge::random().unwrap();
    let user = UserHandle::random().unwrap();
    let options = creation_options(&rp(), &user, "alice", &challenge, &[]);
    (auth.register(&options, ORIGIN).unwrap(), challenge)
}

pub struct Fixture {
    pub rp: RelyingParty,
    pub auth: SoftwareAuthenticator,
    pub cred: RegisteredCredential,
}

/// An authenticator with one registered, verified credential.
pub fn registered() -> Fixture {
    let mut auth = SoftwareAuthenticator::new("localhost");
    let (json, challenge) = register(&mut auth);
    let cred = registration(&rp(), &json, &challenge).unwrap();
    Fixture {
        rp: rp(),
        auth,
        cred,
    }
}

impl Fixture {
    /// An assertion response for `salts` and the challenge it answers.
    pub fn assert(&mut self, salts: &PrfSalts) -> (Value, Challenge) {
        self.assert_from(salts, ORIGIN)
    }

    pub fn assert_from(&mut self, salts: &PrfSalts, origin: &str) -> (Value, Challenge) {
        let challenge = Challenge::random().unwrap();
        let options = request_options(
            &self.rp,
            std::slice::from_ref(&self.cred.id),
            &challenge,
            salts,
        );
        (self.auth.assert(&options, origin).unwrap(), challenge)
    }

    /// Asserts, verifies (UV required), records the counter; returns the PRF outputs.
    pub fn unlock(&mut self, salts: &PrfSalts) -> PrfOutputs {
        let (json, c) = self.assert(salts);
        let verified = assertion(&self.rp, &json, &self.cred, &c, true).unwrap();
        self.cred.record(&verified);
        verified.prf.unwrap()
    }
}

pub fn salts(first: u8, second: Option<u8>) -> PrfSalts {
    PrfSalts::new([first; 32], second.map(|s| [s; 32]))
}

/// Registration authenticator data built by hand.
pub fn reg_auth_data(
    rp_id: &str,
    flags: u8,
    cred_id: &[u8],
    cose_key: &[u8],
    ext: Option<&[u8]>,
) -> Vec<u8> {
    let mut data = Sha256::digest(rp_id.as_bytes()).to_vec();
    data.push(flags);
    data.extend_from_slice(&[0; 4]);
    data.extend_from_slice(&[0; 16]);
    data.extend_from_slice(&u16::try_from(cred_id.len()).unwrap().to_be_bytes());
    data.extend_from_slice(cred_id);
    data.extend_from_slice(cose_key);
    if let Some(ext) = ext {
        data.extend_from_slice(ext);
    }
    data
}

pub fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::ser::into_writer(value, &mut out).unwrap();
    out
}

pub fn text(s: &str) -> Cbor {
    Cbor::Text(s.into())
}

/// The attestation object's members, decoded.
pub fn attestation_members(json: &Value) -> Vec<(Cbor, Cbor)> {
    let bytes = b64d(
        json.pointer("/response/attestationObject")
            .unwrap()
            .as_str()
            .unwrap(),
    );
    let value: Cbor = ciborium::de::from_reader(bytes.as_slice()).unwrap();
    value.into_map().unwrap()
}

pub fn set_attestation(json: &mut Value, members: Vec<(Cbor, Cbor)>) {
    let bytes = cbor(&Cbor::Map(members));
    *json.pointer_mut("/response/attestationObject").unwrap() = Value::String(b64e(&bytes));
}

/// The authenticator data inside a registration response.
pub fn registration_auth_data(json: &Value) -> Vec<u8> {
    attestation_members(json)
        .into_iter()
        .find(|(k, _)| *k == text("authData"))
        .and_then(|(_, v)| v.into_bytes().ok())
        .unwrap()
}

/// Replaces the authenticator data inside a registration response.
pub fn set_registration_auth_data(json: &mut Value, auth_data: Vec<u8>) {
    let members = attestation_members(json)
        .into_iter()
        .map(|(k, v)| {
            if k == text("authData") {
                (k, Cbor::Bytes(auth_data.clone()))
            } else {
                (k, v)
            }
        })
        .collect();
    set_attestation(json, members);
}

/// The COSE_Key of an ES256 key with the given parameters (label, value) replaced or added.
pub fn cose_key(x: &[u8], y: &[u8], overrides: &[(i64, Option<Cbor>)]) -> Vec<u8> {
    let mut params: Vec<(i64, Cbor)> = vec![
        (1, Cbor::Integer(2.into())),
        (3, Cbor::Integer((-7).into())),
        (-1, Cbor::Integer(1.into())),
        (-2, Cbor::Bytes(x.to_vec())),
        (-3, Cbor::Bytes(y.to_vec())),
    ];
    for (label, value) in overrides {
        params.retain(|(l, _)| l != label);
        if let Some(v) = value {
            params.push((*label, v.clone()));
        }
    }
    cbor(&Cbor::Map(
        params
            .into_iter()
            .map(|(l, v)| (Cbor::Integer(l.into()), v))
            .collect(),
    ))
}
