//! SHA-256 in plain Rust for the PBKDF2 chain, and the constants every backend shares.
//!
//! It works on big-endian words rather than bytes: in PBKDF2 the output state of one hash
//! *is* the first eight message words of the next, so the chain never byte-swaps. The
//! 64 rounds are unrolled and inlined into [`compress_padded32`], so the constant padding
//! words fold into the schedule and round inputs at compile time.

/// SHA-256 initial hash value (FIPS 180-4 section 5.3.3).
pub(super) const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// SHA-256 round constants (FIPS 180-4 section 4.2.2).
#[rustfmt::skip]
pub(super) const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// Message words 8..16 of a 64-byte block holding a 32-byte message that follows one
/// already-hashed 64-byte block (the HMAC pad): the `0x80` marker, zeros, and the bit length
/// `(64 + 32) * 8 = 768`. Every PBKDF2 iteration hashes two such blocks.
pub(super) const PAD32: [u32; 8] = [0x8000_0000, 0, 0, 0, 0, 0, 0, 768];

#[inline(always)]
fn small_sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}

#[inline(always)]
fn small_sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

#[rustfmt::skip]
macro_rules! repeat64 {
    ($i:ident, $b:block) => {
        let $i = 0; $b; let $i = 1; $b; let $i = 2; $b; let $i = 3; $b;
        let $i = 4; $b; let $i = 5; $b; let $i = 6; $b; let $i = 7; $b;
        let $i = 8; $b; let $i = 9; $b; let $i = 10; $b; let $i = 11; $b;
        let $i = 12; $b; let $i = 13; $b; let $i = 14; $b; let $i = 15; $b;
        let $i = 16; $b; let $i = 17; $b; let $i = 18; $b; let $i = 19; $b;
        let $i = 20; $b; let $i = 21; $b; let $i = 22; $b; let $i = 23; $b;
        let $i = 24; $b; let $i = 25; $b; let $i = 26; $b; let $i = 27; $b;
        let $i = 28; $b; let $i = 29; $b; let $i = 30; $b; let $i = 31; $b;
        let $i = 32; $b; let $i = 33; $b; let $i = 34; $b; let $i = 35; $b;
        let $i = 36; $b; let $i = 37; $b; let $i = 38; $b; let $i = 39; $b;
        let $i = 40; $b; let $i = 41; $b; let $i = 42; $b; let $i = 43; $b;
        let $i = 44; $b; let $i = 45; $b; let $i = 46; $b; let $i = 47; $b;
        let $i = 48; $b; let $i = 49; $b; let $i = 50; $b; let $i = 51; $b;
        let $i = 52; $b; let $i = 53; $b; let $i = 54; $b; let $i = 55; $b;
        let $i = 56; $b; let $i = 57; $b; let $i = 58; $b; let $i = 59; $b;
        let $i = 60; $b; let $i = 61; $b; let $i = 62; $b; let $i = 63; $b;
    };
}

/// One SHA-256 compression of the message words `w` into a copy of `state`; returns the new
/// state (the input state plus the 64 rounds).
///
/// Fully unrolled so that, when inlined with some words of `w` known at compile time (the
/// PBKDF2 padding), LLVM folds them into the round constants and the message schedule.
#[inline(always)]
#[allow(unused_assignments)] // the last rounds' schedule words and `b ^ c` are not read
pub(super) fn compress_words(state: &[u32; 8], mut w: [u32; 16]) -> [u32; 8] {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    // `b ^ c` of the coming round is `a ^ b` of the previous one: Maj(a, b, c) is then
    // `b ^ ((a ^ b) & (b ^ c))`, one AND and two XORs with one value carried over.
    let mut b_xor_c = b ^ c;
    repeat64!(i, {
        let wi = if i < 16 {
            w[i]
        } else {
            let next = w[i % 16]
                .wrapping_add(small_sigma0(w[(i + 1) % 16]))
                .wrapping_add(w[(i + 9) % 16])
                .wrapping_add(small_sigma1(w[(i + 14) % 16]));
            w[i % 16] = next;
            next
        };
        // Ch(e, f, g) = (e & f) ^ (!e & g); the two halves have no bit in common, so they can
        // be added into T1 separately, which shortens the dependency chain through `e`.
        let big_sigma1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let t1 = h
            .wrapping_add(K[i])
            .wrapping_add(wi)
            .wrapping_add(!e & g)
            .wrapping_add(e & f)
            .wrapping_add(big_sigma1);
        let big_sigma0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let a_xor_b = a ^ b;
        let maj = b ^ (a_xor_b & b_xor_c);
        b_xor_c = a_xor_b;
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(big_sigma0.wrapping_add(maj));
    });
    [
        state[0].wrapping_add(a),
        state[1].wrapping_add(b),
        state[2].wrapping_add(c),
        state[3].wrapping_add(d),
        state[4].wrapping_add(e),
        state[5].wrapping_add(f),
        state[6].wrapping_add(g),
        state[7].wrapping_add(h),
    ]
}

/// Big-endian words of a 64-byte block.
#[inline(always)]
pub(super) fn block_words(block: &[u8; 64]) -> [u32; 16] {
    let mut w = [0u32; 16];
    for (word, bytes) in w.iter_mut().zip(block.chunks_exact(4)) {
        *word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    }
    w
}

/// Compresses one 64-byte block into `state`.
#[inline(always)]
pub(super) fn compress_block(state: &mut [u32; 8], block: &[u8; 64]) {
    *state = compress_words(state, block_words(block));
}

/// The hash of a 32-byte message that follows one 64-byte block already folded into
/// `state`: one compression of `msg` with the constant padding words.
#[inline(always)]
pub(super) fn compress_padded32(state: &[u32; 8], msg: &[u32; 8]) -> [u32; 8] {
    let w = [
        msg[0], msg[1], msg[2], msg[3], msg[4], msg[5], msg[6], msg[7], PAD32[0], PAD32[1],
        PAD32[2], PAD32[3], PAD32[4], PAD32[5], PAD32[6], PAD32[7],
    ];
    compress_words(state, w)
}

/// `n` further PBKDF2 iterations: `u = HMAC(u)` (as two padded compressions from the
/// precomputed pad states), and `t ^= u` each time.
#[inline(always)]
pub(super) fn chain(ipad: &[u32; 8], opad: &[u32; 8], u: &mut [u32; 8], t: &mut [u32; 8], n: u32) {
    for _ in 0..n {
        let inner = compress_padded32(ipad, u);
        *u = compress_padded32(opad, &inner);
        for (t, u) in t.iter_mut().zip(u.iter()) {
            *t ^= *u;
        }
    }
}
