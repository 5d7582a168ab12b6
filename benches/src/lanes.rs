//! The concurrent-unlock rows of `kdf-compare`: N independent PBKDF2 derivations run side by
//! side on one core (`hazmat::pbkdf2_hmac_sha256_many_with`) against N times one derivation
//! alone on the same CPU path, for N = 1, 2, 4, 8, 16 and every way this CPU runs them.

#![allow(clippy::print_stdout, clippy::missing_panics_doc)]

use std::time::Duration;

use credlock_crypto::Salt;
use credlock_crypto::hazmat::{self, Backend, Lanes, Pbkdf2Job};

use crate::{PASSWORD, SALT, derive, median, time};

/// The batch sizes measured.
pub const BATCH_SIZES: [usize; 5] = [1, 2, 4, 8, 16];

/// The single-chain backend a way of running many chains is compared with: the same CPU
/// path (SHA-NI for interleaved SHA-NI chains; AVX2/BMI2 for the vector lanes, which do not
/// use SHA-NI; the detected backend otherwise).
pub fn single_backend(lanes: Lanes) -> Backend {
    match lanes {
        Lanes::ShaNi => Backend::ShaNi,
        Lanes::Avx512 | Lanes::Avx2 if Backend::Avx2Bmi2.is_available() => Backend::Avx2Bmi2,
        Lanes::Portable => Backend::Portable,
        _ => Backend::detected(),
    }
}

/// `n` derivations of a 32-byte key (the benchmark passphrase and salt) side by side on
/// `lanes`.
///
/// # Panics
///
/// If this CPU cannot run `lanes`.
pub fn derive_many(lanes: Lanes, n: usize, iterations: u32) -> Vec<[u8; 32]> {
    let mut outs = vec![[0u8; 32]; n];
    let mut jobs: Vec<Pbkdf2Job<'_>> = outs
        .iter_mut()
        .map(|out| Pbkdf2Job::new(PASSWORD, &SALT, iterations, out))
        .collect();
    hazmat::pbkdf2_hmac_sha256_many_with(lanes, &mut jobs)
        .expect("lanes this CPU runs (see Lanes::is_available)");
    outs
}

/// Medians over `rounds` interleaved rounds: per way of running many chains, one
/// derivation alone on its single-chain backend and each batch size, and the throughput
/// ratios (per-round `N × alone ÷ batch`, median).
pub fn report(rounds: usize, iterations: u32) {
    let ways: Vec<Lanes> = [Lanes::ShaNi, Lanes::Avx512, Lanes::Avx2]
        .into_iter()
        .filter(|l| l.is_available())
        .collect();
    let expected = derive(Backend::Auto, iterations);
    // samples[way][0] = alone; samples[way][1 + k] = batch of BATCH_SIZES[k].
    let mut samples = vec![vec![Vec::<Duration>::new(); 1 + BATCH_SIZES.len()]; ways.len()];
    for round in 0..=rounds {
        for (w, &lanes) in ways.iter().enumerate() {
            let (alone, key) = time(|| derive(single_backend(lanes), iterations));
            assert_eq!(key, expected);
            let mut row = vec![alone];
            for n in BATCH_SIZES {
                let (took, keys) = time(|| derive_many(lanes, n, iterations));
                assert!(
                    keys.iter().all(|k| *k == expected),
                    "{} × {n}",
                    lanes.name()
                );
                row.push(took);
            }
            if round > 0 {
                for (s, d) in samples[w].iter_mut().zip(row) {
                    s.push(d);
                }
            }
        }
    }
    println!();
    println!(
        "Concurrent derivations on one core (PBKDF2 {iterations}, 32-byte keys): N side by side \
         against N × one alone on the same CPU path; medians of {rounds} interleaved rounds, \
         throughput = median of per-round N × alone ÷ batch"
    );
    print!("  {:<34} {:>10}", "way (lanes) / one alone on", "alone");
    for n in BATCH_SIZES {
        print!(" {:>18}", format!("N = {n}"));
    }
    println!();
    for (w, &lanes) in ways.iter().enumerate() {
        let alone = &samples[w][0];
        print!(
            "  {:<34} {:>10}",
            format!(
                "{} ({}) / {}",
                lanes.name(),
                lanes.width().unwrap_or(1),
                single_backend(lanes).name()
            ),
            format!("{:.1} ms", median(alone).as_secs_f64() * 1e3)
        );
        for (k, n) in BATCH_SIZES.into_iter().enumerate() {
            let batch = &samples[w][1 + k];
            let mut ratios: Vec<f64> = alone
                .iter()
                .zip(batch)
                .map(|(a, b)| n as f64 * a.as_secs_f64() / b.as_secs_f64())
                .collect();
            ratios.sort_by(f64::total_cmp);
            let ratio = ratios.get(ratios.len() / 2).copied().unwrap_or(0.0);
            print!(
                " {:>18}",
                format!("{:.1} ms {:.2}×", median(batch).as_secs_f64() * 1e3, ratio)
            );
        }
        println!();
    }
}

/// The SHA-NI round instruction alone: `sha256rnds2` in 1 to 4 independent dependent
/// chains, without and with one `sha256msg1` + `sha256msg2` per round instruction and chain
/// (a compression's message schedule adds 24 of those to its 32 round instructions).
/// Nanoseconds per step (one instruction of each chain), best of `rounds`, and the
/// throughput in round instructions against one chain of round instructions alone.
pub fn rnds2_report(rounds: usize) {
    const COUNT: u32 = 10_000_000;
    if hazmat::sha_ni_round_chains(1, false, 1).is_none() {
        return;
    }
    println!();
    println!(
        "SHA-NI round instruction micro-benchmark: ns per step of N independent chains of \
         dependent sha256rnds2 (best of {rounds}); with msg: plus one sha256msg1 and one \
         sha256msg2 per chain per step, off the critical path; × = round-instruction \
         throughput against one chain of sha256rnds2 alone"
    );
    let mut one = 0.0;
    for with_msg in [false, true] {
        let mut line = format!("  {:<12}", if with_msg { "with msg" } else { "rnds2 only" });
        for chains in 1..=4usize {
            let best = (0..rounds.max(1))
                .map(|_| {
                    time(|| hazmat::sha_ni_round_chains(chains, with_msg, COUNT))
                        .0
                        .as_secs_f64()
                })
                .fold(f64::MAX, f64::min);
            let ns = best * 1e9 / f64::from(COUNT);
            if chains == 1 && !with_msg {
                one = ns;
            }
            line.push_str(&format!(
                "   N = {chains}: {ns:.2} ns ({:.2}×)",
                chains as f64 * one / ns
            ));
        }
        println!("{line}");
    }
}

/// The derivation service (`derive_key_batched`) against `derive_key`: one derivation alone
/// (the latency of a lone unlock, which must not grow), and N derivations started together
/// on N threads, each way (throughput per core: N × one alone ÷ (wall time × CPUs)).
pub fn service_report(rounds: usize) {
    use credlock_crypto::{KdfParams, derive_key, derive_key_batched};
    let params = KdfParams::new(480_000, Salt::from_bytes(SALT)).expect("in bounds");
    let passphrase = core::str::from_utf8(PASSWORD).expect("ASCII");
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let counts = [1usize, 2, 4, 8, 16];
    let together = |n: usize, batched: bool| {
        let barrier = std::sync::Barrier::new(n);
        time(|| {
            std::thread::scope(|s| {
                for _ in 0..n {
                    let (barrier, params) = (&barrier, &params);
                    s.spawn(move || {
                        barrier.wait();
                        if batched {
                            derive_key_batched(passphrase, params).expect("derive")
                        } else {
                            derive_key(passphrase, params).expect("derive")
                        }
                    });
                }
            });
        })
        .0
    };
    // [count][0] = derive_key on N threads, [count][1] = derive_key_batched on N threads.
    let mut samples = vec![[Vec::new(), Vec::new()]; counts.len()];
    let (mut alone_direct, mut alone_batched) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let a = time(|| derive_key(passphrase, &params).expect("derive")).0;
        let b = time(|| derive_key_batched(passphrase, &params).expect("derive")).0;
        let mut row = Vec::new();
        for &n in &counts {
            row.push([together(n, false), together(n, true)]);
        }
        if round > 0 {
            alone_direct.push(a);
            alone_batched.push(b);
            for (s, [d, t]) in samples.iter_mut().zip(row) {
                s[0].push(d);
                s[1].push(t);
            }
        }
    }
    let ratio = |a: &[Duration], b: &[Duration]| {
        let mut r: Vec<f64> = a
            .iter()
            .zip(b)
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
            .collect();
        r.sort_by(f64::total_cmp);
        r.get(r.len() / 2).copied().unwrap_or(0.0)
    };
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
    println!();
    println!(
        "The derivation service (derive_key_batched, {} per batch on this CPU) against \
         derive_key, PBKDF2 480k; medians of {rounds} interleaved rounds, {cpus} logical CPUs",
        credlock_crypto::DerivationService::global().width()
    );
    println!(
        "  one derivation alone: derive_key {}, derive_key_batched {}: ratio {:.3}× \
         (per-round median)",
        ms(median(&alone_direct)),
        ms(median(&alone_batched)),
        ratio(&alone_batched, &alone_direct)
    );
    println!(
        "  {:>4} {:>22} {:>22} {:>18} {:>18}",
        "N", "derive_key (N threads)", "batched (N threads)", "speed-up", "per-core vs alone"
    );
    let alone = median(&alone_direct).as_secs_f64();
    for (k, &n) in counts.iter().enumerate() {
        let [direct, batched] = &samples[k];
        let per_core = |d: Duration| n as f64 * alone / (d.as_secs_f64() * cpus.min(n) as f64);
        println!(
            "  {:>4} {:>22} {:>22} {:>18} {:>18}",
            n,
            format!("{} ({:.2}×)", ms(median(direct)), per_core(median(direct))),
            format!(
                "{} ({:.2}×)",
                ms(median(batched)),
                per_core(median(batched))
            ),
            format!("{:.2}×", ratio(direct, batched)),
            format!("{:.2}×", per_core(median(batched))),
        );
    }
}
