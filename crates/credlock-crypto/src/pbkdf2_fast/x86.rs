//! The x86 block functions, behind runtime CPU detection:
//!
//! - **SHA-NI** (`sha`, SSSE3, SSE4.1): the PBKDF2 chain on the SHA extensions' intrinsics,
//!   the state kept in their `ABEF`/`CDGH` register layout from one compression to the next
//!   (the output of one hash is the message of the next, so there is no byte swapping, no
//!   memory round trip and no per-call layout shuffle), and the constant padding words of
//!   every block folded into the round inputs at compile time.
//! - **AVX2/BMI2**, for x86 CPUs without SHA-NI (Intel up to Skylake/Cascade Lake): the
//!   message schedule four words at a time in SSE registers (on the vector ports), the
//!   rounds in general registers with BMI2 `rorx` and BMI1 `andn`, as OpenSSL's
//!   `sha256_block_data_order_avx2` does for one block. On x86-64 the PBKDF2 chain is one
//!   `asm!` block specialised for PBKDF2's padded 32-byte block (`bmi2_asm.rs`); on 32-bit
//!   x86 it is the intrinsics chain below (constant `W + K` for rounds 8..16, the padding
//!   folded into the first schedule words); other blocks take the generic body.
//!
//! With `bmi2_asm.rs`, this is the only module of the crate allowed `unsafe`, here for two
//! things: calling a `#[target_feature]` function (only through [`ShaNiToken`] and
//! [`Bmi2Token`], which only runtime detection makes), and reading a stored vector's lanes
//! as scalars. The intrinsics themselves are safe inside `#[target_feature]` functions.

#![allow(unsafe_code)]

#[cfg(target_arch = "x86")]
use core::arch::x86::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_blend_epi16, _mm_bslli_si128, _mm_bsrli_si128,
    _mm_setr_epi32, _mm_setzero_si128, _mm_sha256msg1_epu32, _mm_sha256msg2_epu32,
    _mm_sha256rnds2_epu32, _mm_shuffle_epi32, _mm_slli_epi32, _mm_srli_epi32, _mm_storeu_si128,
    _mm_unpackhi_epi64, _mm_unpacklo_epi64, _mm_xor_si128,
};
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_blend_epi16, _mm_bslli_si128, _mm_bsrli_si128,
    _mm_setr_epi32, _mm_setzero_si128, _mm_sha256msg1_epu32, _mm_sha256msg2_epu32,
    _mm_sha256rnds2_epu32, _mm_shuffle_epi32, _mm_slli_epi32, _mm_srli_epi32, _mm_storeu_si128,
    _mm_unpackhi_epi64, _mm_unpacklo_epi64, _mm_xor_si128,
};

use super::soft::{self, K, PAD32};

/// Proof that this CPU has the SHA extensions and SSE4.1: only [`ShaNiToken::detect`]
/// makes one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShaNiToken(());

impl ShaNiToken {
    /// A token if the running CPU has SHA, SSSE3 and SSE4.1 (detection is cached by `std`).
    pub(super) fn detect() -> Option<Self> {
        let present = std::is_x86_feature_detected!("sha")
            && std::is_x86_feature_detected!("ssse3")
            && std::is_x86_feature_detected!("sse4.1");
        present.then_some(Self(()))
    }

    /// The PBKDF2 chain ([`soft::chain`]) on SHA-NI, the state kept in SHA-NI's register
    /// layout from one compression to the next.
    #[inline]
    pub(super) fn chain(
        self,
        ipad: &[u32; 8],
        opad: &[u32; 8],
        u: &mut [u32; 8],
        t: &mut [u32; 8],
        n: u32,
    ) {
        // SAFETY: `self` exists only if `detect` found SHA, SSSE3 and SSE4.1 on this CPU,
        // the features `chain_sha_ni` is compiled for.
        unsafe { chain_sha_ni(ipad, opad, u, t, n) }
    }

    /// The PBKDF2 chain on `N` independent chains at once (`N` up to 4): each step of every
    /// compression is issued for all of them in turn, so the SHA unit works on `N` rounds
    /// in flight instead of waiting out one chain's latency.
    #[inline]
    pub(super) fn chains<const N: usize>(
        self,
        ipad: &[[u32; 8]; N],
        opad: &[[u32; 8]; N],
        u: &mut [[u32; 8]; N],
        t: &mut [[u32; 8]; N],
        n: u32,
    ) {
        if std::is_x86_feature_detected!("avx512vl") && std::is_x86_feature_detected!("avx512f") {
            // SAFETY: `self` exists only if `detect` found SHA, SSSE3 and SSE4.1 on this CPU,
            // and AVX-512F and AVX-512VL were detected just above: the features
            // `chains_sha_ni_vl` is compiled for.
            unsafe { chains_sha_ni_vl(ipad, opad, u, t, n) }
        } else {
            // SAFETY: `self` exists only if `detect` found SHA, SSSE3 and SSE4.1 on this
            // CPU, the features `chains_sha_ni` is compiled for.
            unsafe { chains_sha_ni(ipad, opad, u, t, n) }
        }
    }
}

/// Proof that this CPU has AVX2, BMI1 and BMI2: only [`Bmi2Token::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bmi2Token(());

impl Bmi2Token {
    /// A token if the running CPU has AVX2, BMI1 and BMI2 (detection is cached by `std`).
    pub(super) fn detect() -> Option<Self> {
        let present = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2");
        present.then_some(Self(()))
    }

    /// Compresses one 64-byte block into `state`.
    #[inline]
    pub(super) fn compress_block(self, state: &mut [u32; 8], block: &[u8; 64]) {
        // SAFETY: `self` exists only if `detect` found AVX2, BMI1 and BMI2 on this CPU, the
        // features `compress_block_bmi2` is compiled for.
        unsafe { compress_block_bmi2(state, block) }
    }

    /// `n` further PBKDF2 iterations (as [`soft::chain`]), on 32-bit x86 (eight general
    /// registers): the intrinsics chain below. x86-64 runs the `asm!` chain instead, which
    /// takes the token itself as its proof.
    #[cfg(target_arch = "x86")]
    #[inline]
    pub(super) fn chain(
        self,
        ipad: &[u32; 8],
        opad: &[u32; 8],
        u: &mut [u32; 8],
        t: &mut [u32; 8],
        n: u32,
    ) {
        // SAFETY: `self` exists only if `detect` found AVX2, BMI1 and BMI2 on this CPU, the
        // features `chain_bmi2` is compiled for.
        unsafe { chain_bmi2(ipad, opad, u, t, n) }
    }
}

// ---- AVX2/BMI2 ------------------------------------------------------------------------

/// One SHA-256 round on the working variables named in rotation; `$wk` is `W[i] + K[i]`.
macro_rules! round {
    ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident,
     $wk:expr, $bxc:ident) => {
        let sigma1 = $e.rotate_right(6) ^ $e.rotate_right(11) ^ $e.rotate_right(25);
        let t1 = $h
            .wrapping_add($wk)
            .wrapping_add(!$e & $g)
            .wrapping_add($e & $f)
            .wrapping_add(sigma1);
        let sigma0 = $a.rotate_right(2) ^ $a.rotate_right(13) ^ $a.rotate_right(22);
        let a_xor_b = $a ^ $b;
        let maj = $b ^ (a_xor_b & $bxc);
        $bxc = a_xor_b;
        $d = $d.wrapping_add(t1);
        $h = t1.wrapping_add(sigma0.wrapping_add(maj));
    };
}

/// Four rounds on the working variables, in the naming of rounds `4 * $q ..` (`$q` even or
/// odd: eight rounds rotate the names back), with `$wk` the four `W + K` words.
macro_rules! rounds4 {
    ([$a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident],
     $q:literal, $wk:expr, $bxc:ident) => {{
        let wk = $wk;
        if $q % 2 == 0 {
            round!($a, $b, $c, $d, $e, $f, $g, $h, wk[0], $bxc);
            round!($h, $a, $b, $c, $d, $e, $f, $g, wk[1], $bxc);
            round!($g, $h, $a, $b, $c, $d, $e, $f, wk[2], $bxc);
            round!($f, $g, $h, $a, $b, $c, $d, $e, wk[3], $bxc);
        } else {
            round!($e, $f, $g, $h, $a, $b, $c, $d, wk[0], $bxc);
            round!($d, $e, $f, $g, $h, $a, $b, $c, wk[1], $bxc);
            round!($c, $d, $e, $f, $g, $h, $a, $b, wk[2], $bxc);
            round!($b, $c, $d, $e, $f, $g, $h, $a, wk[3], $bxc);
        }
    }};
}

/// Sixteen rounds on the message words `$x0..$x3` (`W[16j .. 16j + 16]`) with `$k` the
/// sixteen round constants; if `$schedule`, each vector is then replaced by the word four
/// vectors later, computed four rounds ahead of its use.
macro_rules! rounds16 {
    ($k:expr, [$x0:ident, $x1:ident, $x2:ident, $x3:ident], $v:tt, $bxc:ident, $schedule:expr) => {{
        let k: &[u32] = $k;
        let wk = spill(_mm_add_epi32($x0, load4(k, 0)));
        if $schedule {
            $x0 = schedule4($x0, $x1, $x2, $x3);
        }
        rounds4!($v, 0, wk, $bxc);
        let wk = spill(_mm_add_epi32($x1, load4(k, 4)));
        if $schedule {
            $x1 = schedule4($x1, $x2, $x3, $x0);
        }
        rounds4!($v, 1, wk, $bxc);
        let wk = spill(_mm_add_epi32($x2, load4(k, 8)));
        if $schedule {
            $x2 = schedule4($x2, $x3, $x0, $x1);
        }
        rounds4!($v, 0, wk, $bxc);
        let wk = spill(_mm_add_epi32($x3, load4(k, 12)));
        if $schedule {
            $x3 = schedule4($x3, $x0, $x1, $x2);
        }
        rounds4!($v, 1, wk, $bxc);
    }};
}

/// One compression of the message `$x0..$x3` (four vectors of four big-endian words) into a
/// copy of `$state`, as an expression: the message schedule four words at a time in SSE
/// registers, four rounds ahead of its use, the rounds in scalar registers (`rorx`, `andn`).
///
/// The 64 rounds are a loop over one sixteen-round body. Keeping the code small matters more
/// than unrolling: fully unrolled (about 9 KiB), the compression outgrows the decoded-µop
/// cache and runs at the speed of instruction fetch, measurably slower.
macro_rules! compress_body {
    ($state:expr, $x0:expr, $x1:expr, $x2:expr, $x3:expr) => {{
        let state: &[u32; 8] = $state;
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
        let mut bxc = b ^ c;
        let (mut x0, mut x1, mut x2, mut x3) = ($x0, $x1, $x2, $x3);
        for j in 0..4 {
            rounds16!(
                &K[16 * j..16 * j + 16],
                [x0, x1, x2, x3],
                [a, b, c, d, e, f, g, h],
                bxc,
                j < 3
            );
        }
        let _ = bxc;
        let mut out = *state;
        for (o, v) in out.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *o = o.wrapping_add(v);
        }
        out
    }};
}

/// Compresses one 64-byte block into `state`.
#[target_feature(enable = "avx2,bmi1,bmi2")]
fn compress_block_bmi2(state: &mut [u32; 8], block: &[u8; 64]) {
    let w = soft::block_words(block);
    *state = compress_vec(
        state,
        [load4(&w, 0), load4(&w, 4), load4(&w, 8), load4(&w, 12)],
    );
}

/// `n` further PBKDF2 iterations: `u = HMAC(u)`, `t ^= u` (32-bit x86; x86-64 runs
/// `bmi2_asm.rs`).
#[cfg(target_arch = "x86")]
#[target_feature(enable = "avx2,bmi1,bmi2")]
fn chain_bmi2(ipad: &[u32; 8], opad: &[u32; 8], u: &mut [u32; 8], t: &mut [u32; 8], n: u32) {
    for _ in 0..n {
        let inner = compress_padded32(ipad, u);
        *u = compress_padded32(opad, &inner);
        for (t, u) in t.iter_mut().zip(u.iter()) {
            *t ^= *u;
        }
    }
}

/// `W[t] + K[t]` for rounds 8..16 of every PBKDF2 block: the padding words plus the round
/// constants, folded at compile time.
#[cfg(target_arch = "x86")]
const PAD32_WK: [u32; 8] = {
    let mut out = [0u32; 8];
    let mut i = 0;
    while i < 8 {
        out[i] = PAD32[i].wrapping_add(K[8 + i]);
        i += 1;
    }
    out
};

/// The hash of a 32-byte message after one 64-byte block (see [`soft::compress_padded32`]),
/// specialised for the PBKDF2 layout: message words 8..16 are the constant padding, so
///
/// - rounds 8..16 add compile-time constants (`PAD32_WK`) instead of schedule words,
/// - the first sixteen schedule words (`W[16..32]`) are computed with the padding words as
///   compile-time constants, which removes the terms they zero out (`W[9..15]` are zero,
///   `σ0(0) = σ1(0) = 0`) and folds the others,
/// - rounds 0..8 add the message words (the previous hash's output) and their round
///   constants as one vector, with no padding words to load.
///
/// Rounds 16..64 then run the generic loop body. Not inlined, so that the two calls of a
/// PBKDF2 iteration share one copy of the code; the specialised part adds sixteen rounds of
/// code, not more: unrolling all 64 rounds measured slower (the code outgrows the µop cache).
#[cfg(target_arch = "x86")]
#[inline(never)]
#[target_feature(enable = "avx2,bmi1,bmi2")]
fn compress_padded32(state: &[u32; 8], msg: &[u32; 8]) -> [u32; 8] {
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    let mut bxc = b ^ c;
    let (mut x0, mut x1) = (load4(msg, 0), load4(msg, 4));
    let (mut x2, mut x3) = (load4(&PAD32, 0), load4(&PAD32, 4));
    let wk = spill(_mm_add_epi32(x0, load4(&K, 0)));
    x0 = schedule4(x0, x1, x2, x3);
    rounds4!([a, b, c, d, e, f, g, h], 0, wk, bxc);
    let wk = spill(_mm_add_epi32(x1, load4(&K, 4)));
    x1 = schedule4(x1, x2, x3, x0);
    rounds4!([a, b, c, d, e, f, g, h], 1, wk, bxc);
    x2 = schedule4(x2, x3, x0, x1);
    rounds4!(
        [a, b, c, d, e, f, g, h],
        0,
        [PAD32_WK[0], PAD32_WK[1], PAD32_WK[2], PAD32_WK[3]],
        bxc
    );
    x3 = schedule4(x3, x0, x1, x2);
    rounds4!(
        [a, b, c, d, e, f, g, h],
        1,
        [PAD32_WK[4], PAD32_WK[5], PAD32_WK[6], PAD32_WK[7]],
        bxc
    );
    for j in 1..4 {
        rounds16!(
            &K[16 * j..16 * j + 16],
            [x0, x1, x2, x3],
            [a, b, c, d, e, f, g, h],
            bxc,
            j < 3
        );
    }
    let _ = bxc;
    let mut out = *state;
    for (o, v) in out.iter_mut().zip([a, b, c, d, e, f, g, h]) {
        *o = o.wrapping_add(v);
    }
    out
}

/// One compression of the message `w` (four vectors of four big-endian words).
#[inline]
#[target_feature(enable = "avx2,bmi1,bmi2")]
fn compress_vec(state: &[u32; 8], w: [__m128i; 4]) -> [u32; 8] {
    let [x0, x1, x2, x3] = w;
    compress_body!(state, x0, x1, x2, x3)
}

/// σ0 on four lanes: `ror7 ^ ror18 ^ shr3` (the rotations as shift pairs, XORed since
/// their bits do not overlap).
#[inline]
#[target_feature(enable = "avx2")]
fn sigma0x4(x: __m128i) -> __m128i {
    let r = _mm_xor_si128(_mm_srli_epi32::<7>(x), _mm_slli_epi32::<25>(x));
    let r = _mm_xor_si128(r, _mm_srli_epi32::<18>(x));
    let r = _mm_xor_si128(r, _mm_slli_epi32::<14>(x));
    _mm_xor_si128(r, _mm_srli_epi32::<3>(x))
}

/// σ1 on four lanes: `ror17 ^ ror19 ^ shr10`.
#[inline]
#[target_feature(enable = "avx2")]
fn sigma1x4(x: __m128i) -> __m128i {
    let r = _mm_xor_si128(_mm_srli_epi32::<17>(x), _mm_slli_epi32::<15>(x));
    let r = _mm_xor_si128(r, _mm_srli_epi32::<19>(x));
    let r = _mm_xor_si128(r, _mm_slli_epi32::<13>(x));
    _mm_xor_si128(r, _mm_srli_epi32::<10>(x))
}

/// The next four message words from the previous sixteen (`x0` oldest):
/// `W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15]) + W[t-16]`, lanes 0-1 first because lanes
/// 2-3 need their σ1.
#[inline]
#[target_feature(enable = "avx2")]
fn schedule4(x0: __m128i, x1: __m128i, x2: __m128i, x3: __m128i) -> __m128i {
    let w15 = _mm_alignr_epi8::<4>(x1, x0); // W[t-15 .. t-11]
    let w7 = _mm_alignr_epi8::<4>(x3, x2); // W[t-7 .. t-3]
    let partial = _mm_add_epi32(_mm_add_epi32(x0, w7), sigma0x4(w15));
    // σ1(W[t-2]), σ1(W[t-1]) into lanes 0-1 (lanes 2-3 get σ1(0) = 0).
    let low = _mm_add_epi32(partial, sigma1x4(_mm_bsrli_si128::<8>(x3)));
    // σ1(W[t]), σ1(W[t+1]) into lanes 2-3.
    _mm_add_epi32(low, sigma1x4(_mm_bslli_si128::<8>(low)))
}

// ---- SHA-NI -----------------------------------------------------------------------------

/// A state as SHA-NI holds it: `(ABEF, CDGH)`, lane 0 being F and H.
#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn to_sha_layout(state: &[u32; 8]) -> (__m128i, __m128i) {
    let dcba = load4(state, 0);
    let hgfe = load4(state, 4);
    let cdab = _mm_shuffle_epi32::<0xB1>(dcba);
    let efgh = _mm_shuffle_epi32::<0x1B>(hgfe);
    (
        _mm_alignr_epi8::<8>(cdab, efgh),
        _mm_blend_epi16::<0xF0>(efgh, cdab),
    )
}

/// The inverse of [`to_sha_layout`].
#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn from_sha_layout(abef: __m128i, cdgh: __m128i) -> [u32; 8] {
    let feba = _mm_shuffle_epi32::<0x1B>(abef);
    let dchg = _mm_shuffle_epi32::<0xB1>(cdgh);
    let [a, b, c, d] = spill(_mm_blend_epi16::<0xF0>(feba, dchg));
    let [e, f, g, h] = spill(_mm_alignr_epi8::<8>(dchg, feba));
    [a, b, c, d, e, f, g, h]
}

/// A hash output in SHA-NI layout as the first two message vectors of the next block,
/// `[A, B, C, D]` and `[E, F, G, H]` (lane 0 first): in PBKDF2 one hash's output is the
/// next one's message, so no bytes are stored, swapped or loaded between them.
#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn sha_layout_to_message(abef: __m128i, cdgh: __m128i) -> (__m128i, __m128i) {
    let badc = _mm_unpackhi_epi64(abef, cdgh);
    let fehg = _mm_unpacklo_epi64(abef, cdgh);
    (
        _mm_shuffle_epi32::<0xB1>(badc),
        _mm_shuffle_epi32::<0xB1>(fehg),
    )
}

/// Four SHA-NI rounds with `wk` the four `W + K` words.
#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn sha_rounds4(abef: &mut __m128i, cdgh: &mut __m128i, wk: __m128i) {
    *cdgh = _mm_sha256rnds2_epu32(*cdgh, *abef, wk);
    *abef = _mm_sha256rnds2_epu32(*abef, *cdgh, _mm_shuffle_epi32::<0x0E>(wk));
}

/// One compression on SHA-NI of the message `[m0, m1]` followed by the PBKDF2 padding
/// words (see [`soft::compress_padded32`]), from and to the SHA-NI layout.
#[inline]
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn sha_compress_padded32(
    state: (__m128i, __m128i),
    m0: __m128i,
    m1: __m128i,
) -> (__m128i, __m128i) {
    let (mut abef, mut cdgh) = state;
    let (mut w0, mut w1) = (m0, m1);
    let (mut w2, mut w3) = (load4(&PAD32, 0), load4(&PAD32, 4));
    sha_rounds4(&mut abef, &mut cdgh, _mm_add_epi32(w0, load4(&K, 0)));
    sha_rounds4(&mut abef, &mut cdgh, _mm_add_epi32(w1, load4(&K, 4)));
    sha_rounds4(&mut abef, &mut cdgh, _mm_add_epi32(w2, load4(&K, 8)));
    sha_rounds4(&mut abef, &mut cdgh, _mm_add_epi32(w3, load4(&K, 12)));
    // Rounds 16..64, each group of four words computed from the previous sixteen.
    macro_rules! schedule_rounds4 {
        ($q:literal, $w0:ident, $w1:ident, $w2:ident, $w3:ident) => {
            let partial = _mm_add_epi32(
                _mm_sha256msg1_epu32($w0, $w1),
                _mm_alignr_epi8::<4>($w3, $w2),
            );
            $w0 = _mm_sha256msg2_epu32(partial, $w3);
            sha_rounds4(&mut abef, &mut cdgh, _mm_add_epi32($w0, load4(&K, 4 * $q)));
        };
    }
    schedule_rounds4!(4, w0, w1, w2, w3);
    schedule_rounds4!(5, w1, w2, w3, w0);
    schedule_rounds4!(6, w2, w3, w0, w1);
    schedule_rounds4!(7, w3, w0, w1, w2);
    schedule_rounds4!(8, w0, w1, w2, w3);
    schedule_rounds4!(9, w1, w2, w3, w0);
    schedule_rounds4!(10, w2, w3, w0, w1);
    schedule_rounds4!(11, w3, w0, w1, w2);
    schedule_rounds4!(12, w0, w1, w2, w3);
    schedule_rounds4!(13, w1, w2, w3, w0);
    schedule_rounds4!(14, w2, w3, w0, w1);
    schedule_rounds4!(15, w3, w0, w1, w2);
    (_mm_add_epi32(abef, state.0), _mm_add_epi32(cdgh, state.1))
}

/// `n` further PBKDF2 iterations: `u = HMAC(u)`, `t ^= u`, with `u` and `t` kept in SHA-NI
/// layout throughout.
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn chain_sha_ni(ipad: &[u32; 8], opad: &[u32; 8], u: &mut [u32; 8], t: &mut [u32; 8], n: u32) {
    let ipad = to_sha_layout(ipad);
    let opad = to_sha_layout(opad);
    let (mut u0, mut u1) = to_sha_layout(u);
    let (mut t0, mut t1) = to_sha_layout(t);
    for _ in 0..n {
        let (m0, m1) = sha_layout_to_message(u0, u1);
        let (i0, i1) = sha_compress_padded32(ipad, m0, m1);
        let (m0, m1) = sha_layout_to_message(i0, i1);
        (u0, u1) = sha_compress_padded32(opad, m0, m1);
        t0 = _mm_xor_si128(t0, u0);
        t1 = _mm_xor_si128(t1, u1);
    }
    *u = from_sha_layout(u0, u1);
    *t = from_sha_layout(t0, t1);
}

/// Four rounds on each of `N` chains with the next four schedule words of each (see
/// [`sha_compress_padded32`]).
macro_rules! sha_schedule_rounds4_n {
    ($s:ident, $q:literal, $w0:ident, $w1:ident, $w2:ident, $w3:ident) => {
        for c in 0..$w0.len() {
            let partial = _mm_add_epi32(
                _mm_sha256msg1_epu32($w0[c], $w1[c]),
                _mm_alignr_epi8::<4>($w3[c], $w2[c]),
            );
            $w0[c] = _mm_sha256msg2_epu32(partial, $w3[c]);
            sha_rounds4(
                &mut $s[c].0,
                &mut $s[c].1,
                _mm_add_epi32($w0[c], load4(&K, 4 * $q)),
            );
        }
    };
}

/// Defines the `N`-chain SHA-NI compression and chain for the target features given: the
/// baseline SHA-NI set, and the same with AVX-512VL, whose sixteen extra vector registers
/// (usable by every instruction but the SHA ones) keep the four chains' schedules out of
/// memory.
macro_rules! sha_ni_chains_n {
    ($features:literal, $compress:ident, $chains:ident) => {
        /// [`sha_compress_padded32`] on `N` independent states and messages, each step issued for
        /// every chain in turn.
        #[inline]
        #[target_feature(enable = $features)]
        fn $compress<const N: usize>(
            state: &[(__m128i, __m128i); N],
            msg: &[(__m128i, __m128i); N],
        ) -> [(__m128i, __m128i); N] {
            let mut s = *state;
            let mut w0 = [_mm_setzero_si128(); N];
            let mut w1 = [_mm_setzero_si128(); N];
            let mut w2 = [load4(&PAD32, 0); N];
            let mut w3 = [load4(&PAD32, 4); N];
            for c in 0..N {
                (w0[c], w1[c]) = msg[c];
            }
            for c in 0..N {
                sha_rounds4(&mut s[c].0, &mut s[c].1, _mm_add_epi32(w0[c], load4(&K, 0)));
            }
            for c in 0..N {
                sha_rounds4(&mut s[c].0, &mut s[c].1, _mm_add_epi32(w1[c], load4(&K, 4)));
            }
            for c in 0..N {
                sha_rounds4(&mut s[c].0, &mut s[c].1, _mm_add_epi32(w2[c], load4(&K, 8)));
            }
            for c in 0..N {
                sha_rounds4(
                    &mut s[c].0,
                    &mut s[c].1,
                    _mm_add_epi32(w3[c], load4(&K, 12)),
                );
            }
            sha_schedule_rounds4_n!(s, 4, w0, w1, w2, w3);
            sha_schedule_rounds4_n!(s, 5, w1, w2, w3, w0);
            sha_schedule_rounds4_n!(s, 6, w2, w3, w0, w1);
            sha_schedule_rounds4_n!(s, 7, w3, w0, w1, w2);
            sha_schedule_rounds4_n!(s, 8, w0, w1, w2, w3);
            sha_schedule_rounds4_n!(s, 9, w1, w2, w3, w0);
            sha_schedule_rounds4_n!(s, 10, w2, w3, w0, w1);
            sha_schedule_rounds4_n!(s, 11, w3, w0, w1, w2);
            sha_schedule_rounds4_n!(s, 12, w0, w1, w2, w3);
            sha_schedule_rounds4_n!(s, 13, w1, w2, w3, w0);
            sha_schedule_rounds4_n!(s, 14, w2, w3, w0, w1);
            sha_schedule_rounds4_n!(s, 15, w3, w0, w1, w2);
            for c in 0..N {
                s[c] = (
                    _mm_add_epi32(s[c].0, state[c].0),
                    _mm_add_epi32(s[c].1, state[c].1),
                );
            }
            s
        }

        /// `n` further PBKDF2 iterations on `N` independent chains, kept in SHA-NI layout.
        #[target_feature(enable = $features)]
        fn $chains<const N: usize>(
            ipad: &[[u32; 8]; N],
            opad: &[[u32; 8]; N],
            u: &mut [[u32; 8]; N],
            t: &mut [[u32; 8]; N],
            n: u32,
        ) {
            let zero = (_mm_setzero_si128(), _mm_setzero_si128());
            let (mut ip, mut op, mut uu, mut tt) = ([zero; N], [zero; N], [zero; N], [zero; N]);
            for c in 0..N {
                ip[c] = to_sha_layout(&ipad[c]);
                op[c] = to_sha_layout(&opad[c]);
                uu[c] = to_sha_layout(&u[c]);
                tt[c] = to_sha_layout(&t[c]);
            }
            let mut msg = [zero; N];
            for _ in 0..n {
                for c in 0..N {
                    msg[c] = sha_layout_to_message(uu[c].0, uu[c].1);
                }
                let inner = $compress(&ip, &msg);
                for c in 0..N {
                    msg[c] = sha_layout_to_message(inner[c].0, inner[c].1);
                }
                uu = $compress(&op, &msg);
                for c in 0..N {
                    tt[c] = (
                        _mm_xor_si128(tt[c].0, uu[c].0),
                        _mm_xor_si128(tt[c].1, uu[c].1),
                    );
                }
            }
            for c in 0..N {
                u[c] = from_sha_layout(uu[c].0, uu[c].1);
                t[c] = from_sha_layout(tt[c].0, tt[c].1);
            }
        }
    };
}

sha_ni_chains_n!("sha,ssse3,sse4.1", sha_compress_padded32_n, chains_sha_ni);
sha_ni_chains_n!(
    "sha,ssse3,sse4.1,avx512f,avx512vl",
    sha_compress_padded32_n_vl,
    chains_sha_ni_vl
);

/// `count` rounds of `N` independent chains of `sha256rnds2` (each instruction waits for
/// the previous one of its chain), for measuring the instruction's latency (`N = 1`) and
/// throughput (`N` chains in flight); with `MSG`, each round also issues one
/// `sha256msg1` and one `sha256msg2` per chain on the chain's state, off its critical path
/// (their results are XORed into an accumulator), as a compression's message schedule
/// adds 24 of them to its 32 round instructions. The final states, XORed.
#[target_feature(enable = "sha,ssse3,sse4.1")]
fn rnds2_chains<const N: usize, const MSG: bool>(count: u32) -> [u32; 4] {
    let wk = load4(&K, 0);
    let mut cdgh = [load4(&PAD32, 0); N];
    let mut abef = [load4(&PAD32, 4); N];
    let mut acc = [_mm_setzero_si128(); N];
    for (c, v) in abef.iter_mut().enumerate() {
        *v = _mm_add_epi32(*v, load4(&K, 4 * c));
    }
    for _ in 0..count {
        for c in 0..N {
            if MSG {
                let m = _mm_sha256msg2_epu32(_mm_sha256msg1_epu32(cdgh[c], abef[c]), wk);
                acc[c] = _mm_xor_si128(acc[c], m);
            }
            cdgh[c] = _mm_sha256rnds2_epu32(cdgh[c], abef[c], wk);
        }
    }
    let mut out = _mm_setzero_si128();
    for (v, m) in cdgh.into_iter().zip(acc) {
        out = _mm_xor_si128(_mm_xor_si128(out, v), m);
    }
    spill(out)
}

impl ShaNiToken {
    /// [`rnds2_chains`] for `chains` of 1, 2, 3 or 4 (others: 4).
    pub(crate) fn rnds2_chains(self, chains: usize, with_msg: bool, count: u32) -> [u32; 4] {
        // SAFETY: `self` exists only if `detect` found SHA, SSSE3 and SSE4.1 on this CPU,
        // the features `rnds2_chains` is compiled for.
        unsafe {
            match (chains, with_msg) {
                (1, false) => rnds2_chains::<1, false>(count),
                (2, false) => rnds2_chains::<2, false>(count),
                (3, false) => rnds2_chains::<3, false>(count),
                (_, false) => rnds2_chains::<4, false>(count),
                (1, true) => rnds2_chains::<1, true>(count),
                (2, true) => rnds2_chains::<2, true>(count),
                (3, true) => rnds2_chains::<3, true>(count),
                (_, true) => rnds2_chains::<4, true>(count),
            }
        }
    }
}

// ---- Shared helpers -----------------------------------------------------------------------

/// `words[at..at + 4]` as a vector, lane 0 first.
#[inline]
#[target_feature(enable = "sse2")]
fn load4(words: &[u32], at: usize) -> __m128i {
    #[allow(clippy::cast_possible_wrap)] // bit patterns, not numbers
    _mm_setr_epi32(
        words[at] as i32,
        words[at + 1] as i32,
        words[at + 2] as i32,
        words[at + 3] as i32,
    )
}

/// The four lanes of a vector (lane 0 first) through memory, so that the rounds add them
/// with memory operands instead of extracting them to scalar registers one by one.
#[inline]
#[target_feature(enable = "sse2")]
fn spill(v: __m128i) -> [u32; 4] {
    let mut out = core::mem::MaybeUninit::<[u32; 4]>::uninit();
    // SAFETY: `out` is 16 writable bytes and `_mm_storeu_si128` has no alignment
    // requirement; the store initialises all 16 bytes, so the read (of a type for which every
    // bit pattern is valid) reads initialised memory. The read is volatile so that LLVM keeps
    // the store instead of turning it back into lane extracts.
    unsafe {
        _mm_storeu_si128(out.as_mut_ptr().cast(), v);
        core::ptr::read_volatile(out.as_ptr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both builds of the interleaved chains (with and without AVX-512VL registers) against
    /// the portable single chain, for 2, 3 and 4 chains.
    #[test]
    #[allow(clippy::cast_possible_truncation)] // small test indices
    fn interleaved_sha_ni_chains_match_the_portable_chain() {
        let Some(token) = ShaNiToken::detect() else {
            return;
        };
        fn check<const N: usize>(token: ShaNiToken) {
            let state =
                |seed: u32| core::array::from_fn(|i| seed.wrapping_mul(0x9e37_79b9) ^ i as u32);
            let ipad: [[u32; 8]; N] = core::array::from_fn(|c| state(10 + c as u32));
            let opad: [[u32; 8]; N] = core::array::from_fn(|c| state(20 + c as u32));
            let u0: [[u32; 8]; N] = core::array::from_fn(|c| state(30 + c as u32));
            let mut expected = (u0, u0);
            for c in 0..N {
                let (u, t) = (&mut expected.0[c], &mut expected.1[c]);
                soft::chain(&ipad[c], &opad[c], u, t, 7);
            }
            let (mut u, mut t) = (u0, u0);
            token.chains(&ipad, &opad, &mut u, &mut t, 7);
            assert_eq!((u, t), expected, "{N} chains, dispatched");
            let (mut u, mut t) = (u0, u0);
            // SAFETY: the token proves SHA, SSSE3 and SSE4.1, what `chains_sha_ni` needs.
            unsafe { chains_sha_ni(&ipad, &opad, &mut u, &mut t, 7) };
            assert_eq!((u, t), expected, "{N} chains, without AVX-512VL");
            if std::is_x86_feature_detected!("avx512vl") && std::is_x86_feature_detected!("avx512f")
            {
                let (mut u, mut t) = (u0, u0);
                // SAFETY: as above, and AVX-512F/VL were just detected.
                unsafe { chains_sha_ni_vl(&ipad, &opad, &mut u, &mut t, 7) };
                assert_eq!((u, t), expected, "{N} chains, with AVX-512VL");
            }
        }
        check::<2>(token);
        check::<3>(token);
        check::<4>(token);
    }
}
