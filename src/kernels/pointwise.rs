//! 1×1 convolution in NHWC: `out[p][n] = epilogue(bias[n] + Σ_k x[p][k] · w[k][n]) (+ res[p][n])`,
//! a matrix product whose epilogue (bias, clamp, activation, residual add) runs while the sums
//! are still in registers. Register tiles of `MR` pixels × 8 channels; pixels are walked in
//! chunks small enough that a chunk's inputs stay in L1 while every channel block reads them.

use core::mem::MaybeUninit;

use super::at;
use super::epilogue::{Epilogue, VectorEpilogue};
use super::simd::F4;

/// Pixels per register tile.
const MR: usize = 4;
/// Bytes of input kept hot while every channel block reads them.
const CHUNK_BYTES: usize = 24 * 1024;

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

/// Runs the convolution. `x` is `[p, k]`, `w` `[k, n]` (HWIO with H = W = 1), `bias` `[n]`,
/// `res` and `out` `[p, n]`; every element of `out[..p * n]` is written.
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
    assert!(
        x.len() >= p * k && w.len() >= k * n && bias.len() >= n,
        "pointwise: inputs too short"
    );
    assert!(
        out.len() >= p * n && res.is_none_or(|r| r.len() >= p * n),
        "pointwise: outputs too short"
    );
    let ev = VectorEpilogue::new(e);
    let out = out.as_mut_ptr() as *mut f32;
    let res = res.map_or(core::ptr::null(), <[f32]>::as_ptr);
    let chunk = (CHUNK_BYTES / 4 / k.max(1)).max(MR) / MR * MR;
    let mut p0 = 0;
    while p0 < p {
        let rows = chunk.min(p - p0);
        let mut n0 = 0;
        // SAFETY (all calls below): rows p0..p0 + rows < p and channels n0.. < n stay inside
        // the slices checked above; `res` is null or as long as `out`.
        unsafe {
            while n0 + 8 <= n {
                columns::<2>(s, x, w, bias, res, &ev, out, p0, rows, n0);
                n0 += 8;
            }
            if n0 + 4 <= n {
                columns::<1>(s, x, w, bias, res, &ev, out, p0, rows, n0);
                n0 += 4;
            }
        }
        for r in p0..p0 + rows {
            for c in n0..n {
                let mut acc = bias[c];
                for kk in 0..k {
                    acc += x[r * k + kk] * w[kk * n + c];
                }
                let mut v = e.apply(acc);
                if !res.is_null() {
                    // SAFETY: `res` is as long as `out`, and r * n + c < p * n.
                    v += unsafe { *res.add(r * n + c) };
                }
                // SAFETY: r * n + c < p * n ≤ out.len().
                unsafe { *out.add(r * n + c) = v };
            }
        }
        p0 += rows;
    }
}

/// Rows `p0..p0 + rows` of channels `n0..n0 + 4 NV`.
///
/// # Safety
/// Those rows and channels must lie inside the pointwise shapes the pointers were checked for.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn columns<const NV: usize>(
    s: Pointwise,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    res: *const f32,
    ev: &VectorEpilogue,
    out: *mut f32,
    p0: usize,
    rows: usize,
    n0: usize,
) {
    let (k, n) = (s.k, s.n);
    let w = w[n0..].as_ptr();
    let bias = bias[n0..].as_ptr();
    let mut r = p0;
    // SAFETY: every tile reads rows r.. of x (k floats each) and writes rows r.. of out, inside
    // p0..p0 + rows; channels n0..n0 + 4 NV are inside n.
    unsafe {
        while r + MR <= p0 + rows {
            tile::<MR, NV>(
                x.as_ptr().add(r * k),
                k,
                w,
                n,
                bias,
                at(res, r * n + n0),
                out.add(r * n + n0),
                ev,
            );
            r += MR;
        }
        while r < p0 + rows {
            tile::<1, NV>(
                x.as_ptr().add(r * k),
                k,
                w,
                n,
                bias,
                at(res, r * n + n0),
                out.add(r * n + n0),
                ev,
            );
            r += 1;
        }
    }
}

/// One `R` × `4 NV` register tile: rows of `x` are `k` apart, rows of `w`, `res` and `out` are
/// `n` apart.
///
/// # Safety
/// `x` must hold `R` rows of `k` floats, `w` `k` rows of `4 NV`, `bias` `4 NV` floats, `out`
/// (and `res` unless null) `R` rows of `4 NV`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn tile<const R: usize, const NV: usize>(
    x: *const f32,
    k: usize,
    w: *const f32,
    n: usize,
    bias: *const f32,
    res: *const f32,
    out: *mut f32,
    ev: &VectorEpilogue,
) {
    // SAFETY: every offset below is inside the extents the caller guarantees.
    unsafe {
        let mut acc = [[F4::splat(0.0); NV]; R];
        for j in 0..NV {
            let b = F4::load(bias.add(4 * j));
            for row in acc.iter_mut() {
                row[j] = b;
            }
        }
        for kk in 0..k {
            let wk = w.add(kk * n);
            let mut wv = [F4::splat(0.0); NV];
            for (j, v) in wv.iter_mut().enumerate() {
                *v = F4::load(wk.add(4 * j));
            }
            for (r, row) in acc.iter_mut().enumerate() {
                let a = F4::splat(*x.add(r * k + kk));
                for j in 0..NV {
                    row[j] = a.mul_add(wv[j], row[j]);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let mut v = ev.apply(v);
                if !res.is_null() {
                    v = v.add(F4::load(res.add(r * n + 4 * j)));
                }
                v.store(out.add(r * n + 4 * j));
            }
        }
    }
}
