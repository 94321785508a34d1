//! 1×1 convolution in NHWC: `out[p][n] = epilogue(bias[n] + Σ_k x[p][k] · w[k][n]) (+ res[p][n])`,
//! a matrix product whose epilogue (bias, clamp, activation, residual add) runs while the sums
//! are still in registers. Weights come packed in panels of 8 output channels (`[⌈n/8⌉][k][8]`,
//! see [`super::Conv::pack`]), so a register tile of 4 pixels × 8 channels reads its weights front
//! to back. Panels are grouped so that a group's weights and a chunk of pixels stay in L1 while
//! every tile of the chunk meets every panel of the group.

use core::mem::MaybeUninit;

use super::epilogue::{Epilogue, VectorEpilogue};
use super::simd::F4;
use super::{PANEL, at};

/// Pixels per register tile.
const MR: usize = 4;
/// Bytes of input kept hot while every panel of a group reads them.
const CHUNK_BYTES: usize = 16 * 1024;
/// Bytes of weights in one group of panels.
const WEIGHT_BYTES: usize = 16 * 1024;

/// Shapes of one pointwise convolution over `p` pixels.
#[derive(Clone, Copy, Debug)]
pub struct Pointwise {
    /// Pixels (rows of `x`).
    pub p: usize,
    /// Input channels.
    pub k: usize,
    /// Output channels.
    pub n: usize,
}

/// Runs the convolution. `x` is `[p, k]`, `w` packed `[⌈n/8⌉, k, 8]`, `bias` `[n]`, `res` and
/// `out` `[p, n]`; every element of `out[..p * n]` is written.
pub fn pointwise(
    s: Pointwise,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    res: Option<&[f32]>,
    e: &Epilogue,
    out: &mut [MaybeUninit<f32>],
) {
    let Pointwise { p, k, n } = s;
    let panels = n.div_ceil(PANEL);
    assert!(
        x.len() >= p * k && w.len() >= panels * k * PANEL && bias.len() >= n,
        "pointwise: inputs too short"
    );
    assert!(
        out.len() >= p * n && res.is_none_or(|r| r.len() >= p * n),
        "pointwise: outputs too short"
    );
    let ev = VectorEpilogue::new(e);
    let out = out.as_mut_ptr() as *mut f32;
    let res = res.map_or(core::ptr::null(), <[f32]>::as_ptr);
    // Bias padded to whole panels, so the last (partial) panel loads it like the others.
    let mut padded_bias = [0.0f32; PANEL];
    // Panels are taken in groups whose weights stay in L1; within a group, each chunk of pixels
    // (small enough to stay in L1 too) meets every panel of the group, tile by tile, so a
    // tile's output rows are written whole while they are hot.
    let group = (WEIGHT_BYTES / (4 * PANEL * k.max(1))).clamp(1, panels);
    let chunk = (CHUNK_BYTES / 4 / k.max(1)).max(MR) / MR * MR;
    for first in (0..panels).step_by(group) {
        let group = first..panels.min(first + group);
        let mut p0 = 0;
        while p0 < p {
            let rows = chunk.min(p - p0);
            let mut r = p0;
            while r < p0 + rows {
                let tall = r + MR <= p0 + rows;
                for panel in group.clone() {
                    let n0 = panel * PANEL;
                    let width = PANEL.min(n - n0);
                    let b = if width == PANEL {
                        &bias[n0..n0 + PANEL]
                    } else {
                        padded_bias[..width].copy_from_slice(&bias[n0..n]);
                        &padded_bias[..]
                    };
                    // SAFETY: rows r.. < p of x (k floats each) and of out / res (n apart),
                    // channels n0..n0 + width ≤ n; the panel holds k × 8 weights, `b` 8 biases.
                    unsafe {
                        let tile = Tile {
                            x: x.as_ptr().add(r * k),
                            k,
                            w: w.as_ptr().add(panel * k * PANEL),
                            bias: b.as_ptr(),
                            res: at(res, r * n + n0),
                            out: out.add(r * n + n0),
                            n,
                            width,
                        };
                        if tall {
                            tile.run::<MR>(&ev);
                        } else {
                            tile.run::<1>(&ev);
                        }
                    }
                }
                r += if tall { MR } else { 1 };
            }
            p0 += rows;
        }
    }
}

/// One register tile: `R` rows of `x` (`k` apart) against one weight panel; rows of `res` and
/// `out` are `n` apart, of which `width` (≤ 8) channels are real.
struct Tile {
    x: *const f32,
    k: usize,
    w: *const f32,
    bias: *const f32,
    res: *const f32,
    out: *mut f32,
    n: usize,
    width: usize,
}

impl Tile {
    /// # Safety
    /// `x` must hold `R` rows of `k` floats, `w` `k × 8` floats, `bias` 8, and `out` (and `res`
    /// unless null) `R` rows of `width` floats.
    #[inline(always)]
    unsafe fn run<const R: usize>(&self, ev: &VectorEpilogue) {
        let k = self.k;
        // SAFETY: every offset below is inside the extents the caller guarantees.
        unsafe {
            let b0 = F4::load(self.bias);
            let b1 = F4::load(self.bias.add(4));
            let mut acc = [[b0, b1]; R];
            let mut w = self.w;
            for kk in 0..k {
                let w0 = F4::load(w);
                let w1 = F4::load(w.add(4));
                for (r, row) in acc.iter_mut().enumerate() {
                    let a = F4::splat(*self.x.add(r * k + kk));
                    row[0] = a.mul_add(w0, row[0]);
                    row[1] = a.mul_add(w1, row[1]);
                }
                w = w.add(PANEL);
            }
            for (r, row) in acc.iter().enumerate() {
                let out = self.out.add(r * self.n);
                let res = at(self.res, r * self.n);
                let v = [ev.apply(row[0]), ev.apply(row[1])];
                if self.width == PANEL {
                    for (j, mut v) in v.into_iter().enumerate() {
                        if !res.is_null() {
                            v = v + F4::load(res.add(4 * j));
                        }
                        v.store(out.add(4 * j));
                    }
                } else {
                    // The last panel of an output count that is not a multiple of 8.
                    let mut lanes = [0.0f32; PANEL];
                    v[0].store(lanes.as_mut_ptr());
                    v[1].store(lanes.as_mut_ptr().add(4));
                    for (c, &l) in lanes[..self.width].iter().enumerate() {
                        let r = if res.is_null() { 0.0 } else { *res.add(c) };
                        *out.add(c) = l + r;
                    }
                }
            }
        }
    }
}
