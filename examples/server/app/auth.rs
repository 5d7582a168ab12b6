//! Eclosion's `/auth/*` endpoints over a credlock vault.
//!
//! The flow: `/auth/login` checks the credentials with the finance service and holds them
//! in this client's pending slot; `/auth/set-passphrase` seals them into the vault and signs
//! the client in; later `/auth/unlock` opens the vault and signs it in again. Signed in means
//! holding a session token in an HttpOnly cookie; the passphrase itself is dropped when the
//! request that carried it ends.
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
use credlock::sessions::{Scope, SessionInfo};
use credlock::{ErrorKind, SessionState, Vault};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::clients;
use super::http::{
    ApiError, Client, JsonBody, blocking, clear_cookie, client_cookie, cookie, path_param,
    policy_failure, session_cookie, set_cookie,
};
use super::pending::LoginAttempt;
use super::users::UserVault;

/// This client's id, if its cookie holds one this server issued.
fn issued_client_id<'a>(state: &AppState, headers: &'a HeaderMap) -> Option<&'a str> {
    cookie(headers, client_cookie(state.config().tls))
        .and_then(|value| state.inner.client_ids.verify(value))
}

/// The client id every state-changing request without a session must carry (the page and
/// `/auth/status` hand one out); a value this server did not issue is refused.
fn client_id(state: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    issued_client_id(state, headers)
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "client_cookie_required",
                "The request lacks this client's cookie: load the page first.",
            )
        })
}

/// Sets the client cookie to `id` on `response`.
fn give_client_id(state: &AppState, id: &str, response: &mut Response) {
    let tls = state.config().tls;
    response
        .headers_mut()
        .append(header::SET_COOKIE, set_cookie(client_cookie(tls), id, tls));
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

/// The signed-in client's vault and session, from its session cookie.
pub(crate) fn authenticate(
    state: &AppState,
    user: &UserVault,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<(Arc<Vault>, SessionInfo), ApiError> {
    let token = cookie(headers, session_cookie(state.config().tls))
        .ok_or_else(ApiError::unauthenticated)?;
    let vault = user.signed_in_vault()?;
    let info = clients::validate(vault, token, scope)?;
    Ok((Arc::clone(vault), info))
}

/// Counts a passphrase attempt against the client's address, whichever user it is for.
fn rate_limit(state: &AppState, client: &Client) -> Result<(), ApiError> {
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

/// A JSON answer that also signs the client in with a new session.
fn signed_in(
    state: &AppState,
    vault: &Vault,
    client: &Client,
    body: Value,
) -> Result<Response, ApiError> {
    let minted = clients::mint_client(vault, client.label())?;
    let mut response = Json(body).into_response();
    let tls = state.config().tls;
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(session_cookie(tls), minted.token.expose_secret(), tls),
    );
    Ok(response)
}

fn signed_out(state: &AppState, body: Value) -> Response {
    let mut response = Json(body).into_response();
    let tls = state.config().tls;
    response
        .headers_mut()
        .append(header::SET_COOKIE, clear_cookie(session_cookie(tls), tls));
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
    let body = match authenticate(&state, &user, &headers, Scope::Totp) {
        Ok((vault, _)) => {
            let vault_state = vault.status();
            json!({
                "authenticated": true,
                "has_stored_credentials": vault_state != SessionState::NoCredentials,
                "needs_unlock": false,
                "state": vault_state,
            })
        }
        Err(_) => json!({ "authenticated": false, "state": "signed_out" }),
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
        credlock::totp::TotpSecret::parse(mfa.expose_secret()).map_err(credlock::Error::from)?;
    }
    let attempt = LoginAttempt {
        email: body.email.trim().to_owned(),
        password: body.password,
        mfa_secret: body
            .mfa_secret
            .filter(|_| body.mfa_mode.as_deref().is_none_or(|m| m == "secret")),
    };
    let finance = Arc::clone(&state.inner.finance);
    let (attempt, verdict) = blocking(&client, move || {
        let verdict = finance.check(&attempt);
        (attempt, verdict)
    })
    .await?;
    verdict.map_err(|reason| ApiError::new(StatusCode::UNAUTHORIZED, "login_failed", reason))?;
    // Only a client the finance service accepted learns that credentials are stored.
    if user
        .vault
        .as_ref()
        .is_some_and(|v| v.status() != SessionState::NoCredentials)
    {
        return Err(credlock::Error::VaultExists { path: None }.into());
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
    let vaults = Arc::clone(&state.inner.vaults);
    let key = user.user.clone();
    let vault = blocking(&client, move || vaults.for_enrolment(&key)).await??;
    let valid = vault
        .check_passphrase(body.passphrase, creds.email())
        .map_err(|v| policy_failure(&v))?;
    let sealing = Arc::clone(&vault);
    blocking(&client, move || sealing.store(creds, valid)).await??;
    state.inner.pending.take(&user.user, &id);
    signed_in(
        &state,
        &vault,
        &client,
        json!({ "success": true, "message": "Credentials encrypted and saved." }),
    )
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
    let Some(vault) = user.vault.clone() else {
        return Err(credlock::Error::WrongPassphrase.into());
    };
    let unlocking = Arc::clone(&vault);
    // The passphrase moves into the blocking task and is dropped (zeroized) when it ends.
    match blocking(&client, move || unlocking.unlock(&body.passphrase)).await? {
        Err(e) if e.kind() == ErrorKind::NoCredentials => {
            return Err(credlock::Error::WrongPassphrase.into());
        }
        result => result?,
    }
    signed_in(
        &state,
        &vault,
        &client,
        json!({ "success": true, "unlock_success": true, "message": "Credentials unlocked." }),
    )
}

/// `POST /auth/lock`: locks the vault (the key is dropped; every session ends).
pub(crate) async fn lock(
    State(state): State<AppState>,
    user: UserVault,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (vault, _) = authenticate(&state, &user, &headers, Scope::Manage)?;
    // Locking ends every session of the vault.
    vault.lock();
    Ok(signed_out(&state, json!({ "success": true })))
}

/// `POST /auth/logout`: deletes the stored credentials (only while unlocked) and every
/// session.
pub(crate) async fn logout(
    State(state): State<AppState>,
    user: UserVault,
    client: Client,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (vault, _) = authenticate(&state, &user, &headers, Scope::Manage)?;
    // Logging out deletes the record and ends every session.
    blocking(&client, move || vault.logout()).await??;
    Ok(signed_out(&state, json!({ "success": true })))
}

/// `GET /auth/sessions`: the live sessions, this one marked `current`.
pub(crate) async fn sessions(
    State(state): State<AppState>,
    user: UserVault,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let (vault, me) = authenticate(&state, &user, &headers, Scope::Manage)?;
    let list = clients::list(&vault)?;
    let sessions: Vec<Value> = list
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

/// `POST /auth/sessions`: a signed-in client mints an API token for a script (listed and
/// revocable like any session). The token is in the answer, once.
pub(crate) async fn new_token(
    State(state): State<AppState>,
    user: UserVault,
    headers: HeaderMap,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Json<Value>, ApiError> {
    let (vault, _) = authenticate(&state, &user, &headers, Scope::Manage)?;
    let label = body.label.trim();
    if label.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "label_required",
            "A label is required.",
        ));
    }
    let minted = clients::mint_token(&vault, label.to_owned())?;
    Ok(Json(json!({
        "success": true,
        "token": minted.token.expose_secret(),
        "session": minted.info,
    })))
}

/// `DELETE /auth/sessions/{id}`: revokes a session (this one too, if asked).
pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    user: UserVault,
    headers: HeaderMap,
    params: Result<RawPathParams, RawPathParamsRejection>,
) -> Result<Response, ApiError> {
    // The raw parameters, not `Path<String>`: a multi-user path names the user too.
    let id = path_param(params, "id")?;
    let (vault, me) = authenticate(&state, &user, &headers, Scope::Manage)?;
    if !clients::revoke(&vault, &id)? {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no_such_session",
            "No such session.",
        ));
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
    State(state): State<AppState>,
    user: UserVault,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let token = cookie(&headers, session_cookie(state.config().tls))
        .ok_or_else(ApiError::unauthenticated)?;
    // Validates the token for `Scope::Totp`, then derives the code.
    let code = user.signed_in_vault()?.totp_for(token)?;
    Ok(Json(json!({
        "code": code.code().expose_secret(),
        "seconds_left": code.seconds_left(),
    })))
}
