//! An HTTP server with Eclosion's endpoints in front of a credlock vault, and a single page
//! that drives them.
//!
//! Run it with
//! `cargo run --example server -- --listen 127.0.0.1:8080 --vault vault.json --insecure-http`
//! and open <http://127.0.0.1:8080/>. Without `--insecure-http` the session cookie is
//! `Secure` and HSTS is sent: the server then expects to be reached over TLS, through a
//! TLS-terminating proxy.
//!
//! What it shows:
//! - Eclosion's `/auth/login`, `/auth/set-passphrase`, `/auth/unlock`, `/auth/lock`,
//!   `/auth/logout`, `/auth/status`, `/security/status`, with its JSON shapes; and
//!   `/auth/sessions`, `DELETE /auth/sessions/{id}`, `/auth/totp`.
//! - Unlock with a passkey (`/auth/passkeys/*`, `app/passkeys.rs`): the WebAuthn PRF
//!   extension opens a keyslot of the vault; open the page at `http://localhost:PORT`
//!   (an IP address cannot be a passkey's relying party), or give `--origin`.
//! - A client is signed in by a session token in an HttpOnly, SameSite=Strict cookie; the
//!   passphrase lives only as long as the request that carried it (as a `SecretString`,
//!   zeroized when dropped; the raw request body that carried it is freed, not zeroized:
//!   best effort, as for all process memory).
//! - The vaults through `credlock::nonblocking` (key derivations and storage on tokio's
//!   blocking pool, behind a bound), so `/auth/status` and `/security/status` answer at once
//!   while unlocks run; their errors answered by `credlock::web` (`{"error": CODE,
//!   "message": TEXT}`, the status of the error's kind, `Retry-After` while locked out).
//!   Every passphrase attempt goes through the vault's lockout, and a per-client-address
//!   rate limit sits in front of it.
//! - Security headers on every response, the JSON content type required on state-changing
//!   requests (the CSRF defence), a 16 KiB body limit, JSON errors throughout.
//! - Audit events in the log through `tracing`, and with `--webhook URL
//!   --webhook-secret-file F` security events POSTed as JSON signed with HMAC-SHA256
//!   (Standard Webhooks, an event id in each signature; redirects are not followed). With
//!   `--audit-hash-key-file F`, the vault, client, user-agent and session fields of every
//!   event (in the log and the webhook) are HMAC-SHA256 under that key; `--audit-hash-of
//!   VALUE` prints the string a known value is logged as, for an investigator to search for.
//! - With `--store files:DIR|sqlite:DIR|postgres:CONNINFO` and `--multi-user`, many users'
//!   vaults from a credlock `Registry`, each user under `/users/{id}/`; a request naming a
//!   user without a vault opens and keeps nothing.
//! - With `--key-provider SPEC` (`file:`, `systemd:`, `keyring:`, `pkcs11:`), every vault's
//!   passphrase slot also needs the provider's key (a pepper no vault file or database
//!   holds), each call behind a deadline; `/security/status` names it. A spec that does not
//!   open stops the server at start.
//! - Recovery keys (`/auth/recovery-key`, shown once; `/auth/recover` when the passphrase is
//!   forgotten), the vault's keyslots (`/auth/slots`), and a second device signing in beside
//!   the first (`/auth/unlock` on an unlocked vault proves the passphrase and adds a session).
//! - Timeouts on reading a request head (and on an idle keep-alive connection), on a whole
//!   request and on a stalled request body, and a cap on open connections
//!   (`--max-connections`, kept below the open-file limit) where silent and slow clients
//!   give way to new ones, the one silent the longest first (`app/transport.rs`).

mod app;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use credlock::audit::webhook::WebhookSecret;
use credlock::audit::{AuditSink, HashingKey, HashingSink, TracingSink, hash_value};
use credlock::keyprovider::{self, KeyProvider, WithTimeout};
use credlock::registry::{FileStoreSet, PostgresStoreSet, RegistryBuilder, SqliteStoreSet};
use credlock::{Registry, Vault, VaultBuilder};

/// Eclosion's credential endpoints in front of a credlock vault (a credlock example).
#[derive(Debug, Parser)]
#[command(name = "server")]
struct Args {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The vault file.
    #[arg(long, default_value = "vault.json")]
    vault: PathBuf,
    /// Serve plain HTTP: cookies without `Secure`, no HSTS. Only on a loopback address.
    #[arg(long)]
    insecure_http: bool,
    /// The origin browsers reach the server at (`https://vault.example.com`), which makes
    /// its host the passkeys' relying party. Default with --insecure-http:
    /// `http://localhost:PORT`; without either, no passkeys.
    #[arg(long, value_name = "URL")]
    origin: Option<String>,
    /// POST security events to this URL, signed (needs --webhook-secret-file).
    #[arg(long, requires = "webhook_secret_file")]
    webhook: Option<String>,
    /// The file holding the webhook's shared secret (at least 16 bytes).
    #[arg(long, requires = "webhook")]
    webhook_secret_file: Option<PathBuf>,
    /// Keep users' vaults in a store of many (a credlock registry) instead of --vault:
    /// `files:DIR`, `sqlite:DIR` or `postgres:CONNINFO` (libpq key=value or a URL).
    #[arg(long, value_name = "KIND:WHERE")]
    store: Option<String>,
    /// Serve many users, each under `/users/{id}/` (the page too), from --store (default
    /// `files:vaults`). Without it, a --store serves the one user `default`.
    #[arg(long)]
    multi_user: bool,
    /// Replace the vault, client address, user agent and session fields of every audit event
    /// (log and webhook) by their HMAC-SHA256 under the key in this file (at least 32 bytes;
    /// trailing whitespace is ignored). Keep the file outside the log, as long as the log.
    #[arg(long, value_name = "FILE")]
    audit_hash_key_file: Option<PathBuf>,
    /// Print how VALUE (a user id, a client address) appears in an audit log hashed with
    /// --audit-hash-key-file, and exit: the string to search the log for.
    #[arg(long, value_name = "VALUE", requires = "audit_hash_key_file")]
    audit_hash_of: Option<String>,
    /// The most connections open at once (lowered to fit the open-file limit). At the cap,
    /// a new connection takes the place of the oldest one that is answering no request.
    #[arg(long, default_value_t = app::Limits::default().max_connections)]
    max_connections: usize,
    /// A key provider every passphrase slot also needs (a pepper the vault files never
    /// hold): `file:/ABSOLUTE/PATH`, `systemd:CREDENTIAL`, `keyring:SERVICE/USER` or
    /// `pkcs11:module=…;token=…;key=…;pin-env=VAR`. Each call has a deadline (2 s).
    #[arg(long, value_name = "SPEC")]
    key_provider: Option<String>,
}

/// The key provider named by `--key-provider`, behind a deadline.
fn key_provider(spec: &str) -> Result<Arc<dyn KeyProvider>, String> {
    let failed = |e: &dyn std::fmt::Display| format!("--key-provider: {e}");
    let parsed = keyprovider::parse_spec(spec).map_err(|e| failed(&e))?;
    let provider = credlock_keyprovider_pkcs11::open(&parsed).map_err(|e| failed(&e))?;
    let provider = WithTimeout::new(provider).map_err(|e| failed(&e))?;
    Ok(Arc::new(provider))
}

/// The contents of a secret file, trailing whitespace (a final newline) removed.
fn read_secret(file: &std::path::Path, what: &str) -> Result<Vec<u8>, String> {
    let mut bytes = std::fs::read(file)
        .map_err(|e| format!("cannot read the {what} {}: {e}", file.display()))?;
    while bytes.last().is_some_and(|b| b.is_ascii_whitespace()) {
        bytes.pop();
    }
    Ok(bytes)
}

/// The audit sinks of every vault: the log (`tracing`) and the webhook, each behind a
/// [`HashingSink`] with a hashing key; whether the vault's own `tracing` sink is replaced.
fn audit_sinks(
    webhook: Option<app::webhook::WebhookSink>,
    hash_key: Option<&[u8]>,
) -> Result<(Vec<Arc<dyn AuditSink>>, bool), String> {
    let key = |bytes: &[u8]| HashingKey::new(bytes.to_vec()).map_err(|e| e.to_string());
    let mut sinks: Vec<Arc<dyn AuditSink>> = Vec::new();
    match hash_key {
        Some(bytes) => {
            sinks.push(Arc::new(HashingSink::new(TracingSink::new(), key(bytes)?)));
            if let Some(hook) = webhook {
                sinks.push(Arc::new(HashingSink::new(hook, key(bytes)?)));
            }
            Ok((sinks, true))
        }
        None => {
            if let Some(hook) = webhook {
                sinks.push(Arc::new(hook));
            }
            Ok((sinks, false))
        }
    }
}

/// What every vault is opened with besides its store: the idle sweeper (an idle vault locks
/// at its deadline, not at the next request), the key provider, the audit sinks.
struct VaultOptions {
    sinks: Vec<Arc<dyn AuditSink>>,
    /// Whether the vault's own `tracing` sink is replaced (by a hashing one in `sinks`).
    replace_tracing: bool,
    provider: Option<Arc<dyn KeyProvider>>,
}

impl VaultOptions {
    fn apply(&self, builder: VaultBuilder) -> VaultBuilder {
        let builder = builder.idle_sweeper();
        let builder = match &self.provider {
            Some(provider) => builder.key_provider(Arc::clone(provider)),
            None => builder,
        };
        let builder = if self.replace_tracing {
            builder.without_tracing_audit()
        } else {
            builder
        };
        self.sinks
            .iter()
            .fold(builder, |b, sink| b.audit_to(Arc::clone(sink)))
    }
}

/// A registry over the store set named by `--store`.
fn registry(spec: &str) -> Result<RegistryBuilder, String> {
    let (kind, place) = spec.split_once(':').ok_or_else(|| {
        format!("--store {spec:?}: expected files:DIR, sqlite:DIR or postgres:CONNINFO")
    })?;
    let failed = |e: &dyn std::fmt::Display| format!("cannot open the {kind} store: {e}");
    Ok(match kind {
        "files" => Registry::builder(FileStoreSet::open(place).map_err(|e| failed(&e))?),
        "sqlite" => Registry::builder(SqliteStoreSet::open(place).map_err(|e| failed(&e))?),
        "postgres" => {
            let config = place.parse().map_err(|e| failed(&e))?;
            Registry::builder(
                PostgresStoreSet::builder(config)
                    .open()
                    .map_err(|e| failed(&e))?,
            )
        }
        other => {
            return Err(format!(
                "--store: unknown kind {other:?} (files, sqlite, postgres)"
            ));
        }
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_target(true)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let hash_key = match &args.audit_hash_key_file {
        Some(file) => Some(read_secret(file, "audit hashing key")?),
        None => None,
    };
    if let (Some(value), Some(bytes)) = (&args.audit_hash_of, &hash_key) {
        let key = HashingKey::new(bytes.clone()).map_err(|e| e.to_string())?;
        print_hash(&hash_value(&key, value));
        return Ok(());
    }
    if args.insecure_http && !args.listen.ip().is_loopback() {
        return Err(format!(
            "--insecure-http is only allowed on a loopback address, not {}",
            args.listen
        ));
    }
    if let Some(origin) = &args.origin
        && app::passkeys::rp_id(origin).is_none()
    {
        return Err(format!(
            "--origin {origin:?}: expected https://HOST[:PORT] (or http://localhost:PORT)"
        ));
    }
    let webhook = match (&args.webhook, &args.webhook_secret_file) {
        (Some(url), Some(file)) => {
            let secret = WebhookSecret::new(read_secret(file, "webhook secret")?)
                .map_err(|e| e.to_string())?;
            Some(app::webhook::start(url.clone(), secret))
        }
        _ => None,
    };
    let (sinks, replace_tracing) = audit_sinks(webhook, hash_key.as_deref())?;
    // Opened before anything listens: a spec that does not open stops the server here.
    // Opening one blocks (a PKCS#11 module loads, logs in): on the blocking pool.
    let provider = match args.key_provider.clone() {
        Some(spec) => {
            let provider = tokio::task::spawn_blocking(move || key_provider(&spec))
                .await
                .map_err(|e| format!("opening the key provider failed: {e}"))??;
            tracing::info!(key_provider = %provider.identity(), "key provider opened");
            Some(provider)
        }
        None => None,
    };
    let options = VaultOptions {
        sinks,
        replace_tracing,
        provider,
    };
    let (limits, lowered) = app::Limits {
        max_connections: args.max_connections,
        ..app::Limits::default()
    }
    .fit();
    if let Some(asked) = lowered {
        tracing::warn!(
            asked,
            max_connections = limits.max_connections,
            "--max-connections lowered to fit the open-file limit"
        );
    }
    let config = app::Config {
        tls: !args.insecure_http,
        limits,
        origin: args.origin.clone(),
        ..app::Config::default()
    };
    let finance = Arc::new(app::AcceptAll);
    let store = match (&args.store, args.multi_user) {
        (Some(spec), _) => Some(spec.clone()),
        (None, true) => Some("files:vaults".to_owned()),
        (None, false) => None,
    };
    let state = if let Some(spec) = store {
        // Many vaults: a registry over the store set, each vault with the same options.
        // Opening a database store blocks (PostgreSQL's client runs a runtime of its own):
        // on the blocking pool.
        let opened = spec.clone();
        let registry = tokio::task::spawn_blocking(move || {
            registry(&opened)?
                .vault_options(move |builder| options.apply(builder))
                .open()
                .map_err(|e| format!("cannot open the registry: {e}"))
        })
        .await
        .map_err(|e| format!("opening the registry failed: {e}"))??;
        tracing::info!(
            "vaults in {spec}, {}",
            if args.multi_user {
                "one per user under /users/{id}/"
            } else {
                "the one user `default`"
            }
        );
        app::AppState::for_registry(registry, args.multi_user, config, finance)
    } else {
        let vault = options
            .apply(Vault::builder(&args.vault))
            .open()
            .map_err(|e| format!("cannot open the vault {}: {e}", args.vault.display()))?;
        app::AppState::new(vault, config, finance)
    }
    .map_err(|e| format!("the random source failed: {e}"))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!("serving http://{}", args.listen);
    app::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| format!("server error: {e}"))
}

/// Prints the hashed form of a value, for `--audit-hash-of`.
#[allow(clippy::print_stdout, reason = "the hash is the command's output")]
fn print_hash(hashed: &str) {
    println!("{hashed}");
}
