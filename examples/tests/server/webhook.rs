//! Signed webhooks (Standard Webhooks, `credlock::audit::webhook::v2`): the server POSTs
//! security events to a receiver, which verifies each and remembers its event id; a
//! forgery, a stale delivery and a replay within the time window are refused, and a
//! redirect is not followed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use credlock::audit::AuditError;
use credlock::audit::webhook::WebhookSecret;
use credlock::audit::webhook::v2::{
    self, EventId, ID_HEADER, SIGNATURE_HEADER, SeenIds, TIMESTAMP_HEADER,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::app;
use crate::common::{self, Client, PASS, Setup};

const SECRET: &[u8] = b"test-webhook-secret-0123456789";

/// What the receiver saw: an accepted event (with its headers), or why it refused one.
#[derive(Debug)]
enum Seen {
    Accepted {
        event: Value,
        headers: HeaderMap,
        body: Bytes,
    },
    Rejected(AuditError),
}

#[derive(Clone)]
struct Receiver {
    secret: Arc<WebhookSecret>,
    seen_ids: Arc<Mutex<SeenIds>>,
    seen: mpsc::UnboundedSender<Seen>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    let now = SystemTime::now();
    let mut seen_ids = r.seen_ids.lock().unwrap();
    let verdict = v2::verify(
        &r.secret,
        header(ID_HEADER),
        header(TIMESTAMP_HEADER),
        header(SIGNATURE_HEADER),
        &body,
        now,
        seen_ids.tolerance(),
    )
    .and_then(|delivery| seen_ids.remember(&delivery, now));
    match verdict {
        Ok(()) => {
            let event = serde_json::from_slice(&body).unwrap();
            let _ = r.seen.send(Seen::Accepted {
                event,
                headers: headers.clone(),
                body,
            });
            StatusCode::NO_CONTENT
        }
        Err(e) => {
            let _ = r.seen.send(Seen::Rejected(e));
            StatusCode::UNAUTHORIZED
        }
    }
}

/// Serves `router` on an ephemeral loopback port; its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// A receiver on an ephemeral loopback port: its URL and what it sees.
async fn receiver() -> (String, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Receiver {
        secret: Arc::new(WebhookSecret::new(SECRET.to_vec()).unwrap()),
        seen_ids: Arc::new(Mutex::new(SeenIds::new(1_000, v2::DEFAULT_TOLERANCE))),
        seen: tx,
    };
    let router = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(state);
    (format!("{}/hook", serve(router).await), rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Seen {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("the receiver saw nothing within 20 s")
        .expect("the receiver is gone")
}

/// A server whose vault's security events go to a webhook at `url`.
async fn server_reporting_to(url: &str) -> common::Server {
    let sink = app::webhook::start(url.to_owned(), WebhookSecret::new(SECRET.to_vec()).unwrap());
    common::start(Setup {
        audit_to: vec![Arc::new(sink)],
        ..Setup::default()
    })
    .await
}

#[tokio::test]
async fn security_events_arrive_signed_with_an_id_and_replays_and_forgeries_are_refused() {
    let _turn = common::shared().await;
    let (url, mut seen) = receiver().await;
    let server = server_reporting_to(&url).await;
    let mut alice = Client::enrolled(&server).await;
    alice.post("/auth/lock", json!({})).await;
    let a = alice
        .post("/auth/unlock", json!({ "passphrase": "Wrong-Guess-0000!" }))
        .await;
    assert_eq!(a.status, 401);
    // Vault creation, unlock and lock are not security events; the wrong passphrase is.
    let (first_headers, first_body) = match next(&mut seen).await {
        Seen::Accepted {
            event,
            headers,
            body,
        } => {
            assert_eq!(event["kind"], "passphrase_rejected", "{event}");
            assert_eq!(event["operation"], "unlock");
            assert_eq!(event["context"]["client"], "127.0.0.1");
            assert!(!event.to_string().contains("Wrong-Guess"));
            let id = headers[ID_HEADER].to_str().unwrap();
            assert!(id.starts_with("msg_") && id.len() == 36, "{id}");
            (headers, body)
        }
        other => panic!("{other:?}"),
    };
    alice
        .post("/auth/unlock", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(alice.post("/auth/logout", json!({})).await.status, 200);
    match next(&mut seen).await {
        Seen::Accepted { event, headers, .. } => {
            assert_eq!(event["kind"], "logged_out", "{event}");
            assert_ne!(
                headers[ID_HEADER], first_headers[ID_HEADER],
                "one id per event"
            );
        }
        other => panic!("{other:?}"),
    }

    // The first delivery again, as captured: signed, fresh, and refused for its id.
    let http = reqwest::Client::new();
    let post = |headers: Vec<(&'static str, String)>, body: Vec<u8>| {
        let mut request = http.post(&url).header("content-type", "application/json");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.body(body).send()
    };
    let captured = [ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER]
        .map(|n| (n, first_headers[n].to_str().unwrap().to_owned()))
        .to_vec();
    let status = post(captured, first_body.to_vec()).await.unwrap().status();
    assert_eq!(status, 401);
    assert!(matches!(
        next(&mut seen).await,
        Seen::Rejected(AuditError::WebhookReplayed)
    ));

    // Forgeries: another key, a stale timestamp.
    let body = br#"{"kind":"logged_out"}"#.to_vec();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let wrong_key = WebhookSecret::new(b"not-the-shared-secret".to_vec()).unwrap();
    let right_key = WebhookSecret::new(SECRET.to_vec()).unwrap();
    let stale = now - 3_600;
    for (key, timestamp) in [(&wrong_key, now), (&right_key, stale)] {
        let id = EventId::random().unwrap();
        let headers = vec![
            (ID_HEADER, id.to_string()),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (SIGNATURE_HEADER, v2::sign(key, &id, timestamp, &body)),
        ];
        assert_eq!(post(headers, body.clone()).await.unwrap().status(), 401);
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

#[tokio::test]
async fn a_webhook_that_redirects_is_not_followed() {
    let _turn = common::shared().await;
    // Where a redirect would lead: counts what reaches it.
    let elsewhere_hits = Arc::new(AtomicUsize::new(0));
    let hits = Arc::clone(&elsewhere_hits);
    let elsewhere = serve(axum::Router::new().route(
        "/stolen",
        axum::routing::post(move || {
            hits.fetch_add(1, Ordering::SeqCst);
            async { StatusCode::NO_CONTENT }
        }),
    ))
    .await;
    // The configured URL answers every delivery with a 307 to `elsewhere`, and reports it.
    let (tx, mut redirected) = mpsc::unbounded_channel::<Value>();
    let target = format!("{elsewhere}/stolen");
    let hook = serve(axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: Bytes| {
            let _ = tx.send(serde_json::from_slice(&body).unwrap());
            let target = target.clone();
            async move {
                let mut r: Response = StatusCode::TEMPORARY_REDIRECT.into_response();
                r.headers_mut()
                    .insert(header::LOCATION, target.parse().unwrap());
                r
            }
        }),
    ))
    .await;
    let server = server_reporting_to(&format!("{hook}/hook")).await;
    let mut alice = Client::enrolled(&server).await;
    alice.post("/auth/lock", json!({})).await;
    for _ in 0..2 {
        let a = alice
            .post("/auth/unlock", json!({ "passphrase": "Wrong-Guess-0000!" }))
            .await;
        assert_eq!(a.status, 401);
    }
    // Deliveries are sent one after the other, each to its end (a followed redirect
    // included): once the second reaches the hook, the first's redirect would have been
    // followed already.
    for _ in 0..2 {
        let event = tokio::time::timeout(Duration::from_secs(20), redirected.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(event["kind"], "passphrase_rejected");
    }
    assert_eq!(
        elsewhere_hits.load(Ordering::SeqCst),
        0,
        "the signed event was not handed on"
    );
}
