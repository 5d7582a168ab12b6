//! [`SeenIds`]: the receiver's memory of the event ids it accepted within the time window.

use core::cmp::Reverse;
use core::fmt;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::VerifiedDelivery;
use crate::error::AuditError;
use crate::webhook::check_age;

/// The event ids a receiver accepted, each kept until its delivery's timestamp is outside
/// the tolerance (when [`verify`](super::verify) would refuse a replay as stale anyway), and
/// never more than a fixed number of them.
///
/// - [`remember`](SeenIds::remember) looks an id up in a hash map (O(1)) and records it with
///   its expiry in a min-heap (O(log n)); expired ids are forgotten on the way, oldest
///   expiry first.
/// - At most [`capacity`](SeenIds::capacity) ids are held, each at most
///   [`MAX_ID_LEN`](super::MAX_ID_LEN) bytes, so memory stays bounded whatever is sent.
///   When the cache is full of ids that have not expired, a new delivery is refused
///   ([`AuditError::WebhookReplayCacheFull`]) rather than forgetting an id that could still
///   be replayed; the sender retries later. Size it for the deliveries expected within
///   twice the tolerance (a sender's clock may be ahead by up to the tolerance).
///
/// One cache serves all deliveries of a receiver; share it behind a `Mutex`. It lives in
/// memory: a receiver that restarts forgets the ids (run several receivers behind one
/// store of ids instead if that matters).
///
/// ```
/// # mod credlock { pub use credlock_audit as audit; }
/// use std::time::{Duration, UNIX_EPOCH};
/// use credlock::audit::AuditError;
/// use credlock::audit::webhook::WebhookSecret;
/// use credlock::audit::webhook::v2::{self, EventId, SeenIds};
///
/// let secret = WebhookSecret::new(b"whsec-0123456789abcdef".to_vec())?;
/// let mut seen = SeenIds::new(2, Duration::from_secs(60));
/// let now = UNIX_EPOCH + Duration::from_secs(1_764_157_361);
/// let deliver = |seen: &mut SeenIds, id: &str, now| {
///     let id: EventId = id.parse()?;
///     let sig = v2::sign(&secret, &id, 1_764_157_361, b"{}");
///     let delivery =
///         v2::verify(&secret, id.as_str(), "1764157361", &sig, b"{}", now, seen.tolerance())?;
///     seen.remember(&delivery, now)
/// };
/// deliver(&mut seen, "msg_a", now)?;
/// assert!(matches!(deliver(&mut seen, "msg_a", now), Err(AuditError::WebhookReplayed)));
/// deliver(&mut seen, "msg_b", now)?;
/// assert!(matches!(
///     deliver(&mut seen, "msg_c", now),
///     Err(AuditError::WebhookReplayCacheFull { capacity: 2 })
/// ));
/// assert_eq!(seen.len(), 2);
/// # Ok::<(), AuditError>(())
/// ```
pub struct SeenIds {
    capacity: usize,
    tolerance: Duration,
    /// Each id held, with the last Unix second at which its delivery is not stale.
    expiry_of: HashMap<Box<str>, u64>,
    /// The same ids by expiry, soonest first.
    by_expiry: BinaryHeap<Reverse<(u64, Box<str>)>>,
}

impl SeenIds {
    /// An empty cache that holds at most `capacity` ids (with 0, every delivery is refused)
    /// and keeps each for `tolerance` after its delivery's timestamp.
    ///
    /// Nothing is allocated up front; the cache grows with the ids it holds.
    #[must_use]
    pub fn new(capacity: usize, tolerance: Duration) -> Self {
        Self {
            capacity,
            tolerance,
            expiry_of: HashMap::new(),
            by_expiry: BinaryHeap::new(),
        }
    }

    /// The tolerance, to pass to [`verify`](super::verify).
    #[must_use]
    pub fn tolerance(&self) -> Duration {
        self.tolerance
    }

    /// The most ids held at once.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many ids are held, counting expired ones not yet forgotten (they are forgotten
    /// by the next [`remember`](SeenIds::remember)).
    #[must_use]
    pub fn len(&self) -> usize {
        self.expiry_of.len()
    }

    /// Whether no id is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.expiry_of.is_empty()
    }

    /// Whether `id` was accepted and has not expired at `now`.
    #[must_use]
    pub fn contains(&self, id: &str, now: SystemTime) -> bool {
        self.expiry_of
            .get(id)
            .is_some_and(|&expiry| expiry >= unix_secs(now))
    }

    /// Records a verified delivery, or refuses it.
    ///
    /// # Errors
    ///
    /// [`AuditError::WebhookReplayed`] when its id is held (a replay, or a retry of a
    /// delivery already accepted); [`AuditError::WebhookStale`] when its timestamp is
    /// further than [`tolerance`](SeenIds::tolerance) from `now` (possible only if
    /// [`verify`](super::verify) was given a larger one); and
    /// [`AuditError::WebhookReplayCacheFull`] when [`capacity`](SeenIds::capacity) ids that
    /// have not expired are held.
    pub fn remember(
        &mut self,
        delivery: &VerifiedDelivery,
        now: SystemTime,
    ) -> Result<(), AuditError> {
        // A delivery this cache would already have forgotten is refused here, whatever
        // tolerance `verify` was given: no replay slips through after its id expires.
        check_age(delivery.timestamp(), now, self.tolerance)?;
        self.forget_expired(unix_secs(now));
        let id = delivery.id().as_str();
        if self.expiry_of.contains_key(id) {
            return Err(AuditError::WebhookReplayed);
        }
        if self.expiry_of.len() >= self.capacity {
            return Err(AuditError::WebhookReplayCacheFull {
                capacity: self.capacity,
            });
        }
        let expiry = delivery
            .timestamp()
            .saturating_add(ceil_secs(self.tolerance));
        self.expiry_of.insert(id.into(), expiry);
        self.by_expiry.push(Reverse((expiry, id.into())));
        Ok(())
    }

    /// Forgets the ids whose expiry is before `now_secs`: their deliveries are stale (at
    /// `now_secs` and later, `now − timestamp > tolerance`).
    fn forget_expired(&mut self, now_secs: u64) {
        while let Some(Reverse((expiry, _))) = self.by_expiry.peek() {
            if *expiry >= now_secs {
                break;
            }
            if let Some(Reverse((_, id))) = self.by_expiry.pop() {
                self.expiry_of.remove(&id);
            }
        }
    }
}

impl fmt::Debug for SeenIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeenIds")
            .field("capacity", &self.capacity)
            .field("tolerance", &self.tolerance)
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// Whole seconds since the Unix epoch, rounded down; 0 before it.
fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// `d` in whole seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs().saturating_add(u64::from(d.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webhook::v2::EventId;

    const TS: u64 = 1_764_157_361;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn delivery(id: &str, timestamp: u64) -> VerifiedDelivery {
        VerifiedDelivery {
            id: id.parse::<EventId>().unwrap(),
            timestamp,
        }
    }

    fn is_consistent(seen: &SeenIds) -> bool {
        seen.by_expiry.len() == seen.expiry_of.len()
            && seen
                .by_expiry
                .iter()
                .all(|Reverse((expiry, id))| seen.expiry_of.get(id) == Some(expiry))
    }

    #[test]
    fn an_id_is_kept_exactly_while_its_delivery_could_be_replayed() {
        let mut seen = SeenIds::new(10, Duration::from_secs(300));
        seen.remember(&delivery("msg_a", TS), at(TS)).unwrap();
        // A replay at the last second the timestamp is within the tolerance: refused as a
        // replay, the id still held.
        assert!(matches!(
            seen.remember(&delivery("msg_a", TS), at(TS + 300)),
            Err(AuditError::WebhookReplayed)
        ));
        assert!(seen.contains("msg_a", at(TS + 300)));
        // One second later the delivery is stale, and the id may be forgotten.
        assert!(matches!(
            seen.remember(&delivery("msg_a", TS), at(TS + 301)),
            Err(AuditError::WebhookStale { .. })
        ));
        assert!(!seen.contains("msg_a", at(TS + 301)));
        seen.remember(&delivery("msg_b", TS + 301), at(TS + 301))
            .unwrap();
        assert_eq!(seen.len(), 1);
        assert!(is_consistent(&seen));
    }

    #[test]
    fn a_sub_second_tolerance_is_rounded_up() {
        let mut seen = SeenIds::new(10, Duration::from_millis(1_500));
        seen.remember(&delivery("msg_a", TS), at(TS)).unwrap();
        let later = at(TS + 1) + Duration::from_millis(400);
        assert!(matches!(
            seen.remember(&delivery("msg_a", TS), later),
            Err(AuditError::WebhookReplayed)
        ));
    }

    #[test]
    fn ids_out_of_timestamp_order_expire_by_timestamp() {
        let mut seen = SeenIds::new(10, Duration::from_secs(60));
        seen.remember(&delivery("msg_late", TS + 50), at(TS))
            .unwrap();
        seen.remember(&delivery("msg_early", TS - 50), at(TS))
            .unwrap();
        seen.remember(&delivery("msg_new", TS + 20), at(TS + 20))
            .unwrap();
        // `msg_early` expired at TS + 10, the others have not.
        assert_eq!(seen.len(), 2);
        assert!(seen.contains("msg_late", at(TS + 20)));
        assert!(!seen.contains("msg_early", at(TS + 20)));
        assert!(is_consistent(&seen));
    }

    #[test]
    fn memory_stays_bounded_under_100_000_distinct_ids() {
        const CAPACITY: usize = 1_000;
        let mut seen = SeenIds::new(CAPACITY, Duration::from_secs(60));
        let (mut accepted, mut full) = (0_u32, 0_u32);
        for i in 0..100_000_u64 {
            // 20 deliveries a second: 1,220 would be live at once in a 61-second window.
            let now = TS + i / 20;
            match seen.remember(&delivery(&format!("msg_{i}"), now), at(now)) {
                Ok(()) => accepted += 1,
                Err(AuditError::WebhookReplayCacheFull { capacity: CAPACITY }) => full += 1,
                Err(e) => panic!("{e}"),
            }
            assert!(seen.len() <= CAPACITY);
        }
        assert!(is_consistent(&seen));
        // Full for the first time at the 1,001st id; from then on about 1,000 ids are
        // accepted per 61 seconds, as the oldest expire.
        assert_eq!((accepted, full), (82_000, 18_000));
        assert!(seen.by_expiry.capacity() <= 2 * CAPACITY);
        // Removal leaves tombstones, but the table does not grow past a few times the
        // number of entries it is allowed.
        assert!(seen.expiry_of.capacity() <= 8 * CAPACITY);
    }

    #[test]
    fn zero_capacity_refuses_every_delivery_and_debug_lists_no_ids() {
        let mut seen = SeenIds::new(0, Duration::from_secs(60));
        assert!(matches!(
            seen.remember(&delivery("msg_a", TS), at(TS)),
            Err(AuditError::WebhookReplayCacheFull { capacity: 0 })
        ));
        let mut seen = SeenIds::new(3, Duration::from_secs(60));
        seen.remember(&delivery("msg_a", TS), at(TS)).unwrap();
        let debug = format!("{seen:?}");
        assert_eq!(debug, "SeenIds { capacity: 3, tolerance: 60s, len: 1, .. }");
    }
}
