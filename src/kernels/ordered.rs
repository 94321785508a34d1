//! Float convolutions summed as XNNPACK's f32 kernels sum them: from the bias, one fused
//! multiply-add per tap, taps in their order (HWIO for the matrix-product kernels; for the
//! depthwise ones column by column of the window, rows within). Checked against the
//! interpreter's tensors of a dynamic-range file, whose float layers feed layers that quantize
//! their input on the fly: a last-bit difference there moves a quantum, and the vector kernels
//! (which sum depthwise taps row by row, and fuse only where the target has FMA) moved enough
//! of them to change the top class on 1 photo in 12. Scalar code: it runs only for such files.

use crate::spec::{Conv, Epilogue};

/// `a · b + c` rounded once: the product of two f32 is exact in f64, so only the sum rounds
/// (twice, to f64 then f32; the two roundings differ from one only at exact f32 midpoints).
#[inline(always)]
fn fma(a: f32, b: f32, c: f32) -> f32 {
    (a as f64 * b as f64 + c as f64) as f32
}

/// One image `x` `[h, w, cin]` through `conv` (HWIO `weights`) → `[oh, ow, cout]`, each output
/// then through `e`.
pub(crate) fn conv_f32(
    conv: &Conv,
    x: &[f32],
    (h, w): (usize, usize),
    weights: &[f32],
    bias: &[f32],
    e: &Epilogue,
) -> Vec<f32> {
    let g = conv.window(h, w);
    let (cin, cout) = (conv.in_channels, conv.out_channels);
    let depthwise = conv.groups > 1;
    let mut out = vec![0f32; g.oh * g.ow * cout];
    for oy in 0..g.oh {
        let (iy0, ky0, ky1) = g.taps(oy, g.pad_top, g.h);
        for ox in 0..g.ow {
            let (ix0, kx0, kx1) = g.taps(ox, g.pad_left, g.w);
            let pixel = |ky: usize, kx: usize| {
                let iy = (iy0 + ky as isize) as usize;
                let ix = (ix0 + kx as isize) as usize;
                iy * w + ix
            };
            let o = &mut out[(oy * g.ow + ox) * cout..][..cout];
            if depthwise {
                for (c, acc) in o.iter_mut().enumerate() {
                    let mut a = bias[c];
                    for kx in kx0..kx1 {
                        for ky in ky0..ky1 {
                            a = fma(
                                x[pixel(ky, kx) * cin + c],
                                weights[(ky * g.k + kx) * cout + c],
                                a,
                            );
                        }
                    }
                    *acc = e.apply(a);
                }
            } else {
                for (co, acc) in o.iter_mut().enumerate() {
                    let mut a = bias[co];
                    for ky in ky0..ky1 {
                        for kx in kx0..kx1 {
                            let xi = pixel(ky, kx) * cin;
                            let wi = (ky * g.k + kx) * cin;
                            for ci in 0..cin {
                                a = fma(x[xi + ci], weights[(wi + ci) * cout + co], a);
                            }
                        }
                    }
                    *acc = e.apply(a);
                }
            }
        }
    }
    out
}
