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
//! an import over them), and so does a passphrase change
//! ([`Vault::change_passphrase`](crate::Vault::change_passphrase)): the moment a user suspects
//! a leak is the moment a thief's API token must die. The client that asked for the change
//! can stay signed in ([`Vault::change_passphrase_keeping`](crate::Vault::change_passphrase_keeping)).
//! They are kept in a [`SessionStore`]: in memory by default, so that a restart means locked
//! and no sessions.
//!
//! Replicas sharing a PostgreSQL database hear each other (see
//! [`Registry`](crate::Registry)): a lock, a logout, a reset, a passphrase change, a
//! replacement or a revocation of every session on one replica revokes the sessions every
//! other replica keeps for that user (and, but for a revocation, drops its key there).
//!
//! Validating a token ([`Vault::validate_session`](crate::Vault::validate_session)) parses
//! it, hashes it, compares digests in constant time, checks expiry and scope, and only then
//! counts as activity for the vault's idle lock and the session's idle expiry (a refused
//! token never does): about a microsecond.
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
//! - A passphrase change revokes them all, even the one
//!   [`Vault::change_passphrase_keeping`](crate::Vault::change_passphrase_keeping) names
//!   (their sealed keys belong to the old passphrase); a session whose sealed key no longer opens the vault (the key changed elsewhere, by a KDF
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

use std::time::Duration;

use credlock_audit::{EventKind, Outcome};
use credlock_crypto::fill_random;
use credlock_session::SessionState;
use credlock_store::StoreEvent;
use credlock_totp::{TotpCode, TotpSecret};
use secrecy::{ExposeSecret as _, SecretString};

pub use credlock_client_sessions::{
    MemorySessionStore, MintedSession, Scope, Scopes, SealedKey, SessionId, SessionInfo,
    SessionKind, SessionRecord, SessionRequest, SessionStore, SessionStoreError, SessionToken,
    TOKEN_PREFIX, TokenDigest, TokenSecret,
};
#[cfg(feature = "postgres")]
pub use credlock_store_postgres::{PostgresSessionStore, PostgresSessions};

pub use crate::registry::SessionStoreSet;

use credlock_client_sessions::from_ms;

use crate::credentials::Credentials;
use crate::error::Error;
use crate::keyslot::duplicate_key;
use crate::vault::Vault;
use crate::vault::client_sessions::{Grant, open_grant, seal_grant};
use crate::vault::record;

/// Longest label kept, in characters.
const MAX_LABEL_CHARS: usize = 200;

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Vault {
    /// Mints a client session or an API token, while unlocked. The token in the result is
    /// shown once: the vault keeps only its digest. Counts as activity.
    ///
    /// ```
    /// use credlock::sessions::{Scope, SessionRequest};
    /// use credlock::secrecy::SecretString;
    /// use credlock::{Credentials, Policy, Vault};
    /// # let dir = tempfile::tempdir()?;
    /// # let vault = Vault::builder(dir.path().join("vault.json")).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let minted = vault.mint_session(SessionRequest::client("Firefox on Linux"))?;
    /// assert!(minted.token.expose_secret().starts_with("clk_"));
    /// assert_eq!(vault.sessions()?, [minted.info]);
    /// vault.lock(); // revokes every session
    /// assert!(vault.validate_session(minted.token.expose_secret(), Scope::Totp).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Locked`], [`Error::NoCredentials`]: sessions are minted only while unlocked.
    /// [`Error::InvalidOption`] for a request without any scope. [`Error::Interrupted`] if
    /// the vault was locked meanwhile (the session is not kept). [`Error::SessionStore`],
    /// [`Error::Crypto`] (random source); [`Error::AuditFailed`] with fail-closed auditing
    /// (the session is not kept).
    pub fn mint_session(&self, request: SessionRequest) -> Result<MintedSession, Error> {
        if request.scope_set().is_empty() {
            return Err(Error::InvalidOption { name: "scopes" });
        }
        let epoch = self.note_activity()?;
        let (token, secret) = SessionToken::generate(fill_random)?;
        let now_ms = self.options().clock.now_ms();
        let id = SessionId::generate(fill_random)?;
        let mut record = SessionRecord {
            id,
            digest: secret.digest(),
            kind: request.kind(),
            label: credlock_audit::sanitize(request.label())
                .chars()
                .take(MAX_LABEL_CHARS)
                .collect(),
            scopes: request.scope_set(),
            created_ms: now_ms,
            last_used_ms: now_ms,
            expires_ms: request.lifetime().map(|l| now_ms.saturating_add(ms(l))),
            idle_timeout_ms: request.idle_timeout().map(ms),
            sealed_key: None,
        };
        record.sealed_key = self.seal_for_session(&record, &secret)?;
        let info = record.info();
        let store = &self.session_registry().store;
        store.insert(record, &secret).map_err(Error::SessionStore)?;
        if self.shared().state().epoch != epoch {
            // A lock landed meanwhile and revoked every session: this one goes too.
            store.remove(&info.id).map_err(Error::SessionStore)?;
            return Err(Error::Interrupted);
        }
        self.audit(EventKind::SessionMinted, Outcome::Success, |e| {
            e.session(info.id.as_str())
        })
        .inspect_err(|_| {
            // Fail-closed auditing: no session the trail does not know of.
            let _ = store.remove(&info.id);
        })?;
        Ok(MintedSession::new(token, info))
    }

    /// Signs a client in with the passphrase and mints its session: on a locked vault, an
    /// unlock; on one already unlocked (another device signed in first), the passphrase is
    /// proven through the vault's one gate — in turn with every other attempt, counted
    /// against the lockout, audited when wrong — without locking anyone out or changing the
    /// vault. Audited as `signed_in`.
    ///
    /// ```
    /// use credlock::sessions::{Scope, SessionRequest};
    /// use credlock::secrecy::SecretString;
    /// use credlock::{Credentials, Policy, Vault};
    /// # let dir = tempfile::tempdir()?;
    /// # let vault = Vault::builder(dir.path().join("vault.json")).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// # vault.lock();
    /// let pass = SecretString::from("Tangerine-Rocket-42!");
    /// let laptop = vault.sign_in(&pass, SessionRequest::client("laptop"))?; // unlocks
    /// let phone = vault.sign_in(&pass, SessionRequest::client("phone"))?;   // already unlocked
    /// assert!(vault.validate_session(laptop.token.expose_secret(), Scope::Manage).is_ok());
    /// assert!(vault.validate_session(phone.token.expose_secret(), Scope::Manage).is_ok());
    /// assert!(vault.sign_in(&SecretString::from("wrong"), SessionRequest::client("thief")).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Those of [`Vault::unlock`] (a wrong passphrase is [`Error::WrongPassphrase`], counted;
    /// [`Error::LockedOut`]), then those of [`Vault::mint_session`];
    /// [`Error::ChangedElsewhere`] if the passphrase is right but the key in memory is no
    /// longer the file's.
    pub fn sign_in(
        &self,
        passphrase: &SecretString,
        request: SessionRequest,
    ) -> Result<MintedSession, Error> {
        if self.status() == SessionState::Unlocked {
            self.verify_passphrase(passphrase)?;
        } else {
            match self.unlock(passphrase) {
                Ok(()) => {}
                // Another client unlocked it meanwhile: prove the passphrase all the same.
                Err(Error::AlreadyUnlocked) => self.verify_passphrase(passphrase)?,
                Err(e) => return Err(e),
            }
        }
        let minted = self.mint_session(request)?;
        self.audit(EventKind::SignedIn, Outcome::Success, |e| {
            e.session(minted.info.id.as_str())
        })?;
        Ok(minted)
    }

    /// Checks a client's token: it must be a live session of this (unlocked) vault, not
    /// expired, whose scopes allow `scope`. A token that passes counts as activity, for the
    /// vault's idle lock and the session's idle expiry; a refused one (malformed, unknown,
    /// expired, or without `scope`) does not, so no one without a valid token can keep the
    /// vault from locking. Returns the session as listed.
    ///
    /// Costs about a microsecond (a SHA-256 and a constant-time comparison per session).
    ///
    /// With [shared sessions](crate::sessions#shared-sessions-opt-in-for-replicas), a vault
    /// locked in this process (another replica unlocked it) still accepts a live token of
    /// the shared store whose sealed key the token opens, and stays locked; the store is
    /// asked on every call (a database round trip).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidToken`] for a malformed, unknown, revoked or rotated token, and for
    /// any token while the vault is locked (a lock revokes every session), unless sessions
    /// are shared and the token opens its sealed key;
    /// [`Error::TokenExpired`] for an expired session (which is then removed);
    /// [`Error::ScopeRefused`] if its scopes do not allow `scope`; [`Error::SessionStore`]
    /// if the store fails. Refusals are audited ([`EventKind::SessionRefused`]), at most
    /// once a second.
    pub fn validate_session(&self, token: &str, scope: Scope) -> Result<SessionInfo, Error> {
        self.check_session(token, scope).map(|(info, _)| info)
    }

    /// [`Vault::validate_session`], and how the request may reach the record: through this
    /// process's key, or (shared sessions, vault locked here) through the key sealed in the
    /// session's row, opened with the token.
    fn check_session(&self, token: &str, scope: Scope) -> Result<(SessionInfo, Access), Error> {
        let sessions = self.session_registry();
        let (auditor, clock) = (&self.options().auditor, &self.options().clock);
        let refuse = |e| Err(sessions.refuse(auditor, clock, e));
        let Some(secret) = TokenSecret::parse(token) else {
            return refuse(Error::InvalidToken);
        };
        // Looked at, not touched: only a token found, live and in scope counts as activity,
        // so a forged token or one refused for its scope cannot hold the idle lock off.
        let unlocked_here = self.status() == SessionState::Unlocked;
        if !unlocked_here && !sessions.shared {
            // Locked: any session left from a lock that raced a mint goes now.
            let _ = sessions.revoke_all(auditor, clock, "lock");
            return refuse(Error::InvalidToken);
        }
        let record = match sessions.store.find(&secret.digest(), &secret) {
            Ok(Some(record)) => record,
            Ok(None) => return refuse(Error::InvalidToken),
            Err(e) => return refuse(Error::SessionStore(e)),
        };
        // A shared session's terms are the ones sealed in its grant (the row is not
        // authenticated): a row rewritten in the database is refused, and removed.
        let grant = if sessions.shared {
            match self.open_grant_of(&record, &secret) {
                Ok(grant) => Some(grant),
                Err(e) => {
                    let _ = sessions.store.remove(&record.id);
                    return refuse(e);
                }
            }
        } else {
            None
        };
        let now_ms = clock.now_ms();
        if record.expired_at(now_ms) {
            let _ = sessions.store.remove(&record.id);
            return refuse(Error::TokenExpired);
        }
        if !record.scopes.allows(scope) {
            return refuse(Error::ScopeRefused { needed: scope });
        }
        // The token is valid for `scope`: now it is activity, for the vault's idle lock (if
        // the key is still here: a lock may have landed since it was looked at).
        let access = if unlocked_here && self.note_activity().is_ok() {
            Access::Local
        } else if let Some(grant) = grant {
            Access::Sealed {
                grant,
                id: record.id.clone(),
            }
        } else {
            return refuse(Error::InvalidToken);
        };
        if let Err(e) = sessions.store.touch(&record.id, now_ms) {
            return refuse(Error::SessionStore(e));
        }
        let mut info = record.info();
        info.last_used_at = from_ms(now_ms.max(record.last_used_ms));
        Ok((info, access))
    }

    /// The credentials, for a client whose token allows [`Scope::ReadCredentials`]: the
    /// token is validated (which counts as activity) before they are read. With
    /// [shared sessions](crate::sessions#shared-sessions-opt-in-for-replicas) and the vault
    /// locked here, the record is read and opened with the key sealed in the session's row,
    /// for this call only (one read of the record; no key derivation).
    ///
    /// # Errors
    ///
    /// Those of [`Vault::validate_session`], then those of [`Vault::credentials`]; with
    /// shared sessions on a vault locked here, [`Error::InvalidToken`] if the sealed key no
    /// longer opens the record (the key changed elsewhere; the session is removed), and the
    /// record errors of [`Vault::unlock`].
    pub fn credentials_for(&self, token: &str) -> Result<Credentials, Error> {
        match self.check_session(token, Scope::ReadCredentials)?.1 {
            Access::Local => self.credentials(),
            sealed => self.credentials_through(sealed),
        }
    }

    /// The current TOTP code, for a client whose token allows [`Scope::Totp`] (or
    /// [`Scope::ReadCredentials`]).
    ///
    /// # Errors
    ///
    /// Those of [`Vault::validate_session`], then those of [`Vault::totp`].
    pub fn totp_for(&self, token: &str) -> Result<TotpCode, Error> {
        match self.check_session(token, Scope::Totp)?.1 {
            Access::Local => self.totp(),
            Access::Sealed {
                grant:
                    Grant {
                        mfa_secret: Some(mfa),
                        ..
                    },
                ..
            } => {
                let secret = TotpSecret::parse(mfa.expose_secret())?;
                Ok(secret.code_at(self.options().clock.now()))
            }
            sealed => {
                let secret = self.credentials_through(sealed)?.totp_secret()?;
                let secret = secret.ok_or(Error::NoMfaSecret)?;
                Ok(secret.code_at(self.options().clock.now()))
            }
        }
    }

    /// Every live session and API token, oldest first: never a token or a digest. Expired
    /// sessions are removed, not listed; a vault that is not unlocked has none, unless
    /// sessions are shared (then every replica lists the user's sessions).
    ///
    /// # Errors
    ///
    /// [`Error::SessionStore`] if the store fails.
    pub fn sessions(&self) -> Result<Vec<SessionInfo>, Error> {
        if self.status() != SessionState::Unlocked && !self.session_registry().shared {
            // Whatever locked it (a lock, a file changed elsewhere), the sessions went too.
            self.session_registry().revoke_all(
                &self.options().auditor,
                &self.options().clock,
                "lock",
            )?;
            return Ok(Vec::new());
        }
        let store = &self.session_registry().store;
        let now_ms = self.options().clock.now_ms();
        let mut live = Vec::new();
        for record in store.list().map_err(Error::SessionStore)? {
            if record.expired_at(now_ms) {
                store.remove(&record.id).map_err(Error::SessionStore)?;
            } else {
                live.push(record.info());
            }
        }
        live.sort_by(|a, b| (a.created_at, a.id.as_str()).cmp(&(b.created_at, b.id.as_str())));
        Ok(live)
    }

    /// Revokes one session: its token is refused from now on. Whether it existed. Works
    /// whether the vault is locked or not.
    ///
    /// # Errors
    ///
    /// [`Error::SessionStore`] if the store fails; [`Error::AuditFailed`].
    pub fn revoke_session(&self, id: &SessionId) -> Result<bool, Error> {
        let removed = self
            .session_registry()
            .store
            .remove(id)
            .map_err(Error::SessionStore)?;
        if removed {
            self.audit(EventKind::SessionRevoked, Outcome::Success, |e| {
                e.session(id.as_str())
            })?;
        }
        Ok(removed)
    }

    /// Revokes every session and API token; how many there were. Always audited. Replicas
    /// sharing the store hear it (a [`Registry`](crate::Registry) on PostgreSQL): they revoke
    /// the sessions they keep too ("sign out everywhere").
    ///
    /// On an unlocked vault with keyslots, the data key **rotates** as well (audited as
    /// `key_rotated`, operation `revoke_all_sessions`): whatever a revoked session could
    /// take (a shared session's row holds the data key, sealed for its token) opens nothing
    /// written from now on. The other replicas then drop their (old) key. A rotation that
    /// fails (the file changed or damaged elsewhere) does not undo the revocation: it is
    /// audited as a failed `key_rotated`.
    ///
    /// # Errors
    ///
    /// [`Error::SessionStore`] if the store fails; [`Error::AuditFailed`].
    pub fn revoke_all_sessions(&self) -> Result<usize, Error> {
        let n = self
            .session_registry()
            .store
            .remove_all()
            .map_err(Error::SessionStore)?;
        // "Sign out everywhere": the other replicas revoke the sessions they keep.
        if let Err(e) = self.backend().announce(StoreEvent::SessionsRevoked) {
            tracing::warn!(error = %e, "an announcement to the other replicas is delayed");
        }
        self.audit(EventKind::SessionsRevoked, Outcome::Success, |e| {
            e.operation("request")
        })?;
        match self.rotate_unlocked("revoke_all_sessions", |_| true, None) {
            // Nothing to rotate here: locked (no key), or no keyslots.
            Ok(()) | Err(Error::Locked | Error::NoCredentials | Error::NoKeyslots { .. }) => {}
            // The sessions are revoked whatever happens to the rotation (a file changed or
            // damaged elsewhere, a failing store): the failure is audited and traced, and the
            // next rotation retires the key.
            Err(e) => {
                tracing::warn!(error = %e, "revoking every session could not rotate the data key");
                let _ = self.audit(EventKind::KeyRotated, Outcome::Failure, |e| {
                    e.operation("revoke_all_sessions")
                });
            }
        }
        Ok(n)
    }

    /// Rotates a session (typically an API token): a new token is returned, once, and the
    /// old one is refused from now on. The session keeps its id, label, scopes and expiry.
    /// Only while unlocked; counts as activity.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`], [`Error::NoCredentials`]; [`Error::InvalidToken`] for an unknown
    /// or expired session id; [`Error::SessionStore`], [`Error::Crypto`];
    /// [`Error::AuditFailed`] with fail-closed auditing, and the session is then revoked.
    pub fn rotate_session(&self, id: &SessionId) -> Result<MintedSession, Error> {
        self.note_activity()?;
        let store = &self.session_registry().store;
        let now_ms = self.options().clock.now_ms();
        let Some(mut record) = store
            .list()
            .map_err(Error::SessionStore)?
            .into_iter()
            .find(|r| &r.id == id)
            .filter(|r| !r.expired_at(now_ms))
        else {
            return Err(Error::InvalidToken);
        };
        let (token, secret) = SessionToken::generate(fill_random)?;
        record.digest = secret.digest();
        record.last_used_ms = record.last_used_ms.max(now_ms);
        let sealed_key = self.seal_for_session(&record, &secret)?;
        if !store
            .replace_digest(id, record.digest, sealed_key, &secret, now_ms)
            .map_err(Error::SessionStore)?
        {
            return Err(Error::InvalidToken);
        }
        self.audit(EventKind::SessionRotated, Outcome::Success, |e| {
            e.session(id.as_str())
        })
        .inspect_err(|_| {
            // Fail-closed auditing: the old token is already refused, and the new one, which
            // the trail does not know of, goes too.
            let _ = store.remove(id);
        })?;
        Ok(MintedSession::new(token, record.info()))
    }
}

/// How a validated token reaches the record.
pub(crate) enum Access {
    /// Through the key this process holds (the vault is unlocked here).
    Local,
    /// Through the grant sealed in the session's row, opened with the token, for this
    /// request only.
    Sealed { grant: Grant, id: SessionId },
}

impl Vault {
    /// With shared sessions, the grant for the session `record` (its terms, and what its
    /// scopes need: the data key, or the MFA secret alone) sealed under its token; `None`
    /// otherwise. Needs the key: only while unlocked here.
    pub(crate) fn seal_for_session(
        &self,
        record: &SessionRecord,
        secret: &TokenSecret,
    ) -> Result<Option<SealedKey>, Error> {
        if !self.session_registry().shared {
            return Ok(None);
        }
        let grant = {
            let state = self.shared().state();
            let now = self.now();
            let key = state.session.key(now)?;
            let reads = record.scopes.contains(Scope::ReadCredentials)
                || record.scopes.contains(Scope::Manage);
            Grant {
                kind: record.kind,
                scopes: record.scopes,
                created_ms: record.created_ms,
                expires_ms: record.expires_ms,
                idle_timeout_ms: record.idle_timeout_ms,
                key: reads.then(|| duplicate_key(key)),
                mfa_secret: if reads {
                    None
                } else {
                    state
                        .session
                        .record(now)?
                        .mfa_secret()
                        .map(|m| SecretString::from(m.expose_secret().to_owned()))
                },
            }
        };
        seal_grant(&grant, &record.id, secret).map(Some)
    }

    /// Opens the grant sealed in `record` with the token's `secret` and checks the row's
    /// terms against it: a row without a grant, one the token does not open, or one whose
    /// terms were rewritten is [`Error::InvalidToken`].
    pub(crate) fn open_grant_of(
        &self,
        record: &SessionRecord,
        secret: &TokenSecret,
    ) -> Result<Grant, Error> {
        let sealed = record.sealed_key.as_ref().ok_or(Error::InvalidToken)?;
        let grant = open_grant(sealed, &record.id, secret)?;
        if grant.matches(record) {
            Ok(grant)
        } else {
            Err(Error::InvalidToken)
        }
    }

    /// The credentials, read through the data key of a session's grant: the stored record
    /// is read and opened for this request, and the key dropped (zeroized) afterwards; the
    /// vault stays locked here. A grant without a data key (a TOTP-only session) or whose
    /// key no longer opens the record (the key rotated, the passphrase or the key derivation
    /// changed elsewhere) revokes the session: [`Error::InvalidToken`].
    pub(crate) fn credentials_through(&self, access: Access) -> Result<Credentials, Error> {
        let Access::Sealed { grant, id } = access else {
            return self.credentials();
        };
        let file = self.read_file()?;
        let opened = grant
            .key
            .as_ref()
            .and_then(|key| key.open(&file.token).ok());
        let Some(plaintext) = opened else {
            let _ = self.session_registry().store.remove(&id);
            let (auditor, clock) = (&self.options().auditor, &self.options().clock);
            return Err(self
                .session_registry()
                .refuse(auditor, clock, Error::InvalidToken));
        };
        record::from_bytes(&plaintext)
    }
}
