//! HTTP plumbing: JSON errors, the JSON body extractor, the client cookie, the client's
//! audit context, and the layers (security headers, the CSRF rule).

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, RawPathParamsRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, RawPathParams, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use credlock::audit::{AuditContext, with_audit_context};
use credlock::web::SessionCookie;
use credlock::{Error, ErrorKind, Vault, nonblocking};
use serde::de::DeserializeOwned;
use serde_json::json;
use tower_http::timeout::TimeoutError;

use super::AppState;

/// An error answered as JSON in credlock's shape, `{"error": CODE, "message": TEXT}`: the
/// vault's own errors through `credlock::web` (status, code, every policy violation,
/// `Retry-After`), and this server's (a missing client cookie, the rate limit, a bad body).
#[derive(Debug)]
pub(crate) enum ApiError {
    Vault(Error),
    Server {
        status: StatusCode,
        code: &'static str,
        message: String,
        retry_after: Option<u64>,
    },
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self::Server {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn retry_after(mut self, secs: u64) -> Self {
        if let Self::Server { retry_after, .. } = &mut self {
            *retry_after = Some(secs);
        }
        self
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

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self::Vault(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message, retry_after) = match self {
            Self::Vault(e) => return e.into_response(),
            Self::Server {
                status,
                code,
                message,
                retry_after,
            } => (status, code, message, retry_after),
        };
        let body = json!({ "error": code, "message": message });
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
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

/// The `Set-Cookie` value that hands `value` (a client id) to the client in `cookie`.
pub(crate) fn set_cookie(cookie: &SessionCookie, value: &str) -> HeaderValue {
    let secure = if cookie.is_secure() { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{}={value}; HttpOnly; SameSite=Strict; Path=/{secure}",
        cookie.name()
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

/// Runs `work` with the vault on the blocking pool (within the vault's bound), the client's
/// audit context attached to the events it records.
pub(crate) async fn audited<T: Send + 'static>(
    vault: &nonblocking::Vault,
    client: &Client,
    work: impl FnOnce(&Vault) -> T + Send + 'static,
) -> T {
    let context = client.audit_context();
    vault
        .run(move |v| with_audit_context(context, || work(v)))
        .await
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
/// into JSON errors; the session cookie cleared on an answer that says it is not valid.
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
    // A token that no longer works: the browser forgets it.
    if response.extensions().get::<ErrorKind>() == Some(&ErrorKind::Unauthenticated) {
        let clear = state.inner.session_cookie.clear();
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
