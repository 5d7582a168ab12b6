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
    spawn_with(Command::new(server_binary()), args).await
}

/// [`spawn`], the binary run by `command` (the binary itself, or a wrapper given the
/// binary's path).
async fn spawn_with(mut command: Command, args: &[&std::ffi::OsStr]) -> (Running, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Running(
        command
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
    assert_eq!(
        s.json,
        json!({ "authenticated": false, "state": "signed_out" })
    );
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
    assert_eq!(s.json["authenticated"], false);
    assert!(s.json.get("report").is_none(), "not signed in: {s:?}");
    let a = client
        .post("/users/alice/auth/unlock", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let s = client.get("/users/alice/security/status").await;
    assert_eq!(s.json["report"]["state"], "unlocked", "{s:?}");
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_256_file_descriptors_300_silent_connections_do_not_keep_a_client_out() {
    let _alone = common::alone().await;
    let prlimit = Path::new("/usr/bin/prlimit");
    assert!(
        prlimit.is_file(),
        "this test runs the server with `prlimit --nofile=256` (util-linux)"
    );
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.json");
    let mut command = Command::new(prlimit);
    command.arg("--nofile=256:256").arg(server_binary());
    let (mut child, base) = spawn_with(command, &["--vault".as_ref(), vault.as_os_str()]).await;
    let to = base.trim_start_matches("http://").to_owned();
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(tokio::net::TcpStream::connect(&to).await.unwrap());
    }
    let mut latencies = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let r = http
            .get(format!("{base}/auth/status"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.unwrap();
        latencies.push(started.elapsed());
    }
    let worst = latencies.iter().max().copied().unwrap();
    eprintln!(
        "256 file descriptors, 300 silent connections: 5 requests on new connections answered \
         in {latencies:.1?} (worst {worst:.1?})"
    );
    assert!(worst < Duration::from_secs(1), "{latencies:?}");
    drop(silent);
    let _ = child.0.kill();
    let mut log = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    // 256 less the 64 kept for everything else.
    assert!(
        log.contains("lowered to fit the open-file limit") && log.contains("192"),
        "{log}"
    );
}

#[tokio::test]
async fn with_a_hashing_key_the_log_names_no_user_or_client_and_an_investigator_finds_them() {
    let _turn = common::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("audit-hash.key");
    std::fs::write(&key, "0123456789abcdef0123456789abcdef-audit\n").unwrap();
    let store = format!("sqlite:{}", dir.path().join("db").display());
    let (mut child, base) = spawn(&[
        "--multi-user".as_ref(),
        "--store".as_ref(),
        store.as_ref(),
        "--audit-hash-key-file".as_ref(),
        key.as_os_str(),
    ])
    .await;
    let mut client = Client::at(&base);
    client.get("/users/alice/").await;
    enrol_alice(&mut client).await;
    assert_eq!(
        client
            .post("/users/alice/auth/lock", json!({}))
            .await
            .status,
        200
    );
    let _ = child.0.kill();
    let mut log = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    // What the investigator runs: the hashed form of a known value, to search for.
    let hash_of = |value: &str| {
        let out = Command::new(server_binary())
            .arg("--audit-hash-key-file")
            .arg(&key)
            .args(["--audit-hash-of", value])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (alice, client_addr) = (hash_of("alice"), hash_of("127.0.0.1"));
    assert!(
        alice.starts_with("hmac-sha256:") && alice.len() == 76,
        "{alice}"
    );
    let events: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("credlock::audit"))
        .collect();
    assert!(
        events
            .iter()
            .any(|l| l.contains("vault_created") && l.contains(&alice) && l.contains(&client_addr)),
        "no vault_created event for the hashed user and client:\n{log}"
    );
    for kind in ["session_minted", "locked"] {
        assert!(
            events
                .iter()
                .any(|l| l.contains(kind) && l.contains(&alice)),
            "no {kind} event for the hashed user:\n{log}"
        );
    }
    for event in &events {
        assert!(
            !event.contains("\"alice\"") && !event.contains("127.0.0.1"),
            "{event}"
        );
    }
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

/// Writes a 32-byte random key file, created 0600.
fn key_file(path: &Path) {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).unwrap();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    file.write_all(&key).unwrap();
}

/// The passphrase slot of a stored vault record (format version 3), wherever it sits.
fn passphrase_slot(record: &serde_json::Value) -> Option<&serde_json::Value> {
    match record {
        serde_json::Value::Object(map) => {
            if map.get("kind").and_then(|k| k.as_str()) == Some("passphrase") {
                return Some(record);
            }
            map.values().find_map(passphrase_slot)
        }
        serde_json::Value::Array(items) => items.iter().find_map(passphrase_slot),
        _ => None,
    }
}

/// Runs the binary with `--key-provider spec` over a new vault: enrols a user, then checks
/// that the stored passphrase slot names the provider `identity`, and that
/// `/security/status` names it to every caller; a second run without the provider opens
/// nothing.
async fn serve_with_key_provider(spec: &str, identity: &str) {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.json");
    let (mut child, base) = spawn(&[
        "--vault".as_ref(),
        vault.as_os_str(),
        "--key-provider".as_ref(),
        spec.as_ref(),
    ])
    .await;
    let mut client = Client::at(&base);
    client.get("/auth/status").await;
    let outside = client.get("/security/status").await;
    assert_eq!(outside.json["authenticated"], false);
    assert_eq!(outside.json["key_provider"], identity, "{outside:?}");
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

    // The record names the provider in the passphrase slot (a key id and a check value,
    // no secret).
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&vault).unwrap()).unwrap();
    let slot = passphrase_slot(&record).unwrap_or_else(|| panic!("no passphrase slot: {record}"));
    assert_eq!(slot["key_provider"]["id"], identity, "{slot}");
    let s = client.get("/security/status").await;
    assert_eq!(s.json["authenticated"], true);
    assert_eq!(s.json["key_provider"], identity);
    assert_eq!(
        s.json["report"]["cipher"]["key_provider"], identity,
        "{s:?}"
    );
    assert_eq!(client.post("/auth/lock", json!({})).await.status, 200);
    let a = client
        .post("/auth/unlock", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");

    // Without the provider, the right passphrase opens nothing, and nothing is counted.
    let _ = child.0.kill();
    let _ = child.0.wait();
    let (mut child, base) = spawn(&["--vault".as_ref(), vault.as_os_str()]).await;
    let mut client = Client::at(&base);
    client.get("/auth/status").await;
    let a = client
        .post("/auth/unlock", json!({ "passphrase": PASS }))
        .await;
    assert!(a.status >= 400, "{a:?}");
    assert_eq!(a.json["error"], "invalid_option", "{a:?}");
    let _ = child.0.kill();
    let mut log = String::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(!log.contains(PASS), "{log}");
}

#[tokio::test]
async fn with_a_key_file_provider_the_vault_names_it_and_needs_it() {
    let _turn = common::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("pepper");
    key_file(&key);
    let spec = format!("file:{}", key.display());
    serve_with_key_provider(&spec, &spec).await;
}

#[tokio::test]
async fn with_a_pkcs11_provider_the_vault_names_it_and_needs_it() {
    use credlock::keyprovider::{PinSource, Pkcs11Spec};

    let _turn = common::shared().await;
    let require = std::env::var("CREDLOCK_REQUIRE_SOFTHSM").as_deref() == Ok("1");
    let vars = [
        "SOFTHSM2_CONF",
        "CREDLOCK_PKCS11_MODULE",
        "CREDLOCK_PKCS11_PIN",
    ];
    if let Some(missing) = vars.iter().find(|v| std::env::var_os(v).is_none()) {
        assert!(
            !require,
            "CREDLOCK_REQUIRE_SOFTHSM=1 but {missing} is not set: run eval \
             \"$(scripts/softhsm-init.sh)\""
        );
        eprintln!(
            "\n=== SKIPPED: the server with a PKCS#11 key provider did NOT run: {missing} is \
             not set (run eval \"$(scripts/softhsm-init.sh)\"; CREDLOCK_REQUIRE_SOFTHSM=1 \
             makes this a failure) ===\n"
        );
        return;
    }
    let module = std::env::var("CREDLOCK_PKCS11_MODULE").unwrap();
    let token = std::env::var("CREDLOCK_PKCS11_TOKEN").unwrap_or_else(|_| "credlock".into());
    let key = format!("server-test-{}", std::process::id());
    let spec = Pkcs11Spec::new(
        &module,
        &token,
        &key,
        PinSource::Env("CREDLOCK_PKCS11_PIN".into()),
    );
    credlock_keyprovider_pkcs11::generate_key(&spec).unwrap();
    let text =
        format!("pkcs11:module={module};token={token};key={key};pin-env=CREDLOCK_PKCS11_PIN");
    serve_with_key_provider(&text, &format!("pkcs11:token={token};key={key}")).await;
    credlock_keyprovider_pkcs11::delete_key(&spec).unwrap();
}

#[test]
fn a_key_provider_that_does_not_open_stops_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let vault = dir.path().join("vault.json");
    let open_key = dir.path().join("open-pepper");
    std::fs::write(&open_key, [7u8; 32]).unwrap();
    std::fs::set_permissions(
        &open_key,
        std::os::unix::fs::PermissionsExt::from_mode(0o644),
    )
    .unwrap();
    for (spec, says) in [
        ("pepper".to_owned(), "expected KIND:"),
        ("file:relative/pepper".to_owned(), "absolute path"),
        (
            format!("file:{}", dir.path().join("missing").display()),
            "--key-provider",
        ),
        (format!("file:{}", open_key.display()), "chmod 600"),
        ("nosuchkind:x".to_owned(), "--key-provider"),
        (
            "pkcs11:module=/no/such/module.so;token=t;key=k;pin-env=NO_SUCH_PIN_VAR".to_owned(),
            "--key-provider",
        ),
    ] {
        let mut child = Command::new(server_binary())
            .args(["--listen", "127.0.0.1:0", "--insecure-http", "--vault"])
            .arg(&vault)
            .args(["--key-provider", &spec])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Bounded: a server that started anyway is killed and the test fails.
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("--key-provider {spec}: the server started");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut log = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        assert!(!status.success(), "{spec}: {log}");
        assert!(
            log.contains("--key-provider") && log.contains(says),
            "{spec}: {log}"
        );
        assert!(!vault.exists());
    }
}
