//! The `server` binary itself, as a user runs it: its defaults (the real KDF cost), its
//! refusal of plain HTTP off loopback, and its audit events in the log.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{self, Client, EMAIL, PASS};

/// `target/<profile>/examples/server`, built by `cargo test` beside this test.
fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps")
        .join("examples")
        .join("server");
    assert!(
        bin.is_file(),
        "{} is missing: `cargo test` builds the examples unless a single test target is \
         selected; run `cargo build --example server` first",
        bin.display()
    );
    bin
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn plain_http_is_refused_off_loopback() {
    let out = Command::new(server_binary())
        .args(["--listen", "0.0.0.0:0", "--insecure-http"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("only allowed on a loopback address"), "{log}");
}

/// Starts the binary with `args` on a free loopback port; returns it and its base URL once
/// it answers.
async fn spawn(args: &[&std::ffi::OsStr]) -> (Running, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Running(
        Command::new(server_binary())
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--insecure-http")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    // Bounded wait for the listener.
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(format!("{base}/app.js")).await.is_err() {
        if child.0.try_wait().unwrap().is_some() {
            let mut log = String::new();
            let _ = child.0.stdout.take().unwrap().read_to_string(&mut log);
            panic!("the server exited:\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "the server did not start in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (child, base)
}

#[tokio::test]
async fn the_binary_serves_many_users_from_an_sqlite_store() {
    let _turn = common::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("db").display());
    let (_child, base) =
        spawn(&["--multi-user".as_ref(), "--store".as_ref(), store.as_ref()]).await;
    let mut client = Client::at(&base);
    let page = client.get("/users/alice/").await;
    assert_eq!(page.status, 200);
    assert_eq!(client.get("/").await.status, 404, "no single-user root");
    enrol_alice(&mut client).await;
    let s = client.get("/users/alice/security/status").await;
    assert_eq!(s.json["kdf_iterations"], 480_000);
    assert_eq!(s.json["report"]["state"], "unlocked");
    let s = client.get("/users/bob/auth/status").await;
    assert_eq!(s.json["has_stored_credentials"], false);
    assert!(dir.path().join("db").join("credlock.sqlite3").is_file());
}

#[tokio::test]
async fn the_binary_serves_users_from_postgresql() {
    use credlock_store_postgres::postgres::config::Host;
    use credlock_store_postgres::testing::TestServer;

    let _turn = common::shared().await;
    // Prints that it skips without PostgreSQL; fails instead when CREDLOCK_REQUIRE_PG=1.
    let Some(pg) = tokio::task::spawn_blocking(TestServer::shared)
        .await
        .unwrap()
    else {
        return;
    };
    let server = std::sync::Arc::clone(&pg);
    let config = tokio::task::spawn_blocking(move || server.database())
        .await
        .unwrap();
    let Some(Host::Unix(socket_dir)) = config.get_hosts().first() else {
        panic!("the test server listens on a Unix socket");
    };
    let conninfo = format!(
        "postgres:host={} user={} dbname={}",
        socket_dir.display(),
        config.get_user().unwrap(),
        config.get_dbname().unwrap()
    );
    let (_child, base) = spawn(&[
        "--multi-user".as_ref(),
        "--store".as_ref(),
        conninfo.as_ref(),
    ])
    .await;
    let mut client = Client::at(&base);
    client.get("/users/alice/auth/status").await;
    enrol_alice(&mut client).await;
    assert_eq!(
        client
            .post("/users/alice/auth/lock", json!({}))
            .await
            .status,
        200
    );
    let a = client
        .post(
            "/users/alice/auth/unlock",
            json!({ "passphrase": "Wrong-Guess-0000!" }),
        )
        .await;
    assert_eq!(a.status, 401);
    let s = client.get("/users/alice/security/status").await;
    assert_eq!(s.status, 200, "{s:?}");
    assert_eq!(s.json["report"]["failed_attempts"], 1);
    assert_eq!(s.json["report"]["state"], "locked");
    let a = client
        .post("/users/alice/auth/unlock", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
}

#[tokio::test]
async fn the_binary_serves_with_the_real_kdf_cost_and_logs_audit_events() {
    let _turn = common::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.json");
    let (mut child, base) = spawn(&["--vault".as_ref(), vault.as_os_str()]).await;
    let mut client = Client::at(&base);
    client.get("/auth/status").await;
    let a = client
        .post(
            "/auth/login",
            json!({ "email": EMAIL, "password": "monarch-pw-123" }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = client
        .post("/auth/set-passphrase", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let s = client.get("/security/status").await;
    assert_eq!(
        s.json["kdf_iterations"], 480_000,
        "the real cost by default"
    );
    assert_eq!(s.json["report"]["insecure_kdf_allowed"], false);
    assert_eq!(s.json["file_permissions"], "0600");
    assert_eq!(client.post("/auth/lock", json!({})).await.status, 200);
    let a = client
        .post("/auth/unlock", json!({ "passphrase": "Wrong-Guess-0000!" }))
        .await;
    assert_eq!(a.status, 401);

    let _ = child.0.kill();
    let mut log = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    for kind in ["vault_created", "locked", "passphrase_rejected"] {
        assert!(
            log.contains("credlock::audit") && log.contains(kind),
            "no {kind} audit event in the log:\n{log}"
        );
    }
    assert!(!log.contains(PASS) && !log.contains("Wrong-Guess"), "{log}");
}

/// Logs alice in to the finance service and sets her passphrase: her vault is created.
async fn enrol_alice(client: &mut Client) {
    let a = client
        .post(
            "/users/alice/auth/login",
            json!({ "email": EMAIL, "password": "monarch-pw-123" }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = client
        .post(
            "/users/alice/auth/set-passphrase",
            json!({ "passphrase": PASS }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
}
