//! The integer product behind every int8 1×1 convolution (and the stem, through its patches):
//! `acc[p][n] = bias[n] + Σ_k (x[p][k] − zx) · w[k][n]` with 32-bit sums, then [`Requant`]
//! (8-bit output, residual addition) or real-valued outputs. Two weight layouts ([`Layout`]),
//! three microkernels:
//!
//! - [`Layout::Pairs`] (every build): inputs widened to i16 with their zero point removed,
//!   weights i16 with pairs of `k` interleaved per channel (`[⌈n/8⌉][⌈k/2⌉][8][2]`), so one
//!   `i32x4.dot_i16x8_s` multiplies a pair of inputs (splatted) by four channels' pair of
//!   weights: 8 products per instruction ([`Gemm_i16_4x8_dot16`]).
//! - [`Layout::Quads`] (relaxed-SIMD build, where the engine's relaxed dot product multiplies
//!   unsigned by signed bytes exactly — x86 with AVX-VNNI): raw u8 inputs, i8 weights with
//!   quads of `k` contiguous per channel (`[⌈n/8⌉][⌈k/4⌉][8][4]`), so one
//!   `i32x4.relaxed_dot_i8x16_i7x16_add_s` does 16 products and the accumulation. A weight
//!   column that does not fit i8 is stored shifted by `s[n]`, added back as `s[n] · Σ_k x[p][k]`;
//!   the input zero point is folded into the bias at load (`bias[n] − zx · Σ_k w[k][n]`)
//!   ([`Gemm_u8i8_4x8_relaxed_dot`]). Where the engine's dot product is not exact on unsigned
//!   bytes the same layout runs through 16-bit products ([`Gemm_u8i8_4x8_dot16`]).

use core::mem::MaybeUninit;

use super::{Gemm, Micro, PANEL as QPANEL, Store, drive};
use crate::kernels::isa::{F4, PairsDot, QuadsDot, V};
use crate::kernels::par;
use crate::kernels::requant::VectorRequant;
use crate::spec::Requant;

/// How one-group int8 weights are packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    /// i16, pairs of `k` per channel; inputs widened to i16.
    Pairs,
    /// i8, quads of `k` per channel; raw u8 inputs.
    Quads,
}

/// Pairs of `k`.
fn k2(s: &Gemm) -> usize {
    s.k.div_ceil(2)
}

/// Quads of `k`.
fn k4(s: &Gemm) -> usize {
    s.k.div_ceil(4)
}

/// Where the product goes.
pub(crate) enum QOut<'a> {
    /// 8-bit quanta `[p, n]`, requantized with one multiplier per channel; `residual` (`[p, n]`
    /// quanta) is added when `requant` says so.
    Quantized {
        /// The output.
        out: &'a mut [MaybeUninit<u8>],
        /// `M[n]`.
        multiplier: &'a [f32],
        /// Zero points, range, residual addition.
        requant: &'a Requant,
        /// The block input added to the output.
        residual: Option<&'a [u8]>,
    },
    /// Real values `float(acc) · scale[n]`, `[p, n]`.
    Real {
        /// The output.
        out: &'a mut [MaybeUninit<f32>],
        /// `scale[n]`.
        scale: &'a [f32],
    },
}

/// Packs weights (`[depth, n]`, zero points removed) as [`Layout::Pairs`]:
/// `[⌈n/8⌉][⌈depth/2⌉][8][2]` i16.
pub(crate) fn pack_pairs(w: &[i16], depth: usize, n: usize) -> Vec<i16> {
    let k2 = depth.div_ceil(2);
    let mut packed = vec![0i16; n.div_ceil(QPANEL) * k2 * QPANEL * 2];
    for (d, row) in w.chunks_exact(n).take(depth).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            packed[(((c / QPANEL) * k2 + d / 2) * QPANEL + c % QPANEL) * 2 + d % 2] = v;
        }
    }
    packed
}

/// Weights packed as [`Layout::Quads`] with the per-channel constants they need.
#[derive(Debug, Clone)]
pub(crate) struct Quads {
    /// `[⌈n/8⌉][⌈depth/4⌉][8][4]` i8.
    pub weights: Vec<i8>,
    /// `bias[n] − zx · Σ_k w[k][n]`, then the shifts `s[n]` (`2n` values).
    pub constants: Vec<i32>,
}

/// Packs weights (`[depth, n]`, zero points removed) as [`Layout::Quads`], folding the input
/// zero point `zx` into `bias`; `None` when a column spans more than 255 steps (no i8 shift
/// holds it).
pub(crate) fn pack_quads(
    w: &[i16],
    depth: usize,
    n: usize,
    bias: &[i32],
    zx: i32,
) -> Option<Quads> {
    let k4 = depth.div_ceil(4);
    if n == 0 {
        return Some(Quads {
            weights: Vec::new(),
            constants: Vec::new(),
        });
    }
    // Column extremes and sums in one pass over the rows (this runs once per load, in the
    // engine's baseline code: plain loops, memory in order).
    let (mut lo, mut hi, mut sum) = (vec![i32::MAX; n], vec![i32::MIN; n], vec![0i32; n]);
    for row in w.chunks_exact(n).take(depth) {
        for (c, &v) in row.iter().enumerate() {
            let v = v as i32;
            lo[c] = lo[c].min(v);
            hi[c] = hi[c].max(v);
            sum[c] += v;
        }
    }
    let mut constants = vec![0i32; 2 * n];
    for c in 0..n {
        let shift = if depth == 0 || (lo[c] >= -128 && hi[c] <= 127) {
            0
        } else if hi[c] - lo[c] <= 255 {
            hi[c] - 127
        } else {
            return None;
        };
        constants[c] = bias[c] - zx * sum[c];
        constants[n + c] = shift;
    }
    let mut weights = vec![0i8; n.div_ceil(QPANEL) * k4 * QPANEL * 4];
    for (d, row) in w.chunks_exact(n).take(depth).enumerate() {
        let (quad, lane) = (d / 4, d % 4);
        for (c, &v) in row.iter().enumerate() {
            let at = (((c / QPANEL) * k4 + quad) * QPANEL + c % QPANEL) * 4 + lane;
            weights[at] = (v as i32 - constants[n + c]) as i8;
        }
    }
    Some(Quads { weights, constants })
}

/// Widens `x` (`[p, k]` quanta) into `[p, 2·⌈k/2⌉]` i16 with `zero_point` removed, the pixels
/// split across threads like the product that reads them.
pub(crate) fn widen(x: &[u8], p: usize, k: usize, zero_point: i32, out: &mut Vec<i16>) {
    assert!(x.len() >= p * k, "widen: input too short");
    let row = 2 * k.div_ceil(2);
    out.clear();
    out.reserve(p * row);
    let dst = par::SyncPtr::new(out.spare_capacity_mut().as_mut_ptr());
    par::strips(p, 64, 1, |rows| {
        let n = rows.len();
        // SAFETY: the strip's rows of the reserved p · row values, written by this thread alone.
        let dst =
            unsafe { core::slice::from_raw_parts_mut(dst.get().add(rows.start * row), n * row) };
        widen_rows(&x[rows.start * k..][..n * k], n, k, zero_point, dst);
    });
    // SAFETY: every row of the p rows was written whole.
    unsafe { out.set_len(p * row) };
}

/// [`widen`] of `p` rows into `dst` (`p · 2·⌈k/2⌉` values).
fn widen_rows(x: &[u8], p: usize, k: usize, zero_point: i32, dst: &mut [MaybeUninit<i16>]) {
    let row = 2 * k.div_ceil(2);
    let z = V::splat_i16(zero_point as i16);
    for (src, dst) in x
        .chunks_exact(k.max(1))
        .take(p)
        .zip(dst.chunks_exact_mut(row.max(1)))
    {
        let mut c = 0;
        while c + 8 <= k {
            // SAFETY: 8 bytes at c < k of the row, 8 i16 at c ≤ row of the destination.
            unsafe {
                V::load_u8x8(src.as_ptr().add(c))
                    .sub_i16(z)
                    .store(dst.as_mut_ptr().add(c) as *mut u8);
            }
            c += 8;
        }
        for (d, &s) in dst[c..k].iter_mut().zip(&src[c..k]) {
            d.write(s as i16 - zero_point as i16);
        }
        if k % 2 == 1 {
            dst[k].write(0);
        }
    }
}

/// Runs the product on [`Layout::Pairs`]: `x` `[p, 2·k2]` i16 (see [`widen`]), `w` packed
/// ([`pack_pairs`]), `bias` `[n]`, through the products `dot` names (an x86-64 form only
/// where the CPU has it: the same sums either way); every element of the output's `[p, n]` is
/// written.
pub(crate) fn gemm_pairs(
    dot: PairsDot,
    s: Gemm,
    x: &[i16],
    w: &[i16],
    bias: &[i32],
    out: QOut<'_>,
) {
    let Gemm { p, n, .. } = s;
    let k2 = k2(&s);
    assert!(
        x.len() >= p * 2 * k2 && w.len() >= s.panels() * k2 * QPANEL * 2 && bias.len() >= n,
        "gemm: inputs too short"
    );
    let store = Int8Store::new(out, p, n, &bias[..n], None);
    let (row_bytes, panel_bytes) = (4 * k2, 4 * QPANEL * k2);
    #[cfg(target_arch = "x86_64")]
    {
        use super::int8_x86::{Gemm_i16_4x8_avx2, Gemm_i16_4x8_avx512vnni};
        let caps = crate::kernels::caps::caps().x86;
        match dot {
            PairsDot::Avx512Vnni if caps.avx512_vnni => {
                let micro = Gemm_i16_4x8_avx512vnni { x, k2, w };
                return drive(&micro, &store, p, n, row_bytes, panel_bytes);
            }
            PairsDot::Avx2 if caps.avx2 => {
                let micro = Gemm_i16_4x8_avx2 { x, k2, w };
                return drive(&micro, &store, p, n, row_bytes, panel_bytes);
            }
            _ => {}
        }
    }
    assert!(
        dot == PairsDot::V128,
        "gemm: {dot:?} products on a CPU without them"
    );
    let micro = Gemm_i16_4x8_dot16 { x, k2, w };
    drive(&micro, &store, p, n, row_bytes, panel_bytes);
}

/// Runs the product on [`Layout::Quads`]: `x` `[p, stride]` raw u8 quanta whose first `k`
/// columns are the inputs and the rest up to `4·k4` zeros, `w` and `constants` from
/// [`pack_quads`], through the products `dot` names: the same sums either way.
pub(crate) fn gemm_quads(
    dot: QuadsDot,
    s: Gemm,
    x: &[u8],
    stride: usize,
    w: &[i8],
    constants: &[i32],
    out: QOut<'_>,
) {
    let Gemm { p, n, .. } = s;
    let k4 = k4(&s);
    assert!(
        stride >= 4 * k4 && x.len() >= p.saturating_sub(1) * stride + 4 * k4 * usize::from(p > 0),
        "gemm: inputs too short"
    );
    assert!(
        w.len() >= s.panels() * k4 * QPANEL * 4 && constants.len() >= 2 * n,
        "gemm: weights too short"
    );
    let shifts = &constants[n..2 * n];
    // Σ_k x[p][k] per pixel, only when some column is shifted.
    let sums: Option<Vec<i32>> = shifts.iter().any(|&s| s != 0).then(|| {
        (0..p)
            .map(|r| row_sum(&x[r * stride..][..4 * k4]))
            .collect()
    });
    let store = Int8Store::new(
        out,
        p,
        n,
        &constants[..n],
        sums.as_deref().map(|s| (s, shifts)),
    );
    let panel_bytes = 4 * QPANEL * k4;
    #[cfg(target_arch = "x86_64")]
    if dot == QuadsDot::RelaxedDot && crate::kernels::caps::caps().x86.avx512_vnni {
        let micro = super::int8_x86::Gemm_u8i8_4x8_avx512vnni { x, stride, w, k4 };
        return drive(&micro, &store, p, n, stride, panel_bytes);
    }
    match dot {
        QuadsDot::RelaxedDot => {
            let micro = Gemm_u8i8_4x8_relaxed_dot { x, stride, w, k4 };
            drive(&micro, &store, p, n, stride, panel_bytes);
        }
        QuadsDot::Dot16 => {
            let micro = Gemm_u8i8_4x8_dot16 { x, stride, w, k4 };
            drive(&micro, &store, p, n, stride, panel_bytes);
        }
    }
}

/// Σ of a row of bytes (its length a multiple of 4).
fn row_sum(row: &[u8]) -> i32 {
    let mut acc = V::zero();
    let mut chunks = row.chunks_exact(16);
    for c in &mut chunks {
        // SAFETY: 16 bytes.
        acc = acc.add_i32(unsafe { V::load(c.as_ptr()) }.sum_u8_quads());
    }
    acc.sum_i32() + chunks.remainder().iter().map(|&b| b as i32).sum::<i32>()
}

/// 4 (or fewer) pixels × 8 channels on [`Layout::Pairs`]: a splat of two widened inputs meets
/// four channels' pair of weights in each `i32x4.dot_i16x8_s`.
#[allow(non_camel_case_types)]
struct Gemm_i16_4x8_dot16<'a> {
    x: &'a [i16],
    k2: usize,
    w: &'a [i16],
}

impl Micro for Gemm_i16_4x8_dot16<'_> {
    type Acc = V;

    #[inline(always)]
    unsafe fn tile<const R: usize>(&self, row: usize, panel: usize, bias: [V; 2]) -> [[V; 2]; R] {
        let k2 = self.k2;
        // SAFETY: R rows of 2·k2 i16 from `row`; the panel holds k2 × 16 weights.
        unsafe {
            let x = self.x.as_ptr().add(row * 2 * k2);
            let mut w = self.w.as_ptr().add(panel * k2 * QPANEL * 2);
            let mut acc = [bias; R];
            for kk in 0..k2 {
                let w0 = V::load(w as *const u8);
                let w1 = V::load(w.add(8) as *const u8);
                for (r, a) in acc.iter_mut().enumerate() {
                    let v = V::load_pair_splat(x.add(r * 2 * k2 + 2 * kk));
                    a[0] = a[0].add_i32(v.dot_i16(w0));
                    a[1] = a[1].add_i32(v.dot_i16(w1));
                }
                w = w.add(2 * QPANEL);
            }
            acc
        }
    }
}

/// 4 (or fewer) pixels × 8 channels on [`Layout::Quads`]: a splat of four raw input bytes
/// meets four channels' quad of weights in each product, which `DOT` computes.
macro_rules! quads_micro {
    ($(#[$doc:meta])* $name:ident, $dot:ident) => {
        $(#[$doc])*
        #[allow(non_camel_case_types)]
        struct $name<'a> {
            x: &'a [u8],
            stride: usize,
            w: &'a [i8],
            k4: usize,
        }

        impl Micro for $name<'_> {
            type Acc = V;

            #[inline(always)]
            unsafe fn tile<const R: usize>(
                &self,
                row: usize,
                panel: usize,
                bias: [V; 2],
            ) -> [[V; 2]; R] {
                // SAFETY: R rows of 4·k4 bytes from `row`; the panel holds k4 × 32 weights.
                unsafe {
                    let x = self.x.as_ptr().add(row * self.stride);
                    let mut w = self.w.as_ptr().add(panel * self.k4 * QPANEL * 4) as *const u8;
                    let mut acc = [bias; R];
                    for kq in 0..self.k4 {
                        let w0 = V::load(w);
                        let w1 = V::load(w.add(16));
                        for (r, a) in acc.iter_mut().enumerate() {
                            let v = V::load_u8x4_splat(x.add(r * self.stride + 4 * kq));
                            a[0] = w0.$dot(v, a[0]);
                            a[1] = w1.$dot(v, a[1]);
                        }
                        w = w.add(4 * QPANEL);
                    }
                    acc
                }
            }
        }
    };
}

quads_micro!(
    /// Quads on `i32x4.relaxed_dot_i8x16_i7x16_add_s`: 16 products and the accumulation in one
    /// instruction, where the engine computes it exactly on unsigned bytes.
    Gemm_u8i8_4x8_relaxed_dot,
    dot4_add
);
quads_micro!(
    /// Quads through 16-bit products: the same sums on every engine.
    Gemm_u8i8_4x8_dot16,
    dot4_add_exact
);

/// The output's base pointer.
enum Target {
    U8(*mut u8),
    F32(*mut f32),
}

/// What happens to a tile's sums: bias in, shift correction, requantization or scaling, store.
struct Int8Store<'a> {
    target: Target,
    requant: Option<VectorRequant>,
    residual: *const u8,
    n: usize,
    /// Per-channel constants padded to whole panels.
    bias: Vec<i32>,
    scale: Vec<f32>,
    /// Row sums and per-channel shifts (padded), for [`Layout::Quads`] columns stored shifted;
    /// and per panel whether any of its columns is (in the published files one or two columns
    /// of a layer are: the one holding the weights' extreme).
    shifted: Option<(&'a [i32], Vec<i32>, Vec<bool>)>,
}

impl<'a> Int8Store<'a> {
    fn new(
        out: QOut<'a>,
        p: usize,
        n: usize,
        bias: &[i32],
        shifted: Option<(&'a [i32], &[i32])>,
    ) -> Self {
        let padded_len = n.div_ceil(QPANEL) * QPANEL;
        let pad_i = |v: &[i32]| {
            let mut b = vec![0i32; padded_len];
            b[..n].copy_from_slice(&v[..n]);
            b
        };
        let (target, scale, requant, residual) = match out {
            QOut::Quantized {
                out,
                multiplier,
                requant,
                residual,
            } => {
                assert!(
                    out.len() >= p * n && multiplier.len() >= n,
                    "gemm: output too short"
                );
                assert!(
                    residual.is_none_or(|r| r.len() >= p * n)
                        && (residual.is_some() == requant.add.is_some()),
                    "gemm: residual"
                );
                (
                    Target::U8(out.as_mut_ptr() as *mut u8),
                    multiplier,
                    Some(VectorRequant::new(requant)),
                    residual.map_or(core::ptr::null(), <[u8]>::as_ptr),
                )
            }
            QOut::Real { out, scale } => {
                assert!(
                    out.len() >= p * n && scale.len() >= n,
                    "gemm: output too short"
                );
                (
                    Target::F32(out.as_mut_ptr() as *mut f32),
                    scale,
                    None,
                    core::ptr::null(),
                )
            }
        };
        let mut scales = vec![0.0f32; padded_len];
        scales[..n].copy_from_slice(&scale[..n]);
        Self {
            target,
            requant,
            residual,
            n,
            bias: pad_i(bias),
            scale: scales,
            shifted: shifted.map(|(sums, shifts)| {
                let panels = shifts
                    .chunks(QPANEL)
                    .map(|c| c.iter().any(|&s| s != 0))
                    .collect();
                (sums, pad_i(shifts), panels)
            }),
        }
    }
}

// SAFETY: each thread of a split product stores only the rows of its strip (`drive`); the
// residual is only read.
unsafe impl Sync for Int8Store<'_> {}

impl Store for Int8Store<'_> {
    type Acc = V;

    #[inline(always)]
    unsafe fn init(&self, panel: usize) -> [V; 2] {
        // SAFETY: the biases are padded to whole panels.
        unsafe {
            let b = self.bias.as_ptr().add(panel * QPANEL);
            [V::load(b as *const u8), V::load(b.add(4) as *const u8)]
        }
    }

    #[inline(always)]
    unsafe fn store<const R: usize>(&self, acc: &[[V; 2]; R], row: usize, panel: usize) {
        let n0 = panel * QPANEL;
        let width = QPANEL.min(self.n - n0);
        // SAFETY: constants are padded to whole panels; rows row..row + R < p, channels
        // n0..n0 + width ≤ n of the output and residual.
        unsafe {
            let s0 = F4::load(self.scale.as_ptr().add(n0));
            let s1 = F4::load(self.scale.as_ptr().add(n0 + 4));
            for (r, a) in acc.iter().enumerate() {
                let mut a = *a;
                if let Some((sums, shifts, _)) = self.shifted.as_ref().filter(|s| s.2[panel]) {
                    let sum = V::splat_i32(sums[row + r]);
                    let sh = shifts.as_ptr().add(n0);
                    a[0] = a[0].add_i32(sum.mul_i32(V::load(sh as *const u8)));
                    a[1] = a[1].add_i32(sum.mul_i32(V::load(sh.add(4) as *const u8)));
                }
                let o = (row + r) * self.n + n0;
                match (&self.target, &self.requant) {
                    (Target::U8(out), Some(rq)) => {
                        // The residual's row; for a partial panel, copied out so that no read
                        // passes its end.
                        let mut tail = [0u8; QPANEL];
                        let mut res = self.residual.wrapping_add(o);
                        if rq.adds() && width < QPANEL {
                            core::ptr::copy_nonoverlapping(res, tail.as_mut_ptr(), width);
                            res = tail.as_ptr();
                        }
                        let q0 = rq.apply_add(a[0], s0, || V::load_u8x4(res));
                        let q1 = rq.apply_add(a[1], s1, || V::load_u8x4(res.add(4)));
                        let bytes = q0.pack_i16(q1).pack_u8(V::zero());
                        if width == QPANEL {
                            bytes.store_low64(out.add(o));
                        } else {
                            let mut lanes = [0u8; 16];
                            bytes.store(lanes.as_mut_ptr());
                            core::ptr::copy_nonoverlapping(lanes.as_ptr(), out.add(o), width);
                        }
                    }
                    (Target::F32(out), _) => {
                        let v0 = a[0].to_f32() * s0;
                        let v1 = a[1].to_f32() * s1;
                        if width == QPANEL {
                            v0.store(out.add(o));
                            v1.store(out.add(o + 4));
                        } else {
                            let mut lanes = [0.0f32; QPANEL];
                            v0.store(lanes.as_mut_ptr());
                            v1.store(lanes.as_mut_ptr().add(4));
                            core::ptr::copy_nonoverlapping(lanes.as_ptr(), out.add(o), width);
                        }
                    }
                    (Target::U8(_), None) => {
                        unreachable!("a quantized output has its requantization")
                    }
                }
            }
        }
    }
}
