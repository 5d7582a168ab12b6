//! Where sessions are kept: the [`SessionStore`] contract and the in-memory store.

use core::fmt;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::info::{SessionId, SessionRecord};
use crate::sealed_key::SealedKey;
use crate::token::{TokenDigest, TokenSecret};

/// Where a vault keeps its client sessions and API tokens.
///
/// The default, [`MemorySessionStore`], keeps them in the process: a restart means a locked
/// vault and no sessions, which is the point (the passphrase is never stored to restore
/// them). A store shared by several replicas of an app (such as the `postgres` feature's
/// `PostgresSessionStore`) implements this trait and is passed to
/// `credlock::VaultBuilder::shared_sessions`, which also seals the vault key into each record;
/// a store passed to `credlock::VaultBuilder::session_store` keeps sessions without keys,
/// served only where the vault is unlocked.
///
/// # Contract
///
/// - A store keeps [`SessionRecord`]s: a token's SHA-256 [`TokenDigest`], never the token.
/// - [`find`](Self::find) compares digests in constant time ([`TokenDigest::ct_eq`]), or
///   looks them up by an index (a hash map, a database index) and compares the match in
///   constant time: the index's timing depends on the digest of a 256-bit random token,
///   which tells a guesser nothing about any live token.
/// - [`insert`](Self::insert), [`find`](Self::find) and [`replace_digest`](Self::replace_digest)
///   are also given the token's secret bytes ([`TokenSecret`]). The in-memory store ignores
///   them; a shared store may derive a key from them (HKDF over the token's 256 bits) to
///   keep data that only a holder of the token can open, such as the vault key wrapped for
///   that session, so that a replica can serve a token without the passphrase. The secret
///   must never be stored, logged or kept past the call.
/// - A record's [`sealed_key`](SessionRecord::sealed_key) is kept as given, and replaced
///   by [`replace_digest`](Self::replace_digest): with shared sessions it is the vault key
///   sealed under the current token, so a store shared by replicas lets any of them serve
///   the token while holding nothing usable itself.
/// - Removing is final: a removed or replaced digest is never found again, by any replica.
/// - Errors are [`SessionStoreError`]s; the vault then refuses the token (fail closed).
pub trait SessionStore: Send + Sync + fmt::Debug {
    /// Adds a new session.
    ///
    /// # Errors
    ///
    /// [`SessionStoreError`] if the store cannot keep it.
    fn insert(&self, record: SessionRecord, secret: &TokenSecret) -> Result<(), SessionStoreError>;

    /// The session whose current token has `digest`, if any.
    ///
    /// # Errors
    ///
    /// [`SessionStoreError`] if the store cannot be read.
    fn find(
        &self,
        digest: &TokenDigest,
        secret: &TokenSecret,
    ) -> Result<Option<SessionRecord>, SessionStoreError>;

    /// Records a use of session `id` at `now_ms`; does nothing for an unknown id.
    ///
    /// # Errors
    ///
    /// [`SessionStoreError`] if the store cannot be written.
    fn touch(&self, id: &SessionId, now_ms: u64) -> Result<(), SessionStoreError>;

    /// Every session, in no particular order.
    ///
    /// # Errors
    ///
    /// [`SessionStoreError`] if the store cannot be read.
    fn list(&self) -> Result<Vec<SessionRecord>, SessionStoreError>;

    /// Removes session `id`; whether it was there.
    ///
    /// # Errors
    ///
    /// [`SessionStoreError`] if the store cannot be written.
    fn remove(&self, id: &SessionId) -> Result<bool, SessionStoreError>;

    /// Removes every session; how many there were.
    ///
    /// # Errors
    ///
    /// [`SessionStoreError`] if the store cannot be written.
    fn remove_all(&self) -> Result<usize, SessionStoreError>;

    /// Gives session `id` a new token digest and sealed key (rotation), in one step, and
    /// records a use at `now_ms`; the old digest is never found again. Whether the session
    /// was there.
    ///
    /// # Errors
    ///
    /// [`SessionStoreError`] if the store cannot be written.
    fn replace_digest(
        &self,
        id: &SessionId,
        digest: TokenDigest,
        sealed_key: Option<SealedKey>,
        secret: &TokenSecret,
        now_ms: u64,
    ) -> Result<bool, SessionStoreError>;
}

impl<S: SessionStore + ?Sized> SessionStore for std::sync::Arc<S> {
    fn insert(&self, record: SessionRecord, secret: &TokenSecret) -> Result<(), SessionStoreError> {
        (**self).insert(record, secret)
    }

    fn find(
        &self,
        digest: &TokenDigest,
        secret: &TokenSecret,
    ) -> Result<Option<SessionRecord>, SessionStoreError> {
        (**self).find(digest, secret)
    }

    fn touch(&self, id: &SessionId, now_ms: u64) -> Result<(), SessionStoreError> {
        (**self).touch(id, now_ms)
    }

    fn list(&self) -> Result<Vec<SessionRecord>, SessionStoreError> {
        (**self).list()
    }

    fn remove(&self, id: &SessionId) -> Result<bool, SessionStoreError> {
        (**self).remove(id)
    }

    fn remove_all(&self) -> Result<usize, SessionStoreError> {
        (**self).remove_all()
    }

    fn replace_digest(
        &self,
        id: &SessionId,
        digest: TokenDigest,
        sealed_key: Option<SealedKey>,
        secret: &TokenSecret,
        now_ms: u64,
    ) -> Result<bool, SessionStoreError> {
        (**self).replace_digest(id, digest, sealed_key, secret, now_ms)
    }
}

/// A [`SessionStore`] failure. The vault refuses the token or the operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionStoreError {
    /// The store could not be reached or failed.
    #[error("the session store is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Sessions kept in this process (the default). Nothing survives a restart.
///
/// Sessions are found by their digest through a hash index, then the digest is compared
/// once more in constant time: finding a token costs the same with 1 or 1,000 sessions.
#[derive(Default)]
pub struct MemorySessionStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    sessions: HashMap<SessionId, SessionRecord>,
    by_digest: HashMap<[u8; 32], SessionId>,
}

impl Inner {
    fn remove(&mut self, id: &SessionId) -> bool {
        match self.sessions.remove(id) {
            Some(r) => {
                self.by_digest.remove(r.digest.as_bytes());
                true
            }
            None => false,
        }
    }
}

impl MemorySessionStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // Every change keeps both maps in step before the guard is released; a panic in
        // between is not possible (no user code runs under the lock).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemorySessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemorySessionStore")
            .field("sessions", &self.inner().sessions.len())
            .finish()
    }
}

impl SessionStore for MemorySessionStore {
    fn insert(&self, record: SessionRecord, _: &TokenSecret) -> Result<(), SessionStoreError> {
        let mut inner = self.inner();
        inner.remove(&record.id);
        inner
            .by_digest
            .insert(*record.digest.as_bytes(), record.id.clone());
        inner.sessions.insert(record.id.clone(), record);
        Ok(())
    }

    fn find(
        &self,
        digest: &TokenDigest,
        _: &TokenSecret,
    ) -> Result<Option<SessionRecord>, SessionStoreError> {
        let inner = self.inner();
        Ok(inner
            .by_digest
            .get(digest.as_bytes())
            .and_then(|id| inner.sessions.get(id))
            .filter(|r| r.digest.ct_eq(digest))
            .cloned())
    }

    fn touch(&self, id: &SessionId, now_ms: u64) -> Result<(), SessionStoreError> {
        if let Some(r) = self.inner().sessions.get_mut(id) {
            r.last_used_ms = r.last_used_ms.max(now_ms);
        }
        Ok(())
    }

    fn list(&self) -> Result<Vec<SessionRecord>, SessionStoreError> {
        Ok(self.inner().sessions.values().cloned().collect())
    }

    fn remove(&self, id: &SessionId) -> Result<bool, SessionStoreError> {
        Ok(self.inner().remove(id))
    }

    fn remove_all(&self) -> Result<usize, SessionStoreError> {
        let mut inner = self.inner();
        let n = inner.sessions.len();
        inner.sessions.clear();
        inner.by_digest.clear();
        Ok(n)
    }

    fn replace_digest(
        &self,
        id: &SessionId,
        digest: TokenDigest,
        sealed_key: Option<SealedKey>,
        _: &TokenSecret,
        now_ms: u64,
    ) -> Result<bool, SessionStoreError> {
        let mut inner = self.inner();
        let Some(r) = inner.sessions.get_mut(id) else {
            return Ok(false);
        };
        r.sealed_key = sealed_key;
        let old = std::mem::replace(&mut r.digest, digest);
        r.last_used_ms = r.last_used_ms.max(now_ms);
        inner.by_digest.remove(old.as_bytes());
        inner.by_digest.insert(*digest.as_bytes(), id.clone());
        Ok(true)
    }
}
