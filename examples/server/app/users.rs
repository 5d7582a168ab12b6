//! Whose vault a request is for: the one vault of a single-user server, or, with
//! `--multi-user`, the vault of the user named in the path (`/users/{id}/auth/...`).
//!
//! A request for a user without a vault opens nothing and keeps nothing
//! ([`Vaults::existing`]); only enrolment (`/auth/set-passphrase`) makes a vault for a new
//! user ([`Vaults::for_enrolment`]).

use std::fmt;
use std::sync::Arc;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use credlock::{SecurityStatus, Vault};

use super::AppState;
use super::http::{ApiError, path_param};

/// Where the server's vaults come from.
pub(crate) trait Vaults: Send + Sync + fmt::Debug + 'static {
    /// Whether the user is named in the path.
    fn multi_user(&self) -> bool;

    /// The user key of the id named in the path (case-folded; empty on a single-user
    /// server).
    ///
    /// # Errors
    ///
    /// A JSON 400 for an id that is not a valid user id.
    fn user_key(&self, user: Option<&str>) -> Result<String, ApiError>;

    /// The vault of `user` (a key from [`Vaults::user_key`]) if it has one; nothing is
    /// opened or kept for a user without one. May block (it may read the user's record):
    /// called on the blocking pool.
    ///
    /// # Errors
    ///
    /// A JSON error for a store that fails.
    fn existing(&self, user: &str) -> Result<Option<Arc<Vault>>, ApiError>;

    /// The vault of `user`, empty if it has none yet: for storing a new user's credentials.
    /// May block.
    ///
    /// # Errors
    ///
    /// A JSON error for a store that fails, or a registry full of vaults in use.
    fn for_enrolment(&self, user: &str) -> Result<Arc<Vault>, ApiError>;

    /// What every vault is configured with, and nothing about any user (for callers who
    /// are not signed in).
    fn options_report(&self) -> SecurityStatus;
}

/// A single-user server's one vault.
#[derive(Debug)]
pub(crate) struct OneVault(pub(crate) Arc<Vault>);

impl Vaults for OneVault {
    fn multi_user(&self) -> bool {
        false
    }

    fn user_key(&self, _user: Option<&str>) -> Result<String, ApiError> {
        Ok(String::new())
    }

    fn existing(&self, _user: &str) -> Result<Option<Arc<Vault>>, ApiError> {
        Ok(Some(Arc::clone(&self.0)))
    }

    fn for_enrolment(&self, _user: &str) -> Result<Arc<Vault>, ApiError> {
        Ok(Arc::clone(&self.0))
    }

    fn options_report(&self) -> SecurityStatus {
        // Only its option fields are shown to callers who are not signed in.
        self.0.security_status()
    }
}

/// The user a request is for (the case-folded id; empty on a single-user server), and
/// their vault if they have one.
#[derive(Debug, Clone)]
pub(crate) struct UserVault {
    pub(crate) user: String,
    pub(crate) vault: Option<Arc<Vault>>,
}

impl UserVault {
    /// The vault, for an operation that needs a signed-in client: without one, the caller
    /// is not signed in.
    pub(crate) fn signed_in_vault(&self) -> Result<&Arc<Vault>, ApiError> {
        self.vault.as_ref().ok_or_else(ApiError::unauthenticated)
    }
}

impl FromRequestParts<AppState> for UserVault {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let vaults = Arc::clone(&state.inner.vaults);
        let user = if vaults.multi_user() {
            let params = RawPathParams::from_request_parts(parts, state).await;
            vaults.user_key(Some(&path_param(params, "user")?))?
        } else {
            vaults.user_key(None)?
        };
        // A store's look-up may block (a database query): on the blocking pool.
        let key = user.clone();
        let vault = tokio::task::spawn_blocking(move || vaults.existing(&key))
            .await
            .map_err(|_| ApiError::internal("a blocking task panicked"))??;
        Ok(Self { user, vault })
    }
}
