//! Security events POSTed to a webhook as signed JSON (`--webhook URL
//! --webhook-secret-file F`): an audit sink that queues them, and a task that delivers them
//! signed with [`credlock::audit::webhook`], so the receiver can check the sender and the
//! freshness.

use std::sync::Arc;
use std::time::Duration;

use credlock::audit::webhook::{self, SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookSecret};
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

/// The audit sink: queues each security event's JSON for the delivery task.
#[derive(Debug, Clone)]
pub(crate) struct WebhookSink {
    url: String,
    queue: mpsc::Sender<String>,
}

impl AuditSink for WebhookSink {
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        if is_security_event(event.kind) {
            let line = event.to_json_line();
            if self.queue.try_send(line.trim_end().to_owned()).is_err() {
                tracing::warn!(url = %self.url, "webhook queue full: an event was not delivered");
            }
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("webhook {} (signed, HMAC-SHA256)", self.url)
    }
}

/// Starts the delivery task (on the current tokio runtime) and returns the sink to give the
/// vault.
pub(crate) fn start(url: String, secret: WebhookSecret) -> WebhookSink {
    let (tx, mut rx) = mpsc::channel::<String>(QUEUE);
    let secret = Arc::new(secret);
    let target = url.clone();
    tokio::spawn(async move {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        while let Some(body) = rx.recv().await {
            let (timestamp, signature) = match webhook::sign_now(&secret, body.as_bytes()) {
                Ok(signed) => signed,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook not signed");
                    continue;
                }
            };
            let sent = client
                .post(&target)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(TIMESTAMP_HEADER, timestamp.to_string())
                .header(SIGNATURE_HEADER, signature)
                .body(body)
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => tracing::warn!(url = %target, status = %r.status(), "webhook refused"),
                Err(e) => tracing::warn!(url = %target, error = %e, "webhook not delivered"),
            }
        }
    });
    WebhookSink { url, queue: tx }
}
