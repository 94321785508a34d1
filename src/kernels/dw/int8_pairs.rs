//! Integer depthwise k×k convolution in NHWC on 16-bit products, requantized in its epilogue.
//!
//! Each input row is widened once to i16 (zero point removed, zeros in the padding) and stored
//! as *pair rows*: at column `x`, channel `c`, the two values `(row[x][c], row[x + 1][c])`.
//! Weights are packed the same way, taps `(kx, kx + 1)` of a channel side by side, so one
//! `i32x4.dot_i16x8_s` applies two horizontal taps to four channels. A 3×3 window is six dot
//! products per four channels (the third tap of each row paired with a zero weight). The pair
//! rows of the last `k` input rows are kept in a ring, so stride-1 convolutions widen each row
//! once; padding needs no special case.

use core::mem::MaybeUninit;

use super::rows::{PairRows, ROWS_PER_STRIP};
use crate::kernels::isa::{F4, V};
use crate::kernels::par;
use crate::kernels::requant::VectorRequant;
use crate::spec::{Requant, Window};

/// Channels per vector.
const LANES: usize = 4;

/// Packs depthwise weights (`[k, k, c]`, zero points removed) into `[k][⌈k/2⌉][⌈c/4⌉·4][2]`.
pub(crate) fn pack_weights(w: &[i16], k: usize, c: usize) -> Vec<i16> {
    let (kp, c4) = (k.div_ceil(2), c.div_ceil(LANES) * LANES);
    let mut packed = vec![0i16; k * kp * c4 * 2];
    for ky in 0..k {
        for kx in 0..k {
            for ch in 0..c {
                packed[((ky * kp + kx / 2) * c4 + ch) * 2 + kx % 2] = w[(ky * k + kx) * c + ch];
            }
        }
    }
    packed
}

/// Runs the convolution over one image: `x` `[h, w, c]` quanta, `w` packed ([`pack_weights`]),
/// `bias` and `multiplier` `[c]`; every element of `out[..oh · ow · c]` is written.
#[allow(clippy::too_many_arguments)]
pub(crate) fn dw_i16_dot16(
    g: Window,
    c: usize,
    x: &[u8],
    w: &[i16],
    bias: &[i32],
    multiplier: &[f32],
    rq: &Requant,
    out: &mut [MaybeUninit<u8>],
) {
    let (k, kp, c4) = (g.k, g.k.div_ceil(2), c.div_ceil(LANES) * LANES);
    assert!(
        x.len() >= g.h * g.w * c && w.len() >= k * kp * c4 * 2,
        "depthwise: inputs too short"
    );
    assert!(
        bias.len() >= c && multiplier.len() >= c && out.len() >= g.oh * g.ow * c,
        "depthwise: outputs too short"
    );
    assert!(
        k > 0 && g.stride > 0 && rq.add.is_none(),
        "depthwise: window"
    );
    match k {
        1 => run::<1, 1>(g, c, x, w, bias, multiplier, rq, out),
        3 => run::<3, 2>(g, c, x, w, bias, multiplier, rq, out),
        5 => run::<5, 3>(g, c, x, w, bias, multiplier, rq, out),
        7 => run::<7, 4>(g, c, x, w, bias, multiplier, rq, out),
        _ => panic!("depthwise: a {k}x{k} window has no int8 kernel"),
    }
}

/// Stores four quanta (i32 lanes) of output pixel `o` (element offset), channels `cb..cb + 4`
/// of which the first `c − cb` are real.
///
/// # Safety
/// `out + o` must be valid for `min(4, c − cb)` bytes.
#[inline(always)]
pub(crate) unsafe fn store4(q: V, out: *mut u8, o: usize, c: usize, cb: usize) {
    let bytes = q.pack_i16(q).pack_u8(q);
    // SAFETY: as the caller guarantees.
    unsafe {
        if cb + LANES <= c {
            bytes.store_low32(out.add(o));
        } else {
            let mut lanes = [0u8; 16];
            bytes.store(lanes.as_mut_ptr());
            core::ptr::copy_nonoverlapping(lanes.as_ptr(), out.add(o), c - cb);
        }
    }
}

/// Padded copies of the per-channel constants.
pub(crate) fn padded<T: Copy + Default>(v: &[T], c: usize, c4: usize) -> Vec<T> {
    let mut p = vec![T::default(); c4];
    p[..c].copy_from_slice(&v[..c]);
    p
}

/// Bytes of pair rows a column tile may span, so that its window stays in L1 while each
/// 4-channel block sweeps it.
const TILE_BYTES: usize = 16 * 1024;

/// Output columns per tile.
fn tile_columns(g: &Window, c4: usize) -> usize {
    (TILE_BYTES / (g.k * g.stride * c4 * 4).max(1)).clamp(1, g.ow.max(1))
}

#[allow(clippy::too_many_arguments)]
fn run<const K: usize, const KP: usize>(
    g: Window,
    c: usize,
    x: &[u8],
    w: &[i16],
    bias: &[i32],
    multiplier: &[f32],
    rq: &Requant,
    out: &mut [MaybeUninit<u8>],
) {
    let c4 = c.div_ceil(LANES) * LANES;
    let (bias, multiplier) = (padded(bias, c, c4), padded(multiplier, c, c4));
    let vr = VectorRequant::new(rq);
    let out = out.as_mut_ptr() as *mut u8;
    let tile = tile_columns(&g, c4);
    let out = par::SyncPtr::new(out);
    par::strips(g.oh, ROWS_PER_STRIP, 1, |oys| {
        let out = out.get();
        let mut rows = PairRows::new(&g, c4);
        for oy in oys {
            let iy0 = (oy * g.stride) as isize - g.pad_top as isize;
            let r: [*const i16; K] = core::array::from_fn(|ky| {
                rows.row(&g, c, x, rq.input_zero_point, iy0 + ky as isize)
            });
            for first in (0..g.ow).step_by(tile) {
                let cols = first..g.ow.min(first + tile);
                for cb in (0..c4).step_by(LANES) {
                    // SAFETY: weights [K][KP][c4][2]; bias and multiplier padded to c4; pair rows
                    // hold np ≥ (ow − 1)·stride + 2·(KP − 1) + 1 entries of c4 × 2; outputs
                    // (oy, ox, cb..) inside oh·ow·c.
                    unsafe {
                        let wv: [[V; KP]; K] = core::array::from_fn(|ky| {
                            core::array::from_fn(|j| {
                                V::load(w.as_ptr().add(((ky * KP + j) * c4 + cb) * 2) as *const u8)
                            })
                        });
                        let b = V::load(bias.as_ptr().add(cb) as *const u8);
                        let m = F4::load(multiplier.as_ptr().add(cb));
                        for ox in cols.clone() {
                            let mut acc = b;
                            let col = ox * g.stride;
                            for ky in 0..K {
                                for (j, wj) in wv[ky].iter().enumerate() {
                                    let at = ((col + 2 * j) * c4 + cb) * 2;
                                    let v = V::load(r[ky].add(at) as *const u8);
                                    acc = acc.add_i32(v.dot_i16(*wj));
                                }
                            }
                            store4(vr.apply(acc, m), out, (oy * g.ow + ox) * c + cb, c, cb);
                        }
                    }
                }
            }
        }
    });
}
