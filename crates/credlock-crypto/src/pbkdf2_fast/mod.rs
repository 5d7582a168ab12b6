//! PBKDF2-HMAC-SHA256 built for the long chain of one-block HMACs.
//!
//! The HMAC pad states are compressed once; each iteration is then exactly two SHA-256
//! compressions of pre-padded 32-byte messages (`inner = C(ipad, U)`, `U = C(opad, inner)`),
//! with no allocation, no buffer bookkeeping and no finalisation. The block function is
//! chosen at runtime ([`Engine::detect`]):
//!
//! - x86 with the SHA extensions: SHA-NI intrinsics (`x86.rs`), the state kept in SHA-NI's
//!   register layout across the whole chain;
//! - x86 with AVX2 and BMI2 but no SHA-NI (Intel before Ice Lake, e.g. Skylake-SP): the
//!   message schedule in SSE registers, the rounds with `rorx`/`andn`; on x86-64 the whole
//!   chain is one `asm!` block that keeps the working variables in registers from one
//!   compression to the next and folds the constant padding words and round 0 into
//!   per-pad constants (`bmi2_asm.rs`; `x86.rs` for other blocks and 32-bit x86);
//! - other x86: the portable rounds of `soft.rs` (faster than `sha2`'s portable code here);
//! - other targets: `sha2`'s block function, which uses the ARMv8 SHA-2 instructions and
//!   the other hardware `sha2` supports, or its portable code.
//!
//! The pad states, `U` and `T` live in arrays zeroized after use; copies the compiler makes
//! in registers and on the stack inside the block functions are beyond its reach.

use zeroize::Zeroize;

#[cfg(target_arch = "x86_64")]
mod bmi2_asm;
mod lanes;
mod soft;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86_lanes;

/// A SHA-256 block function known to run on this CPU.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Engine {
    /// The SHA extensions: the PBKDF2 chain on SHA-NI intrinsics, other blocks through
    /// `sha2::block_api::compress256` (which detects and uses SHA-NI too).
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    ShaNi(x86::ShaNiToken),
    /// AVX2/BMI1/BMI2: the message schedule in SSE registers, `rorx`/`andn` rounds.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    Bmi2(x86::Bmi2Token),
    /// `sha2::block_api::compress256`, whatever it dispatches to on this CPU.
    Sha2,
    /// The portable rounds of `soft.rs`.
    Portable,
}

impl Engine {
    /// The fastest engine this CPU runs.
    pub(crate) fn detect() -> Self {
        // Without SHA-NI, `sha2` runs its portable code on x86, and our portable chain (word
        // level, padding folded in) is the faster of the two.
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            Self::sha_ni().or_else(Self::bmi2).unwrap_or(Self::Portable)
        }
        #[cfg(not(any(target_arch = "x86", target_arch = "x86_64")))]
        {
            Self::Sha2
        }
    }

    /// The SHA-NI engine, if this CPU has the SHA extensions (and SSE4.1, as `sha2` requires).
    pub(crate) fn sha_ni() -> Option<Self> {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            if let Some(token) = x86::ShaNiToken::detect() {
                return Some(Self::ShaNi(token));
            }
        }
        None
    }

    /// The BMI2/AVX2 engine, if this CPU has those features.
    pub(crate) fn bmi2() -> Option<Self> {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            if let Some(token) = x86::Bmi2Token::detect() {
                return Some(Self::Bmi2(token));
            }
        }
        None
    }

    /// Compresses one 64-byte block into `state`.
    pub(crate) fn compress(self, state: &mut [u32; 8], block: &[u8; 64]) {
        match self {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Self::ShaNi(_) => sha2::block_api::compress256(state, core::slice::from_ref(block)),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Self::Bmi2(token) => token.compress_block(state, block),
            Self::Sha2 => sha2::block_api::compress256(state, core::slice::from_ref(block)),
            Self::Portable => soft::compress_block(state, block),
        }
    }

    /// `n` further iterations of the PBKDF2 chain: `u = HMAC(u)`, `t ^= u`.
    fn chain(self, ipad: &[u32; 8], opad: &[u32; 8], u: &mut [u32; 8], t: &mut [u32; 8], n: u32) {
        match self {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Self::ShaNi(token) => token.chain(ipad, opad, u, t, n),
            // x86-64: the whole chain in one `asm!` block, the token its proof of the CPU's
            // features; 32-bit x86 (eight general registers): the intrinsics chain.
            #[cfg(target_arch = "x86_64")]
            Self::Bmi2(token) => bmi2_asm::chain(token, ipad, opad, u, t, n),
            #[cfg(target_arch = "x86")]
            Self::Bmi2(token) => token.chain(ipad, opad, u, t, n),
            Self::Sha2 => chain_sha2(ipad, opad, u, t, n),
            Self::Portable => soft::chain(ipad, opad, u, t, n),
        }
    }
}

/// The PBKDF2 chain on `sha2`'s block function, which takes bytes: the two pre-padded
/// blocks are kept as bytes and each hash output is written straight into the other one.
fn chain_sha2(ipad: &[u32; 8], opad: &[u32; 8], u: &mut [u32; 8], t: &mut [u32; 8], n: u32) {
    use sha2::block_api::compress256;

    let mut inner = padded32_block();
    let mut outer = padded32_block();
    store_be(&mut inner[..32], u);
    let mut state = [0u32; 8];
    for _ in 0..n {
        state = *ipad;
        compress256(&mut state, core::slice::from_ref(&inner));
        store_be(&mut outer[..32], &state);
        state = *opad;
        compress256(&mut state, core::slice::from_ref(&outer));
        store_be(&mut inner[..32], &state);
        for (t, s) in t.iter_mut().zip(state.iter()) {
            *t ^= *s;
        }
    }
    if n > 0 {
        *u = state;
    }
    state.zeroize();
    inner.zeroize();
    outer.zeroize();
}

/// A 64-byte block with the padding of a 32-byte message after one 64-byte block, and room
/// for the message in bytes 0..32.
fn padded32_block() -> [u8; 64] {
    let mut block = [0u8; 64];
    for (bytes, word) in block[32..].chunks_exact_mut(4).zip(soft::PAD32) {
        bytes.copy_from_slice(&word.to_be_bytes());
    }
    block
}

/// Writes the big-endian bytes of `words` into `out` (truncated to `out`'s length).
fn store_be(out: &mut [u8], words: &[u32; 8]) {
    for (bytes, word) in out.chunks_mut(4).zip(words) {
        let be = word.to_be_bytes();
        bytes.copy_from_slice(&be[..bytes.len()]);
    }
}

/// HMAC-SHA256 inner and outer states after the key block, zeroized on drop.
struct PadStates {
    ipad: [u32; 8],
    opad: [u32; 8],
}

impl PadStates {
    fn new(engine: Engine, password: &[u8]) -> Self {
        // RFC 2104: a key longer than the block is replaced by its hash.
        let mut key = [0u8; 64];
        if password.len() > key.len() {
            let mut digest = soft::IV;
            hash_tail(engine, &mut digest, 0, &[password]);
            store_be(&mut key[..32], &digest);
            digest.zeroize();
        } else {
            key[..password.len()].copy_from_slice(password);
        }
        let mut block = [0u8; 64];
        let mut pad = |value: u8| {
            for (b, k) in block.iter_mut().zip(key.iter()) {
                *b = k ^ value;
            }
            let mut state = soft::IV;
            engine.compress(&mut state, &block);
            state
        };
        let ipad = pad(0x36);
        let opad = pad(0x5c);
        key.zeroize();
        block.zeroize();
        Self { ipad, opad }
    }
}

impl Drop for PadStates {
    fn drop(&mut self) {
        self.ipad.zeroize();
        self.opad.zeroize();
    }
}

/// Finishes a SHA-256 whose first `already` bytes are folded into `state`: hashes `parts`
/// in order, then the padding, leaving the digest's words in `state`.
fn hash_tail(engine: Engine, state: &mut [u32; 8], already: u64, parts: &[&[u8]]) {
    let mut buf = [0u8; 64];
    let mut fill = 0usize;
    let mut bytes = already;
    for part in parts {
        let mut data = *part;
        while !data.is_empty() {
            let take = (buf.len() - fill).min(data.len());
            buf[fill..fill + take].copy_from_slice(&data[..take]);
            fill += take;
            bytes = bytes.wrapping_add(take as u64);
            data = &data[take..];
            if fill == buf.len() {
                engine.compress(state, &buf);
                fill = 0;
            }
        }
    }
    buf[fill] = 0x80;
    buf[fill + 1..].fill(0);
    if fill >= 56 {
        engine.compress(state, &buf);
        buf.fill(0);
    }
    buf[56..].copy_from_slice(&bytes.wrapping_mul(8).to_be_bytes());
    engine.compress(state, &buf);
    buf.zeroize();
}

/// PBKDF2-HMAC-SHA256 (RFC 8018 section 5.2) on `engine`, for any output length; an
/// iteration count of 0 is treated as 1.
pub(crate) fn pbkdf2_hmac_sha256(
    engine: Engine,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    out: &mut [u8],
) {
    let iterations = iterations.max(1);
    let pads = PadStates::new(engine, password);
    let mut u = [0u32; 8];
    let mut t = [0u32; 8];
    let mut index = 0u32;
    for chunk in out.chunks_mut(32) {
        // Block index i counts from 1; like the `pbkdf2` crate it wraps past 2^32 - 1 blocks,
        // a length RFC 8018 rejects ("derived key too long").
        index = index.wrapping_add(1);
        u = first_iteration(engine, &pads, salt, index);
        t = u;
        // U_2 .. U_c, XORed into T.
        engine.chain(&pads.ipad, &pads.opad, &mut u, &mut t, iterations - 1);
        store_be(chunk, &t);
    }
    u.zeroize();
    t.zeroize();
}

/// `U_1 = HMAC(P, S || INT(index))`, the first iteration of output block `index`.
fn first_iteration(engine: Engine, pads: &PadStates, salt: &[u8], index: u32) -> [u32; 8] {
    let mut inner = pads.ipad;
    hash_tail(engine, &mut inner, 64, &[salt, &index.to_be_bytes()]);
    let mut u = pads.opad;
    let mut block = [0u8; 64];
    store_be(&mut block[..32], &inner);
    block[32] = 0x80;
    block[62..].copy_from_slice(&768u16.to_be_bytes());
    engine.compress(&mut u, &block);
    inner.zeroize();
    block.zeroize();
    u
}

// ---- Many chains at once ------------------------------------------------------------------

/// Where a batch of independent PBKDF2 chains runs, and how many at once.
#[derive(Clone, Copy, Debug)]
pub(crate) enum LaneEngine {
    /// One chain after another on an engine.
    Sequential(Engine),
    /// Up to four chains interleaved on SHA-NI (the round instruction's throughput is four
    /// times its latency), one alone on the single-chain path.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    ShaNi(x86::ShaNiToken),
    /// Eight chains per AVX2 register; `single` runs a chain alone.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    Avx2 {
        /// The vector chain.
        lanes: x86_lanes::Avx2Token,
        /// A lone chain, and the pad states and first iterations.
        single: Engine,
    },
    /// Sixteen chains per AVX-512 register, eight or fewer on AVX2; `single` runs a chain
    /// alone.
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    Avx512 {
        /// The sixteen-lane chain.
        lanes: x86_lanes::Avx512Token,
        /// The eight-lane chain, for eight chains or fewer.
        half: x86_lanes::Avx2Token,
        /// A lone chain, and the pad states and first iterations.
        single: Engine,
    },
    /// The portable lanes of `lanes.rs` (four chains), `single` for a chain alone.
    Portable {
        /// A lone chain, and the pad states and first iterations.
        single: Engine,
    },
}

impl LaneEngine {
    /// The fastest way this CPU runs many chains: SHA-NI where present, else AVX-512, else
    /// AVX2, else one chain after another.
    pub(crate) fn detect() -> Self {
        Self::sha_ni()
            .or_else(Self::avx512)
            .or_else(Self::avx2)
            .unwrap_or(Self::Sequential(Engine::detect()))
    }

    /// Interleaved SHA-NI chains, if this CPU has the SHA extensions.
    pub(crate) fn sha_ni() -> Option<Self> {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            if let Some(Engine::ShaNi(token)) = Engine::sha_ni() {
                return Some(Self::ShaNi(token));
            }
        }
        None
    }

    /// The engine for a lone chain when the lanes do not use SHA-NI: AVX2/BMI2 or portable.
    fn single_without_sha_ni() -> Engine {
        Engine::bmi2().unwrap_or(Engine::Portable)
    }

    /// Eight chains per AVX2 register, if this CPU has AVX2.
    pub(crate) fn avx2() -> Option<Self> {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            if let Some(lanes) = x86_lanes::Avx2Token::detect() {
                let single = Self::single_without_sha_ni();
                return Some(Self::Avx2 { lanes, single });
            }
        }
        None
    }

    /// Sixteen chains per AVX-512 register, if this CPU has AVX-512F (and AVX2).
    pub(crate) fn avx512() -> Option<Self> {
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        {
            if let (Some(lanes), Some(half)) = (
                x86_lanes::Avx512Token::detect(),
                x86_lanes::Avx2Token::detect(),
            ) {
                let single = Self::single_without_sha_ni();
                return Some(Self::Avx512 {
                    lanes,
                    half,
                    single,
                });
            }
        }
        None
    }

    /// The portable lanes, with the portable single chain.
    pub(crate) const fn portable() -> Self {
        Self::Portable {
            single: Engine::Portable,
        }
    }

    /// The most chains this engine advances at once.
    pub(crate) const fn width(self) -> usize {
        match self {
            Self::Sequential(_) => 1,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Self::ShaNi(_) => 4,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Self::Avx2 { .. } => x86_lanes::AVX2_LANES,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Self::Avx512 { .. } => x86_lanes::AVX512_LANES,
            Self::Portable { .. } => lanes::PORTABLE_LANES,
        }
    }

    /// The engine that computes pad states and first iterations, and runs a lone chain.
    pub(crate) const fn single(self) -> Engine {
        match self {
            Self::Sequential(engine) | Self::Portable { single: engine } => engine,
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Self::ShaNi(token) => Engine::ShaNi(token),
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Self::Avx2 { single, .. } | Self::Avx512 { single, .. } => single,
        }
    }
}

/// One PBKDF2 chain (one output block of one derivation) between its first iteration and
/// its last: the pad states, `U`, `T` and the iterations left. Boxed, so that moving it
/// between threads moves a pointer and its secrets stay in one place, zeroized on drop.
pub(crate) struct Chain(Box<ChainState>);

struct ChainState {
    ipad: [u32; 8],
    opad: [u32; 8],
    u: [u32; 8],
    t: [u32; 8],
    left: u32,
}

impl Chain {
    /// The chain of output block `index` (from 1) of PBKDF2-HMAC-SHA256 with `iterations`
    /// (0 is taken as 1), after its first iteration on `engine`.
    pub(crate) fn start(
        engine: Engine,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
        index: u32,
    ) -> Self {
        let pads = PadStates::new(engine, password);
        let u = first_iteration(engine, &pads, salt, index);
        Self(Box::new(ChainState {
            ipad: pads.ipad,
            opad: pads.opad,
            u,
            t: u,
            left: iterations.max(1) - 1,
        }))
    }

    /// Whether every iteration has run.
    pub(crate) fn is_done(&self) -> bool {
        self.0.left == 0
    }

    /// Writes the big-endian bytes of `T` into `out` (truncated to `out`'s length): the
    /// output block, once [`Chain::is_done`].
    pub(crate) fn write_output(&self, out: &mut [u8]) {
        store_be(out, &self.0.t);
    }
}

impl core::fmt::Debug for Chain {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Chain")
            .field("left", &self.0.left)
            .finish_non_exhaustive()
    }
}

impl Drop for ChainState {
    fn drop(&mut self) {
        self.ipad.zeroize();
        self.opad.zeroize();
        self.u.zeroize();
        self.t.zeroize();
    }
}

/// Runs every chain to its end on `lanes`: up to `lanes.width()` at a time, each group for
/// as many iterations as its shortest chain has left, then the next group from the chains
/// still running. A group of one runs on the single-chain path.
pub(crate) fn run_chains(lanes: LaneEngine, chains: &mut [Chain]) {
    let width = lanes.width();
    let mut active = [0usize; MAX_WIDTH];
    loop {
        let mut count = 0;
        for (i, chain) in chains.iter().enumerate() {
            if count < width && !chain.is_done() {
                active[count] = i;
                count += 1;
            }
        }
        let active = &active[..count];
        let Some(step) = active.iter().map(|&i| chains[i].0.left).min() else {
            return;
        };
        run_group(lanes, chains, active, step);
        for &i in active {
            chains[i].0.left -= step;
        }
    }
}

/// Advances each of `chains` (at most `lanes.width()` of them) by up to `cap` iterations,
/// side by side; a chain with fewer left finishes.
pub(crate) fn advance_group(lanes: LaneEngine, chains: &mut [Chain], cap: u32) {
    let mut active = [0usize; MAX_WIDTH];
    let mut spent = 0u32;
    while spent < cap {
        let mut count = 0;
        for (i, chain) in chains.iter().enumerate().take(lanes.width()) {
            if !chain.is_done() {
                active[count] = i;
                count += 1;
            }
        }
        let active = &active[..count];
        let Some(step) = active
            .iter()
            .map(|&i| chains[i].0.left.min(cap - spent))
            .min()
        else {
            return;
        };
        run_group(lanes, chains, active, step);
        for &i in active {
            chains[i].0.left -= step;
        }
        spent += step;
    }
}

/// The widest [`LaneEngine`].
const MAX_WIDTH: usize = 16;

/// Fewer chains than this run one after another on the vector engines: a vector step costs
/// about as much as two or three chains alone, whatever the number of lanes in use.
const MIN_VERTICAL: usize = 3;

/// `n` iterations of the chains at `active` (at most `lanes.width()` of them).
fn run_group(lanes: LaneEngine, chains: &mut [Chain], active: &[usize], n: u32) {
    let in_lanes = !matches!(lanes, LaneEngine::Sequential(_));
    #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
    let in_lanes = in_lanes && !matches!(lanes, LaneEngine::ShaNi(_));
    if active.len() == 1 || (in_lanes && active.len() < MIN_VERTICAL) {
        let engine = lanes.single();
        for &i in active {
            let c = &mut *chains[i].0;
            engine.chain(&c.ipad, &c.opad, &mut c.u, &mut c.t, n);
        }
        return;
    }
    match lanes {
        LaneEngine::Sequential(engine) => {
            for &i in active {
                let c = &mut *chains[i].0;
                engine.chain(&c.ipad, &c.opad, &mut c.u, &mut c.t, n);
            }
        }
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        LaneEngine::ShaNi(token) => match active.len() {
            2 => interleaved::<2>(chains, active, |i, o, u, t| token.chains(i, o, u, t, n)),
            3 => interleaved::<3>(chains, active, |i, o, u, t| token.chains(i, o, u, t, n)),
            _ => interleaved::<4>(chains, active, |i, o, u, t| token.chains(i, o, u, t, n)),
        },
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        LaneEngine::Avx2 { lanes, .. } => {
            vertical(chains, active, |i, o, u, t| lanes.chain(i, o, u, t, n));
        }
        #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
        LaneEngine::Avx512 { lanes, half, .. } => {
            if active.len() <= x86_lanes::AVX2_LANES {
                vertical(chains, active, |i, o, u, t| half.chain(i, o, u, t, n));
            } else {
                vertical(chains, active, |i, o, u, t| lanes.chain(i, o, u, t, n));
            }
        }
        LaneEngine::Portable { .. } => {
            vertical(chains, active, |i, o, u, t| {
                lanes::portable_chain(i, o, u, t, n);
            });
        }
    }
}

/// `N` chains, one array of words each, through `kernel`; the copies zeroized after.
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
fn interleaved<const N: usize>(
    chains: &mut [Chain],
    active: &[usize],
    kernel: impl FnOnce(&[[u32; 8]; N], &[[u32; 8]; N], &mut [[u32; 8]; N], &mut [[u32; 8]; N]),
) {
    let (mut ipad, mut opad) = ([[0u32; 8]; N], [[0u32; 8]; N]);
    let (mut u, mut t) = ([[0u32; 8]; N], [[0u32; 8]; N]);
    for (k, &i) in active.iter().enumerate().take(N) {
        let c = &chains[i].0;
        (ipad[k], opad[k], u[k], t[k]) = (c.ipad, c.opad, c.u, c.t);
    }
    kernel(&ipad, &opad, &mut u, &mut t);
    for (k, &i) in active.iter().enumerate().take(N) {
        let c = &mut chains[i].0;
        (c.u, c.t) = (u[k], t[k]);
    }
    ipad.zeroize();
    opad.zeroize();
    u.zeroize();
    t.zeroize();
}

/// Up to `L` chains in lane-major layout (`u[i][l]` is word `i` of the `l`-th chain; unused
/// lanes hold zeros and are discarded) through `kernel`; the copies zeroized after.
fn vertical<const L: usize>(
    chains: &mut [Chain],
    active: &[usize],
    kernel: impl FnOnce(&[[u32; L]; 8], &[[u32; L]; 8], &mut [[u32; L]; 8], &mut [[u32; L]; 8]),
) {
    let (mut ipad, mut opad) = ([[0u32; L]; 8], [[0u32; L]; 8]);
    let (mut u, mut t) = ([[0u32; L]; 8], [[0u32; L]; 8]);
    for (l, &i) in active.iter().enumerate().take(L) {
        let c = &chains[i].0;
        for w in 0..8 {
            (ipad[w][l], opad[w][l]) = (c.ipad[w], c.opad[w]);
            (u[w][l], t[w][l]) = (c.u[w], c.t[w]);
        }
    }
    kernel(&ipad, &opad, &mut u, &mut t);
    for (l, &i) in active.iter().enumerate().take(L) {
        let c = &mut chains[i].0;
        for w in 0..8 {
            (c.u[w], c.t[w]) = (u[w][l], t[w][l]);
        }
    }
    ipad.zeroize();
    opad.zeroize();
    u.zeroize();
    t.zeroize();
}

/// A derivation for [`pbkdf2_hmac_sha256_many`].
pub(crate) struct Job<'a> {
    pub(crate) password: &'a [u8],
    pub(crate) salt: &'a [u8],
    pub(crate) iterations: u32,
    pub(crate) out: &'a mut [u8],
}

/// PBKDF2-HMAC-SHA256 of every job, their chains (one per 32-byte output block) run side
/// by side on `lanes`; each output is what [`pbkdf2_hmac_sha256`] gives.
pub(crate) fn pbkdf2_hmac_sha256_many(lanes: LaneEngine, jobs: &mut [Job<'_>]) {
    let engine = lanes.single();
    let mut chains = Vec::new();
    for job in jobs.iter() {
        let mut index = 0u32;
        for _ in job.out.chunks(32) {
            index = index.wrapping_add(1);
            chains.push(Chain::start(
                engine,
                job.password,
                job.salt,
                job.iterations,
                index,
            ));
        }
    }
    run_chains(lanes, &mut chains);
    let mut chains = chains.iter();
    for job in jobs.iter_mut() {
        for (chunk, chain) in job.out.chunks_mut(32).zip(&mut chains) {
            chain.write_output(chunk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn engines() -> Vec<Engine> {
        [
            Engine::sha_ni(),
            Engine::bmi2(),
            Some(Engine::Sha2),
            Some(Engine::Portable),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    #[test]
    fn every_engine_hashes_abc() {
        // FIPS 180-4 example: SHA-256("abc").
        for engine in engines() {
            let mut state = soft::IV;
            hash_tail(engine, &mut state, 0, &[b"a", b"bc"]);
            let mut digest = [0u8; 32];
            store_be(&mut digest, &state);
            assert_eq!(
                digest[..4],
                [0xba, 0x78, 0x16, 0xbf],
                "{engine:?}: SHA-256(abc)"
            );
            assert_eq!(digest[28..], [0xf2, 0x00, 0x15, 0xad], "{engine:?}");
        }
    }

    #[test]
    fn every_engine_matches_the_pbkdf2_crate() {
        for engine in engines() {
            for (password, salt, iterations, len) in [
                (&b"password"[..], &b"salt"[..], 1, 32),
                (b"password", b"salt", 2, 20),
                (b"", b"", 3, 1),
                (&[7u8; 65][..], &[1u8; 55][..], 17, 100),
                (&[9u8; 64][..], &[2u8; 56][..], 5, 64),
            ] {
                let mut ours = vec![0u8; len];
                let mut theirs = vec![0u8; len];
                pbkdf2_hmac_sha256(engine, password, salt, iterations, &mut ours);
                pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut theirs);
                assert_eq!(
                    ours, theirs,
                    "{engine:?} {password:?} {salt:?} {iterations}"
                );
            }
        }
    }
}
