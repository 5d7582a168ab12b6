//! The wall clock that the persisted lockout and the audit trail read, and the idle clock
//! ([`crate::idle_clock`]).

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::idle_clock::{FakeClock, IdleClock};

/// An injected wall clock (tests); the system clock otherwise.
pub(crate) type WallClock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The wall clock the lockout and the audit trail read.
#[derive(Clone, Default)]
pub(crate) struct Clock {
    fake: Option<WallClock>,
    idle: IdleClock,
}

impl core::fmt::Debug for Clock {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(if self.fake.is_some() {
            "Clock(injected)"
        } else {
            "Clock(system)"
        })
    }
}

impl Clock {
    pub(crate) fn injected(clock: WallClock) -> Self {
        Self {
            fake: Some(clock),
            idle: IdleClock::default(),
        }
    }

    /// Every clock from one [`FakeClock`]: the wall clock and the idle clock.
    pub(crate) fn fake(clock: FakeClock) -> Self {
        let wall = clock.clone();
        Self {
            fake: Some(Arc::new(move || wall.wall())),
            idle: IdleClock::Fake(clock),
        }
    }

    /// Now on the idle clock, which counts suspend.
    pub(crate) fn idle_now(&self) -> Instant {
        self.idle.now()
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.fake.as_ref().map_or_else(SystemTime::now, |f| f())
    }

    /// Milliseconds since the Unix epoch (0 for a clock before it).
    pub(crate) fn now_ms(&self) -> u64 {
        unix_ms(self.now())
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_says_which_clock_without_reading_it() {
        assert_eq!(format!("{:?}", Clock::default()), "Clock(system)");
        let injected = Clock::injected(Arc::new(|| UNIX_EPOCH));
        assert_eq!(format!("{injected:?}"), "Clock(injected)");
    }
}
