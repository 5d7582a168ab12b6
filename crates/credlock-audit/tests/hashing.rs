//! The hashing sink: identifying fields replaced by `hmac-sha256:…`, the rest in clear.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, UNIX_EPOCH};

use credlock_audit::{
    AuditContext, AuditError, AuditEvent, AuditSink, EventKind, FailingSink, HashingKey,
    HashingSink, MemorySink, Outcome, hash_value,
};

const KEY: &[u8; 32] = b"0123456789abcdef0123456789abcdef";

fn key() -> HashingKey {
    HashingKey::new(KEY.to_vec()).unwrap()
}

fn full_event() -> AuditEvent {
    let at = UNIX_EPOCH + Duration::from_millis(1_764_157_361_123);
    AuditEvent::new(at, "alice", EventKind::LockoutStarted, Outcome::Failure)
        .operation("unlock")
        .failures(5)
        .retry_after_secs(30)
        .session("ses_0123abcd")
        .context(Some(
            AuditContext::new()
                .client("203.0.113.9:51234")
                .user_agent("curl/8.5.0"),
        ))
}

fn is_hashed(s: &str) -> bool {
    s.strip_prefix("hmac-sha256:").is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

#[cfg(unix)]
#[test]
fn the_log_holds_what_hash_value_gives_and_none_of_the_identifiers() {
    use credlock_audit::JsonLinesSink;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = HashingSink::new(JsonLinesSink::builder(&path).open().unwrap(), key());
    sink.record(&full_event()).unwrap();

    let text = std::fs::read_to_string(&path).unwrap();
    for clear in ["alice", "203.0.113.9", "curl/8.5.0", "ses_0123abcd"] {
        assert!(!text.contains(clear), "{clear} is in {text}");
    }
    let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    // What an investigator computes from a known value, with the key alone.
    let investigator = key();
    assert_eq!(line["vault"], hash_value(&investigator, "alice"));
    assert_eq!(line["session"], hash_value(&investigator, "ses_0123abcd"));
    assert_eq!(
        line["context"]["client"],
        hash_value(&investigator, "203.0.113.9:51234")
    );
    assert_eq!(
        line["context"]["user_agent"],
        hash_value(&investigator, "curl/8.5.0")
    );
    // Everything else is as the plain log has it.
    assert_eq!(line["at"], "2025-11-26T11:42:41.123Z");
    assert_eq!(line["kind"], "lockout_started");
    assert_eq!(line["operation"], "unlock");
    assert_eq!(line["outcome"], "failure");
    assert_eq!(line["failures"], 5);
    assert_eq!(line["retry_after_secs"], 30);
}

#[test]
fn identifying_fields_are_hashed_and_the_rest_is_unchanged() {
    let memory = MemorySink::new();
    let sink = HashingSink::new(memory.clone(), key());
    let event = full_event();
    sink.record(&event).unwrap();
    let got = memory.events().remove(0);

    assert!(is_hashed(&got.vault), "{}", got.vault);
    assert!(is_hashed(got.session.as_deref().unwrap()));
    let ctx = got.context.clone().unwrap();
    assert!(is_hashed(ctx.client.as_deref().unwrap()));
    assert!(is_hashed(ctx.user_agent.as_deref().unwrap()));
    assert_ne!(ctx.client, ctx.user_agent);

    // Putting the clear values back gives the original event: nothing else was touched.
    let mut restored = got;
    restored.vault = event.vault.clone();
    restored.session = event.session.clone();
    restored.context = event.context.clone();
    assert_eq!(restored, event);
}

#[test]
fn absent_fields_stay_absent() {
    let memory = MemorySink::new();
    let sink = HashingSink::new(memory.clone(), key());
    let bare = AuditEvent::now("main", EventKind::Locked, Outcome::Success);
    let half = bare
        .clone()
        .context(Some(AuditContext::new().user_agent("cli")));
    sink.record(&bare).unwrap();
    sink.record(&half).unwrap();
    let events = memory.events();
    assert_eq!(events[0].context, None);
    assert_eq!(events[0].session, None);
    let ctx = events[1].context.clone().unwrap();
    assert_eq!(ctx.client, None);
    assert_eq!(ctx.user_agent, Some(hash_value(&key(), "cli")));
    assert!(!events[1].to_json_line().contains("session"));
}

#[test]
fn one_value_one_hash_under_one_key_only() {
    let memory = MemorySink::new();
    let sink = HashingSink::new(memory.clone(), key());
    // The same string as a vault and as a client address hashes alike, so it can be searched
    // for across fields.
    let event = AuditEvent::now("10.0.0.7", EventKind::Locked, Outcome::Success)
        .context(Some(AuditContext::new().client("10.0.0.7")));
    sink.record(&event).unwrap();
    sink.record(&event).unwrap();
    let events = memory.events();
    assert_eq!(events[0], events[1]);
    assert_eq!(
        events[0].context.as_ref().unwrap().client.as_deref(),
        Some(events[0].vault.as_str())
    );
    let mut other_key = *KEY;
    other_key[31] ^= 1;
    let other_key = HashingKey::new(other_key.to_vec()).unwrap();
    assert_ne!(hash_value(&other_key, "10.0.0.7"), events[0].vault);
    assert_ne!(hash_value(&key(), "10.0.0.8"), events[0].vault);
}

#[test]
fn short_keys_are_refused_and_keys_are_not_shown() {
    assert!(matches!(
        HashingKey::new(vec![0; 31]),
        Err(AuditError::HashingKeyTooShort { min: 32 })
    ));
    assert!(matches!(
        HashingKey::new(Vec::new()),
        Err(AuditError::HashingKeyTooShort { min: 32 })
    ));
    assert_eq!(
        AuditError::HashingKeyTooShort { min: 32 }.to_string(),
        "the hashing key is too short: at least 32 bytes are needed"
    );
    let sink = HashingSink::new(MemorySink::new(), key());
    let debug = format!("{sink:?}");
    assert!(debug.contains("HashingKey([REDACTED])"), "{debug}");
    assert!(!debug.contains("0123456789abcdef"), "{debug}");
}

#[test]
fn the_inner_sink_describes_and_fails_as_before() {
    let sink = HashingSink::new(MemorySink::new(), key());
    assert_eq!(
        sink.describe(),
        "memory (identifiers hashed with hmac-sha256)"
    );
    let failing = HashingSink::new(FailingSink::new(), key());
    assert!(matches!(
        failing.record(&full_event()),
        Err(AuditError::Refused)
    ));
    // A boxed hashing sink is a sink.
    let boxed: Box<dyn AuditSink> = Box::new(HashingSink::new(MemorySink::new(), key()));
    boxed.record(&full_event()).unwrap();
    assert_eq!(sink.into_inner().describe(), "memory");
}
