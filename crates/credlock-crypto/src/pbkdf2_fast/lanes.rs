//! Many independent PBKDF2 chains side by side, one per lane of a vector ("vertical" SIMD,
//! as multi-buffer SHA-256 and password crackers do it): lane `l` of word `i` of every
//! state is word `i` of chain `l`. Every chain runs the same instructions on its own lane,
//! so a vector of `L` lanes advances `L` chains at the cost of about one.
//!
//! [`lanes_chain!`] writes the chain once, over a handful of lane operations that the
//! module expanding it defines (`splat`, `add`, `xor`, `xor3`, `ch`, `maj`, `rotr`, `shr`);
//! it is expanded here over plain arrays (the portable path, which Miri runs) and in
//! `x86_lanes.rs` over AVX2 and AVX-512 registers. The differential tests run every
//! expansion against the single-chain path.

use super::soft::{K, PAD32};

/// One round on the working variables named in rotation; `$kw` is `K[i] + W[i]`.
macro_rules! lanes_round {
    ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $kw:expr) => {
        let big_sigma1 = xor3(rotr::<6, 26>($e), rotr::<11, 21>($e), rotr::<25, 7>($e));
        let t1 = add(add(add($h, $kw), ch($e, $f, $g)), big_sigma1);
        let big_sigma0 = xor3(rotr::<2, 30>($a), rotr::<13, 19>($a), rotr::<22, 10>($a));
        $d = add($d, t1);
        $h = add(t1, add(big_sigma0, maj($a, $b, $c)));
    };
}

/// Eight rounds (the names rotate back to where they started), `$kw` evaluated with `$i`
/// bound to `$base`, `$base + 1`, ...
macro_rules! lanes_rounds8 {
    ([$a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident],
     $i:ident => $kw:expr, $base:expr) => {{
        let $i = $base;
        lanes_round!($a, $b, $c, $d, $e, $f, $g, $h, $kw);
    }
    {
        let $i = $base + 1;
        lanes_round!($h, $a, $b, $c, $d, $e, $f, $g, $kw);
    }
    {
        let $i = $base + 2;
        lanes_round!($g, $h, $a, $b, $c, $d, $e, $f, $kw);
    }
    {
        let $i = $base + 3;
        lanes_round!($f, $g, $h, $a, $b, $c, $d, $e, $kw);
    }
    {
        let $i = $base + 4;
        lanes_round!($e, $f, $g, $h, $a, $b, $c, $d, $kw);
    }
    {
        let $i = $base + 5;
        lanes_round!($d, $e, $f, $g, $h, $a, $b, $c, $kw);
    }
    {
        let $i = $base + 6;
        lanes_round!($c, $d, $e, $f, $g, $h, $a, $b, $kw);
    }
    {
        let $i = $base + 7;
        lanes_round!($b, $c, $d, $e, $f, $g, $h, $a, $kw);
    }};
}

/// Defines, in the module that expands it, `fn $compress(state: &[V; 8], msg: &[V; 8]) ->
/// [V; 8]` (the hash of a 32-byte message after one 64-byte block, as
/// `soft::compress_padded32`, on every lane) and `fn $chain(ipad, opad, u, t, n)` (`n`
/// further PBKDF2 iterations on every lane, as `soft::chain`), both with the attributes
/// given. That module defines the lane operations for `V`:
///
/// - `splat(u32) -> V`, `add(V, V) -> V` (wrapping, per lane), `xor(V, V) -> V`,
/// - `xor3(a, b, c)`, `ch(e, f, g)` (`(e & f) ^ (!e & g)`), `maj(a, b, c)`,
/// - `rotr::<R, L>(x)` (rotate right by `R`, `L = 32 - R`), `shr::<S>(x)`.
macro_rules! lanes_chain {
    ($(#[$attr:meta])* fn $compress:ident, fn $chain:ident, $V:ty) => {
        /// The hash of a 32-byte message after one 64-byte block on every lane: the
        /// message words, then the constant padding words.
        $(#[$attr])*
        #[inline]
        fn $compress(state: &[$V; 8], msg: &[$V; 8]) -> [$V; 8] {
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
            let mut w: [$V; 16] = [
                msg[0], msg[1], msg[2], msg[3], msg[4], msg[5], msg[6], msg[7],
                splat(PAD32[0]), splat(PAD32[1]), splat(PAD32[2]), splat(PAD32[3]),
                splat(PAD32[4]), splat(PAD32[5]), splat(PAD32[6]), splat(PAD32[7]),
            ];
            // Rounds 0..16: words 8..16 are constants, so `K + W` folds for them.
            lanes_rounds8!([a, b, c, d, e, f, g, h], i => add(w[i], splat(K[i])), 0);
            lanes_rounds8!([a, b, c, d, e, f, g, h], i => add(w[i], splat(K[i])), 8);
            for j in 1..4 {
                // The next sixteen words, in place: W[t] = σ1(W[t-2]) + W[t-7] + σ0(W[t-15])
                // + W[t-16], with W[t-16] at the same index.
                for i in 0..16 {
                    let x = w[(i + 1) % 16];
                    let sigma0 = xor3(rotr::<7, 25>(x), rotr::<18, 14>(x), shr::<3>(x));
                    let y = w[(i + 14) % 16];
                    let sigma1 = xor3(rotr::<17, 15>(y), rotr::<19, 13>(y), shr::<10>(y));
                    w[i] = add(add(w[i], sigma0), add(w[(i + 9) % 16], sigma1));
                }
                let k = &K[16 * j..16 * j + 16];
                lanes_rounds8!([a, b, c, d, e, f, g, h], i => add(w[i], splat(k[i])), 0);
                lanes_rounds8!([a, b, c, d, e, f, g, h], i => add(w[i], splat(k[i])), 8);
            }
            [
                add(state[0], a),
                add(state[1], b),
                add(state[2], c),
                add(state[3], d),
                add(state[4], e),
                add(state[5], f),
                add(state[6], g),
                add(state[7], h),
            ]
        }

        /// `n` further PBKDF2 iterations on every lane: `u = HMAC(u)`, `t ^= u`.
        $(#[$attr])*
        fn $chain(ipad: &[$V; 8], opad: &[$V; 8], u: &mut [$V; 8], t: &mut [$V; 8], n: u32) {
            for _ in 0..n {
                let inner = $compress(ipad, u);
                *u = $compress(opad, &inner);
                for (t, u) in t.iter_mut().zip(u.iter()) {
                    *t = xor(*t, *u);
                }
            }
        }
    };
}

pub(super) use {lanes_chain, lanes_round, lanes_rounds8};

/// The lanes of the portable path.
pub(super) const PORTABLE_LANES: usize = 4;

/// A portable vector: one `u32` per lane, operated on lane by lane (which LLVM may turn into
/// SSE2 or NEON instructions).
type Portable = [u32; PORTABLE_LANES];

#[inline(always)]
fn splat(x: u32) -> Portable {
    [x; PORTABLE_LANES]
}

#[inline(always)]
fn zip(a: Portable, b: Portable, op: impl Fn(u32, u32) -> u32) -> Portable {
    core::array::from_fn(|l| op(a[l], b[l]))
}

#[inline(always)]
fn add(a: Portable, b: Portable) -> Portable {
    zip(a, b, u32::wrapping_add)
}

#[inline(always)]
fn xor(a: Portable, b: Portable) -> Portable {
    zip(a, b, |a, b| a ^ b)
}

#[inline(always)]
fn xor3(a: Portable, b: Portable, c: Portable) -> Portable {
    xor(xor(a, b), c)
}

#[inline(always)]
fn ch(e: Portable, f: Portable, g: Portable) -> Portable {
    core::array::from_fn(|l| (e[l] & f[l]) ^ (!e[l] & g[l]))
}

#[inline(always)]
fn maj(a: Portable, b: Portable, c: Portable) -> Portable {
    core::array::from_fn(|l| (a[l] & b[l]) ^ (a[l] & c[l]) ^ (b[l] & c[l]))
}

#[inline(always)]
fn rotr<const R: u32, const L: u32>(x: Portable) -> Portable {
    x.map(|x| x.rotate_right(R))
}

#[inline(always)]
fn shr<const S: u32>(x: Portable) -> Portable {
    x.map(|x| x >> S)
}

lanes_chain!(fn compress_padded32, fn chain, Portable);

/// `n` further PBKDF2 iterations on [`PORTABLE_LANES`] chains, in lane-major layout
/// (`u[i][l]` is word `i` of chain `l`).
pub(super) fn portable_chain(
    ipad: &[Portable; 8],
    opad: &[Portable; 8],
    u: &mut [Portable; 8],
    t: &mut [Portable; 8],
    n: u32,
) {
    chain(ipad, opad, u, t, n);
}
