//! Criterion: Fernet seal and open of credential records by size (the key is derived once;
//! these time AES-128-CBC, HMAC-SHA256 and base64 only).

use std::hint::black_box;

use credlock_crypto::FernetKey;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Record sizes: a small credential record (email, password, MFA secret as JSON), a larger
/// record, and 16 KiB.
const SIZES: [usize; 3] = [128, 1024, 16 * 1024];

fn record(len: usize) -> Vec<u8> {
    let template = br#"{"email":"user@example.com","password":"correct horse battery staple","mfa_secret":"JBSWY3DPEHPK3PXP"}"#;
    template.iter().copied().cycle().take(len).collect()
}

fn seal_open(c: &mut Criterion) {
    let key = FernetKey::from_bytes(&[7; 32]);
    let mut group = c.benchmark_group("fernet");
    for len in SIZES {
        let plaintext = record(len);
        let token = key.seal(&plaintext).expect("seal");
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_with_input(BenchmarkId::new("seal", len), &plaintext, |b, p| {
            b.iter(|| key.seal(black_box(p)).expect("seal"));
        });
        group.bench_with_input(BenchmarkId::new("open", len), &token, |b, t| {
            b.iter(|| key.open(black_box(t)).expect("open"));
        });
    }
    group.finish();
}

criterion_group!(benches, seal_open);
criterion_main!(benches);
