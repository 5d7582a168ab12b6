//! The server's application: its state, its routes and the layers every request goes through.
//!
//! `main.rs` parses the command line and serves [`router`] on a socket; the tests serve the
//! same router on an ephemeral loopback port.

mod auth;
mod client_ids;
mod clients;
mod http;
mod page;
pub(crate) mod pending;
mod ratelimit;
pub(crate) mod registry;
mod security;
pub(crate) mod transport;
pub(crate) mod users;
pub(crate) mod webhook;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use credlock::Vault;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

pub(crate) use pending::{AcceptAll, FinanceService};
pub(crate) use ratelimit::RateLimit;
pub(crate) use transport::Limits;

/// The largest request body accepted, in bytes.
pub(crate) const BODY_LIMIT: usize = 16 * 1024;

/// What the server is configured with.
#[derive(Debug)]
pub(crate) struct Config {
    /// Mark cookies `Secure` and send HSTS: the server is reached over TLS (through a
    /// TLS-terminating proxy). Off only with `--insecure-http` on loopback.
    pub(crate) tls: bool,
    /// How long credentials checked by `/auth/login` wait for `/auth/set-passphrase`.
    pub(crate) pending_ttl: Duration,
    /// The per-client-address limit on passphrase attempts (unlock, set-passphrase, login),
    /// counted across every user.
    pub(crate) attempts: RateLimit,
    /// Timeouts and the connection cap.
    pub(crate) limits: Limits,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tls: true,
            pending_ttl: Duration::from_secs(300),
            // Eclosion's limit on its auth endpoints: 5 a minute.
            attempts: RateLimit::new(5, Duration::from_secs(12)),
            limits: Limits::default(),
        }
    }
}

/// The shared state of every handler.
#[derive(Clone, Debug)]
pub(crate) struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    vaults: Arc<dyn users::Vaults>,
    config: Config,
    pending: pending::PendingLogins,
    finance: Arc<dyn FinanceService>,
    limiter: ratelimit::Limiter,
    client_ids: client_ids::ClientIds,
}

impl AppState {
    /// The state of a server in front of one vault.
    ///
    /// # Errors
    ///
    /// The random source failed (drawing the client-id key).
    pub(crate) fn new(
        vault: Arc<Vault>,
        config: Config,
        finance: Arc<dyn FinanceService>,
    ) -> Result<Self, getrandom::Error> {
        Self::with_vaults(Arc::new(users::OneVault(vault)), config, finance)
    }

    /// The state of a server in front of `vaults`.
    ///
    /// # Errors
    ///
    /// The random source failed (drawing the client-id key).
    pub(crate) fn with_vaults(
        vaults: Arc<dyn users::Vaults>,
        config: Config,
        finance: Arc<dyn FinanceService>,
    ) -> Result<Self, getrandom::Error> {
        Ok(Self {
            inner: Arc::new(Inner {
                pending: pending::PendingLogins::new(config.pending_ttl),
                limiter: ratelimit::Limiter::new(config.attempts),
                client_ids: client_ids::ClientIds::new()?,
                vaults,
                config,
                finance,
            }),
        })
    }

    fn config(&self) -> &Config {
        &self.inner.config
    }
}

/// Every route, with the layers: security headers on every response (and JSON for the
/// answers the layers make), the request and request-body timeouts, the CSRF rule (JSON
/// content type) on state-changing requests, the body limit.
pub(crate) fn router(state: AppState) -> Router {
    let limits = state.config().limits;
    let api = Router::new()
        .route("/auth/status", get(auth::status))
        .route("/auth/login", post(auth::login))
        .route("/auth/set-passphrase", post(auth::set_passphrase))
        .route("/auth/unlock", post(auth::unlock))
        .route("/auth/lock", post(auth::lock))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/sessions", get(auth::sessions).post(auth::new_token))
        .route("/auth/sessions/{id}", delete(auth::revoke_session))
        .route("/auth/totp", get(auth::totp))
        .route("/security/status", get(security::status));
    let api = if state.inner.vaults.multi_user() {
        // The page and its script take the user from the page's own path.
        Router::new()
            .route("/users/{user}/", get(page::index))
            .nest("/users/{user}", api)
    } else {
        Router::new().route("/", get(page::index)).merge(api)
    };
    Router::new()
        .route("/app.js", get(page::script))
        .route("/app.css", get(page::style))
        .merge(api)
        .fallback(http::not_found)
        .layer(axum::middleware::from_fn(http::require_json_for_changes))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyTimeoutLayer::new(limits.body_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http::security_headers,
        ))
        .with_state(state)
}

/// Serves the router on `listener` until `shutdown` resolves, within the configured
/// timeouts and connection cap ([`transport`]), with each client's address available to
/// the handlers (the rate limit and the audit context use it).
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = state.config().limits;
    transport::serve(listener, router(state), limits, shutdown).await
}
