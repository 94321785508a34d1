//! Full (one group) k×k convolutions, the network's stem: the input's patches gathered into a
//! `[pixels, k·k·cin]` matrix, which the matrix product then multiplies by the weights, packed in
//! panels exactly like a 1×1 convolution's (HWIO is `[k·k·cin, cout]`). Float patches hold zeros
//! where the window leaves the image; int8 patches for the 16-bit products hold i16 with the
//! zero point removed (zeros in the padding), for the byte products raw u8 with the padding at
//! the zero point (which the bias cancels) and zeros past the depth.

use core::mem::MaybeUninit;

use super::gemm::{Gemm, f32::gemm_f32};
use crate::spec::{Epilogue, Window};

/// Gathers the patches of `x` (`[h, w, cin]` quanta): `[oh·ow, row]` values built by `value`
/// from each input quantum, `pad` where the window leaves the image, `zero` past the depth.
fn gather<S: Copy, T: Copy>(
    g: &Window,
    cin: usize,
    x: &[S],
    row: usize,
    pad: T,
    zero: T,
    value: impl Fn(S) -> T,
) -> Vec<T> {
    assert!(x.len() >= g.h * g.w * cin, "patches: input too short");
    let depth = g.k * g.k * cin;
    let mut out = vec![zero; g.oh * g.ow * row];
    for oy in 0..g.oh {
        let (iy0, ky0, ky1) = g.taps(oy, g.pad_top, g.h);
        for ox in 0..g.ow {
            let (ix0, kx0, kx1) = g.taps(ox, g.pad_left, g.w);
            let patch = &mut out[(oy * g.ow + ox) * row..][..depth];
            patch.fill(pad);
            if kx0 == kx1 {
                continue; // the window is all padding (explicit padding wider than the kernel)
            }
            for ky in ky0..ky1 {
                let iy = (iy0 + ky as isize) as usize;
                let ix = (ix0 + kx0 as isize) as usize;
                let src = &x[(iy * g.w + ix) * cin..][..(kx1 - kx0) * cin];
                let dst = &mut patch[(ky * g.k + kx0) * cin..][..src.len()];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = value(s);
                }
            }
        }
    }
    out
}

/// Patches as `Layout::Pairs` rows: `[oh·ow, 2·⌈depth/2⌉]` i16.
pub(crate) fn patches_pairs(g: &Window, cin: usize, x: &[u8], zero_point: i32) -> Vec<i16> {
    let row = 2 * (g.k * g.k * cin).div_ceil(2);
    gather(g, cin, x, row, 0i16, 0i16, |s| s as i16 - zero_point as i16)
}

/// Patches as `Layout::Quads` rows: `[oh·ow, 4·⌈depth/4⌉]` u8, and that row length.
pub(crate) fn patches_quads(g: &Window, cin: usize, x: &[u8], zero_point: i32) -> (Vec<u8>, usize) {
    let row = 4 * (g.k * g.k * cin).div_ceil(4);
    (gather(g, cin, x, row, zero_point as u8, 0u8, |s| s), row)
}

/// Runs the convolution over one image: `x` is `[h, w, cin]`, `wt` packed `[⌈cout/8⌉, k·k·cin,
/// 8]`, `bias` `[cout]`, `res` and `out` `[oh, ow, cout]`; every element of
/// `out[..oh * ow * cout]` is written.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_f32(
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
    let depth = g.k * g.k * cin;
    let patches = gather(&g, cin, x, depth, 0.0, 0.0, |v| v);
    let s = Gemm {
        p: g.oh * g.ow,
        k: depth,
        n: cout,
    };
    gemm_f32(s, &patches, wt, bias, res, e, out);
}
