//! The integer matrix product behind every int8 1×1 convolution (and the stem, through its
//! patches): `acc[p][n] = bias[n] + Σ_k x[p][k] · w[k][n]` on 16-bit operands with 32-bit sums,
//! then [`Requant`] (8-bit output, residual addition) or real-valued logits.
//!
//! Inputs come widened to i16 with their zero point removed, in rows of `k2 = ⌈k/2⌉` pairs (an
//! odd `k` ends in a zero). Weights are packed at load in panels of 8 output channels, each pair
//! of `k` interleaved per channel (`[⌈n/8⌉][k2][8][2]`), so one `i32x4.dot_i16x8_s` multiplies a
//! pair of inputs (splatted) by the same pair of four channels' weights and sums both products:
//! a register tile of 4 pixels × 8 channels takes 2 weight loads, 4 splats and 8 dot products
//! per pair of `k`.

use core::mem::MaybeUninit;

use super::qsimd::V;
use super::requant::{Requant, VectorRequant};
use super::simd::F4;

/// Output channels per weight panel.
pub const QPANEL: usize = 8;
/// Pixels per register tile.
const MR: usize = 4;
/// Bytes of input rows kept hot while every panel of a group reads them.
const CHUNK_BYTES: usize = 16 * 1024;
/// Bytes of weights in one group of panels.
const WEIGHT_BYTES: usize = 16 * 1024;

/// Shapes of one product over `p` pixels.
#[derive(Clone, Copy, Debug)]
pub struct QGemm {
    /// Pixels (rows of `x`).
    pub p: usize,
    /// Input depth (before pairing).
    pub k: usize,
    /// Output channels.
    pub n: usize,
}

impl QGemm {
    /// Pairs of `k`.
    pub fn k2(&self) -> usize {
        self.k.div_ceil(2)
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

/// Packs HWIO weights (`[depth, n]` with zero points removed) into panels: `[⌈n/8⌉][⌈depth/2⌉][8][2]`.
pub fn pack_weights(w: &[i16], depth: usize, n: usize) -> Vec<i16> {
    let panels = n.div_ceil(QPANEL);
    let k2 = depth.div_ceil(2);
    let mut packed = vec![0i16; panels * k2 * QPANEL * 2];
    for d in 0..depth {
        for c in 0..n {
            packed[(((c / QPANEL) * k2 + d / 2) * QPANEL + c % QPANEL) * 2 + d % 2] = w[d * n + c];
        }
    }
    packed
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

/// Runs the product: `x` `[p, 2·k2]` i16 (see [`widen`]), `w` packed ([`pack_weights`]), `bias`
/// `[n]`; every element of the output's `[p, n]` is written.
pub fn qgemm(s: QGemm, x: &[i16], w: &[i16], bias: &[i32], out: QOut<'_>) {
    let QGemm { p, n, .. } = s;
    let k2 = s.k2();
    let panels = n.div_ceil(QPANEL);
    assert!(
        x.len() >= p * 2 * k2 && w.len() >= panels * k2 * QPANEL * 2 && bias.len() >= n,
        "qgemm: inputs too short"
    );
    // Bias and per-channel constants padded to whole panels.
    let pad = |v: &[i32]| {
        let mut b = vec![0i32; panels * QPANEL];
        b[..n].copy_from_slice(&v[..n]);
        b
    };
    let bias = pad(bias);
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
    let mut scales = vec![0.0f32; panels * QPANEL];
    scales[..n].copy_from_slice(&scale[..n]);

    let group = (WEIGHT_BYTES / (2 * 2 * QPANEL * k2.max(1))).clamp(1, panels);
    let chunk = (CHUNK_BYTES / 4 / k2.max(1)).max(MR) / MR * MR;
    for first in (0..panels).step_by(group) {
        let group = first..panels.min(first + group);
        let mut p0 = 0;
        while p0 < p {
            let rows = chunk.min(p - p0);
            let mut r = p0;
            while r < p0 + rows {
                let tall = r + MR <= p0 + rows;
                for panel in group.clone() {
                    let n0 = panel * QPANEL;
                    // SAFETY: rows r.. < p of x (2·k2 i16 each) and of the output (n apart);
                    // the panel holds k2 × 16 weights; bias and scales are padded to panels.
                    unsafe {
                        let tile = Tile {
                            x: x.as_ptr().add(r * 2 * k2),
                            k2,
                            w: w.as_ptr().add(panel * k2 * QPANEL * 2),
                            bias: bias.as_ptr().add(n0),
                            scale: scales.as_ptr().add(n0),
                            offset: r * n + n0,
                            n,
                            width: QPANEL.min(n - n0),
                        };
                        if tall {
                            tile.run::<MR>(&target, requant.as_ref(), residual);
                        } else {
                            tile.run::<1>(&target, requant.as_ref(), residual);
                        }
                    }
                }
                r += if tall { MR } else { 1 };
            }
            p0 += rows;
        }
    }
}

/// The output's base pointer.
enum Target {
    U8(*mut u8),
    F32(*mut f32),
}

/// One register tile: `R` rows of `x` (`2·k2` apart) against one weight panel.
struct Tile {
    x: *const i16,
    k2: usize,
    w: *const i16,
    bias: *const i32,
    scale: *const f32,
    /// Element offset of the tile's first output (row r, channel n0).
    offset: usize,
    n: usize,
    width: usize,
}

impl Tile {
    /// # Safety
    /// The pointers must hold what [`qgemm`] checked: `R` rows of `x`, `k2 × 16` weights, 8
    /// biases and scales, and `R` output (and residual) rows of `width` elements from `offset`.
    #[inline(always)]
    unsafe fn run<const R: usize>(
        &self,
        target: &Target,
        rq: Option<&VectorRequant>,
        res: *const u8,
    ) {
        let k2 = self.k2;
        // SAFETY: every offset below is inside the extents the caller guarantees.
        unsafe {
            let b0 = V::load(self.bias as *const u8);
            let b1 = V::load(self.bias.add(4) as *const u8);
            let mut acc = [[b0, b1]; R];
            let mut w = self.w;
            for kk in 0..k2 {
                let w0 = V::load(w as *const u8);
                let w1 = V::load(w.add(8) as *const u8);
                for (r, row) in acc.iter_mut().enumerate() {
                    let a = V::load_pair_splat(self.x.add(r * 2 * k2 + 2 * kk));
                    row[0] = row[0].add_i32(a.dot_i16(w0));
                    row[1] = row[1].add_i32(a.dot_i16(w1));
                }
                w = w.add(2 * QPANEL);
            }
            let s0 = F4::load(self.scale);
            let s1 = F4::load(self.scale.add(4));
            for (r, row) in acc.iter().enumerate() {
                let o = self.offset + r * self.n;
                match (target, rq) {
                    (Target::U8(out), Some(rq)) => {
                        // The residual's row; for a partial panel, copied out so that no read
                        // passes its end.
                        let mut tail = [0u8; QPANEL];
                        let mut res = res.wrapping_add(o);
                        if rq.adds() && self.width < QPANEL {
                            core::ptr::copy_nonoverlapping(res, tail.as_mut_ptr(), self.width);
                            res = tail.as_ptr();
                        }
                        let q0 = rq.apply_add(row[0], s0, || V::load_u8x4(res));
                        let q1 = rq.apply_add(row[1], s1, || V::load_u8x4(res.add(4)));
                        let bytes = q0.pack_i16(q1).pack_u8(V::zero());
                        if self.width == QPANEL {
                            bytes.store_low64(out.add(o));
                        } else {
                            let mut lanes = [0u8; 16];
                            bytes.store(lanes.as_mut_ptr());
                            core::ptr::copy_nonoverlapping(lanes.as_ptr(), out.add(o), self.width);
                        }
                    }
                    (Target::F32(out), _) => {
                        let v0 = row[0].to_f32() * s0;
                        let v1 = row[1].to_f32() * s1;
                        if self.width == QPANEL {
                            v0.store(out.add(o));
                            v1.store(out.add(o + 4));
                        } else {
                            let mut lanes = [0.0f32; QPANEL];
                            v0.store(lanes.as_mut_ptr());
                            v1.store(lanes.as_mut_ptr().add(4));
                            core::ptr::copy_nonoverlapping(lanes.as_ptr(), out.add(o), self.width);
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
