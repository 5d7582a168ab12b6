//! Criterion: what keyslots (format version 3) add to an unlock beyond the key derivation,
//! with 1, 8 and 32 slots, against a vault of version 1 whose passphrase key seals the record
//! directly; both at a 1-iteration KDF on an in-memory store, so the difference is the slot
//! work (an HKDF, two XChaCha20-Poly1305 opens, a P-256 scalar multiplication to check the
//! public key and one ECDH). Then the cost of a rotation (a new data key, the record
//! re-sealed, every slot re-wrapped to its public key: one ephemeral key and one ECDH per
//! slot) with 1, 8 and 32 slots, and the file's size (printed).

#![allow(
    clippy::print_stderr,
    reason = "the file sizes are printed beside the timings"
)]

use std::time::Duration;

use credlock::secrecy::SecretString;
use credlock::{Credentials, MemoryStore, Store, ValidPassphrase, Vault, VaultBuilder};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const PASSPHRASE: &str = "Tangerine-Rocket-42!";

fn vault(slots: usize, legacy: bool) -> (Vault, MemoryStore) {
    let store = MemoryStore::new();
    let builder = VaultBuilder::with_store(store.clone())
        .insecure_kdf_iterations(1)
        .insecure_without_lockout()
        .without_idle_timeout();
    let builder = if legacy {
        builder.keep_eclosion_compatible_kdf()
    } else {
        builder
    };
    let vault = builder.open().expect("open an in-memory vault");
    let credentials = Credentials::new("alice@example.com", SecretString::from("monarch-pw-123"))
        .with_mfa_secret(SecretString::from("JBSWY3DPEHPK3PXP"));
    vault
        .store(
            credentials,
            ValidPassphrase::insecure_unchecked(SecretString::from(PASSPHRASE)),
        )
        .expect("store");
    for i in 1..slots {
        vault
            .add_secret_slot(&format!("device {i}"), &[u8::try_from(i).unwrap_or(0); 32])
            .expect("add a slot");
    }
    (vault, store)
}

fn unlock(c: &mut Criterion) {
    let passphrase = SecretString::from(PASSPHRASE);
    let mut group = c.benchmark_group("keyslots_unlock_1_iteration");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    let (legacy, store) = vault(1, true);
    eprintln!(
        "file size, version 1: {} bytes",
        store.load().ok().flatten().map_or(0, |b| b.len())
    );
    group.bench_function("version_1", |b| {
        b.iter(|| {
            legacy.lock();
            legacy.unlock(&passphrase).expect("unlock");
        });
    });
    for slots in [1, 8, 32] {
        let (v, store) = vault(slots, false);
        eprintln!(
            "file size, version 3 with {slots} slot(s): {} bytes",
            store.load().ok().flatten().map_or(0, |b| b.len())
        );
        group.bench_with_input(BenchmarkId::new("version_3_slots", slots), &v, |b, v| {
            b.iter(|| {
                v.lock();
                v.unlock(&passphrase).expect("unlock");
            });
        });
    }
    group.finish();
}

fn rotate(c: &mut Criterion) {
    let mut group = c.benchmark_group("keyslots_rotation");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(1));
    for slots in [1, 8, 32] {
        let (v, _) = vault(slots, false);
        // "Revoke every session" on an unlocked vault is a pure rotation.
        group.bench_with_input(BenchmarkId::new("slots", slots), &v, |b, v| {
            b.iter(|| v.revoke_all_sessions().expect("rotate"));
        });
    }
    group.finish();
}

criterion_group!(benches, unlock, rotate);
criterion_main!(benches);
