//! Criterion: `Policy::check` with the default policy, for a passphrase that passes and one
//! that the blocklist refuses, on the first check of a fresh policy and in steady state.
//!
//! The blocklist is a table compiled into `credlock-policy`, so there is no lazily built
//! state for a first check to pay for: a first check is a check on a policy that has just
//! been made, and `first_check/*` times exactly that, building `Policy::default()` inside
//! every timed iteration. `steady/*` checks with one policy value made before timing.
//! Both include turning the passphrase into a `SecretString` (one allocation).
//!
//! What a benchmark loop cannot show is the very first call in a process, when the pages of
//! the table that a binary search touches are not yet in memory: a one-off cost of a few
//! page faults, which only timing the first call in a new process measures.

use std::hint::black_box;

use credlock_policy::Policy;
use credlock_policy::secrecy::SecretString;
use criterion::{Criterion, criterion_group, criterion_main};

/// Passes the default policy: every candidate the blocklist derives from it is looked up
/// and missed.
const PASSES: &str = "Correct-Horse-9-Battery!";
/// Refused by the default policy's blocklist alone (`summer` after stripping).
const BLOCKED: &str = "Summer2024!!!";

fn check(c: &mut Criterion) {
    // The benchmark is only meaningful if the inputs do what their names say.
    assert!(Policy::default().check(SecretString::from(PASSES)).is_ok());
    let err = Policy::default()
        .check(SecretString::from(BLOCKED))
        .expect_err("blocklisted");
    assert_eq!(
        err.iter().map(|v| v.code()).collect::<Vec<_>>(),
        ["common_passphrase"]
    );

    let mut group = c.benchmark_group("policy");
    for (name, passphrase) in [("pass", PASSES), ("blocklisted", BLOCKED)] {
        group.bench_function(format!("first_check/{name}"), |b| {
            b.iter(|| Policy::default().check(SecretString::from(black_box(passphrase))));
        });
        let policy = Policy::default();
        group.bench_function(format!("steady/{name}"), |b| {
            b.iter(|| policy.check(SecretString::from(black_box(passphrase))));
        });
    }
    group.finish();
}

criterion_group!(benches, check);
criterion_main!(benches);
