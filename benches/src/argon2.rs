//! The Argon2id rows of `kdf-compare`: credlock at the default cost (64 MiB, 3 passes,
//! 4 lanes; lanes in parallel) against Python's `argon2-cffi` (libargon2, one thread per
//! lane) on the same parameters and inputs, and credlock with its lanes one after another
//! (the `argon2` crate's parallel fill on a pool of one thread: what credlock ran before
//! the lanes went parallel); then the passes a latency budget buys either way.

#![allow(clippy::print_stdout, clippy::missing_panics_doc)]

use std::time::Duration;

use credlock::{Argon2Cost, Vault};
use credlock_crypto::{Argon2Limits, KdfParams, Salt, derive_key};

use crate::{PASSWORD, PythonArgon2, SALT, median, time};

/// A pool of one thread: inside it the `argon2` crate fills its lanes one after another.
fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool")
}

/// Median of the per-round ratios `a[i] / b[i]`.
fn paired(a: &[Duration], b: &[Duration]) -> f64 {
    let mut r: Vec<f64> = a
        .iter()
        .zip(b)
        .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
        .collect();
    r.sort_by(f64::total_cmp);
    r.get(r.len() / 2).copied().unwrap_or(0.0)
}

/// Prints the Argon2id rows: `rounds` interleaved rounds; argon2-cffi only if `python`.
pub fn report(rounds: usize, python: bool) {
    let cost = Argon2Cost::RECOMMENDED;
    let params = KdfParams::argon2id(cost, Salt::from_bytes(SALT), &Argon2Limits::DEFAULT)
        .expect("the default cost is within the default limits");
    let passphrase = core::str::from_utf8(PASSWORD).expect("ASCII");
    let mut cffi = if python {
        match PythonArgon2::start(PASSWORD, &SALT) {
            Ok(w) => Some(w),
            Err(e) => {
                println!("argon2-cffi not available, its rows are skipped ({e})");
                None
            }
        }
    } else {
        None
    };
    let pool = one_thread();
    let expected = derive_key(passphrase, &params).expect("derive");
    let (mut ours, mut serial, mut theirs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..=rounds {
        let (a, key) = time(|| derive_key(passphrase, &params).expect("derive"));
        assert_eq!(key, expected);
        let (b, key) = pool.install(|| time(|| derive_key(passphrase, &params).expect("derive")));
        assert_eq!(key, expected);
        let c = cffi.as_mut().map(|w| {
            let (d, key) = w
                .derive(cost.memory_kib(), cost.passes(), cost.lanes())
                .expect("argon2-cffi worker");
            assert_eq!(
                &key[..],
                expected.expose_secret_bytes(),
                "argon2-cffi disagrees"
            );
            d
        });
        if round > 0 {
            ours.push(a);
            serial.push(b);
            theirs.extend(c);
        }
    }
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    println!();
    println!(
        "Argon2id 64 MiB × 3 passes × 4 lanes, 32-byte key (derive_key; argon2-cffi's \
         hash_secret_raw on the same inputs, keys checked equal); medians of {rounds} \
         interleaved rounds, ratios = medians of per-round ratios; {} logical CPUs",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    if let Some(w) = &cffi {
        println!("  argon2-cffi: {}", w.versions());
    }
    println!(
        "  {:<52} {:>10} {:>14} {:>16}",
        "implementation", "median", "÷ argon2-cffi", "÷ lanes in turn"
    );
    let row = |label: &str, s: &[Duration]| {
        println!(
            "  {:<52} {:>10} {:>14} {:>16}",
            label,
            ms(median(s)),
            if theirs.is_empty() {
                "-".to_owned()
            } else {
                format!("{:.2}×", paired(s, &theirs))
            },
            format!("{:.2}×", paired(s, &serial)),
        );
    };
    row("credlock, lanes in parallel (default)", &ours);
    row("credlock, lanes one after another (1 thread)", &serial);
    if !theirs.is_empty() {
        row("argon2-cffi (libargon2, a thread per lane)", &theirs);
    }

    println!();
    println!(
        "  Argon2id passes (64 MiB, 4 lanes) a latency budget buys (kdf_argon2id_latency_budget):"
    );
    println!(
        "  {:>7} {:>24} {:>24}",
        "budget", "lanes in parallel", "lanes one after another"
    );
    for budget_ms in [100u64, 250, 500] {
        let budget = Duration::from_millis(budget_ms);
        let passes = || {
            let dir = tempfile::tempdir().expect("a temporary directory");
            Vault::builder(dir.path().join("vault.json"))
                .kdf_argon2id_latency_budget(64 * 1024, 4, budget)
                .open()
                .expect("open")
                .security_status()
                .kdf_for_new_vaults
                .iterations
        };
        let parallel = passes();
        let in_turn = pool.install(passes);
        println!("  {budget_ms:>4} ms {parallel:>24} {in_turn:>24}");
    }
}
