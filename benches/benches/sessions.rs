//! Criterion: what a client session costs.
//!
//! - `validate/N`: [`Vault::validate_session`] of a valid token among N live sessions
//!   (parse, SHA-256, a constant-time comparison with every stored digest, expiry and scope,
//!   recording the use for the session and the vault's idle lock);
//! - `refuse_unknown`: a well-formed token that matches no session (audited at most once a
//!   second, so mostly not);
//! - `mint`: minting a session (256 random bits, digest, id, audit event).

use std::time::Duration;

use credlock::secrecy::SecretString;
use credlock::sessions::{Scope, SessionRequest};
use credlock::{Credentials, Policy, Vault};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn unlocked(path: &std::path::Path) -> Vault {
    let vault = Vault::builder(path)
        .insecure_kdf_iterations(1)
        .without_idle_timeout()
        .without_tracing_audit()
        .open()
        .expect("open");
    let valid = Policy::default()
        .check(SecretString::from("Tangerine-Rocket-42!"))
        .expect("the benchmark passphrase passes the default policy");
    vault
        .store(
            Credentials::new("alice@example.com", SecretString::from("pw")),
            valid,
        )
        .expect("store");
    vault
}

fn sessions(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("sessions");
    group.measurement_time(Duration::from_secs(3));
    for n in [1usize, 10, 100] {
        let vault = unlocked(&dir.path().join(format!("v{n}.json")));
        let mut tokens = Vec::new();
        for _ in 0..n {
            let minted = vault
                .mint_session(SessionRequest::client("bench"))
                .expect("mint");
            tokens.push(minted.token.expose_secret().to_owned());
        }
        let token = tokens.last().expect("one token").clone();
        group.bench_with_input(BenchmarkId::new("validate", n), &token, |b, token| {
            b.iter(|| vault.validate_session(token, Scope::Totp).expect("valid"));
        });
    }
    let vault = unlocked(&dir.path().join("refuse.json"));
    let unknown = "clk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    group.bench_function("refuse_unknown", |b| {
        b.iter(|| {
            vault
                .validate_session(unknown, Scope::Totp)
                .expect_err("unknown")
        });
    });
    group.bench_function("mint", |b| {
        b.iter(|| {
            vault
                .mint_session(SessionRequest::client("bench"))
                .expect("mint")
        });
    });
    group.finish();
}

criterion_group!(benches, sessions);
criterion_main!(benches);
