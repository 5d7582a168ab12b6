//! A multi-user server: each user's vault from a credlock registry, the user in the path
//! (`/users/{id}/auth/...`). Users do not share sessions, pending logins or lockouts.

use std::sync::Arc;
use std::time::Duration;

use credlock::LockoutPolicy;
use credlock::registry::FileStoreSet;
use serde_json::json;

use crate::app;
use crate::common::{self, Client, PASS};

const BOB_PASS: &str = "Marmalade-Comet-17?";

pub(crate) async fn enrol(client: &mut Client, user: &str, email: &str, pass: &str) {
    let a = client.get(&format!("/users/{user}/auth/status")).await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = client
        .post(
            &format!("/users/{user}/auth/login"),
            json!({ "email": email, "password": "pw-of-the-service" }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = client
        .post(
            &format!("/users/{user}/auth/set-passphrase"),
            json!({ "passphrase": pass }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
}

#[tokio::test]
async fn users_have_their_own_vaults_sessions_and_lockouts() {
    let _turn = common::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let registry = Arc::new(
        credlock::Registry::builder(FileStoreSet::open(dir.path().join("vaults")).unwrap())
            .vault_options(|b| {
                b.insecure_kdf_iterations(1_000).lockout(
                    LockoutPolicy::new(3, Duration::from_secs(30), Duration::from_secs(60))
                        .unwrap(),
                )
            })
            .open()
            .unwrap(),
    );
    let state = app::AppState::for_registry(
        Arc::clone(&registry),
        true,
        app::Config {
            tls: false,
            attempts: app::RateLimit::new(1_000, Duration::from_millis(1)),
            ..app::Config::default()
        },
        Arc::new(app::AcceptAll),
    )
    .unwrap();
    let (base, _stop) = common::serve(state);
    let mut alice = Client::at(&base);
    let mut bob = Client::at(&base);
    enrol(&mut alice, "alice", "alice@example.com", PASS).await;
    enrol(&mut bob, "bob", "bob@example.com", BOB_PASS).await;

    // The page is per user; there is no single-user root.
    assert_eq!(alice.get("/users/alice/").await.status, 200);
    alice
        .get("/auth/status")
        .await
        .assert_error(404, "not_found");

    // Alice's session is hers only.
    let mut stolen = Client::at(&base);
    stolen.cookies.insert(
        "credlock_session".into(),
        alice.cookies["credlock_session"].clone(),
    );
    assert_eq!(stolen.get("/users/alice/auth/sessions").await.status, 200);
    stolen
        .get("/users/bob/auth/sessions")
        .await
        .assert_error(401, "unauthenticated");

    // Alice locked out does not lock Bob out.
    assert_eq!(
        alice.post("/users/alice/auth/lock", json!({})).await.status,
        200
    );
    for _ in 0..3 {
        alice
            .post(
                "/users/alice/auth/unlock",
                json!({ "passphrase": "Wrong-Guess-0000!" }),
            )
            .await
            .assert_error(401, "wrong_passphrase");
    }
    alice
        .post("/users/alice/auth/unlock", json!({ "passphrase": PASS }))
        .await
        .assert_error(429, "locked_out");
    assert_eq!(
        bob.post("/users/bob/auth/lock", json!({})).await.status,
        200
    );
    let a = bob
        .post("/users/bob/auth/unlock", json!({ "passphrase": BOB_PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let s = bob.get("/users/bob/security/status").await;
    assert_eq!(s.json["report"]["failed_attempts"], 0);
    // Alice is not signed in: the configuration only, not her failures.
    let s = alice.get("/users/alice/security/status").await;
    assert_eq!(s.json["authenticated"], false);
    assert!(s.json.get("report").is_none(), "{s:?}");
    assert_eq!(
        registry
            .existing_vault(&credlock::UserId::new("alice").unwrap())
            .unwrap()
            .unwrap()
            .lockout_state()
            .unwrap()
            .failures,
        3
    );

    // A session of one user is revoked through that user's path (the path names two
    // parameters: the user and the session).
    let a = bob
        .post("/users/bob/auth/sessions", json!({ "label": "cron" }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let token_id = a.json["session"]["id"].as_str().unwrap().to_owned();
    alice
        .delete(&format!("/users/alice/auth/sessions/{token_id}"))
        .await
        .assert_error(401, "unauthenticated");
    let a = bob
        .delete(&format!("/users/bob/auth/sessions/{token_id}"))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json["revoked"], token_id.as_str());
    bob.delete("/users/bob/auth/sessions/%FF")
        .await
        .assert_error(400, "bad_path");

    // Ids that name nothing are refused; a path that does not decode too.
    alice
        .get("/users/%FF/auth/status")
        .await
        .assert_error(400, "bad_path");
    for bad in ["a%20b", "x%2Fy", "%00", &"u".repeat(300)] {
        alice
            .get(&format!("/users/{bad}/auth/status"))
            .await
            .assert_error(400, "invalid_user");
    }
    // A dot segment never reaches a vault (the URL resolves it away first).
    for dots in ["..", "%2e%2e", "."] {
        let a = alice.get(&format!("/users/{dots}/auth/status")).await;
        assert!(a.status == 404 || a.status == 400, "{a:?}");
        assert!(a.json["error"].is_string(), "{a:?}");
    }
}
