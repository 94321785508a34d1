//! Integer depthwise k×k convolution in NHWC ("SAME" padding), requantized in its epilogue.
//!
//! Each input row is widened once to i16 (zero point removed, zeros in the padding) and stored
//! as *pair rows*: at column `x`, channel `c`, the two values `(row[x][c], row[x + 1][c])`.
//! Weights are packed the same way, taps `(kx, kx + 1)` of a channel side by side, so one
//! `i32x4.dot_i16x8_s` applies two horizontal taps to four channels. A 3×3 window is six dot
//! products per four channels (the third tap of each row paired with a zero weight). The pair
//! rows of the last `k` input rows are kept in a ring, so stride-1 convolutions widen each row
//! once; padding needs no special case.

use core::mem::MaybeUninit;

use super::depthwise::Window;
use super::qsimd::{V, dot4_exact};
use super::requant::{Requant, VectorRequant};
use super::simd::F4;

/// Channels per vector.
const LANES: usize = 4;

/// Packs depthwise weights (`[k, k, c]`, zero points removed) into `[k][⌈k/2⌉][⌈c/4⌉·4][2]`.
pub fn pack_weights(w: &[i16], k: usize, c: usize) -> Vec<i16> {
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
pub fn qdepthwise(
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
        "qdepthwise: inputs too short"
    );
    assert!(
        bias.len() >= c && multiplier.len() >= c && out.len() >= g.oh * g.ow * c,
        "qdepthwise: outputs too short"
    );
    assert!(
        k > 0 && g.stride > 0 && rq.add.is_none(),
        "qdepthwise: window"
    );
    match k {
        3 => run::<3, 2>(g, c, x, w, bias, multiplier, rq, out),
        5 => run::<5, 3>(g, c, x, w, bias, multiplier, rq, out),
        _ => run_any(g, c, x, w, bias, multiplier, rq, out),
    }
}

/// The widened rows of the last `k` input rows a window reads, in a ring of `k` slots of `len`
/// values each (a stride-1 window widens each input row once), and one padding row for the rows
/// outside the image.
struct RowRing<T> {
    len: usize,
    /// `k` slots, then the padding row.
    buf: Vec<T>,
    /// The input row each slot holds.
    held: Vec<isize>,
}

impl<T: Copy> RowRing<T> {
    fn new(k: usize, len: usize, pad: T) -> Self {
        // Every slot is written before it is read; the last row stays padding.
        let buf = vec![pad; (k + 1) * len];
        Self {
            len,
            buf,
            held: vec![isize::MIN; k],
        }
    }

    /// Input row `iy` of `h`, written by `fill` into its slot the first time it is asked for;
    /// the padding row outside the image.
    fn row(&mut self, h: usize, iy: isize, fill: impl FnOnce(usize, &mut [T])) -> *const T {
        let k = self.held.len();
        if iy < 0 || iy >= h as isize {
            return self.buf[k * self.len..].as_ptr();
        }
        let slot = iy as usize % k;
        let dst = &mut self.buf[slot * self.len..][..self.len];
        if self.held[slot] != iy {
            fill(iy as usize, dst);
            self.held[slot] = iy;
        }
        dst.as_ptr()
    }
}

/// Pair rows of the input, widened on demand into a [`RowRing`].
struct PairRows {
    /// Pair entries per row.
    np: usize,
    c4: usize,
    ring: RowRing<i16>,
}

impl PairRows {
    fn new(g: &Window, c4: usize) -> Self {
        let kp = g.k.div_ceil(2);
        let np = (g.ow.max(1) - 1) * g.stride + 2 * (kp - 1) + 1;
        Self {
            np,
            c4,
            ring: RowRing::new(g.k, np * c4 * 2, 0),
        }
    }

    /// The pair row of input row `iy` (zeros outside the image).
    fn row(&mut self, g: &Window, c: usize, x: &[u8], zero_point: i32, iy: isize) -> *const i16 {
        let (np, c4) = (self.np, self.c4);
        self.ring.row(g.h, iy, |iy, dst| {
            Self::fill(g, c, x, zero_point, iy, np, c4, dst)
        })
    }

    /// Writes the pairs of input row `iy`: for each column `px` of the padded row, the widened
    /// values of columns `px` and `px + 1` interleaved channel by channel.
    #[allow(clippy::too_many_arguments)]
    fn fill(
        g: &Window,
        c: usize,
        x: &[u8],
        zero_point: i32,
        iy: usize,
        np: usize,
        c4: usize,
        dst: &mut [i16],
    ) {
        let row = &x[iy * g.w * c..][..g.w * c];
        let z = V::splat_i16(zero_point as i16);
        // Column px of the padded row, 8 channels from ch, widened (zeros outside the image).
        let column = |px: usize, ch: usize| -> V {
            let ix = px as isize - g.pad_left as isize;
            if ix < 0 || ix >= g.w as isize {
                return V::zero();
            }
            let src = &row[ix as usize * c + ch..];
            if ch + 8 <= c {
                // SAFETY: 8 bytes of the pixel from ch.
                unsafe { V::load_u8x8(src.as_ptr()).sub_i16(z) }
            } else {
                let mut lanes = [0i16; 8];
                for (l, &s) in lanes.iter_mut().zip(&src[..c - ch]) {
                    *l = s as i16 - zero_point as i16;
                }
                // SAFETY: 16 readable bytes.
                unsafe { V::load(lanes.as_ptr() as *const u8) }
            }
        };
        assert!(dst.len() >= np * c4 * 2, "pair row too short");
        let pairs = dst.as_mut_ptr();
        for ch in (0..c4).step_by(8) {
            let mut next = column(0, ch);
            for px in 0..np {
                let a = next;
                next = column(px + 1, ch);
                // SAFETY: entry px of the slot: channels ch..ch + 4 (8 i16), and ch + 4..ch + 8
                // when they exist.
                unsafe {
                    let dst = pairs.add((px * c4 + ch) * 2) as *mut u8;
                    a.zip_lo_i16(next).store(dst);
                    if ch + 4 < c4 {
                        a.zip_hi_i16(next).store(dst.add(16));
                    }
                }
            }
        }
    }
}

/// Stores four quanta (i32 lanes) of output pixel `o` (element offset), channels `cb..cb + 4`
/// of which the first `c − cb` are real.
///
/// # Safety
/// `out + o` must be valid for `min(4, c − cb)` bytes.
#[inline(always)]
unsafe fn store4(q: V, out: *mut u8, o: usize, c: usize, cb: usize) {
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
fn padded<T: Copy + Default>(v: &[T], c: usize, c4: usize) -> Vec<T> {
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
    let mut rows = PairRows::new(&g, c4);
    let out = out.as_mut_ptr() as *mut u8;
    let tile = tile_columns(&g, c4);
    for oy in 0..g.oh {
        let iy0 = (oy * g.stride) as isize - g.pad_top as isize;
        let r: [*const i16; K] =
            core::array::from_fn(|ky| rows.row(&g, c, x, rq.input_zero_point, iy0 + ky as isize));
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
}

/// Any other kernel size: the same walk with the window's sizes at run time.
#[allow(clippy::too_many_arguments)]
fn run_any(
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
    let (bias, multiplier) = (padded(bias, c, c4), padded(multiplier, c, c4));
    let vr = VectorRequant::new(rq);
    let mut rows = PairRows::new(&g, c4);
    let out = out.as_mut_ptr() as *mut u8;
    let mut r = vec![core::ptr::null(); k];
    for oy in 0..g.oh {
        let iy0 = (oy * g.stride) as isize - g.pad_top as isize;
        for (ky, p) in r.iter_mut().enumerate() {
            *p = rows.row(&g, c, x, rq.input_zero_point, iy0 + ky as isize);
        }
        for cb in (0..c4).step_by(LANES) {
            // SAFETY: as in `run`.
            unsafe {
                let b = V::load(bias.as_ptr().add(cb) as *const u8);
                let m = F4::load(multiplier.as_ptr().add(cb));
                for ox in 0..g.ow {
                    let mut acc = b;
                    let col = ox * g.stride;
                    for (ky, row) in r.iter().enumerate() {
                        for j in 0..kp {
                            let wj =
                                V::load(w.as_ptr().add(((ky * kp + j) * c4 + cb) * 2) as *const u8);
                            let v = V::load(row.add(((col + 2 * j) * c4 + cb) * 2) as *const u8);
                            acc = acc.add_i32(v.dot_i16(wj));
                        }
                    }
                    store4(vr.apply(acc, m), out, (oy * g.ow + ox) * c + cb, c, cb);
                }
            }
        }
    }
}

/// Channels per vector pair of the quads layout.
const QUAD_LANES: usize = 8;

/// Depthwise weights packed for the relaxed dot product, with their per-channel constants.
#[derive(Debug, Clone)]
pub struct DepthwiseQuads {
    /// `[k][⌈k/4⌉][⌈c/8⌉·8][4]` i8: for each row of the window and channel, four horizontal taps
    /// (zeros past the window).
    pub weights: Vec<i8>,
    /// `bias[c] − zx · Σ_taps w[c]`, then the shifts `s[c]` (`2c` values).
    pub constants: Vec<i32>,
}

/// Packs depthwise weights (`[k, k, c]`, zero points removed) for [`qdepthwise_quads`], folding
/// the input zero point `zx` into `bias`. A channel whose weights do not fit i8 is stored shifted
/// by `s[c]` (added back as `s[c] · Σ_taps x`); `None` when no shift in i8 fits one.
pub fn pack_quads(w: &[i16], k: usize, c: usize, bias: &[i32], zx: i32) -> Option<DepthwiseQuads> {
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

/// Quad rows of the input, built on demand into a ring of `k` slots: entry `q` holds, for each
/// channel, the four raw quanta `row[px..px + 4][ch]` of column `px = q · step` of the padded
/// row (the zero point where the window leaves the image). With a stride that divides 4 only
/// the columns a window starts at are built (`step` = stride), else every column.
struct QuadRows {
    nq: usize,
    c8: usize,
    step: usize,
    ring: RowRing<u8>,
}

impl QuadRows {
    fn new(g: &Window, c8: usize, zero_point: u8) -> Self {
        let kq = g.k.div_ceil(4);
        let step = if 4 % g.stride == 0 { g.stride } else { 1 };
        let span = (g.ow.max(1) - 1) * g.stride + 4 * (kq - 1) + 1;
        let nq = span.div_ceil(step);
        Self {
            nq,
            c8,
            step,
            ring: RowRing::new(g.k, nq * c8 * 4, zero_point),
        }
    }

    fn row(&mut self, g: &Window, c: usize, x: &[u8], zero_point: u8, iy: isize) -> *const u8 {
        let (nq, c8, step) = (self.nq, self.c8, self.step);
        self.ring.row(g.h, iy, |iy, dst| {
            Self::fill(g, c, x, zero_point, iy, (nq, c8, step), dst)
        })
    }

    /// Writes the quads of input row `iy`; `shape` is (entries, channels, step).
    fn fill(
        g: &Window,
        c: usize,
        x: &[u8],
        zero_point: u8,
        iy: usize,
        shape: (usize, usize, usize),
        dst: &mut [u8],
    ) {
        let (nq, c8, step) = shape;
        assert!(dst.len() >= nq * c8 * 4, "quad row too short");
        let row = &x[iy * g.w * c..][..g.w * c];
        let pad = V::splat_u8(zero_point);
        // Column px of the padded row, 8 channels from ch, in the low half.
        let column = |px: usize, ch: usize| -> V {
            let ix = px as isize - g.pad_left as isize;
            if ix < 0 || ix >= g.w as isize {
                return pad;
            }
            let src = &row[ix as usize * c + ch..];
            if ch + 8 <= c {
                // SAFETY: 8 bytes of the pixel from ch.
                unsafe { V::load_low64(src.as_ptr()) }
            } else {
                let mut lanes = [zero_point; 16];
                lanes[..c - ch].copy_from_slice(&src[..c - ch]);
                // SAFETY: 16 readable bytes.
                unsafe { V::load(lanes.as_ptr()) }
            }
        };
        let quads = dst.as_mut_ptr();
        // Entry by entry, channels inner: reads and writes both run through memory in order.
        let whole = c / QUAD_LANES * QUAD_LANES;
        for q in 0..nq {
            let px = q * step;
            // Columns px..px + 4 inside the image: their whole 8-channel blocks straight from it.
            let inside = px >= g.pad_left && px + 4 <= g.pad_left + g.w;
            let first = if inside { whole } else { 0 };
            if inside {
                let src = row[(px - g.pad_left) * c..].as_ptr();
                for ch in (0..whole).step_by(QUAD_LANES) {
                    // SAFETY: 8 bytes of each of the four pixels from ch < c; entry q of the
                    // slot, channels ch..ch + 8: 32 bytes.
                    unsafe {
                        let p = src.add(ch);
                        let ab = V::load_low64(p).zip_lo_i8(V::load_low64(p.add(c)));
                        let cd = V::load_low64(p.add(2 * c)).zip_lo_i8(V::load_low64(p.add(3 * c)));
                        let dst = quads.add((q * c8 + ch) * 4);
                        ab.zip_lo_i16(cd).store(dst);
                        ab.zip_hi_i16(cd).store(dst.add(16));
                    }
                }
            }
            for ch in (first..c8).step_by(QUAD_LANES) {
                let ab = column(px, ch).zip_lo_i8(column(px + 1, ch));
                let cd = column(px + 2, ch).zip_lo_i8(column(px + 3, ch));
                // SAFETY: entry q of the slot, channels ch..ch + 8: 32 bytes.
                unsafe {
                    let dst = quads.add((q * c8 + ch) * 4);
                    ab.zip_lo_i16(cd).store(dst);
                    ab.zip_hi_i16(cd).store(dst.add(16));
                }
            }
        }
    }
}

/// The depthwise convolution on the relaxed dot product ([`pack_quads`] weights): raw quanta
/// in quad rows, one `i32x4.relaxed_dot_i8x16_i7x16_add_s` per row of the window and four
/// channels, eight channels per step. Where the engine's dot product is not exact on unsigned
/// bytes ([`dot4_exact`], checked here) the same sums come from 16-bit products.
#[allow(clippy::too_many_arguments)]
pub fn qdepthwise_quads(
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
        "qdepthwise: inputs too short"
    );
    assert!(
        multiplier.len() >= c && out.len() >= g.oh * g.ow * c,
        "qdepthwise: outputs too short"
    );
    assert!(
        k > 0 && g.stride > 0 && rq.add.is_none(),
        "qdepthwise: window"
    );
    assert!(
        (0..=255).contains(&rq.input_zero_point),
        "qdepthwise: zero point"
    );
    let relaxed = dot4_exact();
    match (k, relaxed) {
        (3, true) => run_quads::<3, 1, true>(g, c, x, w, constants, multiplier, rq, out),
        (3, false) => run_quads::<3, 1, false>(g, c, x, w, constants, multiplier, rq, out),
        (5, true) => run_quads::<5, 2, true>(g, c, x, w, constants, multiplier, rq, out),
        (5, false) => run_quads::<5, 2, false>(g, c, x, w, constants, multiplier, rq, out),
        (1, _) => run_quads::<1, 1, false>(g, c, x, w, constants, multiplier, rq, out),
        (7, _) => run_quads::<7, 2, false>(g, c, x, w, constants, multiplier, rq, out),
        _ => panic!("qdepthwise: a {k}x{k} window has no quads kernel"),
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

/// Window sides [`qdepthwise_quads`] runs.
pub fn quads_take(k: usize) -> bool {
    matches!(k, 1 | 3 | 5 | 7)
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
    let mut rows = QuadRows::new(&g, c8, zx);
    let out = out.as_mut_ptr() as *mut u8;
    // Ones on the window's taps: the dot product with them sums the inputs (shifted channels).
    let ones: [V; KQ] = core::array::from_fn(|j| {
        V::splat_i32(i32::from_le_bytes(core::array::from_fn(|t| {
            u8::from(4 * j + t < K)
        })))
    });
    let step = rows.step;
    // Output columns per tile: the tile's window in the quad rows (K rows of its entries, 4
    // bytes a channel) stays in L1 while each 8-channel block sweeps it with its weights in
    // registers.
    let entries_per_column = (g.stride / step).max(1);
    let tile = (TILE_BYTES / (K * entries_per_column * c8 * 4).max(1)).clamp(4, g.ow.max(4));
    let shifted: Vec<bool> = shifts
        .chunks(QUAD_LANES)
        .map(|c| c.iter().any(|&s| s != 0))
        .collect();
    for oy in 0..g.oh {
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
}
