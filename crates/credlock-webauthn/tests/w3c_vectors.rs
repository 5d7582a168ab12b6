//! The WebAuthn Level 3 specification's own test vectors (§16, copied into
//! `testdata/webauthn/w3c-vectors.json`, see its README): registrations and assertions made
//! by another implementation verify here as they stand, and the PRF extension's CTAP2
//! mapping matches the software authenticator's.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use credlock_webauthn::*;
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/webauthn/w3c-vectors.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn example_org() -> RelyingParty {
    RelyingParty::new("example.org", "example", ["https://example.org"])
}

fn challenge(v: &Value) -> Challenge {
    Challenge::from_bytes(hex(&v["challenge"]).try_into().unwrap())
}

fn registration_json(reg: &Value) -> Value {
    let id = b64e(&hex(&reg["credential_id"]));
    json!({
        "id": id, "rawId": id, "type": "public-key",
        "response": {
            "clientDataJSON": b64e(&hex(&reg["clientDataJSON"])),
            "attestationObject": b64e(&hex(&reg["attestationObject"])),
        },
        "clientExtensionResults": {},
    })
}

fn assertion_json(reg: &Value, auth: &Value) -> Value {
    let id = b64e(&hex(&reg["credential_id"]));
    json!({
        "id": id, "rawId": id, "type": "public-key",
        "response": {
            "clientDataJSON": b64e(&hex(&auth["clientDataJSON"])),
            "authenticatorData": b64e(&hex(&auth["authenticatorData"])),
            "signature": b64e(&hex(&auth["signature"])),
        },
        "clientExtensionResults": {},
    })
}

fn check_vector(name: &str, user_verified_at_registration: bool) {
    let v = &vectors()[name];
    let (reg, auth) = (&v["registration"], &v["authentication"]);
    let rp = example_org();
    let cred = registration(&rp, &registration_json(reg), &challenge(reg)).unwrap();
    assert_eq!(cred.id.as_bytes(), hex(&reg["credential_id"]));
    assert_eq!(cred.aaguid.as_slice(), hex(&reg["aaguid"]));
    assert_eq!(cred.sign_count, 0);
    assert_eq!(cred.user_verified, user_verified_at_registration);
    assert!(cred.backup_eligible);
    assert!(!cred.prf_enabled);
    // The key parsed from the COSE_Key is the one of the published private key.
    let private =
        p256::ecdsa::SigningKey::from_slice(&hex(&reg["credential_private_key"])).unwrap();
    assert_eq!(
        cred.public_key.to_sec1_bytes(),
        private.verifying_key().to_sec1_point(false).as_bytes()
    );

    let json = assertion_json(reg, auth);
    let verified = assertion(&rp, &json, &cred, &challenge(auth), false).unwrap();
    assert_eq!(verified.new_sign_count, 0);
    assert!(verified.prf.is_none());
    // Neither assertion verified the user.
    assert_eq!(
        assertion(&rp, &json, &cred, &challenge(auth), true).err(),
        Some(WebauthnError::UserNotVerified)
    );
    // Another RP, another challenge, a changed byte: refused.
    let other = RelyingParty::new("example.com", "x", ["https://example.org"]);
    assert_eq!(
        assertion(&other, &json, &cred, &challenge(auth), false).err(),
        Some(WebauthnError::WrongRpId)
    );
    assert_eq!(
        assertion(&rp, &json, &cred, &challenge(reg), false).err(),
        Some(WebauthnError::ChallengeMismatch)
    );
    let mut changed = json.clone();
    edit(&mut changed, "/response/authenticatorData", |d| d[33] ^= 1);
    assert_eq!(
        assertion(&rp, &changed, &cred, &challenge(auth), false).err(),
        Some(WebauthnError::BadSignature)
    );
}

#[test]
fn none_attestation_es256() {
    check_vector("none-es256", false);
}

#[test]
fn packed_self_attestation_es256() {
    check_vector("packed-self-es256", true);
}

#[test]
fn packed_self_attestation_with_a_changed_signature_is_refused() {
    let reg = &vectors()["packed-self-es256"]["registration"];
    let mut json = registration_json(reg);
    edit(&mut json, "/response/attestationObject", |o| {
        // The last byte of the signature, just before "authData" (h'68 61757468...').
        let at = o.windows(9).position(|w| w == b"\x68authData").unwrap();
        o[at - 1] ^= 1;
    });
    assert_eq!(
        registration(&example_org(), &json, &challenge(reg)).err(),
        Some(WebauthnError::BadSignature)
    );
}

#[test]
fn cross_origin_ceremonies_are_refused() {
    let v = &vectors()["none-es256-crossOrigin"];
    let (reg, auth) = (&v["registration"], &v["authentication"]);
    assert!(
        reg["clientDataJSON_text"]
            .as_str()
            .unwrap()
            .contains("\"crossOrigin\":true")
    );
    assert_eq!(
        registration(&example_org(), &registration_json(reg), &challenge(reg)).err(),
        Some(WebauthnError::CrossOrigin)
    );
    // With a credential registered from the non-cross-origin vector's key material, the
    // assertion is refused before its signature is looked at.
    let none = &vectors()["none-es256"]["registration"];
    let cred = registration(&example_org(), &registration_json(none), &challenge(none)).unwrap();
    let mut cred = cred;
    cred.id = CredentialId::new(hex(&reg["credential_id"])).unwrap();
    assert_eq!(
        assertion(
            &example_org(),
            &assertion_json(reg, auth),
            &cred,
            &challenge(auth),
            false
        )
        .err(),
        Some(WebauthnError::CrossOrigin)
    );
}

#[test]
fn prf_salts_are_hashed_as_the_specification_says() {
    let v = &vectors()["prf-hmac-secret"];
    assert_eq!(
        hmac_secret_salt(&hex(&v["prf_eval_first"])).as_slice(),
        hex(&v["salt1"])
    );
    assert_eq!(
        hmac_secret_salt(&hex(&v["prf_eval_second"])).as_slice(),
        hex(&v["salt2"])
    );
    let mut mac = <Hmac<Sha256>>::new_from_slice(&hex(&v["authenticator_cred_random"])).unwrap();
    mac.update(&hex(&v["salt1"]));
    assert_eq!(mac.finalize().into_bytes().as_slice(), hex(&v["output1"]));
}

#[test]
fn the_software_authenticator_gives_the_specifications_prf_outputs() {
    let v = &vectors()["prf-hmac-secret"];
    let rp = rp();
    let mut auth = SoftwareAuthenticator::new("localhost");
    let id = CredentialId::new(vec![1; 16]).unwrap();
    let none = &vectors()["none-es256"]["registration"];
    let private: [u8; 32] = hex(&none["credential_private_key"]).try_into().unwrap();
    let secret: [u8; 32] = hex(&v["authenticator_cred_random"]).try_into().unwrap();
    auth.import_credential(
        id.clone(),
        &private,
        secret,
        &UserHandle::new(vec![1]).unwrap(),
    )
    .unwrap();

    let c = Challenge::random().unwrap();
    let mut options = request_options(
        &rp,
        std::slice::from_ref(&id),
        &c,
        &PrfSalts::new([0; 32], None),
    );
    // The specification's inputs are 26 bytes: the JSON carries any length.
    options["extensions"] = json!({ "prf": { "eval": {
        "first": b64e(&hex(&v["prf_eval_first"])),
        "second": b64e(&hex(&v["prf_eval_second"])),
    } } });
    let json = auth.assert(&options, ORIGIN).unwrap();
    let public = p256::ecdsa::SigningKey::from_slice(&private).unwrap();
    let cred: RegisteredCredential = serde_json::from_value(json!({
        "id": id.to_base64url(),
        "public_key": b64e(public.verifying_key().to_sec1_point(false).as_bytes()),
        "sign_count": 0, "user_verified": true, "prf_enabled": true,
        "backup_eligible": false, "aaguid": ([0u8; 16]),
    }))
    .unwrap();
    let prf = assertion(&rp, &json, &cred, &c, true).unwrap().prf.unwrap();
    assert_eq!(prf.first.as_slice(), hex(&v["output1"]));
    assert_eq!(prf.second.unwrap().as_slice(), hex(&v["output2"]));
}
