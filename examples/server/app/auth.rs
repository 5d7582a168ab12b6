//! Eclosion's `/auth/*` endpoints over a credlock vault.
//!
//! The flow: `/auth/login` checks the credentials with the finance service and holds them
//! in this client's pending slot; `/auth/set-passphrase` seals them into the vault and signs
//! the client in; later `/auth/unlock` opens the vault and signs it in again. Signed in means
//! holding a credlock session token in an HttpOnly cookie (`credlock::web::SessionCookie`;
//! the vault keeps only its digest, and locking or logging out ends every session); the
//! passphrase itself is dropped when the request that carried it ends. The vault's calls
//! run through `credlock::nonblocking`, its errors answer through `credlock::web`.
//!
//! What a caller who is not signed in learns is what a login page needs and no more: that
//! it is not signed in. Not whether the user has a vault (only a client the finance service
//! accepted at `/auth/login` learns that one exists), not whether the owner is unlocked or
//! present, not whether a login is pending.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use axum::response::{IntoResponse, Response};
use credlock::secrecy::{ExposeSecret as _, SecretString};
use credlock::sessions::{Scope, SessionId, SessionInfo, SessionRequest};
use credlock::web::SessionFromCookie;
use credlock::{Error, ErrorKind, SessionState, nonblocking};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::http::{ApiError, Client, JsonBody, audited, path_param, set_cookie};
use super::pending::LoginAttempt;
use super::users::UserVault;

/// This client's id, if its cookie holds one this server issued.
fn issued_client_id(state: &AppState, headers: &HeaderMap) -> Option<String> {
    let value = state.inner.client_cookie.read(headers)?;
    let id = state.inner.client_ids.verify(value.expose_secret())?;
    Some(id.to_owned())
}

/// The client id every state-changing request without a session must carry (the page and
/// `/auth/status` hand one out); a value this server did not issue is refused.
pub(crate) fn client_id(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    issued_client_id(state, headers).ok_or_else(|| {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "client_cookie_required",
            "The request lacks this client's cookie: load the page first.",
        )
    })
}

/// Sets the client cookie to `id` on `response`.
fn give_client_id(state: &AppState, id: &str, response: &mut Response) {
    let cookie = set_cookie(&state.inner.client_cookie, id);
    response.headers_mut().append(header::SET_COOKIE, cookie);
}

/// Gives the client a new id if its request carried none this server issued.
pub(crate) fn ensure_client_cookie(state: &AppState, headers: &HeaderMap, response: &mut Response) {
    if issued_client_id(state, headers).is_some() {
        return;
    }
    if let Some(id) = state.inner.client_ids.issue() {
        give_client_id(state, &id, response);
    }
}

/// The signed-in client's vault and session, from its session token.
pub(crate) async fn authenticate(
    user: &UserVault,
    token: SecretString,
    scope: Scope,
) -> Result<(nonblocking::Vault, SessionInfo), ApiError> {
    let vault = user.signed_in_vault()?;
    let info = vault.validate_session(token, scope).await?;
    Ok((vault.clone(), info))
}

/// The vault and session of a client that may not be signed in.
pub(crate) async fn signed_in_client(
    state: &AppState,
    user: &UserVault,
    headers: &HeaderMap,
    scope: Scope,
) -> Option<(nonblocking::Vault, SessionInfo)> {
    let token = state.inner.session_cookie.read(headers)?;
    authenticate(user, token, scope).await.ok()
}

/// Counts a passphrase attempt against the client's address, whichever user it is for.
pub(crate) fn rate_limit(state: &AppState, client: &Client) -> Result<(), ApiError> {
    state.inner.limiter.check(client.addr.ip()).map_err(|wait| {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Too many attempts from this address. Try again in {secs} s."),
        )
        .retry_after(secs)
    })
}

/// A JSON answer that also signs the client in with a new session (every scope, idle
/// expiry), labelled with its user agent.
pub(crate) async fn signed_in(
    state: &AppState,
    vault: &nonblocking::Vault,
    client: &Client,
    body: Value,
) -> Result<Response, ApiError> {
    let minted = vault
        .mint_session(SessionRequest::client(client.label()))
        .await?;
    let mut response = Json(body).into_response();
    let cookie = state.inner.session_cookie.set(&minted.token, None);
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

fn signed_out(state: &AppState, body: Value) -> Response {
    let mut response = Json(body).into_response();
    let cookie = state.inner.session_cookie.clear();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// `GET /auth/status`. Signed in: Eclosion's `{authenticated, has_stored_credentials,
/// needs_unlock}` and the vault's state. Not signed in: `{"authenticated": false, "state":
/// "signed_out"}` and nothing about the vault (whether there is one, whether it is
/// unlocked), for any user; it hands out the client cookie.
pub(crate) async fn status(
    State(state): State<AppState>,
    user: UserVault,
    headers: HeaderMap,
) -> Response {
    let body = match signed_in_client(&state, &user, &headers, Scope::Totp).await {
        Some((vault, _)) => {
            let vault_state = vault.status();
            json!({
                "authenticated": true,
                "has_stored_credentials": vault_state != SessionState::NoCredentials,
                "needs_unlock": false,
                "state": vault_state,
            })
        }
        None => json!({ "authenticated": false, "state": "signed_out" }),
    };
    let mut response = Json(body).into_response();
    ensure_client_cookie(&state, &headers, &mut response);
    response
}

#[derive(Deserialize)]
pub(crate) struct LoginBody {
    email: String,
    password: SecretString,
    #[serde(default)]
    mfa_secret: Option<SecretString>,
    /// Eclosion's `secret` or `code`; only `secret` is kept (a one-time code is useless later).
    #[serde(default)]
    mfa_mode: Option<String>,
}

/// `POST /auth/login`: checks the credentials with the finance service and holds them for
/// this client's `/auth/set-passphrase`, under a new client id (the answer sets it): an id
/// planted in the browser before the login does not name the pending slot.
pub(crate) async fn login(
    State(state): State<AppState>,
    user: UserVault,
    client: Client,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    let old_id = client_id(&state, &headers)?;
    rate_limit(&state, &client)?;
    if body.email.trim().is_empty() || body.password.expose_secret().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "credentials_required",
            "Email and password are required",
        ));
    }
    // A bad MFA secret is refused now, not after the passphrase is chosen.
    if let Some(mfa) = body.mfa_secret.as_ref()
        && !mfa.expose_secret().is_empty()
        && body.mfa_mode.as_deref().is_none_or(|m| m == "secret")
    {
        credlock::totp::TotpSecret::parse(mfa.expose_secret()).map_err(Error::from)?;
    }
    let attempt = LoginAttempt {
        email: body.email.trim().to_owned(),
        password: body.password,
        mfa_secret: body
            .mfa_secret
            .filter(|_| body.mfa_mode.as_deref().is_none_or(|m| m == "secret")),
    };
    // The finance service is the app's own blocking call (not the vault's).
    let finance = Arc::clone(&state.inner.finance);
    let (attempt, verdict) = tokio::task::spawn_blocking(move || {
        let verdict = finance.check(&attempt);
        (attempt, verdict)
    })
    .await
    .map_err(|_| ApiError::internal("the finance check panicked"))?;
    verdict.map_err(|reason| ApiError::new(StatusCode::UNAUTHORIZED, "login_failed", reason))?;
    // Only a client the finance service accepted learns that credentials are stored.
    if user
        .vault
        .as_ref()
        .is_some_and(|v| v.status() != SessionState::NoCredentials)
    {
        return Err(Error::VaultExists { path: None }.into());
    }
    let new_id = state
        .inner
        .client_ids
        .issue()
        .ok_or_else(|| ApiError::internal("the random source failed"))?;
    state.inner.pending.take(&user.user, &old_id);
    state.inner.pending.put(&user.user, &new_id, attempt);
    let mut response = Json(json!({
        "success": true,
        "needs_passphrase": true,
        "message": "Login successful. Please create an encryption passphrase.",
    }))
    .into_response();
    give_client_id(&state, &new_id, &mut response);
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct PassphraseBody {
    passphrase: SecretString,
}

fn require_passphrase(body: &PassphraseBody) -> Result<(), ApiError> {
    if body.passphrase.expose_secret().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "passphrase_required",
            "A passphrase is required.",
        ));
    }
    Ok(())
}

/// `POST /auth/set-passphrase`: seals this client's pending credentials under a new
/// passphrase (every unmet policy rule listed at once) and signs the client in.
pub(crate) async fn set_passphrase(
    State(state): State<AppState>,
    user: UserVault,
    client: Client,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PassphraseBody>,
) -> Result<Response, ApiError> {
    let id = client_id(&state, &headers)?;
    rate_limit(&state, &client)?;
    require_passphrase(&body)?;
    let Some(creds) = state.inner.pending.get(&user.user, &id) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "no_pending_login",
            "No pending credentials. Please login first.",
        ));
    };
    let vault = state.inner.vaults.for_enrolment(&user.user).await?;
    let valid = vault
        .check_passphrase(body.passphrase, creds.email())
        .map_err(Error::from)?;
    audited(&vault, &client, move |v| v.store(creds, valid)).await?;
    state.inner.pending.take(&user.user, &id);
    let body = json!({ "success": true, "message": "Credentials encrypted and saved." });
    signed_in(&state, &vault, &client, body).await
}

/// `POST /auth/unlock`: unlocks the vault (401 for a wrong passphrase, 429 with
/// `Retry-After` while locked out) and signs the client in. A user without stored
/// credentials gets the wrong passphrase's answer.
pub(crate) async fn unlock(
    State(state): State<AppState>,
    user: UserVault,
    client: Client,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PassphraseBody>,
) -> Result<Response, ApiError> {
    client_id(&state, &headers)?;
    rate_limit(&state, &client)?;
    require_passphrase(&body)?;
    let Some(vault) = user.vault else {
        return Err(Error::WrongPassphrase.into());
    };
    // The passphrase moves into the blocking work and is dropped (zeroized) when it ends.
    match audited(&vault, &client, move |v| v.unlock(&body.passphrase)).await {
        Err(e) if e.kind() == ErrorKind::NoCredentials => return Err(Error::WrongPassphrase.into()),
        result => result?,
    }
    let body =
        json!({ "success": true, "unlock_success": true, "message": "Credentials unlocked." });
    signed_in(&state, &vault, &client, body).await
}

/// `POST /auth/lock`: locks the vault (the key is dropped; every session ends).
pub(crate) async fn lock(
    State(state): State<AppState>,
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
) -> Result<Response, ApiError> {
    let (vault, _) = authenticate(&user, token, Scope::Manage).await?;
    vault.lock().await;
    Ok(signed_out(&state, json!({ "success": true })))
}

/// `POST /auth/logout`: deletes the stored credentials (only while unlocked) and every
/// session.
pub(crate) async fn logout(
    State(state): State<AppState>,
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
    client: Client,
) -> Result<Response, ApiError> {
    let (vault, _) = authenticate(&user, token, Scope::Manage).await?;
    audited(&vault, &client, credlock::Vault::logout).await?;
    Ok(signed_out(&state, json!({ "success": true })))
}

/// `GET /auth/sessions`: the live sessions (never a token), oldest first, this one marked
/// `current`.
pub(crate) async fn sessions(
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
) -> Result<Json<Value>, ApiError> {
    let (vault, me) = authenticate(&user, token, Scope::Manage).await?;
    let sessions: Vec<Value> = vault
        .sessions()
        .await?
        .into_iter()
        .map(|s| {
            let current = s.id == me.id;
            let mut v = json!(s);
            if let Value::Object(map) = &mut v {
                map.insert("current".into(), Value::Bool(current));
            }
            v
        })
        .collect();
    Ok(Json(json!({ "sessions": sessions })))
}

#[derive(Deserialize)]
pub(crate) struct TokenBody {
    label: String,
}

/// `POST /auth/sessions`: a signed-in client mints an API token for a script (TOTP codes
/// only; listed and revocable like any session). The token is in the answer, once.
pub(crate) async fn new_token(
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Json<Value>, ApiError> {
    let (vault, _) = authenticate(&user, token, Scope::Manage).await?;
    let label = body.label.trim();
    if label.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "label_required",
            "A label is required.",
        ));
    }
    let request = SessionRequest::api_token(label.to_owned(), Scope::Totp);
    let minted = vault.mint_session(request).await?;
    Ok(Json(json!({
        "success": true,
        "token": minted.token.expose_secret(),
        "session": minted.info,
    })))
}

/// `DELETE /auth/sessions/{id}`: revokes a session (this one too, if asked).
pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
    params: Result<RawPathParams, RawPathParamsRejection>,
) -> Result<Response, ApiError> {
    // The raw parameters, not `Path<String>`: a multi-user path names the user too.
    let id = path_param(params, "id")?;
    let (vault, me) = authenticate(&user, token, Scope::Manage).await?;
    let no_such_session =
        || ApiError::new(StatusCode::NOT_FOUND, "no_such_session", "No such session.");
    let session = SessionId::parse(&id).ok_or_else(no_such_session)?;
    if !vault.revoke_session(session).await? {
        return Err(no_such_session());
    }
    let body = json!({ "success": true, "revoked": id });
    Ok(if id == me.id.as_str() {
        signed_out(&state, body)
    } else {
        Json(body).into_response()
    })
}

/// `GET /auth/totp`: the current TOTP code of the stored MFA secret, and its seconds left.
pub(crate) async fn totp(
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
) -> Result<Json<Value>, ApiError> {
    // Validates the token for `Scope::Totp`, then derives the code.
    let code = user.signed_in_vault()?.totp_for(token).await?;
    Ok(Json(json!({
        "code": code.code().expose_secret(),
        "seconds_left": code.seconds_left(),
    })))
}
