//! A server on an ephemeral loopback port, and a client that keeps its cookies.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use credlock::audit::AuditSink;
use credlock::{DerivationStage, FakeClock, LockoutPolicy, Vault};
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::Value;

use crate::app;

pub const PASS: &str = "Tangerine-Rocket-42!";
pub const EMAIL: &str = "alice@example.com";

/// The load test measures latency: it runs alone, while the other tests of this binary
/// (a browser among them) wait; they run side by side otherwise.
static MEASURING: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Taken by every test but the load test.
pub async fn shared() -> tokio::sync::RwLockReadGuard<'static, ()> {
    MEASURING.read().await
}

/// Taken by the load test.
pub async fn alone() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    MEASURING.write().await
}

/// How a test server is set up.
pub struct Setup {
    /// `None`: the real 480,000 iterations.
    pub iterations: Option<u32>,
    pub lockout: LockoutPolicy,
    pub attempts: app::RateLimit,
    pub tls: bool,
    pub finance: Arc<dyn app::FinanceService>,
    /// Audit sinks besides `tracing`.
    pub audit_to: Vec<Arc<dyn AuditSink>>,
    /// Every clock of the vault from this fake clock (instead of the system's, with the
    /// settable offset of [`Server::clock_offset`]).
    pub clock: Option<FakeClock>,
    pub limits: app::Limits,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            iterations: Some(1_000),
            lockout: LockoutPolicy::new(3, Duration::from_secs(30), Duration::from_secs(60))
                .unwrap(),
            attempts: app::RateLimit::new(1_000, Duration::from_millis(1)),
            tls: false,
            finance: Arc::new(app::AcceptAll),
            audit_to: Vec::new(),
            clock: None,
            limits: app::Limits::default(),
        }
    }
}

/// A running server.
pub struct Server {
    pub base: String,
    pub vault: Arc<Vault>,
    pub path: std::path::PathBuf,
    /// Key derivations started since the server started.
    pub derivations: Arc<AtomicUsize>,
    /// Seconds added to the vault's wall clock (to let a lockout run out without waiting).
    pub clock_offset: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

pub async fn start(setup: Setup) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    let derivations = Arc::new(AtomicUsize::new(0));
    let clock_offset = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&derivations);
    let offset = Arc::clone(&clock_offset);
    let mut builder = Vault::builder(&path)
        .lockout(setup.lockout)
        .on_key_derivation(move |e| {
            if e.stage == DerivationStage::Started {
                counter.fetch_add(1, Ordering::SeqCst);
            }
        })
        .insecure_wall_clock(move || {
            SystemTime::now() + Duration::from_secs(offset.load(Ordering::SeqCst))
        });
    if let Some(iterations) = setup.iterations {
        builder = builder.insecure_kdf_iterations(iterations);
    }
    for sink in setup.audit_to {
        builder = builder.audit_to(sink);
    }
    if let Some(clock) = setup.clock {
        builder = builder.insecure_clock(clock);
    }
    let vault = Arc::new(builder.open().unwrap());
    let config = app::Config {
        tls: setup.tls,
        attempts: setup.attempts,
        limits: setup.limits,
        ..app::Config::default()
    };
    let state = app::AppState::new(Arc::clone(&vault), config, setup.finance).unwrap();
    let (base, stop) = serve(state);
    Server {
        base,
        vault,
        path,
        derivations,
        clock_offset,
        _dir: dir,
        stop: Some(stop),
    }
}

/// Serves `state` on an ephemeral loopback port, on a runtime of its own (as it would run in
/// its own process: the test's clients do not share its worker threads). Returns the base
/// URL and the sender that stops it.
pub fn serve(state: app::AppState) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            app::serve(listener, state, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    });
    (base, stop)
}

/// A client with its own cookies, as one browser would have.
#[derive(Clone)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub cookies: HashMap<String, String>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A 4xx with credlock's JSON error shape, `{"error": CODE, "message": TEXT}`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.json["error"], code, "{self:?}");
        assert!(self.json["message"].as_str().is_some_and(|e| !e.is_empty()));
        assert_eq!(self.header("content-type"), Some("application/json"));
        assert_security_headers(&self.headers);
    }
}

#[track_caller]
pub fn assert_security_headers(headers: &HeaderMap) {
    let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    assert!(
        get("content-security-policy").is_some_and(|v| v.starts_with("default-src 'self'")),
        "{headers:?}"
    );
    assert_eq!(get("x-frame-options"), Some("DENY"));
    assert_eq!(get("x-content-type-options"), Some("nosniff"));
    assert_eq!(get("referrer-policy"), Some("no-referrer"));
}

impl Client {
    pub fn new(server: &Server) -> Self {
        Self::at(&server.base)
    }

    /// A client of the server at `base`.
    pub fn at(base: &str) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.to_owned(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = if self.cookies.is_empty() {
            request
        } else {
            request.header("cookie", self.cookie_header())
        };
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        for set in headers.get_all(SET_COOKIE) {
            let set = set.to_str().unwrap();
            let (pair, attributes) = set.split_once(';').unwrap_or((set, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attributes.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let bytes = response.bytes().await.unwrap();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Answer {
            status,
            headers,
            json,
        }
    }

    pub async fn get(&mut self, path: &str) -> Answer {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Answer {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        self.send(request).await
    }

    pub async fn delete(&mut self, path: &str) -> Answer {
        let request = self
            .http
            .delete(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        self.send(request).await
    }

    /// A client that loaded the page: it holds its client cookie.
    pub async fn arrived(server: &Server) -> Self {
        let mut client = Self::new(server);
        let a = client.get("/auth/status").await;
        assert_eq!(a.status, 200);
        assert!(client.cookies.contains_key("credlock_client"));
        client
    }

    /// Logs in and sets the passphrase: the vault holds credentials, unlocked, and this
    /// client is signed in.
    pub async fn enrolled(server: &Server) -> Self {
        let mut client = Self::arrived(server).await;
        let a = client
            .post(
                "/auth/login",
                serde_json::json!({ "email": EMAIL, "password": "monarch-pw-123",
                                    "mfa_secret": "JBSWY3DPEHPK3PXP" }),
            )
            .await;
        assert_eq!(a.status, 200, "{a:?}");
        let a = client
            .post(
                "/auth/set-passphrase",
                serde_json::json!({ "passphrase": PASS }),
            )
            .await;
        assert_eq!(a.status, 200, "{a:?}");
        assert!(client.cookies.contains_key("credlock_session"));
        client
    }
}
