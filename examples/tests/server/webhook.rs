//! Signed webhooks: the server POSTs security events to a receiver, which verifies each with
//! `credlock::audit::webhook::verify` and rejects a bad signature and a stale timestamp.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use credlock::audit::AuditError;
use credlock::audit::webhook::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSecret};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::app;
use crate::common::{self, Client, PASS, Setup};

const SECRET: &[u8] = b"test-webhook-secret-0123456789";

/// What the receiver saw: an accepted event, or why it rejected a delivery.
#[derive(Debug)]
enum Seen {
    Accepted(Value),
    Rejected(AuditError),
}

async fn receive(
    State((secret, seen)): State<(Arc<WebhookSecret>, mpsc::UnboundedSender<Seen>)>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    match webhook::verify(
        &secret,
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        SystemTime::now(),
        webhook::DEFAULT_TOLERANCE,
    ) {
        Ok(_) => {
            let _ = seen.send(Seen::Accepted(serde_json::from_slice(&body).unwrap()));
            StatusCode::NO_CONTENT
        }
        Err(e) => {
            let _ = seen.send(Seen::Rejected(e));
            StatusCode::UNAUTHORIZED
        }
    }
}

/// A receiver on an ephemeral loopback port: its URL and what it sees.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let secret = Arc::new(WebhookSecret::new(SECRET.to_vec()).unwrap());
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state((secret, tx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("the receiver saw nothing within 20 s")
        .expect("the receiver is gone")
}

#[tokio::test]
async fn security_events_arrive_signed_and_forgeries_are_rejected() {
    let _turn = common::shared().await;
    let (url, mut seen) = receiver().await;
    let sink = app::webhook::start(url.clone(), WebhookSecret::new(SECRET.to_vec()).unwrap());
    let server = common::start(Setup {
        audit_to: Some(sink),
        ..Setup::default()
    })
    .await;
    let mut alice = Client::enrolled(&server).await;
    alice.post("/auth/lock", json!({})).await;
    let a = alice
        .post("/auth/unlock", json!({ "passphrase": "Wrong-Guess-0000!" }))
        .await;
    assert_eq!(a.status, 401);
    // Vault creation, unlock and lock are not security events; the wrong passphrase is.
    match next(&mut seen).await {
        Seen::Accepted(event) => {
            assert_eq!(event["kind"], "passphrase_rejected", "{event}");
            assert_eq!(event["operation"], "unlock");
            assert_eq!(event["context"]["client"], "127.0.0.1");
            assert!(!event.to_string().contains("Wrong-Guess"));
        }
        other => panic!("{other:?}"),
    }
    alice
        .post("/auth/unlock", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(alice.post("/auth/logout", json!({})).await.status, 200);
    match next(&mut seen).await {
        Seen::Accepted(event) => assert_eq!(event["kind"], "logged_out", "{event}"),
        other => panic!("{other:?}"),
    }

    // Forgeries sent straight to the receiver.
    let http = reqwest::Client::new();
    let body = br#"{"kind":"logged_out"}"#.to_vec();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let wrong_key = WebhookSecret::new(b"not-the-shared-secret".to_vec()).unwrap();
    let stale = now - 3_600;
    let right_key = WebhookSecret::new(SECRET.to_vec()).unwrap();
    for (timestamp, signature) in [
        (now, webhook::sign(&wrong_key, now, &body)),
        (stale, webhook::sign(&right_key, stale, &body)),
    ] {
        let status = http
            .post(&url)
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(body.clone())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
    assert!(matches!(
        next(&mut seen).await,
        Seen::Rejected(AuditError::WebhookBadSignature)
    ));
    assert!(matches!(
        next(&mut seen).await,
        Seen::Rejected(AuditError::WebhookStale {
            age_secs: 3_600..=3_602,
            tolerance_secs: 300
        })
    ));
}
