//! Criterion: what the persisted lockout costs, on a vault file in a temporary directory (a
//! real file system, with its fsyncs).
//!
//! - `refused_attempt`: an unlock refused while locked out (no key derivation);
//! - `bookkeeping`: what the passphrase gate adds to a successful unlock, apart from the
//!   derivation: counting the attempt (lock, read, atomic write) and un-counting it;
//! - `unlock_1_iteration`: a whole unlock + lock at 1 PBKDF2 iteration, i.e. everything but
//!   the derivation (file read, bookkeeping, token, record).

use std::time::Duration;

use credlock::secrecy::SecretString;
use credlock::{Credentials, Error, Policy, Vault};
use credlock_store::{FileStore, LockoutRecord, Store};
use criterion::{Criterion, criterion_group, criterion_main};

const PASSPHRASE: &str = "Tangerine-Rocket-42!";

fn stored(path: &std::path::Path, iterations: u32) -> Vault {
    let vault = Vault::builder(path)
        .insecure_kdf_iterations(iterations)
        .without_idle_timeout()
        .open()
        .expect("open");
    let valid = Policy::default()
        .check(SecretString::from(PASSPHRASE))
        .expect("the benchmark passphrase passes the default policy");
    vault
        .store(
            Credentials::new("alice@example.com", SecretString::from("monarch-pw-123")),
            valid,
        )
        .expect("store");
    vault.lock();
    vault
}

fn lockout(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("lockout");
    group.measurement_time(Duration::from_secs(5));

    let locked_out = stored(&dir.path().join("locked-out.json"), 1);
    for _ in 0..5 {
        let _ = locked_out.unlock(&SecretString::from("wrong"));
    }
    let wrong = SecretString::from("wrong");
    group.bench_function("refused_attempt", |b| {
        b.iter(|| {
            let refused = locked_out.unlock(&wrong);
            assert!(matches!(refused, Err(Error::LockedOut { .. })));
        });
    });

    let store = FileStore::open(dir.path().join("bookkeeping.json")).expect("store");
    group.bench_function("bookkeeping", |b| {
        b.iter(|| {
            {
                let _lock = store.lock().expect("lock");
                let record = store.load_lockout().expect("load");
                let counted = LockoutRecord::new(record.failures() + 1, None);
                store.save_lockout(&counted).expect("count");
            }
            let _lock = store.lock().expect("lock");
            if store.load_lockout().expect("load") != LockoutRecord::default() {
                store
                    .save_lockout(&LockoutRecord::default())
                    .expect("uncount");
            }
        });
    });

    let vault = stored(&dir.path().join("vault.json"), 1);
    let right = SecretString::from(PASSPHRASE);
    group.bench_function("unlock_1_iteration", |b| {
        b.iter(|| {
            vault.unlock(&right).expect("unlock");
            vault.lock();
        });
    });
    group.finish();
}

criterion_group!(benches, lockout);
criterion_main!(benches);
