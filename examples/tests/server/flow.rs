//! The whole flow: login, set-passphrase, lock, wrong unlocks until the lockout, the wait,
//! unlock, status, sessions, revoke, logout.

use std::sync::atomic::Ordering;

use serde_json::json;

use crate::common::{self, Answer, Client, EMAIL, PASS, Setup};

fn wrong() -> serde_json::Value {
    json!({ "passphrase": "Wrong-Guess-0000!" })
}

#[tokio::test]
async fn the_whole_flow() {
    let _turn = common::shared().await;
    let server = common::start(Setup::default()).await;
    let mut alice = Client::new(&server);

    // A new client: not signed in, and told nothing more; the status hands out the client
    // cookie.
    let a = alice.get("/auth/status").await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.json,
        json!({ "authenticated": false, "state": "signed_out" })
    );
    common::assert_security_headers(&a.headers);
    assert!(
        a.header("strict-transport-security").is_none(),
        "plain HTTP: no HSTS"
    );
    let client_cookie = a.header("set-cookie").unwrap();
    assert!(client_cookie.contains("HttpOnly") && client_cookie.contains("SameSite=Strict"));
    assert!(client_cookie.contains("Path=/") && !client_cookie.contains("Secure"));

    // Login: the finance service (accept-all here) says yes; the credentials wait for this
    // client's passphrase.
    let a = alice
        .post("/auth/login", json!({ "email": "", "password": "x" }))
        .await;
    a.assert_error(400, "credentials_required");
    let a = alice
        .post(
            "/auth/login",
            json!({ "email": EMAIL, "password": "monarch-pw-123", "mfa_secret": "JBSWY3DPEHPK3PXP",
                    "mfa_mode": "secret" }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json["needs_passphrase"], true);
    // The login gave alice a new client id, which the pending login is bound to.
    let rotated = alice.cookies["credlock_client"].clone();
    assert_ne!(
        client_cookie.split(';').next().unwrap(),
        format!("credlock_client={rotated}")
    );
    assert_eq!(
        alice.get("/auth/status").await.json,
        json!({ "authenticated": false, "state": "signed_out" }),
        "a pending login is not told"
    );

    // The pending credentials are this client's only: another client cannot complete them.
    let mut mallory = Client::arrived(&server).await;
    let a = mallory
        .post("/auth/set-passphrase", json!({ "passphrase": PASS }))
        .await;
    a.assert_error(400, "no_pending_login");

    // Every unmet rule at once, the email counted as a context word.
    let a = alice
        .post("/auth/set-passphrase", json!({ "passphrase": "alice" }))
        .await;
    a.assert_error(422, "policy_rejected");
    assert!(
        a.json["message"]
            .as_str()
            .unwrap()
            .starts_with("passphrase does not meet the policy")
    );
    let codes: Vec<&str> = a.json["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["code"].as_str().unwrap())
        .collect();
    for code in [
        "too_short",
        "missing_uppercase",
        "missing_digit",
        "missing_special",
    ] {
        assert!(codes.contains(&code), "{codes:?}");
    }
    assert!(
        a.json["violations"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["message"].as_str().is_some_and(|m| !m.is_empty())),
        "a message per unmet rule"
    );
    assert!(
        !server.path.exists(),
        "nothing stored for a refused passphrase"
    );

    let a = alice
        .post("/auth/set-passphrase", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json["success"], true);
    let session_cookie = a.header("set-cookie").unwrap();
    assert!(session_cookie.starts_with("credlock_session="));
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Strict"));
    let a = alice.get("/auth/status").await;
    assert_eq!(
        a.json,
        json!({ "authenticated": true, "has_stored_credentials": true, "needs_unlock": false,
                "state": "unlocked" })
    );
    // Mallory is not signed in, and is told nothing of the vault or its owner.
    let a = mallory.get("/auth/status").await;
    assert_eq!(
        a.json,
        json!({ "authenticated": false, "state": "signed_out" })
    );
    let a = mallory
        .post("/auth/set-passphrase", json!({ "passphrase": PASS }))
        .await;
    a.assert_error(400, "no_pending_login");

    // Lock: the key is dropped and the session ends.
    let a = alice.post("/auth/lock", json!({})).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(!alice.cookies.contains_key("credlock_session"));
    let a = alice.get("/auth/status").await;
    assert_eq!(
        a.json,
        json!({ "authenticated": false, "state": "signed_out" })
    );

    // Wrong passphrases: 401 until the vault's lockout (3 here), then 429 + Retry-After
    // without a derivation.
    let before = server.derivations.load(Ordering::SeqCst);
    for _ in 0..3 {
        let a = alice.post("/auth/unlock", wrong()).await;
        a.assert_error(401, "wrong_passphrase");
    }
    assert_eq!(server.derivations.load(Ordering::SeqCst) - before, 3);
    let a = alice
        .post("/auth/unlock", json!({ "passphrase": PASS }))
        .await;
    a.assert_error(429, "locked_out");
    let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(
        server.derivations.load(Ordering::SeqCst) - before,
        3,
        "a refused attempt derives nothing"
    );
    // Not signed in: the configuration only, not the failures or the lockout.
    let report = alice.get("/security/status").await;
    assert_eq!(report.json["authenticated"], false);
    assert_eq!(report.json["kdf_iterations"], 1_000);
    assert!(report.json.get("report").is_none(), "{report:?}");
    assert!(!report.json.to_string().contains("failed_attempts"));
    let inside = server.vault.security_status();
    assert_eq!(inside.failed_attempts, 3);
    assert_eq!(inside.locked_out_for_secs, Some(retry));

    // Wait out the lockout on the vault's (test) clock, then unlock.
    server.clock_offset.store(retry, Ordering::SeqCst);
    let a = alice
        .post("/auth/unlock", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.json["unlock_success"], true);
    let status = alice.get("/auth/status").await;
    assert_eq!(status.json["authenticated"], true);

    // The security report: computed, with the file's KDF iteration count.
    let s = alice.get("/security/status").await;
    assert_eq!(s.status, 200);
    assert_eq!(s.json["authenticated"], true);
    assert_eq!(s.json["kdf_iterations"], 1_000);
    assert_eq!(
        s.json["key_derivation"],
        "PBKDF2 with SHA-256 (1,000 iterations)"
    );
    assert_eq!(s.json["file_permissions"], "0600");
    assert_eq!(s.json["report"]["failed_attempts"], 0);
    assert_eq!(s.json["report"]["state"], "unlocked");
    assert_eq!(s.json["passphrase_requirements"]["min_length"], 12);
    assert!(!s.json.to_string().contains(PASS));

    // A second device signs in to the unlocked vault with the passphrase (proven through
    // the gate: a derivation) and gets a session of its own; alice keeps hers. A wrong
    // passphrase there is counted as any other.
    let before = server.derivations.load(Ordering::SeqCst);
    let mut phone = Client::arrived(&server).await;
    phone
        .post("/auth/unlock", wrong())
        .await
        .assert_error(401, "wrong_passphrase");
    assert_eq!(server.vault.security_status().failed_attempts, 1);
    let a = phone
        .post("/auth/unlock", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(server.derivations.load(Ordering::SeqCst) - before, 2);
    assert_eq!(server.vault.security_status().failed_attempts, 0);
    assert!(phone.cookies.contains_key("credlock_session"));
    assert_ne!(
        phone.cookies["credlock_session"],
        alice.cookies["credlock_session"]
    );
    assert_eq!(phone.get("/auth/totp").await.status, 200);
    assert_eq!(
        alice.get("/auth/totp").await.status,
        200,
        "alice keeps hers"
    );
    let listed = alice.get("/auth/sessions").await;
    assert_eq!(listed.json["sessions"].as_array().unwrap().len(), 2);
    let phone_id = listed.json["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] == false)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        alice
            .delete(&format!("/auth/sessions/{phone_id}"))
            .await
            .status,
        200
    );
    phone
        .get("/auth/totp")
        .await
        .assert_error(401, "unauthenticated");

    // Sessions: this one, and an API token minted by it; revoke the token.
    let a = alice
        .post("/auth/sessions", json!({ "label": "backup script" }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let token = a.json["token"].as_str().unwrap().to_owned();
    let token_id = a.json["session"]["id"].as_str().unwrap().to_owned();
    let list = alice.get("/auth/sessions").await;
    let sessions = list.json["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2, "{list:?}");
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    assert!(
        !list.json.to_string().contains(&token),
        "never a token in a listing"
    );
    assert_eq!(a.json["session"]["kind"], "api_token");
    assert_eq!(a.json["session"]["scopes"], json!(["totp"]));
    // The token reads TOTP codes, and nothing else.
    let mut script = Client::new(&server);
    script
        .cookies
        .insert("credlock_session".into(), token.clone());
    let code = script.get("/auth/totp").await;
    assert_eq!(code.status, 200, "{code:?}");
    let digits = code.json["code"].as_str().unwrap();
    assert!(
        digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()),
        "{digits}"
    );
    assert!((1..=30).contains(&code.json["seconds_left"].as_u64().unwrap()));
    script
        .get("/auth/sessions")
        .await
        .assert_error(403, "forbidden");
    let a = alice.delete(&format!("/auth/sessions/{token_id}")).await;
    assert_eq!(a.status, 200, "{a:?}");
    // The revoked token is refused, and its cookie cleared.
    let a = script.get("/auth/totp").await;
    a.assert_error(401, "unauthenticated");
    assert!(!script.cookies.contains_key("credlock_session"));
    alice
        .delete(&format!("/auth/sessions/{token_id}"))
        .await
        .assert_error(404, "no_such_session");
    alice
        .delete("/auth/sessions/not-an-id")
        .await
        .assert_error(404, "no_such_session");
    // This client's own TOTP code.
    let code = alice.get("/auth/totp").await;
    assert_eq!(code.status, 200, "{code:?}");
    let list = alice.get("/auth/sessions").await;
    assert_eq!(list.json["sessions"].as_array().unwrap().len(), 1);

    // Logout: the credentials are deleted, every session ends.
    let a = alice.post("/auth/logout", json!({})).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(!server.path.exists());
    let a: Answer = alice.get("/auth/status").await;
    assert_eq!(
        a.json,
        json!({ "authenticated": false, "state": "signed_out" })
    );
    assert_eq!(server.vault.status(), credlock::SessionState::NoCredentials);
}

#[tokio::test]
async fn over_tls_cookies_are_secure_host_only_and_hsts_is_sent() {
    let _turn = common::shared().await;
    let server = common::start(Setup {
        tls: true,
        ..Setup::default()
    })
    .await;
    let mut client = Client::new(&server);
    let a = client.get("/").await;
    assert_eq!(a.status, 200);
    assert_eq!(
        a.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains")
    );
    // `__Host-`: only from this origin, Secure, Path=/, no Domain, so no neighbouring
    // subdomain can plant it.
    let cookie = a.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-credlock_client="), "{cookie}");
    assert!(
        cookie.contains("; Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");
    // The whole sign-in under those names.
    let a = client
        .post(
            "/auth/login",
            json!({ "email": EMAIL, "password": "monarch-pw-123" }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = client
        .post("/auth/set-passphrase", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let session = a.header("set-cookie").unwrap();
    assert!(session.starts_with("__Host-credlock_session="), "{session}");
    assert!(
        session.contains("; Secure") && session.contains("HttpOnly"),
        "{session}"
    );
    assert_eq!(client.get("/auth/status").await.json["authenticated"], true);
    // A plain-named cookie is not read over TLS.
    let token = client.cookies["__Host-credlock_session"].clone();
    let mut plain = Client::new(&server);
    plain.cookies.insert("credlock_session".into(), token);
    assert_eq!(plain.get("/auth/status").await.json["authenticated"], false);
}

#[tokio::test]
async fn a_bad_mfa_secret_is_refused_at_login_and_no_secret_means_no_totp() {
    let _turn = common::shared().await;
    let server = common::start(Setup::default()).await;
    let mut client = Client::arrived(&server).await;
    let a = client
        .post(
            "/auth/login",
            json!({ "email": EMAIL, "password": "pw", "mfa_secret": "not base32 at all!" }),
        )
        .await;
    a.assert_error(422, "invalid_credentials");
    client
        .post("/auth/set-passphrase", json!({ "passphrase": PASS }))
        .await
        .assert_error(400, "no_pending_login");
    let a = client
        .post("/auth/login", json!({ "email": EMAIL, "password": "pw" }))
        .await;
    assert_eq!(a.status, 200);
    let a = client
        .post("/auth/set-passphrase", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(a.status, 200);
    client
        .get("/auth/totp")
        .await
        .assert_error(404, "no_credentials");
}

#[derive(Debug)]
struct Refuses;

impl crate::app::FinanceService for Refuses {
    fn check(&self, login: &crate::app::pending::LoginAttempt) -> Result<(), String> {
        Err(format!("the finance service refused {}", login.email))
    }
}

#[tokio::test]
async fn a_login_the_finance_service_refuses_holds_nothing() {
    let _turn = common::shared().await;
    let server = common::start(Setup {
        finance: std::sync::Arc::new(Refuses),
        ..Setup::default()
    })
    .await;
    let mut client = Client::arrived(&server).await;
    let a = client
        .post("/auth/login", json!({ "email": EMAIL, "password": "pw" }))
        .await;
    a.assert_error(401, "login_failed");
    client
        .post("/auth/set-passphrase", json!({ "passphrase": PASS }))
        .await
        .assert_error(400, "no_pending_login");
}
