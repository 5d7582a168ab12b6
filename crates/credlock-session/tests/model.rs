//! Random operation sequences checked against a simple model of the session.
//!
//! The model works in `u128` nanoseconds and recomputes lockout and idle rules
//! independently; after every operation the real session must agree with it, hold a key
//! exactly when the model is unlocked, and never panic, whatever the instants and durations.

mod common;

use std::time::{Duration, Instant};

use credlock_session::{Error, LockoutPolicy, Session, SessionOptions, SessionState};
use proptest::prelude::*;

use common::{TestSession, Tracker};

const NANOS_PER_SEC: u128 = 1_000_000_000;
/// Upper bound of the simulated clock (about 31 years after the start).
const CLOCK_MAX: u64 = 1_000_000_000_000_000_000;

#[derive(Clone, Copy, Debug)]
enum Time {
    Advance(u64),
    Back(u64),
    Jump(u64),
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Store,
    Unlock,
    Lock,
    Logout,
    EnforceIdle,
    Read,
    ReplaceRecord,
    Touch,
    Fail,
    Tick,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MState {
    NoCredentials,
    Locked,
    Unlocked {
        key: u64,
        record: u64,
        last_used: u128,
    },
}

#[derive(Debug)]
struct Model {
    state: MState,
    failures: u32,
    lockout: Option<(u128, u128)>,
    /// (max_attempts, base, max) in nanoseconds.
    policy: Option<(u32, u128, u128)>,
    idle: Option<u128>,
}

impl Model {
    fn expired(&self, now: u128) -> bool {
        match self.state {
            MState::Unlocked { last_used, .. } => self
                .idle
                .is_some_and(|t| now.saturating_sub(last_used) >= t),
            _ => false,
        }
    }

    fn expire(&mut self, now: u128) {
        if self.expired(now) {
            self.state = MState::Locked;
        }
    }

    fn state_at(&self, now: u128) -> SessionState {
        match self.state {
            MState::NoCredentials => SessionState::NoCredentials,
            MState::Locked => SessionState::Locked,
            MState::Unlocked { .. } if self.expired(now) => SessionState::Locked,
            MState::Unlocked { .. } => SessionState::Unlocked,
        }
    }

    fn remaining(&self, now: u128) -> Option<u128> {
        let (since, delay) = self.lockout?;
        let left = delay.saturating_sub(now.saturating_sub(since));
        (left > 0).then_some(left)
    }

    fn check(&self, now: u128) -> Result<(), Error> {
        match self.state_at(now) {
            SessionState::NoCredentials => Err(Error::NoCredentials),
            SessionState::Unlocked => Err(Error::AlreadyUnlocked),
            _ => match self.remaining(now) {
                Some(left) => Err(Error::LockedOut {
                    retry_after: dur(left),
                }),
                None => Ok(()),
            },
        }
    }

    fn fail(&mut self, now: u128) {
        self.expire(now);
        self.failures = self.failures.saturating_add(1);
        if let Some((n, base, max)) = self.policy
            && self.failures >= n
        {
            let delay = 1_u128
                .checked_shl(self.failures - n)
                .and_then(|factor| base.checked_mul(factor))
                .map_or(max, |d| d.min(max));
            self.lockout = Some((now, delay));
        }
    }

    fn reset(&mut self) {
        self.failures = 0;
        self.lockout = None;
    }
}

fn dur(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / NANOS_PER_SEC).expect("model delays fit a Duration");
    let sub = u32::try_from(nanos % NANOS_PER_SEC).expect("below one second");
    Duration::new(secs, sub)
}

fn any_duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        4 => (1_u64..=20 * 60).prop_map(Duration::from_secs),
        2 => (1_u64..=1_000_000_000).prop_map(Duration::from_nanos),
        1 => Just(Duration::MAX),
        1 => (any::<u64>(), 0_u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
    ]
}

fn any_options() -> impl Strategy<Value = SessionOptions> {
    let policy = prop_oneof![
        1 => Just(None),
        4 => (1_u32..=6, any_duration(), any_duration()).prop_map(|(n, a, b)| {
            Some(LockoutPolicy::new(n, a.min(b), a.max(b)).expect("valid by construction"))
        }),
    ];
    let idle = prop_oneof![
        1 => Just(None),
        1 => Just(Some(Duration::ZERO)),
        4 => any_duration().prop_map(Some),
    ];
    (policy, idle).prop_map(|(policy, idle)| {
        let o = match policy {
            Some(p) => SessionOptions::new().with_lockout(p),
            None => SessionOptions::new().insecure_without_lockout(),
        };
        match idle {
            Some(t) => o.with_idle_timeout(t),
            None => o.without_idle_timeout(),
        }
    })
}

fn any_time() -> impl Strategy<Value = Time> {
    prop_oneof![
        8 => (0_u64..=2_000_000_000_000).prop_map(Time::Advance), // up to ~33 min
        2 => (0_u64..=60_000_000_000).prop_map(Time::Back),
        1 => (0..=CLOCK_MAX).prop_map(Time::Jump),
    ]
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Store),
        Just(Op::Unlock),
        Just(Op::Unlock),
        Just(Op::Lock),
        Just(Op::Logout),
        Just(Op::EnforceIdle),
        Just(Op::Read),
        Just(Op::ReplaceRecord),
        Just(Op::Touch),
        Just(Op::Fail),
        Just(Op::Fail),
        Just(Op::Fail),
        Just(Op::Tick),
    ]
}

fn run(stored: bool, options: SessionOptions, steps: &[(Time, Op)]) -> Result<(), TestCaseError> {
    let base = Instant::now();
    let t = Tracker::new();
    let mut s: TestSession = Session::with_options(stored, options);
    let mut m = Model {
        state: if stored {
            MState::Locked
        } else {
            MState::NoCredentials
        },
        failures: 0,
        lockout: None,
        policy: options.lockout().map(|p| {
            (
                p.max_attempts(),
                p.base_delay().as_nanos(),
                p.max_delay().as_nanos(),
            )
        }),
        idle: options.idle_timeout().map(|d| d.as_nanos()),
    };
    let mut clock: u64 = 0;

    for &(time, op) in steps {
        clock = match time {
            Time::Advance(d) => clock.saturating_add(d).min(CLOCK_MAX),
            Time::Back(d) => clock.saturating_sub(d),
            Time::Jump(c) => c,
        };
        let now = base + Duration::from_nanos(clock);
        let n = u128::from(clock);

        match op {
            Op::Store => {
                let (k, r) = (t.key(), t.record());
                m.state = MState::Unlocked {
                    key: k.id,
                    record: r.id,
                    last_used: n,
                };
                m.reset();
                s = s.store(k, r, now);
            }
            Op::Unlock => {
                let expected = m.check(n);
                let (k, r) = (t.key(), t.record());
                let (kid, rid) = (k.id, r.id);
                s = match s.unlock(k, r, now) {
                    Ok(s) => {
                        prop_assert_eq!(&expected, &Ok(()));
                        s
                    }
                    Err((s, e)) => {
                        prop_assert_eq!(Err(e), expected.clone());
                        s
                    }
                };
                m.expire(n);
                if expected.is_ok() {
                    m.state = MState::Unlocked {
                        key: kid,
                        record: rid,
                        last_used: n,
                    };
                    m.reset();
                }
            }
            Op::Lock => {
                if matches!(m.state, MState::Unlocked { .. }) {
                    m.state = MState::Locked;
                }
                s = s.lock();
            }
            Op::Logout => {
                m.state = MState::NoCredentials;
                m.reset();
                s = s.logout();
            }
            Op::EnforceIdle => {
                m.expire(n);
                s = s.enforce_idle_timeout(now);
            }
            Op::Read => {
                let expected = match m.state_at(n) {
                    SessionState::NoCredentials => Err(Error::NoCredentials),
                    SessionState::Unlocked => Ok(()),
                    _ => Err(Error::Locked),
                };
                prop_assert_eq!(s.record(now).map(drop), expected);
            }
            Op::ReplaceRecord => {
                m.expire(n);
                let r = t.record();
                let rid = r.id;
                let expected = match &mut m.state {
                    MState::NoCredentials => Err(Error::NoCredentials),
                    MState::Locked => Err(Error::Locked),
                    MState::Unlocked {
                        record, last_used, ..
                    } => {
                        *record = rid;
                        *last_used = (*last_used).max(n);
                        Ok(())
                    }
                };
                prop_assert_eq!(s.replace_record(r, now), expected);
            }
            Op::Touch => {
                m.expire(n);
                if let MState::Unlocked { last_used, .. } = &mut m.state {
                    *last_used = (*last_used).max(n);
                }
                s.touch(now);
            }
            Op::Fail => {
                m.fail(n);
                s.record_failed_unlock(now);
            }
            Op::Tick => {}
        }

        // Invariants after every step.
        let stored_state = match m.state {
            MState::NoCredentials => SessionState::NoCredentials,
            MState::Locked => SessionState::Locked,
            MState::Unlocked { .. } => SessionState::Unlocked,
        };
        prop_assert_eq!(s.state(), stored_state, "{:?}", op);
        prop_assert_eq!(s.state_at(now), m.state_at(n));
        prop_assert_eq!(s.failed_attempts(), m.failures);
        prop_assert_eq!(s.check_unlock_allowed(now), m.check(n));
        prop_assert_eq!(s.lockout_remaining(now), m.remaining(n).map(dur));
        match (s.key(now), s.record(now), m.state) {
            (Ok(k), Ok(r), MState::Unlocked { key, record, .. }) => {
                prop_assert!(!m.expired(n));
                prop_assert_eq!((k.id, r.id), (key, record));
            }
            (Err(e1), Err(e2), _) => {
                prop_assert_eq!(&e1, &e2);
                prop_assert!(m.state_at(n) != SessionState::Unlocked);
            }
            (k, r, state) => prop_assert!(false, "{:?} {:?} {:?}", k.map(drop), r.map(drop), state),
        }
        // Exactly one key and one record alive while unlocked, none otherwise.
        let unlocked = usize::from(stored_state == SessionState::Unlocked);
        prop_assert_eq!((t.live_keys(), t.live_records()), (unlocked, unlocked));
        let status = s.status(now);
        prop_assert_eq!(status.state, m.state_at(n));
        let debug = format!("{s:#?}");
        prop_assert!(!debug.contains("SECRET"), "{}", debug);
    }
    drop(s);
    prop_assert_eq!((t.live_keys(), t.live_records()), (0, 0));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn session_matches_model(
        stored in any::<bool>(),
        options in any_options(),
        steps in prop::collection::vec((any_time(), any_op()), 0..60),
    ) {
        run(stored, options, &steps)?;
    }
}
