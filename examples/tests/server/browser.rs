//! The page in headless Chromium, driven over WebDriver: fill the forms, see the state
//! change, see a policy failure listed, make a recovery key and use it when the passphrase
//! is forgotten, sign a second browser in beside the first, and save screenshots under
//! `target/`.
//!
//! The test starts `chromedriver` itself on a free loopback port. Without it (Debian's
//! `chromium` and `chromium-driver` packages, which `.ci/run` installs), the test fails when
//! `CREDLOCK_REQUIRE_BROWSER=1` (as in CI) and otherwise says loudly that it did not run.
//!
//! The WebDriver client is the few W3C WebDriver commands the test needs, sent as JSON with
//! `reqwest`: a client library would bring a second generation of `http` and other crates
//! into the tree, which the workspace's dependency policy refuses.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use credlock::sessions::{Scope, SessionRequest};
use serde_json::{Value, json};

use crate::common::{self, PASS, Setup};

/// The passphrase set with the recovery key.
const NEW_PASS: &str = "Marmalade-Comet-17?";

/// The W3C WebDriver element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub(crate) fn find_in_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// `target/`, from this test's path (`target/<profile>/deps/<test>`).
pub(crate) fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .expect("the test runs from target/<profile>/deps")
        .to_path_buf()
}

/// The chromedriver process, killed on drop.
pub(crate) struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn start_driver(binary: &Path) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["value"]["ready"] == true
        {
            return driver;
        }
        assert!(Instant::now() < deadline, "chromedriver not ready in 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One WebDriver session.
pub(crate) struct Browser {
    pub(crate) http: reqwest::Client,
    pub(crate) session: String,
}

impl Browser {
    pub(crate) async fn open(driver: &Driver) -> Self {
        let http = reqwest::Client::new();
        let mut args = vec![
            "--headless=new",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1000,1500",
        ];
        // Chromium refuses to run as root without this.
        if rustix::process::geteuid().is_root() {
            args.push("--no-sandbox");
        }
        let mut options = json!({ "args": args });
        // The console log shows CSP violations, if any.
        let logging = json!({ "browser": "ALL" });
        if let Some(chromium) = find_in_path("chromium") {
            options["binary"] = json!(chromium);
        }
        let r: Value = http
            .post(format!("{}/session", driver.url))
            .json(&json!({ "capabilities": { "alwaysMatch": {
                "browserName": "chrome", "goog:chromeOptions": options,
                "goog:loggingPrefs": logging } } }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {r}"))
            .to_owned();
        Self {
            http,
            session: format!("{}/session/{session}", driver.url),
        }
    }

    pub(crate) async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let request = self.http.request(method, format!("{}{path}", self.session));
        let request = if body.is_null() {
            request
        } else {
            request.json(&body)
        };
        let r: Value = request.send().await.unwrap().json().await.unwrap();
        if r["value"].get("error").is_some() {
            panic!("WebDriver {path}: {r}");
        }
        r["value"].clone()
    }

    pub(crate) async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    pub(crate) async fn element(&self, css: &str) -> String {
        let v = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        v[ELEMENT].as_str().unwrap().to_owned()
    }

    pub(crate) async fn elements(&self, css: &str) -> Vec<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap().to_owned())
            .collect()
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        let id = self.element(css).await;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{id}/text"),
                Value::Null,
            )
            .await;
        v.as_str().unwrap_or_default().to_owned()
    }

    pub(crate) async fn attribute(&self, css: &str, name: &str) -> Option<String> {
        let id = self.element(css).await;
        let v = self
            .call(
                reqwest::Method::GET,
                &format!("/element/{id}/attribute/{name}"),
                Value::Null,
            )
            .await;
        v.as_str().map(ToOwned::to_owned)
    }

    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let id = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/clear"),
            json!({}),
        )
        .await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    pub(crate) async fn click(&self, css: &str) {
        let id = self.element(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            json!({}),
        )
        .await;
    }

    /// Waits (bounded) until `css`'s `data-state` attribute is `state`.
    pub(crate) async fn wait_state(&self, state: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let now = self.attribute("#state", "data-state").await;
            if now.as_deref() == Some(state) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page's state stayed {now:?}, not {state:?}; message: {:?}",
                self.text("#message").await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (bounded) until `css` shows text containing `needle`.
    pub(crate) async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.text(css).await;
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "{css} shows {text:?}, not {needle:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn screenshot(&self, path: &Path) {
        let v = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// The browser console's messages so far.
    pub(crate) async fn console(&self) -> Vec<String> {
        let v = self
            .call(
                reqwest::Method::POST,
                "/se/log",
                json!({ "type": "browser" }),
            )
            .await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    pub(crate) async fn close(self) {
        let _ = self.http.delete(&self.session).send().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_in_headless_chromium() {
    let _turn = common::shared().await;
    let Some(chromedriver) = find_in_path("chromedriver") else {
        if std::env::var_os("CREDLOCK_REQUIRE_BROWSER").is_some_and(|v| v == "1") {
            panic!(
                "CREDLOCK_REQUIRE_BROWSER=1 but `chromedriver` is not on PATH: install \
                 Debian's `chromium` and `chromium-driver` packages"
            );
        }
        eprintln!(
            "\n=== SKIPPED: the_page_in_headless_chromium did NOT run: `chromedriver` is not \
             on PATH (install Debian's `chromium` and `chromium-driver`; CI sets \
             CREDLOCK_REQUIRE_BROWSER=1 to make this a failure) ===\n"
        );
        return;
    };
    let server = common::start(Setup::default()).await;
    let driver = start_driver(&chromedriver).await;
    let browser = Browser::open(&driver).await;
    browser.go(&format!("{}/", server.base)).await;
    browser.wait_state("signed_out").await;

    // Login form.
    browser.fill("#login-email", common::EMAIL).await;
    browser.fill("#login-password", "monarch-pw-123").await;
    browser.fill("#login-mfa", "JBSWY3DPEHPK3PXP").await;
    browser.click("#login-submit").await;
    browser
        .wait_text("#message", "Please create an encryption passphrase")
        .await;
    assert_eq!(
        browser.attribute("#passphrase-section", "hidden").await,
        None,
        "the passphrase form is shown"
    );

    // A weak passphrase: every unmet rule is listed.
    browser.fill("#new-passphrase", "alice").await;
    browser.click("#passphrase-submit").await;
    browser
        .wait_text("#message", "passphrase does not meet the policy")
        .await;
    let rules = browser.elements("#rules li").await;
    assert!(rules.len() >= 4, "{} rules listed", rules.len());
    let listed = browser.text("#rules").await;
    assert!(listed.contains("At least 12 characters"), "{listed}");
    assert!(listed.contains("At least 1 number"), "{listed}");
    assert_eq!(
        browser
            .elements("#rules li[data-code=too_short]")
            .await
            .len(),
        1
    );
    let rules_shot = target_dir()
        .join("screenshots")
        .join("server-page-policy.png");
    browser.screenshot(&rules_shot).await;
    eprintln!("screenshot of the unmet rules: {}", rules_shot.display());

    // A good one: saved, unlocked, this browser's session listed.
    browser.fill("#new-passphrase", PASS).await;
    browser.click("#passphrase-submit").await;
    browser.wait_state("unlocked").await;
    browser.wait_text("#sessions", "(this browser)").await;
    browser.wait_text("#totp-left", "s left").await;
    let code = browser.text("#totp-code").await;
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "TOTP code {code:?}"
    );
    assert!(server.path.exists());

    // Lock, a wrong passphrase, the right one.
    browser.click("#lock-button").await;
    browser.wait_state("signed_out").await;
    browser
        .fill("#unlock-passphrase", "Wrong-Guess-0000!")
        .await;
    browser.click("#unlock-submit").await;
    browser
        .wait_text("#message", "the passphrase is wrong")
        .await;
    assert_eq!(
        browser.attribute("#state", "data-state").await.as_deref(),
        Some("signed_out")
    );
    browser.fill("#unlock-passphrase", PASS).await;
    browser.click("#unlock-submit").await;
    browser.wait_state("unlocked").await;
    browser.wait_text("#message", "Credentials unlocked").await;
    browser.wait_text("#security", "PBKDF2 with SHA-256").await;
    browser.wait_text("#sessions", "(this browser)").await;
    browser.wait_text("#totp-left", "s left").await;

    // The page ran under `default-src 'self'` without a violation (a failed fetch, such as
    // the 401 of the wrong passphrase, is logged too; those are expected).
    let console = browser.console().await;
    assert!(
        !console
            .iter()
            .any(|m| m.contains("Content Security Policy") || m.contains("Refused to")),
        "{console:#?}"
    );

    // A second session (an API token a script would use), listed after a reload.
    let token = server
        .vault
        .mint_session(SessionRequest::api_token("backup script", Scope::Totp))
        .unwrap();
    browser.go(&format!("{}/", server.base)).await;
    browser.wait_state("unlocked").await;
    browser.wait_text("#sessions", "backup script").await;
    browser.wait_text("#totp-left", "s left").await;

    let shot = target_dir().join("screenshots").join("server-page.png");
    browser.screenshot(&shot).await;
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000);
    eprintln!("screenshot of the page: {}", shot.display());

    // Revoke the token from the page.
    browser
        .click(&format!(
            "#sessions li[data-id='{}'] button.revoke",
            token.info.id.as_str()
        ))
        .await;
    browser.wait_text("#message", "Session revoked").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while browser.text("#sessions").await.contains("backup script") {
        assert!(
            Instant::now() < deadline,
            "the revoked token is still listed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        server
            .vault
            .validate_session(token.token.expose_secret(), Scope::Totp)
            .is_err()
    );
    browser.wait_text("#sessions", "(this browser)").await;

    // A recovery key from the page: shown once, with the notice; the slots list names it.
    browser.fill("#recovery-key-label", "printed kit").await;
    browser.click("#recovery-key-create").await;
    browser
        .wait_text("#recovery-key-notice", "shown only this once")
        .await;
    let kit = browser.text("#recovery-key").await;
    assert_eq!(kit.len(), 39, "{kit:?}");
    browser
        .wait_text("#slots", "Recovery key: printed kit")
        .await;
    assert!(
        browser
            .text("#slots")
            .await
            .contains("Passphrase: passphrase")
    );
    assert!(!browser.text("#slots").await.contains(&kit));
    browser.click("#recovery-key-done").await;
    assert!(
        browser
            .attribute("#recovery-key-section", "hidden")
            .await
            .is_some()
    );
    assert_eq!(browser.text("#recovery-key").await, "");

    // The passphrase is forgotten: lock, then "Forgot your passphrase?" with the key. A new
    // passphrase the policy refuses lists every unmet rule; a good one signs in and shows
    // the replacement key once.
    browser.click("#lock-button").await;
    browser.wait_state("signed_out").await;
    assert_eq!(browser.attribute("#recover-section", "hidden").await, None);
    assert!(
        browser
            .text("#recover-section")
            .await
            .contains("Forgot your passphrase? Use your recovery key")
    );
    browser.fill("#recover-key", &kit.to_lowercase()).await;
    browser.fill("#recover-passphrase", "alice").await;
    browser.click("#recover-submit").await;
    browser
        .wait_text("#message", "passphrase does not meet the policy")
        .await;
    assert!(browser.elements("#recover-rules li").await.len() >= 3);
    browser.fill("#recover-passphrase", NEW_PASS).await;
    browser.click("#recover-submit").await;
    browser.wait_state("unlocked").await;
    browser
        .wait_text("#recovery-key-notice", "shown only this once")
        .await;
    let replacement = browser.text("#recovery-key").await;
    assert_eq!(replacement.len(), 39, "{replacement:?}");
    assert_ne!(replacement, kit);
    assert_eq!(browser.elements("#recover-rules li").await.len(), 0);
    browser.wait_text("#slots", "printed kit").await;
    let recovered_shot = target_dir()
        .join("screenshots")
        .join("server-page-recovery.png");
    browser.screenshot(&recovered_shot).await;
    eprintln!(
        "screenshot after the recovery: {}",
        recovered_shot.display()
    );
    browser.click("#recovery-key-done").await;

    // Signed out again, the old passphrase is wrong and the new one signs in.
    browser.click("#lock-button").await;
    browser.wait_state("signed_out").await;
    browser.fill("#unlock-passphrase", PASS).await;
    browser.click("#unlock-submit").await;
    browser
        .wait_text("#message", "the passphrase is wrong")
        .await;
    browser.fill("#unlock-passphrase", NEW_PASS).await;
    browser.click("#unlock-submit").await;
    browser.wait_state("unlocked").await;
    browser.wait_text("#totp-left", "s left").await;

    // A second browser signs in to the unlocked vault; the first keeps its session and
    // still reads.
    let second = Browser::open(&driver).await;
    second.go(&format!("{}/", server.base)).await;
    second.wait_state("signed_out").await;
    second.fill("#unlock-passphrase", NEW_PASS).await;
    second.click("#unlock-submit").await;
    second.wait_state("unlocked").await;
    second.wait_text("#sessions", "(this browser)").await;
    second.wait_text("#totp-left", "s left").await;
    browser.go(&format!("{}/", server.base)).await;
    browser.wait_state("unlocked").await;
    browser.wait_text("#totp-left", "s left").await;
    browser.wait_text("#sessions", "(this browser)").await;
    assert_eq!(browser.elements("#sessions li").await.len(), 2);

    // The first removes the recovery key: it stays signed in, the second's session ends
    // with the rotation.
    browser
        .click("#slots li[data-kind=recovery_key] button.remove-slot")
        .await;
    browser
        .wait_text("#message", "opens nothing from now on")
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !browser
        .elements("#slots li[data-kind=recovery_key]")
        .await
        .is_empty()
    {
        assert!(Instant::now() < deadline, "the removed key is still listed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        browser.attribute("#state", "data-state").await.as_deref(),
        Some("unlocked")
    );
    browser.wait_text("#totp-left", "s left").await;
    second.go(&format!("{}/", server.base)).await;
    second.wait_state("signed_out").await;
    second.close().await;

    // Log out from the page: the credentials are deleted.
    browser.click("#logout-button").await;
    browser.wait_state("signed_out").await;
    assert!(!server.path.exists());
    browser.close().await;
}
