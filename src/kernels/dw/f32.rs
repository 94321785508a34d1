//! Depthwise k×k convolution in NHWC, bias and epilogue fused:
//! four channels per vector, the taps of a pixel accumulated in registers. Each output row is
//! walked one 4-channel block at a time; for 3×3 windows inside the image the nine weight
//! vectors stay in registers along the row and the taps are unrolled. Border pixels (and other
//! kernel sizes) skip the taps that fall outside the image.

use core::mem::MaybeUninit;

use crate::kernels::epilogue::VectorEpilogue;
use crate::kernels::isa::F4;
use crate::kernels::par;
use crate::spec::{Epilogue, Window};

/// Bytes of input window a column tile may span.
const TILE_BYTES: usize = 16 * 1024;

/// Runs the convolution over one image: `x` is `[h, w, c]`, `wt` `[k, k, c]`, `bias` `[c]`,
/// `res` and `out` `[oh, ow, c]`; every element of `out[..oh * ow * c]` is written.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dw_f32_v128(
    g: Window,
    c: usize,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    res: Option<&[f32]>,
    e: &Epilogue,
    out: &mut [MaybeUninit<f32>],
) {
    assert!(
        x.len() >= g.h * g.w * c && wt.len() >= g.k * g.k * c && bias.len() >= c,
        "depthwise: inputs too short"
    );
    let len = g.oh * g.ow * c;
    assert!(
        out.len() >= len && res.is_none_or(|r| r.len() >= len),
        "depthwise: outputs too short"
    );
    assert!(g.k > 0 && g.stride > 0, "depthwise: empty window");
    match g.k {
        3 => run(3, g, c, x, wt, bias, res, e, out),
        5 => run(5, g, c, x, wt, bias, res, e, out),
        k => run(k, g, c, x, wt, bias, res, e, out),
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn run(
    k: usize,
    g: Window,
    c: usize,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    res: Option<&[f32]>,
    e: &Epilogue,
    out: &mut [MaybeUninit<f32>],
) {
    let ev = VectorEpilogue::new(e);
    let out = out.as_mut_ptr() as *mut f32;
    let res = res.map_or(core::ptr::null(), <[f32]>::as_ptr);
    // Output columns whose whole window lies inside the image's width.
    let inner_start = g.pad_left.div_ceil(g.stride).min(g.ow);
    let inner_end = if g.w + g.pad_left >= k {
        ((g.w + g.pad_left - k) / g.stride + 1).clamp(inner_start, g.ow)
    } else {
        inner_start
    };
    let vectors = c / 4 * 4;
    let out = par::SyncPtr::new(out);
    let res = par::SyncPtr::new_const(res);
    par::strips(g.oh, 1, 1, |oys| {
        let out = out.get();
        let res = res.get();
        for oy in oys {
            let (iy0, ky0, ky1) = g.taps(oy, g.pad_top, g.h);
            let full_rows = ky0 == 0 && ky1 == k;
            // Offset in x of tap (ky, kx) of output column ox, channel 0 (taps inside the image).
            let tap = |ox: usize, ky: usize, kx: usize| {
                let ix = (ox * g.stride) as isize - g.pad_left as isize + kx as isize;
                (((iy0 + ky as isize) * g.w as isize + ix) * c as isize) as usize
            };
            // Columns in tiles whose input window (k rows × the tile's width × c) stays in L1
            // while each 4-channel block sweeps it.
            let tile = (TILE_BYTES / (4 * k * g.stride * c.max(1))).clamp(1, g.ow.max(1));
            for first in (0..g.ow).step_by(tile) {
                let cols = first..g.ow.min(first + tile);
                let inner = cols.start.max(inner_start)
                    ..cols.end.min(inner_end).max(cols.start.max(inner_start));
                for c0 in (0..vectors).step_by(4) {
                    // SAFETY: every tap read is inside the image (rows ky0..ky1 and, for border columns,
                    // the taps `g.taps` keeps; for inner columns all of them), so inside x; weights are
                    // k·k·c floats; outputs (oy, ox, c0..c0 + 4) are inside oh·ow·c.
                    unsafe {
                        let xp = x.as_ptr().add(c0);
                        let wp = wt.as_ptr().add(c0);
                        let b = F4::load(bias.as_ptr().add(c0));
                        let store = |ox: usize, acc: F4| {
                            let o = (oy * g.ow + ox) * c + c0;
                            let mut v = ev.apply(acc);
                            if !res.is_null() {
                                v = v + F4::load(res.add(o));
                            }
                            v.store(out.add(o));
                        };
                        let border = |ox: usize| {
                            let (_, kx0, kx1) = g.taps(ox, g.pad_left, g.w);
                            let mut acc = b;
                            for ky in ky0..ky1 {
                                for kx in kx0..kx1 {
                                    let w = F4::load(wp.add((ky * k + kx) * c));
                                    acc = F4::load(xp.add(tap(ox, ky, kx))).mul_add(w, acc);
                                }
                            }
                            store(ox, acc);
                        };
                        (cols.start..inner.start).for_each(border);
                        if full_rows && k == 3 {
                            // The nine weights stay in registers along the tile.
                            let w: [F4; 9] = core::array::from_fn(|t| F4::load(wp.add(t * c)));
                            for ox in inner.clone() {
                                let p = xp.add(tap(ox, 0, 0));
                                let (row, col) = (g.w * c, c);
                                let mut acc = b;
                                for ky in 0..3 {
                                    for kx in 0..3 {
                                        let v = F4::load(p.add(ky * row + kx * col));
                                        acc = v.mul_add(w[ky * 3 + kx], acc);
                                    }
                                }
                                store(ox, acc);
                            }
                        } else {
                            inner.clone().for_each(border);
                        }
                        (inner.end..cols.end).for_each(border);
                    }
                }
            }
            for ox in 0..g.ow {
                let (_, kx0, kx1) = g.taps(ox, g.pad_left, g.w);
                let o = (oy * g.ow + ox) * c;
                for ch in vectors..c {
                    let mut acc = bias[ch];
                    for ky in ky0..ky1 {
                        for kx in kx0..kx1 {
                            acc += x[tap(ox, ky, kx) + ch] * wt[(ky * k + kx) * c + ch];
                        }
                    }
                    let mut v = e.apply(acc);
                    if !res.is_null() {
                        // SAFETY: o + ch < oh·ow·c, the length of res.
                        v += unsafe { *res.add(o + ch) };
                    }
                    // SAFETY: o + ch < oh·ow·c ≤ out.len().
                    unsafe { *out.add(o + ch) = v };
                }
            }
        }
    });
}
