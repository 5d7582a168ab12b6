//! Recovery keys and keyslots over HTTP: a key made by a signed-in client and shown once,
//! the forgotten-passphrase flow, the slots listed and a recovery key removed; and every
//! refusal of the new endpoints (a malformed key uncounted, a wrong one counted, the
//! lockout, a missing cookie, the CSRF rule, an oversized body).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use credlock::audit::JsonLinesSink;
use credlock::secrecy::SecretString;
use serde_json::{Value, json};

use crate::app;
use crate::common::{self, Client, PASS, Setup};

const NEW_PASS: &str = "Marmalade-Comet-17?";
/// Well formed (32 Crockford base32 characters) and opening nothing.
const WRONG_KEY: &str = "0000-0000-0000-0000-0000-0000-0000-0000";

fn recovery(key: &str, passphrase: &str) -> Value {
    json!({ "recovery_key": key, "passphrase": passphrase })
}

/// A recovery key as shown: 8 groups of 4 Crockford base32 characters.
#[track_caller]
fn assert_shown_key(answer: &common::Answer) -> String {
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json["shown_once"], true);
    assert!(
        answer.json["message"]
            .as_str()
            .unwrap()
            .contains("shown only this once")
    );
    let key = answer.json["recovery_key"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 39, "{key}");
    assert_eq!(key.split('-').count(), 8, "{key}");
    key
}

fn slots_of(answer: &common::Answer) -> Vec<Value> {
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.json["slots"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_recovery_key_opens_the_vault_once_and_is_replaced() {
    let _turn = common::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::builder(&log).open().unwrap();
    let server = common::start(Setup {
        audit_to: vec![Arc::new(sink)],
        ..Setup::default()
    })
    .await;
    let mut alice = Client::enrolled(&server).await;

    // Shown once, in the answer; the listing holds no key.
    let a = alice
        .post("/auth/recovery-key", json!({ "label": "printed kit" }))
        .await;
    let kit = assert_shown_key(&a);
    let spare = assert_shown_key(&alice.post("/auth/recovery-key", json!({})).await);
    let listed = alice.get("/auth/slots").await;
    let slots = slots_of(&listed);
    let kinds: Vec<(&str, &str)> = slots
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["label"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("passphrase", "passphrase"),
            ("recovery_key", "printed kit"),
            ("recovery_key", "recovery key")
        ]
    );
    assert!(slots.iter().all(|s| s["created_at"].as_u64().is_some()));
    let text = listed.json.to_string();
    assert!(!text.contains(&kit) && !text.contains(&spare));
    assert!(
        !std::fs::read_to_string(&server.path)
            .unwrap()
            .contains(&kit)
    );

    // The passphrase is forgotten; a second device of alice's is signed in meanwhile.
    let mut phone = Client::arrived(&server).await;
    let a = phone
        .post("/auth/unlock", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    alice.post("/auth/lock", json!({})).await;
    let mut laptop = Client::arrived(&server).await;

    // The right key with a new passphrase the policy refuses: every rule listed, nothing
    // tested or counted.
    let before = server.derivations.load(Ordering::SeqCst);
    let a = laptop.post("/auth/recover", recovery(&kit, "short")).await;
    a.assert_error(422, "policy_rejected");
    assert!(a.json["violations"].as_array().unwrap().len() >= 3, "{a:?}");
    // Typed back sloppily (lower case, spaces), it works: signed in, a replacement shown.
    let typed = kit.to_lowercase().replace('-', " ");
    let a = laptop
        .post("/auth/recover", recovery(&typed, NEW_PASS))
        .await;
    let next = assert_shown_key(&a);
    assert_ne!(next, kit);
    assert!(laptop.cookies.contains_key("credlock_session"));
    assert_eq!(
        laptop.get("/auth/status").await.json["state"],
        "unlocked",
        "signed in"
    );
    assert_eq!(
        server.derivations.load(Ordering::SeqCst) - before,
        1,
        "one derivation: the new passphrase's"
    );
    assert_eq!(server.vault.lockout_state().unwrap().failures, 0);
    // Every other session ended with the rotation.
    phone
        .get("/auth/totp")
        .await
        .assert_error(401, "unauthenticated");

    // The used key opens nothing any more; the replacement and the spare are listed.
    let slots = slots_of(&laptop.get("/auth/slots").await);
    assert_eq!(slots.len(), 3);
    assert!(
        slots.iter().any(|s| s["label"] == "printed kit"),
        "the replacement keeps the label: {slots:?}"
    );
    laptop.post("/auth/lock", json!({})).await;
    laptop
        .post("/auth/recover", recovery(&kit, NEW_PASS))
        .await
        .assert_error(401, "wrong_passphrase");
    laptop
        .post("/auth/unlock", json!({ "passphrase": PASS }))
        .await
        .assert_error(401, "wrong_passphrase");
    let a = laptop
        .post("/auth/unlock", json!({ "passphrase": NEW_PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");

    // A second device signs in; the laptop removes the spare key and stays signed in, the
    // other device's session ends (the data key rotated).
    let mut phone = Client::arrived(&server).await;
    let a = phone
        .post("/auth/unlock", json!({ "passphrase": NEW_PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let slots = slots_of(&laptop.get("/auth/slots").await);
    let spare_id = slots.iter().find(|s| s["label"] == "recovery key").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let passphrase_id = slots[0]["id"].as_str().unwrap().to_owned();
    let a = laptop.delete(&format!("/auth/slots/{spare_id}")).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(
        laptop.get("/auth/totp").await.status,
        200,
        "still signed in"
    );
    phone
        .get("/auth/totp")
        .await
        .assert_error(401, "unauthenticated");
    assert_eq!(slots_of(&laptop.get("/auth/slots").await).len(), 2);
    laptop
        .delete(&format!("/auth/slots/{spare_id}"))
        .await
        .assert_error(404, "not_found");
    laptop
        .delete("/auth/slots/not-a-slot")
        .await
        .assert_error(404, "not_found");
    laptop
        .delete(&format!("/auth/slots/{passphrase_id}"))
        .await
        .assert_error(409, "conflict");
    // The removed key opens nothing.
    laptop.post("/auth/lock", json!({})).await;
    laptop
        .post("/auth/recover", recovery(&spare, NEW_PASS))
        .await
        .assert_error(401, "wrong_passphrase");
    server.vault.clear_lockout().unwrap();
    server.vault.unlock(&SecretString::from(NEW_PASS)).unwrap();
    assert_eq!(server.vault.credentials().unwrap().email(), common::EMAIL);

    // The audit trail: each step with the client's address, never a key or a passphrase.
    let text = std::fs::read_to_string(&log).unwrap();
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for kind in [
        "slot_added",
        "recovered",
        "key_rotated",
        "slot_removed",
        "signed_in",
    ] {
        let event = events
            .iter()
            .find(|e| e["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} event: {events:#?}"));
        if kind != "key_rotated" {
            assert_eq!(event["context"]["client"], "127.0.0.1", "{event}");
        }
    }
    for secret in [&kit, &next, &spare, &typed, PASS, NEW_PASS] {
        assert!(!text.contains(secret), "a secret in the audit log");
    }
}

#[tokio::test]
async fn the_recovery_endpoints_refuse_what_they_should() {
    let _turn = common::shared().await;
    let server = common::start(Setup::default()).await;
    let mut alice = Client::enrolled(&server).await;
    let kit = assert_shown_key(&alice.post("/auth/recovery-key", json!({})).await);
    alice.post("/auth/lock", json!({})).await;
    let stored = std::fs::read(&server.path).unwrap();
    let url = |path: &str| format!("{}{path}", server.base);
    let failures = || server.vault.lockout_state().unwrap().failures;

    // Not signed in: no key made, no slot listed or removed.
    let mut anonymous = Client::arrived(&server).await;
    anonymous
        .post("/auth/recovery-key", json!({}))
        .await
        .assert_error(401, "unauthenticated");
    anonymous
        .get("/auth/slots")
        .await
        .assert_error(401, "unauthenticated");
    anonymous
        .delete("/auth/slots/whatever")
        .await
        .assert_error(401, "unauthenticated");

    // No client cookie, or one this server did not issue: refused before anything runs.
    let mut bare = Client::new(&server);
    let mut planted = Client::new(&server);
    planted
        .cookies
        .insert("credlock_client".into(), "A".repeat(43));
    for client in [&mut bare, &mut planted] {
        client
            .post("/auth/recover", recovery(&kit, NEW_PASS))
            .await
            .assert_error(403, "client_cookie_required");
    }

    // The CSRF rule: the JSON content type, on each new state-changing endpoint.
    for path in ["/auth/recover", "/auth/recovery-key"] {
        for content_type in [Some("text/plain"), Some("multipart/form-data"), None] {
            let mut request = anonymous
                .http
                .post(url(path))
                .body(recovery(&kit, NEW_PASS).to_string());
            if let Some(ct) = content_type {
                request = request.header("content-type", ct);
            }
            anonymous
                .send(request)
                .await
                .assert_error(415, "json_required");
        }
    }
    let request = anonymous.http.delete(url("/auth/slots/whatever"));
    anonymous
        .send(request)
        .await
        .assert_error(415, "json_required");

    // An oversized body, and bodies of the wrong shape, never echoed.
    let big = recovery(&"0".repeat(20 * 1024), NEW_PASS).to_string();
    let request = anonymous
        .http
        .post(url("/auth/recover"))
        .header("content-type", "application/json")
        .body(big);
    anonymous
        .send(request)
        .await
        .assert_error(413, "body_too_large");
    let a = anonymous
        .post("/auth/recover", json!({ "recovery_key": [kit.clone()] }))
        .await;
    a.assert_error(422, "invalid_body");
    assert!(!a.json.to_string().contains(&kit));
    anonymous
        .post("/auth/recover", recovery("", NEW_PASS))
        .await
        .assert_error(400, "recovery_key_required");
    anonymous
        .post("/auth/recover", recovery(&kit, ""))
        .await
        .assert_error(400, "passphrase_required");
    assert_eq!(failures(), 0);

    // A text that is no recovery key: 400, nothing counted, the text not echoed.
    for malformed in ["hunter2-not-a-key", "0000-0000", &"0".repeat(40), "UUUU"] {
        let a = anonymous
            .post("/auth/recover", recovery(malformed, NEW_PASS))
            .await;
        a.assert_error(400, "invalid_input");
        assert!(!a.json.to_string().contains(malformed));
    }
    assert_eq!(failures(), 0);

    // A wrong key: 401, counted, as a passphrase is; at the lockout (3 here) 429 with
    // `Retry-After`, the right key refused too, before anything is tested.
    for n in 1..=3 {
        let a = anonymous
            .post("/auth/recover", recovery(WRONG_KEY, NEW_PASS))
            .await;
        a.assert_error(401, "wrong_passphrase");
        assert_eq!(failures(), n);
    }
    let a = anonymous
        .post("/auth/recover", recovery(&kit, NEW_PASS))
        .await;
    a.assert_error(429, "locked_out");
    let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    // The passphrase and the recovery key share the one lockout.
    anonymous
        .post("/auth/unlock", json!({ "passphrase": PASS }))
        .await
        .assert_error(429, "locked_out");
    assert_eq!(failures(), 3);
    assert_eq!(
        std::fs::read(&server.path).unwrap(),
        stored,
        "nothing written"
    );

    // Once the lockout has run out, the right key works.
    server.clock_offset.store(retry, Ordering::SeqCst);
    let a = anonymous
        .post("/auth/recover", recovery(&kit, NEW_PASS))
        .await;
    assert_shown_key(&a);
}

#[tokio::test]
async fn recovery_shares_the_per_address_limit() {
    let _turn = common::shared().await;
    let server = common::start(Setup {
        attempts: app::RateLimit::new(2, Duration::from_secs(60)),
        ..Setup::default()
    })
    .await;
    let mut alice = Client::enrolled(&server).await;
    let kit = assert_shown_key(&alice.post("/auth/recovery-key", json!({})).await);
    alice.post("/auth/lock", json!({})).await;
    // login and set-passphrase used the two attempts of the burst already.
    let a = alice.post("/auth/recover", recovery(&kit, NEW_PASS)).await;
    a.assert_error(429, "rate_limited");
    assert!(a.header("retry-after").is_some());
    assert_eq!(server.vault.lockout_state().unwrap().failures, 0);
    assert_eq!(server.vault.status(), credlock::SessionState::Locked);
}
