//! Unlock with a passkey: credlock's passkey keyslots (the WebAuthn PRF extension) behind
//! JSON endpoints, and the relying party this server is.
//!
//! Adding a passkey (signed in, the vault unlocked) takes three requests, unlocking two:
//!
//! - `POST /auth/passkeys/register/options` → `{ceremony, publicKey}`: the options for
//!   `navigator.credentials.create`;
//! - `POST /auth/passkeys/register` `{ceremony, credential}` (the browser's
//!   `credential.toJSON()`) → `{ceremony, publicKey}`: the options for
//!   `navigator.credentials.get` that ask the new passkey's first PRF output;
//! - `POST /auth/passkeys/enrol` `{ceremony, credential, label}` → the slot added;
//! - `POST /auth/passkeys/unlock/options` → `{ceremony, publicKey}` (the locked page);
//! - `POST /auth/passkeys/unlock` `{ceremony, credential}`: unlocks and signs the client in
//!   as `/auth/unlock` does;
//! - `GET /auth/passkeys`, `DELETE /auth/passkeys/{id}`: the passkeys (label, creation,
//!   last use), and removing one (which rotates the data key and ends every other session).
//!
//! Between two steps the server keeps the library's `PasskeyCeremony` here, under a random
//! id the page gets back, for the user and the client it was issued to (the session for
//! adding, the client cookie for unlocking): taken once, gone after
//! [`credlock::passkeys::CEREMONY_TTL`], at most [`MAX_CEREMONIES`] held and
//! [`MAX_PER_CLIENT`] per client (a new one pushes out that client's oldest). The
//! ceremony never leaves the server.
//!
//! The relying party: the origin given with `--origin` (its host is the RP ID), or, for
//! plain HTTP on loopback, `http://localhost:PORT` (WebAuthn takes `localhost` as a secure
//! context; an IP address cannot be an RP ID, so the page is opened at `localhost`).
//! Without either, the endpoints answer 404 `passkeys_unavailable`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::{IntoResponse, Response};
use credlock::passkeys::webauthn::RelyingParty;
use credlock::passkeys::{CEREMONY_TTL, PasskeyCeremony};
use credlock::sessions::Scope;
use credlock::web::SessionFromCookie;
use credlock::{Error, ErrorKind, SessionState, SlotId, SlotInfo, SlotKind};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::{authenticate, client_id, rate_limit, signed_in};
use super::http::{ApiError, Client, JsonBody, audited, path_param};
use super::users::UserVault;

/// The most ceremonies held at once, over every user.
pub(crate) const MAX_CEREMONIES: usize = 4096;
/// The most held for one client (a session or a client cookie).
pub(crate) const MAX_PER_CLIENT: usize = 4;

/// The relying party's display name.
const RP_NAME: &str = "credlock";

/// The RP ID of `origin` (`scheme://host[:port]`): its host, if it is a name (not an IP
/// address) and the origin is `https`, or `http` on `localhost`.
pub(crate) fn rp_id(origin: &str) -> Option<String> {
    let (scheme, rest) = origin.split_once("://")?;
    let host = rest.rsplit_once(':').map_or(rest, |(host, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) && !port.is_empty() {
            host
        } else {
            rest
        }
    });
    let name_like = !host.is_empty()
        && host.parse::<std::net::IpAddr>().is_err()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    let secure = scheme == "https" || (scheme == "http" && host == "localhost");
    (name_like && secure).then(|| host.to_ascii_lowercase())
}

struct Held {
    user: String,
    client: String,
    issued: Instant,
    ceremony: PasskeyCeremony,
}

/// The relying party and the ceremonies in progress.
#[derive(Debug)]
pub(crate) struct Passkeys {
    configured: Option<String>,
    rp: OnceLock<RelyingParty>,
    held: Mutex<HashMap<String, Held>>,
}

impl std::fmt::Debug for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held").finish_non_exhaustive()
    }
}

fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "passkeys_unavailable",
        "Passkeys need the server's origin (--origin).",
    )
}

fn unknown_ceremony() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unknown_ceremony",
        "No such passkey ceremony (expired, already used, or not this client's): start again.",
    )
}

impl Passkeys {
    /// The passkeys of a server whose public origin is `origin`, if given.
    pub(crate) fn new(origin: Option<String>) -> Self {
        Self {
            configured: origin,
            rp: OnceLock::new(),
            held: Mutex::new(HashMap::new()),
        }
    }

    /// Fixes the relying party once the server listens on `addr`: the configured origin,
    /// or `http://localhost:PORT` for plain HTTP on loopback.
    pub(crate) fn bind(&self, addr: SocketAddr, tls: bool) {
        let origin = match &self.configured {
            Some(origin) => origin.clone(),
            None if !tls && addr.ip().is_loopback() => format!("http://localhost:{}", addr.port()),
            None => return,
        };
        match rp_id(&origin) {
            Some(id) => {
                let _ = self.rp.set(RelyingParty::new(id, RP_NAME, [origin]));
            }
            None => tracing::warn!(origin, "passkeys off: the origin cannot be a relying party"),
        }
    }

    fn rp(&self) -> Result<RelyingParty, ApiError> {
        self.rp.get().cloned().ok_or_else(unavailable)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Held>>, ApiError> {
        self.held
            .lock()
            .map_err(|_| ApiError::internal("the passkey ceremonies' lock is poisoned"))
    }

    /// Keeps `ceremony` for `user` and `client`; returns its id.
    fn keep(
        &self,
        user: &str,
        client: &str,
        ceremony: PasskeyCeremony,
    ) -> Result<String, ApiError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|_| ApiError::internal("the random source failed"))?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut held = self.lock()?;
        held.retain(|_, h| h.issued.elapsed() <= CEREMONY_TTL);
        let mut mine: Vec<(Instant, String)> = held
            .iter()
            .filter(|(_, h)| h.user == user && h.client == client)
            .map(|(k, h)| (h.issued, k.clone()))
            .collect();
        mine.sort();
        let excess = (mine.len() + 1).saturating_sub(MAX_PER_CLIENT);
        for (_, old) in mine.into_iter().take(excess) {
            held.remove(&old);
        }
        if held.len() >= MAX_CEREMONIES {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_ceremonies",
                "Too many passkey ceremonies in progress. Try again in a minute.",
            )
            .retry_after(60));
        }
        held.insert(
            id.clone(),
            Held {
                user: user.to_owned(),
                client: client.to_owned(),
                issued: Instant::now(),
                ceremony,
            },
        );
        Ok(id)
    }

    /// Takes the ceremony `id` of `user` and `client` (once; an id named by another
    /// client is gone too).
    fn take(&self, id: &str, user: &str, client: &str) -> Result<PasskeyCeremony, ApiError> {
        let held = self.lock()?.remove(id).ok_or_else(unknown_ceremony)?;
        if held.user != user || held.client != client || held.issued.elapsed() > CEREMONY_TTL {
            return Err(unknown_ceremony());
        }
        Ok(held.ceremony)
    }
}

/// A step's body: the ceremony id and the browser's `credential.toJSON()`.
#[derive(Deserialize)]
pub(crate) struct StepBody {
    ceremony: String,
    credential: Value,
    #[serde(default)]
    label: Option<String>,
}

impl StepBody {
    fn credential_bytes(&self) -> Result<Vec<u8>, ApiError> {
        serde_json::to_vec(&self.credential)
            .map_err(|_| ApiError::internal("re-serialising a credential failed"))
    }
}

/// A refusal in a signed-in step: a response that does not verify is a 401
/// `passkey_refused`, not the vault's `unauthenticated` (after which the page would forget
/// a session that is still good).
fn step_error(e: Error) -> ApiError {
    match e {
        Error::Passkey {
            client_fault: true, ..
        } => ApiError::new(StatusCode::UNAUTHORIZED, "passkey_refused", e.to_string()),
        e => e.into(),
    }
}

fn next_step(ceremony: &str, options: Value) -> Json<Value> {
    Json(json!({ "ceremony": ceremony, "publicKey": options }))
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn describe(slot: &SlotInfo) -> Value {
    json!({
        "id": slot.id.as_str(),
        "label": slot.label,
        "created_at_ms": millis(slot.created_at),
        "last_used_at_ms": slot.last_used_at.map(millis),
    })
}

/// `POST /auth/passkeys/register/options`: the creation options for a new passkey of the
/// signed-in user (named by the stored email).
pub(crate) async fn registration_options(
    State(state): State<AppState>,
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
    client: Client,
) -> Result<Json<Value>, ApiError> {
    let rp = state.inner.passkeys.rp()?;
    let (vault, me) = authenticate(&user, token, Scope::Manage).await?;
    let (options, ceremony) = audited(&vault, &client, move |v| {
        let name = v.credentials()?.email().to_owned();
        v.passkey_registration_options(&rp, &name)
    })
    .await?;
    let id = state
        .inner
        .passkeys
        .keep(&user.user, me.id.as_str(), ceremony)?;
    Ok(next_step(&id, options))
}

/// `POST /auth/passkeys/register`: verifies the registration (the PRF extension enabled)
/// and answers the request options that ask its first PRF output.
pub(crate) async fn register(
    State(state): State<AppState>,
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
    client: Client,
    JsonBody(body): JsonBody<StepBody>,
) -> Result<Json<Value>, ApiError> {
    let rp = state.inner.passkeys.rp()?;
    let (vault, me) = authenticate(&user, token, Scope::Manage).await?;
    let ceremony = state
        .inner
        .passkeys
        .take(&body.ceremony, &user.user, me.id.as_str())?;
    let response = body.credential_bytes()?;
    let (options, ceremony) = audited(&vault, &client, move |v| {
        v.passkey_enrolment_options(&rp, ceremony, &response)
    })
    .await
    .map_err(step_error)?;
    let id = state
        .inner
        .passkeys
        .keep(&user.user, me.id.as_str(), ceremony)?;
    Ok(next_step(&id, options))
}

/// `POST /auth/passkeys/enrol`: verifies the assertion and adds the passkey slot under
/// `label`, wrapping the data key under its first PRF output.
pub(crate) async fn enrol(
    State(state): State<AppState>,
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
    client: Client,
    JsonBody(body): JsonBody<StepBody>,
) -> Result<Json<Value>, ApiError> {
    let rp = state.inner.passkeys.rp()?;
    let (vault, me) = authenticate(&user, token, Scope::Manage).await?;
    let label = body.label.as_deref().map(str::trim).unwrap_or_default();
    if label.is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "label_required",
            "A label is required.",
        ));
    }
    let label = label.to_owned();
    let ceremony = state
        .inner
        .passkeys
        .take(&body.ceremony, &user.user, me.id.as_str())?;
    let response = body.credential_bytes()?;
    let slot = audited(&vault, &client, move |v| {
        v.add_passkey(&rp, ceremony, &response, &label)
    })
    .await
    .map_err(step_error)?;
    Ok(Json(json!({ "success": true, "slot": slot.as_str() })))
}

/// `GET /auth/passkeys`: the vault's passkeys, oldest first.
pub(crate) async fn list(
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
) -> Result<Json<Value>, ApiError> {
    let (vault, _) = authenticate(&user, token, Scope::Manage).await?;
    let passkeys: Vec<Value> = vault
        .list_slots()
        .await?
        .iter()
        .filter(|s| s.kind == SlotKind::Passkey)
        .map(describe)
        .collect();
    Ok(Json(json!({ "passkeys": passkeys })))
}

/// `DELETE /auth/passkeys/{id}`: removes a passkey; the data key is rotated and every
/// session but this one ends.
pub(crate) async fn remove(
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
    client: Client,
    params: Result<RawPathParams, RawPathParamsRejection>,
) -> Result<Json<Value>, ApiError> {
    // The raw parameters, not `Path<String>`: a multi-user path names the user too.
    let id = path_param(params, "id")?;
    let (vault, me) = authenticate(&user, token, Scope::Manage).await?;
    let no_such_passkey =
        || ApiError::new(StatusCode::NOT_FOUND, "no_such_passkey", "No such passkey.");
    let slot = SlotId::parse(&id).ok_or_else(no_such_passkey)?;
    let is_passkey = vault
        .list_slots()
        .await?
        .iter()
        .any(|s| s.id == slot && s.kind == SlotKind::Passkey);
    if !is_passkey {
        return Err(no_such_passkey());
    }
    let keep = me.id;
    audited(&vault, &client, move |v| {
        v.remove_slot_keeping(&slot, &keep)
    })
    .await?;
    Ok(Json(json!({ "success": true, "removed": id })))
}

/// `POST /auth/passkeys/unlock/options`: the request options naming the user's passkeys,
/// for a client holding the client cookie. A user without a vault or without a passkey
/// gets the same 404.
pub(crate) async fn unlock_options(
    State(state): State<AppState>,
    user: UserVault,
    client: Client,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let rp = state.inner.passkeys.rp()?;
    let owner = client_id(&state, &headers)?;
    let no_passkey = || {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no_passkey",
            "No passkey opens this vault: unlock with the passphrase.",
        )
    };
    let Some(vault) = user
        .vault
        .filter(|v| v.status() != SessionState::NoCredentials)
    else {
        return Err(no_passkey());
    };
    let (options, ceremony) =
        match audited(&vault, &client, move |v| v.passkey_unlock_options(&rp)).await {
            Ok(answer) => answer,
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NoCredentials) => {
                return Err(no_passkey());
            }
            Err(e) => return Err(e.into()),
        };
    let id = state.inner.passkeys.keep(&user.user, &owner, ceremony)?;
    Ok(next_step(&id, options).into_response())
}

/// `POST /auth/passkeys/unlock`: verifies the assertion, unlocks with the PRF output (the
/// vault's lockout counts a wrong one; the per-address rate limit counts every attempt),
/// and signs the client in as `/auth/unlock` does.
pub(crate) async fn unlock(
    State(state): State<AppState>,
    user: UserVault,
    client: Client,
    headers: HeaderMap,
    JsonBody(body): JsonBody<StepBody>,
) -> Result<Response, ApiError> {
    let owner = client_id(&state, &headers)?;
    rate_limit(&state, &client)?;
    let rp = state.inner.passkeys.rp()?;
    let ceremony = state
        .inner
        .passkeys
        .take(&body.ceremony, &user.user, &owner)?;
    let Some(vault) = user.vault else {
        return Err(unknown_ceremony());
    };
    let response = body.credential_bytes()?;
    audited(&vault, &client, move |v| {
        v.unlock_with_passkey(&rp, ceremony, &response)
    })
    .await?;
    let body = json!({ "success": true, "unlock_success": true,
                       "message": "Unlocked with a passkey." });
    signed_in(&state, &vault, &client, body).await
}

/// The passkey routes, merged into the API's (under `/users/{user}` with `--multi-user`).
pub(crate) fn routes() -> axum::Router<AppState> {
    use axum::routing::{delete, get, post};
    axum::Router::new()
        .route("/auth/passkeys", get(list))
        .route("/auth/passkeys/{id}", delete(remove))
        .route(
            "/auth/passkeys/register/options",
            post(registration_options),
        )
        .route("/auth/passkeys/register", post(register))
        .route("/auth/passkeys/enrol", post(enrol))
        .route("/auth/passkeys/unlock/options", post(unlock_options))
        .route("/auth/passkeys/unlock", post(unlock))
}
