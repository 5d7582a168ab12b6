//! Security events POSTed to a webhook as signed JSON (`--webhook URL
//! --webhook-secret-file F`): an audit sink that queues them, and a task that delivers them
//! signed with [`credlock::audit::webhook::v2`] (Standard Webhooks): each event has its own
//! id, signed with the timestamp and the body, so the receiver can check the sender and the
//! freshness, and refuse a replay within the time window by remembering the ids it accepted
//! (`v2::SeenIds`).
//!
//! The client never follows a redirect: it would hand the signed event to a URL the operator
//! did not configure. A 3xx answer is a failed delivery, logged.

use std::sync::Arc;
use std::time::Duration;

use credlock::audit::webhook::WebhookSecret;
use credlock::audit::webhook::v2::{self, EventId};
use credlock::audit::{AuditError, AuditEvent, AuditSink, EventKind};
use tokio::sync::mpsc;

/// The events worth telling another service about.
fn is_security_event(kind: EventKind) -> bool {
    matches!(
        kind,
        EventKind::PassphraseRejected
            | EventKind::LockoutStarted
            | EventKind::LockoutCleared
            | EventKind::PassphraseChanged
            | EventKind::LoggedOut
            | EventKind::Reset
            | EventKind::SessionRevoked
            | EventKind::UserRemoved
    )
}

/// Deliveries waiting; past this many, new events are dropped (and logged) rather than
/// slowing the vault down.
const QUEUE: usize = 1_024;

/// The audit sink: queues each security event's JSON, with its event id, for the delivery
/// task.
#[derive(Debug, Clone)]
pub(crate) struct WebhookSink {
    url: String,
    queue: mpsc::Sender<(EventId, String)>,
}

impl AuditSink for WebhookSink {
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        if is_security_event(event.kind) {
            // One id per event, kept for every attempt to deliver it.
            let id = EventId::random()?;
            let line = event.to_json_line();
            if self
                .queue
                .try_send((id, line.trim_end().to_owned()))
                .is_err()
            {
                tracing::warn!(url = %self.url, "webhook queue full: an event was not delivered");
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!(
            "webhook {} (Standard Webhooks: event id, timestamp and body signed with HMAC-SHA256)",
            self.url
        )
    }
}

/// The HTTP client of the deliveries: a 5 s timeout, and no redirect followed.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "webhook client options refused; redirects are still not followed");
            reqwest::Client::new()
        })
}

/// Starts the delivery task (on the current tokio runtime) and returns the sink to give the
/// vault.
pub(crate) fn start(url: String, secret: WebhookSecret) -> WebhookSink {
    let (tx, mut rx) = mpsc::channel::<(EventId, String)>(QUEUE);
    let secret = Arc::new(secret);
    let target = url.clone();
    tokio::spawn(async move {
        let client = client();
        while let Some((id, body)) = rx.recv().await {
            let signed = match v2::sign_now(&secret, &id, body.as_bytes()) {
                Ok(signed) => signed,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook not signed");
                    continue;
                }
            };
            let mut request = client
                .post(&target)
                .header(reqwest::header::CONTENT_TYPE, "application/json");
            for (name, value) in signed.to_pairs() {
                request = request.header(name, value);
            }
            match request.body(body).send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) if r.status().is_redirection() => tracing::warn!(
                    url = %target,
                    status = %r.status(),
                    "webhook answered with a redirect, which is not followed: not delivered"
                ),
                Ok(r) => tracing::warn!(url = %target, status = %r.status(), "webhook refused"),
                Err(e) => tracing::warn!(url = %target, error = %e, "webhook not delivered"),
            }
        }
    });
    WebhookSink { url, queue: tx }
}
