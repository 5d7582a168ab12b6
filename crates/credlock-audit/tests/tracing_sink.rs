//! The tracing sink, captured by a minimal subscriber installed for the current thread.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use credlock_audit::{
    AuditContext, AuditEvent, AuditSink, EventKind, Outcome, TRACING_TARGET, TracingSink,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// One captured `tracing` event.
#[derive(Debug, Clone)]
struct Captured {
    target: String,
    level: Level,
    fields: BTreeMap<String, String>,
}

/// Records every event; spans are not used by the sink.
#[derive(Default, Clone)]
struct Capture(Arc<Mutex<Vec<Captured>>>);

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap().push(Captured {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields: fields.0,
        });
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

fn capture(f: impl FnOnce()) -> Vec<Captured> {
    let capture = Capture::default();
    tracing::subscriber::with_default(capture.clone(), f);
    capture.0.lock().unwrap().clone()
}

fn at() -> std::time::SystemTime {
    UNIX_EPOCH + Duration::from_millis(1_764_157_361_123)
}

#[test]
fn emits_on_the_audit_target_with_the_kind() {
    let events = capture(|| {
        TracingSink::new()
            .record(&AuditEvent::new(
                at(),
                "main",
                EventKind::UnlockSucceeded,
                Outcome::Success,
            ))
            .unwrap();
    });
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.target, "credlock::audit");
    assert_eq!(e.target, TRACING_TARGET);
    assert_eq!(e.level, Level::INFO);
    let get = |k: &str| e.fields.get(k).map(String::as_str);
    assert_eq!(get("kind"), Some("unlock_succeeded"));
    assert_eq!(get("vault"), Some("main"));
    assert_eq!(get("outcome"), Some("success"));
    assert_eq!(get("at"), Some("2025-11-26T11:42:41.123Z"));
    assert_eq!(get("message"), Some("credlock audit event"));
    // Unset options are not recorded at all.
    for absent in [
        "operation",
        "failures",
        "retry_after_secs",
        "client",
        "user_agent",
    ] {
        assert_eq!(get(absent), None, "{absent}");
    }
}

#[test]
fn signs_of_guessing_are_warnings_with_every_field() {
    let events = capture(|| {
        let sink = TracingSink::default();
        let ctx = AuditContext::new()
            .client("10.1.2.3")
            .user_agent("credlock-cli");
        sink.record(
            &AuditEvent::new(at(), "main", EventKind::LockoutStarted, Outcome::Failure)
                .operation("unlock")
                .failures(5)
                .retry_after_secs(30)
                .context(Some(ctx)),
        )
        .unwrap();
        for &kind in EventKind::ALL {
            sink.record(&AuditEvent::new(at(), "v", kind, Outcome::Success))
                .unwrap();
        }
    });
    let e = &events[0];
    assert_eq!(e.level, Level::WARN);
    let get = |k: &str| e.fields.get(k).map(String::as_str);
    assert_eq!(get("kind"), Some("lockout_started"));
    assert_eq!(get("operation"), Some("unlock"));
    assert_eq!(get("failures"), Some("5"));
    assert_eq!(get("retry_after_secs"), Some("30"));
    assert_eq!(get("client"), Some("10.1.2.3"));
    assert_eq!(get("user_agent"), Some("credlock-cli"));

    assert_eq!(events.len(), 1 + EventKind::ALL.len());
    for (e, &kind) in events[1..].iter().zip(EventKind::ALL) {
        assert_eq!(e.target, TRACING_TARGET);
        assert_eq!(e.fields["kind"], kind.as_str());
        let want = if kind.is_warning() {
            Level::WARN
        } else {
            Level::INFO
        };
        assert_eq!(e.level, want, "{kind}");
    }
}

#[test]
fn directly_assigned_strings_are_sanitised_on_the_way_out() {
    let mut ctx = AuditContext::new();
    ctx.client = Some("1.2.3.4\nforged=1".to_owned());
    let mut event = AuditEvent::new(at(), "main", EventKind::Locked, Outcome::Success);
    event.vault = "ma\rin".to_owned();
    let events = capture(|| {
        TracingSink::new()
            .record(&event.context(Some(ctx)))
            .unwrap()
    });
    assert_eq!(events[0].fields["client"], "1.2.3.4forged=1");
    assert_eq!(events[0].fields["vault"], "main");
}

#[test]
fn describes_itself() {
    assert_eq!(TracingSink::new().describe(), "tracing (credlock::audit)");
}
