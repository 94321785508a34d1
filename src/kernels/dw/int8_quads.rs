//! Integer depthwise k×k convolution on the byte dot product: raw quanta in quad rows, one
//! product per row of the window and four channels, eight channels per step, requantized in
//! the epilogue.

use core::mem::MaybeUninit;

use super::int8_pairs::padded;
use super::rows::{QUAD_LANES, QuadRows, ROWS_PER_STRIP};
use crate::kernels::isa::{F4, QuadsDot, V};
use crate::kernels::par;
use crate::kernels::requant::VectorRequant;
use crate::spec::{Requant, Window};

/// Bytes of quad rows a column tile may span.
const TILE_BYTES: usize = 16 * 1024;

/// Depthwise weights packed for the relaxed dot product, with their per-channel constants.
#[derive(Debug, Clone)]
pub(crate) struct DepthwiseQuads {
    /// `[k][⌈k/4⌉][⌈c/8⌉·8][4]` i8: for each row of the window and channel, four horizontal taps
    /// (zeros past the window).
    pub(crate) weights: Vec<i8>,
    /// `bias[c] − zx · Σ_taps w[c]`, then the shifts `s[c]` (`2c` values).
    pub(crate) constants: Vec<i32>,
}

/// Packs depthwise weights (`[k, k, c]`, zero points removed) for [`qdepthwise_quads`], folding
/// the input zero point `zx` into `bias`. A channel whose weights do not fit i8 is stored shifted
/// by `s[c]` (added back as `s[c] · Σ_taps x`); `None` when no shift in i8 fits one.
pub(crate) fn pack_quads(
    w: &[i16],
    k: usize,
    c: usize,
    bias: &[i32],
    zx: i32,
) -> Option<DepthwiseQuads> {
    let (kq, c8) = (k.div_ceil(4), c.div_ceil(QUAD_LANES) * QUAD_LANES);
    let mut weights = vec![0i8; k * kq * c8 * 4];
    let mut constants = vec![0i32; 2 * c];
    for ch in 0..c {
        let taps = || (0..k * k).map(|t| w[t * c + ch] as i32);
        let (lo, hi) = taps().fold((i32::MAX, i32::MIN), |(l, h), v| (l.min(v), h.max(v)));
        // Any s with hi − s ≤ 127 and lo − s ≥ −128, itself an i8; 0 when it can be.
        if hi - 127 > lo + 128 {
            return None;
        }
        let shift = 0.clamp(hi - 127, lo + 128);
        if !(-128..=127).contains(&shift) {
            return None;
        }
        constants[ch] = bias[ch] - zx * taps().sum::<i32>();
        constants[c + ch] = shift;
        for ky in 0..k {
            for kx in 0..k {
                let at = ((ky * kq + kx / 4) * c8 + ch) * 4 + kx % 4;
                weights[at] = (w[(ky * k + kx) * c + ch] as i32 - shift) as i8;
            }
        }
    }
    Some(DepthwiseQuads { weights, constants })
}

/// The depthwise convolution on the relaxed dot product ([`pack_quads`] weights): raw quanta
/// in quad rows, one `i32x4.relaxed_dot_i8x16_i7x16_add_s` per row of the window and four
/// channels, eight channels per step, through the products `dot` names (16-bit products where
/// the engine's dot product is not exact on unsigned bytes: the same sums).
#[allow(clippy::too_many_arguments)]
pub(crate) fn dw_u8i8(
    dot: QuadsDot,
    g: Window,
    c: usize,
    x: &[u8],
    w: &[i8],
    constants: &[i32],
    multiplier: &[f32],
    rq: &Requant,
    out: &mut [MaybeUninit<u8>],
) {
    let (k, kq, c8) = (g.k, g.k.div_ceil(4), c.div_ceil(QUAD_LANES) * QUAD_LANES);
    assert!(
        x.len() >= g.h * g.w * c && w.len() >= k * kq * c8 * 4 && constants.len() >= 2 * c,
        "depthwise: inputs too short"
    );
    assert!(
        multiplier.len() >= c && out.len() >= g.oh * g.ow * c,
        "depthwise: outputs too short"
    );
    assert!(
        k > 0 && g.stride > 0 && rq.add.is_none(),
        "depthwise: window"
    );
    assert!(
        (0..=255).contains(&rq.input_zero_point),
        "depthwise: zero point"
    );
    match (k, dot == QuadsDot::RelaxedDot) {
        (3, true) => run_quads::<3, 1, true>(g, c, x, w, constants, multiplier, rq, out),
        (3, false) => run_quads::<3, 1, false>(g, c, x, w, constants, multiplier, rq, out),
        (5, true) => run_quads::<5, 2, true>(g, c, x, w, constants, multiplier, rq, out),
        (5, false) => run_quads::<5, 2, false>(g, c, x, w, constants, multiplier, rq, out),
        (1, _) => run_quads::<1, 1, false>(g, c, x, w, constants, multiplier, rq, out),
        (7, _) => run_quads::<7, 2, false>(g, c, x, w, constants, multiplier, rq, out),
        _ => panic!("depthwise: a {k}x{k} window has no int8 kernel"),
    }
}

/// One product of the quads kernel: the relaxed dot product, or its exact 16-bit form.
#[inline(always)]
fn dot4<const RELAXED: bool>(w: V, x: V, acc: V) -> V {
    if RELAXED {
        w.dot4_add(x, acc)
    } else {
        w.dot4_add_exact(x, acc)
    }
}

#[allow(clippy::too_many_arguments)]
fn run_quads<const K: usize, const KQ: usize, const RELAXED: bool>(
    g: Window,
    c: usize,
    x: &[u8],
    w: &[i8],
    constants: &[i32],
    multiplier: &[f32],
    rq: &Requant,
    out: &mut [MaybeUninit<u8>],
) {
    let c8 = c.div_ceil(QUAD_LANES) * QUAD_LANES;
    let zx = rq.input_zero_point as u8;
    let bias = padded(&constants[..c], c, c8);
    let shifts = padded(&constants[c..2 * c], c, c8);
    let multiplier = padded(multiplier, c, c8);
    let vr = VectorRequant::new(rq);
    let out = out.as_mut_ptr() as *mut u8;
    // Ones on the window's taps: the dot product with them sums the inputs (shifted channels).
    let ones: [V; KQ] = core::array::from_fn(|j| {
        V::splat_i32(i32::from_le_bytes(core::array::from_fn(|t| {
            u8::from(4 * j + t < K)
        })))
    });
    let step = QuadRows::step(&g);
    // Output columns per tile: the tile's window in the quad rows (K rows of its entries, 4
    // bytes a channel) stays in L1 while each 8-channel block sweeps it with its weights in
    // registers.
    let entries_per_column = (g.stride / step).max(1);
    let tile = (TILE_BYTES / (K * entries_per_column * c8 * 4).max(1)).clamp(4, g.ow.max(4));
    let shifted: Vec<bool> = shifts
        .chunks(QUAD_LANES)
        .map(|c| c.iter().any(|&s| s != 0))
        .collect();
    let out = par::SyncPtr::new(out);
    par::strips(g.oh, ROWS_PER_STRIP, 1, |oys| {
        let out = out.get();
        let mut rows = QuadRows::new(&g, c8, zx);
        for oy in oys {
            let iy0 = (oy * g.stride) as isize - g.pad_top as isize;
            let r: [*const u8; K] =
                core::array::from_fn(|ky| rows.row(&g, c, x, zx, iy0 + ky as isize));
            for first in (0..g.ow).step_by(tile) {
                let cols = first..g.ow.min(first + tile);
                for cb in (0..c8).step_by(QUAD_LANES) {
                    let shifted = shifted[cb / QUAD_LANES];
                    // SAFETY: weights [K][KQ][c8][4]; constants padded to c8; quad rows hold
                    // entries up to ((ow − 1)·stride + 4·(KQ − 1)) / step of c8 × 4 bytes; outputs
                    // (oy, ox, cb..) inside oh·ow·c.
                    unsafe {
                        let wv: [[[V; 2]; KQ]; K] = core::array::from_fn(|ky| {
                            core::array::from_fn(|j| {
                                core::array::from_fn(|h| {
                                    let at = ((ky * KQ + j) * c8 + cb + 4 * h) * 4;
                                    V::load(w.as_ptr().add(at) as *const u8)
                                })
                            })
                        });
                        let b0 = V::load(bias.as_ptr().add(cb) as *const u8);
                        let b1 = V::load(bias.as_ptr().add(cb + 4) as *const u8);
                        let m0 = F4::load(multiplier.as_ptr().add(cb));
                        let m1 = F4::load(multiplier.as_ptr().add(cb + 4));
                        for ox in cols.clone() {
                            let entry = ox * g.stride / step;
                            let (mut a0, mut a1) = (b0, b1);
                            let (mut s0, mut s1) = (V::zero(), V::zero());
                            for ky in 0..K {
                                for j in 0..KQ {
                                    let at = r[ky].add(((entry + 4 * j / step) * c8 + cb) * 4);
                                    let (v0, v1) = (V::load(at), V::load(at.add(16)));
                                    a0 = dot4::<RELAXED>(wv[ky][j][0], v0, a0);
                                    a1 = dot4::<RELAXED>(wv[ky][j][1], v1, a1);
                                    if shifted {
                                        s0 = dot4::<RELAXED>(ones[j], v0, s0);
                                        s1 = dot4::<RELAXED>(ones[j], v1, s1);
                                    }
                                }
                            }
                            if shifted {
                                let sh = shifts.as_ptr().add(cb);
                                a0 = a0.add_i32(s0.mul_i32(V::load(sh as *const u8)));
                                a1 = a1.add_i32(s1.mul_i32(V::load(sh.add(4) as *const u8)));
                            }
                            let q = vr.apply(a0, m0).pack_i16(vr.apply(a1, m1));
                            let bytes = q.pack_u8(q);
                            let o = (oy * g.ow + ox) * c + cb;
                            if cb + QUAD_LANES <= c {
                                bytes.store_low64(out.add(o));
                            } else {
                                let mut lanes = [0u8; 16];
                                bytes.store(lanes.as_mut_ptr());
                                core::ptr::copy_nonoverlapping(lanes.as_ptr(), out.add(o), c - cb);
                            }
                        }
                    }
                }
            }
        }
    });
}
