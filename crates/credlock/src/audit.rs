//! The audit trail: every security event of a vault, as a typed [`AuditEvent`], to the sinks
//! the app chose.
//!
//! By default events go to [`TracingSink`] (`tracing` events on target `credlock::audit`,
//! free when no subscriber listens). Add a durable trail with
//! [`VaultBuilder::audit_to`](crate::VaultBuilder::audit_to), for example a
//! [`JsonLinesSink`] (append-only, 0600, fsync per event, rotated by size). Events carry a
//! UTC time, the vault identifier the app chose
//! ([`VaultBuilder::audit_id`](crate::VaultBuilder::audit_id)), the outcome, the failure
//! count where relevant, and an optional request context ([`with_audit_context`]); never a
//! passphrase, its length, a key or a credential.
//!
//! A failing sink does not fail the operation, unless the app asked for fail-closed auditing
//! ([`VaultBuilder::audit_fail_closed`](crate::VaultBuilder::audit_fail_closed)).
//!
//! To keep user and client identifiers out of a trail that others read, wrap a sink in a
//! [`HashingSink`]: the vault, client, user-agent and session fields are recorded as their
//! HMAC-SHA256 under a key kept outside the log, and an investigator holding the key finds a
//! known value's events by searching for [`hash_value`] of it.

use std::cell::RefCell;
use std::sync::Arc;

/// Signed webhooks for security events: [`webhook::sign`] for a sender, [`webhook::verify`]
/// for a receiver.
pub use credlock_audit::webhook;
pub use credlock_audit::{
    AuditContext, AuditError, AuditEvent, AuditSink, DEFAULT_KEEP, DEFAULT_MAX_BYTES, EventKind,
    FailingSink, HASHED_PREFIX, HashingKey, HashingSink, JsonLinesBuilder, JsonLinesSink,
    MAX_FIELD_CHARS, MIN_HASHING_KEY_BYTES, MemorySink, Outcome, TracingSink, hash_value, sanitize,
};

use crate::clock::Clock;
use crate::error::Error;

thread_local! {
    static CONTEXT: RefCell<Option<AuditContext>> = const { RefCell::new(None) };
}

/// Runs `f` with `context` (the client's address, its user agent) attached to every audit
/// event a vault emits on this thread meanwhile, as a request handler would.
///
/// ```
/// use credlock::audit::{AuditContext, EventKind, MemorySink, with_audit_context};
/// use credlock::secrecy::SecretString;
/// use credlock::{Credentials, Policy, Vault};
///
/// let dir = tempfile::tempdir()?;
/// let trail = MemorySink::new();
/// let vault = Vault::builder(dir.path().join("vault.json"))
///     .insecure_kdf_iterations(1_000)
///     .audit_id("user-42")
///     .audit_to(trail.clone())
///     .open()?;
/// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
/// vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
/// vault.lock();
/// let ctx = AuditContext::new().client("203.0.113.7").user_agent("curl/8");
/// let _ = with_audit_context(ctx, || vault.unlock(&SecretString::from("wrong")));
/// let last = trail.events().pop().unwrap();
/// assert_eq!((last.kind, last.vault.as_str()), (EventKind::PassphraseRejected, "user-42"));
/// assert_eq!(last.context.unwrap().client.as_deref(), Some("203.0.113.7"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn with_audit_context<T>(context: AuditContext, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<AuditContext>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CONTEXT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let previous = CONTEXT.with(|c| c.borrow_mut().replace(context));
    let _restore = Restore(previous);
    f()
}

fn current_context() -> Option<AuditContext> {
    CONTEXT.with(|c| c.borrow().clone())
}

/// The sinks of one vault, its identifier, and whether auditing fails closed.
#[derive(Clone, Debug)]
pub(crate) struct Auditor {
    pub(crate) sinks: Vec<Arc<dyn AuditSink>>,
    pub(crate) fail_closed: bool,
    pub(crate) vault_id: String,
}

impl Auditor {
    pub(crate) fn new(vault_id: String) -> Self {
        Self {
            sinks: vec![Arc::new(TracingSink::new())],
            fail_closed: false,
            vault_id,
        }
    }

    /// Sends one event to every sink; the first failure is returned if auditing fails
    /// closed, and otherwise only reported through `tracing`.
    pub(crate) fn emit(&self, event: &AuditEvent) -> Result<(), Error> {
        let mut first_error = None;
        for sink in &self.sinks {
            if let Err(e) = sink.record(event) {
                tracing::error!(
                    target: "credlock::audit",
                    sink = %sink.describe(),
                    error = %e,
                    "an audit sink failed to record an event"
                );
                first_error.get_or_insert(e);
            }
        }
        match first_error {
            Some(e) if self.fail_closed => Err(Error::AuditFailed(e)),
            _ => Ok(()),
        }
    }

    /// Builds an event of this vault at the clock's time, with the request context, and
    /// sends it; see [`Auditor::emit`].
    pub(crate) fn record(
        &self,
        clock: &Clock,
        kind: EventKind,
        outcome: Outcome,
        fill: impl FnOnce(AuditEvent) -> AuditEvent,
    ) -> Result<(), Error> {
        let event = AuditEvent::new(clock.now(), self.vault_id.clone(), kind, outcome)
            .context(current_context());
        self.emit(&fill(event))
    }

    /// What the sinks are, for the status report.
    pub(crate) fn describe(&self) -> Vec<String> {
        self.sinks.iter().map(|s| s.describe()).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::panic)]

    use super::*;

    fn client() -> Option<String> {
        current_context().and_then(|c| c.client)
    }

    #[test]
    fn a_context_ends_with_its_closure_even_on_a_panic() {
        // A server thread serves one request after another: the first request's client must
        // not be named in the events of the next.
        assert_eq!(client(), None);
        with_audit_context(AuditContext::new().client("203.0.113.7"), || {
            assert_eq!(client().as_deref(), Some("203.0.113.7"));
            with_audit_context(AuditContext::new().client("198.51.100.2"), || {
                assert_eq!(client().as_deref(), Some("198.51.100.2"));
            });
            assert_eq!(client().as_deref(), Some("203.0.113.7"), "the outer again");
        });
        assert_eq!(client(), None);
        let panicked = std::panic::catch_unwind(|| {
            with_audit_context(AuditContext::new().client("192.0.2.9"), || {
                panic!("a handler panics");
            })
        });
        assert!(panicked.is_err());
        assert_eq!(client(), None, "unwinding restores it too");
    }
}
