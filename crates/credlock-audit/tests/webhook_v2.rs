//! Version 2 webhooks end to end: a sender's headers, a receiver's verification and replay
//! cache.
#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use credlock_audit::AuditError;
use credlock_audit::webhook::v2::{self, EventId, SeenIds, SignedHeaders};
use credlock_audit::webhook::{self, WebhookSecret};

const BODY: &[u8] = br#"{"kind":"lockout_started","vault":"main"}"#;

fn secret() -> WebhookSecret {
    WebhookSecret::new(b"whsec-0123456789abcdef".to_vec()).unwrap()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// What a receiver does with one POST: verify, then remember.
fn receive(
    seen: &mut SeenIds,
    headers: &SignedHeaders,
    body: &[u8],
    now: SystemTime,
) -> Result<(), AuditError> {
    let [(_, id), (_, ts), (_, sig)] = headers.to_pairs();
    let delivery = v2::verify(&secret(), &id, &ts, &sig, body, now, seen.tolerance())?;
    seen.remember(&delivery, now)
}

#[test]
fn a_replayed_delivery_is_refused_by_the_cache() {
    let mut seen = SeenIds::new(100, v2::DEFAULT_TOLERANCE);
    let id = EventId::random().unwrap();
    let headers = v2::sign_now(&secret(), &id, BODY).unwrap();
    let now = at(headers.timestamp());
    receive(&mut seen, &headers, BODY, now).unwrap();
    // The captured request, sent again a minute later: its signature and timestamp are
    // still good, its id is not.
    assert!(matches!(
        receive(&mut seen, &headers, BODY, now + Duration::from_secs(60)),
        Err(AuditError::WebhookReplayed)
    ));
    // Re-signed with a new timestamp (the sender's retry) it is the same event.
    let retry = v2::sign(&secret(), &id, headers.timestamp() + 5, BODY);
    let delivery = v2::verify(
        &secret(),
        id.as_str(),
        &(headers.timestamp() + 5).to_string(),
        &retry,
        BODY,
        now,
        seen.tolerance(),
    )
    .unwrap();
    assert!(matches!(
        seen.remember(&delivery, now),
        Err(AuditError::WebhookReplayed)
    ));
    // Another event is accepted.
    let other = v2::sign_now(&secret(), &EventId::random().unwrap(), BODY).unwrap();
    receive(&mut seen, &other, BODY, now).unwrap();
    assert_eq!(seen.len(), 2);
    // After the window the replay is stale, whether or not the id is still held.
    assert!(matches!(
        receive(&mut seen, &headers, BODY, now + Duration::from_secs(301)),
        Err(AuditError::WebhookStale { .. })
    ));
}

#[test]
fn a_changed_id_breaks_the_signature() {
    let id = EventId::random().unwrap();
    let headers = v2::sign_now(&secret(), &id, BODY).unwrap();
    let now = at(headers.timestamp());
    let ts = headers.timestamp().to_string();
    let ok = |id: &str| {
        v2::verify(
            &secret(),
            id,
            &ts,
            headers.signature(),
            BODY,
            now,
            v2::DEFAULT_TOLERANCE,
        )
    };
    assert_eq!(ok(id.as_str()).unwrap().id(), &id);
    // Every single-character change of the id, and a fresh id.
    let original = id.as_str();
    for i in 0..original.len() {
        let mut changed = original.to_owned().into_bytes();
        changed[i] = if changed[i] == b'a' { b'b' } else { b'a' };
        let changed = String::from_utf8(changed).unwrap();
        assert!(
            matches!(ok(&changed), Err(AuditError::WebhookBadSignature)),
            "{changed}"
        );
    }
    let fresh = EventId::random().unwrap();
    assert!(matches!(
        ok(fresh.as_str()),
        Err(AuditError::WebhookBadSignature)
    ));
    assert!(matches!(
        ok(""),
        Err(AuditError::WebhookMalformed {
            header: v2::ID_HEADER
        })
    ));
}

#[test]
fn the_cache_stays_within_its_bound_under_100_000_distinct_ids() {
    const CAPACITY: usize = 500;
    let start = 1_764_157_361;
    let mut seen = SeenIds::new(CAPACITY, Duration::from_secs(30));
    let (mut accepted, mut full) = (0_u32, 0_u32);
    for i in 0..100_000_u64 {
        // 25 distinct, genuine deliveries a second, more than the cache can hold in a window.
        let ts = start + i / 25;
        let id: EventId = format!("msg_{i:08}").parse().unwrap();
        let headers = SignedHeadersAt::new(&id, ts);
        match receive_at(&mut seen, &headers, at(ts)) {
            Ok(()) => accepted += 1,
            Err(AuditError::WebhookReplayCacheFull { capacity }) => {
                assert_eq!(capacity, CAPACITY);
                full += 1;
            }
            Err(e) => panic!("{e}"),
        }
        assert!(seen.len() <= CAPACITY, "{} ids at {i}", seen.len());
    }
    // Full for the first time at the 501st id; from then on ids are accepted as the oldest
    // expire (500 in every 31 seconds, the 4,000 seconds' 100,000 deliveries in all).
    assert_eq!((accepted, full), (64_525, 35_475));
    // Once every id has expired, the next delivery finds the cache emptied of them, and a
    // replay of it is refused.
    let later = start + 4_000 + 31;
    let id = EventId::random().unwrap();
    let headers = SignedHeadersAt::new(&id, later);
    receive_at(&mut seen, &headers, at(later)).unwrap();
    assert_eq!(seen.len(), 1);
    assert!(matches!(
        receive_at(&mut seen, &headers, at(later + 1)),
        Err(AuditError::WebhookReplayed)
    ));
}

/// The header values of a delivery signed at a chosen time.
struct SignedHeadersAt {
    id: String,
    ts: String,
    sig: String,
}

impl SignedHeadersAt {
    fn new(id: &EventId, ts: u64) -> Self {
        Self {
            id: id.to_string(),
            ts: ts.to_string(),
            sig: v2::sign(&secret(), id, ts, BODY),
        }
    }
}

fn receive_at(seen: &mut SeenIds, h: &SignedHeadersAt, now: SystemTime) -> Result<(), AuditError> {
    let delivery = v2::verify(&secret(), &h.id, &h.ts, &h.sig, BODY, now, seen.tolerance())?;
    seen.remember(&delivery, now)
}

#[test]
fn version_1_is_unchanged_and_distinct() {
    let ts = 1_764_157_361;
    let v1 = webhook::sign(&secret(), ts, BODY);
    webhook::verify(
        &secret(),
        "1764157361",
        &v1,
        BODY,
        at(ts),
        webhook::DEFAULT_TOLERANCE,
    )
    .unwrap();
    let id: EventId = "msg_1".parse().unwrap();
    let v2sig = v2::sign(&secret(), &id, ts, BODY);
    assert!(
        webhook::verify(
            &secret(),
            "1764157361",
            &v2sig,
            BODY,
            at(ts),
            webhook::DEFAULT_TOLERANCE
        )
        .is_err()
    );
    assert_ne!(webhook::TIMESTAMP_HEADER, v2::TIMESTAMP_HEADER);
}
