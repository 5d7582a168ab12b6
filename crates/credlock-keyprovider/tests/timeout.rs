//! `WithTimeout` with fake providers whose progress the test controls through channels: no
//! sleep decides an outcome.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: helpers outside #[test] functions"
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use credlock_keyprovider::conformance::{KNOWN_KEY, conformance, conformance_with_known_key};
use credlock_keyprovider::{
    DEFAULT_DEADLINE, DEFAULT_QUEUE, KeyProvider, ProviderError, ProviderErrorKind,
    ProviderIdentity, ProviderKey, WithTimeout, Zeroizing, reference_apply,
};

/// A provider that announces each call on `entered` and then waits for the test to send on
/// `release`.
#[derive(Debug)]
struct Gate {
    entered: Mutex<Sender<()>>,
    release: Mutex<Receiver<()>>,
    calls: Arc<AtomicUsize>,
}

impl KeyProvider for Gate {
    fn identity(&self) -> ProviderIdentity {
        ProviderIdentity::new("gate", "test")
    }
    fn apply(&self, input: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.entered.lock().unwrap().send(()).unwrap();
        self.release.lock().unwrap().recv().unwrap();
        Ok(reference_apply(&KNOWN_KEY, input))
    }
}

struct Handles {
    entered: Receiver<()>,
    release: Sender<()>,
    calls: Arc<AtomicUsize>,
}

fn gate() -> (Gate, Handles) {
    let (entered_tx, entered) = mpsc::channel();
    let (release, release_rx) = mpsc::channel();
    let calls = Arc::new(AtomicUsize::new(0));
    (
        Gate {
            entered: Mutex::new(entered_tx),
            release: Mutex::new(release_rx),
            calls: Arc::clone(&calls),
        },
        Handles {
            entered,
            release,
            calls,
        },
    )
}

#[derive(Debug)]
struct Mem(ProviderKey);

impl KeyProvider for Mem {
    fn identity(&self) -> ProviderIdentity {
        ProviderIdentity::new("mem", "known")
    }
    fn apply(&self, input: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, ProviderError> {
        Ok(self.0.apply(input))
    }
}

#[test]
fn defaults_are_documented_values() {
    let p = WithTimeout::new(Mem(ProviderKey::from_bytes(KNOWN_KEY))).unwrap();
    assert_eq!(p.deadline(), DEFAULT_DEADLINE);
    assert_eq!(DEFAULT_DEADLINE, Duration::from_secs(2));
    assert_eq!(p.queue_limit(), DEFAULT_QUEUE);
    assert_eq!(p.identity().to_string(), "mem:known");
    assert!(format!("{p:?}").contains("WithTimeout"));
}

#[test]
fn a_fast_provider_passes_through_unchanged() {
    let p = WithTimeout::new(Mem(ProviderKey::from_bytes(KNOWN_KEY))).unwrap();
    conformance(&p);
    conformance_with_known_key(&p, &KNOWN_KEY);
}

#[test]
fn a_hung_provider_times_out_then_fills_the_queue_then_recovers() {
    let (g, h) = gate();
    let deadline = Duration::from_millis(100);
    let p = WithTimeout::with_limits(g, deadline, 1).unwrap();

    // 1: the worker takes it and hangs in the provider; the caller is released at the deadline.
    let start = Instant::now();
    let e = p.apply(&[1; 32]).unwrap_err();
    assert!(start.elapsed() >= deadline);
    assert_eq!(
        e,
        ProviderError::TimedOut {
            provider: "gate:test".into(),
            after: deadline
        }
    );
    assert!(e.is_retryable());
    assert_eq!(e.kind(), ProviderErrorKind::Unavailable);
    h.entered.recv().unwrap(); // the worker is inside call 1

    // 2: waits in the queue (its one place) and times out too.
    let e = p.apply(&[2; 32]).unwrap_err();
    assert!(matches!(e, ProviderError::TimedOut { .. }), "{e:?}");

    // 3: the queue is full: refused at once, well before the deadline.
    let start = Instant::now();
    let e = p.apply(&[3; 32]).unwrap_err();
    assert!(start.elapsed() < deadline, "{:?}", start.elapsed());
    assert_eq!(
        e,
        ProviderError::Busy {
            provider: "gate:test".into(),
            queued: 1
        }
    );
    assert!(e.is_retryable());
    for _ in 0..100 {
        assert!(matches!(p.apply(&[4; 32]), Err(ProviderError::Busy { .. })));
    }

    // The provider comes back: call 1 finishes (nobody reads it), call 2 is dropped unrun
    // because its caller is gone, and a new call is answered.
    h.release.send(()).unwrap(); // ends call 1
    h.release.send(()).unwrap(); // for the next call that reaches the provider
    // Until the worker has drained call 2 from the queue, a new call may still find it full
    // (an immediate Busy): poll, bounded.
    let start = Instant::now();
    let out = loop {
        match p.apply(&[5; 32]) {
            Err(ProviderError::Busy { .. }) if start.elapsed() < Duration::from_secs(10) => {
                std::thread::yield_now();
            }
            other => break other.unwrap(),
        }
    };
    assert_eq!(*out, *reference_apply(&KNOWN_KEY, &[5; 32]));
    h.entered.recv().unwrap();
    assert_eq!(
        h.calls.load(Ordering::SeqCst),
        2,
        "call 2 must not reach the provider"
    );
}

#[derive(Debug)]
struct Panics;

impl KeyProvider for Panics {
    fn identity(&self) -> ProviderIdentity {
        ProviderIdentity::new("panics", "k")
    }
    fn apply(&self, _: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, ProviderError> {
        panic!("provider bug")
    }
}

#[test]
fn a_panicking_provider_gives_typed_errors_not_a_panic() {
    let p = WithTimeout::with_limits(Panics, Duration::from_secs(30), 4).unwrap();
    let start = Instant::now();
    for _ in 0..3 {
        let e = p.apply(&[0; 32]).unwrap_err();
        assert!(matches!(e, ProviderError::Unavailable { .. }), "{e:?}");
        assert!(e.to_string().contains("panics:k"), "{e}");
    }
    // Answered as soon as the worker died, not at the 30 s deadline.
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn errors_of_the_inner_provider_pass_through() {
    #[derive(Debug)]
    struct Missing;
    impl KeyProvider for Missing {
        fn identity(&self) -> ProviderIdentity {
            ProviderIdentity::new("missing", "k")
        }
        fn apply(&self, _: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, ProviderError> {
            Err(ProviderError::KeyNotFound {
                provider: "missing:k".into(),
            })
        }
    }
    let p = WithTimeout::new(Missing).unwrap();
    assert_eq!(
        p.apply(&[0; 32]).unwrap_err(),
        ProviderError::KeyNotFound {
            provider: "missing:k".into()
        }
    );
}

#[test]
fn many_callers_share_one_worker() {
    // Each caller waits for its own answer, so at most 8 calls are ever outstanding: with 16
    // places and a deadline no machine misses, every call must be answered.
    let inner = Mem(ProviderKey::from_bytes(KNOWN_KEY));
    let p = Arc::new(WithTimeout::with_limits(inner, Duration::from_secs(60), 16).unwrap());
    std::thread::scope(|s| {
        for t in 0..8u8 {
            let p = Arc::clone(&p);
            s.spawn(move || {
                for i in 0..50u8 {
                    let input = [t ^ i; 32];
                    assert_eq!(
                        *p.apply(&input).unwrap(),
                        *reference_apply(&KNOWN_KEY, &input)
                    );
                }
            });
        }
    });
}
