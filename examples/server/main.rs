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
//! - A client is signed in by a session token in an HttpOnly, SameSite=Strict cookie; the
//!   passphrase lives only as long as the request that carried it (as a `SecretString`,
//!   zeroized when dropped; the raw request body that carried it is freed, not zeroized:
//!   best effort, as for all process memory).
//! - Key derivations run on tokio's blocking pool, so `/auth/status` and `/security/status`
//!   answer at once while unlocks run; every passphrase attempt goes through the vault's
//!   lockout, and a per-client-address rate limit sits in front of it.
//! - Security headers on every response, the JSON content type required on state-changing
//!   requests (the CSRF defence), a 16 KiB body limit, JSON errors throughout.
//! - Audit events in the log through `tracing`, and with `--webhook URL
//!   --webhook-secret-file F` security events POSTed as JSON signed with HMAC-SHA256.

mod app;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use credlock::Vault;
use credlock::audit::webhook::WebhookSecret;

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
    /// POST security events to this URL, signed (needs --webhook-secret-file).
    #[arg(long, requires = "webhook_secret_file")]
    webhook: Option<String>,
    /// The file holding the webhook's shared secret (at least 16 bytes).
    #[arg(long, requires = "webhook")]
    webhook_secret_file: Option<PathBuf>,
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
    if args.insecure_http && !args.listen.ip().is_loopback() {
        return Err(format!(
            "--insecure-http is only allowed on a loopback address, not {}",
            args.listen
        ));
    }
    let mut builder = Vault::builder(&args.vault);
    if let (Some(url), Some(file)) = (&args.webhook, &args.webhook_secret_file) {
        let mut bytes = std::fs::read(file)
            .map_err(|e| format!("cannot read the webhook secret {}: {e}", file.display()))?;
        while bytes.last().is_some_and(|b| b.is_ascii_whitespace()) {
            bytes.pop();
        }
        let secret = WebhookSecret::new(bytes).map_err(|e| e.to_string())?;
        builder = builder.audit_to(app::webhook::start(url.clone(), secret));
    }
    let vault = builder
        .open()
        .map_err(|e| format!("cannot open the vault {}: {e}", args.vault.display()))?;
    let config = app::Config {
        tls: !args.insecure_http,
        ..app::Config::default()
    };
    let state = app::AppState::new(Arc::new(vault), config, Arc::new(app::AcceptAll));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    tracing::info!(
        "serving http://{} (vault {})",
        args.listen,
        args.vault.display()
    );
    app::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| format!("server error: {e}"))
}
