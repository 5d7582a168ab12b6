//! Client sessions: credlock's own. `/auth/set-passphrase` and `/auth/unlock` mint one
//! ([`Vault::mint_session`](credlock::Vault::mint_session)) and hand its token to the browser
//! in an HttpOnly cookie; the vault keeps only the token's digest. Locking or logging out
//! ends every session (the vault revokes them), and each request checks its token with
//! [`Vault::validate_session`](credlock::Vault::validate_session) for the scope it needs.

use axum::http::StatusCode;
use credlock::sessions::{MintedSession, Scope, SessionId, SessionInfo, SessionRequest};

use super::http::ApiError;
use super::users::UserVault;

/// A session for a browser (every scope, idle expiry), labelled with its user agent.
pub(crate) fn mint_client(user: &UserVault, label: String) -> Result<MintedSession, ApiError> {
    Ok(user.vault.mint_session(SessionRequest::client(label))?)
}

/// An API token for a script: TOTP codes only.
pub(crate) fn mint_token(user: &UserVault, label: String) -> Result<MintedSession, ApiError> {
    Ok(user
        .vault
        .mint_session(SessionRequest::api_token(label, Scope::Totp))?)
}

/// The session of `token`, if it is live and allows `scope`.
pub(crate) fn validate(
    user: &UserVault,
    token: &str,
    scope: Scope,
) -> Result<SessionInfo, ApiError> {
    Ok(user.vault.validate_session(token, scope)?)
}

/// Every live session, oldest first (never a token).
pub(crate) fn list(user: &UserVault) -> Result<Vec<SessionInfo>, ApiError> {
    Ok(user.vault.sessions()?)
}

/// Revokes session `id`; whether it existed.
pub(crate) fn revoke(user: &UserVault, id: &str) -> Result<bool, ApiError> {
    let Some(id) = SessionId::parse(id) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_session",
            "No such session.",
        ));
    };
    Ok(user.vault.revoke_session(&id)?)
}
