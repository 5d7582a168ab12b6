//! The resident memory of a multi-user server after requests that name 100,000 distinct
//! users it has never seen: a measurement, run by hand (it takes about a minute a store):
//!
//! ```sh
//! cargo test -p credlock-examples --test server -- --ignored --nocapture --exact memory::resident_memory_sqlite
//! cargo test -p credlock-examples --test server -- --ignored --nocapture --exact memory::resident_memory_files
//! ```
//!
//! One store per process: memory freed by one measurement would be reused by the next.

use std::sync::Arc;
use std::time::Instant;

use credlock::registry::{FileStoreSet, SqliteStoreSet, StoreSet};

use crate::app;
use crate::common;

const IDS: usize = 100_000;
const CLIENTS: usize = 16;

/// This process's resident set, in KiB (`VmRSS` of `/proc/self/status`).
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Serves a multi-user server over `set`, asks `/users/{id}/auth/status` for `IDS` distinct
/// unknown ids from `CLIENTS` clients at once, and reports the resident memory before and
/// after.
async fn measure(name: &str, set: impl StoreSet + 'static) {
    let registry = credlock::Registry::builder(set)
        .vault_options(|b| b.insecure_kdf_iterations(1_000).without_tracing_audit())
        .open()
        .unwrap();
    let state = app::AppState::for_registry(
        registry,
        true,
        app::Config {
            tls: false,
            ..app::Config::default()
        },
        Arc::new(app::AcceptAll),
    )
    .unwrap();
    let (base, _stop) = common::serve(state);
    let run = |prefix: &'static str, n: usize| {
        let base = base.clone();
        async move {
            let tasks: Vec<_> = (0..CLIENTS)
                .map(|c| {
                    let base = base.clone();
                    tokio::spawn(async move {
                        let http = reqwest::Client::new();
                        for i in (c..n).step_by(CLIENTS) {
                            let url = format!("{base}/users/{prefix}-{i}/auth/status");
                            let r = http.get(url).send().await.unwrap();
                            assert_eq!(r.status(), 200);
                            let _ = r.bytes().await.unwrap();
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
        }
    };
    // A warm-up (connections, the allocator's first arenas), then the measurement.
    run("warm", 2_000).await;
    let before = resident_kib();
    let started = Instant::now();
    run("unknown-a", IDS / 2).await;
    let halfway = resident_kib();
    run("unknown-b", IDS / 2).await;
    let took = started.elapsed();
    let after = resident_kib();
    let growth = after.saturating_sub(before);
    eprintln!(
        "resident memory, {name}: {before} KiB before, {halfway} KiB after {} and {after} KiB \
         after {IDS} distinct unknown ids ({:.0} requests/s): +{growth} KiB, {:.0} bytes per id",
        IDS / 2,
        IDS as f64 / took.as_secs_f64(),
        growth as f64 * 1024.0 / IDS as f64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: 100,000 requests, about a minute; run by hand, alone"]
async fn resident_memory_sqlite() {
    let _alone = common::alone().await;
    let dir = tempfile::tempdir().unwrap();
    measure(
        "sqlite",
        SqliteStoreSet::open(dir.path().join("db")).unwrap(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement: 100,000 requests, about a minute; run by hand, alone"]
async fn resident_memory_files() {
    let _alone = common::alone().await;
    let dir = tempfile::tempdir().unwrap();
    measure(
        "files",
        FileStoreSet::open(dir.path().join("files")).unwrap(),
    )
    .await;
}
