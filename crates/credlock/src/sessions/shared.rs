//! Shared sessions: sealing the vault key into a session's row, and serving a token on a
//! replica where the vault is locked (see the [module docs](super#shared-sessions-opt-in-for-replicas)).

use credlock_crypto::FernetKey;

use super::info::{SessionId, SessionRecord};
use super::sealed_key::SealedKey;
use super::token::TokenSecret;
use crate::credentials::Credentials;
use crate::error::Error;
use crate::record;
use crate::vault::Vault;

/// How a validated token reaches the record.
pub(crate) enum Access {
    /// Through the key this process holds (the vault is unlocked here).
    Local,
    /// Through the key sealed in the session's row, opened with the token, for this
    /// request only.
    Sealed { key: FernetKey, id: SessionId },
}

impl Vault {
    /// With shared sessions, the vault key sealed for session `id` under its token; `None`
    /// otherwise. Needs the key: only while unlocked here.
    pub(crate) fn seal_for_session(
        &self,
        id: &SessionId,
        secret: &TokenSecret,
    ) -> Result<Option<SealedKey>, Error> {
        if !self.session_registry().shared {
            return Ok(None);
        }
        let state = self.shared().state();
        let key = state.session.key(self.now())?;
        SealedKey::seal(key, id, secret).map(Some)
    }

    /// Opens the key sealed in `record` with the token's `secret`: a row without a sealed
    /// key, or one the token does not open, is [`Error::InvalidToken`].
    pub(crate) fn open_sealed_key(
        &self,
        record: &SessionRecord,
        secret: &TokenSecret,
    ) -> Result<Access, Error> {
        let sealed = record.sealed_key.as_ref().ok_or(Error::InvalidToken)?;
        Ok(Access::Sealed {
            key: sealed.open(&record.id, secret)?,
            id: record.id.clone(),
        })
    }

    /// The credentials, read through a key opened from a session's row: the stored record is
    /// read and opened for this request, and the key dropped (zeroized) afterwards; the vault
    /// stays locked here. A key that no longer opens the record (the passphrase or the key
    /// derivation changed elsewhere) revokes the session: [`Error::InvalidToken`].
    pub(crate) fn credentials_through(&self, access: Access) -> Result<Credentials, Error> {
        let Access::Sealed { key, id } = access else {
            return self.credentials();
        };
        let file = self.read_file()?;
        let Ok(plaintext) = key.open(&file.token) else {
            let _ = self.session_registry().store.remove(&id);
            let (auditor, clock) = (&self.options().auditor, &self.options().clock);
            return Err(self
                .session_registry()
                .refuse(auditor, clock, Error::InvalidToken));
        };
        record::from_bytes(&plaintext)
    }

    /// A passphrase change: shared sessions hold keys sealed under the old one, so they are
    /// revoked (in-process sessions are kept, as they hold no key).
    pub(crate) fn revoke_shared_sessions_on(&self, operation: &'static str) -> Result<(), Error> {
        let sessions = self.session_registry();
        if sessions.shared {
            sessions.revoke_all(&self.options().auditor, &self.options().clock, operation)?;
        }
        Ok(())
    }
}
