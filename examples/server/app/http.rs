//! HTTP plumbing: JSON errors, the JSON body extractor, cookies, and the layers (security
//! headers, the CSRF rule).

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, RawPathParamsRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use credlock::audit::AuditContext;
use credlock::{Error, ErrorKind, StorageKind};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tower_http::timeout::TimeoutError;

use super::AppState;

/// The name of the cookie that identifies a browser before it has a session (it binds the
/// login pending slot to this client; see [`super::client_ids`]). Over TLS it carries the
/// `__Host-` prefix: browsers then accept it only from this origin, `Secure`, with
/// `Path=/` and no `Domain`, so a neighbouring subdomain cannot plant one.
pub(crate) const fn client_cookie(tls: bool) -> &'static str {
    if tls {
        "__Host-credlock_client"
    } else {
        "credlock_client"
    }
}

/// The name of the cookie holding the client's credlock session token (`__Host-` over
/// TLS, as [`client_cookie`]).
pub(crate) const fn session_cookie(tls: bool) -> &'static str {
    if tls {
        "__Host-credlock_session"
    } else {
        "credlock_session"
    }
}

/// Marks a response whose session cookie must be cleared ([`security_headers`] does it,
/// under the cookie's name for this server).
#[derive(Clone, Copy, Debug)]
struct ClearSession;

/// An error answered as JSON: `{"success": false, "error": message, "code": code, ...}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    retry_after: Option<u64>,
    extra: Option<Value>,
    clear_session: bool,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
            extra: None,
            clear_session: false,
        }
    }

    /// Extra fields merged into the JSON object.
    pub(crate) fn with(mut self, extra: Value) -> Self {
        self.extra = Some(extra);
        self
    }

    pub(crate) fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// Also clears the session cookie (a token that no longer works).
    pub(crate) fn clearing_session(mut self) -> Self {
        self.clear_session = true;
        self
    }

    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Not signed in: unlock first.",
        )
    }

    pub(crate) fn internal(what: &str) -> Self {
        tracing::error!(what, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error.",
        )
    }
}

/// The HTTP answer to a vault error. Messages are fixed texts: a vault error may name a
/// path on the server, which a client has no business seeing.
impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        match e.kind() {
            ErrorKind::WrongPassphrase => Self::new(
                StatusCode::UNAUTHORIZED,
                "wrong_passphrase",
                "Invalid passphrase.",
            )
            .with(json!({ "unlock_success": false })),
            ErrorKind::LockedOut => match e.retry_after_secs() {
                Some(secs) => Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "locked_out",
                    format!(
                        "Too many failed attempts. Try again in {} minutes.",
                        secs / 60 + 1
                    ),
                )
                .with(json!({ "locked_out": true, "retry_after": secs }))
                .retry_after(secs),
                None => Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "locked_out",
                    "Too many failed attempts: an administrator must clear the lockout.",
                )
                .with(json!({ "locked_out": true, "retry_after": null })),
            },
            ErrorKind::Locked => Self::new(
                StatusCode::LOCKED,
                "locked",
                "The credentials are locked: unlock them first.",
            ),
            ErrorKind::Unauthenticated => Self::unauthenticated().clearing_session(),
            ErrorKind::Forbidden => Self::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "This session is not allowed to do that.",
            ),
            ErrorKind::InvalidCredentials => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_mfa_secret",
                "The MFA secret is not a usable TOTP secret (base32, as the service shows it).",
            ),
            ErrorKind::NoCredentials if matches!(e, Error::NoMfaSecret) => Self::new(
                StatusCode::NOT_FOUND,
                "no_mfa_secret",
                "The stored credentials have no MFA secret.",
            ),
            ErrorKind::NoCredentials => Self::new(
                StatusCode::NOT_FOUND,
                "no_credentials",
                "No stored credentials found.",
            ),
            ErrorKind::Conflict => match e {
                Error::AlreadyUnlocked => Self::new(
                    StatusCode::CONFLICT,
                    "already_unlocked",
                    "The credentials are already unlocked by another session.",
                ),
                Error::VaultExists { .. } => Self::new(
                    StatusCode::CONFLICT,
                    "credentials_exist",
                    "Credentials are already stored: unlock them, or log out first.",
                ),
                _ => Self::new(
                    StatusCode::CONFLICT,
                    "conflict",
                    "The credentials changed meanwhile: try again.",
                ),
            },
            ErrorKind::PolicyRejected => match e {
                Error::Policy(violations) => policy_failure(&violations),
                _ => Self::internal("policy"),
            },
            ErrorKind::Storage(StorageKind::Busy) | ErrorKind::Overloaded => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "The credentials store is busy: try again.",
            ),
            kind => {
                tracing::error!(error = %e, ?kind, "vault operation failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "The credentials store failed; see the server log.",
                )
            }
        }
    }
}

/// Eclosion's answer to a passphrase that misses rules: every rule at once, as messages
/// (`requirements`) and as codes with messages (`violations`).
pub(crate) fn policy_failure(violations: &credlock::PolicyViolations) -> ApiError {
    let messages: Vec<String> = violations.iter().map(ToString::to_string).collect();
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "policy",
        "Passphrase does not meet requirements",
    )
    .with(json!({ "requirements": messages, "violations": violations }))
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "success": false,
            "error": self.message,
            "code": self.code,
        });
        if let (Some(Value::Object(extra)), Value::Object(map)) = (self.extra, &mut body) {
            map.extend(extra);
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if self.clear_session {
            response.extensions_mut().insert(ClearSession);
        }
        response
    }
}

/// A JSON request body whose rejections are JSON errors too, and never echo the input
/// (a parse error could quote a passphrase).
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(match rejection {
                JsonRejection::MissingJsonContentType(_) => unsupported_media_type(),
                JsonRejection::JsonSyntaxError(_) => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "malformed_json",
                    "The request body is not valid JSON.",
                ),
                JsonRejection::JsonDataError(_) => ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_body",
                    "The JSON body does not have the expected fields.",
                ),
                other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
                other if caused_by_body_timeout(&other) => body_timeout(),
                _ => ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "The request body could not be read.",
                ),
            }),
        }
    }
}

/// Whether `error` comes from a request body that stalled past the body timeout.
fn caused_by_body_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if e.is::<TimeoutError>() {
            return true;
        }
        cause = e.source();
    }
    false
}

fn body_timeout() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "body_timeout",
        "The request body stalled: send it without pausing.",
    )
}

fn unsupported_media_type() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "json_required",
        "State-changing requests must send Content-Type: application/json.",
    )
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "The request body is larger than {} KiB.",
            super::BODY_LIMIT / 1024
        ),
    )
}

/// The value of cookie `name`, if the request carries it.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, Path=/, and Secure over TLS.
pub(crate) fn set_cookie(name: &str, value: &str, tls: bool) -> HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A `Set-Cookie` value that deletes the cookie.
pub(crate) fn clear_cookie(name: &str, tls: bool) -> HeaderValue {
    let secure = if tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Who is asking: the client's address and user agent, for the rate limit and the audit
/// trail.
#[derive(Clone, Debug)]
pub(crate) struct Client {
    pub(crate) addr: SocketAddr,
    pub(crate) user_agent: Option<String>,
}

impl Client {
    pub(crate) fn audit_context(&self) -> AuditContext {
        let context = AuditContext::new().client(self.addr.ip().to_string());
        match &self.user_agent {
            Some(ua) => context.user_agent(ua.clone()),
            None => context,
        }
    }

    /// A label for the client's session: its user agent, or its address.
    pub(crate) fn label(&self) -> String {
        self.user_agent
            .clone()
            .unwrap_or_else(|| format!("client at {}", self.addr.ip()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let ConnectInfo(addr) = ConnectInfo::<SocketAddr>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::internal("no client address"))?;
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect());
        Ok(Self { addr, user_agent })
    }
}

/// Runs blocking vault work (a key derivation, a file write) on tokio's blocking pool, with
/// the client's audit context attached, so async handlers stay free.
pub(crate) async fn blocking<T: Send + 'static>(
    client: &Client,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let context = client.audit_context();
    tokio::task::spawn_blocking(move || credlock::audit::with_audit_context(context, f))
        .await
        .map_err(|_| ApiError::internal("a blocking task panicked"))
}

/// The CSRF rule: a state-changing request (anything but GET, HEAD, OPTIONS) must say
/// `Content-Type: application/json`. A cross-site form cannot send that without a CORS
/// preflight this server never grants; the SameSite=Strict cookies are the second line.
pub(crate) async fn require_json_for_changes(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !is_json(request.headers()) {
        return unsupported_media_type().into_response();
    }
    next.run(request).await
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Security headers on every response; the answers the layers and the router make
/// themselves (a body over the limit, a method not allowed, a request timed out) turned
/// into JSON errors; the session cookie cleared where an error asked for it.
pub(crate) async fn security_headers(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !is_json {
        let replacement = match response.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Some(too_large()),
            StatusCode::METHOD_NOT_ALLOWED => Some(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This endpoint does not take that method.",
            )),
            StatusCode::REQUEST_TIMEOUT => Some(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "The request took too long to answer.",
            )),
            _ => None,
        };
        if let Some(error) = replacement {
            // The `Allow` header of a 405 stays.
            let allow = response.headers().get(header::ALLOW).cloned();
            response = error.into_response();
            if let Some(allow) = allow {
                response.headers_mut().insert(header::ALLOW, allow);
            }
        }
    }
    if response.extensions().get::<ClearSession>().is_some() {
        let clear = clear_cookie(session_cookie(state.config().tls), state.config().tls);
        response.headers_mut().append(header::SET_COOKIE, clear);
    }
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name, value| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::CACHE_CONTROL, "no-store");
    if state.config().tls {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        );
    }
    response
}

/// Unknown paths: a JSON 404.
pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such endpoint.")
}

/// The path parameter `name`, as a JSON error when the path does not decode (a `%FF`) or
/// has no such parameter.
pub(crate) fn path_param(
    params: Result<RawPathParams, RawPathParamsRejection>,
    name: &str,
) -> Result<String, ApiError> {
    let params = params.map_err(|_| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_path",
            "The path is not valid UTF-8 once decoded.",
        )
    })?;
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("The path names no {name}."),
            )
        })
}
