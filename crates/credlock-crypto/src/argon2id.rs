//! Argon2id (RFC 9106), the memory-hard KDF, through RustCrypto's `argon2`.

use rayon::iter::{
    IntoParallelIterator, IntoParallelRefMutIterator, ParallelExtend, ParallelIterator,
};
use zeroize::Zeroize;

use crate::error::Error;

/// The cost of an Argon2id derivation: memory in KiB, passes over it, and lanes.
///
/// A value of this type is only a request: [`KdfParams::argon2id`](crate::KdfParams::argon2id)
/// checks it against a floor and the application's [`Argon2Limits`] before any memory is
/// allocated.
///
/// ```
/// # mod credlock { pub use credlock_crypto as crypto; }
/// use credlock::crypto::Argon2Cost;
/// let cost = Argon2Cost::new(64 * 1024, 3, 4);
/// assert_eq!(cost, Argon2Cost::RECOMMENDED);
/// assert_eq!(cost.memory_kib(), 65_536);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Argon2Cost {
    memory_kib: u32,
    passes: u32,
    lanes: u32,
}

impl Argon2Cost {
    /// The floor for parameters from a file or a caller: OWASP's minimum for Argon2id,
    /// 19 MiB, 2 passes, 1 lane.
    pub const MIN: Self = Self::new(19 * 1024, 2, 1);
    /// The default for new vaults: RFC 9106 §4's second recommended option, 64 MiB,
    /// 3 passes, 4 lanes.
    pub const RECOMMENDED: Self = Self::new(64 * 1024, 3, 4);
    /// The most lanes accepted (RFC 9106 allows up to 2^24 − 1; a vault needs few, and this
    /// crate computes them in parallel on at most as many threads as the machine has
    /// logical CPUs).
    pub const MAX_LANES: u32 = 16;

    /// A cost: `memory_kib` KiB of memory, `passes` passes over it (RFC 9106's `t`), and
    /// `lanes` lanes (its `p`).
    #[must_use]
    pub const fn new(memory_kib: u32, passes: u32, lanes: u32) -> Self {
        Self {
            memory_kib,
            passes,
            lanes,
        }
    }

    /// Memory, in KiB (RFC 9106's `m`).
    #[must_use]
    pub const fn memory_kib(&self) -> u32 {
        self.memory_kib
    }

    /// Passes over the memory (RFC 9106's `t`).
    #[must_use]
    pub const fn passes(&self) -> u32 {
        self.passes
    }

    /// Lanes (RFC 9106's `p`, the degree of parallelism).
    #[must_use]
    pub const fn lanes(&self) -> u32 {
        self.lanes
    }

    /// The same memory and lanes with another number of passes.
    #[must_use]
    pub const fn with_passes(self, passes: u32) -> Self {
        Self { passes, ..self }
    }
}

/// The most memory and passes an application accepts for Argon2id, from a vault file or its
/// own options, so that a planted file cannot make it allocate gigabytes or run for minutes.
///
/// ```
/// # mod credlock { pub use credlock_crypto as crypto; }
/// use credlock::crypto::Argon2Limits;
/// let limits = Argon2Limits::new(256 * 1024, 4)?;
/// assert_eq!(limits.max_memory_kib(), 262_144);
/// assert!(Argon2Limits::new(1024, 4).is_err()); // below the floor
/// # Ok::<(), credlock::crypto::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Argon2Limits {
    max_memory_kib: u32,
    max_passes: u32,
}

impl Argon2Limits {
    /// The default caps: 1 GiB and 10 passes.
    pub const DEFAULT: Self = Self {
        max_memory_kib: 1024 * 1024,
        max_passes: 10,
    };

    /// Caps of `max_memory_kib` KiB and `max_passes` passes.
    ///
    /// # Errors
    ///
    /// [`Error::Argon2ParamOutOfRange`] if a cap is below the floor ([`Argon2Cost::MIN`]),
    /// which would refuse every vault, or the memory cap is above 4 TiB.
    pub fn new(max_memory_kib: u32, max_passes: u32) -> Result<Self, Error> {
        let min = Argon2Cost::MIN;
        check("max_memory_kib", max_memory_kib, min.memory_kib, u32::MAX)?;
        check("max_passes", max_passes, min.passes, u32::MAX)?;
        Ok(Self {
            max_memory_kib,
            max_passes,
        })
    }

    /// The memory cap, in KiB.
    #[must_use]
    pub const fn max_memory_kib(&self) -> u32 {
        self.max_memory_kib
    }

    /// The cap on passes.
    #[must_use]
    pub const fn max_passes(&self) -> u32 {
        self.max_passes
    }
}

impl Default for Argon2Limits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

fn check(param: &'static str, value: u32, min: u32, max: u32) -> Result<(), Error> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(Error::Argon2ParamOutOfRange {
            param,
            value: u64::from(value),
            min: u64::from(min),
            max: u64::from(max),
        })
    }
}

/// Checks `cost` against `floor` and `limits`: lanes, then memory (at least 8 KiB per lane,
/// as RFC 9106 requires), then passes. Pure arithmetic: nothing is allocated.
pub(crate) fn check_cost(
    cost: &Argon2Cost,
    floor: &Argon2Cost,
    limits: &Argon2Limits,
) -> Result<(), Error> {
    check(
        "lanes",
        cost.lanes,
        floor.lanes.max(1),
        Argon2Cost::MAX_LANES,
    )?;
    let min_memory = floor.memory_kib.max(8 * cost.lanes);
    check(
        "memory_kib",
        cost.memory_kib,
        min_memory,
        limits.max_memory_kib.max(min_memory),
    )?;
    check(
        "passes",
        cost.passes,
        floor.passes.max(1),
        limits.max_passes.max(floor.passes),
    )
}

/// Argon2id version 0x13 of `passphrase` and `salt` into `out`, with no secret key and no
/// associated data.
///
/// The lanes are filled in parallel, one segment per lane at a time on the `argon2` crate's
/// thread pool (its `parallel` feature: as many threads as the machine has logical CPUs),
/// with the crate's AVX2 compression where the CPU has AVX2. The memory is allocated here,
/// fallibly (`memory_kib` was checked against the limits before), its pages first touched
/// on every thread of the pool, and zeroized on every thread before it is freed (its
/// blocks are derived from the passphrase).
pub(crate) fn derive(
    passphrase: &[u8],
    salt: &[u8],
    cost: &Argon2Cost,
    out: &mut [u8],
) -> Result<(), Error> {
    let params = argon2::Params::new(cost.memory_kib, cost.passes, cost.lanes, Some(out.len()))
        .map_err(|_| Error::Argon2Failed)?;
    let mut memory = Memory::new(params.block_count()).ok_or(Error::Argon2OutOfMemory {
        memory_kib: cost.memory_kib,
    })?;
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into_with_memory(passphrase, salt, out, &mut memory.0[..])
        .map_err(|_| Error::Argon2Failed)
}

/// Argon2id's blocks, zeroized on drop.
struct Memory(Vec<argon2::Block>);

impl Memory {
    /// `blocks` zeroed blocks, or `None` if they cannot be allocated. The pages are touched
    /// (faulted in and written) on every thread of the pool: on a virtual machine a page
    /// fault costs microseconds, and 64 MiB is 16,384 of them.
    fn new(blocks: usize) -> Option<Self> {
        let mut memory = Vec::new();
        memory.try_reserve_exact(blocks).ok()?;
        memory.par_extend(
            (0..blocks)
                .into_par_iter()
                .map(|_| argon2::Block::default()),
        );
        Some(Self(memory))
    }
}

impl Drop for Memory {
    fn drop(&mut self) {
        self.0.par_iter_mut().for_each(Zeroize::zeroize);
    }
}
