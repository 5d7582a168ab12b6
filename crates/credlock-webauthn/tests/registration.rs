//! Registration: the round trip, and one refusal per way a response can be wrong.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use ciborium::Value as Cbor;
use common::*;
use credlock_webauthn::limits::*;
use credlock_webauthn::*;
use serde_json::json;

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;
const ED: u8 = 0x80;

fn malformed(what: &'static str) -> Result<RegisteredCredential, WebauthnError> {
    Err(WebauthnError::Malformed { what })
}

#[test]
fn round_trip_with_attestation_none() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    let (json, challenge) = register(&mut auth);
    let response = RegistrationResponse::from_json(json.to_string().as_bytes()).unwrap();
    assert_eq!(response.claimed_challenge().unwrap(), challenge);
    let cred = verify_registration(&rp(), &response, &challenge).unwrap();
    assert_eq!(cred.id, auth.credential_ids()[0]);
    assert_eq!(cred.id.to_base64url(), json["id"]);
    assert_eq!(cred.sign_count, 0);
    assert!(cred.user_verified);
    assert!(cred.prf_enabled);
    assert!(!cred.backup_eligible);
    assert_eq!(cred.aaguid, [0; 16]);
    assert_eq!(cred.public_key.to_sec1_bytes().len(), 65);

    // What the server stores comes back the same.
    let stored = serde_json::to_string(&cred).unwrap();
    let loaded: RegisteredCredential = serde_json::from_str(&stored).unwrap();
    assert_eq!(loaded, cred);
}

#[test]
fn user_verification_and_backup_eligibility_are_recorded() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    auth.knobs.user_verified = false;
    auth.knobs.backup_eligible = true;
    let (json, challenge) = register(&mut auth);
    let cred = registration(&rp(), &json, &challenge).unwrap();
    assert!(!cred.user_verified);
    assert!(cred.backup_eligible);
}

#[test]
fn prf_not_enabled_is_recorded() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    let (mut json, challenge) = register(&mut auth);
    json["clientExtensionResults"] = json!({});
    assert!(!registration(&rp(), &json, &challenge).unwrap().prf_enabled);
    json["clientExtensionResults"] = json!({ "prf": { "enabled": false } });
    assert!(!registration(&rp(), &json, &challenge).unwrap().prf_enabled);
}

#[test]
fn packed_self_attestation_is_verified() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    auth.knobs.packed_self_attestation = true;
    let (json, challenge) = register(&mut auth);
    registration(&rp(), &json, &challenge).unwrap();

    auth.knobs.bad_signature = true;
    let (json, challenge) = register(&mut auth);
    assert_eq!(
        registration(&rp(), &json, &challenge),
        Err(WebauthnError::BadSignature)
    );
}

#[test]
fn packed_self_attestation_signatures_of_every_der_length_verify() {
    // A DER ECDSA P-256 signature is 72 bytes when both r and s have their top bit set
    // (about one in four): the longest accepted.
    let mut auth = SoftwareAuthenticator::new("localhost");
    auth.knobs.packed_self_attestation = true;
    let mut lengths = std::collections::BTreeSet::new();
    for _ in 0..64 {
        let (json, challenge) = register(&mut auth);
        let sig = attestation_members(&json)
            .into_iter()
            .find(|(k, _)| *k == text("attStmt"))
            .and_then(|(_, v)| v.into_map().ok())
            .and_then(|m| m.into_iter().find(|(k, _)| *k == text("sig")))
            .and_then(|(_, v)| v.into_bytes().ok())
            .unwrap();
        registration(&rp(), &json, &challenge).unwrap();
        lengths.insert(sig.len());
        if lengths.contains(&72) && lengths.len() > 1 {
            break;
        }
    }
    assert!(lengths.contains(&72), "{lengths:?}");
}

#[test]
fn attestation_statements_other_than_none_and_self_are_refused() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    auth.knobs.packed_self_attestation = true;
    let (json, challenge) = register(&mut auth);
    let with_stmt = |stmt: Vec<(Cbor, Cbor)>, fmt: &str| {
        let mut json = json.clone();
        let members = attestation_members(&json)
            .into_iter()
            .map(|(k, v)| {
                if k == text("attStmt") {
                    (k, Cbor::Map(stmt.clone()))
                } else if k == text("fmt") {
                    (k, text(fmt))
                } else {
                    (k, v)
                }
            })
            .collect();
        set_attestation(&mut json, members);
        registration(&rp(), &json, &challenge)
    };
    let original: Vec<(Cbor, Cbor)> = attestation_members(&json)
        .into_iter()
        .find(|(k, _)| *k == text("attStmt"))
        .unwrap()
        .1
        .into_map()
        .unwrap();
    let mut x5c = original.clone();
    x5c.push((text("x5c"), Cbor::Array(vec![Cbor::Bytes(vec![0x30, 0])])));
    assert_eq!(
        with_stmt(x5c, "packed"),
        Err(WebauthnError::UnsupportedAttestation)
    );
    for fmt in ["tpm", "android-key", "fido-u2f", "apple", ""] {
        assert_eq!(
            with_stmt(original.clone(), fmt),
            Err(WebauthnError::UnsupportedAttestation),
            "{fmt}"
        );
    }
    // `none` with a statement, `packed` without its members or with another algorithm.
    assert_eq!(
        with_stmt(original.clone(), "none"),
        malformed("attestation object")
    );
    assert_eq!(with_stmt(vec![], "packed"), malformed("attestation object"));
    let mut rs256 = original.clone();
    rs256.retain(|(k, _)| *k != text("alg"));
    rs256.push((text("alg"), Cbor::Integer((-257).into())));
    assert_eq!(
        with_stmt(rs256, "packed"),
        Err(WebauthnError::UnsupportedAlgorithm)
    );
    let mut twice = original.clone();
    twice.push(original[0].clone());
    assert_eq!(with_stmt(twice, "packed"), malformed("attestation object"));
    assert!(with_stmt(original, "packed").is_ok());
}

#[test]
fn client_data_is_checked() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    let (json, challenge) = register(&mut auth);
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut json = json.clone();
        edit_client_data(&mut json, f);
        registration(&rp(), &json, &challenge)
    };
    assert_eq!(
        with(&|d| d["type"] = json!("webauthn.get")),
        Err(WebauthnError::WrongType)
    );
    assert_eq!(
        with(&|d| d["challenge"] = json!(Challenge::from_bytes([1; 32]).to_base64url())),
        Err(WebauthnError::ChallengeMismatch)
    );
    assert_eq!(
        with(&|d| d["challenge"] = json!("AAAA")),
        Err(WebauthnError::ChallengeMismatch)
    );
    assert_eq!(
        with(&|d| d["origin"] = json!("http://localhost:8081")),
        Err(WebauthnError::WrongOrigin)
    );
    assert_eq!(
        with(&|d| d["crossOrigin"] = json!(true)),
        Err(WebauthnError::CrossOrigin)
    );
    assert!(with(&|d| d["origin"] = json!(OTHER_ALLOWED_ORIGIN)).is_ok());
    assert_eq!(
        with(&|d| {
            d.as_object_mut().unwrap().remove("origin");
        }),
        malformed("clientDataJSON")
    );

    let mut json2 = json.clone();
    edit(&mut json2, "/response/clientDataJSON", |b| {
        b.truncate(b.len() - 1)
    });
    assert_eq!(
        registration(&rp(), &json2, &challenge),
        malformed("clientDataJSON")
    );
    // Another challenge than the server expects.
    assert_eq!(
        registration(&rp(), &json, &Challenge::random().unwrap()),
        Err(WebauthnError::ChallengeMismatch)
    );
}

#[test]
fn a_response_from_another_origin_is_refused() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    let challenge = Challenge::random().unwrap();
    let options = creation_options(&rp(), &UserHandle::random().unwrap(), "a", &challenge, &[]);
    let json = auth.register(&options, "https://evil.example").unwrap();
    assert_eq!(
        registration(&rp(), &json, &challenge),
        Err(WebauthnError::WrongOrigin)
    );
}

#[test]
fn authenticator_data_is_checked() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    auth.knobs.rp_id_in_auth_data = Some("evil.example".into());
    let (json, challenge) = register(&mut auth);
    assert_eq!(
        registration(&rp(), &json, &challenge),
        Err(WebauthnError::WrongRpId)
    );

    let mut auth = SoftwareAuthenticator::new("localhost");
    auth.knobs.user_present = false;
    let (json, challenge) = register(&mut auth);
    assert_eq!(
        registration(&rp(), &json, &challenge),
        Err(WebauthnError::UserNotPresent)
    );

    // An RP with another ID than the authenticator's.
    let mut auth = SoftwareAuthenticator::new("localhost");
    let (json, challenge) = register(&mut auth);
    let other = RelyingParty::new("example.com", "x", [ORIGIN]);
    assert_eq!(
        registration(&other, &json, &challenge),
        Err(WebauthnError::WrongRpId)
    );
}

/// Rebuilds the authenticator data of a fresh registration by hand and verifies it.
fn with_auth_data(
    build: impl FnOnce(&[u8], &[u8], &[u8]) -> Vec<u8>,
) -> Result<RegisteredCredential, WebauthnError> {
    let mut auth = SoftwareAuthenticator::new("localhost");
    let (mut json, challenge) = register(&mut auth);
    let cred = registration(&rp(), &json, &challenge).unwrap();
    let sec1 = cred.public_key.to_sec1_bytes();
    let data = build(cred.id.as_bytes(), &sec1[1..33], &sec1[33..]);
    set_registration_auth_data(&mut json, data);
    registration(&rp(), &json, &challenge)
}

#[test]
fn hand_built_authenticator_data_round_trips() {
    // The builder itself is right: with nothing changed, it verifies.
    let cred = with_auth_data(|id, x, y| {
        reg_auth_data("localhost", UP | AT, id, &cose_key(x, y, &[]), None)
    });
    assert!(cred.is_ok());
    let ext = cbor(&Cbor::Map(vec![(
        text("credProtect"),
        Cbor::Integer(2.into()),
    )]));
    let cred = with_auth_data(|id, x, y| {
        reg_auth_data(
            "localhost",
            UP | UV | AT | ED,
            id,
            &cose_key(x, y, &[]),
            Some(&ext),
        )
    });
    assert!(cred.unwrap().user_verified);
}

#[test]
fn only_es256_keys_are_accepted() {
    let unsupported = Err(WebauthnError::UnsupportedAlgorithm);
    let key_with = |overrides: Vec<(i64, Option<Cbor>)>| {
        with_auth_data(move |id, x, y| {
            reg_auth_data("localhost", UP | AT, id, &cose_key(x, y, &overrides), None)
        })
    };
    // EdDSA, RS256, no algorithm; OKP and RSA key types; P-384.
    assert_eq!(
        key_with(vec![(3, Some(Cbor::Integer((-8).into())))]),
        unsupported
    );
    assert_eq!(
        key_with(vec![(3, Some(Cbor::Integer((-257).into())))]),
        unsupported
    );
    assert_eq!(key_with(vec![(3, None)]), unsupported);
    assert_eq!(
        key_with(vec![(1, Some(Cbor::Integer(1.into())))]),
        unsupported
    );
    assert_eq!(
        key_with(vec![(1, Some(Cbor::Integer(3.into())))]),
        unsupported
    );
    assert_eq!(
        key_with(vec![(-1, Some(Cbor::Integer(2.into())))]),
        unsupported
    );

    let bad_key = malformed("credential public key");
    assert_eq!(key_with(vec![(-1, None)]), bad_key);
    assert_eq!(key_with(vec![(-1, Some(text("P-256")))]), bad_key);
    assert_eq!(
        key_with(vec![(-2, Some(Cbor::Bytes(vec![1; 31])))]),
        bad_key
    );
    assert_eq!(key_with(vec![(-3, None)]), bad_key);
    assert_eq!(
        key_with(vec![(-4, Some(Cbor::Bytes(vec![1; 32])))]),
        bad_key
    );
    assert_eq!(key_with(vec![(1, None)]), bad_key);
    // A point that is not on the curve.
    let off_curve = with_auth_data(|id, x, y| {
        let mut y = y.to_vec();
        y[31] ^= 1;
        reg_auth_data("localhost", UP | AT, id, &cose_key(x, &y, &[]), None)
    });
    assert_eq!(off_curve, bad_key);
    // Not a map.
    let not_a_map = with_auth_data(|id, _, _| {
        reg_auth_data("localhost", UP | AT, id, &cbor(&Cbor::Array(vec![])), None)
    });
    assert_eq!(not_a_map, bad_key);
}

#[test]
fn layout_errors_are_malformed() {
    let bad = malformed("authenticator data");
    // A byte after the key.
    let r = with_auth_data(|id, x, y| {
        let mut d = reg_auth_data("localhost", UP | AT, id, &cose_key(x, y, &[]), None);
        d.push(0);
        d
    });
    assert_eq!(r, bad);
    // No attested credential data.
    let r = with_auth_data(|_, _, _| reg_auth_data("localhost", UP, &[], &[], None)[..37].to_vec());
    assert_eq!(r, bad);
    // Shorter than the fixed part.
    let r = with_auth_data(|_, _, _| vec![0; 36]);
    assert_eq!(r, bad);
    // A credential ID longer than what follows.
    let r = with_auth_data(|id, _, _| {
        let mut d = reg_auth_data("localhost", UP | AT, id, &[], None);
        d.truncate(d.len() - 1);
        d
    });
    assert_eq!(r, bad);
    // Extensions flagged, not there or not a map.
    let r = with_auth_data(|id, x, y| {
        reg_auth_data("localhost", UP | AT | ED, id, &cose_key(x, y, &[]), None)
    });
    assert_eq!(r, malformed("authenticator extensions"));
    let r = with_auth_data(|id, x, y| {
        reg_auth_data(
            "localhost",
            UP | AT | ED,
            id,
            &cose_key(x, y, &[]),
            Some(&[0x01]),
        )
    });
    assert_eq!(r, malformed("authenticator extensions"));
    // Extensions not flagged but there.
    let ext = cbor(&Cbor::Map(vec![]));
    let r = with_auth_data(|id, x, y| {
        reg_auth_data("localhost", UP | AT, id, &cose_key(x, y, &[]), Some(&ext))
    });
    assert_eq!(r, bad);
    // Backed up (BS) without being eligible (BE).
    let r = with_auth_data(|id, x, y| {
        reg_auth_data("localhost", UP | AT | 0x10, id, &cose_key(x, y, &[]), None)
    });
    assert_eq!(r, bad);
}

#[test]
fn credential_ids_are_bounded_and_must_match() {
    let r = with_auth_data(|_, x, y| {
        reg_auth_data("localhost", UP | AT, &[7; 1024], &cose_key(x, y, &[]), None)
    });
    assert_eq!(
        r,
        Err(WebauthnError::TooLarge {
            what: "credential ID",
            limit: 1023
        })
    );
    let r = with_auth_data(|_, x, y| {
        reg_auth_data("localhost", UP | AT, &[], &cose_key(x, y, &[]), None)
    });
    assert_eq!(r, malformed("credential ID"));
    // 1023 bytes is allowed, but it is not the ID the response names.
    let r = with_auth_data(|_, x, y| {
        reg_auth_data("localhost", UP | AT, &[7; 1023], &cose_key(x, y, &[]), None)
    });
    assert_eq!(r, Err(WebauthnError::WrongCredential));

    let mut auth = SoftwareAuthenticator::new("localhost");
    let (json, challenge) = register(&mut auth);
    let mut other_id = json.clone();
    other_id["id"] = json!("AAAA");
    other_id["rawId"] = json!("AAAA");
    assert_eq!(
        registration(&rp(), &other_id, &challenge),
        Err(WebauthnError::WrongCredential)
    );
    let mut raw_differs = json.clone();
    raw_differs["rawId"] = json!("AAAA");
    assert_eq!(
        registration(&rp(), &raw_differs, &challenge),
        malformed("rawId")
    );
    let mut no_raw = json.clone();
    no_raw.as_object_mut().unwrap().remove("rawId");
    assert!(registration(&rp(), &no_raw, &challenge).is_ok());
    let mut wrong_type = json.clone();
    wrong_type["type"] = json!("password");
    assert_eq!(
        registration(&rp(), &wrong_type, &challenge),
        Err(WebauthnError::WrongType)
    );
}

#[test]
fn attestation_object_shape_is_checked() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    let (json, challenge) = register(&mut auth);
    let members = attestation_members(&json);
    let with = |members: Vec<(Cbor, Cbor)>| {
        let mut json = json.clone();
        set_attestation(&mut json, members);
        registration(&rp(), &json, &challenge)
    };
    let bad = malformed("attestation object");
    let mut twice = members.clone();
    twice.push(members[0].clone());
    assert_eq!(with(twice), bad);
    for member in ["fmt", "attStmt", "authData"] {
        let mut without = members.clone();
        without.retain(|(k, _)| *k != text(member));
        assert_eq!(with(without), bad, "{member}");
        let mut wrong_type = members.clone();
        for (k, v) in &mut wrong_type {
            if *k == text(member) {
                *v = Cbor::Integer(0.into());
            }
        }
        assert_eq!(with(wrong_type), bad, "{member}");
    }
    // Members that are not WebAuthn's are ignored.
    let mut extra = members.clone();
    extra.push((text("epAtt"), Cbor::Bool(false)));
    assert!(with(extra).is_ok());

    let mut trailing = json.clone();
    edit(&mut trailing, "/response/attestationObject", |b| b.push(0));
    assert_eq!(registration(&rp(), &trailing, &challenge), bad);
    let mut not_a_map = json.clone();
    edit(&mut not_a_map, "/response/attestationObject", |b| {
        *b = vec![0x80]
    });
    assert_eq!(registration(&rp(), &not_a_map, &challenge), bad);
}

#[test]
fn oversized_inputs_are_refused_before_parsing() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    let (json, challenge) = register(&mut auth);

    let mut big = json.clone();
    edit_client_data(&mut big, |d| {
        d["padding"] = json!("x".repeat(MAX_CLIENT_DATA_JSON))
    });
    assert_eq!(
        registration(&rp(), &big, &challenge),
        Err(WebauthnError::TooLarge {
            what: "clientDataJSON",
            limit: MAX_CLIENT_DATA_JSON
        })
    );
    let mut big = json.clone();
    edit(&mut big, "/response/attestationObject", |b| {
        b.resize(MAX_ATTESTATION_OBJECT + 1, 0)
    });
    assert_eq!(
        registration(&rp(), &big, &challenge),
        Err(WebauthnError::TooLarge {
            what: "attestation object",
            limit: MAX_ATTESTATION_OBJECT
        })
    );
    let mut big = json.clone();
    let mut data = registration_auth_data(&json);
    data.resize(MAX_REGISTRATION_AUTH_DATA + 1, 0);
    set_registration_auth_data(&mut big, data);
    assert_eq!(
        registration(&rp(), &big, &challenge),
        Err(WebauthnError::TooLarge {
            what: "authenticator data",
            limit: MAX_REGISTRATION_AUTH_DATA
        })
    );

    let body = format!("{{\"id\":\"{}\"}}", "A".repeat(MAX_RESPONSE_JSON));
    assert_eq!(
        RegistrationResponse::from_json(body.as_bytes()).map(|_| ()),
        Err(WebauthnError::TooLarge {
            what: "registration response",
            limit: MAX_RESPONSE_JSON
        })
    );
    assert_eq!(
        RegistrationResponse::from_json(b"[1]").map(|_| ()),
        Err(WebauthnError::Malformed {
            what: "registration response"
        })
    );
}

#[test]
fn the_software_authenticator_refuses_as_a_browser_would() {
    let mut auth = SoftwareAuthenticator::new("localhost");
    let (json, challenge) = register(&mut auth);
    let cred = registration(&rp(), &json, &challenge).unwrap();
    let user = UserHandle::random().unwrap();
    let excluded = creation_options(
        &rp(),
        &user,
        "a",
        &challenge,
        std::slice::from_ref(&cred.id),
    );
    assert!(matches!(
        auth.register(&excluded, ORIGIN),
        Err(WebauthnError::AuthenticatorRefused { .. })
    ));
    let other_rp = RelyingParty::new("example.com", "x", ["https://example.com"]);
    let options = creation_options(&other_rp, &user, "a", &challenge, &[]);
    assert!(matches!(
        auth.register(&options, ORIGIN),
        Err(WebauthnError::AuthenticatorRefused { .. })
    ));
    let mut rs256_only = creation_options(&rp(), &user, "a", &challenge, &[]);
    rs256_only["pubKeyCredParams"] = json!([{ "type": "public-key", "alg": -257 }]);
    assert!(matches!(
        auth.register(&rs256_only, ORIGIN),
        Err(WebauthnError::AuthenticatorRefused { .. })
    ));
}

#[test]
fn creation_options_are_what_the_browser_needs() {
    let user = UserHandle::new(vec![0xfb, 0xff]).unwrap();
    let challenge = Challenge::from_bytes([0xff; 32]);
    let exclude = [
        CredentialId::new(vec![1]).unwrap(),
        CredentialId::new(vec![2]).unwrap(),
    ];
    let options = creation_options(&rp(), &user, "alice", &challenge, &exclude);
    assert_eq!(
        options,
        json!({
            "rp": { "id": "localhost", "name": "credlock" },
            "user": { "id": "-_8", "name": "alice", "displayName": "alice" },
            "challenge": "__________________________________________8",
            "pubKeyCredParams": [{ "type": "public-key", "alg": -7 }],
            "timeout": 300000,
            "excludeCredentials": [
                { "type": "public-key", "id": "AQ" },
                { "type": "public-key", "id": "Ag" }
            ],
            "authenticatorSelection": {
                "residentKey": "preferred",
                "requireResidentKey": false,
                "userVerification": "preferred"
            },
            "attestation": "none",
            "extensions": { "prf": {} }
        })
    );
}
