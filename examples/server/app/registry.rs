//! With `--store` or `--multi-user`: users' vaults from a credlock [`Registry`] over a
//! store set (files, SQLite or PostgreSQL).
//!
//! The registry bounds what it holds in memory (vaults of users without a record are never
//! kept, locked vaults are let go of after 15 minutes unused, at most 10,000 are held): a
//! stream of requests naming users who do not exist costs one look at the store each, and
//! no memory.

use std::sync::Arc;

use axum::http::StatusCode;
use credlock::registry::UserId;
use credlock::{Registry, SecurityStatus, Vault};

use super::http::ApiError;
use super::users::Vaults;

/// The user a single-user server over a registry serves.
pub(crate) const DEFAULT_USER: &str = "default";

/// Users' vaults from a registry: the user named in the path (`--multi-user`), or always
/// [`DEFAULT_USER`].
#[derive(Debug)]
pub(crate) struct RegistryVaults {
    pub(crate) registry: Arc<Registry>,
    pub(crate) multi_user: bool,
}

/// A user key from [`Vaults::user_key`], as the registry's id (it was validated there).
fn id(key: &str) -> Result<UserId, ApiError> {
    UserId::new(key).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_user",
            format!("Not a valid user id ({}).", e.code()),
        )
    })
}

impl Vaults for RegistryVaults {
    fn multi_user(&self) -> bool {
        self.multi_user
    }

    fn user_key(&self, user: Option<&str>) -> Result<String, ApiError> {
        Ok(id(user.unwrap_or(DEFAULT_USER))?.as_str().to_owned())
    }

    fn existing(&self, user: &str) -> Result<Option<Arc<Vault>>, ApiError> {
        Ok(self.registry.existing_vault(&id(user)?)?)
    }

    fn for_enrolment(&self, user: &str) -> Result<Arc<Vault>, ApiError> {
        Ok(self.registry.vault(&id(user)?)?)
    }

    fn options_report(&self) -> SecurityStatus {
        self.registry.security_status()
    }
}
