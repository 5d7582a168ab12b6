//! The [`AuditSink`] trait.

use std::sync::Arc;

use crate::{AuditError, AuditEvent};

/// Where events go.
///
/// A sink is shared between threads (`Send + Sync`) and records through `&self`. Besides
/// the sinks of this crate, a shared or boxed sink is a sink: `Arc<S>`, `Box<S>` and `&S`
/// (also for `S = dyn AuditSink`).
///
/// ```
/// # mod credlock { pub use credlock_audit as audit; }
/// use std::sync::Arc;
/// use credlock::audit::{AuditEvent, AuditSink, EventKind, MemorySink, Outcome};
///
/// let memory = MemorySink::new();
/// let sink: Arc<dyn AuditSink> = Arc::new(memory.clone());
/// sink.record(&AuditEvent::now("main", EventKind::Locked, Outcome::Success))?;
/// assert_eq!(memory.events().len(), 1);
/// # Ok::<(), credlock::audit::AuditError>(())
/// ```
pub trait AuditSink: Send + Sync + std::fmt::Debug {
    /// Records one event.
    ///
    /// # Errors
    ///
    /// When the event could not be recorded durably: [`AuditError::Io`] when writing or
    /// syncing failed, [`AuditError::Unsafe`] when the destination is no longer safe to
    /// write, [`AuditError::Refused`] when the sink refuses events.
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError>;

    /// A short description for status reports: `"tracing (credlock::audit)"`,
    /// `"jsonl /var/log/credlock/audit.jsonl (rotate at 10485760 bytes, keep 5)"`.
    fn describe(&self) -> String;
}

impl<S: AuditSink + ?Sized> AuditSink for &S {
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        (**self).record(event)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl<S: AuditSink + ?Sized> AuditSink for Box<S> {
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        (**self).record(event)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

impl<S: AuditSink + ?Sized> AuditSink for Arc<S> {
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        (**self).record(event)
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}
