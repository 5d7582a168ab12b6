//! The PBKDF2 chain on AVX2/BMI2 as one `asm!` block, for x86-64 CPUs without SHA-NI.
//!
//! Every PBKDF2 iteration hashes two blocks whose layout is fixed: eight message words (the
//! previous hash) and eight constant padding words, compressed from one of two constant
//! states (the HMAC pads). One `asm!` block runs the whole chain, so that
//!
//! - the working variables stay in general registers from one compression to the next:
//!   the previous compression's final working variables become the next message without a
//!   Rust function call, a state array or a byte swap;
//! - `W + K` of rounds 0..8 is the previous output plus per-pad constants (one `add` per
//!   word), round 0 is folded into two per-pad constants (its state is constant, only `W[0]`
//!   varies), and rounds 8..16 add immediates (padding word + round constant);
//! - the message schedule runs four words at a time in SSE registers, interleaved with the
//!   rounds sixteen rounds ahead of its use, its `W + K` stored to a buffer the rounds read
//!   as memory operands;
//! - the rounds are those of OpenSSL's `sha256_block_data_order_avx2` (CRYPTOGAMS):
//!   `rorx`/`andn`, `Maj` through the carried `b ^ c`, and `Σ0(a)` added one round late,
//!   off the critical path; reordered (see `round!`), and each round adds the next round's
//!   `W + K` to its `h` ahead of time.
//!
//! Register plan inside the block (32-bit names):
//!
//! | register | use |
//! |---|---|
//! | `eax ebx ecx edx r8d r9d r10d r11d` | working variables `a..h`, renamed each round |
//! | `r12d r13d ebp` | temporaries; `r13d` carries `Σ0(a)` to the next round, `ebp` copies `f` |
//! | `r14d r15d` | `a ^ b` of this round / `b ^ c` carried from the previous one, alternating |
//! | `rdi` | the `Ctx` (W + K buffer, constants, counter, saved registers) |
//! | `rsi` | the `Pad` of the compression being run |
//! | `xmm0..xmm3` | sixteen message words; `xmm4..xmm7` schedule temporaries |
//! | `xmm14 xmm15` | `T`, the XOR of the chain's outputs |
//!
//! `rbx` and `rbp` cannot be `asm!` operands; the block saves them in the context and
//! restores them before it ends. The compression is a subroutine (`call`/`ret` on the
//! stack below the stack pointer, which `asm!` without `nostack` allows), run twice per
//! iteration with `rsi` pointing at the inner or the outer pad.

#![allow(unsafe_code)]

use core::mem::offset_of;

use zeroize::Zeroize;

use super::soft::{K, PAD32};
use super::x86::Bmi2Token;

/// The per-pad constants of one compression: its starting state `s`, and what the previous
/// compression's final working variables `v` need added to become this block's `W + K`
/// (`qk[i] = s_prev[i] + K[i]`, so that `v[i] + qk[i] = W[i] + K[i]`), and round 0 folded.
#[repr(C, align(64))]
struct Pad {
    /// The state this compression starts from (the HMAC pad's midstate).
    s: [u32; 8],
    /// `s_prev[i] + K[i]` for the other pad's state `s_prev`.
    qk: [u32; 8],
    /// `a` after round 0 is `W[0] + K[0] + fold_a`.
    fold_a: u32,
    /// `e` after round 0 is `W[0] + K[0] + fold_e`.
    fold_e: u32,
    /// `a ^ b` of the starting state: `b ^ c` of round 1.
    bxc: u32,
}

impl Pad {
    fn new(s: &[u32; 8], prev: &[u32; 8]) -> Self {
        let [a, b, c, d, e, f, g, h] = *s;
        let big_sigma0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let big_sigma1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        // Round 0 without W[0] + K[0]: t1 = h + Σ1(e) + Ch(e, f, g) (+ W[0] + K[0]).
        let t1 = h.wrapping_add(big_sigma1).wrapping_add(ch);
        let mut qk = [0u32; 8];
        for ((qk, p), k) in qk.iter_mut().zip(prev).zip(K) {
            *qk = p.wrapping_add(k);
        }
        Self {
            s: *s,
            qk,
            fold_a: t1.wrapping_add(big_sigma0).wrapping_add(maj),
            fold_e: t1.wrapping_add(d),
            bxc: a ^ b,
        }
    }
}

impl Drop for Pad {
    fn drop(&mut self) {
        self.s.zeroize();
        self.qk.zeroize();
        self.fold_a.zeroize();
        self.fold_e.zeroize();
        self.bxc.zeroize();
    }
}

/// Everything the `asm!` block reads and writes, at the offsets its text names (checked at
/// compile time below).
#[repr(C, align(64))]
struct Ctx {
    /// `W[t] + K[t]` of the compression running (rounds 8..16 use immediates instead).
    wk: [u32; 64],
    /// The message words 0..8 of the last compression: after the inner one, the previous `U`.
    msg: [u32; 8],
    /// `T`, the XOR of the `U`s (in: `t ^ u`, see `chain`).
    t: [u32; 8],
    /// In: the working variables the previous outer compression would have ended with,
    /// `u - opad`; out: the last `U`.
    u: [u32; 8],
    /// The round constants, for the message schedule's `W + K`.
    k: [u32; 64],
    /// The padding words 8..16, the schedule's starting words 8..16.
    pad_words: [u32; 8],
    /// Iterations left.
    count: u64,
    /// `rbx` and `rbp` of the caller, restored at the end.
    saved: [u64; 2],
    /// The inner compression's constants.
    ipad: Pad,
    /// The outer compression's constants.
    opad: Pad,
}

const _: () = {
    assert!(offset_of!(Ctx, wk) == 0);
    assert!(offset_of!(Ctx, msg) == 256);
    assert!(offset_of!(Ctx, t) == 288);
    assert!(offset_of!(Ctx, u) == 320);
    assert!(offset_of!(Ctx, k) == 352);
    assert!(offset_of!(Ctx, pad_words) == 608);
    assert!(offset_of!(Ctx, count) == 640);
    assert!(offset_of!(Ctx, saved) == 648);
    assert!(offset_of!(Ctx, ipad) == 704);
    assert!(offset_of!(Ctx, opad) == 832);
    assert!(offset_of!(Pad, s) == 0);
    assert!(offset_of!(Pad, qk) == 32);
    assert!(offset_of!(Pad, fold_a) == 64);
    assert!(offset_of!(Pad, fold_e) == 68);
    assert!(offset_of!(Pad, bxc) == 72);
};

impl Drop for Ctx {
    fn drop(&mut self) {
        self.wk.zeroize();
        self.msg.zeroize();
        self.t.zeroize();
        self.u.zeroize();
    }
}

/// One round on the working variables named `a..h` (register names), `a2` receiving
/// `a ^ b`, `a3` holding `b ^ c`. On entry `r13d` holds `Σ0` of the previous round's `a`
/// (still to be added), `ebp` a copy of `f`, and `h` already includes this round's `W + K`;
/// `next_wk` adds the next round's `W + K` to `g` (the next round's `h`), off the critical
/// path. `v0..v3` are message-schedule instructions (see `schedule!`) placed between the
/// round's own, so that the vector work spreads evenly over the rounds.
///
/// The order matters on an out-of-order core that issues the oldest ready instruction
/// first. Measured on Zen 4: with the rotations of `e` for `Σ1` first (after only the
/// deferred `Σ0` of `a`) and the next round's `W + K` added late, the rounds alone run about
/// 6 % faster than in OpenSSL's order; the schedule's instructions placed after the first
/// rotation, after `andn`, after `h = T1` and after the next `W + K` gain about 4 % more in
/// the whole chain. Other places, and random valid reorderings, measured the same or slower.
#[rustfmt::skip]
macro_rules! round {
    ($a:literal, $b:literal, $c:literal, $d:literal, $e:literal, $f:literal, $g:literal,
     $h:literal, $a2:literal, $a3:literal, $next_wk:expr, $v0:expr, $v1:expr, $v2:expr,
     $v3:expr) => {
        concat!(
            "add ", $a, ", r13d\n",            // a += Σ0 from the previous round
            "rorx r12d, ", $e, ", 25\n",
            $v0,
            "rorx ", $a2, ", ", $e, ", 11\n",
            "rorx r13d, ", $e, ", 6\n",
            "and ebp, ", $e, "\n",            // e & f
            "add ", $h, ", ebp\n",
            "andn ebp, ", $e, ", ", $g, "\n", // !e & g
            $v1,
            "xor r12d, ", $a2, "\n",
            "add ", $h, ", ebp\n",             // + Ch(e, f, g)
            "xor r12d, r13d\n",                // Σ1(e)
            "mov ", $a2, ", ", $a, "\n",
            "rorx ebp, ", $a, ", 22\n",
            "add ", $h, ", r12d\n",            // + Σ1(e): h = T1
            $v2,
            "xor ", $a2, ", ", $b, "\n",      // a ^ b
            "rorx r13d, ", $a, ", 13\n",
            "rorx r12d, ", $a, ", 2\n",
            "add ", $d, ", ", $h, "\n",       // d += T1
            "and ", $a3, ", ", $a2, "\n",     // (b ^ c) & (a ^ b)
            $next_wk,
            $v3,
            "xor r13d, ebp\n",
            "xor ", $a3, ", ", $b, "\n",      // Maj(a, b, c)
            "xor r13d, r12d\n",                // Σ0(a), added next round
            "add ", $h, ", ", $a3, "\n",      // h = T1 + Maj
            "mov ebp, ", $e, "\n",             // f of the next round
        )
    };
}

/// Four message words: `x0 = W[t..t+4]` from `x0..x3 = W[t-16..t]`, and their `W + K`
/// stored at `wk` (`k`: offset of `K[t]`), in sixteen numbered pairs of instructions that
/// `rounds4!` spreads over four rounds. σ1 of two words at a time in 64-bit lanes (each
/// word duplicated, so that a 64-bit shift is a 32-bit rotation).
#[rustfmt::skip]
macro_rules! schedule {
    (0, $x0:literal, $x1:literal, $x2:literal, $x3:literal, $k:literal, $wk:literal) => {
        concat!(
            "vpalignr xmm4, ", $x1, ", ", $x0, ", 4\n", // W[t-15..t-11]
            "vpalignr xmm7, ", $x3, ", ", $x2, ", 4\n", // W[t-7..t-3]
        )
    };
    (1, $x0:literal, $x1:literal, $x2:literal, $x3:literal, $k:literal, $wk:literal) => {
        concat!("vpaddd ", $x0, ", ", $x0, ", xmm7\n", "vpsrld xmm5, xmm4, 7\n")
    };
    (2, $($_:literal),*) => { "vpsrld xmm6, xmm4, 3\nvpslld xmm7, xmm4, 14\n" };
    (3, $($_:literal),*) => { "vpxor xmm4, xmm6, xmm5\nvpsrld xmm5, xmm5, 11\n" };
    (4, $($_:literal),*) => { "vpxor xmm4, xmm4, xmm7\nvpslld xmm7, xmm7, 11\n" };
    (5, $($_:literal),*) => { "vpxor xmm4, xmm4, xmm5\nvpxor xmm4, xmm4, xmm7\n" }; // σ0
    (6, $x0:literal, $x1:literal, $x2:literal, $x3:literal, $k:literal, $wk:literal) => {
        concat!(
            "vpaddd ", $x0, ", ", $x0, ", xmm4\n",
            "vpshufd xmm6, ", $x3, ", 0xfa\n",           // W[t-2], W[t-2], W[t-1], W[t-1]
        )
    };
    (7, $($_:literal),*) => { "vpsrld xmm5, xmm6, 10\nvpsrlq xmm7, xmm6, 17\n" };
    (8, $($_:literal),*) => { "vpxor xmm5, xmm5, xmm7\nvpsrlq xmm7, xmm6, 19\n" };
    (9, $($_:literal),*) => {
        "vpxor xmm5, xmm5, xmm7\nvpshufd xmm5, xmm5, 0x08\n" // σ1 of lanes 2, 3 into 0, 1
    };
    (10, $x0:literal, $x1:literal, $x2:literal, $x3:literal, $k:literal, $wk:literal) => {
        concat!(
            "vpaddd xmm4, ", $x0, ", xmm5\n",             // lanes 0, 1 done
            "vpshufd xmm6, xmm4, 0x50\n",
        )
    };
    (11, $($_:literal),*) => { "vpsrld xmm5, xmm6, 10\nvpsrlq xmm7, xmm6, 17\n" };
    (12, $($_:literal),*) => { "vpxor xmm5, xmm5, xmm7\nvpsrlq xmm7, xmm6, 19\n" };
    (13, $($_:literal),*) => {
        "vpxor xmm5, xmm5, xmm7\nvpshufd xmm5, xmm5, 0x80\n" // σ1 of lanes 0, 1 into 2, 3
    };
    (14, $x0:literal, $x1:literal, $x2:literal, $x3:literal, $k:literal, $wk:literal) => {
        concat!(
            "vpaddd xmm5, ", $x0, ", xmm5\n",             // lanes 2, 3 done
            "vpblendd ", $x0, ", xmm4, xmm5, 0x0c\n",
        )
    };
    (15, $x0:literal, $x1:literal, $x2:literal, $x3:literal, $k:literal, $wk:literal) => {
        concat!(
            "vpaddd xmm4, ", $x0, ", [rdi + ", $k, "]\n",
            "vmovdqa [rdi + ", $wk, "], xmm4\n",
        )
    };
}

/// Pair `n` of a `schedule!` given as `(x0, x1, x2, x3, k, wk)`, or nothing for `none`.
macro_rules! piece {
    (none, $n:tt) => {
        ""
    };
    (($($s:literal),*), $n:tt) => {
        schedule!($n, $($s),*)
    };
}

/// `add reg, W + K` with `W + K` at `mem offset` in the buffer at `rdi` or an `imm value`;
/// nothing for `none`.
macro_rules! add_wk {
    ($reg:literal, mem $offset:literal) => {
        concat!("add ", $reg, ", dword ptr [rdi + ", $offset, "]\n")
    };
    ($reg:literal, imm $value:literal) => {
        concat!("add ", $reg, ", ", $value, "\n")
    };
    ($reg:literal, none) => {
        ""
    };
}

/// Rounds 1..4 of a compression (round 0 is folded into per-pad constants, and the block
/// adds round 1's `W + K` to its `h`), with pairs 4..16 of the schedule `$s` of `W[16..20]`
/// (pairs 0..4 run before them).
#[rustfmt::skip]
macro_rules! rounds_1_to_3 {
    ($s:tt) => {
        concat!(
            round!("r11d", "eax", "ebx", "ecx", "edx", "r8d", "r9d", "r10d", "r15d", "r14d",
                   add_wk!("r9d", mem 8),
                   piece!($s, 4), piece!($s, 5), piece!($s, 6), piece!($s, 7)),
            round!("r10d", "r11d", "eax", "ebx", "ecx", "edx", "r8d", "r9d", "r14d", "r15d",
                   add_wk!("r8d", mem 12),
                   piece!($s, 8), piece!($s, 9), piece!($s, 10), piece!($s, 11)),
            round!("r9d", "r10d", "r11d", "eax", "ebx", "ecx", "edx", "r8d", "r15d", "r14d",
                   add_wk!("edx", mem 16),
                   piece!($s, 12), piece!($s, 13), piece!($s, 14), piece!($s, 15)),
        )
    };
}

/// Four rounds with the names of rounds `8j..8j + 4` (`first`) or `8j + 4..8j + 8`
/// (`second`), the `W + K` of the four rounds that follow each (see `add_wk!`), and the
/// schedule of four message words (or `none`) spread over them.
#[rustfmt::skip]
macro_rules! rounds4 {
    (first, [$($w0:tt)*], [$($w1:tt)*], [$($w2:tt)*], [$($w3:tt)*], $s:tt) => {
        concat!(
            round!("eax", "ebx", "ecx", "edx", "r8d", "r9d", "r10d", "r11d", "r14d", "r15d",
                   add_wk!("r10d", $($w0)*),
                   piece!($s, 0), piece!($s, 1), piece!($s, 2), piece!($s, 3)),
            round!("r11d", "eax", "ebx", "ecx", "edx", "r8d", "r9d", "r10d", "r15d", "r14d",
                   add_wk!("r9d", $($w1)*),
                   piece!($s, 4), piece!($s, 5), piece!($s, 6), piece!($s, 7)),
            round!("r10d", "r11d", "eax", "ebx", "ecx", "edx", "r8d", "r9d", "r14d", "r15d",
                   add_wk!("r8d", $($w2)*),
                   piece!($s, 8), piece!($s, 9), piece!($s, 10), piece!($s, 11)),
            round!("r9d", "r10d", "r11d", "eax", "ebx", "ecx", "edx", "r8d", "r15d", "r14d",
                   add_wk!("edx", $($w3)*),
                   piece!($s, 12), piece!($s, 13), piece!($s, 14), piece!($s, 15)),
        )
    };
    (second, [$($w0:tt)*], [$($w1:tt)*], [$($w2:tt)*], [$($w3:tt)*], $s:tt) => {
        concat!(
            round!("r8d", "r9d", "r10d", "r11d", "eax", "ebx", "ecx", "edx", "r14d", "r15d",
                   add_wk!("ecx", $($w0)*),
                   piece!($s, 0), piece!($s, 1), piece!($s, 2), piece!($s, 3)),
            round!("edx", "r8d", "r9d", "r10d", "r11d", "eax", "ebx", "ecx", "r15d", "r14d",
                   add_wk!("ebx", $($w1)*),
                   piece!($s, 4), piece!($s, 5), piece!($s, 6), piece!($s, 7)),
            round!("ecx", "edx", "r8d", "r9d", "r10d", "r11d", "eax", "ebx", "r14d", "r15d",
                   add_wk!("eax", $($w2)*),
                   piece!($s, 8), piece!($s, 9), piece!($s, 10), piece!($s, 11)),
            round!("ebx", "ecx", "edx", "r8d", "r9d", "r10d", "r11d", "eax", "r15d", "r14d",
                   add_wk!("r11d", $($w3)*),
                   piece!($s, 12), piece!($s, 13), piece!($s, 14), piece!($s, 15)),
        )
    };
}

/// `n` further PBKDF2 iterations: `u = HMAC(u)`, `t ^= u` (as `super::soft::chain`).
pub(super) fn chain(
    _token: Bmi2Token,
    ipad: &[u32; 8],
    opad: &[u32; 8],
    u: &mut [u32; 8],
    t: &mut [u32; 8],
    n: u32,
) {
    if n == 0 {
        return;
    }
    let mut ctx = Ctx {
        wk: [0; 64],
        msg: [0; 8],
        t: [0; 8],
        u: [0; 8],
        k: K,
        pad_words: PAD32,
        count: u64::from(n),
        saved: [0; 2],
        ipad: Pad::new(ipad, opad),
        opad: Pad::new(opad, ipad),
    };
    // The block XORs each inner message (the previous U) into T, the first one (`u` itself,
    // already in `t`) included: cancelled here.
    for ((ct, t), u) in ctx.t.iter_mut().zip(t.iter()).zip(u.iter()) {
        *ct = t ^ u;
    }
    for ((cu, u), o) in ctx.u.iter_mut().zip(u.iter()).zip(opad) {
        *cu = u.wrapping_sub(*o);
    }
    let ctx_ptr: *mut Ctx = &mut ctx;
    // SAFETY: `_token` proves the CPU has AVX2, BMI1 and BMI2, the only extensions used
    // (`rorx`, `andn`, `vpblendd` and VEX-encoded SSE). The block reads and writes memory
    // only inside `*ctx_ptr` (all offsets are checked against `Ctx` above) and the stack
    // below `rsp` (return addresses of its own `call`s, balanced by `ret`s; no `nostack`).
    // It declares every register it changes, and restores `rbx` and `rbp`, which cannot be
    // declared, from `ctx.saved` before it ends; `rsp` is back where it was. `count` is at
    // least 1 (checked above), so the loop ends after `n` iterations.
    unsafe {
        core::arch::asm!(
            "mov [rdi + 648], rbx",
            "mov [rdi + 656], rbp",
            "vmovdqa xmm14, [rdi + 288]",
            "vmovdqa xmm15, [rdi + 304]",
            "mov eax, [rdi + 320]",
            "mov ebx, [rdi + 324]",
            "mov ecx, [rdi + 328]",
            "mov edx, [rdi + 332]",
            "mov r8d, [rdi + 336]",
            "mov r9d, [rdi + 340]",
            "mov r10d, [rdi + 344]",
            "mov r11d, [rdi + 348]",
            "xor r13d, r13d",
            "2:",
            "lea rsi, [rdi + 704]",
            "call 3f",
            "vpxor xmm14, xmm14, [rdi + 256]",
            "vpxor xmm15, xmm15, [rdi + 272]",
            "lea rsi, [rdi + 832]",
            "call 3f",
            "dec qword ptr [rdi + 640]",
            "jnz 2b",
            // The last U: the outer pad's state plus the working variables.
            "add eax, r13d",
            "add eax, [rsi]",
            "add ebx, [rsi + 4]",
            "add ecx, [rsi + 8]",
            "add edx, [rsi + 12]",
            "add r8d, [rsi + 16]",
            "add r9d, [rsi + 20]",
            "add r10d, [rsi + 24]",
            "add r11d, [rsi + 28]",
            "mov [rdi + 320], eax",
            "mov [rdi + 324], ebx",
            "mov [rdi + 328], ecx",
            "mov [rdi + 332], edx",
            "mov [rdi + 336], r8d",
            "mov [rdi + 340], r9d",
            "mov [rdi + 344], r10d",
            "mov [rdi + 348], r11d",
            "vmovdqa [rdi + 288], xmm14",
            "vmovdqa [rdi + 304], xmm15",
            "mov rbx, [rdi + 648]",
            "mov rbp, [rdi + 656]",
            "jmp 4f",
            // The compression with the pad at rsi; the previous one's working variables
            // in eax..r11d (its `a` still missing `Σ0`, in r13d).
            "3:",
            "add eax, r13d",
            // W[i] + K[i] = v[i] + s_prev[i] + K[i].
            "add eax, [rsi + 32]",
            "add ebx, [rsi + 36]",
            "add ecx, [rsi + 40]",
            "add edx, [rsi + 44]",
            "add r8d, [rsi + 48]",
            "add r9d, [rsi + 52]",
            "add r10d, [rsi + 56]",
            "add r11d, [rsi + 60]",
            "mov [rdi], eax",
            "mov [rdi + 4], ebx",
            "mov [rdi + 8], ecx",
            "mov [rdi + 12], edx",
            "mov [rdi + 16], r8d",
            "mov [rdi + 20], r9d",
            "mov [rdi + 24], r10d",
            "mov [rdi + 28], r11d",
            // Round 0 folded: a and e from W[0] + K[0]; b, c, d, f, g, h from the pad.
            "mov r11d, [rsi + 64]",
            "add r11d, eax",
            "mov edx, [rsi + 68]",
            "add edx, eax",
            // h of round 1 with its W + K (the next rounds add theirs one round ahead).
            "mov r10d, [rsi + 24]",
            "add r10d, ebx",
            "mov eax, [rsi]",
            "mov ebx, [rsi + 4]",
            "mov ecx, [rsi + 8]",
            "mov r8d, [rsi + 16]",
            "mov r9d, [rsi + 20]",
            "mov ebp, r8d",
            "mov r14d, [rsi + 72]",
            "xor r13d, r13d",
            // The message words: W + K minus K; kept for T.
            "vmovdqa xmm0, [rdi]",
            "vmovdqa xmm1, [rdi + 16]",
            "vpsubd xmm0, xmm0, [rdi + 352]",
            "vpsubd xmm1, xmm1, [rdi + 368]",
            "vmovdqa [rdi + 256], xmm0",
            "vmovdqa [rdi + 272], xmm1",
            "vmovdqa xmm2, [rdi + 608]",
            "vmovdqa xmm3, [rdi + 624]",
            // Schedule of W[16..20]: its first pairs here, the rest in rounds 1..4.
            schedule!(0, "xmm0", "xmm1", "xmm2", "xmm3", "416", "64"),
            schedule!(1, "xmm0", "xmm1", "xmm2", "xmm3", "416", "64"),
            schedule!(2, "xmm0", "xmm1", "xmm2", "xmm3", "416", "64"),
            schedule!(3, "xmm0", "xmm1", "xmm2", "xmm3", "416", "64"),
            // Rounds 1..4 (round 0 is folded above).
            rounds_1_to_3!(("xmm0", "xmm1", "xmm2", "xmm3", "416", "64")),
            rounds4!(second, [mem 20], [mem 24], [mem 28], [imm 0x5807aa98],
                     ("xmm1", "xmm2", "xmm3", "xmm0", "432", "80")),
            // Rounds 8..16: W + K is the padding word plus the round constant.
            rounds4!(first, [imm 0x12835b01], [imm 0x243185be], [imm 0x550c7dc3], [imm 0x72be5d74],
                     ("xmm2", "xmm3", "xmm0", "xmm1", "448", "96")),
            rounds4!(second, [imm 0x80deb1fe], [imm 0x9bdc06a7], [imm 0xc19bf474], [mem 64],
                     ("xmm3", "xmm0", "xmm1", "xmm2", "464", "112")),
            // Rounds 16..64 from the schedule, computed sixteen rounds ahead.
            rounds4!(first, [mem 68], [mem 72], [mem 76], [mem 80],
                     ("xmm0", "xmm1", "xmm2", "xmm3", "480", "128")),
            rounds4!(second, [mem 84], [mem 88], [mem 92], [mem 96],
                     ("xmm1", "xmm2", "xmm3", "xmm0", "496", "144")),
            rounds4!(first, [mem 100], [mem 104], [mem 108], [mem 112],
                     ("xmm2", "xmm3", "xmm0", "xmm1", "512", "160")),
            rounds4!(second, [mem 116], [mem 120], [mem 124], [mem 128],
                     ("xmm3", "xmm0", "xmm1", "xmm2", "528", "176")),
            rounds4!(first, [mem 132], [mem 136], [mem 140], [mem 144],
                     ("xmm0", "xmm1", "xmm2", "xmm3", "544", "192")),
            rounds4!(second, [mem 148], [mem 152], [mem 156], [mem 160],
                     ("xmm1", "xmm2", "xmm3", "xmm0", "560", "208")),
            rounds4!(first, [mem 164], [mem 168], [mem 172], [mem 176],
                     ("xmm2", "xmm3", "xmm0", "xmm1", "576", "224")),
            rounds4!(second, [mem 180], [mem 184], [mem 188], [mem 192],
                     ("xmm3", "xmm0", "xmm1", "xmm2", "592", "240")),
            // Rounds 48..64: nothing left to schedule.
            rounds4!(first, [mem 196], [mem 200], [mem 204], [mem 208], none),
            rounds4!(second, [mem 212], [mem 216], [mem 220], [mem 224], none),
            rounds4!(first, [mem 228], [mem 232], [mem 236], [mem 240], none),
            rounds4!(second, [mem 244], [mem 248], [mem 252], [none], none),
            "ret",
            "4:",
            in("rdi") ctx_ptr,
            out("rax") _, out("rcx") _, out("rdx") _, out("rsi") _,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _,
            out("r12") _, out("r13") _, out("r14") _, out("r15") _,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _,
            out("xmm4") _, out("xmm5") _, out("xmm6") _, out("xmm7") _,
            out("xmm14") _, out("xmm15") _,
        );
    }
    *u = ctx.u;
    for ((t, ct), u) in t.iter_mut().zip(ctx.t).zip(ctx.u) {
        *t = ct ^ u;
    }
}
