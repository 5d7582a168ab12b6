//! The [`HashingSink`]: identifying fields replaced by their HMAC-SHA256 before an event is
//! recorded.

use core::fmt;

use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::event::sanitize;
use crate::{AuditContext, AuditError, AuditEvent, AuditSink};

/// What a hashed field starts with, before 64 lowercase hex digits.
pub const HASHED_PREFIX: &str = "hmac-sha256:";

/// The shortest [`HashingKey`] accepted, in bytes.
pub const MIN_HASHING_KEY_BYTES: usize = 32;

/// The secret key of a [`HashingSink`]. Zeroized on drop; its `Debug` shows nothing of it.
///
/// Keep it outside the log (in a secret store, or a file only the app can read) and keep it
/// for as long as the logs are kept: whoever holds it can check whether a known value (a
/// vault identifier, an address) appears in the log with [`hash_value`], and whoever holds
/// the log without it can only link events that share a value.
pub struct HashingKey {
    key: Zeroizing<Vec<u8>>,
}

impl HashingKey {
    /// A key from its bytes: at least [`MIN_HASHING_KEY_BYTES`] random bytes, read from where
    /// the operator keeps it.
    ///
    /// ```
    /// # mod credlock { pub use credlock_audit as audit; }
    /// use credlock::audit::{AuditError, HashingKey};
    ///
    /// let key = HashingKey::new(vec![7; 32])?;
    /// assert_eq!(format!("{key:?}"), "HashingKey([REDACTED])");
    /// assert!(matches!(
    ///     HashingKey::new(vec![7; 31]),
    ///     Err(AuditError::HashingKeyTooShort { min: 32 })
    /// ));
    /// # Ok::<(), AuditError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`AuditError::HashingKeyTooShort`] below [`MIN_HASHING_KEY_BYTES`].
    pub fn new(key: Vec<u8>) -> Result<Self, AuditError> {
        let key = Zeroizing::new(key);
        if key.len() < MIN_HASHING_KEY_BYTES {
            return Err(AuditError::HashingKeyTooShort {
                min: MIN_HASHING_KEY_BYTES,
            });
        }
        Ok(Self { key })
    }
}

impl fmt::Debug for HashingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashingKey([REDACTED])")
    }
}

/// The string a [`HashingSink`] writes in place of `value`: [`HASHED_PREFIX`] and the
/// lowercase hex of HMAC-SHA256 under `key` of the [`sanitize`]d value (the value as an
/// event holds it).
///
/// The same value gives the same string in every field and every event, so an investigator
/// who holds the key can search the log for a known vault identifier, client address, user
/// agent or session identifier.
///
/// ```
/// # mod credlock { pub use credlock_audit as audit; }
/// use credlock::audit::{HashingKey, hash_value};
///
/// let key = HashingKey::new(b"0123456789abcdef0123456789abcdef".to_vec())?;
/// let hashed = hash_value(&key, "203.0.113.9:443");
/// assert!(hashed.starts_with("hmac-sha256:"));
/// assert_eq!(hashed.len(), "hmac-sha256:".len() + 64);
/// assert_eq!(hashed, hash_value(&key, "203.0.113.9:443"));
/// assert_ne!(hashed, hash_value(&key, "203.0.113.10:443"));
/// # Ok::<(), credlock::audit::AuditError>(())
/// ```
#[must_use]
pub fn hash_value(key: &HashingKey, value: &str) -> String {
    let value = sanitize(value);
    // HMAC takes a key of any length: a long one is hashed first, so this cannot fail.
    let mut mac = <Hmac<Sha256>>::new_from_slice(&key.key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of every length"));
    mac.update(value.as_bytes());
    let tag = mac.finalize().into_bytes();
    let mut out = String::with_capacity(HASHED_PREFIX.len() + 2 * tag.len());
    out.push_str(HASHED_PREFIX);
    crate::hex::push_lower(&mut out, &tag);
    out
}

/// Wraps a sink and replaces the fields of each event that identify a user, a vault or a
/// client by their [`hash_value`] before passing it on, as HashiCorp Vault's audit devices
/// do with sensitive strings.
///
/// | field                                   | recorded as                      |
/// |-----------------------------------------|----------------------------------|
/// | [`vault`](AuditEvent::vault)            | `hmac-sha256:` and 64 hex digits |
/// | [`session`](AuditEvent::session)        | hashed when set                  |
/// | [`context`](AuditEvent::context)`.client`     | hashed when set            |
/// | [`context`](AuditEvent::context)`.user_agent` | hashed when set            |
/// | `at`, `kind`, `operation`, `outcome`, `failures`, `retry_after_secs`, `count` | as they are |
///
/// Hashing is deterministic: events of one vault, client or session still share a value,
/// so they can be counted and linked, and whoever holds the [`HashingKey`] can find a known
/// value with [`hash_value`]. Without the key, a short or guessable value (an address, a
/// user name) cannot be recovered by trying candidates, which a plain hash would allow.
///
/// ```
/// # mod credlock { pub use credlock_audit as audit; }
/// use std::time::{Duration, UNIX_EPOCH};
/// use credlock::audit::{
///     AuditContext, AuditEvent, AuditSink, EventKind, HashingKey, HashingSink, MemorySink,
///     Outcome, hash_value,
/// };
///
/// let key = HashingKey::new(b"0123456789abcdef0123456789abcdef".to_vec())?;
/// let memory = MemorySink::new();
/// let sink = HashingSink::new(memory.clone(), key);
///
/// let at = UNIX_EPOCH + Duration::from_secs(1_764_157_361);
/// let event = AuditEvent::new(at, "alice", EventKind::PassphraseRejected, Outcome::Failure)
///     .operation("unlock")
///     .failures(2)
///     .context(Some(AuditContext::new().client("203.0.113.9:443")));
/// sink.record(&event)?;
///
/// let recorded = &memory.events()[0];
/// assert_eq!(recorded.vault, hash_value(sink.key(), "alice"));
/// let client = recorded.context.as_ref().and_then(|c| c.client.clone());
/// assert_eq!(client, Some(hash_value(sink.key(), "203.0.113.9:443")));
/// assert_eq!((recorded.kind, recorded.failures), (EventKind::PassphraseRejected, Some(2)));
/// # Ok::<(), credlock::audit::AuditError>(())
/// ```
#[derive(Debug)]
pub struct HashingSink<S: AuditSink> {
    inner: S,
    key: HashingKey,
}

impl<S: AuditSink> HashingSink<S> {
    /// Hashes the identifying fields of each event with `key`, then records it in `inner`.
    #[must_use]
    pub fn new(inner: S, key: HashingKey) -> Self {
        Self { inner, key }
    }

    /// The key, for [`hash_value`].
    #[must_use]
    pub fn key(&self) -> &HashingKey {
        &self.key
    }

    /// The wrapped sink.
    #[must_use]
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The wrapped sink, the key dropped (and zeroized).
    #[must_use]
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// A copy of `event` with its identifying fields hashed.
    ///
    /// The structs are taken apart and rebuilt field by field, without `..`: a field added
    /// to [`AuditEvent`] or [`AuditContext`] does not compile here until it is decided
    /// whether it is hashed.
    fn hashed(&self, event: &AuditEvent) -> AuditEvent {
        let hash = |value: &String| hash_value(&self.key, value);
        let AuditEvent {
            at,
            vault,
            kind,
            operation,
            outcome,
            failures,
            retry_after_secs,
            context,
            session,
            count,
            slot,
        } = event;
        AuditEvent {
            at: *at,
            vault: hash(vault),
            kind: *kind,
            operation: *operation,
            outcome: *outcome,
            failures: *failures,
            retry_after_secs: *retry_after_secs,
            context: context.as_ref().map(|ctx| {
                let AuditContext { client, user_agent } = ctx;
                AuditContext {
                    client: client.as_ref().map(hash),
                    user_agent: user_agent.as_ref().map(hash),
                }
            }),
            session: session.as_ref().map(hash),
            count: *count,
            // A slot id is random and names no person or client: kept as it is.
            slot: slot.clone(),
        }
    }
}

impl<S: AuditSink> AuditSink for HashingSink<S> {
    /// Records the event with its identifying fields hashed; fails as the wrapped sink does.
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        self.inner.record(&self.hashed(event))
    }

    /// The wrapped sink's description, then `" (identifiers hashed with hmac-sha256)"`.
    fn describe(&self) -> String {
        format!(
            "{} (identifiers hashed with hmac-sha256)",
            self.inner.describe()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventKind, MemorySink, Outcome};

    /// RFC 4231, test case 6: a 131-byte key, longer than SHA-256's block.
    #[test]
    fn hashes_as_rfc_4231_says() {
        let key = HashingKey::new(vec![0xaa; 131]).unwrap();
        assert_eq!(
            hash_value(
                &key,
                "Test Using Larger Than Block-Size Key - Hash Key First"
            ),
            "hmac-sha256:60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    /// A context assigned field by field (not through the sanitising builder) is hashed as
    /// `hash_value` would hash the same string.
    #[test]
    fn a_field_assigned_directly_is_hashed_sanitised() {
        let key = HashingKey::new(vec![1; 32]).unwrap();
        let memory = MemorySink::new();
        let sink = HashingSink::new(memory.clone(), key);
        let mut ctx = AuditContext::new();
        ctx.user_agent = Some("curl/8.5\r\n".to_owned());
        let event = AuditEvent::now("main", EventKind::Locked, Outcome::Success).context(Some(ctx));
        sink.record(&event).unwrap();
        let recorded = memory.events().remove(0);
        let ua = recorded.context.and_then(|c| c.user_agent);
        assert_eq!(ua, Some(hash_value(sink.key(), "curl/8.5")));
        assert_eq!(ua, Some(hash_value(sink.key(), "curl/8.5\r\n")));
    }
}
