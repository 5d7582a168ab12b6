//! A vault shared between threads: `Send + Sync`, `&self` methods, derivations that never
//! hold the state lock, a `lock()` that wins over a running unlock, and passphrase attempts
//! that take turns.
//!
//! The derivation is held open through the key-derivation observer (a seam, not a timer):
//! while it is held, the test knows a derivation is running and checks what must not wait.

#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{OTHER_PASS, PASS, creds, secret, temp_vault, valid};
use credlock::{DerivationStage, Error, SessionState, Vault, VaultBuilder};

const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Vault>();
    assert_send_sync::<Error>();
    assert_send_sync::<credlock::SecurityStatus>();
    assert_send_sync::<credlock::Credentials>();
    assert_send_sync::<VaultBuilder>();
};

/// How long a test waits for something that must happen at once before calling it a hang.
const HANG: Duration = Duration::from_secs(20);

/// A derivation observer that reports each start and then waits for a go-ahead, so a test
/// can act while a derivation is known to be running.
struct Gate {
    started: Receiver<()>,
    release: SyncSender<()>,
}

fn held_builder(path: &std::path::Path) -> (VaultBuilder, Gate) {
    let (started_tx, started) = mpsc::sync_channel(64);
    let (release, release_rx) = mpsc::sync_channel::<()>(64);
    let release_rx = Mutex::new(release_rx);
    let builder = common::builder(path).on_key_derivation(move |e| {
        if e.stage == DerivationStage::Started {
            started_tx.send(()).unwrap();
            release_rx.lock().unwrap().recv_timeout(HANG).unwrap();
        }
    });
    (builder, Gate { started, release })
}

impl Gate {
    fn wait_started(&self) {
        self.started
            .recv_timeout(HANG)
            .expect("a derivation should have started");
    }

    fn release_one(&self) {
        self.release.send(()).unwrap();
    }
}

/// Runs `f` on another thread and returns how long it took, failing if it does not return
/// within [`HANG`] (it would be waiting for the held derivation).
fn must_not_wait<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Duration {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let t = Instant::now();
        let _ = f();
        tx.send(t.elapsed()).unwrap();
    });
    rx.recv_timeout(HANG)
        .unwrap_or_else(|_| panic!("{what} waited for a running key derivation"))
}

#[test]
fn status_lock_and_report_answer_while_four_threads_unlock() {
    let (_dir, path) = temp_vault();
    let (builder, gate) = held_builder(&path);
    // Store without the gate: write the vault with a plain builder first.
    common::stored(&path);
    let vault = Arc::new(builder.open().unwrap());

    let unlockers: Vec<_> = (0..4)
        .map(|i| {
            let vault = Arc::clone(&vault);
            std::thread::spawn(move || vault.unlock(&secret(&format!("wrong-guess-{i}"))))
        })
        .collect();

    let mut latencies = Vec::new();
    for round in 0..4 {
        gate.wait_started();
        // One derivation is running and holding the passphrase gate; the others queue on it.
        for _ in 0..25 {
            let v = Arc::clone(&vault);
            latencies.push(must_not_wait("status()", move || v.status()));
        }
        let v = Arc::clone(&vault);
        latencies.push(must_not_wait("security_status()", move || {
            v.security_status()
        }));
        // A lock answers too; it lands in the last derivation, as an unlock queued behind
        // a lock answers without deriving (see `queued.rs`).
        if round == 3 {
            let v = Arc::clone(&vault);
            latencies.push(must_not_wait("lock()", move || v.lock()));
        }
        gate.release_one();
    }
    for t in unlockers {
        assert!(matches!(t.join().unwrap(), Err(Error::WrongPassphrase)));
    }
    assert_eq!(vault.security_status().failed_attempts, 4);
    latencies.sort();
    eprintln!(
        "status/report/lock latency while deriving: median {:?}, max {:?} ({} calls)",
        latencies[latencies.len() / 2],
        latencies[latencies.len() - 1],
        latencies.len()
    );
}

#[test]
fn a_lock_during_the_derivation_wins_over_the_unlock() {
    let (_dir, path) = temp_vault();
    common::stored(&path);
    let (builder, gate) = held_builder(&path);
    let vault = Arc::new(builder.open().unwrap());
    let unlocking = {
        let vault = Arc::clone(&vault);
        std::thread::spawn(move || vault.unlock(&secret(PASS)))
    };
    gate.wait_started();
    vault.lock();
    gate.release_one();
    assert!(matches!(unlocking.join().unwrap(), Err(Error::Interrupted)));
    assert_eq!(vault.status(), SessionState::Locked);
    assert!(vault.credentials().is_err());
    // The right passphrase was not counted as a failure, and a new unlock works.
    assert_eq!(vault.security_status().failed_attempts, 0);
    let again = std::thread::spawn({
        let vault = Arc::clone(&vault);
        move || vault.unlock(&secret(PASS))
    });
    gate.wait_started();
    gate.release_one();
    again.join().unwrap().unwrap();
    assert_eq!(vault.status(), SessionState::Unlocked);
}

#[test]
fn a_lock_during_a_passphrase_change_leaves_the_change_made_and_the_vault_locked() {
    let (_dir, path) = temp_vault();
    common::stored(&path);
    let (builder, gate) = held_builder(&path);
    let vault = Arc::new(builder.open().unwrap());
    let changing = {
        let vault = Arc::clone(&vault);
        std::thread::spawn(move || vault.change_passphrase(&secret(PASS), valid(OTHER_PASS)))
    };
    gate.wait_started(); // the old passphrase
    vault.lock();
    gate.release_one();
    gate.wait_started(); // the new key
    gate.release_one();
    changing.join().unwrap().unwrap();
    assert_eq!(vault.status(), SessionState::Locked);
    let fresh = common::open(&path);
    assert!(matches!(
        fresh.unlock(&secret(PASS)),
        Err(Error::WrongPassphrase)
    ));
    fresh.unlock(&secret(OTHER_PASS)).unwrap();
}

#[test]
fn parallel_wrong_guesses_take_turns_and_stop_at_the_lockout() {
    let (_dir, path) = temp_vault();
    common::stored(&path);
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let vault = {
        let (running, most, started) = (
            Arc::clone(&running),
            Arc::clone(&most),
            Arc::clone(&started),
        );
        // The default lockout policy: 5 failures, then a delay.
        Vault::builder(&path)
            .insecure_kdf_iterations(common::TEST_ITERATIONS)
            .on_key_derivation(move |e| match e.stage {
                DerivationStage::Started => {
                    started.fetch_add(1, Ordering::SeqCst);
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    // Give the other threads every chance to overlap.
                    std::thread::yield_now();
                }
                _ => {
                    running.fetch_sub(1, Ordering::SeqCst);
                }
            })
            .open()
            .unwrap()
    };
    let vault = Arc::new(vault);
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let vault = Arc::clone(&vault);
            std::thread::spawn(move || {
                (0..4)
                    .map(|j| vault.unlock(&secret(&format!("wrong-{i}-{j}"))))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    assert_eq!(most.load(Ordering::SeqCst), 1, "derivations never overlap");
    assert_eq!(
        started.load(Ordering::SeqCst),
        5,
        "exactly the policy's 5 wrong guesses were derived"
    );
    let wrong = results
        .iter()
        .filter(|r| matches!(r, Err(Error::WrongPassphrase)))
        .count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(Error::LockedOut { .. })))
        .count();
    assert_eq!((wrong, refused), (5, 64 - 5));
}

#[test]
fn an_arc_vault_serves_many_threads() {
    let (_dir, path) = temp_vault();
    let vault = Arc::new(common::open(&path));
    vault.store(creds(), valid(PASS)).unwrap();
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let vault = Arc::clone(&vault);
            std::thread::spawn(move || vault.credentials().map(|c| c.email().to_owned()))
        })
        .collect();
    for r in readers {
        assert_eq!(r.join().unwrap().unwrap(), "alice@example.com");
    }
}
