//! Assertions: the round trip with PRF outputs, the challenge store around it, and one
//! refusal per way an assertion can be wrong.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use credlock_webauthn::limits::*;
use credlock_webauthn::*;
use serde_json::json;

fn refused(r: Result<VerifiedAssertion, WebauthnError>) -> WebauthnError {
    r.expect_err("the assertion was accepted")
}

#[test]
fn round_trip_returns_prf_outputs_and_the_counter() {
    let mut f = registered();
    let (json, challenge) = f.assert(&salts(1, Some(2)));
    let response = AssertionResponse::from_json(json.to_string().as_bytes()).unwrap();
    assert_eq!(response.claimed_challenge().unwrap(), challenge);
    assert_eq!(response.claimed_credential_id().unwrap(), f.cred.id);
    let verified = verify_assertion(&f.rp, &response, &f.cred, &challenge, true).unwrap();
    assert_eq!(verified.credential_id, f.cred.id);
    assert_eq!(verified.new_sign_count, 1);
    assert!(verified.user_verified);
    let prf = verified.require_prf().unwrap();
    assert_ne!(*prf.first, [0; 32]);
    assert_ne!(prf.second.as_deref(), Some(&*prf.first));
    f.cred.record(&verified);
    assert_eq!(f.cred.sign_count, 1);
    let prf = f.unlock(&salts(1, None));
    assert!(prf.second.is_none());
    assert_eq!(f.cred.sign_count, 2);
}

#[test]
fn prf_outputs_are_deterministic_per_salt_and_rotate() {
    let mut f = registered();
    let a = f.unlock(&salts(1, Some(2)));
    let b = f.unlock(&salts(1, Some(2)));
    assert_eq!(*a.first, *b.first);
    assert_eq!(a.second.as_deref(), b.second.as_deref());
    assert_ne!(*a.first, *a.second.as_ref().unwrap().as_ref());
    // The next unlock's current salt is this one's next: its output is this one's second.
    let c = f.unlock(&salts(2, Some(3)));
    assert_eq!(&*c.first, a.second.as_deref().unwrap());
    assert_ne!(c.second.as_deref(), a.second.as_deref());
    // Another credential gives other outputs for the same salt.
    let mut g = registered();
    assert_ne!(*g.unlock(&salts(1, None)).first, *a.first);
}

#[test]
fn prf_outputs_follow_the_browser_hashing() {
    // The authenticator's hmac-secret sees SHA-256("WebAuthn PRF" || 0 || salt), never the
    // salt itself: a PRF input equal to an hmac-secret salt gives another output.
    let mut f = registered();
    let raw = [9u8; 32];
    let hashed = hmac_secret_salt(&raw);
    assert_ne!(hashed, raw);
    let one = f.unlock(&PrfSalts::new(raw, Some(hashed)));
    assert_ne!(*one.first, *one.second.unwrap());
}

#[test]
fn outputs_differ_with_and_without_user_verification() {
    let mut f = registered();
    let verified = f.unlock(&salts(1, None));
    f.auth.knobs.user_verified = false;
    let (json, c) = f.assert(&salts(1, None));
    let unverified = assertion(&f.rp, &json, &f.cred, &c, false).unwrap();
    assert!(!unverified.user_verified);
    assert_ne!(*unverified.prf.unwrap().first, *verified.first);
}

#[test]
fn user_presence_and_verification() {
    let mut f = registered();
    f.auth.knobs.user_verified = false;
    let (json, c) = f.assert(&salts(1, None));
    assert_eq!(
        refused(assertion(&f.rp, &json, &f.cred, &c, true)),
        WebauthnError::UserNotVerified
    );
    assert!(assertion(&f.rp, &json, &f.cred, &c, false).is_ok());

    let mut f = registered();
    f.auth.knobs.user_present = false;
    let (json, c) = f.assert(&salts(1, None));
    assert_eq!(
        refused(assertion(&f.rp, &json, &f.cred, &c, false)),
        WebauthnError::UserNotPresent
    );
}

#[test]
fn client_data_is_checked() {
    let mut f = registered();
    let (json, c) = f.assert(&salts(1, None));
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut json = json.clone();
        edit_client_data(&mut json, edit);
        refused(assertion(&f.rp, &json, &f.cred, &c, true))
    };
    assert_eq!(
        with(&|d| d["type"] = json!("webauthn.create")),
        WebauthnError::WrongType
    );
    assert_eq!(
        with(&|d| d["challenge"] = json!(Challenge::from_bytes([3; 32]).to_base64url())),
        WebauthnError::ChallengeMismatch
    );
    assert_eq!(
        with(&|d| d["origin"] = json!("https://evil.example")),
        WebauthnError::WrongOrigin
    );
    assert_eq!(
        with(&|d| d["crossOrigin"] = json!(true)),
        WebauthnError::CrossOrigin
    );
    // An allowed origin, but not the one the authenticator signed over.
    assert_eq!(
        with(&|d| d["origin"] = json!(OTHER_ALLOWED_ORIGIN)),
        WebauthnError::BadSignature
    );
    // Any change the checks above let through breaks the signature.
    assert_eq!(
        with(&|d| d["other"] = json!(1)),
        WebauthnError::BadSignature
    );
    assert_eq!(
        with(&|d| d["crossOrigin"] = json!(false)),
        WebauthnError::BadSignature
    );
    // Another challenge expected than the one answered.
    assert_eq!(
        refused(assertion(
            &f.rp,
            &json,
            &f.cred,
            &Challenge::random().unwrap(),
            true
        )),
        WebauthnError::ChallengeMismatch
    );
    let (json, c) = f.assert_from(&salts(1, None), "https://evil.example");
    assert_eq!(
        refused(assertion(&f.rp, &json, &f.cred, &c, true)),
        WebauthnError::WrongOrigin
    );
}

#[test]
fn tampered_signature_and_authenticator_data_are_refused() {
    let mut f = registered();
    let (json, c) = f.assert(&salts(1, None));
    for i in [5, 20, 40, 60] {
        let mut bad = json.clone();
        edit(&mut bad, "/response/signature", |s| s[i] ^= 1);
        assert_eq!(
            refused(assertion(&f.rp, &bad, &f.cred, &c, true)),
            WebauthnError::BadSignature,
            "{i}"
        );
    }
    let mut truncated = json.clone();
    edit(&mut truncated, "/response/signature", |s| s.truncate(10));
    assert_eq!(
        refused(assertion(&f.rp, &truncated, &f.cred, &c, true)),
        WebauthnError::BadSignature
    );
    let mut long = json.clone();
    edit(&mut long, "/response/signature", |s| {
        s.resize(MAX_SIGNATURE + 1, 0)
    });
    assert_eq!(
        refused(assertion(&f.rp, &long, &f.cred, &c, true)),
        WebauthnError::TooLarge {
            what: "signature",
            limit: MAX_SIGNATURE
        }
    );

    // The counter, and the UV flag (a bit the checks before the signature accept).
    let mut counter = json.clone();
    edit(&mut counter, "/response/authenticatorData", |d| {
        d[36] ^= 0x40
    });
    assert_eq!(
        refused(assertion(&f.rp, &counter, &f.cred, &c, true)),
        WebauthnError::BadSignature
    );
    let mut flags = json.clone();
    edit(&mut flags, "/response/authenticatorData", |d| d[32] |= 0x08);
    assert_eq!(
        refused(assertion(&f.rp, &flags, &f.cred, &c, true)),
        WebauthnError::BadSignature
    );

    f.auth.knobs.bad_signature = true;
    let (json, c) = f.assert(&salts(1, None));
    assert_eq!(
        refused(assertion(&f.rp, &json, &f.cred, &c, true)),
        WebauthnError::BadSignature
    );
}

#[test]
fn authenticator_data_layout_is_checked() {
    let mut f = registered();
    let (json, c) = f.assert(&salts(1, None));
    let with = |edit_data: &dyn Fn(&mut Vec<u8>)| {
        let mut json = json.clone();
        edit(&mut json, "/response/authenticatorData", edit_data);
        refused(assertion(&f.rp, &json, &f.cred, &c, true))
    };
    let bad = WebauthnError::Malformed {
        what: "authenticator data",
    };
    assert_eq!(with(&|d| d.truncate(36)), bad);
    assert_eq!(with(&|d| d.push(0)), bad);
    assert_eq!(with(&|d| d[32] |= 0x40), bad); // attested credential data in an assertion
    assert_eq!(with(&|d| d[32] |= 0x10), bad); // backed up, not eligible
    assert_eq!(
        with(&|d| d[32] |= 0x80),
        WebauthnError::Malformed {
            what: "authenticator extensions"
        }
    );
    assert_eq!(with(&|d| d[0] ^= 1), WebauthnError::WrongRpId);
    assert_eq!(
        with(&|d| d.resize(MAX_ASSERTION_AUTH_DATA + 1, 0)),
        WebauthnError::TooLarge {
            what: "authenticator data",
            limit: MAX_ASSERTION_AUTH_DATA
        }
    );

    f.auth.knobs.rp_id_in_auth_data = Some("evil.example".into());
    let (json, c) = f.assert(&salts(1, None));
    assert_eq!(
        refused(assertion(&f.rp, &json, &f.cred, &c, true)),
        WebauthnError::WrongRpId
    );
}

#[test]
fn the_credential_must_be_the_one_that_signed() {
    let mut f = registered();
    let (json, c) = register(&mut f.auth);
    let other = registration(&f.rp, &json, &c).unwrap();

    let (json, c) = f.assert(&salts(1, None));
    // Checked against another stored credential: another ID.
    assert_eq!(
        refused(assertion(&f.rp, &json, &other, &c, true)),
        WebauthnError::WrongCredential
    );
    // Another credential's key under this one's ID.
    let mut wrong_key = other.clone();
    wrong_key.id = f.cred.id.clone();
    assert_eq!(
        refused(assertion(&f.rp, &json, &wrong_key, &c, true)),
        WebauthnError::BadSignature
    );
    // A response naming another ID than it was made for.
    let mut renamed = json.clone();
    renamed["id"] = json!(other.id.to_base64url());
    renamed["rawId"] = json!(other.id.to_base64url());
    assert_eq!(
        refused(assertion(&f.rp, &renamed, &other, &c, true)),
        WebauthnError::BadSignature
    );
    let mut raw_differs = json.clone();
    raw_differs["rawId"] = json!(other.id.to_base64url());
    assert_eq!(
        refused(assertion(&f.rp, &raw_differs, &f.cred, &c, true)),
        WebauthnError::Malformed { what: "rawId" }
    );
    let mut wrong_type = json.clone();
    wrong_type["type"] = json!("otp");
    assert_eq!(
        refused(assertion(&f.rp, &wrong_type, &f.cred, &c, true)),
        WebauthnError::WrongType
    );
    assert!(assertion(&f.rp, &json, &f.cred, &c, true).is_ok());
}

#[test]
fn the_counter_must_increase() {
    let mut f = registered();
    f.auth.knobs.counter = CounterMode::Fixed(5);
    f.unlock(&salts(1, None));
    assert_eq!(f.cred.sign_count, 5);
    for (received, ok) in [(4, false), (5, false), (0, false), (6, true)] {
        f.auth.knobs.counter = CounterMode::Fixed(received);
        let (json, c) = f.assert(&salts(1, None));
        let r = assertion(&f.rp, &json, &f.cred, &c, true);
        if ok {
            assert_eq!(r.unwrap().new_sign_count, received);
        } else {
            assert_eq!(
                refused(r),
                WebauthnError::CounterRegressed {
                    stored: 5,
                    received
                }
            );
        }
    }
    // Authenticators that never count pass every time.
    let mut f = registered();
    f.auth.knobs.counter = CounterMode::AlwaysZero;
    for _ in 0..3 {
        f.unlock(&salts(1, None));
        assert_eq!(f.cred.sign_count, 0);
    }
    // And one that starts counting later.
    f.auth.knobs.counter = CounterMode::Increment;
    f.unlock(&salts(1, None));
    assert_eq!(f.cred.sign_count, 1);
}

#[test]
fn bad_prf_outputs_are_refused() {
    let mut f = registered();
    f.auth.knobs.prf = PrfMode::Omit;
    let (json, c) = f.assert(&salts(1, Some(2)));
    let verified = assertion(&f.rp, &json, &f.cred, &c, true).unwrap();
    assert!(verified.prf.is_none());
    assert_eq!(
        verified.require_prf().err(),
        Some(WebauthnError::PrfMissing)
    );

    f.auth.knobs.prf = PrfMode::Short;
    let (json, c) = f.assert(&salts(1, None));
    assert_eq!(
        refused(assertion(&f.rp, &json, &f.cred, &c, true)),
        WebauthnError::PrfTooShort
    );
    f.auth.knobs.prf = PrfMode::AllZero;
    let (json, c) = f.assert(&salts(1, None));
    assert_eq!(
        refused(assertion(&f.rp, &json, &f.cred, &c, true)),
        WebauthnError::PrfAllZero
    );

    f.auth.knobs.prf = PrfMode::Honest;
    let (json, c) = f.assert(&salts(1, Some(2)));
    let with = |edit_prf: &dyn Fn(&mut serde_json::Value)| {
        let mut json = json.clone();
        edit_prf(&mut json["clientExtensionResults"]["prf"]["results"]);
        assertion(&f.rp, &json, &f.cred, &c, true)
    };
    assert_eq!(
        refused(with(&|r| r["second"] = json!(b64e(&[0; 32])))),
        WebauthnError::PrfAllZero
    );
    assert_eq!(
        refused(with(&|r| r["second"] = json!(b64e(&[1; 31])))),
        WebauthnError::PrfTooShort
    );
    assert_eq!(
        refused(with(&|r| r["first"] = json!(""))),
        WebauthnError::PrfTooShort
    );
    assert_eq!(
        refused(with(&|r| r["first"] = json!(b64e(&[1; 33])))),
        WebauthnError::Malformed { what: "PRF output" }
    );
    assert_eq!(
        refused(with(&|r| r["first"] = json!(b64e(&[1; 100])))),
        WebauthnError::TooLarge {
            what: "PRF output",
            limit: 64
        }
    );
    assert_eq!(
        refused(with(&|r| r["first"] = json!("not base64!"))),
        WebauthnError::Malformed { what: "PRF output" }
    );
    // The outputs are not signed: changed ones pass verification (they fail later, when
    // they unwrap nothing), and come out as given.
    let changed = with(&|r| r["first"] = json!(b64e(&[7; 32]))).unwrap();
    assert_eq!(*changed.prf.unwrap().first, [7; 32]);
}

#[test]
fn prf_outputs_come_only_from_verified_assertions() {
    let mut f = registered();
    f.auth.knobs.bad_signature = true;
    let (json, c) = f.assert(&salts(1, None));
    assert!(
        json.pointer("/clientExtensionResults/prf/results/first")
            .is_some()
    );
    assert_eq!(
        refused(assertion(&f.rp, &json, &f.cred, &c, true)),
        WebauthnError::BadSignature
    );
    f.auth.knobs.bad_signature = false;
    f.auth.knobs.counter = CounterMode::AlwaysZero;
    f.unlock(&salts(1, None));
    f.cred.sign_count = 9;
    let (json, c) = f.assert(&salts(1, None));
    assert!(matches!(
        refused(assertion(&f.rp, &json, &f.cred, &c, true)),
        WebauthnError::CounterRegressed { .. }
    ));
}

#[test]
fn secrets_do_not_show_in_debug() {
    let mut f = registered();
    let prf = f.unlock(&salts(1, Some(2)));
    assert_eq!(
        format!("{prf:?}"),
        r#"PrfOutputs { first: "[redacted]", second: Some("[redacted]") }"#
    );
    let (json, c) = f.assert(&salts(1, None));
    let response = AssertionResponse::from_value(json.clone()).unwrap();
    let first = json
        .pointer("/clientExtensionResults/prf/results/first")
        .unwrap()
        .as_str()
        .unwrap();
    let shown = format!("{response:?}");
    assert!(!shown.contains(first));
    assert!(shown.contains("PrfResultsJson([redacted])"));
    let verified = verify_assertion(&f.rp, &response, &f.cred, &c, true).unwrap();
    assert!(
        format!("{verified:?}")
            .contains(r#"prf: Some(PrfOutputs { first: "[redacted]", second: None })"#)
    );
    let authenticator = format!("{:?}", f.auth);
    assert!(authenticator.contains("SoftwareAuthenticator"));
    assert!(!authenticator.contains("secret"));
}

#[test]
fn oversized_inputs_are_refused() {
    let mut f = registered();
    let (json, c) = f.assert(&salts(1, None));
    let mut big = json.clone();
    edit_client_data(&mut big, |d| {
        d["padding"] = json!("x".repeat(MAX_CLIENT_DATA_JSON))
    });
    assert_eq!(
        refused(assertion(&f.rp, &big, &f.cred, &c, true)),
        WebauthnError::TooLarge {
            what: "clientDataJSON",
            limit: MAX_CLIENT_DATA_JSON
        }
    );
    let mut big = json.clone();
    big["id"] = json!("A".repeat(2000));
    assert_eq!(
        refused(assertion(&f.rp, &big, &f.cred, &c, true)),
        WebauthnError::TooLarge {
            what: "credential ID",
            limit: MAX_CREDENTIAL_ID
        }
    );
    let body = format!("{{\"id\":\"{}\"}}", "A".repeat(MAX_RESPONSE_JSON));
    assert_eq!(
        AssertionResponse::from_json(body.as_bytes())
            .map(|_| ())
            .err(),
        Some(WebauthnError::TooLarge {
            what: "assertion response",
            limit: MAX_RESPONSE_JSON
        })
    );
    let mut big = json.clone();
    edit_client_data(&mut big, |d| {
        d["padding"] = json!("x".repeat(MAX_CLIENT_DATA_JSON))
    });
    let response = AssertionResponse::from_value(big).unwrap();
    assert_eq!(
        response.claimed_challenge().err(),
        Some(WebauthnError::TooLarge {
            what: "clientDataJSON",
            limit: MAX_CLIENT_DATA_JSON
        })
    );
}

/// The whole server flow: challenges from the store, single-use, bound, short-lived.
#[test]
fn challenges_are_single_use_bound_and_expire() {
    let ttl = Duration::from_secs(300);
    let mut store = Challenges::new(100, ttl);
    let mut f = registered();
    let t0 = Instant::now();
    let ask = |f: &mut Fixture, store: &mut Challenges, who: &str| {
        let c = store.issue(Purpose::Assertion, who, t0).unwrap();
        let options = request_options(&f.rp, std::slice::from_ref(&f.cred.id), &c, &salts(1, None));
        AssertionResponse::from_value(f.auth.assert(&options, ORIGIN).unwrap()).unwrap()
    };
    let server =
        |f: &mut Fixture, store: &mut Challenges, r: &AssertionResponse, who: &str, at: Instant| {
            let c = r.claimed_challenge()?;
            store.take(&c, Purpose::Assertion, who, at)?;
            let v = verify_assertion(&f.rp, r, &f.cred, &c, true)?;
            f.cred.record(&v);
            Ok::<_, WebauthnError>(v)
        };

    let response = ask(&mut f, &mut store, "alice");
    server(
        &mut f,
        &mut store,
        &response,
        "alice",
        t0 + Duration::from_secs(1),
    )
    .unwrap();
    // Replayed: refused by the store before the counter is even looked at.
    assert_eq!(
        server(
            &mut f,
            &mut store,
            &response,
            "alice",
            t0 + Duration::from_secs(2)
        )
        .err(),
        Some(WebauthnError::ChallengeReused)
    );
    // Expired.
    let response = ask(&mut f, &mut store, "alice");
    assert_eq!(
        server(
            &mut f,
            &mut store,
            &response,
            "alice",
            t0 + ttl + Duration::from_secs(1)
        )
        .err(),
        Some(WebauthnError::ChallengeExpired)
    );
    // Issued for another user: refused, and used up.
    let response = ask(&mut f, &mut store, "bob");
    assert_eq!(
        server(&mut f, &mut store, &response, "alice", t0).err(),
        Some(WebauthnError::ChallengeWrongPurpose)
    );
    assert_eq!(
        server(&mut f, &mut store, &response, "bob", t0).err(),
        Some(WebauthnError::ChallengeReused)
    );
    // Issued for a registration.
    let c = store.issue(Purpose::Registration, "alice", t0).unwrap();
    let options = request_options(&f.rp, std::slice::from_ref(&f.cred.id), &c, &salts(1, None));
    let response = AssertionResponse::from_value(f.auth.assert(&options, ORIGIN).unwrap()).unwrap();
    assert_eq!(
        server(&mut f, &mut store, &response, "alice", t0).err(),
        Some(WebauthnError::ChallengeWrongPurpose)
    );
    // Never issued.
    let c = Challenge::random().unwrap();
    let options = request_options(&f.rp, std::slice::from_ref(&f.cred.id), &c, &salts(1, None));
    let response = AssertionResponse::from_value(f.auth.assert(&options, ORIGIN).unwrap()).unwrap();
    assert_eq!(
        server(&mut f, &mut store, &response, "alice", t0).err(),
        Some(WebauthnError::UnknownChallenge)
    );
    assert!(store.is_empty());
}

#[test]
fn request_options_are_what_the_browser_needs() {
    let id = CredentialId::new(vec![0xfb, 0xff]).unwrap();
    let challenge = Challenge::from_bytes([0; 32]);
    let options = request_options(
        &rp(),
        &[id],
        &challenge,
        &PrfSalts::new([0xff; 32], Some([0; 32])),
    );
    let salt_ff = "__________________________________________8";
    let salt_00 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(
        options,
        json!({
            "challenge": salt_00,
            "rpId": "localhost",
            "timeout": 300000,
            "allowCredentials": [{ "type": "public-key", "id": "-_8" }],
            "userVerification": "required",
            "extensions": { "prf": { "evalByCredential": { "-_8": { "first": salt_ff, "second": salt_00 } } } }
        })
    );
    // Without credentials to allow: one salt pair for whichever discoverable credential.
    let options = request_options(&rp(), &[], &challenge, &PrfSalts::new([0xff; 32], None));
    assert_eq!(options["allowCredentials"], json!([]));
    assert_eq!(
        options["extensions"],
        json!({ "prf": { "eval": { "first": salt_ff } } })
    );
    let options =
        request_options_by_credential(&rp(), &[], &challenge, UserVerification::Preferred);
    assert_eq!(options["extensions"], json!({}));
    assert_eq!(options["userVerification"], "preferred");
    let options =
        request_options_by_credential(&rp(), &[], &challenge, UserVerification::Discouraged);
    assert_eq!(options["userVerification"], "discouraged");
}

#[test]
fn discoverable_sign_in_uses_eval() {
    let mut f = registered();
    let c = Challenge::random().unwrap();
    let with_id = f.unlock(&salts(4, None));
    let options = request_options(&f.rp, &[], &c, &salts(4, None));
    let json = f.auth.assert(&options, ORIGIN).unwrap();
    let json_clone = json.clone();
    let response = AssertionResponse::from_value(json).unwrap();
    let stored = response.claimed_credential_id().unwrap();
    assert_eq!(stored, f.cred.id);
    // The user handle the credential was created for comes back.
    assert_eq!(
        response
            .claimed_user_handle()
            .unwrap()
            .unwrap()
            .as_bytes()
            .len(),
        32
    );
    let mut no_handle = json_clone.clone();
    no_handle["response"]["userHandle"] = json!("");
    assert_eq!(
        AssertionResponse::from_value(no_handle)
            .unwrap()
            .claimed_user_handle(),
        Ok(None)
    );
    let mut long_handle = json_clone;
    long_handle["response"]["userHandle"] = json!(b64e(&[1; 65]));
    assert!(
        AssertionResponse::from_value(long_handle)
            .unwrap()
            .claimed_user_handle()
            .is_err()
    );
    let v = verify_assertion(&f.rp, &response, &f.cred, &c, true).unwrap();
    assert_eq!(*v.prf.unwrap().first, *with_id.first);
}

#[test]
fn salts_by_credential() {
    let mut f = registered();
    let (json, c) = register(&mut f.auth);
    let second = registration(&f.rp, &json, &c).unwrap();
    let c = Challenge::random().unwrap();
    let options = request_options_by_credential(
        &f.rp,
        &[
            (second.id.clone(), salts(5, None)),
            (f.cred.id.clone(), salts(6, None)),
        ],
        &c,
        UserVerification::Required,
    );
    // The authenticator answers with the first allowed credential it holds: `f.cred`, with
    // its own salts (6), which `unlock` with 6 reproduces.
    let json = f.auth.assert(&options, ORIGIN).unwrap();
    let v = assertion(&f.rp, &json, &f.cred, &c, true).unwrap();
    f.cred.record(&v);
    assert_eq!(*v.prf.unwrap().first, *f.unlock(&salts(6, None)).first);
}
