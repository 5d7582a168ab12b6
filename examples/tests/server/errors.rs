//! Bad requests: malformed JSON, the wrong content type, an oversized body, a missing,
//! forged or revoked cookie, the per-address limit. Each is a 4xx with a JSON error, and
//! nothing stored is lost.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;

use crate::app;
use crate::common::{self, Client, PASS, Setup};

#[tokio::test]
async fn bad_requests_are_4xx_json_errors_and_lose_nothing() {
    let _turn = common::shared().await;
    let server = common::start(Setup::default()).await;
    let mut alice = Client::enrolled(&server).await;
    let stored = std::fs::read(&server.path).unwrap();
    let derivations = server.derivations.load(Ordering::SeqCst);
    let url = |path: &str| format!("{}{path}", server.base);

    // Malformed JSON, a body of the wrong shape, an empty body.
    for (body, status, code) in [
        (r#"{"passphrase": "#, 400, "malformed_json"),
        ("not json at all", 400, "malformed_json"),
        (r#"{"passphrase": 5}"#, 422, "invalid_body"),
        (r#"{"pass": "x"}"#, 422, "invalid_body"),
        ("", 400, "malformed_json"),
    ] {
        let request = alice
            .http
            .post(url("/auth/unlock"))
            .header("content-type", "application/json")
            .body(body);
        let a = alice.send(request).await;
        a.assert_error(status, code);
        assert!(
            !a.json.to_string().contains("passphrase\": 5"),
            "the input is never echoed"
        );
    }
    // A parse error never quotes the input, which may be a passphrase.
    let request = alice
        .http
        .post(url("/auth/unlock"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"passphrase": ["{PASS}"]}}"#));
    let a = alice.send(request).await;
    a.assert_error(422, "invalid_body");
    assert!(!a.json.to_string().contains(PASS));

    // The wrong content type, or none, on every state-changing endpoint: the CSRF rule.
    for path in [
        "/auth/login",
        "/auth/set-passphrase",
        "/auth/unlock",
        "/auth/lock",
        "/auth/logout",
        "/auth/sessions",
    ] {
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            None,
        ] {
            let mut request = alice.http.post(url(path)).body(r#"{"passphrase":"x"}"#);
            if let Some(ct) = content_type {
                request = request.header("content-type", ct);
            }
            alice.send(request).await.assert_error(415, "json_required");
        }
    }
    let request = alice.http.delete(url("/auth/sessions/whatever"));
    alice.send(request).await.assert_error(415, "json_required");

    // An oversized body (over 16 KiB), with and without a declared length.
    let big = json!({ "passphrase": "x".repeat(20 * 1024) }).to_string();
    let request = alice
        .http
        .post(url("/auth/unlock"))
        .header("content-type", "application/json")
        .body(big.clone());
    alice
        .send(request)
        .await
        .assert_error(413, "body_too_large");
    let (status, body) = chunked_post(&server.base, "/auth/unlock", big.as_bytes()).await;
    assert_eq!(status, 413, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["error"], "body_too_large");

    // Missing, forged and revoked session cookies.
    let mut anonymous = Client::arrived(&server).await;
    anonymous
        .post("/auth/lock", json!({}))
        .await
        .assert_error(401, "unauthenticated");
    anonymous
        .get("/auth/sessions")
        .await
        .assert_error(401, "unauthenticated");
    anonymous
        .get("/auth/totp")
        .await
        .assert_error(401, "unauthenticated");
    let mut forger = Client::arrived(&server).await;
    for forged in [
        "clk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "x",
        "",
        "%00%0d%0a",
    ] {
        forger
            .cookies
            .insert("credlock_session".into(), forged.into());
        forger
            .post("/auth/logout", json!({}))
            .await
            .assert_error(401, "unauthenticated");
    }
    // No client cookie at all, or one this server never issued (well formed, 43 base64url
    // characters): login and unlock are refused before anything runs.
    let mut bare = Client::new(&server);
    let mut planted = Client::new(&server);
    planted
        .cookies
        .insert("credlock_client".into(), "A".repeat(43));
    for client in [&mut bare, &mut planted] {
        client
            .post("/auth/unlock", json!({ "passphrase": PASS }))
            .await
            .assert_error(403, "client_cookie_required");
        client
            .post("/auth/login", json!({ "email": "a@b.c", "password": "p" }))
            .await
            .assert_error(403, "client_cookie_required");
    }
    // The status replaces the made-up id with one of the server's.
    planted.get("/auth/status").await;
    assert_ne!(planted.cookies["credlock_client"], "A".repeat(43));
    planted
        .post("/auth/unlock", json!({ "passphrase": "" }))
        .await
        .assert_error(400, "passphrase_required");
    // A revoked cookie: alice revokes her own session.
    let list = alice.get("/auth/sessions").await;
    let id = list.json["sessions"][0]["id"].as_str().unwrap().to_owned();
    let revoked = alice.cookies["credlock_session"].clone();
    assert_eq!(
        alice.delete(&format!("/auth/sessions/{id}")).await.status,
        200
    );
    let mut replay = Client::arrived(&server).await;
    replay.cookies.insert("credlock_session".into(), revoked);
    replay
        .post("/auth/logout", json!({}))
        .await
        .assert_error(401, "unauthenticated");
    replay
        .get("/auth/sessions")
        .await
        .assert_error(401, "unauthenticated");

    // Unknown paths, and a method an endpoint does not take.
    anonymous
        .get("/no/such/thing")
        .await
        .assert_error(404, "not_found");
    let a = anonymous.get("/auth/login").await;
    a.assert_error(405, "method_not_allowed");
    assert_eq!(a.header("allow"), Some("POST"));
    let request = anonymous
        .http
        .delete(url("/auth/status"))
        .header("content-type", "application/json");
    anonymous
        .send(request)
        .await
        .assert_error(405, "method_not_allowed");

    // Nothing lost: the same file, no derivation ran for any of this, and the right
    // passphrase still opens it.
    assert_eq!(std::fs::read(&server.path).unwrap(), stored);
    assert_eq!(server.derivations.load(Ordering::SeqCst), derivations);
    server.vault.lock();
    server
        .vault
        .unlock(&credlock::secrecy::SecretString::from(PASS))
        .unwrap();
    assert_eq!(server.vault.credentials().unwrap().email(), common::EMAIL);
}

/// POSTs `body` as JSON in 1 KiB chunks without a Content-Length, over a raw connection;
/// returns the status and the response body.
async fn chunked_post(base: &str, path: &str, body: &[u8]) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let addr = base.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    for chunk in body.chunks(1024) {
        let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), chunk, b"\r\n"].concat();
        // The server may answer 413 and close before the whole body is sent.
        if stream.write_all(&framed).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body)
}

#[tokio::test]
async fn the_per_address_limit_answers_429_before_the_vault_is_tried() {
    let _turn = common::shared().await;
    let server = common::start(Setup {
        attempts: app::RateLimit::new(2, Duration::from_secs(60)),
        ..Setup::default()
    })
    .await;
    let mut alice = Client::enrolled(&server).await;
    alice.post("/auth/lock", json!({})).await;
    let before = server.derivations.load(Ordering::SeqCst);
    // login and set-passphrase used the two attempts of the burst already.
    let a = alice
        .post("/auth/unlock", json!({ "passphrase": "Wrong-Guess-0000!" }))
        .await;
    a.assert_error(429, "rate_limited");
    let retry: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(server.derivations.load(Ordering::SeqCst), before);
    assert_eq!(server.vault.lockout_state().unwrap().failures, 0);
}
