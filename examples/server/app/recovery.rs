//! Recovery keys and the vault's keyslots: `POST /auth/recovery-key` (a signed-in client
//! adds one, shown once), `POST /auth/recover` (a forgotten passphrase: the recovery key and
//! a new passphrase sign the client in, and the replacement key is shown once),
//! `GET /auth/slots` and `DELETE /auth/slots/{id}` (the ways into the vault; removing a
//! recovery key rotates the data key and keeps the caller signed in).
//!
//! A recovery key is tested as a passphrase is: the per-address rate limit, then the vault's
//! one gate and lockout (a wrong key is counted, 401; a text that is not a recovery key at all
//! is refused before, 400, uncounted). A key is in an answer once, never in the log.

use axum::Json;
use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{RawPathParams, State};
use axum::http::StatusCode;
use axum::http::header::HeaderMap;
use axum::response::Response;
use credlock::secrecy::{ExposeSecret as _, SecretString};
use credlock::sessions::Scope;
use credlock::web::SessionFromCookie;
use credlock::{Error, ErrorKind, Policy, RecoveryKey, SlotId, SlotInfo};
use serde::Deserialize;
use serde_json::{Value, json};

use super::AppState;
use super::auth::{authenticate, client_id, rate_limit, signed_in};
use super::http::{ApiError, Client, JsonBody, audited, path_param};
use super::users::UserVault;

/// The label of a recovery key made without one.
const DEFAULT_LABEL: &str = "recovery key";

/// What the page says beside a key it shows.
const SHOWN_ONCE: &str = "Write this recovery key down now and keep it somewhere safe: \
                          it is shown only this once, and it opens your vault if you forget \
                          your passphrase.";

#[derive(Deserialize)]
pub(crate) struct RecoveryKeyBody {
    #[serde(default)]
    label: Option<String>,
}

/// `POST /auth/recovery-key`: a signed-in client (scope `manage`) adds a recovery key; the
/// answer holds it, once.
pub(crate) async fn create(
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
    client: Client,
    JsonBody(body): JsonBody<RecoveryKeyBody>,
) -> Result<Json<Value>, ApiError> {
    let (vault, _) = authenticate(&user, token, Scope::Manage).await?;
    let label = body
        .label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or(DEFAULT_LABEL)
        .to_owned();
    let key = audited(&vault, &client, move |v| v.add_recovery_key(&label)).await?;
    Ok(Json(json!({
        "success": true,
        "recovery_key": key.display().expose_secret(),
        "shown_once": true,
        "message": SHOWN_ONCE,
    })))
}

#[derive(Deserialize)]
pub(crate) struct RecoverBody {
    recovery_key: SecretString,
    passphrase: SecretString,
}

/// `POST /auth/recover`: the recovery key and a new passphrase (every unmet rule listed at
/// once) set the new passphrase, sign the client in (every other session ends: the data key
/// rotates) and answer the replacement key, once. A user without stored credentials gets a
/// wrong key's answer.
pub(crate) async fn recover(
    State(state): State<AppState>,
    user: UserVault,
    client: Client,
    headers: HeaderMap,
    JsonBody(body): JsonBody<RecoverBody>,
) -> Result<Response, ApiError> {
    client_id(&state, &headers)?;
    rate_limit(&state, &client)?;
    if body.recovery_key.expose_secret().trim().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "recovery_key_required",
            "A recovery key is required.",
        ));
    }
    if body.passphrase.expose_secret().is_empty() {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "passphrase_required",
            "A new passphrase is required.",
        ));
    }
    // A text that is no recovery key is answered the same for every user, before anything
    // is counted.
    RecoveryKey::parse(body.recovery_key.expose_secret())?;
    // The rules that need no email, for every user alike; the vault checks the new
    // passphrase against the stored email as well before it writes anything.
    let valid = match &user.vault {
        Some(vault) => vault.check_passphrase(body.passphrase, ""),
        None => Policy::default().check(body.passphrase),
    }
    .map_err(Error::from)?;
    let Some(vault) = user.vault else {
        return Err(Error::WrongPassphrase.into());
    };
    let recovery_key = body.recovery_key;
    let next = match audited(&vault, &client, move |v| v.recover(&recovery_key, valid)).await {
        Err(e) if e.kind() == ErrorKind::NoCredentials => {
            return Err(Error::WrongPassphrase.into());
        }
        result => result?,
    };
    let answer = json!({
        "success": true,
        "recovery_key": next.display().expose_secret(),
        "shown_once": true,
        "message": format!(
            "Passphrase changed and signed in. The recovery key you used no longer works. \
             {SHOWN_ONCE}"
        ),
    });
    signed_in(&state, &vault, &client, answer).await
}

/// Seconds since the Unix epoch.
fn unix_secs(at: std::time::SystemTime) -> Option<u64> {
    at.duration_since(std::time::UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs())
}

fn slot_json(slot: &SlotInfo) -> Value {
    json!({
        "id": slot.id.as_str(),
        "kind": slot.kind.as_str(),
        "label": slot.label,
        "created_at": unix_secs(slot.created_at),
        "last_used_at": slot.last_used_at.and_then(unix_secs),
    })
}

/// `GET /auth/slots`: the ways into the vault (never a secret): kind, label, when made and
/// last used (seconds since the Unix epoch).
pub(crate) async fn list(
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
) -> Result<Json<Value>, ApiError> {
    let (vault, _) = authenticate(&user, token, Scope::Manage).await?;
    let slots: Vec<Value> = vault.list_slots().await?.iter().map(slot_json).collect();
    Ok(Json(json!({ "slots": slots })))
}

/// `DELETE /auth/slots/{id}`: removes a recovery key or secret slot (the passphrase's cannot
/// be): the data key rotates and every other session ends; the caller's survives.
pub(crate) async fn remove(
    SessionFromCookie(token): SessionFromCookie,
    user: UserVault,
    client: Client,
    params: Result<RawPathParams, RawPathParamsRejection>,
) -> Result<Json<Value>, ApiError> {
    // The raw parameters, not `Path<String>`: a multi-user path names the user too.
    let id = path_param(params, "id")?;
    let (vault, me) = authenticate(&user, token, Scope::Manage).await?;
    let slot = SlotId::parse(&id).ok_or(Error::SlotNotFound)?;
    audited(&vault, &client, move |v| {
        v.remove_slot_keeping(&slot, &me.id)
    })
    .await?;
    Ok(Json(json!({ "success": true, "removed": id })))
}
