//! The input rows the int8 depthwise kernels read, built once per input row into a ring of the
//! last `k` rows a window reads (a stride-1 window builds each row once), with one padding row
//! for the rows outside the image: *pair rows* of widened values for the 16-bit products, *quad
//! rows* of raw quanta for the byte dot product.

use crate::kernels::isa::V;
use crate::spec::Window;

/// Output rows per strip at least, when a window is split across threads: each strip builds
/// the `k − 1` input rows above its first again.
pub(crate) const ROWS_PER_STRIP: usize = 2;

/// Channels per vector pair of the quads layout.
pub(crate) const QUAD_LANES: usize = 8;

/// The widened rows of the last `k` input rows a window reads, in a ring of `k` slots of `len`
/// values each (a stride-1 window widens each input row once), and one padding row for the rows
/// outside the image.
pub(crate) struct RowRing<T> {
    len: usize,
    /// `k` slots, then the padding row.
    buf: Vec<T>,
    /// The input row each slot holds.
    held: Vec<isize>,
}

impl<T: Copy> RowRing<T> {
    pub(crate) fn new(k: usize, len: usize, pad: T) -> Self {
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
    pub(crate) fn row(
        &mut self,
        h: usize,
        iy: isize,
        fill: impl FnOnce(usize, &mut [T]),
    ) -> *const T {
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
pub(crate) struct PairRows {
    /// Pair entries per row.
    np: usize,
    c4: usize,
    ring: RowRing<i16>,
}

impl PairRows {
    pub(crate) fn new(g: &Window, c4: usize) -> Self {
        let kp = g.k.div_ceil(2);
        let np = (g.ow.max(1) - 1) * g.stride + 2 * (kp - 1) + 1;
        Self {
            np,
            c4,
            ring: RowRing::new(g.k, np * c4 * 2, 0),
        }
    }

    /// The pair row of input row `iy` (zeros outside the image).
    pub(crate) fn row(
        &mut self,
        g: &Window,
        c: usize,
        x: &[u8],
        zero_point: i32,
        iy: isize,
    ) -> *const i16 {
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

/// Quad rows of the input, built on demand into a ring of `k` slots: entry `q` holds, for each
/// channel, the four raw quanta `row[px..px + 4][ch]` of column `px = q · step` of the padded
/// row (the zero point where the window leaves the image). With a stride that divides 4 only
/// the columns a window starts at are built (`step` = stride), else every column.
pub(crate) struct QuadRows {
    nq: usize,
    c8: usize,
    step: usize,
    ring: RowRing<u8>,
}

impl QuadRows {
    /// Input columns between entries for the window `g`.
    pub(crate) fn step(g: &Window) -> usize {
        if 4 % g.stride == 0 { g.stride } else { 1 }
    }

    pub(crate) fn new(g: &Window, c8: usize, zero_point: u8) -> Self {
        let kq = g.k.div_ceil(4);
        let step = Self::step(g);
        let span = (g.ow.max(1) - 1) * g.stride + 4 * (kq - 1) + 1;
        let nq = span.div_ceil(step);
        Self {
            nq,
            c8,
            step,
            ring: RowRing::new(g.k, nq * c8 * 4, zero_point),
        }
    }

    pub(crate) fn row(
        &mut self,
        g: &Window,
        c: usize,
        x: &[u8],
        zero_point: u8,
        iy: isize,
    ) -> *const u8 {
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
