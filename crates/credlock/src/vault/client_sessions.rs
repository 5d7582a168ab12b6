//! The vault's client sessions: the store they are kept in, revoked as the key goes, the
//! tally of refused tokens, and, for shared sessions, the **grant** sealed for one session:
//! Fernet under a key derived from the session's token.
//!
//! The wrapping key is HKDF-SHA256 (RFC 5869) of the token's 256 random bits, without a
//! salt (the input is already uniform), with the info string
//! `credlock shared session grant v2 ` followed by the session id: 32 bytes, used as a
//! Fernet key (HMAC-SHA256 half, AES-128-CBC half). It seals the grant, a JSON object:
//!
//! - the session's **terms** as minted: kind, scopes, creation time, expiry, idle timeout.
//!   Every use compares them with the row's: a row whose scopes or expiry were rewritten in
//!   the database is refused (the grant is authenticated; the row is not);
//! - **only what the scopes need**: the vault's data key for a session that may read the
//!   credentials or manage the vault, the MFA secret alone for one scoped to TOTP codes. A
//!   TOTP-only token and a copy of the database give the MFA secret, never the password.
//!
//! The session id in the info binds a grant to its row: a grant copied into another
//! session's row does not open there. Whoever holds the row but not the token holds a Fernet
//! token under a key with 256 bits of entropy; whoever holds the token but not the row holds
//! nothing of the vault. A data key in a grant opens the record only until the key rotates
//! (a passphrase change, a recovery, a removed slot, revoking every session): a database
//! copy and a token both taken before then open nothing written after.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use credlock_audit::{EventKind, Outcome};
use credlock_client_sessions::{
    MemorySessionStore, Scopes, SealedKey, SessionId, SessionKind, SessionRecord, SessionStore,
    TokenSecret,
};
use credlock_crypto::{FernetKey, KEY_LEN};
use hkdf::Hkdf;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
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
const INFO_PREFIX: &[u8] = b"credlock shared session grant v2 ";

/// What a shared session's row holds for its token, sealed (see the module docs): the
/// session's terms as they were minted (a database write cannot widen or lengthen them),
/// the vault and key epoch it belongs to, and only what its scopes need.
#[derive(Debug)]
pub(crate) struct Grant {
    pub(crate) kind: SessionKind,
    pub(crate) scopes: Scopes,
    pub(crate) created_ms: u64,
    pub(crate) expires_ms: Option<u64>,
    pub(crate) idle_timeout_ms: Option<u64>,
    /// The data key: for sessions that may read the credentials (or manage the vault).
    pub(crate) key: Option<FernetKey>,
    /// The MFA secret alone: for sessions scoped to TOTP codes only.
    pub(crate) mfa_secret: Option<SecretString>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantJson {
    kind: String,
    scopes: u8,
    created_ms: u64,
    expires_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    key: Option<Zeroizing<String>>,
    mfa_secret: Option<Zeroizing<String>>,
}

impl Grant {
    /// Whether `record`'s terms are the ones sealed: a row whose scopes, kind, creation,
    /// expiry or idle timeout were rewritten in the database is refused.
    pub(crate) fn matches(&self, record: &SessionRecord) -> bool {
        self.kind == record.kind
            && self.scopes == record.scopes
            && self.created_ms == record.created_ms
            && self.expires_ms == record.expires_ms
            && self.idle_timeout_ms == record.idle_timeout_ms
    }
}

/// Seals `grant` for the session `id` whose token has `secret`.
pub(crate) fn seal_grant(
    grant: &Grant,
    id: &SessionId,
    secret: &TokenSecret,
) -> Result<SealedKey, Error> {
    let json = GrantJson {
        kind: grant.kind.as_str().to_owned(),
        scopes: grant.scopes.bits(),
        created_ms: grant.created_ms,
        expires_ms: grant.expires_ms,
        idle_timeout_ms: grant.idle_timeout_ms,
        key: grant
            .key
            .as_ref()
            .map(|k| Zeroizing::new(URL_SAFE.encode(k.expose_secret_bytes()))),
        mfa_secret: grant
            .mfa_secret
            .as_ref()
            .map(|m| Zeroizing::new(m.expose_secret().to_owned())),
    };
    let mfa_len = json.mfa_secret.as_ref().map_or(0, |m| m.len());
    // Room for the worst-case escaping, so the buffer never reallocates.
    let mut plaintext = Zeroizing::new(Vec::with_capacity(256 + 6 * mfa_len));
    serde_json::to_writer(&mut *plaintext, &json).map_err(|_| Error::InvalidToken)?;
    let wrapping = wrapping_key(id, secret)?;
    Ok(SealedKey::from_text(wrapping.seal(&plaintext)?))
}

/// Opens the grant sealed for session `id` with the token's `secret`; any failure (another
/// token, another session's row, a tampered row) is [`Error::InvalidToken`].
pub(crate) fn open_grant(
    sealed: &SealedKey,
    id: &SessionId,
    secret: &TokenSecret,
) -> Result<Grant, Error> {
    let wrapping = wrapping_key(id, secret)?;
    let plaintext = wrapping
        .open(sealed.as_str())
        .map_err(|_| Error::InvalidToken)?;
    let json: GrantJson = serde_json::from_slice(&plaintext).map_err(|_| Error::InvalidToken)?;
    let key = match &json.key {
        Some(text) => {
            let bytes = Zeroizing::new(
                URL_SAFE
                    .decode(text.as_bytes())
                    .map_err(|_| Error::InvalidToken)?,
            );
            let bytes =
                <&[u8; KEY_LEN]>::try_from(bytes.as_slice()).map_err(|_| Error::InvalidToken)?;
            Some(FernetKey::from_bytes(bytes))
        }
        None => None,
    };
    Ok(Grant {
        kind: SessionKind::from_name(&json.kind).ok_or(Error::InvalidToken)?,
        scopes: Scopes::from_bits(json.scopes),
        created_ms: json.created_ms,
        expires_ms: json.expires_ms,
        idle_timeout_ms: json.idle_timeout_ms,
        key,
        mfa_secret: json
            .mfa_secret
            .as_ref()
            .map(|m| SecretString::from(m.as_str().to_owned())),
    })
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

    use credlock_client_sessions::{Scope, SessionToken};
    use credlock_crypto::fill_random;

    use super::*;

    fn grant(key: Option<FernetKey>) -> Grant {
        Grant {
            kind: SessionKind::ApiToken,
            scopes: Scopes::NONE.with(Scope::Totp),
            created_ms: 1,
            expires_ms: Some(2),
            idle_timeout_ms: None,
            key,
            mfa_secret: Some(SecretString::from("JBSWY3DPEHPK3PXP")),
        }
    }

    #[test]
    fn only_the_token_and_the_session_open_it() {
        let key = FernetKey::generate().unwrap();
        let (_, secret) = SessionToken::generate(fill_random).unwrap();
        let (_, other) = SessionToken::generate(fill_random).unwrap();
        let (id, id2) = (
            SessionId::generate(fill_random).unwrap(),
            SessionId::generate(fill_random).unwrap(),
        );
        let sealed = seal_grant(&grant(Some(key)), &id, &secret).unwrap();
        let opened = open_grant(&sealed, &id, &secret).unwrap();
        assert_eq!(opened.scopes, Scopes::NONE.with(Scope::Totp));
        assert_eq!(opened.expires_ms, Some(2));
        assert_eq!(
            opened.mfa_secret.unwrap().expose_secret(),
            "JBSWY3DPEHPK3PXP"
        );
        assert!(opened.key.is_some());
        assert!(matches!(
            open_grant(&sealed, &id, &other),
            Err(Error::InvalidToken)
        ));
        assert!(matches!(
            open_grant(&sealed, &id2, &secret),
            Err(Error::InvalidToken)
        ));
        let mut tampered = sealed.as_str().to_owned();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let tampered = SealedKey::from_text(tampered);
        assert!(tampered != sealed);
        assert!(matches!(
            open_grant(&tampered, &id, &secret),
            Err(Error::InvalidToken)
        ));
        assert_eq!(format!("{sealed:?}"), "SealedKey(..)");
        let without = seal_grant(&grant(None), &id, &secret).unwrap();
        assert!(open_grant(&without, &id, &secret).unwrap().key.is_none());
    }
}
