//! Client sessions and API tokens: mint, validate, scopes, expiry, revocation, rotation, and
//! their audit trail, on a fake clock.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use common::*;
use credlock::audit::{AuditError, AuditEvent, AuditSink, EventKind, FailingSink, MemorySink};
use credlock::sessions::{Scope, Scopes, SessionKind, SessionRequest};
use credlock::{Error, ErrorKind, FakeClock, SessionState, Vault};

const MIN: Duration = Duration::from_secs(60);

/// An unlocked vault on a fake clock, without an idle lock (unless the test sets one),
/// auditing to memory.
fn vault(idle: Option<Duration>) -> (tempfile::TempDir, Vault, FakeClock, MemorySink) {
    let (dir, path) = temp_vault();
    let clock = FakeClock::new();
    let trail = MemorySink::new();
    let b = builder(&path)
        .insecure_clock(clock.clone())
        .audit_to(trail.clone());
    let b = match idle {
        Some(d) => b.idle_timeout(d),
        None => b.without_idle_timeout(),
    };
    let v = b.open().unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    (dir, v, clock, trail)
}

fn kinds(trail: &MemorySink) -> Vec<EventKind> {
    trail.events().iter().map(|e| e.kind).collect()
}

#[test]
fn a_minted_token_validates_and_lists_without_its_secret() {
    let (_d, v, _c, trail) = vault(None);
    let minted = v
        .mint_session(SessionRequest::client("Firefox\n on Linux"))
        .unwrap();
    let token = minted.token.expose_secret().to_owned();
    assert!(token.starts_with("clk_") && token.len() == 47);
    let info = v.validate_session(&token, Scope::ReadCredentials).unwrap();
    assert_eq!(info.id, minted.info.id);
    assert_eq!(info.kind, SessionKind::Client);
    assert_eq!(info.label, "Firefox on Linux");
    assert_eq!(info.scopes, Scopes::ALL);
    assert!(info.expires_at.is_some());
    assert_eq!(info.idle_timeout, Some(SessionRequest::CLIENT_IDLE_TIMEOUT));

    let listed = v.sessions().unwrap();
    assert_eq!(listed.len(), 1);
    let shown = format!(
        "{} {listed:?} {minted:?}",
        serde_json::to_string(&listed).unwrap()
    );
    let digest = {
        use base64::Engine as _;
        use sha2::Digest as _;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&token[4..])
            .unwrap();
        sha2::Sha256::digest(&raw)
    };
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!shown.contains(&token[4..]), "the token is never listed");
    assert!(!shown.contains(&hex), "nor its digest");
    assert!(!shown.contains(&format!("{:?}", digest.as_slice())));
    assert!(shown.contains(minted.info.id.as_str()));

    let last = trail
        .events()
        .into_iter()
        .find(|e| e.kind == EventKind::SessionMinted);
    assert_eq!(
        last.unwrap().session.as_deref(),
        Some(minted.info.id.as_str())
    );
}

#[test]
fn a_token_differing_in_one_byte_is_refused() {
    let (_d, v, _c, _t) = vault(None);
    let minted = v.mint_session(SessionRequest::client("cli")).unwrap();
    let token = minted.token.expose_secret().to_owned();
    for i in 0..token.len() {
        let mut bytes = token.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let wrong = String::from_utf8(bytes).unwrap();
        let err = v.validate_session(&wrong, Scope::Totp).unwrap_err();
        assert!(matches!(err, Error::InvalidToken), "byte {i}: {err:?}");
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }
    // Malformed tokens are refused the same way.
    for wrong in ["", "clk_", "Bearer x", &token[..46], &format!("{token}A")] {
        assert!(matches!(
            v.validate_session(wrong, Scope::Totp),
            Err(Error::InvalidToken)
        ));
    }
    assert!(v.validate_session(&token, Scope::Totp).is_ok());
}

#[test]
fn scopes_are_enforced() {
    let (_d, v, _c, _t) = vault(None);
    let totp_only = v
        .mint_session(SessionRequest::api_token("bot", Scope::Totp))
        .unwrap();
    let t = totp_only.token.expose_secret();
    assert!(v.validate_session(t, Scope::Totp).is_ok());
    assert!(v.totp_for(t).is_ok());
    for scope in [Scope::ReadCredentials, Scope::Manage] {
        let err = v.validate_session(t, scope).unwrap_err();
        assert!(matches!(err, Error::ScopeRefused { needed } if needed == scope));
        assert_eq!(err.kind(), ErrorKind::Forbidden);
    }
    assert!(matches!(
        v.credentials_for(t),
        Err(Error::ScopeRefused { .. })
    ));

    let reader = v
        .mint_session(SessionRequest::client("reader").scopes(Scope::ReadCredentials))
        .unwrap();
    let r = reader.token.expose_secret();
    assert_eq!(v.credentials_for(r).unwrap().email(), "alice@example.com");
    assert!(
        v.totp_for(r).is_ok(),
        "reading the secret implies its codes"
    );
    assert!(v.validate_session(r, Scope::Manage).is_err());

    assert!(matches!(
        v.mint_session(SessionRequest::client("none").scopes(Scopes::NONE)),
        Err(Error::InvalidOption { name: "scopes" })
    ));
}

#[test]
fn client_sessions_expire_when_idle_and_by_age() {
    let (_d, v, clock, _t) = vault(None);
    let idle = v
        .mint_session(SessionRequest::client("idle").with_idle_timeout(10 * MIN))
        .unwrap();
    let aged = v
        .mint_session(
            SessionRequest::client("aged")
                .with_idle_timeout(1000 * MIN)
                .expires_in(25 * MIN),
        )
        .unwrap();
    let (i, a) = (idle.token.expose_secret(), aged.token.expose_secret());
    clock.advance(9 * MIN);
    assert!(
        v.validate_session(i, Scope::Totp).is_ok(),
        "use restarts the idle clock"
    );
    clock.advance(9 * MIN);
    assert!(v.validate_session(i, Scope::Totp).is_ok());
    assert!(v.validate_session(a, Scope::Totp).is_ok());
    clock.advance(10 * MIN);
    assert!(matches!(
        v.validate_session(i, Scope::Totp),
        Err(Error::TokenExpired)
    ));
    assert!(matches!(
        v.validate_session(a, Scope::Totp),
        Err(Error::TokenExpired)
    ));
    assert_eq!(Error::TokenExpired.kind(), ErrorKind::Unauthenticated);
    // An expired session is removed: listed no more, and then unknown.
    assert!(v.sessions().unwrap().is_empty());
    assert!(matches!(
        v.validate_session(i, Scope::Totp),
        Err(Error::InvalidToken)
    ));
}

#[test]
fn api_tokens_have_no_idle_expiry_but_expire_by_age() {
    let (_d, v, clock, _t) = vault(None);
    let minted = v
        .mint_session(
            SessionRequest::api_token("nightly", Scope::Totp)
                .with_idle_timeout(MIN)
                .expires_in(Duration::from_secs(30 * 24 * 3600)),
        )
        .unwrap();
    assert_eq!(minted.info.kind, SessionKind::ApiToken);
    assert_eq!(minted.info.idle_timeout, None);
    let t = minted.token.expose_secret();
    clock.advance(Duration::from_secs(29 * 24 * 3600));
    assert!(v.validate_session(t, Scope::Totp).is_ok());
    clock.advance(Duration::from_secs(24 * 3600));
    assert!(matches!(
        v.validate_session(t, Scope::Totp),
        Err(Error::TokenExpired)
    ));
}

#[test]
fn revoke_one_and_revoke_all() {
    let (_d, v, _c, trail) = vault(None);
    let a = v.mint_session(SessionRequest::client("a")).unwrap();
    let b = v.mint_session(SessionRequest::client("b")).unwrap();
    let c = v
        .mint_session(SessionRequest::api_token("c", Scope::Totp))
        .unwrap();
    assert!(v.revoke_session(&a.info.id).unwrap());
    assert!(!v.revoke_session(&a.info.id).unwrap(), "already gone");
    assert!(matches!(
        v.validate_session(a.token.expose_secret(), Scope::Totp),
        Err(Error::InvalidToken)
    ));
    assert!(
        v.validate_session(b.token.expose_secret(), Scope::Totp)
            .is_ok()
    );
    assert_eq!(v.revoke_all_sessions().unwrap(), 2);
    for t in [&b, &c] {
        assert!(matches!(
            v.validate_session(t.token.expose_secret(), Scope::Totp),
            Err(Error::InvalidToken)
        ));
    }
    assert!(v.sessions().unwrap().is_empty());
    let k = kinds(&trail);
    assert!(k.contains(&EventKind::SessionRevoked));
    assert!(k.contains(&EventKind::SessionsRevoked));
}

#[test]
fn lock_and_logout_revoke_every_session() {
    let (_d, v, _c, trail) = vault(None);
    let s = v.mint_session(SessionRequest::client("a")).unwrap();
    v.lock();
    assert!(v.sessions().unwrap().is_empty());
    let revoked = trail
        .events()
        .into_iter()
        .find(|e| e.kind == EventKind::SessionsRevoked)
        .unwrap();
    assert_eq!(revoked.operation, Some("lock"));
    assert!(matches!(
        v.mint_session(SessionRequest::client("b")),
        Err(Error::Locked)
    ));
    v.unlock(&secret(PASS)).unwrap();
    assert!(
        matches!(
            v.validate_session(s.token.expose_secret(), Scope::Totp),
            Err(Error::InvalidToken)
        ),
        "a new unlock does not revive old sessions"
    );

    let s = v.mint_session(SessionRequest::client("c")).unwrap();
    v.logout().unwrap();
    assert_eq!(v.status(), SessionState::NoCredentials);
    assert!(v.sessions().unwrap().is_empty());
    assert!(matches!(
        v.validate_session(s.token.expose_secret(), Scope::Totp),
        Err(Error::InvalidToken)
    ));
    assert!(
        trail
            .events()
            .iter()
            .any(|e| e.kind == EventKind::SessionsRevoked && e.operation == Some("logged_out"))
    );
}

#[test]
fn rotation_refuses_the_old_token_at_once() {
    let (_d, v, _c, trail) = vault(None);
    let first = v
        .mint_session(SessionRequest::api_token("deploy", Scope::Totp))
        .unwrap();
    let second = v.rotate_session(&first.info.id).unwrap();
    assert_eq!(second.info.id, first.info.id);
    assert_eq!(second.info.label, "deploy");
    assert_eq!(second.info.scopes, first.info.scopes);
    assert_eq!(second.info.expires_at, first.info.expires_at);
    assert_ne!(second.token.expose_secret(), first.token.expose_secret());
    assert!(matches!(
        v.validate_session(first.token.expose_secret(), Scope::Totp),
        Err(Error::InvalidToken)
    ));
    assert!(
        v.validate_session(second.token.expose_secret(), Scope::Totp)
            .is_ok()
    );
    assert!(kinds(&trail).contains(&EventKind::SessionRotated));
    v.revoke_session(&first.info.id).unwrap();
    assert!(matches!(
        v.rotate_session(&first.info.id),
        Err(Error::InvalidToken)
    ));
}

#[test]
fn refusals_are_audited_at_most_once_a_second() {
    let (_d, v, clock, trail) = vault(None);
    let refused = |trail: &MemorySink| {
        trail
            .events()
            .into_iter()
            .filter(|e| e.kind == EventKind::SessionRefused)
            .collect::<Vec<_>>()
    };
    for _ in 0..5 {
        let _ = v.validate_session("clk_guess", Scope::Totp);
    }
    assert_eq!(refused(&trail).len(), 1);
    assert_eq!(refused(&trail)[0].failures, Some(1));
    clock.advance(Duration::from_secs(1));
    let _ = v.validate_session("clk_guess", Scope::Totp);
    let events = refused(&trail);
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1].failures,
        Some(5),
        "the four not audited, and this one"
    );
    assert_eq!(events[1].operation, Some("invalid"));
    assert!(EventKind::SessionRefused.is_warning());

    // Each refusal names its reason: a scope the token lacks, a token past its lifetime.
    let bot = v
        .mint_session(
            SessionRequest::api_token("bot", Scope::Totp).expires_in(Duration::from_secs(60)),
        )
        .unwrap();
    clock.advance(Duration::from_secs(1));
    assert!(matches!(
        v.validate_session(bot.token.expose_secret(), Scope::Manage),
        Err(Error::ScopeRefused { .. })
    ));
    clock.advance(Duration::from_secs(60));
    assert!(matches!(
        v.validate_session(bot.token.expose_secret(), Scope::Totp),
        Err(Error::TokenExpired)
    ));
    let reasons: Vec<_> = refused(&trail).iter().map(|e| e.operation).collect();
    assert_eq!(
        reasons[2..],
        [Some("scope"), Some("expired")],
        "{reasons:?}"
    );
}

#[test]
fn validating_a_token_keeps_the_vault_unlocked() {
    let (_d, v, clock, _t) = vault(Some(15 * MIN));
    let s = v.mint_session(SessionRequest::client("a")).unwrap();
    for _ in 0..4 {
        clock.advance(10 * MIN);
        v.validate_session(s.token.expose_secret(), Scope::Totp)
            .unwrap();
    }
    assert_eq!(v.status(), SessionState::Unlocked);
    clock.advance(15 * MIN);
    assert_eq!(v.status(), SessionState::Locked);
    assert!(
        v.sessions().unwrap().is_empty(),
        "the idle lock revokes the sessions"
    );
}

/// Fails the mint and rotation events only.
#[derive(Debug)]
struct FailSessionEvents;

impl AuditSink for FailSessionEvents {
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        match event.kind {
            EventKind::SessionMinted | EventKind::SessionRotated => {
                FailingSink::new().record(event)
            }
            _ => Ok(()),
        }
    }

    fn describe(&self) -> String {
        String::from("fails session events")
    }
}

#[test]
fn with_fail_closed_auditing_an_unaudited_session_is_not_kept() {
    let (_dir, path) = temp_vault();
    let v = builder(&path)
        .audit_to(FailSessionEvents)
        .audit_fail_closed()
        .without_idle_timeout()
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    assert!(matches!(
        v.mint_session(SessionRequest::client("a")),
        Err(Error::AuditFailed(_))
    ));
    assert!(
        v.sessions().unwrap().is_empty(),
        "the unaudited session is gone"
    );
}

#[test]
fn a_passphrase_change_revokes_every_session_and_token() {
    let (_d, v, _c, trail) = vault(None);
    let browser = v.mint_session(SessionRequest::client("a")).unwrap();
    let bot = v
        .mint_session(SessionRequest::api_token("bot", Scope::Totp))
        .unwrap();
    trail.clear();
    v.change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    for token in [&browser.token, &bot.token] {
        assert!(matches!(
            v.validate_session(token.expose_secret(), Scope::Totp),
            Err(Error::InvalidToken)
        ));
    }
    assert!(v.sessions().unwrap().is_empty());
    let revoked = trail
        .events()
        .into_iter()
        .find(|e| e.kind == EventKind::SessionsRevoked)
        .unwrap();
    assert_eq!(revoked.operation, Some("passphrase_change"));
    assert_eq!(
        v.status(),
        SessionState::Unlocked,
        "the vault stays unlocked"
    );
}

#[test]
fn a_passphrase_change_can_keep_the_session_that_asked_for_it() {
    let (_d, v, _c, trail) = vault(None);
    let me = v.mint_session(SessionRequest::client("me")).unwrap();
    let other = v.mint_session(SessionRequest::client("other")).unwrap();
    let bot = v
        .mint_session(SessionRequest::api_token("bot", Scope::Totp))
        .unwrap();
    trail.clear();
    v.change_passphrase_keeping(&secret(PASS), valid(OTHER_PASS), &me.info.id)
        .unwrap();
    assert!(
        v.validate_session(me.token.expose_secret(), Scope::Manage)
            .is_ok()
    );
    for token in [&other.token, &bot.token] {
        assert!(matches!(
            v.validate_session(token.expose_secret(), Scope::Totp),
            Err(Error::InvalidToken)
        ));
    }
    let listed: Vec<_> = v.sessions().unwrap().into_iter().map(|s| s.id).collect();
    assert_eq!(listed, std::slice::from_ref(&me.info.id));
    assert!(
        trail
            .events()
            .iter()
            .any(|e| e.kind == EventKind::SessionsRevoked
                && e.operation == Some("passphrase_change"))
    );
    // A wrong old passphrase changes nothing and revokes nothing.
    assert!(matches!(
        v.change_passphrase_keeping(&secret("wrong"), valid(PASS), &me.info.id),
        Err(Error::WrongPassphrase)
    ));
    assert!(
        v.validate_session(me.token.expose_secret(), Scope::Manage)
            .is_ok()
    );
}

#[test]
fn replacing_the_credentials_revokes_sessions() {
    let (_d, v, _c, _t) = vault(None);
    let s = v.mint_session(SessionRequest::client("a")).unwrap();
    v.replace(creds(), valid(PASS)).unwrap();
    assert!(matches!(
        v.validate_session(s.token.expose_secret(), Scope::Totp),
        Err(Error::InvalidToken)
    ));
}

/// Found by the `vault_ops` fuzz target: mint, replace, validate, revoke.
#[test]
fn a_session_revoked_by_a_replacement_is_not_listed_or_revoked_again() {
    let (_d, v, _c, _t) = vault(None);
    let s = v.mint_session(SessionRequest::client("a")).unwrap();
    v.replace(creds(), valid(PASS)).unwrap();
    assert!(
        v.validate_session(s.token.expose_secret(), Scope::Totp)
            .is_err()
    );
    assert!(v.sessions().unwrap().is_empty());
    assert!(!v.revoke_session(&s.info.id).unwrap(), "already revoked");
}
