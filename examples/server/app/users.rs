//! Whose vault a request is for: the one vault of a single-user server, or, with
//! `--multi-user`, the vault of the user named in the path (`/users/{id}/auth/...`).

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use credlock::Vault;

use super::AppState;
use super::http::{ApiError, path_param};

/// Where the server's vaults come from.
pub(crate) trait Vaults: Send + Sync + fmt::Debug + 'static {
    /// Whether the user is named in the path.
    fn multi_user(&self) -> bool;

    /// The vault of `user` (`None` on a single-user server). May block (it may read the
    /// user's record the first time): it is called on the blocking pool when multi-user.
    ///
    /// # Errors
    ///
    /// A JSON error for an invalid user id or a store that fails.
    fn vault(&self, user: Option<&str>) -> Result<Arc<Vault>, ApiError>;
}

/// A single-user server's one vault.
#[derive(Debug)]
pub(crate) struct OneVault(pub(crate) Arc<Vault>);

impl Vaults for OneVault {
    fn multi_user(&self) -> bool {
        false
    }

    fn vault(&self, _user: Option<&str>) -> Result<Arc<Vault>, ApiError> {
        Ok(Arc::clone(&self.0))
    }
}

/// The vault a request is for, and whose it is (empty on a single-user server).
#[derive(Debug, Clone)]
pub(crate) struct UserVault {
    pub(crate) user: String,
    pub(crate) vault: Arc<Vault>,
}

impl UserVault {
    /// A key for per-user, per-client state (the pending login slot).
    pub(crate) fn key(&self, client: &str) -> String {
        format!("{}\n{client}", self.user)
    }
}

impl FromRequestParts<AppState> for UserVault {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let vaults = Arc::clone(&state.inner.vaults);
        if !vaults.multi_user() {
            let vault = vaults.vault(None)?;
            return Ok(Self {
                user: String::new(),
                vault,
            });
        }
        let params = RawPathParams::from_request_parts(parts, state).await;
        let user = path_param(params, "user")?;
        let name = user.clone();
        let vault = tokio::task::spawn_blocking(move || vaults.vault(Some(&name)))
            .await
            .map_err(|_| ApiError::internal("a blocking task panicked"))??;
        Ok(Self { user, vault })
    }
}
