//! The idle sweeper's CPU cost while nothing happens: opens vaults that ask for the sweeper,
//! unlocks them (so the sweeper has deadlines to wait for), then sits idle and reads the
//! process's user + system CPU time from `/proc/self/stat` before and after.
//!
//! ```sh
//! cargo run --release -p credlock-benches --bin sweeper-idle -- [SECONDS] [VAULTS]
//! ```

#![allow(clippy::print_stdout, reason = "a bench binary prints its result")]

use std::time::{Duration, Instant};

use credlock::secrecy::SecretString;
use credlock::{Credentials, Policy, Vault};

/// User + system CPU time of this process, in clock ticks (`/proc/self/stat` fields 14, 15).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces; count from the `)` that ends it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // After `)`: field 3 is index 0, so utime (14) is index 11 and stime (15) index 12.
    field(11) + field(12)
}

/// Time on CPU of every thread of this process, in nanoseconds (`/proc/self/task/*/schedstat`,
/// first field), where the kernel has scheduler statistics.
fn cpu_ns() -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().map_or(Ok(5), |a| a.parse())?;
    let count: usize = args.next().map_or(Ok(4), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let mut vaults = Vec::new();
    for i in 0..count {
        let vault = Vault::builder(dir.path().join(format!("v{i}.json")))
            .insecure_kdf_iterations(1)
            .idle_timeout(Duration::from_secs(15 * 60))
            .idle_sweeper()
            .without_tracing_audit()
            .open()?;
        let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
        vault.store(
            Credentials::new("alice@example.com", SecretString::from("pw")),
            pass,
        )?;
        vaults.push(vault);
    }
    let (ticks, ns, started) = (cpu_ticks(), cpu_ns(), Instant::now());
    std::thread::sleep(Duration::from_secs(seconds));
    let (used, elapsed) = (cpu_ticks() - ticks, started.elapsed());
    let used_ns = cpu_ns().saturating_sub(ns);
    // Linux reports CPU time in USER_HZ ticks, 100 per second on every mainstream build.
    let cpu = Duration::from_millis(used * 10);
    println!(
        "{count} unlocked vaults watched by the idle sweeper, idle for {elapsed:.1?}: \
         {cpu:?} of CPU by /proc/self/stat (user + system, 10 ms ticks); {:?} by \
         /proc/self/task/*/schedstat = {:.4} % of one core",
        Duration::from_nanos(used_ns),
        Duration::from_nanos(used_ns).as_secs_f64() / elapsed.as_secs_f64() * 100.0
    );
    drop(vaults);
    Ok(())
}
