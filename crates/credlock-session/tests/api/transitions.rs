//! Every transition from every state, table-driven.

use std::time::Instant;

use credlock_session::{Error, Session, SessionOptions, SessionState};

use crate::common::{ALL_STATES, TestSession, Tracker, session_in};

use SessionState::{Locked, NoCredentials, Unlocked};

#[derive(Clone, Copy, Debug)]
enum Op {
    Store,
    Unlock,
    Lock,
    Logout,
    EnforceIdle,
}

/// Applies `op`, returning the new session and the error, if any.
fn apply(op: Op, s: TestSession, t: &Tracker, now: Instant) -> (TestSession, Option<Error>) {
    match op {
        Op::Store => (s.store(t.key(), t.record(), now), None),
        Op::Unlock => match s.unlock(t.key(), t.record(), now) {
            Ok(s) => (s, None),
            Err((s, e)) => (s, Some(e)),
        },
        Op::Lock => (s.lock(), None),
        Op::Logout => (s.logout(), None),
        Op::EnforceIdle => (s.enforce_idle_timeout(now), None),
    }
}

#[test]
fn every_transition_from_every_state() {
    let table: &[(SessionState, Op, SessionState, Option<Error>)] = &[
        (NoCredentials, Op::Store, Unlocked, None),
        (Locked, Op::Store, Unlocked, None),
        (Unlocked, Op::Store, Unlocked, None),
        (
            NoCredentials,
            Op::Unlock,
            NoCredentials,
            Some(Error::NoCredentials),
        ),
        (Locked, Op::Unlock, Unlocked, None),
        (Unlocked, Op::Unlock, Unlocked, Some(Error::AlreadyUnlocked)),
        (NoCredentials, Op::Lock, NoCredentials, None),
        (Locked, Op::Lock, Locked, None),
        (Unlocked, Op::Lock, Locked, None),
        (NoCredentials, Op::Logout, NoCredentials, None),
        (Locked, Op::Logout, NoCredentials, None),
        (Unlocked, Op::Logout, NoCredentials, None),
        (NoCredentials, Op::EnforceIdle, NoCredentials, None),
        (Locked, Op::EnforceIdle, Locked, None),
        (Unlocked, Op::EnforceIdle, Unlocked, None),
    ];
    // Every (state, op) pair is covered exactly once.
    assert_eq!(table.len(), ALL_STATES.len() * 5);
    let now = Instant::now();
    for &(from, op, to, ref err) in table {
        let t = Tracker::new();
        let s = session_in(from, SessionOptions::default(), &t, now);
        let (s, got) = apply(op, s, &t, now);
        assert_eq!((s.state(), &got), (to, err), "{from:?} --{op:?}-->");
        assert_eq!(s.state_at(now), to);
        // Never unlocked without a key, never a key unless unlocked.
        assert_eq!(s.key(now).is_ok(), to == Unlocked, "{from:?} --{op:?}-->");
        assert_eq!(
            t.live_keys(),
            usize::from(to == Unlocked),
            "{from:?} --{op:?}-->"
        );
        assert_eq!(
            t.live_records(),
            usize::from(to == Unlocked),
            "{from:?} --{op:?}-->"
        );
        drop(s);
        assert_eq!((t.live_keys(), t.live_records()), (0, 0));
    }
}

#[test]
fn wrong_state_unlock_keeps_the_state_and_its_secrets() {
    let now = Instant::now();
    let t = Tracker::new();
    let s = session_in(Unlocked, SessionOptions::default(), &t, now);
    let original = s.key(now).unwrap().id;
    let (s, err) = s.unlock(t.key(), t.record(), now).unwrap_err();
    assert_eq!(err, Error::AlreadyUnlocked);
    assert_eq!(s.key(now).unwrap().id, original);
    assert_eq!(t.live_keys(), 1, "the rejected key was dropped");

    let s: TestSession = Session::new(false);
    let (s, err) = s.unlock(t.key(), t.record(), now).unwrap_err();
    assert_eq!((s.state(), err), (NoCredentials, Error::NoCredentials));
}

#[test]
fn reads_in_each_state() {
    let now = Instant::now();
    for state in ALL_STATES {
        let t = Tracker::new();
        let s = session_in(state, SessionOptions::default(), &t, now);
        let expected = match state {
            NoCredentials => Err(Error::NoCredentials),
            Locked => Err(Error::Locked),
            _ => Ok(()),
        };
        assert_eq!(s.key(now).map(drop), expected, "{state:?}");
        assert_eq!(s.record(now).map(drop), expected, "{state:?}");
    }
}

#[test]
fn replace_record_in_each_state() {
    let now = Instant::now();
    for state in ALL_STATES {
        let t = Tracker::new();
        let mut s = session_in(state, SessionOptions::default(), &t, now);
        let new = t.record();
        let new_id = new.id;
        let result = s.replace_record(new, now);
        match state {
            Unlocked => {
                assert_eq!(result, Ok(()));
                assert_eq!(s.record(now).unwrap().id, new_id);
                assert_eq!(t.live_records(), 1, "old record dropped");
            }
            NoCredentials => assert_eq!(result, Err(Error::NoCredentials)),
            _ => assert_eq!(result, Err(Error::Locked)),
        }
        assert_eq!(
            s.state(),
            state,
            "replace_record never changes a fresh state"
        );
        assert_eq!(t.live_records(), usize::from(state == Unlocked));
    }
}

#[test]
fn check_unlock_allowed_matches_unlock() {
    let now = Instant::now();
    for state in ALL_STATES {
        let t = Tracker::new();
        let s = session_in(state, SessionOptions::default(), &t, now);
        let check = s.check_unlock_allowed(now);
        let unlock = s
            .unlock(t.key(), t.record(), now)
            .map(drop)
            .map_err(|(_, e)| e);
        assert_eq!(check, unlock, "{state:?}");
    }
}

#[test]
fn default_is_no_credentials_and_take_pattern_works() {
    struct Facade {
        session: TestSession,
    }
    let now = Instant::now();
    let t = Tracker::new();
    let mut f = Facade {
        session: TestSession::default(),
    };
    assert_eq!(f.session.state(), NoCredentials);
    assert_eq!(*f.session.options(), SessionOptions::RECOMMENDED);
    f.session = std::mem::take(&mut f.session).store(t.key(), t.record(), now);
    f.session = std::mem::take(&mut f.session).lock();
    assert_eq!(f.session.state(), Locked);
    assert_eq!(t.live_keys(), 0);
}

#[test]
fn options_survive_transitions() {
    let now = Instant::now();
    let t = Tracker::new();
    let opts = SessionOptions::new()
        .without_idle_timeout()
        .insecure_without_lockout();
    let s = session_in(Unlocked, opts, &t, now).lock().logout();
    let s = s.store(t.key(), t.record(), now).lock();
    let s = s
        .unlock(t.key(), t.record(), now)
        .map_err(|(_, e)| e)
        .unwrap();
    assert_eq!(*s.options(), opts);
}

#[test]
fn state_serialises_as_snake_case() {
    let json = serde_json::to_string(&ALL_STATES).unwrap();
    assert_eq!(json, r#"["no_credentials","locked","unlocked"]"#);
    assert_eq!(Unlocked.to_string(), "unlocked");
    assert_eq!(Locked.to_string(), "locked");
}
