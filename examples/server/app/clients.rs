//! Client sessions: the token in a browser's cookie, minted at unlock.
//!
//! Every call goes through this module, so the handlers read the same whichever session
//! mechanism is behind it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use credlock::SessionState;
use serde::Serialize;

use super::http::ApiError;
use super::users::UserVault;

/// A session as listed to clients: never its token.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct SessionView {
    pub(crate) id: String,
    pub(crate) label: String,
    pub(crate) created_at_ms: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Clients {
    live: Mutex<HashMap<(String, String), SessionView>>,
}

fn random_text() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| ApiError::internal("random source"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

impl Clients {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), SessionView>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new session for `label` on an unlocked vault: its token (for the cookie) and view.
    pub(crate) fn mint(
        &self,
        user: &UserVault,
        label: String,
    ) -> Result<(String, SessionView), ApiError> {
        if user.vault.status() != SessionState::Unlocked {
            return Err(credlock::Error::Locked.into());
        }
        let token = random_text()?;
        let view = SessionView {
            id: random_text()?.chars().take(16).collect(),
            label,
            created_at_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        };
        self.live()
            .insert((user.user.clone(), token.clone()), view.clone());
        Ok((token, view))
    }

    /// The session of `token`, if it is live and the vault unlocked.
    pub(crate) fn validate(&self, user: &UserVault, token: &str) -> Result<SessionView, ApiError> {
        if user.vault.status() != SessionState::Unlocked {
            self.revoke_all(user);
            return Err(ApiError::unauthenticated().clearing_session());
        }
        self.live()
            .get(&(user.user.clone(), token.to_owned()))
            .cloned()
            .ok_or_else(|| ApiError::unauthenticated().clearing_session())
    }

    /// Every live session, oldest first.
    pub(crate) fn list(&self, user: &UserVault) -> Result<Vec<SessionView>, ApiError> {
        let mut all: Vec<SessionView> = self
            .live()
            .iter()
            .filter(|((u, _), _)| *u == user.user)
            .map(|(_, v)| v.clone())
            .collect();
        all.sort_by(|a, b| (a.created_at_ms, &a.id).cmp(&(b.created_at_ms, &b.id)));
        Ok(all)
    }

    /// Revokes session `id`; whether it existed.
    pub(crate) fn revoke(&self, user: &UserVault, id: &str) -> Result<bool, ApiError> {
        let mut live = self.live();
        let before = live.len();
        live.retain(|(u, _), v| *u != user.user || v.id != id);
        Ok(live.len() != before)
    }

    /// Revokes every session (the vault was locked or logged out).
    pub(crate) fn revoke_all(&self, user: &UserVault) {
        self.live().retain(|(u, _), _| *u != user.user);
    }
}
