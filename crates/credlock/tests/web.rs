//! The web glue: an error as a response (status, stable code, every violation, Retry-After,
//! no secret), and the session cookie set, read back, cleared and extracted.

#![allow(clippy::unwrap_used)]
#![cfg(feature = "axum")]

mod common;

use std::time::Duration;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use common::{PASS, secret, stored, temp_vault};
use credlock::secrecy::ExposeSecret as _;
use credlock::sessions::SessionRequest;
use credlock::web::{SessionCookie, SessionFromCookie};
use credlock::{Error, Policy};
use serde_json::Value;

async fn json_of(response: axum::response::Response) -> Value {
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn an_error_answers_with_its_status_code_and_retry_after() {
    rt().block_on(async {
        let r = Error::WrongPassphrase.into_response();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            Error::WrongPassphrase.kind().status_code(),
            StatusCode::UNAUTHORIZED
        );
        assert!(r.headers().get(header::RETRY_AFTER).is_none());
        let body = json_of(r).await;
        assert_eq!(body["error"], "wrong_passphrase");
        assert!(body["message"].as_str().unwrap().contains("wrong"));

        let r = Error::LockedOut {
            retry_after: Duration::from_millis(29_001),
        }
        .into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[header::RETRY_AFTER], "30");
        assert_eq!(json_of(r).await["error"], "locked_out");

        let r = Error::LockedOutUntilCleared { failures: 20 }.into_response();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(
            r.headers().get(header::RETRY_AFTER).is_none(),
            "no wait ends it"
        );
    });
}

#[test]
fn a_refused_passphrase_lists_every_violation_and_never_the_passphrase() {
    let weak = "password1";
    let violations = Policy::default().check(secret(weak)).unwrap_err();
    let n = violations.iter().count();
    assert!(n >= 2);
    let r = Error::from(violations).into_response();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = rt().block_on(json_of(r));
    assert_eq!(body["error"], "policy_rejected");
    let listed = body["violations"].as_array().unwrap();
    assert_eq!(listed.len(), n);
    assert!(
        listed
            .iter()
            .all(|v| v["code"].is_string() && v["message"].is_string())
    );
    assert!(!body.to_string().contains(weak));
}

#[derive(Clone)]
struct AppState {
    cookie: SessionCookie,
}

impl FromRef<AppState> for SessionCookie {
    fn from_ref(state: &AppState) -> Self {
        state.cookie.clone()
    }
}

#[test]
fn the_session_cookie_is_host_prefixed_and_read_back_by_the_extractor() {
    let (_dir, path) = temp_vault();
    let vault = stored(&path);
    vault.unlock(&secret(PASS)).unwrap();
    let minted = vault
        .mint_session(SessionRequest::client("browser"))
        .unwrap();

    let cookie = SessionCookie::new("session");
    assert!(cookie.is_secure());
    let set = cookie.set(&minted.token, Some(Duration::from_secs(3600)));
    assert!(set.is_sensitive());
    let text = set.to_str().unwrap();
    assert!(text.starts_with("__Host-session=clk_"), "{text}");
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Secure",
        "Max-Age=3600",
    ] {
        assert!(text.contains(attribute), "{attribute} in {text}");
    }
    assert!(!text.contains("Domain"));

    // The browser sends it back among others; the extractor finds it.
    let value = text.split(';').next().unwrap();
    let request = Request::builder()
        .header(header::COOKIE, format!("theme=dark; {value}"))
        .body(())
        .unwrap();
    let (mut parts, ()) = request.into_parts();
    let state = AppState {
        cookie: cookie.clone(),
    };
    let SessionFromCookie(token) = rt()
        .block_on(SessionFromCookie::from_request_parts(&mut parts, &state))
        .unwrap();
    assert_eq!(token.expose_secret(), minted.token.expose_secret());
    assert!(
        vault
            .validate_session(token.expose_secret(), credlock::sessions::Scope::Totp)
            .is_ok()
    );

    // Without it, the handler is not called: 401.
    let (mut parts, ()) = Request::builder().body(()).unwrap().into_parts();
    let rejected = rt()
        .block_on(SessionFromCookie::from_request_parts(&mut parts, &state))
        .unwrap_err();
    assert_eq!(rejected.into_response().status(), StatusCode::UNAUTHORIZED);

    // Cleared, and the loopback form for plain HTTP.
    assert!(cookie.clear().to_str().unwrap().contains("Max-Age=0"));
    let dev = SessionCookie::new("session").loopback_http();
    assert_eq!(dev.name(), "session");
    assert!(!dev.is_secure());
    assert!(
        !dev.set(&minted.token, None)
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    // A name that is not a cookie token is not used as one.
    assert_eq!(
        SessionCookie::new("a=b; Domain=evil").name(),
        "__Host-session"
    );
}

#[test]
fn a_server_error_keeps_the_server_s_paths_to_itself_and_a_layer_sees_the_kind() {
    rt().block_on(async {
        let r = Error::VaultMissing {
            path: Some("/srv/private/alice/vault.json".into()),
        }
        .into_response();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            r.extensions().get::<credlock::ErrorKind>(),
            Some(&Error::VaultMissing { path: None }.kind())
        );
        let body = json_of(r).await;
        assert_eq!(body["error"], "storage_not_found");
        assert_eq!(body["message"], credlock::web::SERVER_ERROR_MESSAGE);

        let e = Error::CorruptVault {
            reason: "bad header",
        };
        let kind = e.kind();
        let r = e.into_response();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.extensions().get::<credlock::ErrorKind>(), Some(&kind));
        let body = json_of(r).await;
        assert_eq!(body["error"], "invalid_vault");
        assert_eq!(body["message"], credlock::web::SERVER_ERROR_MESSAGE);

        let r = Error::InvalidToken.into_response();
        assert_eq!(
            r.extensions().get::<credlock::ErrorKind>(),
            Some(&credlock::ErrorKind::Unauthenticated)
        );
    });
}
