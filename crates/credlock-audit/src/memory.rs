//! Sinks for tests of the layers above: [`MemorySink`] and [`FailingSink`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{AuditError, AuditEvent, AuditSink, EventKind};

/// Keeps events in memory, for tests of the layers that emit them.
///
/// Clones share one buffer: hand a clone to the code under test and read the events from
/// the original.
///
/// ```
/// # mod credlock { pub use credlock_audit as audit; }
/// use credlock::audit::{AuditEvent, AuditSink, EventKind, MemorySink, Outcome};
///
/// let memory = MemorySink::new();
/// let given_away = memory.clone();
/// given_away.record(&AuditEvent::now("main", EventKind::UnlockSucceeded, Outcome::Success))?;
/// assert_eq!(memory.kinds(), [EventKind::UnlockSucceeded]);
/// # Ok::<(), credlock::audit::AuditError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    events: Arc<Mutex<Vec<AuditEvent>>>,
}

impl MemorySink {
    /// An empty sink.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::MemorySink;
    ///
    /// assert!(MemorySink::new().events().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of the events recorded so far, oldest first.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditEvent, AuditSink, EventKind, MemorySink, Outcome};
    ///
    /// let memory = MemorySink::new();
    /// memory.record(&AuditEvent::now("a", EventKind::Locked, Outcome::Success))?;
    /// memory.record(&AuditEvent::now("b", EventKind::Locked, Outcome::Success))?;
    /// let vaults: Vec<_> = memory.events().into_iter().map(|e| e.vault).collect();
    /// assert_eq!(vaults, ["a", "b"]);
    /// # Ok::<(), credlock::audit::AuditError>(())
    /// ```
    #[must_use]
    pub fn events(&self) -> Vec<AuditEvent> {
        self.lock().clone()
    }

    /// The kinds of the events recorded so far, oldest first.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditEvent, AuditSink, EventKind, MemorySink, Outcome};
    ///
    /// let memory = MemorySink::new();
    /// memory.record(&AuditEvent::now("main", EventKind::Reset, Outcome::Success))?;
    /// assert_eq!(memory.kinds(), [EventKind::Reset]);
    /// # Ok::<(), credlock::audit::AuditError>(())
    /// ```
    #[must_use]
    pub fn kinds(&self) -> Vec<EventKind> {
        self.lock().iter().map(|e| e.kind).collect()
    }

    /// Forgets the events recorded so far (for every clone).
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditEvent, AuditSink, EventKind, MemorySink, Outcome};
    ///
    /// let memory = MemorySink::new();
    /// memory.record(&AuditEvent::now("main", EventKind::Locked, Outcome::Success))?;
    /// memory.clear();
    /// assert!(memory.events().is_empty());
    /// # Ok::<(), credlock::audit::AuditError>(())
    /// ```
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> MutexGuard<'_, Vec<AuditEvent>> {
        // A panic while holding the lock cannot leave the Vec half-changed.
        self.events.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl AuditSink for MemorySink {
    /// Appends a copy of the event; never fails.
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        self.lock().push(event.clone());
        Ok(())
    }

    fn describe(&self) -> String {
        "memory".to_owned()
    }
}

/// Refuses every event with [`AuditError::Refused`]: for tests of fail-closed auditing
/// (an operation that must not go ahead unless its event was recorded).
///
/// ```
/// # mod credlock { pub use credlock_audit as audit; }
/// use credlock::audit::{AuditError, AuditEvent, AuditSink, EventKind, FailingSink, Outcome};
///
/// let event = AuditEvent::now("main", EventKind::Exported, Outcome::Success);
/// assert!(matches!(FailingSink::new().record(&event), Err(AuditError::Refused)));
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct FailingSink;

impl FailingSink {
    /// The failing sink.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditSink, FailingSink};
    ///
    /// assert_eq!(FailingSink::new().describe(), "failing (refuses every event)");
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self
    }
}

impl AuditSink for FailingSink {
    /// Always returns [`AuditError::Refused`].
    fn record(&self, _event: &AuditEvent) -> Result<(), AuditError> {
        Err(AuditError::Refused)
    }

    fn describe(&self) -> String {
        "failing (refuses every event)".to_owned()
    }
}
