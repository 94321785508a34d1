//! Full (one group) k×k convolution in NHWC with "SAME" padding: the network's stem. The input's
//! patches are gathered into a `[pixels, k·k·cin]` matrix (zeros where the window leaves the
//! image), which the [`pointwise`](super::pointwise) matrix product then multiplies by the
//! weights, packed in panels exactly like a 1×1 convolution's (HWIO is `[k·k·cin, cout]`).

use core::mem::MaybeUninit;

use super::depthwise::Window;
use super::epilogue::Epilogue;
use super::pointwise::{Pointwise, pointwise};

/// Runs the convolution over one image: `x` is `[h, w, cin]`, `wt` packed `[⌈cout/8⌉, k·k·cin,
/// 8]`, `bias` `[cout]`, `res` and `out` `[oh, ow, cout]`; every element of
/// `out[..oh * ow * cout]` is written.
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
        x.len() >= g.h * g.w * cin,
        "direct convolution: input too short"
    );
    let k = g.k;
    let depth = k * k * cin;
    let mut patches = vec![0.0f32; g.oh * g.ow * depth];
    for oy in 0..g.oh {
        let (iy0, ky0, ky1) = g.taps(oy, g.pad_top, g.h);
        for ox in 0..g.ow {
            let (ix0, kx0, kx1) = g.taps(ox, g.pad_left, g.w);
            if kx0 == kx1 {
                continue; // the window is all padding
            }
            let patch = &mut patches[(oy * g.ow + ox) * depth..][..depth];
            for ky in ky0..ky1 {
                let iy = (iy0 + ky as isize) as usize;
                let ix = (ix0 + kx0 as isize) as usize;
                let src = &x[(iy * g.w + ix) * cin..][..(kx1 - kx0) * cin];
                patch[(ky * k + kx0) * cin..][..src.len()].copy_from_slice(src);
            }
        }
    }
    let s = Pointwise {
        p: g.oh * g.ow,
        k: depth,
        n: cout,
    };
    pointwise(s, &patches, wt, bias, res, e, out);
}
