//! Side-by-side timing of one PBKDF2-HMAC-SHA256 derivation (32-byte key, 480,000
//! iterations by default): credlock on each backend this CPU runs, RustCrypto `pbkdf2` (the
//! reference), Python `cryptography` when available, and the floor (two chained calls of a
//! SHA-256 block function per iteration). All are interleaved round by round so that load
//! from other processes hits them alike; medians and ratios measured in this one run are
//! printed, then the throughput of two derivations on two threads against one; then the
//! whole-vault rows (`credlock_benches::unlock`): a full unlock of a file vault and its
//! overhead over the derivation, N unlocks on N threads, the counts latency budgets of 100,
//! 250 and 500 ms calibrate to (against what pyca fits in the same time), and Argon2id.
//!
//! ```text
//! cargo run --release -p credlock-benches --bin kdf-compare -- [--rounds N] [--iterations N] [--no-python] [--only lanes|argon2]
//! ```
//!
//! Then Argon2id against Python's `argon2-cffi` (and credlock with its lanes one after
//! another), and many derivations at once: side by side on one core for N = 1, 2, 4, 8, 16
//! on each way this CPU runs them, the SHA-NI round instruction alone, and the derivation
//! service against a thread per derivation. `--only` runs just one of those two parts.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Barrier;
use std::time::Duration;

use credlock_benches::{
    PythonKdf, compress_floor, cpu_line, derive, derive_reference, median, time,
};
use credlock_crypto::hazmat::Backend;

struct Options {
    rounds: usize,
    iterations: u32,
    python: bool,
    only: Option<String>,
}

fn parse_options() -> Result<Options, String> {
    let mut options = Options {
        rounds: 11,
        iterations: credlock_benches::ITERATIONS,
        python: true,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .and_then(|v| v.replace('_', "").parse::<u64>().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--rounds" => options.rounds = usize::try_from(value("--rounds")?.max(1)).unwrap_or(1),
            "--iterations" => {
                options.iterations =
                    u32::try_from(value("--iterations")?.max(1)).map_err(|e| e.to_string())?;
            }
            "--no-python" => options.python = false,
            "--only" => {
                options.only = Some(
                    args.next()
                        .filter(|s| ["lanes", "argon2"].contains(&s.as_str()))
                        .ok_or("--only needs `lanes` or `argon2`")?,
                );
            }
            "-h" | "--help" => {
                return Err(
                    "usage: kdf-compare [--rounds N] [--iterations N] [--no-python] [--only lanes|argon2]".into(),
                );
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(options)
}

/// What one row of the table measures.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Job {
    Ours(BackendKey),
    Reference,
    Floor(BackendKey),
    Python(usize),
}

/// [`Backend`] ordered for use as a map key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct BackendKey(usize);

impl BackendKey {
    fn of(backend: Backend) -> Self {
        Self(Backend::ALL.iter().position(|b| *b == backend).unwrap_or(0))
    }

    fn backend(self) -> Backend {
        Backend::ALL[self.0]
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn ratio(a: Duration, b: Duration) -> String {
    if b.is_zero() {
        "-".into()
    } else {
        format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64())
    }
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let iterations = options.iterations;
    match options.only.as_deref() {
        Some("lanes") => {
            println!("CPU: {}", cpu_line());
            concurrent_reports(options.rounds, iterations);
            return ExitCode::SUCCESS;
        }
        Some(_) => {
            println!("CPU: {}", cpu_line());
            credlock_benches::argon2::report(options.rounds, options.python);
            return ExitCode::SUCCESS;
        }
        None => {}
    }
    let engines: Vec<BackendKey> = (0..Backend::ALL.len())
        .map(BackendKey)
        .filter(|k| k.backend().is_available())
        .collect();
    let detected = Backend::detected();
    let has_sha_ni = Backend::ShaNi.is_available();

    // Python: the default build, and (on a SHA-NI CPU) OpenSSL with SHA-NI masked off so its
    // AVX2/AVX code runs, the comparison for the non-SHA-NI backends.
    let mut pythons: Vec<(String, PythonKdf)> = Vec::new();
    if options.python {
        let mut variants = vec![("pyca cryptography".to_owned(), vec![])];
        if has_sha_ni {
            variants.push((
                "pyca, OpenSSL without SHA-NI".to_owned(),
                vec![("OPENSSL_ia32cap", ":~0x20000000")],
            ));
        }
        for (label, env) in variants {
            match PythonKdf::start(&env) {
                Ok(worker) => pythons.push((label, worker)),
                Err(e) => {
                    println!("Python `cryptography` not available, its rows are skipped ({e})");
                    break;
                }
            }
        }
    } else {
        println!("Python `cryptography` skipped (--no-python)");
    }

    let expected = derive_reference(iterations);
    // Floors: each engine's block function, except `sha2`'s when SHA-NI is present (the
    // SHA-NI backend's block function is then that same `sha2` function).
    let floors: Vec<BackendKey> = engines
        .iter()
        .copied()
        .filter(|k| !(k.backend() == Backend::Sha2 && has_sha_ni))
        .collect();
    let floor_of = |k: BackendKey| {
        if k.backend() == Backend::Sha2 && has_sha_ni {
            BackendKey::of(Backend::ShaNi)
        } else {
            k
        }
    };
    let mut jobs: Vec<Job> = engines.iter().map(|&k| Job::Ours(k)).collect();
    jobs.push(Job::Reference);
    jobs.extend(floors.iter().map(|&k| Job::Floor(k)));
    jobs.extend((0..pythons.len()).map(Job::Python));

    let compressions = iterations.saturating_mul(2);
    let mut samples: BTreeMap<Job, Vec<Duration>> = BTreeMap::new();
    println!(
        "measuring {} jobs × {} rounds at {iterations} iterations …",
        jobs.len(),
        options.rounds
    );
    // Warm-up round (not recorded), then rounds starting at a different job each time.
    for round in 0..=options.rounds {
        for j in 0..jobs.len() {
            let job = jobs[(j + round) % jobs.len()];
            let elapsed = match job {
                Job::Ours(k) => {
                    let (d, key) = time(|| derive(k.backend(), iterations));
                    assert_eq!(key, expected, "{} disagrees", k.backend().name());
                    d
                }
                Job::Reference => time(|| derive_reference(iterations)).0,
                Job::Floor(k) => {
                    let (d, state) = time(|| compress_floor(k.backend(), compressions));
                    std::hint::black_box(state);
                    d
                }
                Job::Python(i) => match pythons[i].1.derive(iterations) {
                    Ok((d, key)) => {
                        assert_eq!(key, expected, "Python disagrees");
                        d
                    }
                    Err(e) => {
                        eprintln!("Python worker failed: {e}");
                        return ExitCode::FAILURE;
                    }
                },
            };
            if round > 0 {
                samples.entry(job).or_default().push(elapsed);
            }
        }
    }
    let med = |job: Job| median(samples.get(&job).map_or(&[][..], Vec::as_slice));
    let best = |job: Job| {
        samples
            .get(&job)
            .and_then(|s| s.iter().min().copied())
            .unwrap_or_default()
    };

    let rustc = option_env!("CREDLOCK_RUSTC_VERSION").unwrap_or("rustc (see `rustc -V`)");
    println!();
    println!("CPU: {}", cpu_line());
    println!("{rustc}; auto-detected backend: {}", detected.name());
    for (label, worker) in &pythons {
        println!(
            "{label}: cryptography {} ({})",
            worker.versions,
            worker.interpreter.display()
        );
    }
    println!(
        "PBKDF2-HMAC-SHA256, {iterations} iterations, 32-byte key; medians of {} interleaved rounds",
        options.rounds
    );
    println!();

    let pyca = pythons.first().map(|_| med(Job::Python(0)));
    let pyca_no_sha = (pythons.len() > 1).then(|| med(Job::Python(1)));
    let fastest_floor = floors
        .iter()
        .map(|&k| med(Job::Floor(k)))
        .min()
        .unwrap_or_default();
    println!(
        "{:<52} {:>10} {:>10} {:>9} {:>14} {:>10}",
        "implementation", "median", "best", "÷ pyca", "÷ pyca no-SHA", "÷ floor"
    );
    let row = |job: Job, label: String, floor: Option<Duration>| {
        let d = med(job);
        println!(
            "{:<52} {:>10} {:>10} {:>9} {:>14} {:>10}",
            label,
            ms(d),
            ms(best(job)),
            pyca.map_or("-".into(), |p| ratio(d, p)),
            pyca_no_sha.map_or("-".into(), |p| ratio(d, p)),
            floor.map_or("-".into(), |f| ratio(d, f)),
        );
    };
    for &k in &engines {
        let b = k.backend();
        let label = if b == detected {
            format!("credlock {} (auto)", b.name())
        } else {
            format!("credlock {} (forced)", b.name())
        };
        row(Job::Ours(k), label, Some(med(Job::Floor(floor_of(k)))));
    }
    row(
        Job::Reference,
        "RustCrypto pbkdf2 0.13 (sha2 0.11)".into(),
        Some(fastest_floor),
    );
    for (i, (label, worker)) in pythons.iter().enumerate() {
        let openssl = worker.versions.split('|').nth(1).unwrap_or("").trim();
        let openssl = openssl.split(' ').take(2).collect::<Vec<_>>().join(" ");
        row(Job::Python(i), format!("{label} ({openssl})"), None);
    }
    for &k in &floors {
        row(
            Job::Floor(k),
            match k.backend() {
                Backend::ShaNi | Backend::Sha2 => {
                    format!(
                        "floor: {compressions} × sha2::compress256 ({})",
                        k.backend().name()
                    )
                }
                b => format!("floor: {compressions} × {} block fn", b.name()),
            },
            Some(fastest_floor),
        );
    }
    println!();
    println!(
        "÷ floor: against {compressions} calls of the same backend's block function \
         (RustCrypto and floor rows: against the fastest floor)"
    );
    print_cpu_paths(&samples, &engines, has_sha_ni, pythons.len(), floor_of);

    // Two derivations on two threads against one, interleaved.
    let mut scaling = vec![detected];
    if detected != Backend::Avx2Bmi2 && Backend::Avx2Bmi2.is_available() {
        scaling.push(Backend::Avx2Bmi2);
    }
    for backend in scaling {
        let (one, two) = two_threads(backend, iterations, options.rounds);
        println!(
            "two threads ({}): one derivation {}, two in parallel {}: throughput {:.2}× of one \
             ({} logical CPUs)",
            backend.name(),
            ms(one),
            ms(two),
            2.0 * one.as_secs_f64() / two.as_secs_f64(),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        );
    }
    // Whole unlock, N concurrent unlocks, calibrated counts, Argon2id.
    credlock_benches::unlock::report(options.rounds, pyca.map(|p| (p, iterations)));
    credlock_benches::argon2::report(options.rounds, options.python);
    concurrent_reports(options.rounds, iterations);
    ExitCode::SUCCESS
}

/// Many derivations at once: side by side on one core by way and batch size, the SHA-NI
/// round instruction alone, and the derivation service against one thread per derivation.
fn concurrent_reports(rounds: usize, iterations: u32) {
    credlock_benches::lanes::report(rounds, iterations);
    credlock_benches::lanes::rnds2_report(rounds);
    credlock_benches::lanes::service_report(rounds);
}

/// The goals for a derivation on a CPU without SHA-NI: at most this fraction of pyca's time
/// on the same CPU path (OpenSSL without SHA-NI)…
const NO_SHA_NI_GOAL_PYCA: f64 = 0.80;
/// … and at most this fraction of 960,000 calls of the same backend's block function.
const NO_SHA_NI_GOAL_FLOOR: f64 = 0.95;

/// Each credlock backend against pyca on the same CPU path and against its own floor, as
/// medians of the per-round ratios: each round times every job once, so the ratio of two
/// jobs in one round compares them under the same load, and the median of those ratios
/// is steadier than the ratio of two medians on a busy machine.
///
/// The same CPU path: with SHA-NI, pyca as built; for the backends that do not use SHA-NI
/// (AVX2/BMI2, portable), OpenSSL with SHA-NI masked. On a CPU without SHA-NI both are the
/// default pyca.
fn print_cpu_paths(
    samples: &BTreeMap<Job, Vec<Duration>>,
    engines: &[BackendKey],
    has_sha_ni: bool,
    pythons: usize,
    floor_of: impl Fn(BackendKey) -> BackendKey,
) {
    let paired = |a: Job, b: Job| -> Option<f64> {
        let (a, b) = (samples.get(&a)?, samples.get(&b)?);
        let mut ratios: Vec<f64> = a
            .iter()
            .zip(b)
            .filter(|(_, b)| !b.is_zero())
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let n = ratios.len();
        match n {
            0 => None,
            n if n % 2 == 1 => Some(ratios[n / 2]),
            n => Some((ratios[n / 2 - 1] + ratios[n / 2]) / 2.0),
        }
    };
    let show = |r: Option<f64>| r.map_or_else(|| "-".to_owned(), |r| format!("{r:.2}×"));
    println!();
    println!("per CPU path (medians of per-round ratios, this run):");
    println!(
        "{:<12} {:<34} {:>9} {:>9}",
        "backend", "pyca on the same CPU path", "÷ pyca", "÷ floor"
    );
    for &k in engines {
        let backend = k.backend();
        let uses_sha_ni = matches!(backend, Backend::ShaNi | Backend::Sha2) && has_sha_ni;
        let (pyca, pyca_label) = match (uses_sha_ni, has_sha_ni) {
            (true, _) | (false, false) => (Some(0), "pyca (OpenSSL as built)"),
            (false, true) => (Some(1), "pyca, OpenSSL without SHA-NI"),
        };
        let pyca = pyca.filter(|&i| i < pythons);
        let vs_pyca = pyca.and_then(|i| paired(Job::Ours(k), Job::Python(i)));
        let vs_floor = paired(Job::Ours(k), Job::Floor(floor_of(k)));
        println!(
            "{:<12} {:<34} {:>9} {:>9}",
            backend.name(),
            if pyca.is_some() {
                pyca_label
            } else {
                "(no Python)"
            },
            show(vs_pyca),
            show(vs_floor),
        );
        if backend == Backend::Avx2Bmi2 {
            let verdict = |r: Option<f64>, goal: f64| match r {
                Some(r) if r <= goal => format!("{r:.2}× ≤ {goal:.2}×: met"),
                Some(r) => format!("{r:.2}× > {goal:.2}×: not met"),
                None => "not measured".to_owned(),
            };
            println!(
                "{:<12} goal without SHA-NI: ÷ pyca {}; ÷ floor {}",
                "",
                verdict(vs_pyca, NO_SHA_NI_GOAL_PYCA),
                verdict(vs_floor, NO_SHA_NI_GOAL_FLOOR),
            );
        }
    }
}

/// Medians of one derivation alone and of two started together on two threads.
fn two_threads(backend: Backend, iterations: u32, rounds: usize) -> (Duration, Duration) {
    let mut one = Vec::new();
    let mut two = Vec::new();
    let barrier = Barrier::new(2);
    for round in 0..=rounds {
        let single = time(|| derive(backend, iterations)).0;
        let pair = time(|| {
            std::thread::scope(|s| {
                let a = s.spawn(|| {
                    barrier.wait();
                    derive(backend, iterations)
                });
                barrier.wait();
                let b = derive(backend, iterations);
                (a.join().ok(), b)
            })
        })
        .0;
        if round > 0 {
            one.push(single);
            two.push(pair);
        }
    }
    (median(&one), median(&two))
}
