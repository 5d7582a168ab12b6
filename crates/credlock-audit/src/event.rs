//! What an audit event says: the kind, the outcome, the app's context, and the JSON line.

use std::fmt;
use std::time::SystemTime;

use serde::Serialize;

use crate::time;

/// The most characters kept of an app-supplied string ([`AuditContext`] fields and
/// [`AuditEvent::vault`]); the rest is cut off.
pub const MAX_FIELD_CHARS: usize = 256;

/// What happened.
///
/// Serialises as the `snake_case` name given by [`EventKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// Credentials were stored in a vault that had none.
    VaultCreated,
    /// The right passphrase unlocked the vault.
    UnlockSucceeded,
    /// A wrong passphrase was given, in any operation that takes one
    /// ([`AuditEvent::operation`] says which).
    PassphraseRejected,
    /// Too many consecutive wrong passphrases: attempts are refused for a while
    /// ([`AuditEvent::retry_after_secs`]).
    LockoutStarted,
    /// A passphrase attempt was refused because of a running lockout; no key was derived.
    AttemptRefused,
    /// An operator read the lockout state (failures, locked until) without a passphrase.
    LockoutInspected,
    /// An operator cleared the lockout and the failure count without a passphrase.
    LockoutCleared,
    /// The vault was locked on request.
    Locked,
    /// The vault was locked because it stayed idle longer than its idle timeout.
    IdleLocked,
    /// The user logged out: the stored credentials were deleted from an unlocked vault.
    LoggedOut,
    /// The stored credentials were deleted without a passphrase ("forgot my passphrase").
    Reset,
    /// The passphrase was changed.
    PassphraseChanged,
    /// The stored credentials were replaced.
    CredentialsUpdated,
    /// The credentials were exported.
    Exported,
    /// Credentials were imported.
    Imported,
    /// The record was re-sealed with a stronger key derivation.
    KdfUpgraded,
    /// An operator removed a user's vault from a registry (record and lockout state), without
    /// a passphrase.
    UserRemoved,
    /// An operator listed a registry's locked-out users.
    LockoutsListed,
    /// A client session or API token was minted ([`AuditEvent::session`] names it).
    SessionMinted,
    /// One client session or API token was revoked.
    SessionRevoked,
    /// Every client session and API token was revoked (on request, or by a lock or logout:
    /// [`AuditEvent::operation`] says which).
    SessionsRevoked,
    /// An API token was rotated: a new token was issued and the old one refused from then on.
    SessionRotated,
    /// A session token was refused (unknown, revoked, expired, or without the scope asked
    /// for); [`AuditEvent::failures`] counts refusals not audited one by one since the last
    /// such event.
    SessionRefused,
    /// A keyslot was added to the vault (a recovery key, a secret); [`AuditEvent::slot`]
    /// names it.
    SlotAdded,
    /// A keyslot was removed (the data key is rotated with it).
    SlotRemoved,
    /// The vault's data key was rotated: the record re-sealed and the remaining slots
    /// re-wrapped ([`AuditEvent::operation`] says why).
    KeyRotated,
    /// The vault was recovered with a recovery key: a new passphrase set and the recovery key
    /// replaced.
    Recovered,
    /// A second client signed in by proving the passphrase (or recovery key) while the vault
    /// stayed as it was.
    SignedIn,
}

impl EventKind {
    /// Every kind, in declaration order.
    pub const ALL: &'static [Self] = &[
        Self::VaultCreated,
        Self::UnlockSucceeded,
        Self::PassphraseRejected,
        Self::LockoutStarted,
        Self::AttemptRefused,
        Self::LockoutInspected,
        Self::LockoutCleared,
        Self::Locked,
        Self::IdleLocked,
        Self::LoggedOut,
        Self::Reset,
        Self::PassphraseChanged,
        Self::CredentialsUpdated,
        Self::Exported,
        Self::Imported,
        Self::KdfUpgraded,
        Self::UserRemoved,
        Self::LockoutsListed,
        Self::SessionMinted,
        Self::SessionRevoked,
        Self::SessionsRevoked,
        Self::SessionRotated,
        Self::SessionRefused,
        Self::SlotAdded,
        Self::SlotRemoved,
        Self::KeyRotated,
        Self::Recovered,
        Self::SignedIn,
    ];

    /// The `snake_case` name, as serialised and as the `kind` field of the
    /// [`TracingSink`](crate::TracingSink).
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::EventKind;
    ///
    /// assert_eq!(EventKind::PassphraseRejected.as_str(), "passphrase_rejected");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::VaultCreated => "vault_created",
            Self::UnlockSucceeded => "unlock_succeeded",
            Self::PassphraseRejected => "passphrase_rejected",
            Self::LockoutStarted => "lockout_started",
            Self::AttemptRefused => "attempt_refused",
            Self::LockoutInspected => "lockout_inspected",
            Self::LockoutCleared => "lockout_cleared",
            Self::Locked => "locked",
            Self::IdleLocked => "idle_locked",
            Self::LoggedOut => "logged_out",
            Self::Reset => "reset",
            Self::PassphraseChanged => "passphrase_changed",
            Self::CredentialsUpdated => "credentials_updated",
            Self::Exported => "exported",
            Self::Imported => "imported",
            Self::KdfUpgraded => "kdf_upgraded",
            Self::UserRemoved => "user_removed",
            Self::LockoutsListed => "lockouts_listed",
            Self::SessionMinted => "session_minted",
            Self::SessionRevoked => "session_revoked",
            Self::SessionsRevoked => "sessions_revoked",
            Self::SessionRotated => "session_rotated",
            Self::SessionRefused => "session_refused",
            Self::SlotAdded => "slot_added",
            Self::SlotRemoved => "slot_removed",
            Self::KeyRotated => "key_rotated",
            Self::Recovered => "recovered",
            Self::SignedIn => "signed_in",
        }
    }

    /// Whether this kind is a sign of someone guessing passphrases or tokens:
    /// [`PassphraseRejected`], [`LockoutStarted`], [`AttemptRefused`] and
    /// [`SessionRefused`]. The [`TracingSink`](crate::TracingSink) emits these at `WARN`,
    /// everything else at `INFO`.
    ///
    /// [`PassphraseRejected`]: EventKind::PassphraseRejected
    /// [`LockoutStarted`]: EventKind::LockoutStarted
    /// [`AttemptRefused`]: EventKind::AttemptRefused
    /// [`SessionRefused`]: EventKind::SessionRefused
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::EventKind;
    ///
    /// assert!(EventKind::AttemptRefused.is_warning());
    /// assert!(!EventKind::UnlockSucceeded.is_warning());
    /// ```
    #[must_use]
    pub const fn is_warning(self) -> bool {
        matches!(
            self,
            Self::PassphraseRejected
                | Self::LockoutStarted
                | Self::AttemptRefused
                | Self::SessionRefused
        )
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the operation behind an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// It did what was asked.
    Success,
    /// It was tried and failed (for example a wrong passphrase).
    Failure,
    /// It was not tried (for example during a lockout).
    Refused,
}

impl Outcome {
    /// The `snake_case` name, as serialised.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::Outcome;
    ///
    /// assert_eq!(Outcome::Refused.as_str(), "refused");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Refused => "refused",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// App-supplied, non-secret context of the request that caused an event: who asked, from
/// where.
///
/// The builder methods sanitise what they are given (see [`sanitize`]), so a client address
/// or user agent cannot forge a log line; fields assigned directly are taken as they are
/// (the JSON Lines sink escapes them all the same).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditContext {
    /// The client's address, as the app knows it (for example `"127.0.0.1:51234"`).
    pub client: Option<String>,
    /// The client's user agent, or another name for the program that asked.
    pub user_agent: Option<String>,
}

impl AuditContext {
    /// An empty context.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::AuditContext;
    ///
    /// assert_eq!(AuditContext::new().client, None);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the client address, sanitised.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::AuditContext;
    ///
    /// let ctx = AuditContext::new().client("10.0.0.7\n2026-01-01 forged line");
    /// assert_eq!(ctx.client.as_deref(), Some("10.0.0.72026-01-01 forged line"));
    /// ```
    #[must_use]
    pub fn client(mut self, addr: impl Into<String>) -> Self {
        self.client = Some(sanitize(&addr.into()));
        self
    }

    /// Sets the user agent, sanitised.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditContext, MAX_FIELD_CHARS};
    ///
    /// let ctx = AuditContext::new().user_agent("x".repeat(1000));
    /// assert_eq!(ctx.user_agent.map(|ua| ua.chars().count()), Some(MAX_FIELD_CHARS));
    /// ```
    #[must_use]
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = Some(sanitize(&ua.into()));
        self
    }
}

/// Makes an app-supplied string safe to put in a log line: removes control characters
/// (C0, DEL and C1, among them CR, LF and ESC), the Unicode line and paragraph separators
/// and the bidirectional embedding, override and isolate marks, then keeps the first
/// [`MAX_FIELD_CHARS`] characters.
///
/// ```
/// # mod credlock { pub use credlock_audit as audit; }
/// use credlock::audit::sanitize;
///
/// assert_eq!(sanitize("curl/8.5\r\n\x1b[31mok"), "curl/8.5[31mok");
/// assert_eq!(sanitize("\u{202e}gpj.exe"), "gpj.exe");
/// ```
#[must_use]
pub fn sanitize(s: &str) -> String {
    s.chars()
        .filter(|&c| !is_unsafe_char(c))
        .take(MAX_FIELD_CHARS)
        .collect()
}

/// Whether `s` is already what [`sanitize`] would return.
pub(crate) fn is_sanitized(s: &str) -> bool {
    !s.chars().any(is_unsafe_char) && s.chars().nth(MAX_FIELD_CHARS).is_none()
}

fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// One audit event: when, which vault, what happened, how it ended, and the app's context.
///
/// # Secrets
///
/// An event holds no secret and this crate cannot know one: the `credlock` facade never
/// passes a passphrase, key or credential into an event. [`vault`](AuditEvent::vault) and
/// [`context`](AuditEvent::context) are strings the app chooses; it should keep secrets out
/// of them too.
///
/// # JSON
///
/// [`to_json_line`](AuditEvent::to_json_line) gives one JSON object with the fields in the
/// order below; `at` is RFC 3339 in UTC with milliseconds, `operation`, `failures` and
/// `retry_after_secs` are `null` when not set, and `context`, `session` and `count` are left
/// out when there is none:
///
/// ```json
/// {"at":"2025-11-26T11:42:41.123Z","vault":"main","kind":"passphrase_rejected","operation":"unlock","outcome":"failure","failures":3,"retry_after_secs":null,"context":{"client":"127.0.0.1","user_agent":null}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuditEvent {
    /// When it happened. Serialised as RFC 3339 in UTC, rounded down to the millisecond
    /// (`"2025-11-26T11:42:41.123Z"`); instants outside the years 0000–9999 are clamped.
    #[serde(serialize_with = "time::serialize_rfc3339")]
    pub at: SystemTime,
    /// Which vault: an identifier the app chooses (never a path unless the app passes
    /// one).
    pub vault: String,
    /// What happened.
    pub kind: EventKind,
    /// For [`EventKind::PassphraseRejected`] and [`EventKind::AttemptRefused`]: the
    /// operation that took the passphrase: `"unlock"`, `"change_passphrase"`, `"export"` or
    /// `"import"`.
    pub operation: Option<&'static str>,
    /// How it ended.
    pub outcome: Outcome,
    /// The number of consecutive failed passphrase attempts after the event, where relevant.
    pub failures: Option<u32>,
    /// How long attempts are refused from now on, in whole seconds, where relevant.
    pub retry_after_secs: Option<u64>,
    /// The app's context of the request, if it gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<AuditContext>,
    /// For session events: the session's identifier (never its token). Left out of the JSON
    /// when not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// For an event that stands for several ([`EventKind::AttemptRefused`], which a vault
    /// audits at most once a second): how many occurrences it stands for, itself and those
    /// of the same vault not recorded one by one since the previous such event. Left out of
    /// the JSON when not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    /// For keyslot events ([`EventKind::SlotAdded`], [`EventKind::SlotRemoved`], an unlock
    /// or a recovery with a slot): the slot's identifier (never a secret). Left out of the
    /// JSON when not set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
}

impl AuditEvent {
    /// An event with no operation, failure count, retry delay or context. The vault
    /// identifier is [`sanitize`]d.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use std::time::SystemTime;
    /// use credlock::audit::{AuditEvent, EventKind, Outcome};
    ///
    /// let event = AuditEvent::new(SystemTime::now(), "main", EventKind::Locked, Outcome::Success);
    /// assert_eq!(event.vault, "main");
    /// assert_eq!(event.failures, None);
    /// ```
    #[must_use]
    pub fn new(
        at: SystemTime,
        vault: impl Into<String>,
        kind: EventKind,
        outcome: Outcome,
    ) -> Self {
        let vault = vault.into();
        let vault = if is_sanitized(&vault) {
            vault
        } else {
            sanitize(&vault)
        };
        Self {
            at,
            vault,
            kind,
            operation: None,
            outcome,
            failures: None,
            retry_after_secs: None,
            context: None,
            session: None,
            count: None,
            slot: None,
        }
    }

    /// [`AuditEvent::new`] at [`SystemTime::now`].
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditEvent, EventKind, Outcome};
    ///
    /// let event = AuditEvent::now("main", EventKind::UnlockSucceeded, Outcome::Success);
    /// assert_eq!(event.kind, EventKind::UnlockSucceeded);
    /// ```
    #[must_use]
    pub fn now(vault: impl Into<String>, kind: EventKind, outcome: Outcome) -> Self {
        Self::new(SystemTime::now(), vault, kind, outcome)
    }

    /// Sets the operation that took the passphrase (`"unlock"`, `"change_passphrase"`,
    /// `"export"`, `"import"`).
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditEvent, EventKind, Outcome};
    ///
    /// let event = AuditEvent::now("main", EventKind::PassphraseRejected, Outcome::Failure)
    ///     .operation("export");
    /// assert_eq!(event.operation, Some("export"));
    /// ```
    #[must_use]
    pub fn operation(mut self, op: &'static str) -> Self {
        self.operation = Some(op);
        self
    }

    /// Sets the number of consecutive failures after the event.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditEvent, EventKind, Outcome};
    ///
    /// let event = AuditEvent::now("main", EventKind::PassphraseRejected, Outcome::Failure)
    ///     .failures(2);
    /// assert_eq!(event.failures, Some(2));
    /// ```
    #[must_use]
    pub fn failures(mut self, n: u32) -> Self {
        self.failures = Some(n);
        self
    }

    /// Sets how long attempts are refused, in seconds.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditEvent, EventKind, Outcome};
    ///
    /// let event = AuditEvent::now("main", EventKind::LockoutStarted, Outcome::Failure)
    ///     .failures(5)
    ///     .retry_after_secs(30);
    /// assert_eq!(event.retry_after_secs, Some(30));
    /// ```
    #[must_use]
    pub fn retry_after_secs(mut self, s: u64) -> Self {
        self.retry_after_secs = Some(s);
        self
    }

    /// Sets (or, with `None`, clears) the app's context.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditContext, AuditEvent, EventKind, Outcome};
    ///
    /// let ctx = AuditContext::new().client("127.0.0.1");
    /// let event = AuditEvent::now("main", EventKind::Locked, Outcome::Success).context(Some(ctx));
    /// assert!(event.to_json_line().ends_with(r#""context":{"client":"127.0.0.1","user_agent":null}}"#));
    /// ```
    #[must_use]
    pub fn context(mut self, c: Option<AuditContext>) -> Self {
        self.context = c;
        self
    }

    /// Sets the session identifier of a session event ([`sanitize`]d).
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditEvent, EventKind, Outcome};
    ///
    /// let event = AuditEvent::now("main", EventKind::SessionRevoked, Outcome::Success)
    ///     .session("ses_0123abcd");
    /// assert_eq!(event.session.as_deref(), Some("ses_0123abcd"));
    /// assert!(event.to_json_line().ends_with(r#""session":"ses_0123abcd"}"#));
    /// ```
    #[must_use]
    pub fn session(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.session = Some(if is_sanitized(&id) { id } else { sanitize(&id) });
        self
    }

    /// Sets the keyslot identifier of a keyslot event ([`sanitize`]d).
    ///
    /// ```
    /// use credlock_audit::{AuditEvent, EventKind, Outcome};
    ///
    /// let event = AuditEvent::now("main", EventKind::SlotRemoved, Outcome::Success).slot("slt_0123abcd");
    /// assert!(event.to_json_line().contains(r#""slot":"slt_0123abcd""#));
    /// ```
    #[must_use]
    pub fn slot(mut self, id: impl Into<String>) -> Self {
        let id = id.into();
        self.slot = Some(if is_sanitized(&id) { id } else { sanitize(&id) });
        self
    }

    /// Sets how many occurrences the event stands for (see [`count`](AuditEvent::count)).
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditEvent, EventKind, Outcome};
    ///
    /// let event = AuditEvent::now("main", EventKind::AttemptRefused, Outcome::Refused)
    ///     .operation("unlock")
    ///     .count(250);
    /// assert_eq!(event.count, Some(250));
    /// assert!(event.to_json_line().ends_with(r#""retry_after_secs":null,"count":250}"#));
    /// ```
    #[must_use]
    pub fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// [`at`](AuditEvent::at) as serialised: RFC 3339 in UTC with milliseconds.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use credlock::audit::{AuditEvent, EventKind, Outcome};
    ///
    /// let at = UNIX_EPOCH + Duration::from_millis(1_764_157_361_123);
    /// let event = AuditEvent::new(at, "main", EventKind::Locked, Outcome::Success);
    /// assert_eq!(event.at_rfc3339(), "2025-11-26T11:42:41.123Z");
    /// ```
    #[must_use]
    pub fn at_rfc3339(&self) -> String {
        time::rfc3339_millis(self.at)
    }

    /// The event as one line of compact JSON, without a trailing newline. Strings are
    /// escaped, so the line never contains a newline whatever the fields hold.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use credlock::audit::{AuditEvent, EventKind, Outcome};
    ///
    /// let at = UNIX_EPOCH + Duration::from_millis(1_764_157_361_123);
    /// let event = AuditEvent::new(at, "main", EventKind::UnlockSucceeded, Outcome::Success)
    ///     .failures(0);
    /// assert_eq!(
    ///     event.to_json_line(),
    ///     r#"{"at":"2025-11-26T11:42:41.123Z","vault":"main","kind":"unlock_succeeded","operation":null,"outcome":"success","failures":0,"retry_after_secs":null}"#
    /// );
    /// ```
    #[must_use]
    pub fn to_json_line(&self) -> String {
        // Every field serialises without error (strings, integers, unit variants, a
        // timestamp formatted by hand), so the fallback is never taken; it still names what
        // happened rather than panicking.
        serde_json::to_string(self).unwrap_or_else(|_| {
            format!(
                r#"{{"at":"{}","kind":"{}","outcome":"{}","serialisation_failed":true}}"#,
                self.at_rfc3339(),
                self.kind.as_str(),
                self.outcome.as_str()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use proptest::prelude::*;

    use super::*;

    fn fixed_time() -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(1_764_157_361_123)
    }

    #[test]
    fn exact_json_line() {
        let event = AuditEvent::new(
            fixed_time(),
            "main",
            EventKind::PassphraseRejected,
            Outcome::Failure,
        )
        .operation("unlock")
        .failures(3)
        .context(Some(
            AuditContext::new()
                .client("127.0.0.1")
                .user_agent("credlock-cli/0.1"),
        ));
        assert_eq!(
            event.to_json_line(),
            concat!(
                r#"{"at":"2025-11-26T11:42:41.123Z","vault":"main","kind":"passphrase_rejected","#,
                r#""operation":"unlock","outcome":"failure","failures":3,"retry_after_secs":null,"#,
                r#""context":{"client":"127.0.0.1","user_agent":"credlock-cli/0.1"}}"#
            )
        );

        let event = AuditEvent::new(
            fixed_time(),
            "main",
            EventKind::LockoutStarted,
            Outcome::Failure,
        )
        .failures(5)
        .retry_after_secs(30);
        assert_eq!(
            event.to_json_line(),
            concat!(
                r#"{"at":"2025-11-26T11:42:41.123Z","vault":"main","kind":"lockout_started","#,
                r#""operation":null,"outcome":"failure","failures":5,"retry_after_secs":30}"#
            )
        );
    }

    #[test]
    fn kinds_serialise_as_their_snake_case_names() {
        assert_eq!(EventKind::ALL.len(), 28);
        for &kind in EventKind::ALL {
            let json = serde_json::to_string(&kind).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(kind.to_string(), kind.as_str());
            assert!(
                kind.as_str()
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_')
            );
        }
        assert_eq!(EventKind::KdfUpgraded.as_str(), "kdf_upgraded");
        assert_eq!(EventKind::IdleLocked.as_str(), "idle_locked");
        for (outcome, name) in [
            (Outcome::Success, "success"),
            (Outcome::Failure, "failure"),
            (Outcome::Refused, "refused"),
        ] {
            assert_eq!(outcome.as_str(), name);
            assert_eq!(
                serde_json::to_string(&outcome).unwrap_or_default(),
                format!("\"{name}\"")
            );
        }
    }

    #[test]
    fn names_are_distinct() {
        let mut names: Vec<_> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EventKind::ALL.len());
    }

    #[test]
    fn warnings_are_the_guessing_signs() {
        let warn: Vec<_> = EventKind::ALL
            .iter()
            .copied()
            .filter(|k| k.is_warning())
            .collect();
        assert_eq!(
            warn,
            [
                EventKind::PassphraseRejected,
                EventKind::LockoutStarted,
                EventKind::AttemptRefused,
                EventKind::SessionRefused
            ]
        );
    }

    #[test]
    fn context_is_sanitised() {
        let ctx = AuditContext::new()
            .client("1.2.3.4\r\n{\"forged\":true}")
            .user_agent("a\u{0}b\u{7f}c\u{85}d\u{1b}[0m\u{2028}e\u{202e}f\u{2066}g");
        assert_eq!(ctx.client.as_deref(), Some("1.2.3.4{\"forged\":true}"));
        assert_eq!(ctx.user_agent.as_deref(), Some("abcd[0mefg"));

        let long = "é".repeat(300);
        let ctx = AuditContext::new().client(long.clone()).user_agent(long);
        for field in [ctx.client, ctx.user_agent] {
            let field = field.unwrap_or_default();
            assert_eq!(field.chars().count(), MAX_FIELD_CHARS);
            assert_eq!(field, "é".repeat(MAX_FIELD_CHARS));
        }
    }

    #[test]
    fn vault_is_sanitised() {
        let event = AuditEvent::new(fixed_time(), "ma\nin", EventKind::Locked, Outcome::Success);
        assert_eq!(event.vault, "main");
    }

    #[test]
    fn no_context_is_left_out_and_empty_context_is_kept() {
        let event = AuditEvent::new(fixed_time(), "v", EventKind::Reset, Outcome::Success);
        assert!(!event.to_json_line().contains("context"));
        let event = event.context(Some(AuditContext::new()));
        assert!(
            event
                .to_json_line()
                .ends_with(r#","context":{"client":null,"user_agent":null}}"#)
        );
    }

    proptest! {
        #[test]
        fn json_line_is_one_line_and_round_trips(
            vault in any::<String>(),
            client in any::<String>(),
            ua in any::<String>(),
            raw_ua in any::<String>(),
        ) {
            let mut ctx = AuditContext::new().client(client.as_str()).user_agent(ua.as_str());
            let event = AuditEvent::new(fixed_time(), vault.as_str(), EventKind::Exported, Outcome::Success)
                .context(Some(ctx.clone()));
            let line = event.to_json_line();
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
            let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (vault, client, ua) = (sanitize(&vault), sanitize(&client), sanitize(&ua));
            prop_assert_eq!(v["vault"].as_str(), Some(vault.as_str()));
            prop_assert_eq!(v["context"]["client"].as_str(), Some(client.as_str()));
            prop_assert_eq!(v["context"]["user_agent"].as_str(), Some(ua.as_str()));

            // A field set directly, unsanitised, is still escaped into one line.
            ctx.user_agent = Some(raw_ua.clone());
            let line = event.context(Some(ctx)).to_json_line();
            prop_assert!(!line.contains('\n') && !line.contains('\r'));
            let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(v["context"]["user_agent"].as_str(), Some(raw_ua.as_str()));
        }

        #[test]
        fn sanitize_removes_and_caps(s in any::<String>()) {
            let out = sanitize(&s);
            prop_assert!(is_sanitized(&out));
            prop_assert!(out.chars().count() <= MAX_FIELD_CHARS);
            prop_assert!(!out.chars().any(char::is_control));
            let kept: String = s.chars().filter(|&c| !is_unsafe_char(c)).collect();
            prop_assert!(kept.starts_with(&out));
            prop_assert_eq!(is_sanitized(&s), sanitize(&s) == s);
        }
    }
}
