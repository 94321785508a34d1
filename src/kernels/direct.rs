//! Full (one group) k×k convolution in NHWC with "SAME" padding, bias and epilogue fused: the
//! network's stem. Each output pixel accumulates 8 output channels in registers over its taps
//! and input channels; weights are HWIO, so a tap's weights for 8 channels are one 32-byte run.

use core::mem::MaybeUninit;

use super::at;
use super::depthwise::Window;
use super::epilogue::{Epilogue, VectorEpilogue};
use super::simd::F4;

/// Runs the convolution over one image: `x` is `[h, w, cin]`, `wt` `[k, k, cin, cout]`, `bias`
/// `[cout]`, `res` and `out` `[oh, ow, cout]`; every element of `out[..oh * ow * cout]` is written.
#[allow(clippy::too_many_arguments)]
pub fn direct(
    g: Window,
    cin: usize,
    cout: usize,
    x: &[f32],
    wt: &[f32],
    bias: &[f32],
    res: Option<&[f32]>,
    e: &Epilogue,
    out: &mut [MaybeUninit<f32>],
) {
    assert!(
        x.len() >= g.h * g.w * cin && wt.len() >= g.k * g.k * cin * cout && bias.len() >= cout,
        "direct convolution: inputs too short"
    );
    let len = g.oh * g.ow * cout;
    assert!(
        out.len() >= len && res.is_none_or(|r| r.len() >= len),
        "direct convolution: outputs too short"
    );
    assert!(g.k > 0 && g.stride > 0, "direct convolution: empty window");
    let ev = VectorEpilogue::new(e);
    let out = out.as_mut_ptr() as *mut f32;
    let res = res.map_or(core::ptr::null(), <[f32]>::as_ptr);
    let k = g.k;
    for oy in 0..g.oh {
        let (iy0, ky0, ky1) = g.taps(oy, g.pad_top, g.h);
        for ox in 0..g.ow {
            let (ix0, kx0, kx1) = g.taps(ox, g.pad_left, g.w);
            let o = (oy * g.ow + ox) * cout;
            let base = (iy0 * g.w as isize + ix0) * cin as isize;
            let pixel = Pixel {
                k,
                w: g.w,
                cin,
                cout,
                base,
                ky: (ky0, ky1),
                kx: (kx0, kx1),
            };
            let mut n0 = 0;
            // SAFETY: the taps are inside the image; n0 + 4 NV ≤ cout; o + cout ≤ oh·ow·cout.
            unsafe {
                while n0 + 8 <= cout {
                    pixel.channels::<2>(x, wt, bias, n0, &ev, at(res, o + n0), out.add(o + n0));
                    n0 += 8;
                }
                if n0 + 4 <= cout {
                    pixel.channels::<1>(x, wt, bias, n0, &ev, at(res, o + n0), out.add(o + n0));
                    n0 += 4;
                }
            }
            for n in n0..cout {
                let mut acc = bias[n];
                for ky in ky0..ky1 {
                    for kx in kx0..kx1 {
                        let xp = pixel.tap(ky, kx);
                        for ci in 0..cin {
                            acc += x[xp + ci] * wt[((ky * k + kx) * cin + ci) * cout + n];
                        }
                    }
                }
                let mut v = e.apply(acc);
                if !res.is_null() {
                    // SAFETY: o + n < oh·ow·cout, the length of res.
                    v += unsafe { *res.add(o + n) };
                }
                // SAFETY: o + n < oh·ow·cout ≤ out.len().
                unsafe { *out.add(o + n) = v };
            }
        }
    }
}

/// One output pixel: where its taps start and which of them are inside the image.
struct Pixel {
    k: usize,
    w: usize,
    cin: usize,
    cout: usize,
    base: isize,
    ky: (usize, usize),
    kx: (usize, usize),
}

impl Pixel {
    /// Offset in `x` of tap (ky, kx), channel 0.
    #[inline(always)]
    fn tap(&self, ky: usize, kx: usize) -> usize {
        (self.base + ((ky * self.w + kx) * self.cin) as isize) as usize
    }

    /// Output channels `n0..n0 + 4 NV` of this pixel.
    ///
    /// # Safety
    /// `n0 + 4 NV ≤ cout`; `out` (and `res` unless null) hold `4 NV` floats.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn channels<const NV: usize>(
        &self,
        x: &[f32],
        wt: &[f32],
        bias: &[f32],
        n0: usize,
        ev: &VectorEpilogue,
        res: *const f32,
        out: *mut f32,
    ) {
        let (k, cin, cout) = (self.k, self.cin, self.cout);
        // SAFETY: taps inside the image keep x reads in bounds; weight reads stay below
        // k·k·cin·cout because n0 + 4 NV ≤ cout.
        unsafe {
            let mut acc = [F4::splat(0.0); NV];
            for (j, a) in acc.iter_mut().enumerate() {
                *a = F4::load(bias.as_ptr().add(n0 + 4 * j));
            }
            for ky in self.ky.0..self.ky.1 {
                for kx in self.kx.0..self.kx.1 {
                    let xp = x.as_ptr().add(self.tap(ky, kx));
                    let wp = wt.as_ptr().add((ky * k + kx) * cin * cout + n0);
                    for ci in 0..cin {
                        let a = F4::splat(*xp.add(ci));
                        for (j, s) in acc.iter_mut().enumerate() {
                            *s = a.mul_add(F4::load(wp.add(ci * cout + 4 * j)), *s);
                        }
                    }
                }
            }
            for (j, &s) in acc.iter().enumerate() {
                let mut v = ev.apply(s);
                if !res.is_null() {
                    v = v.add(F4::load(res.add(4 * j)));
                }
                v.store(out.add(4 * j));
            }
        }
    }
}
