//! The clock the idle lock reads: one that keeps running while the machine sleeps.
//!
//! `Instant` is `CLOCK_MONOTONIC` on Linux, which stops during suspend: a laptop that slept
//! past the idle timeout would wake up still unlocked. The idle clock reads
//! `CLOCK_BOOTTIME` on Linux and Android instead (time since boot, suspend included). On
//! other systems it takes the larger of the monotonic time and the wall-clock time elapsed
//! since the process first read it (the wall clock keeps running during sleep), never
//! going back.
//!
//! The idle clock is expressed as an `Instant` (an origin plus the boot time elapsed since
//! it), so the session state machine keeps its `Instant` arithmetic.

use core::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The idle clock of a vault: the system's, or an injected [`FakeClock`].
#[derive(Clone, Debug, Default)]
pub(crate) enum IdleClock {
    #[default]
    System,
    Fake(FakeClock),
}

impl IdleClock {
    /// Now, on a clock that counts suspend.
    pub(crate) fn now(&self) -> Instant {
        match self {
            Self::System => system::now(),
            Self::Fake(f) => f.idle_instant(),
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
mod system {
    use super::{Duration, Instant, OnceLock};

    fn boot_time() -> Duration {
        let ts = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        Duration::new(
            u64::try_from(ts.tv_sec).unwrap_or(0),
            u32::try_from(ts.tv_nsec).unwrap_or(0),
        )
    }

    pub(super) fn now() -> Instant {
        static ORIGIN: OnceLock<(Instant, Duration)> = OnceLock::new();
        let (instant, boot) = *ORIGIN.get_or_init(|| (Instant::now(), boot_time()));
        instant + boot_time().saturating_sub(boot)
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
mod system {
    use std::sync::Mutex;
    use std::time::SystemTime;

    use super::{Duration, Instant, OnceLock, PoisonError};

    pub(super) fn now() -> Instant {
        static ORIGIN: OnceLock<(Instant, SystemTime)> = OnceLock::new();
        static HIGH: Mutex<Duration> = Mutex::new(Duration::ZERO);
        let (instant, wall) = *ORIGIN.get_or_init(|| (Instant::now(), SystemTime::now()));
        let elapsed = instant
            .elapsed()
            .max(SystemTime::now().duration_since(wall).unwrap_or_default());
        let mut high = HIGH.lock().unwrap_or_else(PoisonError::into_inner);
        *high = (*high).max(elapsed);
        instant + *high
    }
}

/// **Insecure**, for tests: a clock that moves only when told, driving a vault's idle lock,
/// its session expiries, its persisted lockout and its audit times
/// ([`VaultBuilder::insecure_clock`](crate::VaultBuilder::insecure_clock)).
///
/// It keeps three times: the monotonic time (which stops while the machine sleeps), the
/// boot time (which does not) and the wall clock. [`advance`](Self::advance) moves all
/// three, as time passing while the machine is awake; [`suspend`](Self::suspend) moves the
/// boot time and the wall clock but not the monotonic time, as a machine asleep.
///
/// ```
/// use std::time::Duration;
/// use credlock::FakeClock;
///
/// let clock = FakeClock::new();
/// clock.advance(Duration::from_secs(60));
/// clock.suspend(Duration::from_secs(3600));
/// assert_eq!(clock.monotonic_elapsed(), Duration::from_secs(60));
/// assert_eq!(clock.boot_elapsed(), Duration::from_secs(3660));
/// ```
#[derive(Clone)]
pub struct FakeClock(Arc<Inner>);

struct Inner {
    origin: Instant,
    times: Mutex<Times>,
}

#[derive(Clone, Copy)]
struct Times {
    monotonic: Duration,
    boot: Duration,
    wall: SystemTime,
}

impl FakeClock {
    /// A clock at 2025-01-01T00:00:00Z, with no time elapsed.
    #[must_use]
    pub fn new() -> Self {
        Self::starting_at(UNIX_EPOCH + Duration::from_secs(1_735_689_600))
    }

    /// A clock whose wall clock reads `wall`, with no time elapsed.
    #[must_use]
    pub fn starting_at(wall: SystemTime) -> Self {
        Self(Arc::new(Inner {
            origin: Instant::now(),
            times: Mutex::new(Times {
                monotonic: Duration::ZERO,
                boot: Duration::ZERO,
                wall,
            }),
        }))
    }

    fn times(&self) -> std::sync::MutexGuard<'_, Times> {
        self.0.times.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Time passes with the machine awake: all three clocks move by `d`.
    pub fn advance(&self, d: Duration) {
        let mut t = self.times();
        t.monotonic += d;
        t.boot += d;
        t.wall += d;
    }

    /// The machine sleeps for `d`: the boot time and the wall clock move, the monotonic time
    /// does not.
    pub fn suspend(&self, d: Duration) {
        let mut t = self.times();
        t.boot += d;
        t.wall += d;
    }

    /// Monotonic time elapsed since the clock was made (suspend excluded).
    #[must_use]
    pub fn monotonic_elapsed(&self) -> Duration {
        self.times().monotonic
    }

    /// Boot time elapsed since the clock was made (suspend included).
    #[must_use]
    pub fn boot_elapsed(&self) -> Duration {
        self.times().boot
    }

    /// The wall clock now.
    #[must_use]
    pub fn wall(&self) -> SystemTime {
        self.times().wall
    }

    pub(crate) fn idle_instant(&self) -> Instant {
        self.0.origin + self.boot_elapsed()
    }
}

impl Default for FakeClock {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for FakeClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = *self.times();
        f.debug_struct("FakeClock")
            .field("monotonic", &t.monotonic)
            .field("boot", &t.boot)
            .field("wall", &t.wall)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_idle_clock_never_goes_back() {
        let a = IdleClock::System.now();
        let b = IdleClock::System.now();
        assert!(b >= a);
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn boot_time_keeps_pace_with_the_monotonic_clock_while_awake() {
        let (i0, b0) = (Instant::now(), IdleClock::System.now());
        let mut x = 0u64;
        for i in 0..100_000u64 {
            x = x.wrapping_add(std::hint::black_box(i));
        }
        std::hint::black_box(x);
        let (b1, i1) = (IdleClock::System.now(), Instant::now());
        // Boot time elapsed within the monotonic interval, up to clock granularity.
        assert!(b1 - b0 <= (i1 - i0) + Duration::from_millis(1));
        assert!(b1 >= b0);
    }

    #[test]
    fn a_fake_suspend_moves_the_boot_time_and_the_wall_clock_only() {
        let start = UNIX_EPOCH + Duration::from_secs(1_000);
        let clock = FakeClock::starting_at(start);
        clock.advance(Duration::from_secs(5));
        clock.suspend(Duration::from_secs(60));
        assert_eq!(clock.wall(), start + Duration::from_secs(65));
        assert_eq!(clock.boot_elapsed(), Duration::from_secs(65));
        assert_eq!(clock.monotonic_elapsed(), Duration::from_secs(5));
        assert_eq!(
            clock.idle_instant() - clock.0.origin,
            Duration::from_secs(65),
            "idle time runs on the boot time"
        );
        let debug = format!("{clock:?}");
        assert!(
            debug.starts_with("FakeClock { monotonic: 5s, boot: 65s, wall: SystemTime {"),
            "{debug}"
        );
    }
}
