//! The [`TracingSink`]: events as `tracing` events.

use std::borrow::Cow;

use crate::event::{is_sanitized, sanitize};
use crate::{AuditError, AuditEvent, AuditSink};

/// The `tracing` target of the events a [`TracingSink`] emits.
pub const TRACING_TARGET: &str = "credlock::audit";

/// Emits each event as a `tracing` event with target [`TRACING_TARGET`]
/// (`"credlock::audit"`) and the message `"credlock audit event"`.
///
/// Kinds that are signs of someone guessing passphrases or tokens
/// ([`EventKind::is_warning`]: `passphrase_rejected`, `lockout_started`, `attempt_refused`,
/// `session_refused`) are emitted at `WARN`, everything else at `INFO`. The fields are:
///
/// | field              | value                                            |
/// |--------------------|--------------------------------------------------|
/// | `at`               | RFC 3339 UTC with milliseconds                   |
/// | `kind`             | [`EventKind::as_str`]                            |
/// | `vault`            | the vault identifier                             |
/// | `outcome`          | [`Outcome::as_str`](crate::Outcome::as_str)      |
/// | `operation`        | only when set                                    |
/// | `failures`         | only when set                                    |
/// | `retry_after_secs` | only when set                                    |
/// | `session`          | only when set (session events)                   |
/// | `count`            | only when set (an event standing for several)    |
/// | `client`           | only when set                                    |
/// | `user_agent`       | only when set                                    |
///
/// The app-chosen strings (`vault`, `client`, `user_agent`) are [`sanitize`]d again on the
/// way out, in case a field was assigned directly.
///
/// Recording never fails: whether the event is kept is up to the installed subscriber,
/// which cannot report back. For auditing that must not lose events, use a
/// [`JsonLinesSink`](crate::JsonLinesSink).
///
/// [`EventKind::is_warning`]: crate::EventKind::is_warning
/// [`EventKind::as_str`]: crate::EventKind::as_str
///
/// ```
/// # mod credlock { pub use credlock_audit as audit; }
/// use credlock::audit::{AuditEvent, AuditSink, EventKind, Outcome, TracingSink};
///
/// let sink = TracingSink::new();
/// sink.record(&AuditEvent::now("main", EventKind::Locked, Outcome::Success))?;
/// assert_eq!(sink.describe(), "tracing (credlock::audit)");
/// # Ok::<(), credlock::audit::AuditError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct TracingSink;

impl TracingSink {
    /// The sink.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::TracingSink;
    ///
    /// let _sink = TracingSink::new();
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self
    }
}

/// One `tracing` event at the given level, with the fields listed on [`TracingSink`].
macro_rules! emit {
    ($level:expr, $event:expr) => {{
        let event: &AuditEvent = $event;
        let at = event.at_rfc3339();
        let context = event.context.as_ref();
        let client = context.and_then(|c| c.client.as_deref()).map(clean);
        let user_agent = context.and_then(|c| c.user_agent.as_deref()).map(clean);
        let session = event.session.as_deref().map(clean);
        tracing::event!(
            target: TRACING_TARGET,
            $level,
            at = at.as_str(),
            kind = event.kind.as_str(),
            vault = clean(&event.vault).as_ref(),
            outcome = event.outcome.as_str(),
            operation = event.operation,
            failures = event.failures,
            retry_after_secs = event.retry_after_secs,
            client = client.as_deref(),
            user_agent = user_agent.as_deref(),
            session = session.as_deref(),
            count = event.count,
            "credlock audit event"
        );
    }};
}

impl AuditSink for TracingSink {
    /// Emits the event; never fails.
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        if event.kind.is_warning() {
            emit!(tracing::Level::WARN, event);
        } else {
            emit!(tracing::Level::INFO, event);
        }
        Ok(())
    }

    fn describe(&self) -> String {
        format!("tracing ({TRACING_TARGET})")
    }
}

/// The string, sanitised (without copying when it already is).
fn clean(s: &str) -> Cow<'_, str> {
    if is_sanitized(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(sanitize(s))
    }
}
