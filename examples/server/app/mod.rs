//! The server's application: its state, its routes and the layers every request goes through.
//!
//! `main.rs` parses the command line and serves [`router`] on a socket; the tests serve the
//! same router on an ephemeral loopback port.

mod auth;
mod client_ids;
mod http;
mod page;
pub(crate) mod passkeys;
pub(crate) mod pending;
mod ratelimit;
mod recovery;
mod security;
pub(crate) mod transport;
pub(crate) mod users;
pub(crate) mod webhook;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use credlock::web::SessionCookie;
use credlock::{Registry, Vault, nonblocking};
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
    /// The per-client-address limit on passphrase attempts (unlock, set-passphrase, login,
    /// recover), counted across every user.
    pub(crate) attempts: RateLimit,
    /// Timeouts and the connection cap.
    pub(crate) limits: Limits,
    /// The origin the browser reaches the server at, for passkeys (see [`passkeys`]).
    pub(crate) origin: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            tls: true,
            pending_ttl: Duration::from_secs(300),
            // Eclosion's limit on its auth endpoints: 5 a minute.
            attempts: RateLimit::new(5, Duration::from_secs(12)),
            limits: Limits::default(),
            origin: None,
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
    vaults: users::Vaults,
    config: Config,
    /// The cookie holding a client's credlock session token.
    session_cookie: SessionCookie,
    /// The cookie holding the client id (see [`client_ids`]).
    client_cookie: SessionCookie,
    pending: pending::PendingLogins,
    finance: Arc<dyn FinanceService>,
    limiter: ratelimit::Limiter,
    client_ids: client_ids::ClientIds,
    passkeys: passkeys::Passkeys,
}

impl AppState {
    /// The state of a server in front of one vault.
    ///
    /// # Errors
    ///
    /// The random source failed (drawing the client-id key).
    pub(crate) fn new(
        vault: impl Into<Arc<Vault>>,
        config: Config,
        finance: Arc<dyn FinanceService>,
    ) -> Result<Self, getrandom::Error> {
        let vault = nonblocking::Vault::new(vault);
        Self::with_vaults(users::Vaults::One(vault), config, finance)
    }

    /// The state of a server in front of a registry's vaults: the user named in the path
    /// (`multi_user`), or always [`users::DEFAULT_USER`].
    ///
    /// # Errors
    ///
    /// The random source failed (drawing the client-id key).
    pub(crate) fn for_registry(
        registry: impl Into<Arc<Registry>>,
        multi_user: bool,
        config: Config,
        finance: Arc<dyn FinanceService>,
    ) -> Result<Self, getrandom::Error> {
        let registry = nonblocking::Registry::new(registry);
        let vaults = users::Vaults::Registry {
            registry,
            multi_user,
        };
        Self::with_vaults(vaults, config, finance)
    }

    fn with_vaults(
        vaults: users::Vaults,
        config: Config,
        finance: Arc<dyn FinanceService>,
    ) -> Result<Self, getrandom::Error> {
        // Over TLS both cookies carry the `__Host-` prefix: browsers then accept them only
        // from this origin, `Secure`, with `Path=/` and no `Domain`.
        let cookie = |name| {
            let cookie = SessionCookie::new(name);
            if config.tls {
                cookie
            } else {
                cookie.loopback_http()
            }
        };
        Ok(Self {
            inner: Arc::new(Inner {
                pending: pending::PendingLogins::new(config.pending_ttl),
                limiter: ratelimit::Limiter::new(config.attempts),
                client_ids: client_ids::ClientIds::new()?,
                passkeys: passkeys::Passkeys::new(config.origin.clone()),
                session_cookie: cookie("credlock_session"),
                client_cookie: cookie("credlock_client"),
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

/// The session cookie, for `credlock::web::SessionFromCookie` in the handlers.
impl FromRef<AppState> for SessionCookie {
    fn from_ref(state: &AppState) -> Self {
        state.inner.session_cookie.clone()
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
        .route("/auth/recovery-key", post(recovery::create))
        .route("/auth/recover", post(recovery::recover))
        .route("/auth/slots", get(recovery::list))
        .route("/auth/slots/{id}", delete(recovery::remove))
        .route("/security/status", get(security::status));
    let api = api.merge(passkeys::routes());
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
        .route("/passkeys.js", get(page::passkeys_script))
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
    let addr = listener.local_addr()?;
    state.inner.passkeys.bind(addr, state.config().tls);
    transport::serve(listener, router(state), limits, shutdown).await
}
