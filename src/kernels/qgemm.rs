//! The integer matrix product behind every int8 1×1 convolution (and the stem, through its
//! patches): `acc[p][n] = bias[n] + Σ_k (x[p][k] − zx) · w[k][n]` with 32-bit sums, then
//! [`Requant`] (8-bit output, residual addition) or real-valued logits. Register tiles of
//! 4 pixels × 8 channels; panels grouped so their weights stay in L1 while a chunk of pixels
//! meets them. Two inner products, one per weight layout ([`Layout`]):
//!
//! - [`Layout::Pairs`] (every build): inputs widened to i16 with their zero point removed,
//!   weights i16 with pairs of `k` interleaved per channel (`[⌈n/8⌉][⌈k/2⌉][8][2]`), so one
//!   `i32x4.dot_i16x8_s` multiplies a pair of inputs (splatted) by four channels' pair of
//!   weights: 8 products per instruction.
//! - [`Layout::Quads`] (relaxed-SIMD build, where the engine's relaxed dot product multiplies
//!   unsigned by signed bytes exactly — x86 with AVX-VNNI): raw u8 inputs, i8 weights with
//!   quads of `k` contiguous per channel (`[⌈n/8⌉][⌈k/4⌉][8][4]`), so one
//!   `i32x4.relaxed_dot_i8x16_i7x16_add_s` does 16 products and the accumulation. A weight
//!   column that does not fit i8 is stored shifted by `s[n]`, added back as `s[n] · Σ_k x[p][k]`;
//!   the input zero point is folded into the bias at load (`bias[n] − zx · Σ_k w[k][n]`). Where
//!   the engine's dot product turns out inexact the same layout runs through 16-bit products.

use core::mem::MaybeUninit;

use super::qsimd::{V, dot4_exact};
use super::requant::{Requant, VectorRequant};
use super::simd::F4;

/// Output channels per weight panel.
pub const QPANEL: usize = 8;
/// Pixels per register tile: 8 accumulators, 2 weight vectors and a splat fit the 15 SIMD
/// registers V8 allocates on x64 (tiles of 5 pixels measured the same, 6 spill).
const MR: usize = 4;
/// Bytes of input rows kept hot while every panel of a group reads them.
const CHUNK_BYTES: usize = 16 * 1024;
/// Bytes of weights in one group of panels.
const WEIGHT_BYTES: usize = 16 * 1024;

/// How one-group int8 weights are packed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// i16, pairs of `k` per channel; inputs widened to i16.
    Pairs,
    /// i8, quads of `k` per channel; raw u8 inputs.
    Quads,
}

impl Layout {
    /// The layout this build runs fastest on this engine: quads where the relaxed dot product
    /// is exact, else pairs.
    pub fn preferred() -> Self {
        if cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd")) && dot4_exact() {
            Layout::Quads
        } else {
            Layout::Pairs
        }
    }
}

/// Shapes of one product over `p` pixels.
#[derive(Clone, Copy, Debug)]
pub struct QGemm {
    /// Pixels (rows of `x`).
    pub p: usize,
    /// Input depth.
    pub k: usize,
    /// Output channels.
    pub n: usize,
}

impl QGemm {
    /// Pairs of `k`.
    pub fn k2(&self) -> usize {
        self.k.div_ceil(2)
    }
    /// Quads of `k`.
    pub fn k4(&self) -> usize {
        self.k.div_ceil(4)
    }
}

/// Where the product goes.
pub enum QOut<'a> {
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
pub fn pack_pairs(w: &[i16], depth: usize, n: usize) -> Vec<i16> {
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
pub struct Quads {
    /// `[⌈n/8⌉][⌈depth/4⌉][8][4]` i8.
    pub weights: Vec<i8>,
    /// `bias[n] − zx · Σ_k w[k][n]`, then the shifts `s[n]` (`2n` values).
    pub constants: Vec<i32>,
}

/// Packs weights (`[depth, n]`, zero points removed) as [`Layout::Quads`], folding the input
/// zero point `zx` into `bias`; `None` when a column spans more than 255 steps (no i8 shift
/// holds it).
pub fn pack_quads(w: &[i16], depth: usize, n: usize, bias: &[i32], zx: i32) -> Option<Quads> {
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

/// Widens `x` (`[p, k]` quanta) into `[p, 2·⌈k/2⌉]` i16 with `zero_point` removed.
pub fn widen(x: &[u8], p: usize, k: usize, zero_point: i32, out: &mut Vec<i16>) {
    assert!(x.len() >= p * k, "widen: input too short");
    let row = 2 * k.div_ceil(2);
    out.clear();
    out.reserve(p * row);
    let spare = &mut out.spare_capacity_mut()[..p * row];
    let z = V::splat_i16(zero_point as i16);
    for (src, dst) in x
        .chunks_exact(k.max(1))
        .take(p)
        .zip(spare.chunks_exact_mut(row.max(1)))
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
    // SAFETY: every row of the p rows was written whole.
    unsafe { out.set_len(p * row) };
}

/// Runs the product on [`Layout::Pairs`]: `x` `[p, 2·k2]` i16 (see [`widen`]), `w` packed
/// ([`pack_pairs`]), `bias` `[n]`; every element of the output's `[p, n]` is written.
pub fn qgemm(s: QGemm, x: &[i16], w: &[i16], bias: &[i32], out: QOut<'_>) {
    let QGemm { p, n, .. } = s;
    let k2 = s.k2();
    let panels = n.div_ceil(QPANEL);
    assert!(
        x.len() >= p * 2 * k2 && w.len() >= panels * k2 * QPANEL * 2 && bias.len() >= n,
        "qgemm: inputs too short"
    );
    let epi = Epilogue::new(out, p, n, &bias[..n], None);
    let micro = PairsTile { x, k2, w };
    drive::<_, MR>(&micro, p, n, 4 * k2, 4 * QPANEL * k2, &epi);
}

/// Runs the product on [`Layout::Quads`]: `x` `[p, stride]` raw u8 quanta whose first `k`
/// columns are the inputs and the rest up to `4·k4` zeros, `w` and `constants` from
/// [`pack_quads`]. On the relaxed dot product where it is exact here ([`dot4_exact`], checked
/// in this function, so that the check and the products are compiled by the same engine tier),
/// else through 16-bit products: the same sums either way.
pub fn qgemm_quads(s: QGemm, x: &[u8], stride: usize, w: &[i8], constants: &[i32], out: QOut<'_>) {
    qgemm_quads_with(s, x, stride, w, constants, out, dot4_exact());
}

/// [`qgemm_quads`] with the choice made by the caller: `relaxed` (the relaxed dot product,
/// only where [`dot4_exact`]) or 16-bit products.
pub fn qgemm_quads_with(
    s: QGemm,
    x: &[u8],
    stride: usize,
    w: &[i8],
    constants: &[i32],
    out: QOut<'_>,
    relaxed: bool,
) {
    let QGemm { p, n, .. } = s;
    let k4 = s.k4();
    let panels = n.div_ceil(QPANEL);
    assert!(
        stride >= 4 * k4 && x.len() >= p.saturating_sub(1) * stride + 4 * k4 * usize::from(p > 0),
        "qgemm: inputs too short"
    );
    assert!(
        w.len() >= panels * k4 * QPANEL * 4 && constants.len() >= 2 * n,
        "qgemm: weights too short"
    );
    let shifts = &constants[n..2 * n];
    // Σ_k x[p][k] per pixel, only when some column is shifted.
    let sums: Option<Vec<i32>> = shifts.iter().any(|&s| s != 0).then(|| {
        (0..p)
            .map(|r| row_sum(&x[r * stride..][..4 * k4]))
            .collect()
    });
    let epi = Epilogue::new(
        out,
        p,
        n,
        &constants[..n],
        sums.as_deref().map(|s| (s, shifts)),
    );
    if relaxed {
        let micro = QuadsTile::<true> { x, stride, w, k4 };
        drive::<_, MR>(&micro, p, n, stride, 4 * QPANEL * k4, &epi);
    } else {
        let micro = QuadsTile::<false> { x, stride, w, k4 };
        drive::<_, MR>(&micro, p, n, stride, 4 * QPANEL * k4, &epi);
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

/// A register-tile product: `R` rows from `row`, one panel of 8 channels.
trait Micro {
    /// # Safety
    /// Rows `row..row + R` and `panel` must be inside the operands the caller checked.
    unsafe fn tile<const R: usize>(&self, row: usize, panel: usize, bias: [V; 2]) -> [[V; 2]; R];
}

/// Visits every tile: panels in groups whose weights stay in L1, pixels in chunks whose rows do
/// too; every tile of a chunk meets every panel of the group while its output rows are hot.
fn drive<M: Micro, const MR: usize>(
    m: &M,
    p: usize,
    n: usize,
    row_bytes: usize,
    panel_bytes: usize,
    e: &Epilogue,
) {
    let panels = n.div_ceil(QPANEL);
    let group = (WEIGHT_BYTES / panel_bytes.max(1)).clamp(1, panels.max(1));
    let chunk = (CHUNK_BYTES / row_bytes.max(1)).max(MR) / MR * MR;
    for first in (0..panels).step_by(group) {
        let group = first..panels.min(first + group);
        let mut p0 = 0;
        while p0 < p {
            let rows = chunk.min(p - p0);
            let mut r = p0;
            while r < p0 + rows {
                let tall = r + MR <= p0 + rows;
                for panel in group.clone() {
                    // SAFETY: rows r.. < p and panel < panels, as the caller checked.
                    unsafe {
                        let bias = e.bias(panel);
                        if tall {
                            e.store(&m.tile::<MR>(r, panel, bias), r, panel);
                        } else {
                            e.store(&m.tile::<1>(r, panel, bias), r, panel);
                        }
                    }
                }
                r += if tall { MR } else { 1 };
            }
            p0 += rows;
        }
    }
}

/// [`Layout::Pairs`] tiles.
struct PairsTile<'a> {
    x: &'a [i16],
    k2: usize,
    w: &'a [i16],
}

impl Micro for PairsTile<'_> {
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

/// [`Layout::Quads`] tiles: on the relaxed dot product (`RELAXED`), or on its exact 16-bit
/// form for engines whose dot product is not exact on unsigned bytes.
struct QuadsTile<'a, const RELAXED: bool> {
    x: &'a [u8],
    stride: usize,
    w: &'a [i8],
    k4: usize,
}

impl<const RELAXED: bool> Micro for QuadsTile<'_, RELAXED> {
    #[inline(always)]
    unsafe fn tile<const R: usize>(&self, row: usize, panel: usize, bias: [V; 2]) -> [[V; 2]; R] {
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
                    if RELAXED {
                        a[0] = w0.dot4_add(v, a[0]);
                        a[1] = w1.dot4_add(v, a[1]);
                    } else {
                        a[0] = w0.dot4_add_exact(v, a[0]);
                        a[1] = w1.dot4_add_exact(v, a[1]);
                    }
                }
                w = w.add(4 * QPANEL);
            }
            acc
        }
    }
}

/// The output's base pointer.
enum Target {
    U8(*mut u8),
    F32(*mut f32),
}

/// What happens to a tile's sums: bias in, shift correction, requantization or scaling, store.
struct Epilogue<'a> {
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

impl<'a> Epilogue<'a> {
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
                    "qgemm: output too short"
                );
                assert!(
                    residual.is_none_or(|r| r.len() >= p * n)
                        && (residual.is_some() == requant.add.is_some()),
                    "qgemm: residual"
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
                    "qgemm: output too short"
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

    /// The panel's biases.
    ///
    /// # Safety
    /// `panel` must be a panel of the output.
    #[inline(always)]
    unsafe fn bias(&self, panel: usize) -> [V; 2] {
        // SAFETY: the biases are padded to whole panels.
        unsafe {
            let b = self.bias.as_ptr().add(panel * QPANEL);
            [V::load(b as *const u8), V::load(b.add(4) as *const u8)]
        }
    }

    /// Finishes and stores `R` rows of one panel from row `row`.
    ///
    /// # Safety
    /// Rows `row..row + R` and `panel` must be inside the output.
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
