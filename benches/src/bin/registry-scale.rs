//! `registry-scale`: what many users and replicas cost.
//!
//! **Low KDF cost**: every vault here uses 1 PBKDF2 iteration
//! (`insecure_kdf_iterations(1)`), so the figures are the registry's and the store's own
//! overhead (reads, compare-and-swap writes, fsyncs, Fernet), *excluding* the 480,000-iteration
//! derivation a real unlock adds (see the `kdf` bench for that).
//!
//! 1. For the file store and SQLite, with `--users` users (default 10,000): registry open time,
//!    listing the users, first use of every user's vault, per-operation times (status,
//!    unlock bookkeeping, a counted wrong guess, update, lock) over `--sample` users, and the
//!    resident memory per locked and per unlocked vault.
//! 2. Two replicas (this process and a child process) on one throwaway PostgreSQL server
//!    doing `--ops` mixed operations in all (default 1,000), then the invariants: the lockout
//!    let exactly 5 guesses through per attacked user, in both replicas together, and every
//!    successful update moved its record's version by exactly one (no update lost).
//!
//! ```sh
//! cargo run --release -p credlock-benches --bin registry-scale
//! cargo run --release -p credlock-benches --bin registry-scale -- --users 2000 --no-postgres
//! ```

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::panic
)]

use std::collections::BTreeMap;
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use credlock::registry::{FileStoreSet, PostgresStoreSet, SqliteStoreSet, StoreSet};
use credlock::secrecy::SecretString;
use credlock::{Credentials, Error, LockoutPolicy, Policy, Registry, SessionState, UserId};
use credlock_store::StoreKey;
use credlock_store_postgres::postgres::config::Host;
use credlock_store_postgres::postgres::{Config, NoTls};
use credlock_store_postgres::testing::TestServer;

const PASS: &str = "Tangerine-Rocket-42!";

struct Args {
    users: usize,
    sample: usize,
    ops: usize,
    postgres: bool,
    embedded: bool,
    /// Run only this embedded backend, here (the parent runs each in a fresh process, so
    /// that one backend's freed memory does not hide the next one's growth).
    backend: Option<String>,
}

fn parse_args() -> Result<Result<Args, (String, u64, usize)>, String> {
    let mut a = Args {
        users: 10_000,
        sample: 1_000,
        ops: 1_000,
        postgres: true,
        embedded: true,
        backend: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut num = || -> Result<usize, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{arg} needs a number"))
        };
        match arg.as_str() {
            "--users" => a.users = num()?,
            "--sample" => a.sample = num()?,
            "--ops" => a.ops = num()?,
            "--no-postgres" => a.postgres = false,
            "--only-postgres" => a.embedded = false,
            "--backend" => a.backend = Some(it.next().ok_or("--backend needs a name")?),
            "--replica" => {
                let conninfo = it.next().ok_or("--replica needs a connection string")?;
                let seed = it.next().and_then(|v| v.parse().ok()).ok_or("seed")?;
                let ops = it.next().and_then(|v| v.parse().ok()).ok_or("ops")?;
                return Ok(Err((conninfo, seed, ops)));
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    a.sample = a.sample.min(a.users);
    Ok(Ok(a))
}

fn main() -> ExitCode {
    match parse_args() {
        Err(e) => {
            eprintln!("registry-scale: {e}");
            ExitCode::FAILURE
        }
        Ok(Err((conninfo, seed, ops))) => {
            let counts = run_replica(&conninfo.parse().unwrap(), seed, ops);
            println!("REPLICA {}", counts.encode());
            ExitCode::SUCCESS
        }
        Ok(Ok(args)) if args.backend.is_some() => {
            embedded(&args);
            ExitCode::SUCCESS
        }
        Ok(Ok(args)) => {
            println!("registry-scale: KDF cost 1 iteration (insecure, overhead only)");
            if args.embedded {
                for backend in ["file", "sqlite"] {
                    let status = Command::new(std::env::current_exe().unwrap())
                        .args(["--backend", backend])
                        .args(["--users", &args.users.to_string()])
                        .args(["--sample", &args.sample.to_string()])
                        .status()
                        .unwrap();
                    if !status.success() {
                        return ExitCode::FAILURE;
                    }
                }
            }
            if args.postgres {
                return replicas(args.ops);
            }
            ExitCode::SUCCESS
        }
    }
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

fn user(i: usize) -> UserId {
    UserId::new(&format!("user-{i:05}@example.com")).unwrap()
}

fn registry(set: impl StoreSet + 'static) -> Registry {
    Registry::builder(set)
        .vault_options(|b| {
            b.insecure_kdf_iterations(1)
                .without_tracing_audit()
                .lockout(
                    LockoutPolicy::new(5, Duration::from_secs(3600), Duration::from_secs(3600))
                        .unwrap(),
                )
        })
        .open()
        .unwrap()
}

/// Resident memory of this process, in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Times `f` once per item; returns (median, p90, mean) per call.
fn per_op<T>(items: &[T], mut f: impl FnMut(&T)) -> (Duration, Duration, Duration) {
    let mut times: Vec<Duration> = items
        .iter()
        .map(|i| {
            let start = Instant::now();
            f(i);
            start.elapsed()
        })
        .collect();
    times.sort();
    let n = u32::try_from(times.len().max(1)).unwrap();
    let mean = times.iter().sum::<Duration>() / n;
    (times[times.len() / 2], times[times.len() * 9 / 10], mean)
}

fn show(label: &str, (median, p90, mean): (Duration, Duration, Duration)) {
    println!(
        "  {label:<40} median {:>9.1} µs   p90 {:>9.1} µs   mean {:>9.1} µs",
        median.as_secs_f64() * 1e6,
        p90.as_secs_f64() * 1e6,
        mean.as_secs_f64() * 1e6
    );
}

/// The file store and SQLite, with `args.users` users each.
fn embedded(args: &Args) {
    let tmp = tempfile::tempdir().unwrap();
    let files = tmp.path().join("files");
    let sqlite = tmp.path().join("sqlite");
    match args.backend.as_deref() {
        Some("sqlite") => run_backend("SQLite (one database, WAL, synchronous=FULL)", args, || {
            SqliteStoreSet::open(&sqlite).unwrap()
        }),
        _ => run_backend("file store (one file per user)", args, || {
            FileStoreSet::open(&files).unwrap()
        }),
    }
}

fn run_backend<S: StoreSet + 'static>(label: &str, args: &Args, open: impl Fn() -> S) {
    println!("\n{label}, {} users", args.users);
    // Populate: one vault sealed through the facade, its bytes copied to every user (so
    // every user has the same passphrase), written through the store contract.
    let start = Instant::now();
    {
        let reg = registry(open());
        let pass = Policy::default().check(secret(PASS)).unwrap();
        reg.vault(&user(0))
            .unwrap()
            .store(Credentials::new("user@example.com", secret("pw")), pass)
            .unwrap();
        let set = open();
        let sealed = set
            .store(&StoreKey::new(user(0).as_str()).unwrap())
            .unwrap()
            .load()
            .unwrap()
            .unwrap();
        for i in 1..args.users {
            let key = StoreKey::new(user(i).as_str()).unwrap();
            set.store(&key).unwrap().save(&sealed).unwrap();
        }
    }
    println!(
        "  populate (not the figure; one save per user)   {:>8.2} s",
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let reg = registry(open());
    let opened = start.elapsed();
    println!(
        "  registry open                                  {:>8.3} ms",
        opened.as_secs_f64() * 1e3
    );
    let start = Instant::now();
    let listed = reg.users().unwrap().len();
    println!(
        "  list users ({listed:>6})                          {:>8.3} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(listed, args.users);

    let all: Vec<UserId> = (0..args.users).map(user).collect();
    let rss0 = rss();
    show(
        "first use of a vault (one read)",
        per_op(&all, |u| {
            assert_eq!(reg.vault(u).unwrap().status(), SessionState::Locked);
        }),
    );
    let rss1 = rss();
    let per_locked = rss1.saturating_sub(rss0) / u64::try_from(args.users).unwrap();
    let sample: Vec<Arc<credlock::Vault>> = all[..args.sample]
        .iter()
        .map(|u| reg.vault(u).unwrap())
        .collect();
    show(
        "unlock bookkeeping (1 iteration)",
        per_op(&sample, |v| {
            v.unlock(&secret(PASS)).unwrap();
        }),
    );
    show(
        "status()",
        per_op(&sample, |v| {
            let _ = v.status();
        }),
    );
    show(
        "update_credentials (CAS write)",
        per_op(&sample, |v| {
            v.update_credentials(Credentials::new("new@example.com", secret("pw2")))
                .unwrap();
        }),
    );
    show("lock()", per_op(&sample, |v| v.lock()));
    show(
        "wrong guess (counted, CAS write)",
        per_op(&sample, |v| {
            assert!(matches!(
                v.unlock(&secret("wrong")),
                Err(Error::WrongPassphrase)
            ));
        }),
    );
    // Unlock every other vault (not timed per call), for the memory an unlocked vault adds.
    let rest: Vec<Arc<credlock::Vault>> = all[args.sample..]
        .iter()
        .map(|u| reg.vault(u).unwrap())
        .collect();
    let rss2 = rss();
    for v in &rest {
        v.unlock(&secret(PASS)).unwrap();
    }
    let rss3 = rss();
    let per_unlocked = rss3.saturating_sub(rss2) / u64::try_from(rest.len().max(1)).unwrap();
    println!(
        "  memory per locked vault    ~{per_locked} B   (RSS growth over {} first uses; \
         `Vault` itself is {} B inline)",
        args.users,
        size_of::<credlock::Vault>()
    );
    println!(
        "  memory per unlocked vault  ~{per_unlocked} B more   (RSS growth over {} unlocks)",
        rest.len()
    );
}

/// What one replica did.
#[derive(Debug, Default)]
struct Counts {
    unlocked: u64,
    wrong: u64,
    refused: u64,
    updated: u64,
    locked: u64,
    /// Per attacked user: (wrong, refused).
    guesses: BTreeMap<String, (u64, u64)>,
}

impl Counts {
    fn encode(&self) -> String {
        let mut out = format!(
            "unlocked={} wrong={} refused={} updated={} locked={}",
            self.unlocked, self.wrong, self.refused, self.updated, self.locked
        );
        for (u, (w, r)) in &self.guesses {
            out.push_str(&format!(" g:{u}={w}/{r}"));
        }
        out
    }

    fn decode(line: &str) -> Self {
        let mut c = Self::default();
        for field in line.split_whitespace() {
            let (k, v) = field.split_once('=').unwrap();
            if let Some(u) = k.strip_prefix("g:") {
                let (w, r) = v.split_once('/').unwrap();
                c.guesses
                    .insert(u.to_owned(), (w.parse().unwrap(), r.parse().unwrap()));
                continue;
            }
            let n: u64 = v.parse().unwrap();
            match k {
                "unlocked" => c.unlocked = n,
                "wrong" => c.wrong = n,
                "refused" => c.refused = n,
                "updated" => c.updated = n,
                "locked" => c.locked = n,
                _ => panic!("unknown field {k}"),
            }
        }
        c
    }
}

const ATTACKED: usize = 20;
const WORKERS: usize = 80;

fn attacked(i: usize) -> UserId {
    UserId::new(&format!("attacked-{i}")).unwrap()
}

fn worker(i: usize) -> UserId {
    UserId::new(&format!("worker-{i}")).unwrap()
}

/// One replica's share of the mixed workload: 20% wrong guesses at attacked users, 80%
/// work on worker users (unlock if locked; else update, or now and then lock).
fn run_replica(config: &Config, seed: u64, ops: usize) -> Counts {
    let reg = registry(PostgresStoreSet::builder(config.clone()).open().unwrap());
    let mut rng = seed | 1;
    let mut next = move || {
        // xorshift64
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut c = Counts::default();
    for _ in 0..ops {
        let r = next();
        if r % 5 == 0 {
            let u = attacked(usize::try_from(next() % ATTACKED as u64).unwrap());
            let entry = c.guesses.entry(u.to_string()).or_default();
            match reg.vault(&u).unwrap().unlock(&secret("wrong guess")) {
                Err(Error::WrongPassphrase) => {
                    c.wrong += 1;
                    entry.0 += 1;
                }
                Err(Error::LockedOut { .. }) => {
                    c.refused += 1;
                    entry.1 += 1;
                }
                other => panic!("a wrong guess gave {other:?}"),
            }
        } else {
            let u = worker(usize::try_from(next() % WORKERS as u64).unwrap());
            let v = reg.vault(&u).unwrap();
            if v.status() == SessionState::Locked {
                match v.unlock(&secret(PASS)) {
                    Ok(()) => c.unlocked += 1,
                    // The other replica's lock (announced) landed while this unlock ran: the
                    // lock wins, by design.
                    Err(Error::Interrupted) => {}
                    Err(e) => panic!("an unlock gave {e:?}"),
                }
            } else if next() % 4 == 0 {
                v.lock();
                c.locked += 1;
            } else {
                v.update_credentials(Credentials::new(
                    format!("{u}-{}@example.com", next() % 1000),
                    secret("pw"),
                ))
                .unwrap();
                c.updated += 1;
            }
        }
    }
    c
}

fn conninfo(config: &Config) -> String {
    let Some(Host::Unix(dir)) = config.get_hosts().first() else {
        panic!("the test server listens on a socket");
    };
    format!(
        "host={} user=postgres dbname={}",
        dir.display(),
        config.get_dbname().unwrap()
    )
}

/// Two replicas on PostgreSQL: this process and a child, `ops` operations in all.
fn replicas(ops: usize) -> ExitCode {
    println!("\nPostgreSQL, two replicas (two processes), {ops} mixed operations");
    let Some(server) = TestServer::shared() else {
        return ExitCode::SUCCESS;
    };
    println!("  (a throwaway local server over a Unix socket, fsync off)");
    let config = server.database();
    {
        let reg = registry(PostgresStoreSet::builder(config.clone()).open().unwrap());
        let pass = || Policy::default().check(secret(PASS)).unwrap();
        for u in (0..ATTACKED).map(attacked).chain((0..WORKERS).map(worker)) {
            let v = reg.vault(&u).unwrap();
            v.store(Credentials::new("user@example.com", secret("pw")), pass())
                .unwrap();
            v.lock();
        }
    }
    let start = Instant::now();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--replica",
            &conninfo(&config),
            "77",
            &(ops / 2).to_string(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let here = run_replica(&config, 12_345, ops - ops / 2);
    let out = child.wait_with_output().unwrap();
    let elapsed = start.elapsed();
    assert!(out.status.success(), "the child replica failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let there = Counts::decode(
        text.lines()
            .find_map(|l| l.strip_prefix("REPLICA "))
            .expect("the child's counts"),
    );
    for (name, c) in [("replica A", &here), ("replica B", &there)] {
        println!(
            "  {name}: {} unlocks, {} updates, {} locks, {} wrong guesses derived, {} refused",
            c.unlocked, c.updated, c.locked, c.wrong, c.refused
        );
    }
    println!(
        "  {} operations in {:.2} s ({:.0} per second, both replicas together)",
        ops,
        elapsed.as_secs_f64(),
        f64::from(u32::try_from(ops).unwrap()) / elapsed.as_secs_f64()
    );

    // Invariants, read from the database itself.
    let mut db = config.connect(NoTls).unwrap();
    let mut ok = true;
    let mut attacked_users = 0;
    for i in 0..ATTACKED {
        let u = attacked(i).to_string();
        let (wa, ra) = here.guesses.get(&u).copied().unwrap_or_default();
        let (wb, rb) = there.guesses.get(&u).copied().unwrap_or_default();
        let guesses = wa + ra + wb + rb;
        let state: Option<String> = db
            .query_opt("SELECT state FROM credlock_lockouts WHERE key = $1", &[&u])
            .unwrap()
            .and_then(|r| r.get(0));
        let failures = state
            .as_deref()
            .and_then(|s| s.lines().nth(1))
            .and_then(|l| l.strip_prefix("failures "))
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        if guesses > 0 {
            attacked_users += 1;
        }
        if wa + wb != guesses.min(5) || failures != wa + wb {
            println!(
                "  LOCKOUT INVARIANT BROKEN for {u}: {guesses} guesses, {} derived, {failures} stored",
                wa + wb
            );
            ok = false;
        }
    }
    let versions: i64 = db
        .query_one(
            "SELECT COALESCE(SUM(version - 1), 0)::BIGINT FROM credlock_records WHERE key LIKE 'worker-%'",
            &[],
        )
        .unwrap()
        .get(0);
    // Besides the updates, an unlock notes its keyslot's last use in the record, at most
    // once a minute per record: within this run (well under a minute), each record whose
    // slot shows a last use took exactly one such write.
    let noted = db
        .query(
            "SELECT record FROM credlock_records WHERE key LIKE 'worker-%' AND record IS NOT NULL",
            &[],
        )
        .unwrap()
        .iter()
        .filter(|row| {
            let record: Vec<u8> = row.get(0);
            serde_json::from_slice::<serde_json::Value>(&record)
                .ok()
                .and_then(|v| v["slots"].as_array().cloned())
                .is_some_and(|slots| slots.iter().any(|s| !s["last_used_ms"].is_null()))
        })
        .count();
    assert!(
        elapsed < Duration::from_secs(50),
        "the run must stay under a minute for the last-use count to be exact"
    );
    let updates = here.updated + there.updated;
    let expected = updates + u64::try_from(noted).unwrap_or(u64::MAX);
    if u64::try_from(versions).ok() != Some(expected) {
        println!(
            "  CAS INVARIANT BROKEN: {updates} updates succeeded and {noted} last uses noted, \
             versions moved by {versions}"
        );
        ok = false;
    }
    println!(
        "  lockout: {attacked_users} attacked users, each exactly min(guesses, 5) derivations in \
         both replicas together, stored count equal: {}",
        if ok { "holds" } else { "BROKEN" }
    );
    println!(
        "  CAS: {updates} successful updates + {noted} last uses noted = {versions} version \
         steps across the workers' records: {}",
        if u64::try_from(versions).ok() == Some(expected) {
            "holds"
        } else {
            "BROKEN"
        }
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
