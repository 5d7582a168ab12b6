//! The idle lock on a clock that counts suspend, and the activity that restarts it, on a
//! fake clock (no sleeping).

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use common::*;
use credlock::audit::{EventKind, MemorySink};
use credlock::sessions::{Scope, SessionRequest};
use credlock::{FakeClock, SessionState, Vault};

const MIN: Duration = Duration::from_secs(60);

fn vault() -> (tempfile::TempDir, Vault, FakeClock, MemorySink) {
    let (dir, path) = temp_vault();
    let clock = FakeClock::new();
    let trail = MemorySink::new();
    let v = builder(&path)
        .insecure_clock(clock.clone())
        .idle_timeout(15 * MIN)
        .audit_to(trail.clone())
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    (dir, v, clock, trail)
}

#[test]
fn idle_time_locks_at_the_timeout() {
    let (_d, v, clock, _t) = vault();
    clock.advance(15 * MIN - Duration::from_millis(1));
    assert_eq!(v.status(), SessionState::Unlocked);
    assert!(v.security_status().key_in_memory);
    clock.advance(Duration::from_millis(1));
    assert_eq!(v.status(), SessionState::Locked);
    assert!(!v.security_status().key_in_memory);
}

#[test]
fn a_suspend_past_the_timeout_locks_on_waking() {
    let (_d, v, clock, trail) = vault();
    clock.advance(5 * MIN);
    clock.suspend(11 * MIN);
    assert_eq!(
        clock.monotonic_elapsed(),
        5 * MIN,
        "the monotonic clock stood still"
    );
    let report = v.security_status();
    assert_eq!(report.state, Some(SessionState::Locked));
    assert!(!report.key_in_memory);
    assert!(v.credentials().is_err());
    assert!(
        trail
            .events()
            .iter()
            .any(|e| e.kind == EventKind::IdleLocked)
    );
}

#[test]
fn a_short_suspend_does_not_lock() {
    let (_d, v, clock, _t) = vault();
    clock.suspend(14 * MIN);
    assert_eq!(v.status(), SessionState::Unlocked);
}

#[test]
fn every_use_of_the_credentials_counts_as_activity() {
    type Use = fn(&Vault);
    let uses: [(&str, Use); 5] = [
        ("credentials", |v| drop(v.credentials().unwrap())),
        ("totp", |v| drop(v.totp().unwrap())),
        ("update", |v| v.update_credentials(creds()).unwrap()),
        ("touch", |v| v.touch().unwrap()),
        ("token", |v| {
            let s = v.mint_session(SessionRequest::client("c")).unwrap();
            v.validate_session(s.token.expose_secret(), Scope::Totp)
                .unwrap();
        }),
    ];
    for (name, use_it) in uses {
        let (_d, v, clock, _t) = vault();
        clock.advance(10 * MIN);
        use_it(&v);
        clock.advance(10 * MIN);
        assert_eq!(v.status(), SessionState::Unlocked, "{name} is activity");
        clock.advance(5 * MIN);
        assert_eq!(v.status(), SessionState::Locked, "{name}: then idle");
    }
}

#[test]
fn activity_cannot_revive_an_expired_key() {
    let (_d, v, clock, _t) = vault();
    clock.suspend(20 * MIN);
    assert!(matches!(v.touch(), Err(credlock::Error::Locked)));
    assert!(matches!(v.totp(), Err(credlock::Error::Locked)));
    assert_eq!(v.status(), SessionState::Locked);
}

#[test]
fn refused_tokens_are_not_activity() {
    let (_d, v, clock, trail) = vault();
    // Minted at the start: the idle deadline is 15 minutes from now.
    let bot = v
        .mint_session(SessionRequest::api_token("bot", Scope::Totp))
        .unwrap();
    let scoped_out = bot.token.expose_secret();
    // Well formed, never issued.
    let forged = format!("clk_{}", "A".repeat(43));
    for _ in 0..14 {
        clock.advance(MIN);
        assert!(matches!(
            v.validate_session(&forged, Scope::Totp),
            Err(credlock::Error::InvalidToken)
        ));
        assert!(matches!(
            v.validate_session(scoped_out, Scope::Manage),
            Err(credlock::Error::ScopeRefused { .. })
        ));
        assert!(matches!(
            v.credentials_for(scoped_out),
            Err(credlock::Error::ScopeRefused { .. })
        ));
        assert!(v.totp_for(&forged).is_err());
    }
    clock.advance(MIN - Duration::from_millis(1));
    assert_eq!(v.status(), SessionState::Unlocked);
    clock.advance(Duration::from_millis(1));
    assert_eq!(
        v.status(),
        SessionState::Locked,
        "the idle lock fires at its deadline, whatever was refused meanwhile"
    );
    assert!(
        trail
            .events()
            .iter()
            .any(|e| e.kind == EventKind::IdleLocked)
    );
}
