//! A per-client-address limit on passphrase attempts, in front of the vault's own lockout.
//!
//! The vault's lockout counts failures for the vault whoever sends them; this limit slows
//! one address down before it reaches the vault (and keeps it from filling the blocking
//! pool). It is the generic cell rate algorithm: each address may make `burst` attempts at
//! once, then one per `interval`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How many attempts an address may make: `burst` at once, then one per `interval`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateLimit {
    burst: u32,
    interval: Duration,
}

impl RateLimit {
    pub(crate) const fn new(burst: u32, interval: Duration) -> Self {
        Self { burst, interval }
    }

    /// In words, for the security report.
    pub(crate) fn describe(self) -> String {
        format!(
            "{} at once, then 1 every {} s",
            self.burst,
            self.interval.as_secs_f64()
        )
    }
}

/// At most this many addresses are tracked; past it, addresses back to a full burst go.
const MAX_ADDRESSES: usize = 10_000;

#[derive(Debug)]
pub(crate) struct Limiter {
    limit: RateLimit,
    /// Per address, the theoretical arrival time of its next attempt.
    next: Mutex<HashMap<IpAddr, Instant>>,
}

impl Limiter {
    pub(crate) fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt from `addr`: `Ok` if allowed, or how long until one is.
    pub(crate) fn check(&self, addr: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let RateLimit { burst, interval } = self.limit;
        let window = interval.saturating_mul(burst);
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        if next.len() >= MAX_ADDRESSES {
            next.retain(|_, tat| *tat > now);
        }
        let tat = next.get(&addr).copied().unwrap_or(now).max(now);
        // Allowed while the backlog (tat - now) is below the burst window.
        let backlog = tat.duration_since(now);
        if backlog + interval > window {
            return Err(backlog + interval - window);
        }
        next.insert(addr, tat + interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_then_refuses_with_the_wait() {
        let limiter = Limiter::new(RateLimit::new(3, Duration::from_secs(10)));
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..3 {
            assert!(limiter.check(a).is_ok());
        }
        let wait = limiter.check(a).unwrap_err();
        assert!(wait > Duration::from_secs(9) && wait <= Duration::from_secs(10));
        // Another address is not affected.
        assert!(limiter.check(b).is_ok());
    }
}
