//! Every size limit, at the limit and one byte past it, and what the public types show in
//! `Debug`.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use credlock_webauthn::limits::*;
use credlock_webauthn::*;
use serde_json::json;

fn too_large(what: &'static str, limit: usize) -> Option<WebauthnError> {
    Some(WebauthnError::TooLarge { what, limit })
}

#[test]
fn registration_limits_are_exact() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    let (json, c) = register(&mut auth);
    let with = |pointer: &str, bytes: Vec<u8>| {
        let mut json = json.clone();
        *json.pointer_mut(pointer).unwrap() = json!(b64e(&bytes));
        registration(&rp(), &json, &c).err()
    };
    let cdj = "/response/clientDataJSON";
    assert_eq!(
        with(cdj, vec![b' '; MAX_CLIENT_DATA_JSON]),
        Some(WebauthnError::Malformed {
            what: "clientDataJSON"
        })
    );
    assert_eq!(
        with(cdj, vec![b' '; MAX_CLIENT_DATA_JSON + 1]),
        too_large("clientDataJSON", MAX_CLIENT_DATA_JSON)
    );
    let att = "/response/attestationObject";
    assert_eq!(
        with(att, vec![0; MAX_ATTESTATION_OBJECT]),
        Some(WebauthnError::Malformed {
            what: "attestation object"
        })
    );
    assert_eq!(
        with(att, vec![0; MAX_ATTESTATION_OBJECT + 1]),
        too_large("attestation object", MAX_ATTESTATION_OBJECT)
    );

    let data = |len: usize| {
        let mut json = json.clone();
        let mut d = registration_auth_data(&json);
        d.resize(len, 0);
        set_registration_auth_data(&mut json, d);
        registration(&rp(), &json, &c).err()
    };
    assert_eq!(
        data(MAX_REGISTRATION_AUTH_DATA),
        Some(WebauthnError::Malformed {
            what: "authenticator data"
        })
    );
    assert_eq!(
        data(MAX_REGISTRATION_AUTH_DATA + 1),
        too_large("authenticator data", MAX_REGISTRATION_AUTH_DATA)
    );
}

#[test]
fn assertion_limits_are_exact() {
    let mut f = registered();
    let (json, c) = f.assert(&salts(1, None));
    let with = |pointer: &str, bytes: Vec<u8>| {
        let mut json = json.clone();
        json.as_object_mut().unwrap().remove("rawId");
        *json.pointer_mut(pointer).unwrap() = json!(b64e(&bytes));
        assertion(&f.rp, &json, &f.cred, &c, true).err()
    };
    let data = "/response/authenticatorData";
    let mut at_limit = b64d(json.pointer(data).unwrap().as_str().unwrap());
    at_limit.resize(MAX_ASSERTION_AUTH_DATA, 0);
    assert_eq!(
        with(data, at_limit.clone()),
        Some(WebauthnError::Malformed {
            what: "authenticator data"
        })
    );
    at_limit.push(0);
    assert_eq!(
        with(data, at_limit),
        too_large("authenticator data", MAX_ASSERTION_AUTH_DATA)
    );
    let sig = "/response/signature";
    assert_eq!(
        with(sig, vec![0x30; MAX_SIGNATURE]),
        Some(WebauthnError::BadSignature)
    );
    assert_eq!(
        with(sig, vec![0x30; MAX_SIGNATURE + 1]),
        too_large("signature", MAX_SIGNATURE)
    );
    let id = "/id";
    assert_eq!(
        with(id, vec![1; MAX_CREDENTIAL_ID]),
        Some(WebauthnError::WrongCredential)
    );
    assert_eq!(
        with(id, vec![1; MAX_CREDENTIAL_ID + 1]),
        too_large("credential ID", MAX_CREDENTIAL_ID)
    );
}

#[test]
fn posted_json_limit_is_exact() {
    let body = |len: usize| {
        let mut text = String::from("{\"id\":\"");
        text.push_str(&"A".repeat(len - text.len() - 2));
        text.push_str("\"}");
        assert_eq!(text.len(), len);
        text
    };
    let at_limit = body(MAX_RESPONSE_JSON);
    assert_eq!(
        AssertionResponse::from_json(at_limit.as_bytes()).err(),
        Some(WebauthnError::Malformed {
            what: "assertion response"
        })
    );
    assert_eq!(
        RegistrationResponse::from_json(at_limit.as_bytes()).err(),
        Some(WebauthnError::Malformed {
            what: "registration response"
        })
    );
    let past = body(MAX_RESPONSE_JSON + 1);
    assert_eq!(
        AssertionResponse::from_json(past.as_bytes()).err(),
        too_large("assertion response", MAX_RESPONSE_JSON)
    );
}

#[test]
fn identifiers_and_keys_show_as_base64url() {
    let id = CredentialId::new(vec![0xfb, 0xff]).unwrap();
    assert_eq!(format!("{id:?}"), "CredentialId(\"-_8\")");
    let user = UserHandle::new(vec![1, 2, 3]).unwrap();
    assert_eq!(format!("{user:?}"), "UserHandle(\"AQID\")");
    assert_eq!(user.to_base64url(), "AQID");
    assert_eq!(serde_json::to_value(&user).unwrap(), json!("AQID"));
    assert_eq!(
        serde_json::from_value::<UserHandle>(json!("AQID")).unwrap(),
        user
    );
    assert!(serde_json::from_value::<UserHandle>(json!("")).is_err());
    assert!(serde_json::from_value::<CredentialId>(json!("")).is_err());
    let f = registered();
    let key = &f.cred.public_key;
    assert_eq!(
        format!("{key:?}"),
        format!("CredentialPublicKey(\"{}\")", b64e(&key.to_sec1_bytes()))
    );
    assert_eq!(
        CredentialPublicKey::from_sec1_bytes(&key.to_sec1_bytes()).unwrap(),
        *key
    );
    let stored = serde_json::to_value(&f.cred).unwrap();
    assert_eq!(stored["public_key"], json!(b64e(&key.to_sec1_bytes())));
    assert_eq!(stored["id"], json!(f.cred.id.to_base64url()));
    let mut off_curve = key.to_sec1_bytes();
    off_curve[64] ^= 1;
    assert!(CredentialPublicKey::from_sec1_bytes(&off_curve).is_err());
    let mut bad = stored.clone();
    bad["public_key"] = json!(b64e(&off_curve));
    assert!(serde_json::from_value::<RegisteredCredential>(bad).is_err());
    let challenge = Challenge::from_bytes([0; 32]);
    assert_eq!(
        serde_json::to_value(&challenge).unwrap(),
        json!(challenge.to_base64url())
    );
    assert_eq!(
        serde_json::from_value::<Challenge>(json!(challenge.to_base64url())).unwrap(),
        challenge
    );
}

#[test]
fn errors_name_no_input() {
    // Messages are fixed text and small numbers.
    assert_eq!(
        WebauthnError::CounterRegressed {
            stored: 5,
            received: 3
        }
        .to_string(),
        "the signature counter went from 5 to 3: possibly a cloned authenticator"
    );
    assert_eq!(
        WebauthnError::TooLarge {
            what: "signature",
            limit: 72
        }
        .to_string(),
        "the signature is larger than 72 bytes"
    );
    assert!(
        WebauthnError::TooManyChallenges
            .to_string()
            .contains("challenges")
    );
    assert!(!WebauthnError::TooManyChallenges.is_client_fault());
}
