//! Criterion: what `credlock::nonblocking` adds to a call, next to the same call on the
//! blocking `Vault` (one memory-store vault, so no disk wait blurs the difference).
//!
//! - `credentials`, `touch`, `validate_session`: cheap calls answered from memory; the async
//!   row adds a permit of the [`nonblocking::Pool`], a hop to tokio's blocking pool and the
//!   wake-up back, which is the overhead per call.
//! - `unlock_lock`: an unlock at 1,000 PBKDF2 iterations (insecure, so the derivation does
//!   not drown the difference) and a lock; two hops in the async row.
//!
//! The async rows run inside one `block_on` on a multi-thread runtime, each call awaited in
//! turn (`iter_custom`), so they time the calls, not entering the runtime.

use std::time::{Duration, Instant};

use credlock::secrecy::SecretString;
use credlock::sessions::{Scope, SessionRequest};
use credlock::{Credentials, MemoryStore, Policy, Vault, VaultBuilder, nonblocking};
use criterion::{Criterion, criterion_group, criterion_main};

const PASS: &str = "Tangerine-Rocket-42!";

fn unlocked() -> Vault {
    let vault = VaultBuilder::with_store(MemoryStore::new())
        .insecure_kdf_iterations(1_000)
        .without_idle_timeout()
        .without_tracing_audit()
        .open()
        .expect("open");
    let valid = Policy::default()
        .check(SecretString::from(PASS))
        .expect("the benchmark passphrase passes the default policy");
    vault
        .store(
            Credentials::new("alice@example.com", SecretString::from("pw")),
            valid,
        )
        .expect("store");
    vault
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Times `iters` awaited calls of `call` inside one `block_on`.
fn timed<F: Future>(rt: &tokio::runtime::Runtime, iters: u64, call: impl Fn() -> F) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            std::hint::black_box(call().await);
        }
        start.elapsed()
    })
}

fn overhead(c: &mut Criterion) {
    let rt = runtime();
    let sync = std::sync::Arc::new(unlocked());
    let token = sync
        .mint_session(SessionRequest::client("bench"))
        .expect("mint")
        .token
        .expose_secret()
        .to_owned();
    let asynchronous = nonblocking::Vault::new(std::sync::Arc::clone(&sync));

    let mut group = c.benchmark_group("nonblocking");
    group.measurement_time(Duration::from_secs(3));
    group.bench_function("credentials/sync", |b| {
        b.iter(|| sync.credentials().expect("credentials"));
    });
    group.bench_function("credentials/async", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                asynchronous.credentials().await.expect("credentials")
            })
        });
    });
    group.bench_function("touch/sync", |b| b.iter(|| sync.touch().expect("touch")));
    group.bench_function("touch/async", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                asynchronous.touch().await.expect("touch");
            })
        });
    });
    group.bench_function("validate_session/sync", |b| {
        b.iter(|| sync.validate_session(&token, Scope::Totp).expect("valid"));
    });
    group.bench_function("validate_session/async", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                let token = SecretString::from(token.clone());
                asynchronous
                    .validate_session(token, Scope::Totp)
                    .await
                    .expect("valid")
            })
        });
    });
    group.bench_function("unlock_lock/sync", |b| {
        b.iter(|| {
            sync.lock();
            sync.unlock(&SecretString::from(PASS)).expect("unlock");
        });
    });
    group.bench_function("unlock_lock/async", |b| {
        b.iter_custom(|iters| {
            timed(&rt, iters, || async {
                asynchronous.lock().await;
                asynchronous
                    .unlock(SecretString::from(PASS))
                    .await
                    .expect("unlock");
            })
        });
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
