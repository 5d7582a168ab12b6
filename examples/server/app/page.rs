//! The single page at `/`: plain HTML, a small script and a style sheet, all served from
//! this origin (no framework, no CDN), so the page works under `default-src 'self'`.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::auth::ensure_client_cookie;

const INDEX: &str = include_str!("../static/index.html");
const SCRIPT: &str = include_str!("../static/app.js");
const PASSKEYS_SCRIPT: &str = include_str!("../static/passkeys.js");
const STYLE: &str = include_str!("../static/app.css");

fn typed(content_type: &'static str, body: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// The page; it also gives the browser its client cookie.
pub(crate) async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let mut response = typed("text/html; charset=utf-8", INDEX);
    ensure_client_cookie(&state, &headers, &mut response);
    response
}

pub(crate) async fn script() -> Response {
    typed("text/javascript; charset=utf-8", SCRIPT)
}

pub(crate) async fn passkeys_script() -> Response {
    typed("text/javascript; charset=utf-8", PASSKEYS_SCRIPT)
}

pub(crate) async fn style() -> Response {
    typed("text/css; charset=utf-8", STYLE)
}
