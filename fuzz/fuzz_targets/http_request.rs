//! The HTTP server example's request handling: sequences of arbitrary requests (method, path,
//! headers, cookies, body) through the server's whole router, against a single-user server
//! over a vault with stored credentials or a multi-user one over a registry.
//!
//! Every answer must be a well-formed one: never a 500, every security header present, a
//! JSON error body that parses, and neither the passphrase nor the stored password echoed.
//! The stored credentials survive unless a signed-in client logged out. A recovery key an
//! answer shows is used by later requests (`/auth/recover`), so recovery, its replacement key
//! and the keyslots are reached too.
#![no_main]

#[allow(dead_code, unused_imports)]
#[path = "../../examples/server/app/mod.rs"]
mod app;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::Arbitrary;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use credlock::registry::{MemoryStoreSet, UserId};
use credlock::secrecy::SecretString;
use credlock::{Credentials, Registry, SessionState, ValidPassphrase, Vault, VaultBuilder};
use libfuzzer_sys::fuzz_target;
use tower::ServiceExt as _;

const PASS: &str = "Tangerine-Rocket-42!";
const PASSWORD: &str = "Stored-Password-Sentinel-9";
const EMAIL: &str = "alice@example.com";

const PATHS: [&str; 26] = [
    "/",
    "/app.js",
    "/app.css",
    "/auth/status",
    "/auth/login",
    "/auth/set-passphrase",
    "/auth/unlock",
    "/auth/lock",
    "/auth/logout",
    "/auth/sessions",
    "/auth/sessions/",
    "/auth/totp",
    "/auth/recovery-key",
    "/auth/recover",
    "/auth/slots",
    "/auth/slots/",
    "/auth/passkeys",
    "/auth/passkeys/",
    "/auth/passkeys/register/options",
    "/auth/passkeys/register",
    "/auth/passkeys/enrol",
    "/auth/passkeys/unlock/options",
    "/auth/passkeys/unlock",
    "/passkeys.js",
    "/security/status",
    "/users/",
];

#[derive(Arbitrary, Debug)]
enum PathPart {
    Known(u8),
    Text(String),
}

#[derive(Arbitrary, Debug)]
enum BodyPart {
    Empty,
    Raw(Vec<u8>),
    /// `{"passphrase": ...}`: the right one, or some text.
    Passphrase(Option<String>),
    Login {
        email: String,
        password: String,
        mfa_secret: Option<String>,
        mfa_mode: Option<String>,
    },
    Token {
        label: Option<String>,
        scopes: Vec<String>,
    },
    /// `{"recovery_key": ..., "passphrase": ...}`: the last recovery key an answer showed (or
    /// some text), and a new passphrase (or the right one).
    Recover {
        key: Option<String>,
        passphrase: Option<String>,
    },
    Json(String),
}

#[derive(Arbitrary, Debug)]
struct Req {
    method: u8,
    other_method: String,
    user: Option<String>,
    path: PathPart,
    suffix: Option<String>,
    json: bool,
    content_type: Option<String>,
    /// Send the cookies the server set so far.
    cookies: bool,
    extra_cookie: Option<String>,
    bearer: Option<String>,
    headers: Vec<(String, Vec<u8>)>,
    body: BodyPart,
    addr: [u8; 4],
}

#[derive(Arbitrary, Debug)]
struct Input {
    multi_user: bool,
    tls: bool,
    requests: Vec<Req>,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    })
}

fn credentials() -> Credentials {
    Credentials::new(EMAIL, SecretString::from(PASSWORD))
}

fn config(tls: bool) -> app::Config {
    app::Config {
        tls,
        pending_ttl: Duration::from_secs(300),
        attempts: app::RateLimit::new(1_000, Duration::from_millis(1)),
        limits: app::Limits::default(),
        // The passkey endpoints answer (an origin is known), so their parsing is fuzzed too.
        origin: Some("http://localhost:8080".into()),
    }
}

/// A single-user server over a vault holding credentials, or a multi-user one whose user
/// `alice` has credentials.
fn server(input: &Input) -> Option<(axum::Router, Arc<Vault>)> {
    let options = |b: VaultBuilder| b.insecure_kdf_iterations(1);
    if input.multi_user {
        let registry = Registry::builder(MemoryStoreSet::new())
            .vault_options(options)
            .open()
            .ok()?;
        let alice = registry.vault(&UserId::new("alice").ok()?).ok()?;
        alice
            .store(
                credentials(),
                ValidPassphrase::insecure_unchecked(SecretString::from(PASS)),
            )
            .ok()?;
        let state = app::AppState::for_registry(
            registry,
            true,
            config(input.tls),
            Arc::new(app::AcceptAll),
        )
        .ok()?;
        Some((app::router(state), alice))
    } else {
        let vault = Arc::new(
            options(VaultBuilder::with_store(credlock::MemoryStore::new()))
                .open()
                .ok()?,
        );
        vault
            .store(
                credentials(),
                ValidPassphrase::insecure_unchecked(SecretString::from(PASS)),
            )
            .ok()?;
        let state = app::AppState::new(
            Arc::clone(&vault),
            config(input.tls),
            Arc::new(app::AcceptAll),
        )
        .ok()?;
        Some((app::router(state), vault))
    }
}

fn body_of(part: &BodyPart, shown_key: Option<&str>) -> Vec<u8> {
    match part {
        BodyPart::Empty => Vec::new(),
        BodyPart::Raw(bytes) => bytes.clone(),
        BodyPart::Passphrase(p) => {
            serde_json::json!({ "passphrase": p.as_deref().unwrap_or(PASS) })
                .to_string()
                .into_bytes()
        }
        BodyPart::Login {
            email,
            password,
            mfa_secret,
            mfa_mode,
        } => serde_json::json!({
            "email": email, "password": password, "mfa_secret": mfa_secret, "mfa_mode": mfa_mode,
        })
        .to_string()
        .into_bytes(),
        BodyPart::Token { label, scopes } => {
            serde_json::json!({ "label": label, "scopes": scopes })
                .to_string()
                .into_bytes()
        }
        BodyPart::Recover { key, passphrase } => serde_json::json!({
            "recovery_key": key.as_deref().or(shown_key).unwrap_or_default(),
            "passphrase": passphrase.as_deref().unwrap_or(PASS),
        })
        .to_string()
        .into_bytes(),
        BodyPart::Json(text) => text.clone().into_bytes(),
    }
}

fn request(
    req: &Req,
    multi_user: bool,
    jar: &[(String, String)],
    shown_key: Option<&str>,
) -> Option<Request<Body>> {
    let method = match req.method % 7 {
        0 => Method::GET,
        1 => Method::POST,
        2 => Method::DELETE,
        3 => Method::HEAD,
        4 => Method::OPTIONS,
        5 => Method::PUT,
        _ => Method::from_bytes(req.other_method.as_bytes()).ok()?,
    };
    let mut path = String::new();
    if multi_user {
        path.push_str("/users/");
        path.push_str(req.user.as_deref().unwrap_or("alice"));
    }
    match &req.path {
        PathPart::Known(i) => path.push_str(PATHS[usize::from(*i) % PATHS.len()]),
        PathPart::Text(text) => path.push_str(text),
    }
    if let Some(suffix) = &req.suffix {
        path.push_str(suffix);
    }
    let mut builder = Request::builder().method(method).uri(path);
    if req.json {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    if let Some(ct) = &req.content_type {
        builder = builder.header(header::CONTENT_TYPE, ct.as_str());
    }
    let mut cookies: Vec<String> = Vec::new();
    if req.cookies {
        cookies.extend(jar.iter().map(|(k, v)| format!("{k}={v}")));
    }
    if let Some(extra) = &req.extra_cookie {
        cookies.push(extra.clone());
    }
    if !cookies.is_empty() {
        builder = builder.header(header::COOKIE, cookies.join("; "));
    }
    if let Some(bearer) = &req.bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
    }
    for (name, value) in req.headers.iter().take(8) {
        builder = builder.header(name.as_str(), value.as_slice());
    }
    let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::from(req.addr)), 40_000);
    builder = builder.extension(ConnectInfo(addr));
    builder.body(Body::from(body_of(&req.body, shown_key))).ok()
}

/// Keeps the cookies a response sets (and forgets the ones it clears).
fn remember_cookies(headers: &axum::http::HeaderMap, jar: &mut Vec<(String, String)>) {
    for value in headers.get_all(header::SET_COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        let Some((name, rest)) = text.split_once('=') else {
            continue;
        };
        let value = rest.split(';').next().unwrap_or("").to_owned();
        jar.retain(|(k, _)| k != name);
        if !value.is_empty() && !text.contains("Max-Age=0") {
            jar.push((name.to_owned(), value));
        }
    }
}

fuzz_target!(|input: Input| {
    let Some((router, vault)) = server(&input) else {
        return;
    };
    let mut jar: Vec<(String, String)> = Vec::new();
    let mut logged_out = false;
    // The last recovery key an answer showed (`/auth/recovery-key`, `/auth/recover`).
    let mut shown_key: Option<String> = None;
    for req in input.requests.iter().take(12) {
        let Some(request) = request(req, input.multi_user, &jar, shown_key.as_deref()) else {
            continue;
        };
        // A HEAD answer has the headers of a GET and no body.
        let head = request.method() == Method::HEAD;
        let is_logout =
            request.method() == Method::POST && request.uri().path().ends_with("/auth/logout");
        let (parts, bytes) = runtime().block_on(async {
            let response = router
                .clone()
                .oneshot(request)
                .await
                .expect("the router is infallible");
            let (parts, body) = response.into_parts();
            let bytes = axum::body::to_bytes(body, 1 << 20)
                .await
                .expect("a response body");
            (parts, bytes)
        });
        assert_ne!(
            parts.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{req:?}: {bytes:?}"
        );
        for name in [
            header::CONTENT_SECURITY_POLICY,
            header::X_FRAME_OPTIONS,
            header::X_CONTENT_TYPE_OPTIONS,
            header::REFERRER_POLICY,
            header::CACHE_CONTROL,
        ] {
            assert!(parts.headers.contains_key(&name), "{name} missing: {req:?}");
        }
        assert_eq!(
            parts
                .headers
                .contains_key(header::STRICT_TRANSPORT_SECURITY),
            input.tls
        );
        let is_json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
        if head {
            assert!(bytes.is_empty(), "a HEAD answer with a body: {req:?}");
        } else if is_json {
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).expect("a JSON answer parses");
            if !parts.status.is_success() {
                assert!(value["error"].is_string(), "{value}");
                assert!(value["message"].is_string(), "{value}");
            }
            if let Some(key) = value["recovery_key"].as_str() {
                assert!(
                    parts.status.is_success(),
                    "a recovery key in a refusal: {value}"
                );
                shown_key = Some(key.to_owned());
            }
        } else {
            assert!(
                parts.status.is_success(),
                "a non-JSON error: {} {req:?}",
                parts.status
            );
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(PASS), "the passphrase echoed: {req:?}");
        assert!(
            !text.contains(PASSWORD),
            "the stored password echoed: {req:?}"
        );
        if is_logout && parts.status.is_success() {
            logged_out = true;
        }
        remember_cookies(&parts.headers, &mut jar);
    }
    if !logged_out {
        assert_ne!(
            vault.status(),
            SessionState::NoCredentials,
            "credentials lost"
        );
    }
});
