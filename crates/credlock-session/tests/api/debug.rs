//! `Debug` shows state and counters, never a secret.

use std::time::Instant;

use credlock_session::{SessionOptions, SessionState};

use crate::common::{ALL_STATES, Tracker, session_in};

#[test]
fn debug_never_shows_key_or_record() {
    let now = Instant::now();
    for state in ALL_STATES {
        let t = Tracker::new();
        let mut s = session_in(state, SessionOptions::default(), &t, now);
        s.record_failed_unlock(now);
        for out in [format!("{s:?}"), format!("{s:#?}")] {
            assert!(!out.contains("SECRET"), "{out}");
            assert!(!out.contains("hunter2"), "{out}");
            assert!(!out.contains("165"), "key byte 0xA5 leaked: {out}");
            assert!(out.contains(&format!("state: {state:?}")), "{out}");
            assert!(out.contains("failed_attempts: 1"), "{out}");
            assert!(out.starts_with("Session {"), "{out}");
        }
        // Sanity: the test types do leak through their own Debug.
        if state == SessionState::Unlocked {
            assert!(format!("{:?}", s.key(now).unwrap()).contains("SECRET"));
        }
    }
}

#[test]
fn status_is_secret_free_and_serialisable() {
    let now = Instant::now();
    let t = Tracker::new();
    let s = session_in(SessionState::Unlocked, SessionOptions::default(), &t, now);
    let json = serde_json::to_string(&s.status(now)).unwrap();
    assert_eq!(
        json,
        r#"{"state":"unlocked","failed_attempts":0,"retry_after":null,"idle_remaining":{"secs":900,"nanos":0}}"#
    );
    let opts = serde_json::to_string(s.options()).unwrap();
    assert_eq!(
        opts,
        r#"{"lockout":{"max_attempts":5,"base_delay":{"secs":30,"nanos":0},"max_delay":{"secs":900,"nanos":0}},"idle_timeout":{"secs":900,"nanos":0}}"#
    );
}
