//! Unlock with a passkey: the page in headless Chromium with WebDriver's virtual
//! authenticator (CTAP2, user verification, the PRF extension), and the endpoints' refusals
//! over plain HTTP with `credlock-webauthn`'s software authenticator.
//!
//! The page is opened at `http://localhost:PORT`: the server's relying party (an IP address
//! cannot be one). With `CREDLOCK_REQUIRE_BROWSER=1`, a missing browser, a virtual
//! authenticator refusing `hasPrf`, or a browser giving no PRF results fails the test.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use credlock::Registry;
use credlock::registry::FileStoreSet;
use credlock::sessions::SessionRequest;
use credlock_webauthn::SoftwareAuthenticator;
use serde_json::{Value, json};

use crate::app;
use crate::browser::{Browser, find_in_path, start_driver, target_dir};
use crate::common::{self, Client, PASS, Server, Setup};
use crate::users::enrol;

fn require_browser() -> bool {
    std::env::var_os("CREDLOCK_REQUIRE_BROWSER").is_some_and(|v| v == "1")
}

/// The server's origin as the browser must name it.
fn origin(server: &Server) -> String {
    server.base.replace("127.0.0.1", "localhost")
}

/// The vault file's passkey slots: `(id, PRF salt)`, and its key epoch.
fn stored(path: &Path) -> (Vec<(String, String)>, u64) {
    let file: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let slots = file["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "passkey")
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["passkey"]["prf_salt"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (slots, file["epoch"].as_u64().unwrap())
}

/// Waits (bounded) until `check` holds for the page's passkey list's text.
async fn wait_passkeys(browser: &Browser, what: &str, check: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = browser.text("#passkeys").await;
        if check(&text) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the passkey list shows {text:?}, not {what}; message: {:?}",
            browser.text("#message").await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Adds WebDriver's virtual authenticator with PRF; `Err` with chromedriver's answer if
/// it refuses.
async fn virtual_authenticator(browser: &Browser) -> Result<String, Value> {
    let r: Value = browser
        .http
        .post(format!("{}/webauthn/authenticator", browser.session))
        .json(&json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
            // The PRF extension (hmac-secret): the W3C form, an extension identifier.
            // ChromeDriver 148 accepts `"hasPrf": true` too but leaves PRF off with it.
            "extensions": ["prf"],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    match r["value"].as_str() {
        Some(id) => Ok(id.to_owned()),
        None => Err(r),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passkey_unlocks_the_page_in_headless_chromium_and_its_salt_rotates() {
    let _turn = common::shared().await;
    let Some(chromedriver) = find_in_path("chromedriver") else {
        assert!(
            !require_browser(),
            "CREDLOCK_REQUIRE_BROWSER=1 but `chromedriver` is not on PATH"
        );
        eprintln!("\n=== SKIPPED: the passkey browser test did NOT run: no `chromedriver` ===\n");
        return;
    };
    let server = common::start(Setup::default()).await;
    // Enrolled over HTTP (the browser test covers the forms) and locked; the browser
    // unlocks with the passphrase.
    let mut enrolled = Client::enrolled(&server).await;
    assert_eq!(enrolled.post("/auth/lock", json!({})).await.status, 200);
    let driver = start_driver(&chromedriver).await;
    let browser = Browser::open(&driver).await;
    let authenticator = match virtual_authenticator(&browser).await {
        Ok(id) => id,
        Err(answer) => {
            assert!(
                !require_browser(),
                "CREDLOCK_REQUIRE_BROWSER=1 but the virtual authenticator refuses PRF: {answer}"
            );
            eprintln!("\n=== SKIPPED: no virtual authenticator with PRF: {answer} ===\n");
            browser.close().await;
            return;
        }
    };
    let page = format!("{}/", origin(&server));
    browser.go(&page).await;
    browser.wait_state("signed_out").await;
    browser.fill("#unlock-passphrase", PASS).await;
    browser.click("#unlock-submit").await;
    browser.wait_state("unlocked").await;

    // Add a passkey.
    browser.fill("#passkey-label", "this laptop").await;
    browser.click("#passkey-add").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let message = browser.text("#message").await;
        if message.contains("Passkey added") {
            break;
        }
        let prf = browser.attribute("#passkeys-section", "data-prf").await;
        assert!(
            prf.as_deref() != Some("no"),
            "the browser gave no PRF result (getClientExtensionResults().prf): {message:?}"
        );
        assert!(
            Instant::now() < deadline,
            "no passkey added; message: {message:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        browser
            .attribute("#passkeys-section", "data-prf")
            .await
            .as_deref(),
        Some("yes")
    );
    wait_passkeys(&browser, "the new passkey", |t| {
        t.contains("this laptop") && t.contains("last used: never")
    })
    .await;
    let (slots, epoch_before) = stored(&server.path);
    assert_eq!(slots.len(), 1);
    let (slot, enrolled_salt) = slots[0].clone();
    let credentials: Value = browser
        .call(
            reqwest::Method::GET,
            &format!("/webauthn/authenticator/{authenticator}/credentials"),
            Value::Null,
        )
        .await;
    assert_eq!(
        credentials.as_array().map(Vec::len),
        Some(1),
        "{credentials}"
    );

    // Lock and unlock with it, twice: each unlock moves the slot to a new PRF salt.
    let mut salts = vec![enrolled_salt];
    for round in 1..=2 {
        browser.click("#lock-button").await;
        browser.wait_state("signed_out").await;
        browser.click("#passkey-unlock").await;
        browser.wait_state("unlocked").await;
        browser
            .wait_text("#message", "Unlocked with a passkey")
            .await;
        let (slots, epoch) = stored(&server.path);
        assert_eq!(slots.len(), 1);
        assert_eq!(slots[0].0, slot, "round {round}: the same slot");
        assert!(
            !salts.contains(&slots[0].1),
            "round {round}: the PRF salt did not rotate"
        );
        assert_eq!(
            epoch, epoch_before,
            "an unlock does not rotate the data key"
        );
        salts.push(slots[0].1.clone());
        wait_passkeys(&browser, "a last use", |t| {
            t.contains("this laptop") && !t.contains("last used: never")
        })
        .await;
    }
    let shot = target_dir()
        .join("screenshots")
        .join("server-page-passkey.png");
    browser.screenshot(&shot).await;
    eprintln!("screenshot of the page with a passkey: {}", shot.display());

    // Remove it: gone from the page and the file, the data key rotated.
    browser
        .click(&format!("#passkeys li[data-id='{slot}'] button.remove"))
        .await;
    browser.wait_text("#message", "Passkey removed").await;
    wait_passkeys(&browser, "no passkey", |t| !t.contains("this laptop")).await;
    let (slots, epoch_after) = stored(&server.path);
    assert!(slots.is_empty());
    assert!(epoch_after > epoch_before, "{epoch_after} > {epoch_before}");
    browser.wait_state("unlocked").await;

    // Locked, the removed passkey unlocks nothing.
    browser.click("#lock-button").await;
    browser.wait_state("signed_out").await;
    browser.click("#passkey-unlock").await;
    browser.wait_text("#message", "No passkey opens").await;
    assert_eq!(
        browser.attribute("#state", "data-state").await.as_deref(),
        Some("signed_out")
    );
    let console = browser.console().await;
    assert!(
        !console
            .iter()
            .any(|m| m.contains("Content Security Policy") || m.contains("Refused to")),
        "{console:#?}"
    );
    browser.close().await;
}

/// A signed-in client of a server with stored credentials, and an authenticator for the
/// server's relying party.
async fn signed_in() -> (Server, Client, SoftwareAuthenticator, String) {
    let server = common::start(Setup::default()).await;
    let client = Client::enrolled(&server).await;
    let origin = origin(&server);
    (
        server,
        client,
        SoftwareAuthenticator::new("localhost"),
        origin,
    )
}

/// Adds a passkey over HTTP; returns its slot id.
async fn add_passkey(
    client: &mut Client,
    at: &str,
    device: &mut SoftwareAuthenticator,
    origin: &str,
) -> String {
    let a = client
        .post(&format!("{at}/auth/passkeys/register/options"), json!({}))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let created = device.register(&a.json["publicKey"], origin).unwrap();
    let a = client
        .post(
            &format!("{at}/auth/passkeys/register"),
            json!({ "ceremony": a.json["ceremony"], "credential": created }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let asserted = device.assert(&a.json["publicKey"], origin).unwrap();
    let a = client
        .post(
            &format!("{at}/auth/passkeys/enrol"),
            json!({ "ceremony": a.json["ceremony"], "credential": asserted, "label": "key" }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    a.json["slot"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_passkey_endpoints_over_http_and_their_refusals() {
    let _turn = common::shared().await;
    let (server, mut owner, mut device, origin) = signed_in().await;

    // Not signed in: adding is refused.
    let mut stranger = Client::arrived(&server).await;
    stranger
        .post("/auth/passkeys/register/options", json!({}))
        .await
        .assert_error(401, "unauthenticated");
    // Bad JSON, and JSON without the fields.
    let request = owner
        .http
        .post(format!("{}/auth/passkeys/register", owner.base))
        .header("content-type", "application/json")
        .body("{not json");
    owner
        .send(request)
        .await
        .assert_error(400, "malformed_json");
    owner
        .post("/auth/passkeys/register", json!({ "ceremony": 1 }))
        .await
        .assert_error(422, "invalid_body");
    // No JSON content type: the CSRF rule.
    let request = owner
        .http
        .post(format!("{}/auth/passkeys/register/options", owner.base))
        .header("content-type", "text/plain")
        .body("{}");
    owner.send(request).await.assert_error(415, "json_required");

    // An unknown ceremony id.
    let a = owner
        .post("/auth/passkeys/register/options", json!({}))
        .await;
    let created = device.register(&a.json["publicKey"], &origin).unwrap();
    owner
        .post(
            "/auth/passkeys/register",
            json!({ "ceremony": "00".repeat(16), "credential": created }),
        )
        .await
        .assert_error(401, "unknown_ceremony");
    // Another client's ceremony (a second session of the same user) is not this one's,
    // and is gone once named.
    let mut other = Client::arrived(&server).await;
    let minted = server
        .vault
        .mint_session(SessionRequest::client("another browser"))
        .unwrap();
    other.cookies.insert(
        "credlock_session".to_owned(),
        minted.token.expose_secret().to_owned(),
    );
    assert_eq!(other.get("/auth/passkeys").await.status, 200);
    other
        .post(
            "/auth/passkeys/register",
            json!({ "ceremony": a.json["ceremony"], "credential": created }),
        )
        .await
        .assert_error(401, "unknown_ceremony");
    owner
        .post(
            "/auth/passkeys/register",
            json!({ "ceremony": a.json["ceremony"], "credential": created }),
        )
        .await
        .assert_error(401, "unknown_ceremony");

    // A wrong origin: 401, and the ceremony is used up.
    let a = owner
        .post("/auth/passkeys/register/options", json!({}))
        .await;
    let evil = device
        .register(&a.json["publicKey"], "http://evil.localhost:1")
        .unwrap();
    let body = json!({ "ceremony": a.json["ceremony"], "credential": evil });
    owner
        .post("/auth/passkeys/register", body.clone())
        .await
        .assert_error(401, "passkey_refused");
    owner
        .post("/auth/passkeys/register", body)
        .await
        .assert_error(401, "unknown_ceremony");

    // The whole flow; a ceremony is used once.
    let slot = add_passkey(&mut owner, "", &mut device, &origin).await;
    let listed = owner.get("/auth/passkeys").await;
    assert_eq!(
        listed.json["passkeys"][0]["id"],
        slot.as_str(),
        "{listed:?}"
    );
    assert_eq!(listed.json["passkeys"][0]["last_used_at_ms"], Value::Null);
    owner.post("/auth/lock", json!({})).await;

    let mut client = Client::arrived(&server).await;
    let a = client
        .post("/auth/passkeys/unlock/options", json!({}))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let asserted = device.assert(&a.json["publicKey"], &origin).unwrap();
    let body = json!({ "ceremony": a.json["ceremony"], "credential": asserted });
    // Not another client's.
    let mut thief = Client::arrived(&server).await;
    thief
        .post("/auth/passkeys/unlock", body.clone())
        .await
        .assert_error(401, "unknown_ceremony");
    // A wrong origin: 401, nothing counted against the lockout.
    let a = client
        .post("/auth/passkeys/unlock/options", json!({}))
        .await;
    let evil = device
        .assert(&a.json["publicKey"], "http://evil.localhost:1")
        .unwrap();
    client
        .post(
            "/auth/passkeys/unlock",
            json!({ "ceremony": a.json["ceremony"], "credential": evil }),
        )
        .await
        .assert_error(401, "unauthenticated");
    assert_eq!(server.vault.lockout_state().unwrap().failures, 0);
    let a = client
        .post("/auth/passkeys/unlock/options", json!({}))
        .await;
    let asserted = device.assert(&a.json["publicKey"], &origin).unwrap();
    let body = json!({ "ceremony": a.json["ceremony"], "credential": asserted });
    let ok = client.post("/auth/passkeys/unlock", body.clone()).await;
    assert_eq!(ok.status, 200, "{ok:?}");
    assert!(client.cookies.contains_key("credlock_session"));
    assert_eq!(client.get("/auth/status").await.json["state"], "unlocked");
    // Replayed: the ceremony is gone.
    client
        .post("/auth/passkeys/unlock", body)
        .await
        .assert_error(401, "unknown_ceremony");
    // Unlock options without the client cookie: refused.
    let mut bare = Client::new(&server);
    bare.post("/auth/passkeys/unlock/options", json!({}))
        .await
        .assert_error(403, "client_cookie_required");

    // Removing: an id that is no passkey, then the passkey; the epoch rises.
    let (_, epoch) = stored(&server.path);
    client
        .delete("/auth/passkeys/slt_0000000000000000")
        .await
        .assert_error(404, "no_such_passkey");
    let a = client.delete(&format!("/auth/passkeys/{slot}")).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(stored(&server.path).1 > epoch);
    assert_eq!(client.get("/auth/status").await.json["state"], "unlocked");
    let listed = client.get("/auth/passkeys").await;
    assert_eq!(listed.json["passkeys"], json!([]));
    // No passkey left: the locked page is told so.
    client.post("/auth/lock", json!({})).await;
    let mut client = Client::arrived(&server).await;
    client
        .post("/auth/passkeys/unlock/options", json!({}))
        .await
        .assert_error(404, "no_passkey");
}

#[tokio::test]
async fn passkeys_are_off_without_an_origin() {
    let _turn = common::shared().await;
    let server = common::start(Setup {
        tls: true,
        ..Setup::default()
    })
    .await;
    Client::new(&server)
        .post("/auth/passkeys/unlock/options", json!({}))
        .await
        .assert_error(404, "passkeys_unavailable");
}

#[test]
fn relying_party_ids_from_origins() {
    use crate::app::passkeys::rp_id;
    assert_eq!(rp_id("http://localhost:8080").as_deref(), Some("localhost"));
    assert_eq!(
        rp_id("https://Vault.Example.com").as_deref(),
        Some("vault.example.com")
    );
    assert_eq!(
        rp_id("https://vault.example.com:8443").as_deref(),
        Some("vault.example.com")
    );
    assert_eq!(
        rp_id("http://vault.example.com"),
        None,
        "plain HTTP off localhost"
    );
    assert_eq!(rp_id("https://127.0.0.1"), None, "an IP address");
    assert_eq!(rp_id("vault.example.com"), None);
}

#[tokio::test]
async fn each_user_has_their_own_passkeys_and_ceremonies() {
    let _turn = common::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::builder(FileStoreSet::open(dir.path().join("vaults")).unwrap())
        .vault_options(|b| b.insecure_kdf_iterations(1_000))
        .open()
        .unwrap();
    let config = app::Config {
        tls: false,
        attempts: app::RateLimit::new(1_000, Duration::from_millis(1)),
        ..app::Config::default()
    };
    let state =
        app::AppState::for_registry(Arc::new(registry), true, config, Arc::new(app::AcceptAll))
            .unwrap();
    let (base, _stop) = common::serve(state);
    let origin = base.replace("127.0.0.1", "localhost");
    let mut alice = Client::at(&base);
    let mut bob = Client::at(&base);
    enrol(&mut alice, "alice", "alice@example.com", PASS).await;
    enrol(&mut bob, "bob", "bob@example.com", "Marmalade-Comet-17?").await;
    let mut device = SoftwareAuthenticator::new("localhost");
    add_passkey(&mut alice, "/users/alice", &mut device, &origin).await;
    let listed = alice.get("/users/alice/auth/passkeys").await;
    assert_eq!(listed.json["passkeys"].as_array().map(Vec::len), Some(1));
    let listed = bob.get("/users/bob/auth/passkeys").await;
    assert_eq!(listed.json["passkeys"], json!([]));
    bob.post("/users/bob/auth/passkeys/unlock/options", json!({}))
        .await
        .assert_error(404, "no_passkey");

    // Alice's unlock ceremony, named under Bob's path, is refused (and gone).
    alice.post("/users/alice/auth/lock", json!({})).await;
    let a = alice
        .post("/users/alice/auth/passkeys/unlock/options", json!({}))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let asserted = device.assert(&a.json["publicKey"], &origin).unwrap();
    let body = json!({ "ceremony": a.json["ceremony"], "credential": asserted });
    alice
        .post("/users/bob/auth/passkeys/unlock", body.clone())
        .await
        .assert_error(401, "unknown_ceremony");
    alice
        .post("/users/alice/auth/passkeys/unlock", body)
        .await
        .assert_error(401, "unknown_ceremony");
    let a = alice
        .post("/users/alice/auth/passkeys/unlock/options", json!({}))
        .await;
    let asserted = device.assert(&a.json["publicKey"], &origin).unwrap();
    let body = json!({ "ceremony": a.json["ceremony"], "credential": asserted });
    let a = alice.post("/users/alice/auth/passkeys/unlock", body).await;
    assert_eq!(a.status, 200, "{a:?}");
    let status = alice.get("/users/alice/auth/status").await;
    assert_eq!(status.json["state"], "unlocked");
}
