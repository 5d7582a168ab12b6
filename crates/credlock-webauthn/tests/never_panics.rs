//! Property tests: arbitrary bytes in every field are refused with an error, never a panic,
//! and a genuine assertion changed anywhere it is signed never verifies.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::*;
use credlock_webauthn::*;
use proptest::prelude::*;
use serde_json::{Value, json};

struct Genuine {
    rp: RelyingParty,
    cred: RegisteredCredential,
    registration: Value,
    registration_challenge: Challenge,
    assertion: Value,
    assertion_challenge: Challenge,
}

fn genuine() -> &'static Genuine {
    static GENUINE: OnceLock<Genuine> = OnceLock::new();
    GENUINE.get_or_init(|| {
        let mut f = registered();
        let (reg_json, registration_challenge) = register(&mut f.auth);
        let cred = registration(&f.rp, &reg_json, &registration_challenge).unwrap();
        let (json, challenge) = {
            let challenge = Challenge::random().unwrap();
            let options = request_options(
                &f.rp,
                std::slice::from_ref(&cred.id),
                &challenge,
                &salts(1, Some(2)),
            );
            (f.auth.assert(&options, ORIGIN).unwrap(), challenge)
        };
        Genuine {
            rp: f.rp,
            cred,
            registration: reg_json,
            registration_challenge,
            assertion: json,
            assertion_challenge: challenge,
        }
    })
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_registration_fields_are_an_error_or_a_credential(
        id in bytes(64),
        raw_id in prop::option::of(bytes(64)),
        client_data in bytes(300),
        object in bytes(600),
        kind in prop::option::of("[a-z-]{0,12}"),
    ) {
        let g = genuine();
        let mut json = json!({
            "id": b64e(&id),
            "response": { "clientDataJSON": b64e(&client_data), "attestationObject": b64e(&object) },
        });
        if let Some(raw_id) = raw_id { json["rawId"] = b64e(&raw_id).into(); }
        if let Some(kind) = kind { json["type"] = kind.into(); }
        let _ = registration(&g.rp, &json, &g.registration_challenge);
        let response = RegistrationResponse::from_value(json).unwrap();
        let _ = response.claimed_challenge();
    }

    #[test]
    fn any_bytes_inside_a_genuine_registration_never_panic(
        which in 0usize..3,
        edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in prop::option::of(any::<usize>()),
    ) {
        let g = genuine();
        let mut json = g.registration.clone();
        if which == 2 {
            let mut data = registration_auth_data(&json);
            for (at, x) in &edits { let n = data.len(); data[at % n] ^= x; }
            if let Some(c) = cut { data.truncate(c % (data.len() + 1)); }
            set_registration_auth_data(&mut json, data);
        } else {
            let pointer = ["/response/clientDataJSON", "/response/attestationObject"][which];
            edit(&mut json, pointer, |data| {
                for (at, x) in &edits { let n = data.len(); data[at % n] ^= x; }
                if let Some(c) = cut { data.truncate(c % (data.len() + 1)); }
            });
        }
        let _ = registration(&g.rp, &json, &g.registration_challenge);
    }

    #[test]
    fn any_assertion_fields_never_verify(
        id in prop::option::of(bytes(64)),
        client_data in prop::option::of(bytes(300)),
        auth_data in bytes(200),
        rp_hash in any::<bool>(),
        signature in bytes(80),
        first in prop::option::of(bytes(40)),
        second in prop::option::of(bytes(40)),
        user_handle in prop::option::of(bytes(70)),
    ) {
        let g = genuine();
        let mut json = g.assertion.clone();
        if let Some(id) = id { json["id"] = b64e(&id).into(); }
        if let Some(cd) = client_data { json["response"]["clientDataJSON"] = b64e(&cd).into(); }
        let mut data = Vec::new();
        if rp_hash {
            use sha2::Digest as _;
            data.extend_from_slice(&sha2::Sha256::digest(b"localhost"));
        }
        data.extend_from_slice(&auth_data);
        json["response"]["authenticatorData"] = b64e(&data).into();
        json["response"]["signature"] = b64e(&signature).into();
        if let Some(uh) = user_handle { json["response"]["userHandle"] = b64e(&uh).into(); }
        let mut results = json!({});
        if let Some(first) = first { results["first"] = b64e(&first).into(); }
        if let Some(second) = second { results["second"] = b64e(&second).into(); }
        json["clientExtensionResults"]["prf"]["results"] = results;
        prop_assert!(assertion(&g.rp, &json, &g.cred, &g.assertion_challenge, false).is_err());
    }

    #[test]
    fn a_genuine_assertion_changed_where_signed_never_verifies(
        which in 0usize..3,
        edits in prop::collection::vec((any::<usize>(), 1u8..), 1..4),
        cut in prop::option::of(any::<usize>()),
    ) {
        let g = genuine();
        let pointer = ["/response/clientDataJSON", "/response/authenticatorData", "/response/signature"][which];
        let mut json = g.assertion.clone();
        let mut changed = false;
        edit(&mut json, pointer, |data| {
            let original = data.clone();
            for (at, x) in &edits { let n = data.len(); data[at % n] ^= x; }
            if let Some(c) = cut { data.truncate(c % (data.len() + 1)); }
            changed = *data != original;
        });
        let r = assertion(&g.rp, &json, &g.cred, &g.assertion_challenge, false);
        prop_assert_eq!(r.is_ok(), !changed);
    }

    #[test]
    fn any_text_as_posted_json_is_an_error_or_a_response(text in ".{0,400}", raw in bytes(400)) {
        let g = genuine();
        for body in [text.as_bytes(), raw.as_slice()] {
            if let Ok(r) = RegistrationResponse::from_json(body) {
                let _ = verify_registration(&g.rp, &r, &g.registration_challenge);
            }
            if let Ok(r) = AssertionResponse::from_json(body) {
                prop_assert!(verify_assertion(&g.rp, &r, &g.cred, &g.assertion_challenge, false).is_err());
            }
        }
    }

    #[test]
    fn the_challenge_store_stays_bounded(
        ops in prop::collection::vec((any::<bool>(), 0u64..1000, 0usize..8, any::<bool>()), 1..200),
        capacity in 1usize..16,
    ) {
        let mut store = Challenges::new(capacity, Duration::from_secs(100));
        let t0 = Instant::now();
        let mut issued = Vec::new();
        for (issue, at, pick, assertion) in ops {
            let purpose = if assertion { Purpose::Assertion } else { Purpose::Registration };
            let now = t0 + Duration::from_secs(at);
            if issue {
                issued.push((store.issue(purpose, "s", now).unwrap(), purpose, now));
            } else if let Some((c, p, when)) = issued.get(pick % issued.len().max(1)).cloned() {
                let r = store.take(&c, purpose, "s", now);
                if r.is_ok() {
                    prop_assert_eq!(p, purpose);
                    prop_assert!(now.saturating_duration_since(when) <= Duration::from_secs(100));
                }
                // Whatever happened, it is used up.
                prop_assert!(store.take(&c, p, "s", when).is_err());
            }
            prop_assert!(store.len() <= capacity);
        }
    }
}
