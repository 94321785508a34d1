//! Depthwise k×k convolution in NHWC with TensorFlow "SAME" padding, bias and epilogue fused:
//! four channels per vector, the taps of a pixel accumulated in registers. Interior pixels run a
//! fully unrolled tap loop (3×3 and 5×5 are compiled separately); border pixels skip the taps
//! that fall outside the image.

use core::mem::MaybeUninit;

use super::epilogue::{Epilogue, VectorEpilogue};
use super::simd::F4;

/// Geometry of a windowed convolution over one image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Kernel side.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Padding before the first row.
    pub pad_top: usize,
    /// Padding before the first column.
    pub pad_left: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

impl Window {
    /// The taps `(first, end)` of output position `o` that fall inside an input of `len`.
    #[inline(always)]
    pub fn taps(&self, o: usize, pad: usize, len: usize) -> (isize, usize, usize) {
        let i0 = (o * self.stride) as isize - pad as isize;
        let first = (-i0).max(0) as usize;
        let end = (len as isize - i0).clamp(0, self.k as isize) as usize;
        (i0, first.min(end), end)
    }
}

/// Runs the convolution over one image: `x` is `[h, w, c]`, `wt` `[k, k, c]`, `bias` `[c]`,
/// `res` and `out` `[oh, ow, c]`; every element of `out[..oh * ow * c]` is written.
#[allow(clippy::too_many_arguments)]
pub fn depthwise(
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
    let vectors = c / 4 * 4;
    for oy in 0..g.oh {
        let (iy0, ky0, ky1) = g.taps(oy, g.pad_top, g.h);
        for ox in 0..g.ow {
            let (ix0, kx0, kx1) = g.taps(ox, g.pad_left, g.w);
            let full = ky0 == 0 && ky1 == k && kx0 == 0 && kx1 == k;
            let o = (oy * g.ow + ox) * c;
            // Address of tap (0, 0) of channel 0; only taps inside the image are read.
            let base = (iy0 * g.w as isize + ix0) * c as isize;
            let tap = |ky: usize, kx: usize| (base + ((ky * g.w + kx) * c) as isize) as usize;
            for c0 in (0..vectors).step_by(4) {
                // SAFETY: taps ky0..ky1 × kx0..kx1 are inside the image, so every read is inside
                // x (h·w·c floats) and wt (k·k·c); o + c0 + 4 ≤ oh·ow·c bounds out and res.
                unsafe {
                    let xp = x.as_ptr().add(c0);
                    let wp = wt.as_ptr().add(c0);
                    let mut acc = F4::load(bias.as_ptr().add(c0));
                    if full {
                        for ky in 0..k {
                            for kx in 0..k {
                                let v = F4::load(xp.add(tap(ky, kx)));
                                acc = v.mul_add(F4::load(wp.add((ky * k + kx) * c)), acc);
                            }
                        }
                    } else {
                        for ky in ky0..ky1 {
                            for kx in kx0..kx1 {
                                let v = F4::load(xp.add(tap(ky, kx)));
                                acc = v.mul_add(F4::load(wp.add((ky * k + kx) * c)), acc);
                            }
                        }
                    }
                    let mut v = ev.apply(acc);
                    if !res.is_null() {
                        v = v.add(F4::load(res.add(o + c0)));
                    }
                    v.store(out.add(o + c0));
                }
            }
            for ch in vectors..c {
                let mut acc = bias[ch];
                for ky in ky0..ky1 {
                    for kx in kx0..kx1 {
                        acc += x[tap(ky, kx) + ch] * wt[(ky * k + kx) * c + ch];
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
}
