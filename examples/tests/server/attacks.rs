//! The server tried as an attacker would: a planted client cookie (login fixation), what a
//! caller who is not signed in learns, forged tokens against the idle lock, guesses sprayed
//! across users, user ids spelt in another case, requests naming unknown users, and a flood
//! of refused unlocks against the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use credlock::audit::JsonLinesSink;
use credlock::registry::FileStoreSet;
use credlock::secrecy::{ExposeSecret as _, SecretString};
use credlock::{Credentials, FakeClock, LockoutPolicy, Policy, Registry, SessionState, UserId};
use serde_json::{Value, json};

use crate::app;
use crate::common::{self, Client, EMAIL, PASS, Setup};

const ATTACKER_PASS: &str = "Attacker-Chosen-99!";

#[tokio::test]
async fn a_planted_client_cookie_cannot_finish_the_victims_login() {
    let _turn = common::shared().await;
    let server = common::start(Setup::default()).await;
    // The attacker gets a genuine client id from the server, and plants it in the victim's
    // browser (a cookie set from a neighbouring subdomain, say).
    let mut attacker = Client::arrived(&server).await;
    let planted = attacker.cookies["credlock_client"].clone();
    let mut victim = Client::new(&server);
    victim
        .cookies
        .insert("credlock_client".into(), planted.clone());

    // The victim signs in to the finance service with her real password and MFA secret.
    let a = victim
        .post(
            "/auth/login",
            json!({ "email": EMAIL, "password": "victims-real-pw",
                    "mfa_secret": "JBSWY3DPEHPK3PXP" }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_ne!(
        victim.cookies["credlock_client"], planted,
        "rotated at login"
    );

    // The attacker, holding the planted id, is not told a login is pending, and cannot
    // seal the victim's credentials under a passphrase of its own.
    let a = attacker.get("/auth/status").await;
    assert_eq!(
        a.json,
        json!({ "authenticated": false, "state": "signed_out" })
    );
    attacker
        .post(
            "/auth/set-passphrase",
            json!({ "passphrase": ATTACKER_PASS }),
        )
        .await
        .assert_error(400, "no_pending_login");
    assert!(!server.path.exists(), "nothing sealed for the attacker");

    // The victim finishes, under her own passphrase.
    let a = victim
        .post("/auth/set-passphrase", json!({ "passphrase": PASS }))
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    server.vault.lock();
    assert!(matches!(
        server.vault.unlock(&SecretString::from(ATTACKER_PASS)),
        Err(credlock::Error::WrongPassphrase)
    ));
    server.vault.unlock(&SecretString::from(PASS)).unwrap();
    let creds = server.vault.credentials().unwrap();
    assert_eq!(creds.password().expose_secret(), "victims-real-pw");
}

/// What a caller who is not signed in gets from the status endpoints.
async fn outside_view(client: &mut Client, prefix: &str) -> (Value, Value) {
    let status = client.get(&format!("{prefix}/auth/status")).await;
    assert_eq!(status.status, 200, "{status:?}");
    let security = client.get(&format!("{prefix}/security/status")).await;
    assert_eq!(security.status, 200, "{security:?}");
    (status.json, security.json)
}

#[tokio::test]
async fn a_caller_not_signed_in_learns_nothing_of_the_vault_or_its_owner() {
    let _turn = common::shared().await;
    let server = common::start(Setup::default()).await;
    let mut stranger = Client::new(&server);
    let empty = outside_view(&mut stranger, "").await;
    assert_eq!(
        empty.0,
        json!({ "authenticated": false, "state": "signed_out" })
    );
    for field in ["report", "file_permissions", "encryption_enabled"] {
        assert!(empty.1.get(field).is_none(), "{field}: {:?}", empty.1);
    }
    // The owner enrols and is present (unlocked): the stranger sees the same.
    let mut owner = Client::enrolled(&server).await;
    assert_eq!(outside_view(&mut stranger, "").await, empty);
    // The owner locks; a guesser fails twice: the stranger still sees the same (no state,
    // no seconds since the owner's last action, no failure count).
    owner.post("/auth/lock", json!({})).await;
    for _ in 0..2 {
        stranger
            .post("/auth/unlock", json!({ "passphrase": "Wrong-Guess-0000!" }))
            .await;
    }
    assert_eq!(server.vault.lockout_state().unwrap().failures, 2);
    assert_eq!(outside_view(&mut stranger, "").await, empty);
    // Signed in, the owner sees it all.
    owner
        .post("/auth/unlock", json!({ "passphrase": PASS }))
        .await;
    let (status, security) = outside_view(&mut owner, "").await;
    assert_eq!(status["state"], "unlocked");
    assert_eq!(security["report"]["state"], "unlocked");
}

#[tokio::test]
async fn forged_and_out_of_scope_tokens_do_not_hold_the_idle_lock_off() {
    let _turn = common::shared().await;
    let clock = FakeClock::new();
    let server = common::start(Setup {
        clock: Some(clock.clone()),
        ..Setup::default()
    })
    .await;
    // Enrolled (and a TOTP-only API token minted) at the start: the idle deadline is 15
    // minutes on.
    let mut owner = Client::enrolled(&server).await;
    let a = owner
        .post("/auth/sessions", json!({ "label": "script" }))
        .await;
    let token = a.json["token"].as_str().unwrap().to_owned();
    let mut forger = Client::arrived(&server).await;
    forger
        .cookies
        .insert("credlock_session".into(), format!("clk_{}", "A".repeat(43)));
    let mut script = Client::new(&server);
    script.cookies.insert("credlock_session".into(), token);
    for _ in 0..14 {
        clock.advance(Duration::from_secs(60));
        let a = forger.get("/auth/status").await;
        assert_eq!(a.json["authenticated"], false);
        // A real token, refused for its scope.
        script
            .get("/auth/sessions")
            .await
            .assert_error(403, "forbidden");
    }
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        server.vault.status(),
        SessionState::Locked,
        "locked at its deadline"
    );
    assert_eq!(owner.get("/auth/status").await.json["authenticated"], false);
}

/// A registry over a file store with cheap derivations and a short lockout, holding
/// `users` with stored, locked vaults.
fn registry_with(dir: &std::path::Path, users: &[&str]) -> Arc<Registry> {
    let registry = Registry::builder(FileStoreSet::open(dir).unwrap())
        .vault_options(|b| {
            b.insecure_kdf_iterations(1_000)
                .without_tracing_audit()
                .lockout(
                    LockoutPolicy::new(3, Duration::from_secs(30), Duration::from_secs(60))
                        .unwrap(),
                )
        })
        .open()
        .unwrap();
    for user in users {
        let vault = registry.vault(&UserId::new(user).unwrap()).unwrap();
        let pass = Policy::default().check(SecretString::from(PASS)).unwrap();
        vault
            .store(
                Credentials::new(format!("{user}@example.com"), SecretString::from("pw")),
                pass,
            )
            .unwrap();
        vault.lock();
    }
    Arc::new(registry)
}

/// A multi-user server over `registry`, with `attempts` per address.
fn multi_user(
    registry: &Arc<Registry>,
    attempts: app::RateLimit,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let state = app::AppState::for_registry(
        Arc::clone(registry),
        true,
        app::Config {
            tls: false,
            attempts,
            ..app::Config::default()
        },
        Arc::new(app::AcceptAll),
    )
    .unwrap();
    common::serve(state)
}

#[tokio::test]
async fn guesses_sprayed_across_users_share_one_per_address_limit() {
    let _turn = common::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let users = ["u0", "u1", "u2", "u3", "u4", "u5"];
    let registry = registry_with(dir.path(), &users);
    let (base, _stop) = multi_user(&registry, app::RateLimit::new(5, Duration::from_secs(60)));
    let mut sprayer = Client::at(&base);
    sprayer.get("/users/u0/").await;
    for user in &users[..5] {
        sprayer
            .post(
                &format!("/users/{user}/auth/unlock"),
                json!({ "passphrase": "Wrong-Guess-0000!" }),
            )
            .await
            .assert_error(401, "wrong_passphrase");
    }
    // A sixth user is no fresh start: five guesses per address in all.
    sprayer
        .post(
            "/users/u5/auth/unlock",
            json!({ "passphrase": "Wrong-Guess-0000!" }),
        )
        .await
        .assert_error(429, "rate_limited");
    let u5 = registry
        .existing_vault(&UserId::new("u5").unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(u5.lockout_state().unwrap().failures, 0);
}

#[tokio::test]
async fn a_login_is_one_user_whatever_the_case_of_the_id() {
    let _turn = common::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), &[]);
    let (base, _stop) = multi_user(
        &registry,
        app::RateLimit::new(1_000, Duration::from_millis(1)),
    );
    let mut dave = Client::at(&base);
    dave.get("/users/Dave/").await;
    let a = dave
        .post(
            "/users/Dave/auth/login",
            json!({ "email": "dave@example.com", "password": "pw" }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    let a = dave
        .post(
            "/users/dave/auth/set-passphrase",
            json!({ "passphrase": PASS }),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(
        dave.get("/users/DAVE/auth/status").await.json["state"],
        "unlocked"
    );
    assert_eq!(registry.users().unwrap(), [UserId::new("dave").unwrap()]);
}

#[tokio::test]
async fn requests_naming_unknown_users_open_and_keep_nothing() {
    let _turn = common::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let registry = registry_with(dir.path(), &["alice"]);
    registry.evict_idle();
    let (base, _stop) = multi_user(
        &registry,
        app::RateLimit::new(1_000, Duration::from_millis(1)),
    );
    let mut stranger = Client::at(&base);
    let known = outside_view(&mut stranger, "/users/alice").await;
    assert_eq!(registry.open_vaults(), 1, "alice's vault is opened");
    for i in 0..200 {
        let prefix = format!("/users/nobody-{i}");
        assert_eq!(outside_view(&mut stranger, &prefix).await, known);
        stranger
            .post(
                &format!("{prefix}/auth/unlock"),
                json!({ "passphrase": "Wrong-Guess-0000!" }),
            )
            .await
            .assert_error(401, "wrong_passphrase");
        stranger
            .post(&format!("{prefix}/auth/lock"), json!({}))
            .await
            .assert_error(401, "unauthenticated");
    }
    assert_eq!(registry.open_vaults(), 1, "no vault for an unknown user");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.contains("nobody"))
        .collect();
    assert!(names.is_empty(), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_refused_unlocks_grows_the_log_by_a_line_a_second() {
    let _turn = common::shared().await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let sink = JsonLinesSink::builder(&log)
        .max_bytes(1 << 30)
        .open()
        .unwrap();
    let server = common::start(Setup {
        audit_to: vec![Arc::new(sink)],
        ..Setup::default()
    })
    .await;
    let mut owner = Client::enrolled(&server).await;
    owner.post("/auth/lock", json!({})).await;
    for _ in 0..3 {
        owner
            .post("/auth/unlock", json!({ "passphrase": "Wrong-Guess-0000!" }))
            .await;
    }
    // Locked out now (3 failures, 30 s): a flood of refused attempts, from clients the
    // per-address limit does not slow down (as from many addresses).
    let before = std::fs::metadata(&log).unwrap().len();
    const FLOOD: usize = 2_000;
    const CLIENTS: usize = 8;
    let started = Instant::now();
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let mut client = owner.clone();
            tokio::spawn(async move {
                for _ in 0..FLOOD / CLIENTS {
                    let a = client
                        .post("/auth/unlock", json!({ "passphrase": "Wrong-Guess-0000!" }))
                        .await;
                    assert_eq!(a.status, 429, "{a:?}");
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let took = started.elapsed();
    let grown = std::fs::metadata(&log).unwrap().len() - before;
    let text = std::fs::read_to_string(&log).unwrap();
    let refused: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["kind"] == "attempt_refused")
        .collect();
    eprintln!(
        "flood: {FLOOD} refused unlocks in {took:.2?}: {} attempt_refused events, {grown} bytes \
         of audit log",
        refused.len()
    );
    // One event a second at most (the first at once), each counting what it stands for.
    let seconds = usize::try_from(took.as_secs()).unwrap() + 1;
    assert!(refused.len() <= seconds + 1, "{} events", refused.len());
    assert!(grown < 250 * (seconds as u64 + 1), "{grown} bytes");
    let counted: u64 = refused.iter().map(|e| e["count"].as_u64().unwrap()).sum();
    assert!(counted <= FLOOD as u64 && counted >= 1, "{counted}");
    assert_eq!(
        server.vault.lockout_state().unwrap().failures,
        3,
        "the lockout held"
    );
}
