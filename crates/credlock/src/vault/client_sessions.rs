//! The vault's client sessions: the store they are kept in, revoked as the key goes, the
//! tally of refused tokens, and, for shared sessions, the vault key sealed for one session:
//! Fernet under a key derived from the session's token.
//!
//! The wrapping key is HKDF-SHA256 (RFC 5869) of the token's 256 random bits, without a
//! salt (the input is already uniform), with the info string
//! `credlock shared session key v1 ` followed by the session id: 32 bytes, used as a Fernet
//! key (HMAC-SHA256 half, AES-128-CBC half) to seal the vault's 32-byte key. The session id
//! in the info binds a wrapped key to its row: a wrapped key copied into another session's
//! row does not open there. Whoever holds the row but not the token holds a Fernet token
//! under a key with 256 bits of entropy; whoever holds the token but not the row holds
//! nothing of the vault.

use std::sync::Arc;

use credlock_audit::{EventKind, Outcome};
use credlock_client_sessions::{
    MemorySessionStore, SealedKey, SessionId, SessionStore, TokenSecret,
};
use credlock_crypto::{FernetKey, KEY_LEN};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::tally::Tally;
use crate::audit::Auditor;
use crate::clock::Clock;
use crate::error::Error;

/// A vault's sessions: the store, and the tally of refused tokens (audited at most once a
/// second, with the reason of the last one).
#[derive(Debug, Clone)]
pub(crate) struct Sessions {
    pub(crate) store: Arc<dyn SessionStore>,
    refusals: Arc<Tally<&'static str>>,
    /// Shared sessions: rows hold sealed keys, and a locked vault serves their tokens.
    pub(crate) shared: bool,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new(Arc::new(MemorySessionStore::new()))
    }
}

impl Sessions {
    pub(crate) fn new(store: Arc<dyn SessionStore>) -> Self {
        Self {
            store,
            refusals: Arc::default(),
            shared: false,
        }
    }

    /// Shared sessions in `store` (see the
    /// [sessions docs](crate::sessions#shared-sessions-opt-in-for-replicas)).
    pub(crate) fn shared(store: Arc<dyn SessionStore>) -> Self {
        Self {
            shared: true,
            ..Self::new(store)
        }
    }

    /// Revokes every session as the key goes (a lock, a logout), audited as `operation` if
    /// there were any.
    pub(crate) fn revoke_all(
        &self,
        auditor: &Auditor,
        clock: &Clock,
        operation: &'static str,
    ) -> Result<usize, Error> {
        if self.shared && operation == "idle_lock" {
            // A replica's idle lock drops its key; shared sessions expire on their own.
            return Ok(0);
        }
        let n = self.store.remove_all().map_err(Error::SessionStore)?;
        if n > 0 {
            auditor.record(clock, EventKind::SessionsRevoked, Outcome::Success, |e| {
                e.operation(operation)
            })?;
        }
        Ok(n)
    }

    /// What another replica announced ended this vault's sessions (a lock, a logout,
    /// revoked sessions): the sessions kept in this process are revoked, audited as
    /// `operation` if there were any. Shared sessions are the announcing replica's to remove
    /// (it did), so their store is left alone.
    pub(crate) fn revoke_heard(
        &self,
        auditor: &Auditor,
        clock: &Clock,
        operation: &'static str,
    ) -> Result<usize, Error> {
        if self.shared {
            return Ok(0);
        }
        self.revoke_all(auditor, clock, operation)
    }

    /// Revokes every session but `keep` (a passphrase change that keeps the session of the
    /// client asking for it), audited as `operation` if any went. Shared sessions all go,
    /// `keep` too: their rows hold keys sealed under the old passphrase.
    pub(crate) fn revoke_all_but(
        &self,
        auditor: &Auditor,
        clock: &Clock,
        operation: &'static str,
        keep: Option<&SessionId>,
    ) -> Result<usize, Error> {
        let Some(keep) = keep.filter(|_| !self.shared) else {
            return self.revoke_all(auditor, clock, operation);
        };
        let mut n = 0;
        for record in self.store.list().map_err(Error::SessionStore)? {
            if &record.id != keep && self.store.remove(&record.id).map_err(Error::SessionStore)? {
                n += 1;
            }
        }
        if n > 0 {
            auditor.record(clock, EventKind::SessionsRevoked, Outcome::Success, |e| {
                e.operation(operation)
            })?;
        }
        Ok(n)
    }

    /// Audits a refused token, at most once a second, with the refusals since the last
    /// event; returns `error`.
    pub(crate) fn refuse(&self, auditor: &Auditor, clock: &Clock, error: Error) -> Error {
        let reason = match &error {
            Error::TokenExpired => "expired",
            Error::ScopeRefused { .. } => "scope",
            Error::SessionStore(_) => "store_failed",
            _ => "invalid",
        };
        if let Some(count) = self.refusals.count(clock.idle_now(), reason) {
            Self::audit_refusals(auditor, clock, reason, count);
        }
        error
    }

    /// Audits the refusals counted and not audited yet (when the vault goes).
    pub(crate) fn audit_unreported(&self, auditor: &Auditor, clock: &Clock) {
        if let Some((count, reason)) = self.refusals.take_unreported() {
            Self::audit_refusals(auditor, clock, reason, count);
        }
    }

    fn audit_refusals(auditor: &Auditor, clock: &Clock, reason: &'static str, count: u32) {
        // A refusal is returned whatever the audit trail says.
        let _ = auditor.record(clock, EventKind::SessionRefused, Outcome::Refused, |e| {
            e.operation(reason).failures(count)
        });
    }
}

/// The info string's prefix; the session id follows.
const INFO_PREFIX: &[u8] = b"credlock shared session key v1 ";

/// Seals `key` for the session `id` whose token has `secret`.
pub(crate) fn seal_key(
    key: &FernetKey,
    id: &SessionId,
    secret: &TokenSecret,
) -> Result<SealedKey, Error> {
    let wrapping = wrapping_key(id, secret)?;
    Ok(SealedKey::from_text(
        wrapping.seal(key.expose_secret_bytes())?,
    ))
}

/// Opens the vault key sealed for session `id` with the token's `secret`; any failure
/// (another token, another session's row, a tampered row) is [`Error::InvalidToken`].
pub(crate) fn open_key(
    sealed: &SealedKey,
    id: &SessionId,
    secret: &TokenSecret,
) -> Result<FernetKey, Error> {
    let wrapping = wrapping_key(id, secret)?;
    let bytes = wrapping
        .open(sealed.as_str())
        .map_err(|_| Error::InvalidToken)?;
    let bytes = <&[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| Error::InvalidToken)?;
    Ok(FernetKey::from_bytes(bytes))
}

/// HKDF-SHA256 of the token's bits, for session `id`.
fn wrapping_key(id: &SessionId, secret: &TokenSecret) -> Result<FernetKey, Error> {
    let hkdf = Hkdf::<Sha256>::new(None, secret.expose_secret_bytes());
    let mut okm = Zeroizing::new([0u8; KEY_LEN]);
    hkdf.expand_multi_info(&[INFO_PREFIX, id.as_str().as_bytes()], okm.as_mut_slice())
        .map_err(|_| Error::InvalidToken)?;
    Ok(FernetKey::from_bytes(&okm))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use credlock_client_sessions::SessionToken;
    use credlock_crypto::fill_random;

    use super::*;

    #[test]
    fn only_the_token_and_the_session_open_it() {
        let key = FernetKey::generate().unwrap();
        let (_, secret) = SessionToken::generate(fill_random).unwrap();
        let (_, other) = SessionToken::generate(fill_random).unwrap();
        let (id, id2) = (
            SessionId::generate(fill_random).unwrap(),
            SessionId::generate(fill_random).unwrap(),
        );
        let sealed = seal_key(&key, &id, &secret).unwrap();
        assert!(open_key(&sealed, &id, &secret).unwrap() == key);
        assert!(matches!(
            open_key(&sealed, &id, &other),
            Err(Error::InvalidToken)
        ));
        assert!(matches!(
            open_key(&sealed, &id2, &secret),
            Err(Error::InvalidToken)
        ));
        let mut tampered = sealed.as_str().to_owned();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let tampered = SealedKey::from_text(tampered);
        assert!(tampered != sealed);
        assert!(matches!(
            open_key(&tampered, &id, &secret),
            Err(Error::InvalidToken)
        ));
        assert_eq!(format!("{sealed:?}"), "SealedKey(..)");
    }
}
