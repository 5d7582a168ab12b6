//! Client sessions: credlock's own. `/auth/set-passphrase` and `/auth/unlock` mint one
//! ([`Vault::mint_session`](credlock::Vault::mint_session)) and hand its token to the browser
//! in an HttpOnly cookie; the vault keeps only the token's digest. Locking or logging out
//! ends every session (the vault revokes them), and each request checks its token with
//! [`Vault::validate_session`](credlock::Vault::validate_session) for the scope it needs.

use axum::http::StatusCode;
use credlock::Vault;
use credlock::sessions::{MintedSession, Scope, SessionId, SessionInfo, SessionRequest};

use super::http::ApiError;

/// A session for a browser (every scope, idle expiry), labelled with its user agent.
pub(crate) fn mint_client(vault: &Vault, label: String) -> Result<MintedSession, ApiError> {
    Ok(vault.mint_session(SessionRequest::client(label))?)
}

/// An API token for a script: TOTP codes only.
pub(crate) fn mint_token(vault: &Vault, label: String) -> Result<MintedSession, ApiError> {
    Ok(vault.mint_session(SessionRequest::api_token(label, Scope::Totp))?)
}

/// The session of `token`, if it is live and allows `scope`.
pub(crate) fn validate(vault: &Vault, token: &str, scope: Scope) -> Result<SessionInfo, ApiError> {
    Ok(vault.validate_session(token, scope)?)
}

/// Every live session, oldest first (never a token).
pub(crate) fn list(vault: &Vault) -> Result<Vec<SessionInfo>, ApiError> {
    Ok(vault.sessions()?)
}

/// Revokes session `id`; whether it existed.
pub(crate) fn revoke(vault: &Vault, id: &str) -> Result<bool, ApiError> {
    let Some(id) = SessionId::parse(id) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_session",
            "No such session.",
        ));
    };
    Ok(vault.revoke_session(&id)?)
}
