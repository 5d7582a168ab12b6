//! The web glue every HTTP app writes by hand (feature `axum`): [`Error`] as a response, and
//! the session cookie.
//!
//! - `Error` implements [`IntoResponse`]: the status of [`ErrorKind::http_status`], a JSON body
//!   `{"error": CODE, "message": TEXT}` with the stable [`ErrorKind::code`] (and, for a
//!   passphrase the policy refuses, `"violations": [{"code", "message"}, …]`, every unmet rule),
//!   and `Retry-After` while locked out. Messages never hold a secret (see [`Error`]); a
//!   storage error or a 5xx answer says only [`SERVER_ERROR_MESSAGE`] (the error itself is
//!   logged through `tracing`), since a storage error may name a path on the server. The response carries
//!   the [`ErrorKind`] as an extension, for a layer that branches on it (clearing a session
//!   cookie on [`ErrorKind::Unauthenticated`], say).
//! - [`SessionCookie`] names, sets, clears and reads the cookie that holds a client's
//!   [`SessionToken`]: `__Host-` prefixed, `HttpOnly`, `SameSite=Strict`, `Path=/` and `Secure`,
//!   unless the app says it serves plain HTTP on loopback
//!   ([`SessionCookie::loopback_http`]), where browsers drop `Secure` cookies and the
//!   prefix. [`SessionFromCookie`] extracts it in a handler.
//!
//! ```
//! use axum::response::IntoResponse;
//! use credlock::web::SessionCookie;
//! use credlock::Error;
//!
//! let response = Error::WrongPassphrase.into_response();
//! assert_eq!(response.status(), 401);
//!
//! let cookie = SessionCookie::new("session");
//! assert_eq!(cookie.name(), "__Host-session");
//! let cleared = cookie.clear();
//! assert!(cleared.to_str()?.contains("Max-Age=0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use credlock_client_sessions::SessionToken;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::error::{Error, ErrorKind};

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let kind = self.kind();
        let status = kind.status_code();
        // A storage error's message may name a path on the server: for it and for every
        // server-side failure the client gets a fixed sentence, the log the error.
        let message = if status.is_server_error() || matches!(kind, ErrorKind::Storage(_)) {
            tracing::error!(target: "credlock::web", error = %self, code = kind.code(), "answered with a server error");
            SERVER_ERROR_MESSAGE.to_owned()
        } else {
            self.to_string()
        };
        let mut body = json!({ "error": kind.code(), "message": message });
        if let (Self::Policy(violations), Value::Object(map)) = (&self, &mut body) {
            let list: Vec<Value> = violations
                .iter()
                .map(|v| json!({ "code": v.code(), "message": v.to_string() }))
                .collect();
            map.insert("violations".to_owned(), Value::Array(list));
        }
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(kind);
        response
    }
}

/// The message of an answer to a storage error or with a 5xx status (the error itself goes
/// to the log, through `tracing`, target `credlock::web`).
pub const SERVER_ERROR_MESSAGE: &str = "the server could not do this; see its log";

/// The cookie that carries a client's session token. Cheap to clone; keep one in the app's
/// state (`FromRef`) for [`SessionFromCookie`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCookie {
    name: String,
    secure: bool,
}

/// The longest cookie name kept (RFC 6265 sets no limit; browsers cap a cookie at 4 KiB).
const MAX_NAME: usize = 64;

impl SessionCookie {
    /// The cookie `__Host-NAME`: `Secure`, `HttpOnly`, `SameSite=Strict`, `Path=/`, no
    /// `Domain` (so no other host or path can set or shadow it). A `name` that is not a
    /// cookie token (letters, digits, `-` and `_`, up to 64) becomes `session`.
    #[must_use]
    pub fn new(name: &str) -> Self {
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let name = if valid { name } else { "session" };
        Self {
            name: format!("__Host-{name}"),
            secure: true,
        }
    }

    /// The same cookie for plain HTTP on loopback (development): without `Secure`, which a
    /// browser refuses over HTTP, and so without the `__Host-` prefix, which requires it.
    #[must_use]
    pub fn loopback_http(mut self) -> Self {
        if let Some(bare) = self.name.strip_prefix("__Host-") {
            self.name = bare.to_owned();
        }
        self.secure = false;
        self
    }

    /// The cookie's name as sent.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether the cookie is `Secure` (and `__Host-` prefixed).
    #[must_use]
    pub const fn is_secure(&self) -> bool {
        self.secure
    }

    fn attributes(&self) -> &'static str {
        if self.secure {
            "; HttpOnly; SameSite=Strict; Path=/; Secure"
        } else {
            "; HttpOnly; SameSite=Strict; Path=/"
        }
    }

    /// The `Set-Cookie` value that hands `token` to the client, kept for `max_age` (a
    /// session cookie, gone with the browser, when `None`). The value is a secret: do not
    /// log it.
    #[must_use]
    pub fn set(&self, token: &SessionToken, max_age: Option<Duration>) -> HeaderValue {
        let age = max_age.map_or_else(String::new, |a| format!("; Max-Age={}", a.as_secs()));
        let text = format!(
            "{}={}{}{age}",
            self.name,
            token.expose_secret(),
            self.attributes()
        );
        let mut value =
            HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""));
        value.set_sensitive(true);
        value
    }

    /// The `Set-Cookie` value that deletes the cookie.
    #[must_use]
    pub fn clear(&self) -> HeaderValue {
        HeaderValue::from_str(&format!("{}={}; Max-Age=0", self.name, self.attributes()))
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The token the request's cookie carries, if any (not checked: validate it with the
    /// vault).
    #[must_use]
    pub fn read(&self, headers: &HeaderMap) -> Option<SecretString> {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == self.name)
            .map(|(_, v)| SecretString::from(v.trim().to_owned()))
    }
}

/// The session token of the request's [`SessionCookie`], extracted in a handler whose state
/// gives the cookie (`SessionCookie: FromRef<S>`). Without the cookie the handler is not
/// called: the answer is [`Error::InvalidToken`] as a response (401).
#[derive(Debug)]
#[allow(
    clippy::exhaustive_structs,
    reason = "an extractor is destructured in a handler's arguments: its one field is the point"
)]
pub struct SessionFromCookie(pub SecretString);

impl<S> FromRequestParts<S> for SessionFromCookie
where
    SessionCookie: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
        SessionCookie::from_ref(state)
            .read(&parts.headers)
            .map(Self)
            .ok_or(Error::InvalidToken)
    }
}

impl ErrorKind {
    /// [`ErrorKind::http_status`] as an `axum` status code.
    #[must_use]
    pub fn status_code(self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}
