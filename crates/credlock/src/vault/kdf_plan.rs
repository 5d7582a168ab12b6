//! The key derivation an application asks for: what new vaults use (a fixed cost, or a
//! latency budget calibrated on this machine), and when an existing vault is moved to it
//! after an unlock.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use credlock_crypto::{Argon2Cost, Argon2Limits, KdfAlgorithm, KdfParams, Normalization, Salt};

use super::derivation::Deriver;
use crate::error::Error;
use crate::format::Acceptance;

/// The cost asked for new vaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cost {
    /// PBKDF2-HMAC-SHA256 at a fixed iteration count.
    Pbkdf2(u32),
    /// PBKDF2-HMAC-SHA256 at as many iterations as fit in this time here.
    Pbkdf2Within(Duration),
    /// Argon2id at a fixed cost.
    Argon2id(Argon2Cost),
    /// Argon2id at this memory and lanes, with as many passes as fit in the time.
    Argon2idWithin {
        memory_kib: u32,
        lanes: u32,
        budget: Duration,
    },
}

impl Cost {
    pub(crate) const fn budget(self) -> Option<Duration> {
        match self {
            Self::Pbkdf2Within(b) | Self::Argon2idWithin { budget: b, .. } => Some(b),
            Self::Pbkdf2(_) | Self::Argon2id(_) => None,
        }
    }
}

/// Calibrated PBKDF2 counts are rounded to a multiple of this.
pub(crate) const ROUND_ITERATIONS: u32 = 10_000;
/// A calibration probe is repeated at twice the cost until it takes at least this long, so
/// that timer resolution and start-up costs do not dominate it.
const MIN_PROBE: Duration = Duration::from_millis(20);
/// The first PBKDF2 probe's iteration count.
const FIRST_PROBE: u32 = 10_000;
/// A vault made under a latency budget is upgraded only when its cost is below this share of
/// the target (in percent), so that measurement noise between runs does not re-seal it at
/// every unlock.
const BUDGET_TOLERANCE_PERCENT: u64 = 90;

/// The KDF plan of an open vault: the target, the normalisation of new vaults, whether
/// unlocks upgrade, and the bounds for reading. A budget is calibrated once, on first use,
/// and shared by the clones of the plan.
#[derive(Debug, Clone)]
pub(crate) struct KdfPlan {
    pub(crate) cost: Cost,
    pub(crate) normalization: Normalization,
    pub(crate) upgrade: bool,
    pub(crate) limits: Argon2Limits,
    pub(crate) acceptance: Acceptance,
    resolved: Arc<Mutex<Option<KdfParams>>>,
}

impl KdfPlan {
    pub(crate) fn new(
        cost: Cost,
        normalization: Normalization,
        upgrade: bool,
        limits: Argon2Limits,
        acceptance: Acceptance,
    ) -> Self {
        Self {
            cost,
            normalization,
            upgrade,
            limits,
            acceptance,
            resolved: Arc::default(),
        }
    }

    /// Checks the plan without deriving anything: fixed costs against the bounds, the memory
    /// and lanes of an Argon2id budget, and a non-zero budget.
    pub(crate) fn check(&self) -> Result<(), Error> {
        let salt = Salt::from_bytes([0; 16]);
        match self.cost {
            Cost::Pbkdf2(n) => {
                self.acceptance.params(u64::from(n), salt)?;
            }
            Cost::Argon2id(cost) => {
                self.acceptance.argon2(cost, salt, &self.limits)?;
            }
            Cost::Argon2idWithin {
                memory_kib, lanes, ..
            } => {
                let cost = Argon2Cost::new(memory_kib, Argon2Cost::MIN.passes(), lanes);
                self.acceptance.argon2(cost, salt, &self.limits)?;
            }
            Cost::Pbkdf2Within(_) => {}
        }
        if self.cost.budget().is_some_and(|b| b.is_zero()) {
            return Err(Error::InvalidOption {
                name: "kdf_latency_budget",
            });
        }
        Ok(())
    }

    fn fixed(&self) -> Result<KdfParams, Error> {
        let salt = Salt::from_bytes([0; 16]);
        let params = match self.cost {
            Cost::Pbkdf2(n) => self.acceptance.params(u64::from(n), salt)?,
            Cost::Argon2id(cost) => self.acceptance.argon2(cost, salt, &self.limits)?,
            Cost::Pbkdf2Within(_) | Cost::Argon2idWithin { .. } => {
                return Err(Error::InvalidOption {
                    name: "kdf_latency_budget",
                });
            }
        };
        Ok(params.with_normalization(self.normalization))
    }

    /// The target parameters (with a placeholder salt), calibrating a budget on first use.
    pub(crate) fn target(&self, deriver: &Deriver) -> Result<KdfParams, Error> {
        let (budget, argon2) = match self.cost {
            Cost::Pbkdf2(_) | Cost::Argon2id(_) => return self.fixed(),
            Cost::Pbkdf2Within(budget) => (budget, None),
            Cost::Argon2idWithin {
                memory_kib,
                lanes,
                budget,
            } => (budget, Some((memory_kib, lanes))),
        };
        let mut resolved = self.resolved.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(params) = *resolved {
            return Ok(params);
        }
        let salt = Salt::from_bytes([0; 16]);
        let params = match argon2 {
            None => {
                let n = pbkdf2_iterations(budget, |n| {
                    deriver.time_probe(&KdfParams::insecure_low_cost(u64::from(n), salt)?)
                })?;
                self.acceptance.params(u64::from(n), salt)?
            }
            Some((memory_kib, lanes)) => {
                let passes = argon2_passes(budget, &self.limits, |passes| {
                    let probe = Argon2Cost::new(memory_kib, passes, lanes);
                    deriver.time_probe(&KdfParams::insecure_argon2id(probe, salt, &self.limits)?)
                })?;
                let cost = Argon2Cost::new(memory_kib, passes, lanes);
                self.acceptance.argon2(cost, salt, &self.limits)?
            }
        }
        .with_normalization(self.normalization);
        *resolved = Some(params);
        Ok(params)
    }

    /// Fresh parameters for a new vault or a new passphrase.
    pub(crate) fn new_params(&self, deriver: &Deriver) -> Result<KdfParams, Error> {
        Ok(self.target(deriver)?.with_fresh_salt()?)
    }

    /// The parameters to re-seal a vault that opened with `current` under, if it is weaker
    /// than the target; `None` when no upgrade is due (or upgrades are off).
    pub(crate) fn upgrade_for(
        &self,
        current: &KdfParams,
        deriver: &Deriver,
    ) -> Result<Option<KdfParams>, Error> {
        if !self.upgrade {
            return Ok(None);
        }
        let target = self.target(deriver)?;
        let tolerance = if self.cost.budget().is_some() {
            BUDGET_TOLERANCE_PERCENT
        } else {
            100
        };
        let Some(template) = upgrade(current, &target, tolerance) else {
            return Ok(None);
        };
        // Built from accepted values and the target's, so within the bounds; checked again.
        let salt = Salt::random()?;
        let params = match template.argon2_cost() {
            None => self
                .acceptance
                .params(u64::from(template.iterations()), salt)?,
            Some(cost) => self.acceptance.argon2(cost, salt, &self.limits)?,
        };
        Ok(Some(params.with_normalization(template.normalization())))
    }
}

/// The upgrade of `current` towards `target`, if one is due: PBKDF2 moves to Argon2id when
/// that is the target (never back: Argon2id vaults keep their memory-hardness); within one
/// algorithm each cost dimension is raised to the target's when below `tolerance` percent
/// of it, and never lowered; raw-byte vaults move to NFKC when the target normalises.
pub(crate) fn upgrade(
    current: &KdfParams,
    target: &KdfParams,
    tolerance: u64,
) -> Option<KdfParams> {
    let below = |have: u32, want: u32| u64::from(have) * 100 < u64::from(want) * tolerance;
    let normalization = match (current.normalization(), target.normalization()) {
        (Normalization::None, Normalization::Nfkc) => Normalization::Nfkc,
        (n, _) => n,
    };
    let salt = *current.salt();
    let raised = match (current.argon2_cost(), target.argon2_cost()) {
        (None, Some(_)) => *target,
        (None, None) => {
            let iterations = if below(current.iterations(), target.iterations()) {
                target.iterations()
            } else {
                current.iterations()
            };
            KdfParams::insecure_low_cost(u64::from(iterations), salt).ok()?
        }
        (Some(have), Some(want)) => {
            let memory = if below(have.memory_kib(), want.memory_kib()) {
                want.memory_kib()
            } else {
                have.memory_kib()
            };
            let passes = if below(have.passes(), want.passes()) {
                want.passes()
            } else {
                have.passes()
            };
            let lanes = if memory == have.memory_kib() {
                have.lanes()
            } else {
                want.lanes()
            };
            KdfParams::insecure_argon2id(
                Argon2Cost::new(memory, passes, lanes),
                salt,
                &Argon2Limits::new(u32::MAX, u32::MAX).ok()?,
            )
            .ok()?
        }
        (Some(_), None) => *current,
    }
    .with_normalization(normalization);
    let same = raised.algorithm() == current.algorithm()
        && raised.iterations() == current.iterations()
        && raised.argon2_cost() == current.argon2_cost()
        && raised.normalization() == current.normalization();
    (!same).then_some(raised)
}

/// The PBKDF2 iteration count that fits `budget`, from probes timed by `time`: doubled from
/// 10,000 iterations until one takes at least 20 ms, repeated twice (the fastest of the three
/// counts, the least disturbed by other load), scaled linearly, rounded to 10,000 and clamped to
/// [`KdfParams::MIN_ITERATIONS`]..=[`KdfParams::MAX_ITERATIONS`].
pub(crate) fn pbkdf2_iterations(
    budget: Duration,
    mut time: impl FnMut(u32) -> Result<Duration, Error>,
) -> Result<u32, Error> {
    let mut probe = FIRST_PROBE;
    let mut took = time(probe)?;
    while took < MIN_PROBE && probe < KdfParams::MAX_ITERATIONS / 2 {
        probe *= 2;
        took = time(probe)?;
    }
    // Repeated twice: the fastest of three is the least disturbed by other load.
    took = took.min(time(probe)?).min(time(probe)?);
    let fit = u128::from(probe) * budget.as_nanos() / took.as_nanos().max(1);
    let step = u128::from(ROUND_ITERATIONS);
    let rounded = (fit + step / 2) / step * step;
    let clamped = rounded.clamp(
        u128::from(KdfParams::MIN_ITERATIONS),
        u128::from(KdfParams::MAX_ITERATIONS),
    );
    Ok(u32::try_from(clamped).unwrap_or(KdfParams::MAX_ITERATIONS))
}

/// The Argon2id passes that fit `budget` at a fixed memory, from three one-pass probes (the
/// fastest counts): rounded down, clamped to OWASP's 2 passes..=the cap.
pub(crate) fn argon2_passes(
    budget: Duration,
    limits: &Argon2Limits,
    mut time: impl FnMut(u32) -> Result<Duration, Error>,
) -> Result<u32, Error> {
    let one = time(1)?.min(time(1)?).min(time(1)?);
    let fit = budget.as_nanos() / one.as_nanos().max(1);
    let clamped = fit.clamp(
        u128::from(Argon2Cost::MIN.passes()),
        u128::from(limits.max_passes()),
    );
    Ok(u32::try_from(clamped).unwrap_or(Argon2Cost::MIN.passes()))
}

/// The algorithm's name, for reports.
pub(crate) const fn algorithm_of(cost: Cost) -> KdfAlgorithm {
    match cost {
        Cost::Pbkdf2(_) | Cost::Pbkdf2Within(_) => KdfAlgorithm::Pbkdf2HmacSha256,
        Cost::Argon2id(_) | Cost::Argon2idWithin { .. } => KdfAlgorithm::Argon2id,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A fake KDF: `ns` nanoseconds per iteration, counting the probes.
    fn linear(ns: u64, probes: &mut Vec<u32>) -> impl FnMut(u32) -> Result<Duration, Error> + '_ {
        move |n| {
            probes.push(n);
            Ok(Duration::from_nanos(ns * u64::from(n)))
        }
    }

    #[test]
    fn a_budget_picks_the_iterations_that_fit_rounded_and_clamped() {
        let mut probes = Vec::new();
        // 1 µs per iteration: 250 ms fits 250,000.
        let n = pbkdf2_iterations(Duration::from_millis(250), linear(1_000, &mut probes)).unwrap();
        assert_eq!(n, 250_000);
        // Probes double from 10,000 until one takes 20 ms, then repeat twice.
        assert_eq!(probes, [10_000, 20_000, 20_000, 20_000]);
        // 0.21 µs per iteration: 1,190,476 → 1,190,000.
        let mut probes = Vec::new();
        let n = pbkdf2_iterations(Duration::from_millis(250), linear(210, &mut probes)).unwrap();
        assert_eq!(n, 1_190_000);
        assert!(
            probes.iter().all(|p| *p <= 160_000),
            "short probes: {probes:?}"
        );
        // Rounded to the nearest 10,000: 0.209 µs per iteration fits 1,196,172 → 1,200,000.
        let mut probes = Vec::new();
        let n = pbkdf2_iterations(Duration::from_millis(250), linear(209, &mut probes)).unwrap();
        assert_eq!(n, 1_200_000);
        // A slow machine is clamped up to the floor, a fast one down to the cap.
        let mut probes = Vec::new();
        let n = pbkdf2_iterations(Duration::from_millis(10), linear(1_000, &mut probes)).unwrap();
        assert_eq!(n, KdfParams::MIN_ITERATIONS);
        let mut probes = Vec::new();
        let n = pbkdf2_iterations(Duration::from_secs(60), linear(1, &mut probes)).unwrap();
        assert_eq!(n, KdfParams::MAX_ITERATIONS);
        // On a machine too fast to reach 20 ms, probing stops at half the cap.
        assert_eq!(probes.iter().max(), Some(&5_120_000), "{probes:?}");
        assert_eq!(probes.len(), 10 + 2);
        // The fastest of the final probes counts: one disturbed by other load does not
        // lower the count.
        let mut calls = 0;
        let n = pbkdf2_iterations(Duration::from_millis(250), |n| {
            calls += 1;
            let ns = if calls == 2 { 2_000 } else { 1_000 };
            Ok(Duration::from_nanos(ns * u64::from(n)))
        })
        .unwrap();
        assert_eq!(n, 250_000);
    }

    #[test]
    fn an_argon2_budget_picks_passes_at_the_memory_given() {
        let limits = Argon2Limits::DEFAULT;
        let per_pass = |ms: u64| move |p: u32| Ok(Duration::from_millis(ms * u64::from(p)));
        assert_eq!(
            argon2_passes(Duration::from_millis(500), &limits, per_pass(60)).unwrap(),
            8
        );
        assert_eq!(
            argon2_passes(Duration::from_millis(100), &limits, per_pass(60)).unwrap(),
            2
        );
        assert_eq!(
            argon2_passes(Duration::from_secs(5), &limits, per_pass(60)).unwrap(),
            10
        );
    }

    fn pbkdf2(n: u32, norm: Normalization) -> KdfParams {
        KdfParams::insecure_low_cost(u64::from(n), Salt::from_bytes([1; 16]))
            .unwrap()
            .with_normalization(norm)
    }

    fn argon(m: u32, t: u32, p: u32, norm: Normalization) -> KdfParams {
        KdfParams::insecure_argon2id(
            Argon2Cost::new(m, t, p),
            Salt::from_bytes([2; 16]),
            &Argon2Limits::DEFAULT,
        )
        .unwrap()
        .with_normalization(norm)
    }

    #[test]
    fn upgrades_raise_and_never_lower() {
        use Normalization::{Nfkc, None as Raw};
        // 480k raw → 1.2M NFKC.
        let up = upgrade(&pbkdf2(480_000, Raw), &pbkdf2(1_200_000, Nfkc), 100).unwrap();
        assert_eq!((up.iterations(), up.normalization()), (1_200_000, Nfkc));
        // Already there: nothing to do; above the target: kept, not lowered.
        assert!(upgrade(&pbkdf2(1_200_000, Nfkc), &pbkdf2(1_200_000, Nfkc), 100).is_none());
        assert!(upgrade(&pbkdf2(2_000_000, Nfkc), &pbkdf2(1_200_000, Nfkc), 100).is_none());
        // Only the normalisation differs: re-sealed at the same cost under NFKC.
        let up = upgrade(&pbkdf2(480_000, Raw), &pbkdf2(480_000, Nfkc), 100).unwrap();
        assert_eq!((up.iterations(), up.normalization()), (480_000, Nfkc));
        // A raw target never moves an NFKC vault back.
        assert!(upgrade(&pbkdf2(480_000, Nfkc), &pbkdf2(480_000, Raw), 100).is_none());
        // Within the tolerance of a calibrated budget: left alone.
        assert!(upgrade(&pbkdf2(1_150_000, Nfkc), &pbkdf2(1_200_000, Nfkc), 90).is_none());
        assert!(upgrade(&pbkdf2(1_000_000, Nfkc), &pbkdf2(1_200_000, Nfkc), 90).is_some());
        // Exactly at the tolerance is within it.
        assert!(upgrade(&pbkdf2(1_080_000, Nfkc), &pbkdf2(1_200_000, Nfkc), 90).is_none());
        assert!(upgrade(&pbkdf2(1_079_999, Nfkc), &pbkdf2(1_200_000, Nfkc), 90).is_some());
        // PBKDF2 → Argon2id, and never back.
        let up = upgrade(&pbkdf2(480_000, Raw), &argon(64, 3, 4, Nfkc), 100).unwrap();
        assert_eq!(up.argon2_cost(), Some(Argon2Cost::new(64, 3, 4)));
        assert!(upgrade(&argon(64, 3, 4, Nfkc), &pbkdf2(480_000, Nfkc), 100).is_none());
        // Argon2id: each dimension raised to the target's, never lowered.
        let up = upgrade(&argon(64, 5, 1, Nfkc), &argon(128, 3, 4, Nfkc), 100).unwrap();
        assert_eq!(up.argon2_cost(), Some(Argon2Cost::new(128, 5, 4)));
        assert!(upgrade(&argon(128, 5, 1, Nfkc), &argon(64, 3, 4, Nfkc), 100).is_none());
    }
}
