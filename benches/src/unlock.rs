//! Whole-vault rows of `kdf-compare`: a full `Vault::unlock` of a file vault against the
//! derivation alone (the overhead of opening, reading, lockout bookkeeping, verifying and
//! decrypting), N unlocks on N threads, the iteration counts latency budgets calibrate to
//! (next to what pyca fits in the same time, and the attacker's cost), and Argon2id at its
//! default cost next to PBKDF2 480k (unlock time and memory).

#![allow(clippy::print_stdout, clippy::missing_panics_doc)]

use std::path::Path;
use std::sync::Barrier;
use std::time::Duration;

use credlock::secrecy::SecretString;
use credlock::{Argon2Cost, Credentials, Policy, Vault, VaultBuilder};
use credlock_crypto::{KdfParams, Normalization, Salt, derive_key};

use crate::{median, time};

/// The passphrase of every benchmark vault.
pub const PASSPHRASE: &str = "Tangerine-Rocket-42!";

/// hashcat mode 10900 (PBKDF2-HMAC-SHA256) on one RTX 4090, scaled to 480,000 iterations.
pub const RTX4090_GUESSES_AT_480K: f64 = 18_450.0;

/// RTX 4090 memory bandwidth, bytes per second (1,008 GB/s), for the Argon2id estimate.
pub const RTX4090_BANDWIDTH: f64 = 1_008e9;

/// A vault in a file of its own temporary directory, stored and locked.
#[derive(Debug)]
pub struct FileVault {
    _dir: tempfile::TempDir,
    /// The vault, locked.
    pub vault: Vault,
}

impl FileVault {
    /// A new vault made by `builder` (given the path), holding one record.
    pub fn new(builder: impl FnOnce(&Path) -> VaultBuilder) -> Self {
        Self::new_in(&std::env::temp_dir(), builder)
    }

    /// [`FileVault::new`] in a temporary directory under `parent` (`/dev/shm` for a
    /// memory file system, so that `fsync` costs nothing).
    pub fn new_in(parent: &Path, builder: impl FnOnce(&Path) -> VaultBuilder) -> Self {
        let dir = tempfile::tempdir_in(parent).expect("a temporary directory");
        let vault = builder(&dir.path().join("vault.json"))
            .without_idle_timeout()
            .open()
            .expect("open a file vault");
        let pass = Policy::default()
            .check(SecretString::from(PASSPHRASE))
            .expect("the benchmark passphrase passes the default policy");
        let credentials =
            Credentials::new("alice@example.com", SecretString::from("monarch-pw-123"))
                .with_mfa_secret(SecretString::from("JBSWY3DPEHPK3PXP"));
        vault.store(credentials, pass).expect("store");
        vault.lock();
        Self { _dir: dir, vault }
    }

    /// One full unlock (the vault is locked again first, not timed).
    pub fn unlock(&self) -> Duration {
        self.vault.lock();
        let passphrase = SecretString::from(PASSPHRASE);
        let (took, result) = time(|| self.vault.unlock(&passphrase));
        result.expect("unlock");
        took
    }
}

/// Peak resident memory of this process so far (`VmHWM`), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

/// Argon2id guesses per second an RTX 4090 can at most sustain, from memory bandwidth alone:
/// each guess moves about (3t − 1) × m bytes (every block of every pass reads two blocks and
/// writes one; the first pass reads one), the model of tobtu.com's "Minimum password
/// settings" (2022). An estimate, not a measurement.
pub fn argon2id_gpu_estimate(cost: Argon2Cost) -> f64 {
    let bytes = f64::from(cost.memory_kib()) * 1024.0 * (3.0 * f64::from(cost.passes()) - 1.0);
    RTX4090_BANDWIDTH / bytes
}

/// Prints the whole-unlock, concurrency, calibration and Argon2id rows. `pyca` is pyca's
/// median time for a PBKDF2 of `pyca_iterations`, when Python ran.
pub fn report(rounds: usize, pyca: Option<(Duration, u32)>) {
    let rounds = rounds.max(3);
    let before_argon = peak_rss_kib();
    let pbkdf2 = FileVault::new(|p| Vault::builder(p));
    let tiny = FileVault::new(|p| Vault::builder(p).insecure_kdf_iterations(1));
    let shm = Path::new("/dev/shm");
    let tiny_tmpfs = shm
        .is_dir()
        .then(|| FileVault::new_in(shm, |p| Vault::builder(p).insecure_kdf_iterations(1)));
    let argon = FileVault::new(|p| Vault::builder(p).kdf_argon2id(Argon2Cost::RECOMMENDED));
    let after_argon = peak_rss_kib();
    let params = KdfParams::new(480_000, Salt::from_bytes([7; 16]))
        .expect("480,000 is in bounds")
        .with_normalization(Normalization::Nfkc);

    let mut unlock_480k = Vec::new();
    let mut derive_480k = Vec::new();
    let mut unlock_1 = Vec::new();
    let mut unlock_argon = Vec::new();
    let mut unlock_1_tmpfs = Vec::new();
    for round in 0..=rounds {
        let on_tmpfs = tiny_tmpfs.as_ref().map(FileVault::unlock);
        let samples = [
            pbkdf2.unlock(),
            time(|| derive_key(PASSPHRASE, &params).expect("derive")).0,
            tiny.unlock(),
            argon.unlock(),
        ];
        if round > 0 {
            unlock_480k.push(samples[0]);
            derive_480k.push(samples[1]);
            unlock_1.push(samples[2]);
            unlock_argon.push(samples[3]);
            unlock_1_tmpfs.extend(on_tmpfs);
        }
    }
    let (u, d, one, a) = (
        median(&unlock_480k),
        median(&derive_480k),
        median(&unlock_1),
        median(&unlock_argon),
    );
    println!();
    println!(
        "Whole unlock of a file vault (Vault::unlock: open, read, lockout bookkeeping, \
         derive, verify, decrypt, parse); medians of {rounds} interleaved rounds"
    );
    println!("  {:<58} {:>10}", "unlock, PBKDF2 480k (NFKC)", ms(u));
    println!(
        "  {:<58} {:>10}",
        "derive_key alone, PBKDF2 480k (NFKC)",
        ms(d)
    );
    println!(
        "  {:<58} {:>10}",
        "overhead = unlock − derivation",
        format!("{:.2} ms", (u.as_secs_f64() - d.as_secs_f64()) * 1e3)
    );
    println!(
        "  {:<58} {:>10}",
        "unlock at 1 iteration (the overhead, measured directly)",
        format!("{:.2} ms", one.as_secs_f64() * 1e3)
    );
    if !unlock_1_tmpfs.is_empty() {
        println!(
            "  {:<58} {:>10}",
            "unlock at 1 iteration, vault on tmpfs (/dev/shm: no disk)",
            format!("{:.2} ms", median(&unlock_1_tmpfs).as_secs_f64() * 1e3)
        );
    }
    println!(
        "  {:<58} {:>10}",
        "unlock, Argon2id 64 MiB × 3 passes × 4 lanes",
        ms(a)
    );
    println!(
        "  Argon2id ÷ PBKDF2 480k unlock time: {:.2}×; peak memory added by the Argon2id vault: {}",
        a.as_secs_f64() / u.as_secs_f64(),
        match (before_argon, after_argon) {
            (Some(b), Some(a)) =>
                format!("{:.1} MiB (VmHWM)", (a.saturating_sub(b)) as f64 / 1024.0),
            _ => "unknown (no /proc/self/status)".into(),
        }
    );

    concurrent(rounds);
    calibration(pyca);
}

/// N unlocks of N vaults on N threads against one alone.
fn concurrent(rounds: usize) {
    let n = std::thread::available_parallelism().map_or(1, |n| n.get());
    let vaults: Vec<FileVault> = (0..n)
        .map(|_| FileVault::new(|p| Vault::builder(p)))
        .collect();
    let barrier = Barrier::new(n);
    let mut one = Vec::new();
    let mut all = Vec::new();
    for round in 0..=rounds {
        let single = vaults[0].unlock();
        for v in &vaults {
            v.vault.lock();
        }
        let (together, ()) = time(|| {
            std::thread::scope(|s| {
                for v in &vaults {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        v.vault
                            .unlock(&SecretString::from(PASSPHRASE))
                            .expect("unlock");
                    });
                }
            });
        });
        if round > 0 {
            one.push(single);
            all.push(together);
        }
    }
    let (one, all) = (median(&one), median(&all));
    println!(
        "  {n} unlocks of {n} file vaults on {n} threads: one alone {}, {n} together {}: \
         throughput {:.2}× of one ({n} logical CPUs)",
        ms(one),
        ms(all),
        n as f64 * one.as_secs_f64() / all.as_secs_f64(),
    );
}

/// The counts latency budgets calibrate to here, against pyca in the same time.
fn calibration(pyca: Option<(Duration, u32)>) {
    println!();
    println!(
        "Calibration (VaultBuilder::kdf_latency_budget; attacker: RTX 4090, hashcat 10900, \
         {RTX4090_GUESSES_AT_480K} guesses/s at 480k, linear)"
    );
    println!(
        "  {:>7} {:>12} {:>12} {:>14} {:>12} {:>14} {:>16} {:>18}",
        "budget",
        "credlock",
        "derive takes",
        "guesses/s",
        "pyca fits",
        "guesses/s",
        "Argon2id passes",
        "guesses/s (est.)"
    );
    for budget_ms in [100u64, 250, 500] {
        let budget = Duration::from_millis(budget_ms);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("vault.json");
        let status = Vault::builder(&path)
            .kdf_latency_budget(budget)
            .open()
            .expect("open")
            .security_status();
        let ours = status.kdf_for_new_vaults.iterations;
        let params = KdfParams::new(u64::from(ours), Salt::from_bytes([7; 16])).expect("bounds");
        let takes = time(|| derive_key(PASSPHRASE, &params).expect("derive")).0;
        let argon = Vault::builder(&path)
            .kdf_argon2id_latency_budget(64 * 1024, 4, budget)
            .open()
            .expect("open")
            .security_status()
            .kdf_for_new_vaults
            .iterations;
        let theirs = pyca.map(|(t, n)| {
            let fit = budget.as_secs_f64() / t.as_secs_f64() * f64::from(n);
            (fit / 10_000.0).round() * 10_000.0
        });
        let guesses = |count: f64| RTX4090_GUESSES_AT_480K * 480_000.0 / count;
        println!(
            "  {:>5} ms {:>12} {:>12} {:>14.0} {:>12} {:>14} {:>16} {:>18.0}",
            budget_ms,
            ours,
            ms(takes),
            guesses(f64::from(ours)),
            theirs.map_or("-".into(), |c| format!("{c:.0}")),
            theirs.map_or("-".into(), |c| format!("{:.0}", guesses(c))),
            format!("{argon} (64 MiB)"),
            argon2id_gpu_estimate(Argon2Cost::new(64 * 1024, argon, 4)),
        );
    }
    println!(
        "  Argon2id, estimated RTX 4090 ceiling from memory bandwidth (1,008 GB/s, (3t−1)·m bytes \
         per guess; an estimate, not a measurement): 64 MiB × 3 passes ≈ {:.0} guesses/s; \
         19 MiB × 2 passes (OWASP floor) ≈ {:.0} guesses/s",
        argon2id_gpu_estimate(Argon2Cost::RECOMMENDED),
        argon2id_gpu_estimate(Argon2Cost::MIN),
    );
}
