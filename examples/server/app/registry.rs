//! With `--store` or `--multi-user`: users' vaults from a credlock [`Registry`] over a
//! store set (files, SQLite or PostgreSQL).

use std::sync::Arc;

use axum::http::StatusCode;
use credlock::registry::UserId;
use credlock::{Registry, Vault};

use super::http::ApiError;
use super::users::Vaults;

/// The user a single-user server over a registry serves.
pub(crate) const DEFAULT_USER: &str = "default";

/// Users' vaults from a registry: the user named in the path (`--multi-user`), or always
/// [`DEFAULT_USER`].
#[derive(Debug)]
pub(crate) struct RegistryVaults {
    pub(crate) registry: Registry,
    pub(crate) multi_user: bool,
}

impl Vaults for RegistryVaults {
    fn multi_user(&self) -> bool {
        self.multi_user
    }

    fn vault(&self, user: Option<&str>) -> Result<Arc<Vault>, ApiError> {
        let name = user.unwrap_or(DEFAULT_USER);
        let id = UserId::new(name).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_user",
                format!("Not a valid user id ({}).", e.code()),
            )
        })?;
        Ok(self.registry.vault(&id)?)
    }
}
