//! Criterion: one PBKDF2-HMAC-SHA256 key derivation (32-byte key) at 480,000 and 600,000
//! iterations on the auto-detected backend, then 480,000 on every backend this CPU runs
//! (forced) and the RustCrypto `pbkdf2` reference; N = 1, 2, 4, 8, 16 derivations side by
//! side on one core on every way this CPU runs them (throughput in derivations), and one
//! derivation alone through the derivation service against `derive_key`.

use std::hint::black_box;
use std::time::Duration;

use credlock_benches::lanes::{BATCH_SIZES, derive_many};
use credlock_benches::{ITERATIONS, PASSWORD, SALT, compress_floor, derive, derive_reference};
use credlock_crypto::hazmat::{Backend, Lanes};
use credlock_crypto::{KdfParams, Salt, derive_key, derive_key_batched};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn headline(c: &mut Criterion) {
    let mut group = c.benchmark_group("pbkdf2_hmac_sha256");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    for iterations in [ITERATIONS, 600_000] {
        group.throughput(Throughput::Elements(u64::from(iterations)));
        group.bench_with_input(
            BenchmarkId::new("auto", iterations),
            &iterations,
            |b, &n| b.iter(|| derive(Backend::Auto, black_box(n))),
        );
    }
    group.finish();
}

fn backends(c: &mut Criterion) {
    let mut group = c.benchmark_group("pbkdf2_hmac_sha256_480k_by_backend");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements(u64::from(ITERATIONS)));
    for backend in Backend::available() {
        group.bench_function(backend.name(), |b| {
            b.iter(|| derive(backend, black_box(ITERATIONS)));
        });
    }
    group.bench_function("reference", |b| {
        b.iter(|| derive_reference(black_box(ITERATIONS)));
    });
    group.finish();

    // The floor: two block-function calls per iteration, nothing else.
    let mut group = c.benchmark_group("sha256_block_fn_960k");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(6))
        .throughput(Throughput::Elements(2 * u64::from(ITERATIONS)));
    for backend in Backend::available() {
        group.bench_function(backend.name(), |b| {
            b.iter(|| compress_floor(backend, black_box(2 * ITERATIONS)));
        });
    }
    group.finish();
}

fn concurrent(c: &mut Criterion) {
    for lanes in [Lanes::ShaNi, Lanes::Avx512, Lanes::Avx2] {
        if !lanes.is_available() {
            continue;
        }
        let mut group = c.benchmark_group(format!("pbkdf2_480k_side_by_side_{}", lanes.name()));
        group
            .sample_size(10)
            .measurement_time(Duration::from_secs(8));
        for n in BATCH_SIZES {
            group.throughput(Throughput::Elements(n as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
                b.iter(|| derive_many(lanes, n, black_box(ITERATIONS)));
            });
        }
        group.finish();
    }

    // A lone unlock: through the derivation service, and straight.
    let params = KdfParams::new(u64::from(ITERATIONS), Salt::from_bytes(SALT)).expect("bounds");
    let passphrase = core::str::from_utf8(PASSWORD).expect("ASCII");
    let mut group = c.benchmark_group("pbkdf2_480k_alone");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(8));
    group.bench_function("derive_key", |b| {
        b.iter(|| derive_key(passphrase, black_box(&params)));
    });
    group.bench_function("derive_key_batched", |b| {
        b.iter(|| derive_key_batched(passphrase, black_box(&params)));
    });
    group.finish();
}

criterion_group!(benches, headline, backends, concurrent);
criterion_main!(benches);
