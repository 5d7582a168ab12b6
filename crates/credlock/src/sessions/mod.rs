//! Client sessions and scoped API tokens.
//!
//! After an unlock, an app can mint a session for a client (a browser, a script):
//! [`Vault::mint_session`](crate::Vault::mint_session) returns a 256-bit random
//! [`SessionToken`] once, and the vault keeps only its SHA-256 digest. A session has an
//! [`SessionId`] (not the token), a label, creation and last-use times, an absolute expiry,
//! an idle expiry, and a set of [`Scopes`]. An API token is a session with a label, usually
//! a narrower scope, no idle expiry, which can be [rotated](crate::Vault::rotate_session).
//!
//! Sessions live as long as the key: [`Vault::lock`](crate::Vault::lock), the idle lock,
//! [`Vault::logout`](crate::Vault::logout) and [`Vault::reset`](crate::Vault::reset) revoke
//! them all, and so does replacing the credentials ([`Vault::replace`](crate::Vault::replace),
//! an import over them). A passphrase change keeps them: the user's own clients stay signed
//! in; revoke them with [`Vault::revoke_all_sessions`](crate::Vault::revoke_all_sessions)
//! if that is the app's policy. They are kept in a [`SessionStore`]: in memory by default, so that a restart
//! means locked and no sessions.
//!
//! Validating a token ([`Vault::validate_session`](crate::Vault::validate_session)) parses
//! it, hashes it, compares digests in constant time, checks expiry and scope, and counts as
//! activity for the vault's idle lock and the session's idle expiry: about a microsecond.
//! Every mint, revocation and rotation is audited; refused tokens are audited at most once a
//! second, with the number of refusals since the last such event.
//!
//! ```
//! use credlock::sessions::{Scope, SessionRequest};
//! use credlock::secrecy::SecretString;
//! use credlock::{Credentials, Policy, Vault};
//!
//! # let dir = tempfile::tempdir()?;
//! # let vault = Vault::builder(dir.path().join("vault.json")).insecure_kdf_iterations(1_000).open()?;
//! # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
//! # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
//! let minted = vault.mint_session(SessionRequest::api_token("ci-bot", Scope::Totp))?;
//! let token = minted.token.expose_secret().to_owned(); // hand it to the client, once
//! assert!(vault.validate_session(&token, Scope::Totp).is_ok());
//! assert!(vault.validate_session(&token, Scope::ReadCredentials).is_err());
//! vault.revoke_session(&minted.info.id)?;
//! assert!(vault.validate_session(&token, Scope::Totp).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Shared sessions (opt-in, for replicas)
//!
//! By default a session lives in the process that minted it. An app running several
//! replicas behind a load balancer without sticky sessions can opt in to a shared
//! [`SessionStore`] ([`VaultBuilder::shared_sessions`](crate::VaultBuilder::shared_sessions),
//! [`RegistryBuilder::shared_sessions`](crate::registry::RegistryBuilder::shared_sessions);
//! with the `postgres` feature, `PostgresSessions`). Each session's row then also holds the
//! vault key sealed under a key derived from the session's token ([`SealedKey`]: HKDF-SHA256
//! of the token's 256 bits, Fernet), so a replica where the vault is locked serves
//! [`Vault::validate_session`](crate::Vault::validate_session),
//! [`Vault::credentials_for`](crate::Vault::credentials_for) and
//! [`Vault::totp_for`](crate::Vault::totp_for) by opening the key with the token the client
//! presents, for that request only; it never keeps the key, and stays locked. The database
//! alone opens nothing: it holds digests and sealed keys, never a token or a key.
//!
//! What changes with shared sessions:
//! - [`Vault::lock`](crate::Vault::lock), [`Vault::logout`](crate::Vault::logout),
//!   [`Vault::reset`](crate::Vault::reset), replacing the credentials and revocations remove
//!   the user's rows, so every replica refuses the tokens from then on; so does a lock on a
//!   replica that was never unlocked (the user locked the vault).
//! - A passphrase change also revokes them (their sealed keys belong to the old passphrase);
//!   a session whose sealed key no longer opens the vault (the key changed elsewhere, by a KDF
//!   upgrade) is refused and removed.
//! - A replica's idle lock drops its own key but revokes no shared session: sessions expire
//!   by their own idle and absolute expiry, checked on every read on the vault's wall
//!   clock, with the last use kept in the row (every replica's use counts).
//! - Listing sessions works on every replica, locked or not; minting and rotating need the
//!   key, so only an unlocked replica does them.
//!
//! The trade-off: with the default, a restart (or a replica the client was not pinned to)
//! means re-entering the passphrase, and nothing outside the process can reopen the vault.
//! With shared sessions, the database holds wrapped keys: a copy of it plus a live token
//! opens the vault until the session expires or is revoked.

mod info;
#[cfg(feature = "postgres")]
mod postgres;
mod scope;
mod sealed_key;
mod shared;
mod store;
mod token;
mod vault_api;

use std::sync::{Arc, Mutex, PoisonError};

use credlock_audit::{EventKind, Outcome};

pub use info::{MintedSession, SessionId, SessionInfo, SessionKind, SessionRecord, SessionRequest};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresSessionStore, PostgresSessions};
pub use scope::{Scope, Scopes};
pub use sealed_key::SealedKey;
pub use store::{MemorySessionStore, SessionStore, SessionStoreError, SessionStoreSet};
pub use token::{SessionToken, TOKEN_PREFIX, TokenDigest, TokenSecret};

use crate::audit::Auditor;
use crate::clock::Clock;
use crate::error::Error;

/// A vault's sessions: the store, and the limiter of refusal events.
#[derive(Debug, Clone)]
pub(crate) struct Sessions {
    pub(crate) store: Arc<dyn SessionStore>,
    refusals: Arc<Mutex<Refusals>>,
    /// Shared sessions: rows hold sealed keys, and a locked vault serves their tokens.
    pub(crate) shared: bool,
}

/// Refusals not audited yet, and when the last one was.
#[derive(Debug, Default)]
struct Refusals {
    last_audit_ms: Option<u64>,
    unreported: u32,
}

/// At most one refusal event per this many milliseconds.
const REFUSAL_AUDIT_INTERVAL_MS: u64 = 1_000;

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

    /// Shared sessions in `store` (see the [module docs](self#shared-sessions-opt-in-for-replicas)).
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

    /// Audits a refused token, at most once a second, with the refusals since the last
    /// event; returns `error`.
    pub(crate) fn refuse(&self, auditor: &Auditor, clock: &Clock, error: Error) -> Error {
        let now_ms = clock.now_ms();
        let report = {
            let mut r = self.refusals.lock().unwrap_or_else(PoisonError::into_inner);
            r.unreported = r.unreported.saturating_add(1);
            let due = r
                .last_audit_ms
                .is_none_or(|last| now_ms.saturating_sub(last) >= REFUSAL_AUDIT_INTERVAL_MS);
            due.then(|| {
                r.last_audit_ms = Some(now_ms);
                std::mem::take(&mut r.unreported)
            })
        };
        if let Some(count) = report {
            let reason = match &error {
                Error::TokenExpired => "expired",
                Error::ScopeRefused { .. } => "scope",
                Error::SessionStore(_) => "store_failed",
                _ => "invalid",
            };
            // A refusal is returned whatever the audit trail says.
            let _ = auditor.record(clock, EventKind::SessionRefused, Outcome::Refused, |e| {
                e.operation(reason).failures(count)
            });
        }
        error
    }
}
