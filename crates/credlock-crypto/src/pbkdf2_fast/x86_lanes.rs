//! The lane-parallel PBKDF2 chain ([`lanes_chain!`](super::lanes::lanes_chain)) on x86
//! vector registers, behind runtime CPU detection: eight chains per AVX2 register, sixteen
//! per AVX-512 register (where the rotations are one instruction, `vprord`, and `Ch`, `Maj`
//! and the three-way XORs one `vpternlogd` each).
//!
//! Like `x86.rs`, this module is allowed `unsafe` for calling a `#[target_feature]`
//! function (only through [`Avx2Token`] and [`Avx512Token`], which only runtime detection
//! makes) and for moving lanes between arrays and registers (unaligned loads and stores of
//! exactly one register's bytes).

#![allow(unsafe_code)]

/// Proof that this CPU has AVX2: only [`Avx2Token::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx2Token(());

/// Lanes of an AVX2 register.
pub(super) const AVX2_LANES: usize = 8;

/// Lanes of an AVX-512 register.
pub(super) const AVX512_LANES: usize = 16;

impl Avx2Token {
    /// A token if the running CPU has AVX2 (detection is cached by `std`).
    pub(super) fn detect() -> Option<Self> {
        std::is_x86_feature_detected!("avx2").then_some(Self(()))
    }

    /// `n` further PBKDF2 iterations on eight chains in lane-major layout (`u[i][l]` is
    /// word `i` of chain `l`).
    pub(super) fn chain(
        self,
        ipad: &[[u32; AVX2_LANES]; 8],
        opad: &[[u32; AVX2_LANES]; 8],
        u: &mut [[u32; AVX2_LANES]; 8],
        t: &mut [[u32; AVX2_LANES]; 8],
        n: u32,
    ) {
        // SAFETY: `self` exists only if `detect` found AVX2 on this CPU, the feature
        // `avx2::run` is compiled for.
        unsafe { avx2::run(ipad, opad, u, t, n) }
    }
}

/// Proof that this CPU has AVX-512F: only [`Avx512Token::detect`] makes one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Avx512Token(());

impl Avx512Token {
    /// A token if the running CPU has AVX-512F (detection is cached by `std`).
    pub(super) fn detect() -> Option<Self> {
        std::is_x86_feature_detected!("avx512f").then_some(Self(()))
    }

    /// `n` further PBKDF2 iterations on sixteen chains in lane-major layout.
    pub(super) fn chain(
        self,
        ipad: &[[u32; AVX512_LANES]; 8],
        opad: &[[u32; AVX512_LANES]; 8],
        u: &mut [[u32; AVX512_LANES]; 8],
        t: &mut [[u32; AVX512_LANES]; 8],
        n: u32,
    ) {
        // SAFETY: `self` exists only if `detect` found AVX-512F on this CPU, the feature
        // `avx512::run` is compiled for.
        unsafe { avx512::run(ipad, opad, u, t, n) }
    }
}

mod avx2 {
    #[cfg(target_arch = "x86")]
    use core::arch::x86::{
        __m256i, _mm256_add_epi32, _mm256_and_si256, _mm256_andnot_si256, _mm256_loadu_si256,
        _mm256_or_si256, _mm256_set1_epi32, _mm256_slli_epi32, _mm256_srli_epi32,
        _mm256_storeu_si256, _mm256_xor_si256,
    };
    #[cfg(target_arch = "x86_64")]
    use core::arch::x86_64::{
        __m256i, _mm256_add_epi32, _mm256_and_si256, _mm256_andnot_si256, _mm256_loadu_si256,
        _mm256_or_si256, _mm256_set1_epi32, _mm256_slli_epi32, _mm256_srli_epi32,
        _mm256_storeu_si256, _mm256_xor_si256,
    };

    use super::super::lanes::{lanes_chain, lanes_round, lanes_rounds8};
    use super::super::soft::{K, PAD32};
    use super::AVX2_LANES;

    #[inline]
    #[target_feature(enable = "avx2")]
    fn splat(x: u32) -> __m256i {
        #[allow(clippy::cast_possible_wrap)] // a bit pattern, not a number
        _mm256_set1_epi32(x as i32)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn add(a: __m256i, b: __m256i) -> __m256i {
        _mm256_add_epi32(a, b)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn xor(a: __m256i, b: __m256i) -> __m256i {
        _mm256_xor_si256(a, b)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn xor3(a: __m256i, b: __m256i, c: __m256i) -> __m256i {
        _mm256_xor_si256(_mm256_xor_si256(a, b), c)
    }

    /// `(e & f) ^ (!e & g)`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn ch(e: __m256i, f: __m256i, g: __m256i) -> __m256i {
        _mm256_xor_si256(_mm256_and_si256(e, f), _mm256_andnot_si256(e, g))
    }

    /// `(a & b) | (c & (a | b))`, the majority.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn maj(a: __m256i, b: __m256i, c: __m256i) -> __m256i {
        _mm256_or_si256(
            _mm256_and_si256(a, b),
            _mm256_and_si256(c, _mm256_or_si256(a, b)),
        )
    }

    /// Rotate right by `R` (`L = 32 - R`): AVX2 has no rotation, so two shifts and an OR.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn rotr<const R: i32, const L: i32>(x: __m256i) -> __m256i {
        _mm256_or_si256(_mm256_srli_epi32::<R>(x), _mm256_slli_epi32::<L>(x))
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn shr<const S: i32>(x: __m256i) -> __m256i {
        _mm256_srli_epi32::<S>(x)
    }

    lanes_chain!(#[target_feature(enable = "avx2")] fn compress, fn chain, __m256i);

    type Words = [[u32; AVX2_LANES]; 8];

    #[inline]
    #[target_feature(enable = "avx2")]
    fn load(words: &Words) -> [__m256i; 8] {
        // SAFETY: each `words[i]` is 32 readable bytes, exactly one unaligned load's worth.
        words.map(|lanes| unsafe { _mm256_loadu_si256(lanes.as_ptr().cast()) })
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn store(words: &mut Words, v: &[__m256i; 8]) {
        for (lanes, v) in words.iter_mut().zip(v) {
            // SAFETY: each `words[i]` is 32 writable bytes, exactly one unaligned store's
            // worth.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), *v) }
        }
    }

    #[target_feature(enable = "avx2")]
    pub(super) fn run(ipad: &Words, opad: &Words, u: &mut Words, t: &mut Words, n: u32) {
        let (ipad_v, opad_v) = (load(ipad), load(opad));
        let (mut u_v, mut t_v) = (load(u), load(t));
        chain(&ipad_v, &opad_v, &mut u_v, &mut t_v, n);
        store(u, &u_v);
        store(t, &t_v);
    }
}

mod avx512 {
    #[cfg(target_arch = "x86")]
    use core::arch::x86::{
        __m512i, _mm512_add_epi32, _mm512_loadu_si512, _mm512_ror_epi32, _mm512_set1_epi32,
        _mm512_srli_epi32, _mm512_storeu_si512, _mm512_ternarylogic_epi32, _mm512_xor_si512,
    };
    #[cfg(target_arch = "x86_64")]
    use core::arch::x86_64::{
        __m512i, _mm512_add_epi32, _mm512_loadu_si512, _mm512_ror_epi32, _mm512_set1_epi32,
        _mm512_srli_epi32, _mm512_storeu_si512, _mm512_ternarylogic_epi32, _mm512_xor_si512,
    };

    use super::super::lanes::{lanes_chain, lanes_round, lanes_rounds8};
    use super::super::soft::{K, PAD32};
    use super::AVX512_LANES;

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn splat(x: u32) -> __m512i {
        #[allow(clippy::cast_possible_wrap)] // a bit pattern, not a number
        _mm512_set1_epi32(x as i32)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn add(a: __m512i, b: __m512i) -> __m512i {
        _mm512_add_epi32(a, b)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn xor(a: __m512i, b: __m512i) -> __m512i {
        _mm512_xor_si512(a, b)
    }

    /// `a ^ b ^ c`: truth table `0x96`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn xor3(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        _mm512_ternarylogic_epi32::<0x96>(a, b, c)
    }

    /// `e ? f : g` bit by bit: truth table `0xCA`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn ch(e: __m512i, f: __m512i, g: __m512i) -> __m512i {
        _mm512_ternarylogic_epi32::<0xCA>(e, f, g)
    }

    /// The majority: truth table `0xE8`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn maj(a: __m512i, b: __m512i, c: __m512i) -> __m512i {
        _mm512_ternarylogic_epi32::<0xE8>(a, b, c)
    }

    /// Rotate right by `R` (`vprord`; `L` is unused here).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn rotr<const R: i32, const L: i32>(x: __m512i) -> __m512i {
        _mm512_ror_epi32::<R>(x)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn shr<const S: u32>(x: __m512i) -> __m512i {
        _mm512_srli_epi32::<S>(x)
    }

    lanes_chain!(#[target_feature(enable = "avx512f")] fn compress, fn chain, __m512i);

    type Words = [[u32; AVX512_LANES]; 8];

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load(words: &Words) -> [__m512i; 8] {
        // SAFETY: each `words[i]` is 64 readable bytes, exactly one unaligned load's worth.
        words.map(|lanes| unsafe { _mm512_loadu_si512(lanes.as_ptr().cast()) })
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn store(words: &mut Words, v: &[__m512i; 8]) {
        for (lanes, v) in words.iter_mut().zip(v) {
            // SAFETY: each `words[i]` is 64 writable bytes, exactly one unaligned store's
            // worth.
            unsafe { _mm512_storeu_si512(lanes.as_mut_ptr().cast(), *v) }
        }
    }

    #[target_feature(enable = "avx512f")]
    pub(super) fn run(ipad: &Words, opad: &Words, u: &mut Words, t: &mut Words, n: u32) {
        let (ipad_v, opad_v) = (load(ipad), load(opad));
        let (mut u_v, mut t_v) = (load(u), load(t));
        chain(&ipad_v, &opad_v, &mut u_v, &mut t_v, n);
        store(u, &u_v);
        store(t, &t_v);
    }
}
