//! The test sinks, and sinks behind `Arc`, `Box` and references.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::thread;

use credlock_audit::{
    AuditError, AuditEvent, AuditSink, EventKind, FailingSink, MemorySink, Outcome,
};

fn event(kind: EventKind) -> AuditEvent {
    AuditEvent::now("main", kind, Outcome::Success)
}

#[test]
fn memory_sink_collects_in_order_and_clones_share() {
    let memory = MemorySink::new();
    let clone = memory.clone();
    memory.record(&event(EventKind::VaultCreated)).unwrap();
    clone.record(&event(EventKind::Locked)).unwrap();
    let e = event(EventKind::UnlockSucceeded).failures(0);
    memory.record(&e).unwrap();
    assert_eq!(
        clone.kinds(),
        [
            EventKind::VaultCreated,
            EventKind::Locked,
            EventKind::UnlockSucceeded
        ]
    );
    assert_eq!(memory.events()[2], e);
    clone.clear();
    assert!(memory.events().is_empty());
    assert_eq!(memory.describe(), "memory");
}

#[test]
fn memory_sink_across_threads() {
    let memory = MemorySink::new();
    let shared: Arc<dyn AuditSink> = Arc::new(memory.clone());
    thread::scope(|s| {
        for _ in 0..4 {
            let sink = Arc::clone(&shared);
            s.spawn(move || {
                for _ in 0..25 {
                    sink.record(&event(EventKind::Locked)).unwrap();
                }
            });
        }
    });
    assert_eq!(memory.events().len(), 100);
}

#[test]
fn failing_sink_refuses_everything() {
    let sink = FailingSink::new();
    for &kind in EventKind::ALL {
        assert!(matches!(
            sink.record(&event(kind)),
            Err(AuditError::Refused)
        ));
    }
    assert_eq!(sink.describe(), "failing (refuses every event)");
}

/// Takes any sink by value, so each call goes through the blanket impl of its type.
fn record_via<S: AuditSink>(sink: S) {
    sink.record(&event(EventKind::Locked)).unwrap();
}

#[test]
fn wrapped_sinks_are_sinks() {
    let memory = MemorySink::new();
    let boxed: Box<dyn AuditSink> = Box::new(memory.clone());
    let arc: Arc<dyn AuditSink> = Arc::new(memory.clone());
    record_via(&memory);
    record_via(&boxed);
    record_via(Arc::clone(&arc));
    record_via(boxed);
    record_via(&*arc);
    assert_eq!(memory.events().len(), 5);
    assert_eq!(arc.describe(), "memory");
    let failing: Box<dyn AuditSink> = Box::new(FailingSink::new());
    assert!(failing.record(&event(EventKind::Locked)).is_err());
    // Described through each wrapper's own impl, as generic code sees them.
    fn describe_via<S: AuditSink>(sink: S) -> String {
        sink.describe()
    }
    assert_eq!(describe_via(&memory), "memory");
    assert_eq!(describe_via(failing), "failing (refuses every event)");
    assert_eq!(describe_via(Arc::clone(&arc)), "memory");
    assert_eq!(Outcome::Refused.to_string(), "refused");
}
