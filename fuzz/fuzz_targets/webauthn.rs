//! WebAuthn responses from browsers: any bytes as the posted JSON, any bytes in each field of
//! a registration or an assertion, and a genuine assertion with bytes changed. Nothing
//! panics; a genuine assertion changed anywhere it is signed never verifies.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use credlock_webauthn::{
    AssertionResponse, Challenge, PrfSalts, RegisteredCredential, RegistrationResponse,
    RelyingParty, SoftwareAuthenticator, UserHandle, creation_options, request_options,
    verify_assertion, verify_registration,
};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

#[derive(Arbitrary, Debug)]
enum Input {
    /// Any bytes as the JSON a browser posts, for both ceremonies.
    Json(Vec<u8>),
    /// Any bytes in each field of a registration response.
    Registration {
        id: Vec<u8>,
        raw_id: Option<Vec<u8>>,
        client_data: Vec<u8>,
        attestation_object: Vec<u8>,
        prf_enabled: Option<bool>,
    },
    /// Any authenticator data in a well-formed attestation object, after the right RP ID
    /// hash when `rp_hash` is set, under genuine client data.
    RegistrationAuthData {
        fmt: u8,
        rp_hash: bool,
        auth_data: Vec<u8>,
        att_stmt: Vec<u8>,
    },
    /// Any bytes in each field of an assertion response, with the genuine client data when
    /// `genuine_client_data` is set.
    Assertion {
        id: Option<Vec<u8>>,
        genuine_client_data: bool,
        client_data: Vec<u8>,
        rp_hash: bool,
        auth_data: Vec<u8>,
        signature: Vec<u8>,
        prf_first: Option<Vec<u8>>,
        prf_second: Option<Vec<u8>>,
    },
    /// A genuine assertion with bytes of one signed field changed.
    Edit {
        field: u8,
        edits: Vec<(u16, u8)>,
        cut: Option<u16>,
    },
}

struct Fixture {
    rp: RelyingParty,
    credential: RegisteredCredential,
    registration: Value,
    registration_challenge: Challenge,
    assertion: Value,
    assertion_challenge: Challenge,
}

const ORIGIN: &str = "http://localhost:8080";

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let rp = RelyingParty::new("localhost", "fuzz", [ORIGIN]);
        let mut authenticator = SoftwareAuthenticator::new("localhost");
        let registration_challenge = Challenge::from_bytes([1; 32]);
        let user = UserHandle::new(vec![1]).expect("user handle");
        let options = creation_options(&rp, &user, "fuzz", &registration_challenge, &[]);
        let registration = authenticator.register(&options, ORIGIN).expect("register");
        let response = RegistrationResponse::from_value(registration.clone()).expect("response");
        let credential =
            verify_registration(&rp, &response, &registration_challenge).expect("registered");
        let assertion_challenge = Challenge::from_bytes([2; 32]);
        let salts = PrfSalts::new([3; 32], Some([4; 32]));
        let options = request_options(&rp, &[credential.id.clone()], &assertion_challenge, &salts);
        let assertion = authenticator.assert(&options, ORIGIN).expect("assert");
        Fixture {
            rp,
            credential,
            registration,
            registration_challenge,
            assertion,
            assertion_challenge,
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn field(json: &Value, pointer: &str) -> Vec<u8> {
    let text = json
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default();
    URL_SAFE_NO_PAD.decode(text).unwrap_or_default()
}

fn cbor(value: &ciborium::Value) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = ciborium::ser::into_writer(value, &mut out);
    out
}

fn rp_hash_then(rp_hash: bool, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if rp_hash {
        use sha2::Digest as _;
        out.extend_from_slice(&sha2::Sha256::digest(b"localhost"));
    }
    out.extend_from_slice(bytes);
    out
}

fn register(f: &Fixture, json: Value) {
    if let Ok(response) = RegistrationResponse::from_value(json) {
        let _ = response.claimed_challenge();
        let _ = verify_registration(&f.rp, &response, &f.registration_challenge);
    }
}

fn assert(f: &Fixture, json: Value) -> bool {
    let Ok(response) = AssertionResponse::from_value(json) else {
        return false;
    };
    let _ = response.claimed_challenge();
    let _ = response.claimed_credential_id();
    verify_assertion(
        &f.rp,
        &response,
        &f.credential,
        &f.assertion_challenge,
        false,
    )
    .is_ok()
}

fuzz_target!(|input: Input| {
    let f = fixture();
    match input {
        Input::Json(bytes) => {
            if let Ok(response) = RegistrationResponse::from_json(&bytes) {
                let _ = verify_registration(&f.rp, &response, &f.registration_challenge);
            }
            if let Ok(response) = AssertionResponse::from_json(&bytes) {
                let _ = verify_assertion(
                    &f.rp,
                    &response,
                    &f.credential,
                    &f.assertion_challenge,
                    true,
                );
            }
        }
        Input::Registration {
            id,
            raw_id,
            client_data,
            attestation_object,
            prf_enabled,
        } => {
            let mut json = json!({
                "id": b64(&id),
                "response": {
                    "clientDataJSON": b64(&client_data),
                    "attestationObject": b64(&attestation_object),
                },
                "clientExtensionResults": { "prf": { "enabled": prf_enabled } },
            });
            if let Some(raw_id) = raw_id {
                json["rawId"] = b64(&raw_id).into();
            }
            register(f, json);
        }
        Input::RegistrationAuthData {
            fmt,
            rp_hash,
            auth_data,
            att_stmt,
        } => {
            use ciborium::Value as C;
            let fmt = ["none", "packed", "tpm"][usize::from(fmt % 3)];
            let stmt = ciborium::de::from_reader(att_stmt.as_slice()).unwrap_or(C::Map(vec![]));
            let object = C::Map(vec![
                (C::Text("fmt".into()), C::Text(fmt.into())),
                (C::Text("attStmt".into()), stmt),
                (
                    C::Text("authData".into()),
                    C::Bytes(rp_hash_then(rp_hash, &auth_data)),
                ),
            ]);
            let mut json = f.registration.clone();
            json["response"]["attestationObject"] = b64(&cbor(&object)).into();
            register(f, json);
        }
        Input::Assertion {
            id,
            genuine_client_data,
            client_data,
            rp_hash,
            auth_data,
            signature,
            prf_first,
            prf_second,
        } => {
            let mut json = f.assertion.clone();
            if let Some(id) = id {
                json["id"] = b64(&id).into();
            }
            if !genuine_client_data {
                json["response"]["clientDataJSON"] = b64(&client_data).into();
            }
            json["response"]["authenticatorData"] = b64(&rp_hash_then(rp_hash, &auth_data)).into();
            json["response"]["signature"] = b64(&signature).into();
            let mut results = json!({});
            if let Some(first) = prf_first {
                results["first"] = b64(&first).into();
            }
            if let Some(second) = prf_second {
                results["second"] = b64(&second).into();
            }
            json["clientExtensionResults"] = json!({ "prf": { "results": results } });
            // Arbitrary authenticator data and signature bytes never verify.
            assert!(!assert(f, json), "forged assertion verified");
        }
        Input::Edit {
            field: which,
            edits,
            cut,
        } => {
            let pointer = [
                "/response/clientDataJSON",
                "/response/authenticatorData",
                "/response/signature",
            ][usize::from(which % 3)];
            let original = field(&f.assertion, pointer);
            let mut bytes = original.clone();
            for (at, xor) in edits {
                let len = bytes.len().max(1);
                if let Some(b) = bytes.get_mut(usize::from(at) % len) {
                    *b ^= xor;
                }
            }
            if let Some(cut) = cut {
                bytes.truncate(usize::from(cut));
            }
            let mut json = f.assertion.clone();
            json.pointer_mut(pointer).map(|v| *v = b64(&bytes).into());
            let verified = assert(f, json);
            assert_eq!(verified, bytes == original, "an edited assertion verified");
        }
    }
});
