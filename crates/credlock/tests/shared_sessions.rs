//! Shared sessions on PostgreSQL (the store's own contract is tested in
//! `credlock-store-postgres`): two replicas (two
//! registries with connections of their own on one database, on one fake clock) where a
//! token minted on one opens the vault on the other without the passphrase, until a lock,
//! a logout, a revocation, a passphrase change or its expiry; and a database that holds no
//! token and no key.
//!
//! A throwaway server is started (see `credlock_store_postgres::testing`); without
//! PostgreSQL the tests say so, and fail if `CREDLOCK_REQUIRE_PG=1`.

#![allow(clippy::unwrap_used, clippy::panic)]
#![cfg(feature = "postgres")]

mod common;
#[path = "common/v3.rs"]
mod v3;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use common::{OTHER_PASS, PASS, creds, secret, valid};
use credlock::registry::PostgresStoreSet;
use credlock::secrecy::ExposeSecret as _;
use credlock::sessions::{PostgresSessions, Scope, SessionRequest};
use credlock::{Error, FakeClock, Registry, SessionState, UserId, Vault};
use credlock_store_postgres::postgres::{Config, NoTls};
use credlock_store_postgres::testing::TestServer;

const MIN: Duration = Duration::from_secs(60);

/// One replica: a registry with shared sessions on its own connections, on `clock`.
fn replica(config: &Config, clock: &FakeClock) -> Registry {
    let set = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let clock = clock.clone();
    Registry::builder(set.clone())
        .shared_sessions(PostgresSessions::new(set))
        .vault_options(move |b| {
            b.insecure_kdf_iterations(common::TEST_ITERATIONS)
                .without_tracing_audit()
                .insecure_clock(clock.clone())
                .idle_timeout(5 * MIN)
        })
        .open()
        .unwrap()
}

fn alice() -> UserId {
    UserId::new("alice@example.com").unwrap()
}

fn bob() -> UserId {
    UserId::new("bob@example.com").unwrap()
}

/// Two replicas on a fresh database; alice's vault stored and unlocked on A, locked on B.
struct Pair {
    _server: Arc<TestServer>,
    config: Config,
    clock: FakeClock,
    a: Arc<Vault>,
    b: Arc<Vault>,
    _registries: (Registry, Registry),
}

fn pair() -> Option<Pair> {
    let server = TestServer::shared()?;
    let config = server.database();
    let clock = FakeClock::new();
    let (ra, rb) = (replica(&config, &clock), replica(&config, &clock));
    let a = ra.vault(&alice()).unwrap();
    a.store(creds(), valid(PASS)).unwrap();
    let b = rb.vault(&alice()).unwrap();
    assert_eq!(b.status(), SessionState::Locked);
    Some(Pair {
        _server: server,
        config,
        clock,
        a,
        b,
        _registries: (ra, rb),
    })
}

fn mint(v: &Vault, request: SessionRequest) -> String {
    v.mint_session(request)
        .unwrap()
        .token
        .expose_secret()
        .to_owned()
}

fn client(p: &Pair) -> credlock_store_postgres::postgres::Client {
    p.config.connect(NoTls).unwrap()
}

fn is_invalid<T: std::fmt::Debug>(r: Result<T, Error>) -> bool {
    matches!(r, Err(Error::InvalidToken))
}

#[test]
fn a_token_minted_on_one_replica_opens_the_vault_on_the_other() {
    let Some(p) = pair() else { return };
    let token = mint(&p.a, SessionRequest::client("browser"));
    let bot = mint(&p.a, SessionRequest::api_token("bot", Scope::Totp));

    // B never saw the passphrase: the token opens the record for the request only.
    let read = p.b.credentials_for(&token).unwrap();
    assert_eq!(read.email(), "alice@example.com");
    assert_eq!(read.password().expose_secret(), "monarch-pw-123");
    assert_eq!(
        p.b.totp_for(&bot).unwrap().code().expose_secret(),
        p.a.totp().unwrap().code().expose_secret()
    );
    assert!(p.b.validate_session(&token, Scope::Manage).is_ok());
    assert_eq!(p.b.status(), SessionState::Locked, "the key is not kept");
    assert!(matches!(p.b.credentials(), Err(Error::Locked)));
    // Scopes hold on every replica.
    assert!(matches!(
        p.b.credentials_for(&bot),
        Err(Error::ScopeRefused { .. })
    ));
    // Both replicas list both sessions, and B's use is A's last use.
    p.clock.advance(MIN);
    p.b.validate_session(&token, Scope::Totp).unwrap();
    for v in [&p.a, &p.b] {
        let listed = v.sessions().unwrap();
        assert_eq!(listed.len(), 2);
        let browser = listed.iter().find(|s| s.label == "browser").unwrap();
        assert_eq!(browser.last_used_at, p.clock.wall());
    }
}

#[test]
fn a_changed_token_or_a_row_without_its_token_opens_nothing() {
    let Some(p) = pair() else { return };
    let token = mint(&p.a, SessionRequest::client("browser"));
    let other = mint(&p.a, SessionRequest::client("other"));

    // One byte of the token changed: refused, on both replicas.
    let mut raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&token[4..])
        .unwrap();
    raw[17] ^= 1;
    let forged = format!(
        "clk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw)
    );
    assert!(is_invalid(p.b.credentials_for(&forged)));
    assert!(is_invalid(p.a.credentials_for(&forged)));

    // With write access to the database but not the token: the victim's sealed key copied
    // into a row the attacker holds a token for opens nothing.
    let mut c = client(&p);
    c.execute(
        "UPDATE credlock_sessions SET sealed_key = \
         (SELECT sealed_key FROM credlock_sessions WHERE label = 'browser') \
         WHERE label = 'other'",
        &[],
    )
    .unwrap();
    assert!(is_invalid(p.b.credentials_for(&other)));
    // A row without a sealed key serves nothing where the vault is locked.
    c.execute(
        "UPDATE credlock_sessions SET sealed_key = NULL WHERE label = 'browser'",
        &[],
    )
    .unwrap();
    assert!(is_invalid(p.b.credentials_for(&token)));
}

#[test]
fn the_database_holds_no_token_and_no_key() {
    let Some(p) = pair() else { return };
    let token = mint(&p.a, SessionRequest::client("browser"));
    p.b.credentials_for(&token).unwrap();

    let mut c = client(&p);
    let dump: String = c
        .query("SELECT row_to_json(s)::text FROM credlock_sessions s", &[])
        .unwrap()
        .iter()
        .map(|r| r.get::<_, String>(0))
        .collect();
    assert!(
        dump.contains("browser"),
        "the dump is the session's row: {dump}"
    );

    // The vault key, derived here from the stored record's parameters.
    let record: Vec<u8> = c
        .query_one(
            "SELECT record FROM credlock_records WHERE record IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    let file: serde_json::Value = serde_json::from_slice(&record).unwrap();
    let keys = v3::keys(&file, PASS);

    let token_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&token[4..])
        .unwrap();
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let b64 = |b: &[u8]| {
        [
            base64::engine::general_purpose::STANDARD.encode(b),
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b),
        ]
    };
    let mut secrets = vec![token.clone(), hex(&token_bytes)];
    secrets.extend(b64(&token_bytes));
    // The passphrase's KDF output and the data key, whole and by halves.
    for key in &keys {
        secrets.extend([hex(key), hex(&key[..16]), hex(&key[16..])]);
        secrets.extend(b64(key));
        secrets.push(base64::engine::general_purpose::URL_SAFE.encode(key));
    }
    for s in &secrets {
        assert!(!dump.contains(s.as_str()), "the row holds a secret");
    }
    // The row's raw bytes, too (the digest and the sealed key).
    let raw: Vec<u8> = c
        .query_one(
            "SELECT digest || convert_to(sealed_key, 'UTF8') FROM credlock_sessions",
            &[],
        )
        .unwrap()
        .get(0);
    for needle in std::iter::once(&token_bytes[..]).chain(keys.iter().map(|k| &k[..])) {
        assert!(!raw.windows(needle.len()).any(|w| w == needle));
    }
}

#[test]
fn revocation_lock_and_logout_on_one_replica_are_refused_on_the_other() {
    let Some(p) = pair() else { return };
    let (t1, t2) = (
        mint(&p.a, SessionRequest::client("one")),
        mint(&p.a, SessionRequest::client("two")),
    );
    p.b.credentials_for(&t1).unwrap();
    let id = p.b.validate_session(&t1, Scope::Totp).unwrap().id;
    assert!(p.a.revoke_session(&id).unwrap());
    assert!(is_invalid(p.b.credentials_for(&t1)));
    p.b.credentials_for(&t2).unwrap();

    p.a.lock();
    assert!(is_invalid(p.b.credentials_for(&t2)));
    assert!(p.b.sessions().unwrap().is_empty());

    // A lock on a replica that was never unlocked locks the user out of every session too.
    p.a.unlock(&secret(PASS)).unwrap();
    let t3 = mint(&p.a, SessionRequest::client("three"));
    p.b.lock();
    assert!(is_invalid(p.a.credentials_for(&t3)));
    // A heard the lock and dropped its key.
    let start = std::time::Instant::now();
    while p.a.status() != SessionState::Locked {
        assert!(start.elapsed() < Duration::from_secs(10), "A never heard");
        std::thread::sleep(Duration::from_millis(1));
    }
    p.a.unlock(&secret(PASS)).unwrap();

    // Logout deletes the record and the rows.
    let t4 = mint(&p.a, SessionRequest::client("four"));
    p.b.credentials_for(&t4).unwrap();
    p.a.logout().unwrap();
    assert!(is_invalid(p.b.credentials_for(&t4)));
    let rows: i64 = client(&p)
        .query_one("SELECT count(*) FROM credlock_sessions", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
}

#[test]
fn sessions_expire_on_read_on_every_replica() {
    let Some(p) = pair() else { return };
    let idle = mint(
        &p.a,
        SessionRequest::client("idle").with_idle_timeout(10 * MIN),
    );
    let aged = mint(
        &p.a,
        SessionRequest::api_token("aged", Scope::ReadCredentials).expires_in(30 * MIN),
    );
    // A's own idle lock (5 minutes) drops A's key but revokes no shared session.
    p.clock.advance(9 * MIN);
    assert_eq!(p.a.status(), SessionState::Locked);
    p.b.credentials_for(&idle).unwrap(); // a use on B restarts the session's idle clock
    p.clock.advance(9 * MIN);
    p.a.credentials_for(&idle).unwrap(); // A is locked now: served through the row too
    p.clock.advance(10 * MIN);
    assert!(matches!(
        p.b.credentials_for(&idle),
        Err(Error::TokenExpired)
    ));
    assert!(is_invalid(p.a.credentials_for(&idle)), "the row is gone");
    p.b.credentials_for(&aged).unwrap();
    p.clock.advance(2 * MIN);
    assert!(matches!(p.b.totp_for(&aged), Err(Error::TokenExpired)));
    assert!(p.a.sessions().unwrap().is_empty());
}

#[test]
fn rotation_and_a_passphrase_change_reach_every_replica() {
    let Some(p) = pair() else { return };
    let minted =
        p.a.mint_session(SessionRequest::api_token("bot", Scope::ReadCredentials))
            .unwrap();
    let old = minted.token.expose_secret().to_owned();
    p.b.credentials_for(&old).unwrap();
    let new = p.a.rotate_session(&minted.info.id).unwrap();
    assert!(is_invalid(p.b.credentials_for(&old)));
    p.b.credentials_for(new.token.expose_secret()).unwrap();
    // The locked replica cannot rotate: the key it would seal is not there.
    assert!(matches!(
        p.b.rotate_session(&minted.info.id),
        Err(Error::Locked)
    ));

    // A passphrase change revokes the shared sessions (their keys were sealed under the old
    // passphrase's key).
    let t = mint(&p.a, SessionRequest::client("browser"));
    p.a.change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    assert!(is_invalid(p.b.credentials_for(&t)));
    assert!(is_invalid(p.b.credentials_for(new.token.expose_secret())));
}

#[test]
fn a_key_changed_elsewhere_is_refused_and_its_session_removed() {
    let Some(p) = pair() else { return };
    let t = mint(&p.a, SessionRequest::client("browser"));
    // The record re-sealed under another key behind the rows' back (as a KDF upgrade on
    // another replica does): the sealed key opens nothing, and the row goes.
    let mut c = client(&p);
    let fresh_set = PostgresStoreSet::builder(p.config.clone()).open().unwrap();
    let fresh = Registry::builder(fresh_set)
        .vault_options(|b| {
            b.insecure_kdf_iterations(common::TEST_ITERATIONS + 1)
                .without_tracing_audit()
        })
        .open()
        .unwrap();
    let v = fresh.vault(&alice()).unwrap();
    v.replace(creds(), valid(OTHER_PASS)).unwrap();
    assert!(is_invalid(p.b.credentials_for(&t)));
    let rows: i64 = c
        .query_one("SELECT count(*) FROM credlock_sessions", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
}

#[test]
fn one_users_lock_leaves_another_users_sessions() {
    let Some(p) = pair() else { return };
    let rb = replica(&p.config, &p.clock);
    let ra = replica(&p.config, &p.clock);
    let bob_a = ra.vault(&bob()).unwrap();
    bob_a.store(creds(), valid(OTHER_PASS)).unwrap();
    let bob_token = mint(&bob_a, SessionRequest::client("bob"));
    let alice_token = mint(&p.a, SessionRequest::client("alice"));
    let bob_b = rb.vault(&bob()).unwrap();
    // Tokens are per user: alice's token is not a session of bob's vault.
    assert!(is_invalid(bob_b.credentials_for(&alice_token)));
    p.a.lock();
    assert!(is_invalid(p.b.credentials_for(&alice_token)));
    bob_b.credentials_for(&bob_token).unwrap();
    // Removing a user removes their sessions.
    ra.remove_user(&bob()).unwrap();
    assert!(is_invalid(bob_b.credentials_for(&bob_token)));
}

#[test]
fn a_corrupt_row_is_refused_with_a_clear_error() {
    let Some(p) = pair() else { return };
    let token = mint(&p.a, SessionRequest::client("browser"));
    client(&p)
        .execute("UPDATE credlock_sessions SET kind = 'root'", &[])
        .unwrap();
    let err = p.b.credentials_for(&token).unwrap_err();
    assert!(matches!(err, Error::SessionStore(_)), "{err}");
    let source = std::error::Error::source(&err).unwrap().to_string();
    assert!(source.contains("a session kind is unknown"), "{source}");
    assert!(!format!("{err:?}").contains(&token[4..]));
    for (fault, expected) in [
        (
            "kind = 'client', created_ms = -1",
            "a session time is negative",
        ),
        (
            "created_ms = 0, digest = '\\x00'",
            "a session digest is not 32 bytes",
        ),
    ] {
        client(&p)
            .execute(&format!("UPDATE credlock_sessions SET {fault}"), &[])
            .unwrap();
        let err = p.a.sessions().unwrap_err();
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.contains(expected), "{source}");
    }
}

/// What an attacker with a copy of the database and a token computes, from the documented
/// construction alone: the grant sealed in the token's row, as JSON.
fn open_grant_as_attacker(
    sealed: &str,
    session_id: &str,
    token: &str,
) -> Option<serde_json::Value> {
    use hkdf::Hkdf;
    use sha2::Sha256;
    let bits = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&token[4..])
        .ok()?;
    let mut info = b"credlock shared session grant v2 ".to_vec();
    info.extend_from_slice(session_id.as_bytes());
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(None, &bits)
        .expand(&info, &mut key)
        .ok()?;
    let plain = credlock_crypto::FernetKey::from_bytes(&key)
        .open(sealed)
        .ok()?;
    serde_json::from_slice(&plain).ok()
}

/// Every row of the sessions table: (id, label, sealed grant).
fn rows(p: &Pair) -> Vec<(String, String, String)> {
    client(p)
        .query("SELECT id, label, sealed_key FROM credlock_sessions", &[])
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

/// The stored vault record (the file's bytes).
fn record(p: &Pair) -> serde_json::Value {
    let bytes: Vec<u8> = client(p)
        .query_one(
            "SELECT record FROM credlock_records WHERE record IS NOT NULL",
            &[],
        )
        .unwrap()
        .get(0);
    serde_json::from_slice(&bytes).unwrap()
}

/// Attack 1: a copy of the database and a TOTP-only token. The token's grant holds the MFA
/// secret its scope serves, never the data key: the password stays out of reach.
#[test]
fn a_database_copy_and_a_totp_only_token_never_give_the_password() {
    let Some(p) = pair() else { return };
    let bot = mint(&p.a, SessionRequest::api_token("bot", Scope::Totp));
    let (id, _, sealed) = rows(&p).into_iter().find(|r| r.1 == "bot").unwrap();
    let grant = open_grant_as_attacker(&sealed, &id, &bot).unwrap();
    assert!(
        grant["key"].is_null(),
        "a TOTP-only grant holds no data key"
    );
    assert_eq!(grant["mfa_secret"], "JBSWY3DPEHPK3PXP");
    let everything = format!("{grant}{}", record(&p));
    assert!(!everything.contains("monarch-pw-123"));
    // Through the API, too: the scope refuses, on every replica.
    for v in [&p.a, &p.b] {
        assert!(matches!(
            v.credentials_for(&bot),
            Err(Error::ScopeRefused { .. })
        ));
    }
    // It still serves what its scope promises, on the locked replica.
    assert_eq!(
        p.b.totp_for(&bot).unwrap().code().expose_secret(),
        p.a.totp().unwrap().code().expose_secret()
    );
}

/// Attack 2: widening a token in the database (`scopes = 7, expires_ms = NULL`). The terms
/// sealed in the grant rule: the row is refused (and removed) on every replica.
#[test]
fn a_session_widened_or_lengthened_in_the_database_is_refused() {
    let Some(p) = pair() else { return };
    let bot = mint(&p.a, SessionRequest::api_token("bot", Scope::Totp));
    let browser = mint(
        &p.a,
        SessionRequest::client("browser").expires_in(Duration::from_secs(3600)),
    );
    let mut c = client(&p);
    c.execute(
        "UPDATE credlock_sessions SET scopes = 7, expires_ms = NULL WHERE label = 'bot'",
        &[],
    )
    .unwrap();
    assert!(is_invalid(p.b.credentials_for(&bot)));
    assert!(is_invalid(p.a.totp_for(&bot)), "removed once refused");
    c.execute(
        "UPDATE credlock_sessions SET expires_ms = NULL WHERE label = 'browser'",
        &[],
    )
    .unwrap();
    assert!(
        is_invalid(p.a.credentials_for(&browser)),
        "unlocked replica"
    );
    assert!(is_invalid(p.b.credentials_for(&browser)));
}

/// Attack 3: a copy of the database taken while a full token was valid; the owner then
/// revokes every session and changes the passphrase. The copy and the revoked token give
/// the old data key, which opens nothing written since.
#[test]
fn after_revoking_everything_an_old_copy_and_a_revoked_token_open_nothing_current() {
    let Some(p) = pair() else { return };
    let token = mint(&p.a, SessionRequest::client("browser"));
    let (id, _, sealed) = rows(&p).into_iter().next().unwrap();
    let old_record = record(&p);

    p.a.revoke_all_sessions().unwrap();
    p.a.change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    p.a.update_credentials(credlock::Credentials::new(
        "alice@example.com",
        secret("new-monarch-pw"),
    ))
    .unwrap();

    let grant = open_grant_as_attacker(&sealed, &id, &token).unwrap();
    let old_key = base64::engine::general_purpose::URL_SAFE
        .decode(grant["key"].as_str().unwrap())
        .unwrap();
    let old_key = credlock_crypto::FernetKey::from_bytes(&old_key.try_into().unwrap());
    // The old copy opens with it (it was the data key then)...
    assert!(old_key.open(old_record["token"].as_str().unwrap()).is_ok());
    // ...and nothing current does.
    let current = record(&p);
    assert!(current["epoch"].as_u64() > old_record["epoch"].as_u64());
    assert!(old_key.open(current["token"].as_str().unwrap()).is_err());
    // Nor does the API, on any replica.
    assert!(is_invalid(p.b.credentials_for(&token)));
    assert!(is_invalid(p.a.credentials_for(&token)));
}
