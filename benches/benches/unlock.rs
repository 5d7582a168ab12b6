//! Criterion: a full `unlock` through the `credlock` facade at the default 480,000
//! iterations (read the vault, derive the key, open the token, parse the record), on an
//! in-memory store so that disk time does not blur the KDF; `lock` between runs is included
//! in each sample and costs next to nothing. Then the whole unlock of a file vault (open,
//! read, lockout bookkeeping on disk, derive, verify, decrypt) at PBKDF2 480k, at 1
//! iteration (the overhead alone), and at Argon2id's default cost (64 MiB, 3 passes,
//! 4 lanes).

use std::time::Duration;

use credlock::secrecy::SecretString;
use credlock::{Argon2Cost, Credentials, MemoryStore, Policy, Vault, VaultBuilder};
use credlock_benches::unlock::FileVault;
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

/// Makes the builder of one benchmarked vault from its path.
type Make = fn(&std::path::Path) -> VaultBuilder;

fn file_unlock(c: &mut Criterion) {
    let mut group = c.benchmark_group("file_vault");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements(1));
    let cases: [(&str, Make); 3] = [
        ("unlock_pbkdf2_480k", |p| Vault::builder(p)),
        ("unlock_1_iteration", |p| {
            Vault::builder(p).insecure_kdf_iterations(1)
        }),
        ("unlock_argon2id_64mib_t3_p4", |p| {
            Vault::builder(p).kdf_argon2id(Argon2Cost::RECOMMENDED)
        }),
    ];
    for (name, builder) in cases {
        let vault = FileVault::new(builder);
        group.bench_function(name, |b| b.iter(|| vault.unlock()));
    }
    group.finish();
}

criterion_group!(benches, unlock, file_unlock);
criterion_main!(benches);
