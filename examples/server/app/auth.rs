//! Eclosion's `/auth/*` endpoints over a credlock vault.
//!
//! The flow: `/auth/login` checks the credentials with the finance service and holds them
//! in this client's pending slot; `/auth/set-passphrase` seals them into the vault and signs
//! the client in; later `/auth/unlock` opens the vault and signs it in again. Signed in means
//! holding a session token in an HttpOnly cookie; the passphrase itself is dropped when the
//! request that carried it ends.

use axum::Json;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use axum::response::{IntoResponse, Response};
use credlock::SessionState;
use credlock::secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::clients;
use super::http::{
    ApiError, CLIENT_COOKIE, Client, JsonBody, SESSION_COOKIE, blocking, clear_cookie, cookie,
    path_param, policy_failure, set_cookie,
};
use super::pending::LoginAttempt;
use super::users::UserVault;
use credlock::sessions::{Scope, SessionInfo};

/// A well-formed client cookie: 256 random bits in unpadded base64url.
fn valid_client_id(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The client cookie every state-changing request without a session must carry (it comes
/// with the page and with `/auth/status`).
fn client_id(headers: &HeaderMap) -> Result<String, ApiError> {
    match cookie(headers, CLIENT_COOKIE) {
        Some(id) if valid_client_id(id) => Ok(id.to_owned()),
        _ => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "client_cookie_required",
            "The request lacks this client's cookie: load the page first.",
        )),
    }
}

/// A new client cookie value.
pub(crate) fn new_client_id() -> Option<String> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).ok()?;
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Adds a client cookie to `response` if the request had none.
pub(crate) fn ensure_client_cookie(state: &AppState, headers: &HeaderMap, response: &mut Response) {
    if cookie(headers, CLIENT_COOKIE).is_some_and(valid_client_id) {
        return;
    }
    if let Some(id) = new_client_id() {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(CLIENT_COOKIE, &id, state.config().tls),
        );
    }
}

/// The signed-in client's session, from its cookie.
fn authenticate(
    user: &UserVault,
    headers: &HeaderMap,
    scope: Scope,
) -> Result<SessionInfo, ApiError> {
    let token = cookie(headers, SESSION_COOKIE).ok_or_else(ApiError::unauthenticated)?;
    clients::validate(user, token, scope)
}

/// Counts a passphrase attempt against the client's address.
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
    user: &UserVault,
    client: &Client,
    body: Value,
) -> Result<Response, ApiError> {
    let minted = clients::mint_client(user, client.label())?;
    let mut response = Json(body).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            minted.token.expose_secret(),
            state.config().tls,
        ),
    );
    Ok(response)
}

fn signed_out(state: &AppState, body: Value) -> Response {
    let mut response = Json(body).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        clear_cookie(SESSION_COOKIE, state.config().tls),
    );
    response
}

/// `GET /auth/status`: `{authenticated, has_stored_credentials, needs_unlock}` as in
/// Eclosion, plus the vault's state and whether this client has a login pending.
pub(crate) async fn status(
    State(state): State<AppState>,
    user: UserVault,
    headers: HeaderMap,
) -> Response {
    let vault_state = user.vault.status();
    let authenticated = authenticate(&user, &headers, Scope::Totp).is_ok();
    let has_stored = vault_state != SessionState::NoCredentials;
    let pending = cookie(&headers, CLIENT_COOKIE)
        .filter(|id| valid_client_id(id))
        .is_some_and(|id| state.inner.pending.get(&user.key(id)).is_some());
    let mut response = Json(json!({
        "authenticated": authenticated,
        "has_stored_credentials": has_stored,
        "needs_unlock": has_stored && !authenticated,
        "state": vault_state,
        "pending_login": pending,
    }))
    .into_response();
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
/// this client's `/auth/set-passphrase`.
pub(crate) async fn login(
    State(state): State<AppState>,
    user: UserVault,
    client: Client,
    headers: HeaderMap,
    JsonBody(body): JsonBody<LoginBody>,
) -> Result<Json<Value>, ApiError> {
    let id = client_id(&headers)?;
    rate_limit(&state, &client)?;
    if body.email.trim().is_empty() || body.password.expose_secret().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "credentials_required",
            "Email and password are required",
        ));
    }
    if user.vault.status() != SessionState::NoCredentials {
        return Err(credlock::Error::VaultExists { path: None }.into());
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
    let finance = std::sync::Arc::clone(&state.inner.finance);
    let (attempt, verdict) = blocking(&client, move || {
        let verdict = finance.check(&attempt);
        (attempt, verdict)
    })
    .await?;
    verdict.map_err(|reason| ApiError::new(StatusCode::UNAUTHORIZED, "login_failed", reason))?;
    state.inner.pending.put(&user.key(&id), attempt);
    Ok(Json(json!({
        "success": true,
        "needs_passphrase": true,
        "message": "Login successful. Please create an encryption passphrase.",
    })))
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
    let id = client_id(&headers)?;
    rate_limit(&state, &client)?;
    require_passphrase(&body)?;
    let Some(creds) = state.inner.pending.get(&user.key(&id)) else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "no_pending_login",
            "No pending credentials. Please login first.",
        ));
    };
    let valid = user
        .vault
        .check_passphrase(body.passphrase, creds.email())
        .map_err(|v| policy_failure(&v))?;
    let vault = std::sync::Arc::clone(&user.vault);
    blocking(&client, move || vault.store(creds, valid)).await??;
    state.inner.pending.take(&user.key(&id));
    signed_in(
        &state,
        &user,
        &client,
        json!({ "success": true, "message": "Credentials encrypted and saved." }),
    )
}

/// `POST /auth/unlock`: unlocks the vault (401 for a wrong passphrase, 429 with
/// `Retry-After` while locked out) and signs the client in.
pub(crate) async fn unlock(
    State(state): State<AppState>,
    user: UserVault,
    client: Client,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PassphraseBody>,
) -> Result<Response, ApiError> {
    client_id(&headers)?;
    rate_limit(&state, &client)?;
    require_passphrase(&body)?;
    let vault = std::sync::Arc::clone(&user.vault);
    // The passphrase moves into the blocking task and is dropped (zeroized) when it ends.
    blocking(&client, move || vault.unlock(&body.passphrase)).await??;
    signed_in(
        &state,
        &user,
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
    authenticate(&user, &headers, Scope::Manage)?;
    // Locking ends every session of the vault.
    user.vault.lock();
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
    authenticate(&user, &headers, Scope::Manage)?;
    let vault = std::sync::Arc::clone(&user.vault);
    // Logging out deletes the record and ends every session.
    blocking(&client, move || vault.logout()).await??;
    Ok(signed_out(&state, json!({ "success": true })))
}

/// `GET /auth/sessions`: the live sessions, this one marked `current`.
pub(crate) async fn sessions(user: UserVault, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let me = authenticate(&user, &headers, Scope::Manage)?;
    let list = clients::list(&user)?;
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
    user: UserVault,
    headers: HeaderMap,
    JsonBody(body): JsonBody<TokenBody>,
) -> Result<Json<Value>, ApiError> {
    authenticate(&user, &headers, Scope::Manage)?;
    let label = body.label.trim();
    if label.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "label_required",
            "A label is required.",
        ));
    }
    let minted = clients::mint_token(&user, label.to_owned())?;
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
    let me = authenticate(&user, &headers, Scope::Manage)?;
    if !clients::revoke(&user, &id)? {
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
pub(crate) async fn totp(user: UserVault, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let token = cookie(&headers, SESSION_COOKIE).ok_or_else(ApiError::unauthenticated)?;
    // Validates the token for `Scope::Totp`, then derives the code.
    let code = user.vault.totp_for(token)?;
    Ok(Json(json!({
        "code": code.code().expose_secret(),
        "seconds_left": code.seconds_left(),
    })))
}
