//! Shared pieces of the credlock benchmarks: the measured workloads, a driver for Python's
//! `cryptography` as a side-by-side reference, and small statistics.
//!
//! Not published; see `benches/README.md` for how to run the criterion suites and the
//! `kdf-compare` table.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use credlock_crypto::hazmat::{self, Backend};

pub mod argon2;
pub mod lanes;
pub mod unlock;

/// The iteration count credlock and Eclosion use.
pub const ITERATIONS: u32 = 480_000;

/// The fixed passphrase every benchmark derives from.
pub const PASSWORD: &[u8] = b"correct horse battery staple";

/// The fixed 16-byte salt every benchmark derives with.
pub const SALT: [u8; 16] = *b"credlock-bench-s";

/// One PBKDF2-HMAC-SHA256 derivation of a 32-byte key on `backend`.
///
/// # Panics
///
/// If this CPU cannot run `backend` (check [`Backend::is_available`] first).
pub fn derive(backend: Backend, iterations: u32) -> [u8; 32] {
    let mut key = [0u8; 32];
    hazmat::pbkdf2_hmac_sha256_with(backend, PASSWORD, &SALT, iterations, &mut key)
        .expect("a backend this CPU runs (see Backend::is_available)");
    key
}

/// The same derivation on the RustCrypto `pbkdf2` crate over `sha2`: the reference every
/// backend must match.
pub fn derive_reference(iterations: u32) -> [u8; 32] {
    let mut key = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(PASSWORD, &SALT, iterations.max(1), &mut key);
    key
}

/// `count` chained calls of `backend`'s SHA-256 block function: the floor a PBKDF2 of
/// `count / 2` iterations cannot go below with that block function.
///
/// # Panics
///
/// If this CPU cannot run `backend`.
pub fn compress_floor(backend: Backend, count: u32) -> [u32; 8] {
    let mut state = [0x5be0_cd19; 8];
    let block = [0x36; 64];
    hazmat::sha256_compress_with(backend, &mut state, &block, count)
        .expect("a backend this CPU runs (see Backend::is_available)");
    state
}

/// Wall time of `f`.
pub fn time<T>(f: impl FnOnce() -> T) -> (Duration, T) {
    let start = Instant::now();
    let out = f();
    (start.elapsed(), out)
}

/// Median of `samples` (the mean of the middle two for an even count); zero if empty.
pub fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

/// The script the Python worker runs: one derivation per line read, answering with the
/// nanoseconds it took (timed inside Python, so pipe latency is not counted) and the key.
const PYTHON_WORKER: &str = r#"
import sys, time
import cryptography
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
try:
    from cryptography.hazmat.backends.openssl.backend import backend
    openssl = backend.openssl_version_text()
except Exception:
    openssl = "OpenSSL (version unknown)"
password, salt = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
print("ready", cryptography.__version__, "|", openssl, flush=True)
for line in sys.stdin:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=int(line))
    start = time.perf_counter_ns()
    key = kdf.derive(password)
    elapsed = time.perf_counter_ns() - start
    print(elapsed, key.hex(), flush=True)
"#;

/// A Python process with `cryptography` that derives keys on request.
#[derive(Debug)]
pub struct PythonKdf {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// `cryptography`'s version and the OpenSSL it runs on.
    pub versions: String,
    /// The interpreter running it.
    pub interpreter: PathBuf,
}

impl PythonKdf {
    /// The interpreters tried, in order: `$CREDLOCK_PYTHON`, the workspace's `.venv`, then
    /// `python3` on the `PATH`.
    pub fn candidates() -> Vec<PathBuf> {
        let mut out = Vec::new();
        if let Some(path) = std::env::var_os("CREDLOCK_PYTHON") {
            out.push(PathBuf::from(path));
        }
        let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
        out.push(venv);
        out.push(PathBuf::from("python3"));
        out
    }

    /// Starts a worker on the first interpreter that imports `cryptography`, with extra
    /// environment variables (e.g. `OPENSSL_ia32cap` to mask CPU features). `None`, with
    /// the reasons, if none does.
    ///
    /// # Errors
    ///
    /// A description of why each candidate interpreter failed.
    pub fn start(env: &[(&str, &str)]) -> Result<Self, String> {
        let mut reasons = Vec::new();
        for python in Self::candidates() {
            match Self::start_with(&python, env) {
                Ok(worker) => return Ok(worker),
                Err(e) => reasons.push(format!("{}: {e}", python.display())),
            }
        }
        Err(reasons.join("; "))
    }

    fn start_with(python: &PathBuf, env: &[(&str, &str)]) -> Result<Self, String> {
        Self::start_script(python, PYTHON_WORKER, PASSWORD, &SALT, env)
    }

    fn start_script(
        python: &PathBuf,
        script: &str,
        password: &[u8],
        salt: &[u8],
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        let mut command = Command::new(python);
        command
            .arg("-c")
            .arg(script)
            .arg(hex(password))
            .arg(hex(salt))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().map_err(|e| e.to_string())?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            let _ = child.kill();
            return Err("no pipes".into());
        };
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        let ready = stdout.read_line(&mut line).map_err(|e| e.to_string())?;
        let Some(versions) = line.trim().strip_prefix("ready ").filter(|_| ready > 0) else {
            let _ = child.kill();
            let _ = child.wait();
            return Err("cannot import the module it needs".into());
        };
        Ok(Self {
            versions: versions.to_owned(),
            interpreter: python.clone(),
            child,
            stdin,
            stdout,
        })
    }

    /// One derivation of a 32-byte key from [`PASSWORD`] and [`SALT`]: the time Python took
    /// and the key.
    ///
    /// # Errors
    ///
    /// The worker died or answered something unexpected.
    pub fn derive(&mut self, iterations: u32) -> Result<(Duration, [u8; 32]), String> {
        self.request(&iterations.to_string())
    }

    /// Sends one request line; reads the time and the key.
    fn request(&mut self, line: &str) -> Result<(Duration, [u8; 32]), String> {
        writeln!(self.stdin, "{line}").map_err(|e| e.to_string())?;
        self.stdin.flush().map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let mut fields = line.split_whitespace();
        let nanos: u64 = fields
            .next()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("unexpected answer {line:?}"))?;
        let key_hex = fields.next().unwrap_or_default();
        let mut key = [0u8; 32];
        if key_hex.len() != 64 {
            return Err(format!("unexpected key {key_hex:?}"));
        }
        for (i, byte) in key.iter_mut().enumerate() {
            *byte =
                u8::from_str_radix(&key_hex[2 * i..2 * i + 2], 16).map_err(|e| e.to_string())?;
        }
        Ok((Duration::from_nanos(nanos), key))
    }
}

impl Drop for PythonKdf {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The script the argon2-cffi worker runs: one Argon2id derivation per line read (`m t p`:
/// memory in KiB, passes, lanes), answering with the nanoseconds it took (timed inside
/// Python) and the key. `hash_secret_raw` runs libargon2 with one thread per lane.
const ARGON2_WORKER: &str = r#"
import sys, time
from importlib.metadata import version
from argon2.low_level import hash_secret_raw, Type
password, salt = bytes.fromhex(sys.argv[1]), bytes.fromhex(sys.argv[2])
print("ready", version("argon2-cffi"), "| argon2-cffi-bindings", version("argon2-cffi-bindings"), flush=True)
for line in sys.stdin:
    m, t, p = (int(x) for x in line.split())
    start = time.perf_counter_ns()
    key = hash_secret_raw(password, salt, time_cost=t, memory_cost=m, parallelism=p, hash_len=32, type=Type.ID)
    elapsed = time.perf_counter_ns() - start
    print(elapsed, key.hex(), flush=True)
"#;

/// A Python process with `argon2-cffi` (libargon2) that derives Argon2id keys on request,
/// from `password` and `salt`.
#[derive(Debug)]
pub struct PythonArgon2 {
    worker: PythonKdf,
}

impl PythonArgon2 {
    /// Starts a worker on the first interpreter of [`PythonKdf::candidates`] that imports
    /// `argon2`.
    ///
    /// # Errors
    ///
    /// A description of why each candidate interpreter failed.
    pub fn start(password: &[u8], salt: &[u8]) -> Result<Self, String> {
        let mut reasons = Vec::new();
        for python in PythonKdf::candidates() {
            match PythonKdf::start_script(&python, ARGON2_WORKER, password, salt, &[]) {
                Ok(worker) => return Ok(Self { worker }),
                Err(e) => reasons.push(format!("{}: {e}", python.display())),
            }
        }
        Err(reasons.join("; "))
    }

    /// `argon2-cffi`'s version and its bindings'.
    pub fn versions(&self) -> &str {
        &self.worker.versions
    }

    /// One Argon2id derivation of a 32-byte key: the time libargon2 took and the key.
    ///
    /// # Errors
    ///
    /// The worker died or answered something unexpected.
    pub fn derive(
        &mut self,
        memory_kib: u32,
        passes: u32,
        lanes: u32,
    ) -> Result<(Duration, [u8; 32]), String> {
        self.worker
            .request(&format!("{memory_kib} {passes} {lanes}"))
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `model name` line of `/proc/cpuinfo` and whether the CPU has the features the
/// backends care about, e.g. `AMD EPYC (sha_ni avx2 bmi2)`.
pub fn cpu_line() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU", |(_, m)| m.trim());
    let flags: Vec<&str> = info
        .lines()
        .find_map(|l| l.strip_prefix("flags"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, f)| f.split_whitespace().collect())
        .unwrap_or_default();
    let wanted = ["sha_ni", "avx2", "bmi2", "avx512f"];
    let present: Vec<&str> = wanted
        .iter()
        .map(|w| {
            if flags.contains(w) {
                *w
            } else {
                match *w {
                    "sha_ni" => "no sha_ni",
                    "avx2" => "no avx2",
                    "bmi2" => "no bmi2",
                    _ => "no avx512f",
                }
            }
        })
        .collect();
    format!("{model} ({})", present.join(", "))
}
