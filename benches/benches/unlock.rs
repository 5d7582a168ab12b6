//! Criterion: a full `unlock` through the `credlock` facade at the default 480,000
//! iterations (read the vault, derive the key, open the token, parse the record), on an
//! in-memory store so that disk time does not blur the KDF; `lock` between runs is included
//! in each sample and costs next to nothing.

use std::time::Duration;

use credlock::secrecy::SecretString;
use credlock::{Credentials, MemoryStore, Policy, VaultBuilder};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const PASSPHRASE: &str = "Tangerine-Rocket-42!";

fn unlock(c: &mut Criterion) {
    let valid = Policy::default()
        .check(SecretString::from(PASSPHRASE))
        .expect("the benchmark passphrase passes the default policy");
    let vault = VaultBuilder::with_store(MemoryStore::new())
        .insecure_without_lockout()
        .without_idle_timeout()
        .open()
        .expect("open an in-memory vault");
    let credentials = Credentials::new("alice@example.com", SecretString::from("monarch-pw-123"))
        .with_mfa_secret(SecretString::from("JBSWY3DPEHPK3PXP"));
    vault.store(credentials, valid).expect("store");
    let passphrase = SecretString::from(PASSPHRASE);

    let mut group = c.benchmark_group("vault");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(1));
    group.bench_function("unlock_480k", |b| {
        b.iter(|| {
            vault.lock();
            vault.unlock(&passphrase).expect("unlock");
        });
    });
    group.finish();
}

criterion_group!(benches, unlock);
criterion_main!(benches);
