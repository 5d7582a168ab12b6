//! Low-level primitives without the guard rails of [`KdfParams`](crate::KdfParams).
//!
//! These take any salt length, any iteration count and any output length, for known-answer
//! tests (RFC 7914 uses a 4-byte salt and one iteration) and benchmarks. Applications should
//! use [`derive_key`](crate::derive_key).

use core::fmt;

use crate::pbkdf2_fast::{self, Engine, LaneEngine};

/// PBKDF2-HMAC-SHA256 of `password` and `salt` with `iterations` rounds, filling `out`.
///
/// An iteration count of 0 is treated as 1 (RFC 8018 requires a positive count).
///
/// The SHA-256 block function is picked at runtime for the CPU: the x86 SHA extensions
/// (SHA-NI) where present, AVX2/BMI2 rounds on other x86 CPUs that have them, portable Rust
/// on the remaining x86 CPUs, and `sha2`'s block function on other architectures (ARMv8
/// SHA-2 instructions where present). All give the same bytes.
///
/// ```
/// let mut out = [0u8; 64];
/// credlock_crypto::hazmat::pbkdf2_hmac_sha256(b"passwd", b"salt", 1, &mut out);
/// assert_eq!(&out[..4], &[0x55, 0xac, 0x04, 0x6e]); // RFC 7914 section 11
/// ```
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    pbkdf2_fast::pbkdf2_hmac_sha256(Engine::detect(), password, salt, iterations, out);
}

/// A PBKDF2-HMAC-SHA256 implementation to force, for tests and benchmarks only.
///
/// **Not for applications**: [`pbkdf2_hmac_sha256`] picks the fastest one for the CPU.
/// Hidden from the documentation and not covered by semver.
#[doc(hidden)]
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// What [`pbkdf2_hmac_sha256`] uses: the fastest of the others this CPU runs.
    Auto,
    /// The x86 SHA extensions (SHA-NI).
    ShaNi,
    /// AVX2/BMI1/BMI2: the message schedule in SSE registers, the rounds with `rorx` and
    /// `andn`; what x86 CPUs without SHA-NI (e.g. Skylake) get.
    Avx2Bmi2,
    /// `sha2`'s block function, whatever it dispatches to (SHA-NI on this CPU if present,
    /// ARMv8 SHA-2, or its portable code); the default off x86.
    Sha2,
    /// The crate's own portable Rust rounds, available everywhere; the default on x86 CPUs
    /// with neither SHA-NI nor AVX2/BMI2.
    Portable,
}

impl Backend {
    /// Every backend except [`Backend::Auto`], fastest first (on x86 without SHA-NI,
    /// [`Backend::Portable`] is faster than [`Backend::Sha2`]).
    ///
    /// The RustCrypto `pbkdf2` crate, the reference these are tested and benchmarked
    /// against, is not among them: the tests and benchmarks call it directly.
    pub const ALL: [Self; 4] = [Self::ShaNi, Self::Avx2Bmi2, Self::Sha2, Self::Portable];

    /// Whether this CPU runs the backend.
    pub fn is_available(self) -> bool {
        match self {
            Self::Auto | Self::Sha2 | Self::Portable => true,
            Self::ShaNi => Engine::sha_ni().is_some(),
            Self::Avx2Bmi2 => Engine::bmi2().is_some(),
        }
    }

    /// The backends this CPU runs, [`Backend::ALL`] order.
    pub fn available() -> Vec<Self> {
        Self::ALL.into_iter().filter(|b| b.is_available()).collect()
    }

    /// The backend [`Backend::Auto`] resolves to on this CPU.
    pub fn detected() -> Self {
        match Engine::detect() {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Engine::ShaNi(_) => Self::ShaNi,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Engine::Bmi2(_) => Self::Avx2Bmi2,
            Engine::Sha2 => Self::Sha2,
            Engine::Portable => Self::Portable,
        }
    }

    /// A short lowercase name, for benchmark labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::ShaNi => "sha-ni",
            Self::Avx2Bmi2 => "avx2-bmi2",
            Self::Sha2 => "sha2",
            Self::Portable => "portable",
        }
    }

    /// The engine behind the backend, or the error if this CPU lacks it.
    fn engine(self) -> Result<Engine, BackendUnavailable> {
        let engine = match self {
            Self::Auto => Some(Engine::detect()),
            Self::ShaNi => Engine::sha_ni(),
            Self::Avx2Bmi2 => Engine::bmi2(),
            Self::Sha2 => Some(Engine::Sha2),
            Self::Portable => Some(Engine::Portable),
        };
        engine.ok_or(BackendUnavailable(self))
    }
}

/// The CPU does not have what a forced [`Backend`] needs. Tests and benchmarks only.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackendUnavailable(Backend);

impl BackendUnavailable {
    /// The backend that was asked for.
    pub fn backend(&self) -> Backend {
        self.0
    }
}

impl fmt::Display for BackendUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "this CPU cannot run the {} backend", self.0.name())
    }
}

impl std::error::Error for BackendUnavailable {}

/// [`pbkdf2_hmac_sha256`] on a forced [`Backend`]. Tests and benchmarks only.
///
/// # Errors
///
/// [`BackendUnavailable`] if this CPU cannot run `backend`; `out` is then left untouched.
#[doc(hidden)]
pub fn pbkdf2_hmac_sha256_with(
    backend: Backend,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
) -> Result<(), BackendUnavailable> {
    let engine = backend.engine()?;
    pbkdf2_fast::pbkdf2_hmac_sha256(engine, password, salt, iterations, out);
    Ok(())
}

/// `count` chained SHA-256 compressions of `block` into `state` on a forced [`Backend`]:
/// one call of the block function per compression, for measuring the block function alone
/// (the benchmark's floor). Tests and benchmarks only.
///
/// # Errors
///
/// [`BackendUnavailable`] if this CPU cannot run `backend`.
#[doc(hidden)]
pub fn sha256_compress_with(
    backend: Backend,
    state: &mut [u32; 8],
    block: &[u8; 64],
    count: u32,
) -> Result<(), BackendUnavailable> {
    let engine = backend.engine()?;
    (0..count).for_each(|_| engine.compress(state, core::hint::black_box(block)));
    Ok(())
}

/// A way to run many independent PBKDF2 derivations side by side, to force for tests and
/// benchmarks only. Hidden from the documentation and not covered by semver.
#[doc(hidden)]
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lanes {
    /// What the derivation service uses: the fastest of the others this CPU runs.
    Auto,
    /// Up to four chains interleaved on SHA-NI.
    ShaNi,
    /// Sixteen chains per AVX-512 register (eight or fewer on AVX2), a lone chain on
    /// AVX2/BMI2: the path of a CPU without SHA-NI that has AVX-512.
    Avx512,
    /// Eight chains per AVX2 register, a lone chain on AVX2/BMI2: the path of a CPU with
    /// neither SHA-NI nor AVX-512.
    Avx2,
    /// Four chains on portable Rust lanes (the path Miri checks).
    Portable,
    /// One chain after another on the auto-detected single-chain backend.
    Sequential,
}

impl Lanes {
    /// Every way except [`Lanes::Auto`].
    pub const ALL: [Self; 5] = [
        Self::ShaNi,
        Self::Avx512,
        Self::Avx2,
        Self::Portable,
        Self::Sequential,
    ];

    /// Whether this CPU runs it.
    pub fn is_available(self) -> bool {
        self.engine().is_ok()
    }

    /// The ways this CPU runs, [`Lanes::ALL`] order.
    pub fn available() -> Vec<Self> {
        Self::ALL.into_iter().filter(|l| l.is_available()).collect()
    }

    /// The way [`Lanes::Auto`] resolves to on this CPU.
    pub fn detected() -> Self {
        match LaneEngine::detect() {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            LaneEngine::ShaNi(_) => Self::ShaNi,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            LaneEngine::Avx512 { .. } => Self::Avx512,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            LaneEngine::Avx2 { .. } => Self::Avx2,
            LaneEngine::Portable { .. } => Self::Portable,
            LaneEngine::Sequential(_) => Self::Sequential,
        }
    }

    /// The most derivations (of one 32-byte block each) advanced at once.
    ///
    /// # Errors
    ///
    /// [`LanesUnavailable`] if this CPU cannot run it.
    pub fn width(self) -> Result<usize, LanesUnavailable> {
        self.engine().map(LaneEngine::width)
    }

    /// A short lowercase name, for benchmark labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::ShaNi => "sha-ni",
            Self::Avx512 => "avx512",
            Self::Avx2 => "avx2",
            Self::Portable => "portable",
            Self::Sequential => "sequential",
        }
    }

    fn engine(self) -> Result<LaneEngine, LanesUnavailable> {
        let engine = match self {
            Self::Auto => Some(LaneEngine::detect()),
            Self::ShaNi => LaneEngine::sha_ni(),
            Self::Avx512 => LaneEngine::avx512(),
            Self::Avx2 => LaneEngine::avx2(),
            Self::Portable => Some(LaneEngine::portable()),
            Self::Sequential => Some(LaneEngine::Sequential(Engine::detect())),
        };
        engine.ok_or(LanesUnavailable(self))
    }
}

/// The CPU does not have what a forced [`Lanes`] needs. Tests and benchmarks only.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LanesUnavailable(Lanes);

impl LanesUnavailable {
    /// The lanes that were asked for.
    pub fn lanes(&self) -> Lanes {
        self.0
    }
}

impl fmt::Display for LanesUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "this CPU cannot run the {} lanes", self.0.name())
    }
}

impl std::error::Error for LanesUnavailable {}

/// One derivation of [`pbkdf2_hmac_sha256_many_with`]: what [`pbkdf2_hmac_sha256`] takes.
/// Tests and benchmarks only.
#[doc(hidden)]
#[non_exhaustive]
#[derive(Debug)]
pub struct Pbkdf2Job<'a> {
    /// The password.
    pub password: &'a [u8],
    /// The salt.
    pub salt: &'a [u8],
    /// The iteration count (0 is taken as 1).
    pub iterations: u32,
    /// Where the output goes (any length).
    pub out: &'a mut [u8],
}

impl<'a> Pbkdf2Job<'a> {
    /// A derivation of `out.len()` bytes.
    pub fn new(password: &'a [u8], salt: &'a [u8], iterations: u32, out: &'a mut [u8]) -> Self {
        Self {
            password,
            salt,
            iterations,
            out,
        }
    }
}

/// [`pbkdf2_hmac_sha256`] of every job, run side by side on forced [`Lanes`]; each output is
/// the same as alone. Tests and benchmarks only.
///
/// # Errors
///
/// [`LanesUnavailable`] if this CPU cannot run `lanes`; the outputs are then left untouched.
#[doc(hidden)]
pub fn pbkdf2_hmac_sha256_many_with(
    lanes: Lanes,
    jobs: &mut [Pbkdf2Job<'_>],
) -> Result<(), LanesUnavailable> {
    let engine = lanes.engine()?;
    let mut inner: Vec<pbkdf2_fast::Job<'_>> = jobs
        .iter_mut()
        .map(|j| pbkdf2_fast::Job {
            password: j.password,
            salt: j.salt,
            iterations: j.iterations,
            out: &mut *j.out,
        })
        .collect();
    pbkdf2_fast::pbkdf2_hmac_sha256_many(engine, &mut inner);
    Ok(())
}

/// `count` dependent `sha256rnds2` instructions in each of `chains` independent chains (1
/// to 4): the SHA-NI round instruction's latency (one chain) and throughput (several in
/// flight), for the benchmark that explains what interleaving can gain; `with_msg` adds one
/// `sha256msg1` and one `sha256msg2` per round instruction, off the chains' critical path
/// (the message schedule's share of the SHA unit). `None` without SHA-NI. Benchmarks only.
#[doc(hidden)]
pub fn sha_ni_round_chains(chains: usize, with_msg: bool, count: u32) -> Option<[u32; 4]> {
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    {
        if let Some(Engine::ShaNi(token)) = Engine::sha_ni() {
            return Some(token.rnds2_chains(chains, with_msg, count));
        }
    }
    let _ = (chains, with_msg, count);
    None
}
