//! The async API's promises: work runs off the runtime's workers within the pool's bound, and
//! a dropped future never leaves a half-counted attempt or a held gate: work that started
//! runs to its end; work still waiting for a permit never starts.
//!
//! Seams: a derivation observer that reports each start and holds it until released, and a
//! current-thread runtime (whose one worker would deadlock if a derivation ran on it).

#![allow(clippy::unwrap_used, clippy::panic)]
#![cfg(feature = "tokio")]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{OTHER_PASS, PASS, TEST_ITERATIONS, creds, secret, valid};
use credlock::nonblocking::{Pool, Vault};
use credlock::{DerivationStage, MemoryStore, SessionState, VaultBuilder};

/// Derivations in flight, the most seen at once, and whether held derivations may go on.
#[derive(Default)]
struct Watch {
    started: AtomicUsize,
    in_flight: AtomicUsize,
    most: AtomicUsize,
    hold: AtomicBool,
}

impl Watch {
    fn builder(self: &Arc<Self>) -> VaultBuilder {
        let w = Arc::clone(self);
        VaultBuilder::with_store(MemoryStore::new())
            .insecure_kdf_iterations(TEST_ITERATIONS)
            .without_tracing_audit()
            .on_key_derivation(move |e| match e.stage {
                DerivationStage::Started => {
                    w.started.fetch_add(1, Ordering::SeqCst);
                    let now = w.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    w.most.fetch_max(now, Ordering::SeqCst);
                    while w.hold.load(Ordering::SeqCst) {
                        std::thread::yield_now();
                    }
                }
                _ => {
                    w.in_flight.fetch_sub(1, Ordering::SeqCst);
                }
            })
    }

    async fn until_started(&self, n: usize) {
        while self.started.load(Ordering::SeqCst) < n {
            tokio::task::yield_now().await;
        }
    }
}

fn locked_vault(watch: &Arc<Watch>, pool: Pool) -> Vault {
    let vault = Vault::with_pool(watch.builder().open().unwrap(), pool);
    vault.blocking().store(creds(), valid(PASS)).unwrap();
    vault.blocking().lock();
    watch.started.store(0, Ordering::SeqCst);
    vault
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn an_unlock_dropped_while_deriving_still_finishes_whole() {
    let watch = Arc::new(Watch::default());
    let vault = locked_vault(&watch, Pool::new(4));
    watch.hold.store(true, Ordering::SeqCst);
    current_thread().block_on(async {
        // The runtime's only worker stays free while the derivation is held elsewhere.
        let unlock = tokio::spawn({
            let vault = vault.clone();
            async move { vault.unlock(secret(OTHER_PASS)).await }
        });
        watch.until_started(1).await;
        unlock.abort();
        assert!(unlock.await.unwrap_err().is_cancelled());
        // The attempt began: it is counted, and the gate is still taken by it.
        assert_eq!(vault.lockout_state().await.unwrap().failures, 1);
        watch.hold.store(false, Ordering::SeqCst);
        // It ends as a whole wrong guess: counted once, judged, the gate free again.
        vault.unlock(secret(PASS)).await.unwrap();
    });
    assert_eq!(vault.status(), SessionState::Unlocked);
    assert_eq!(watch.started.load(Ordering::SeqCst), 2);
}

#[test]
fn an_unlock_dropped_while_waiting_for_a_permit_never_starts() {
    let watch = Arc::new(Watch::default());
    let pool = Pool::new(1);
    let (a, b) = (
        locked_vault(&watch, pool.clone()),
        locked_vault(&watch, pool),
    );
    watch.hold.store(true, Ordering::SeqCst);
    current_thread().block_on(async {
        let first = tokio::spawn({
            let a = a.clone();
            async move { a.unlock(secret(PASS)).await }
        });
        watch.until_started(1).await;
        // The pool's one permit is taken: this unlock waits for it, then is dropped.
        let waiting = tokio::time::timeout(Duration::from_millis(50), b.unlock(secret(PASS))).await;
        assert!(waiting.is_err(), "it waited for the permit");
        watch.hold.store(false, Ordering::SeqCst);
        first.await.unwrap().unwrap();
        // The dropped unlock never ran: no derivation, nothing counted, b still locked.
        assert_eq!(watch.started.load(Ordering::SeqCst), 1);
        assert_eq!(b.lockout_state().await.unwrap().failures, 0);
    });
    assert_eq!(b.status(), SessionState::Locked);
    assert_eq!(a.status(), SessionState::Unlocked);
}

#[test]
fn the_default_pool_is_twice_the_cores_and_at_least_four() {
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(Pool::default_size(), (2 * cores).max(4));
}

#[test]
fn the_pool_bounds_the_derivations_in_flight() {
    let watch = Arc::new(Watch::default());
    let pool = Pool::new(2);
    let vaults: Vec<Vault> = (0..6).map(|_| locked_vault(&watch, pool.clone())).collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let results = Arc::new(Mutex::new(Vec::new()));
    rt.block_on(async {
        let tasks: Vec<_> = vaults
            .iter()
            .cloned()
            .map(|v| {
                let results = Arc::clone(&results);
                tokio::spawn(async move {
                    let r = v.unlock(secret(PASS)).await;
                    results.lock().unwrap().push(r.is_ok());
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(*results.lock().unwrap(), [true; 6]);
    assert_eq!(watch.started.load(Ordering::SeqCst), 6);
    assert!(
        watch.most.load(Ordering::SeqCst) <= 2,
        "at most the pool's two permits derive at once"
    );
}

#[test]
fn removing_a_slot_keeps_the_session_asked_for_and_ends_the_others() {
    use credlock::SlotKind;
    use credlock::sessions::{Scope, SessionRequest};

    let watch = Arc::new(Watch::default());
    let vault = Vault::new(watch.builder().open().unwrap());
    current_thread().block_on(async {
        vault.store(creds(), valid(PASS)).await.unwrap();
        vault.add_recovery_key("kit".into()).await.unwrap();
        let laptop = vault
            .mint_session(SessionRequest::client("laptop"))
            .await
            .unwrap();
        let phone = vault
            .mint_session(SessionRequest::client("phone"))
            .await
            .unwrap();
        let kit = vault
            .list_slots()
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.kind == SlotKind::RecoveryKey)
            .unwrap();
        vault
            .remove_slot_keeping(kit.id.clone(), laptop.info.id.clone())
            .await
            .unwrap();
        assert_eq!(vault.list_slots().await.unwrap().len(), 1);
        let token = |m: &credlock::sessions::MintedSession| secret(m.token.expose_secret());
        assert!(
            vault
                .validate_session(token(&laptop), Scope::Manage)
                .await
                .is_ok()
        );
        assert!(
            vault
                .validate_session(token(&phone), Scope::Manage)
                .await
                .is_err()
        );
        assert!(
            vault
                .remove_slot_keeping(kit.id, laptop.info.id)
                .await
                .is_err()
        );
    });
}
