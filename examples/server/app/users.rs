//! Whose vault a request is for: the one vault of a single-user server, or users' vaults
//! from a credlock `Registry` over a store set (files, SQLite or PostgreSQL): with
//! `--multi-user` the user named in the path (`/users/{id}/auth/...`), otherwise always
//! [`DEFAULT_USER`].
//!
//! A request for a user without a vault opens nothing and keeps nothing (the registry's
//! `existing_vault`); only enrolment (`/auth/set-passphrase`) makes a vault for a new user
//! ([`Vaults::for_enrolment`]). The registry bounds what it holds in memory (locked vaults
//! are let go of after 15 minutes unused, at most 10,000 are held): a stream of requests
//! naming users who do not exist costs one look at the store each, and no memory.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::StatusCode;
use axum::http::request::Parts;
use credlock::registry::UserId;
use credlock::{Error, SecurityStatus, nonblocking};

use super::AppState;
use super::http::{ApiError, path_param};

/// The user a single-user server over a registry serves.
pub(crate) const DEFAULT_USER: &str = "default";

/// Where the server's vaults come from.
#[derive(Debug)]
pub(crate) enum Vaults {
    /// One vault (`--vault`).
    One(nonblocking::Vault),
    /// A registry's (`--store`), the user named in the path if `multi_user`.
    Registry {
        registry: nonblocking::Registry,
        multi_user: bool,
    },
}

/// A user named in a path, as the registry's id.
fn id(user: &str) -> Result<UserId, ApiError> {
    UserId::new(user).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_user",
            format!("Not a valid user id ({}).", e.code()),
        )
    })
}

impl Vaults {
    /// Whether the user is named in the path.
    pub(crate) fn multi_user(&self) -> bool {
        matches!(
            self,
            Self::Registry {
                multi_user: true,
                ..
            }
        )
    }

    /// The vault of `user` (a [`UserVault::user`]), empty if it has none yet: for storing
    /// a new user's credentials.
    pub(crate) async fn for_enrolment(&self, user: &str) -> Result<nonblocking::Vault, ApiError> {
        match self {
            Self::One(vault) => Ok(vault.clone()),
            Self::Registry { registry, .. } => Ok(registry.vault(id(user)?).await?),
        }
    }

    /// What every vault is configured with, and nothing about any user (for callers who
    /// are not signed in; only its option fields are shown).
    pub(crate) async fn options_report(&self) -> SecurityStatus {
        match self {
            Self::One(vault) => vault.security_status().await,
            Self::Registry { registry, .. } => registry.security_status(),
        }
    }
}

/// The user a request is for (the case-folded id; empty on a single-user server), and
/// their vault if they have one.
#[derive(Debug, Clone)]
pub(crate) struct UserVault {
    pub(crate) user: String,
    pub(crate) vault: Option<nonblocking::Vault>,
}

impl UserVault {
    /// The vault, for an operation that needs a signed-in client: without one, the caller
    /// is not signed in.
    pub(crate) fn signed_in_vault(&self) -> Result<&nonblocking::Vault, ApiError> {
        Ok(self.vault.as_ref().ok_or(Error::InvalidToken)?)
    }
}

impl FromRequestParts<AppState> for UserVault {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let (registry, multi_user) = match &state.inner.vaults {
            Vaults::One(vault) => {
                let vault = Some(vault.clone());
                return Ok(Self {
                    user: String::new(),
                    vault,
                });
            }
            Vaults::Registry {
                registry,
                multi_user,
            } => (registry, *multi_user),
        };
        let user = if multi_user {
            let params = RawPathParams::from_request_parts(parts, state).await;
            id(&path_param(params, "user")?)?
        } else {
            id(DEFAULT_USER)?
        };
        Ok(Self {
            user: user.as_str().to_owned(),
            vault: registry.existing_vault(user).await?,
        })
    }
}
