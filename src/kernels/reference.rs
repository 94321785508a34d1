//! Plain scalar definitions of what every kernel computes, written for clarity: each output is
//! its taps summed in HWIO order (the order the vector kernels accumulate in, so float results
//! agree bit for bit), then the epilogue or the requantization. The tests hold every
//! microkernel to these, natively and in wasm.

use super::isa::mul_add;
use crate::spec::{Conv, Epilogue, Requant, Window};

/// `(output index, tap offset in x, tap offset in the HWIO weights)` of every tap inside the
/// image, for output pixel `(oy, ox)` of `g`, per input channel of the group.
fn taps(g: &Window, oy: usize, ox: usize) -> impl Iterator<Item = (usize, usize)> {
    let (iy0, ky0, ky1) = g.taps(oy, g.pad_top, g.h);
    let (ix0, kx0, kx1) = g.taps(ox, g.pad_left, g.w);
    let (w, k) = (g.w, g.k);
    (ky0..ky1).flat_map(move |ky| {
        (kx0..kx1).map(move |kx| {
            let iy = (iy0 + ky as isize) as usize;
            let ix = (ix0 + kx as isize) as usize;
            (iy * w + ix, ky * k + kx)
        })
    })
}

/// Every output of `conv` over one `h × w` image, `[oh, ow, cout]`: from `init(channel)`, then
/// `step(sum, input index, weight index)` over its taps inside the image in HWIO order.
fn convolve<A: Copy + Default>(
    conv: &Conv,
    (h, w): (usize, usize),
    init: impl Fn(usize) -> A,
    step: impl Fn(A, usize, usize) -> A,
) -> Vec<A> {
    let g = conv.window(h, w);
    let (cin, cout) = (conv.in_channels, conv.out_channels);
    let per_group = cin / conv.groups;
    let outs_per_group = cout / conv.groups;
    let mut out = vec![A::default(); g.oh * g.ow * cout];
    for oy in 0..g.oh {
        for ox in 0..g.ow {
            for co in 0..cout {
                let group = co / outs_per_group;
                let mut acc = init(co);
                for (pixel, tap) in taps(&g, oy, ox) {
                    for ci in 0..per_group {
                        let xi = pixel * cin + group * per_group + ci;
                        acc = step(acc, xi, (tap * per_group + ci) * cout + co);
                    }
                }
                out[(oy * g.ow + ox) * cout + co] = acc;
            }
        }
    }
    out
}

/// A float convolution of one image: `x` `[h, w, cin]`, `w` HWIO, `res` `[oh, ow, cout]`.
pub(crate) fn conv_f32(
    conv: &Conv,
    x: &[f32],
    hw: (usize, usize),
    weights: &[f32],
    bias: &[f32],
    res: Option<&[f32]>,
    e: &Epilogue,
) -> Vec<f32> {
    let sums = convolve(
        conv,
        hw,
        |co| bias[co],
        |acc, xi, wi| mul_add(x[xi], weights[wi], acc),
    );
    let out = sums.into_iter().map(|acc| e.apply(acc));
    match res {
        Some(r) => out.zip(r).map(|(v, r)| v + r).collect(),
        None => out.collect(),
    }
}

/// The exact accumulators `bias + Σ (x − zx) · w` of an int8 convolution of one image
/// (padding reads as the zero point), `[oh, ow, cout]`.
pub(crate) fn accumulate_int8(
    conv: &Conv,
    x: &[u8],
    hw: (usize, usize),
    weights: &[i16],
    bias: &[i32],
    zero_point: i32,
) -> Vec<i32> {
    convolve(
        conv,
        hw,
        |co| bias[co],
        |acc, xi, wi| acc + (x[xi] as i32 - zero_point) * weights[wi] as i32,
    )
}

/// Requantizes accumulators as [`Requant`] defines it, adding `residual` when it says so.
pub(crate) fn requantize(
    acc: &[i32],
    cout: usize,
    multiplier: &[f32],
    rq: &Requant,
    residual: Option<&[u8]>,
) -> Vec<u8> {
    let zo = rq.output_zero_point;
    acc.iter()
        .enumerate()
        .map(|(i, &a)| {
            let m = multiplier[i % cout];
            let v = (a as f32 * m).clamp(rq.lo as f32 - zo as f32, rq.hi as f32 - zo as f32);
            let q = v.round_ties_even() as i32 + zo;
            match (rq.add, residual) {
                (Some(add), Some(r)) => add.apply(r[i] as i32, q),
                _ => q.clamp(0, 255) as u8,
            }
        })
        .collect()
}
