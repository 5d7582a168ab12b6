//! The wall clock that the persisted lockout and the audit trail read.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// An injected wall clock (tests); the system clock otherwise.
pub(crate) type WallClock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// The wall clock the lockout and the audit trail read.
#[derive(Clone, Default)]
pub(crate) struct Clock {
    fake: Option<WallClock>,
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
        Self { fake: Some(clock) }
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
