//! One audit event for many: occurrences of one kind (refused passphrase attempts, refused
//! session tokens) counted per vault and audited at most once per interval, each event
//! carrying how many it stands for.
//!
//! The first occurrence after a quiet interval is reported at once, so a flood never hides
//! its start; the ones that follow within the interval are only counted, and the next
//! report (the first occurrence after the interval, or [`Tally::take_unreported`] when the
//! vault goes) carries their number. The interval is measured on the idle clock, which never
//! goes back, so setting the wall clock back cannot silence the trail.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// At most one event of a tallied kind per vault per this long.
pub(crate) const REPORT_INTERVAL: Duration = Duration::from_secs(1);

/// Occurrences counted and not reported yet, with the details of the last one (`T`: what
/// the event of a final report says, such as the refused operation).
#[derive(Debug)]
pub(crate) struct Tally<T> {
    state: Mutex<Counted<T>>,
}

#[derive(Debug)]
struct Counted<T> {
    last_report: Option<Instant>,
    unreported: u32,
    last: Option<T>,
}

impl<T> Default for Tally<T> {
    fn default() -> Self {
        Self {
            state: Mutex::new(Counted {
                last_report: None,
                unreported: 0,
                last: None,
            }),
        }
    }
}

impl<T: Copy> Tally<T> {
    /// Counts one occurrence at `now`, described by `detail`: `Some(n)` if it is to be
    /// reported now, standing for `n` occurrences (itself and those counted since the last
    /// report); `None` if it is only counted.
    pub(crate) fn count(&self, now: Instant, detail: T) -> Option<u32> {
        let mut c = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        c.unreported = c.unreported.saturating_add(1);
        c.last = Some(detail);
        let due = c
            .last_report
            .is_none_or(|last| now.saturating_duration_since(last) >= REPORT_INTERVAL);
        due.then(|| {
            c.last_report = Some(now);
            c.last = None;
            std::mem::take(&mut c.unreported)
        })
    }

    /// The occurrences counted and not reported, with the last one's details, if any; they
    /// count as reported from now on.
    pub(crate) fn take_unreported(&self) -> Option<(u32, T)> {
        let mut c = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let last = c.last.take()?;
        Some((std::mem::take(&mut c.unreported), last))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_is_reported_at_once_then_one_report_per_interval_carries_the_count() {
        let tally = Tally::default();
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        assert_eq!(tally.count(ms(0), 'a'), Some(1), "the first is not hidden");
        assert_eq!(tally.count(ms(10), 'b'), None);
        assert_eq!(tally.count(ms(999), 'c'), None);
        assert_eq!(tally.count(ms(1_000), 'd'), Some(3), "b, c and d");
        assert_eq!(tally.take_unreported(), None, "nothing left over");
        assert_eq!(tally.count(ms(1_500), 'e'), None);
        assert_eq!(tally.count(ms(1_600), 'f'), None);
        assert_eq!(tally.take_unreported(), Some((2, 'f')));
        assert_eq!(tally.take_unreported(), None);
        // A quiet interval: the next one is reported at once.
        assert_eq!(tally.count(ms(60_000), 'g'), Some(1));
        // A clock that went back reports nothing until the interval has passed after all.
        assert_eq!(tally.count(ms(59_000), 'h'), None);
        assert_eq!(tally.count(ms(61_000), 'i'), Some(2));
    }
}
