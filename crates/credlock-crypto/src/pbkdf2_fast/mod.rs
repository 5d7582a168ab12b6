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
mod soft;
#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
mod x86;

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
    fn chain(self, pads: &PadStates, u: &mut [u32; 8], t: &mut [u32; 8], n: u32) {
        match self {
            #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
            Self::ShaNi(token) => token.chain(&pads.ipad, &pads.opad, u, t, n),
            // x86-64: the whole chain in one `asm!` block, the token its proof of the CPU's
            // features; 32-bit x86 (eight general registers): the intrinsics chain.
            #[cfg(target_arch = "x86_64")]
            Self::Bmi2(token) => bmi2_asm::chain(token, &pads.ipad, &pads.opad, u, t, n),
            #[cfg(target_arch = "x86")]
            Self::Bmi2(token) => token.chain(&pads.ipad, &pads.opad, u, t, n),
            Self::Sha2 => chain_sha2(&pads.ipad, &pads.opad, u, t, n),
            Self::Portable => soft::chain(&pads.ipad, &pads.opad, u, t, n),
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
    let mut inner = [0u32; 8];
    let mut u = [0u32; 8];
    let mut t = [0u32; 8];
    let mut block = [0u8; 64];
    let mut index = 0u32;
    for chunk in out.chunks_mut(32) {
        // Block index i counts from 1; like the `pbkdf2` crate it wraps past 2^32 - 1 blocks,
        // a length RFC 8018 rejects ("derived key too long").
        index = index.wrapping_add(1);
        // U_1 = HMAC(P, S || INT(i)).
        inner = pads.ipad;
        hash_tail(engine, &mut inner, 64, &[salt, &index.to_be_bytes()]);
        u = pads.opad;
        store_be(&mut block[..32], &inner);
        block[32..].fill(0);
        block[32] = 0x80;
        block[62..].copy_from_slice(&768u16.to_be_bytes());
        engine.compress(&mut u, &block);
        t = u;
        // U_2 .. U_c, XORed into T.
        engine.chain(&pads, &mut u, &mut t, iterations - 1);
        store_be(chunk, &t);
    }
    inner.zeroize();
    u.zeroize();
    t.zeroize();
    block.zeroize();
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
