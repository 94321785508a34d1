//! The matrix products behind every 1×1 convolution (and the stem, through its patches):
//! `acc[p][n] = init[n] + Σ_k x[p][k] · w[k][n]` in register tiles of [`MR`] pixels × [`PANEL`]
//! channels over weights packed in panels of 8 output channels, then a store that finishes each
//! tile while it is in registers (the float epilogue, or the int8 requantization).
//!
//! One driver ([`drive`]) walks the tiles for every microkernel: panels in groups whose weights
//! stay in L1, pixels in chunks whose rows do too, every tile of a chunk meeting every panel of
//! the group while its output rows are hot. A microkernel ([`Micro`]) computes one tile's sums;
//! a [`Store`] supplies their initial values and finishes them. [`f32`] and [`int8`] hold the
//! microkernels, their packing and their stores; `int8_x86` the pairs product on 256-bit x86-64
//! vectors, chosen at run time.

pub(crate) mod f32;
pub(crate) mod int8;
#[cfg(target_arch = "x86_64")]
mod int8_x86;

use core::ops::Range;

use super::par;

/// Output channels per weight panel.
pub(crate) const PANEL: usize = 8;
/// Pixels per register tile: 8 accumulators, 2 weight vectors and a splat fit the 15 SIMD
/// registers V8 allocates on x64 (tiles of 5 pixels measured the same, 6 spill).
pub(crate) const MR: usize = 4;
/// Bytes of input rows kept hot while every panel of a group reads them.
const CHUNK_BYTES: usize = 16 * 1024;
/// Bytes of weights in one group of panels.
const WEIGHT_BYTES: usize = 16 * 1024;

/// Shapes of one product over `p` pixels: `[p, k] × [k, n]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Gemm {
    /// Pixels (rows of `x`).
    pub p: usize,
    /// Input depth.
    pub k: usize,
    /// Output channels.
    pub n: usize,
}

impl Gemm {
    /// Weight panels.
    pub(crate) fn panels(&self) -> usize {
        self.n.div_ceil(PANEL)
    }
}

/// A register-tile microkernel: the sums of `R` rows from `row` against one panel.
pub(crate) trait Micro {
    /// One vector of four accumulators.
    type Acc: Copy;
    /// # Safety
    /// Rows `row..row + R` and `panel` must be inside the operands the caller checked.
    unsafe fn tile<const R: usize>(
        &self,
        row: usize,
        panel: usize,
        init: [Self::Acc; 2],
    ) -> [[Self::Acc; 2]; R];
    /// Runs `f` (a strip's tiles and stores) compiled for the instructions the microkernel
    /// needs, so that its tiles inline into the loop.
    #[inline(always)]
    fn strip(&self, f: impl FnOnce()) {
        f()
    }
}

/// Where a tile's sums start and how they are finished.
pub(crate) trait Store {
    /// The accumulators it takes.
    type Acc: Copy;
    /// The initial sums of a panel's eight channels (the bias).
    ///
    /// # Safety
    /// `panel` must be a panel of the output.
    unsafe fn init(&self, panel: usize) -> [Self::Acc; 2];
    /// Finishes and stores `R` rows of one panel from row `row`.
    ///
    /// # Safety
    /// Rows `row..row + R` and `panel` must be inside the output.
    unsafe fn store<const R: usize>(&self, acc: &[[Self::Acc; 2]; R], row: usize, panel: usize);
}

/// Pixels per strip when the product is split across threads: below this the strips would
/// spend more on waking a thread than on their tiles.
const STRIP_ROWS: usize = 4 * MR;

/// Visits every tile of a `p × n` product (rows of `row_bytes`, panels of `panel_bytes`), the
/// pixels split into one strip per thread ([`par::strips`]).
pub(crate) fn drive<M: Micro + Sync, S: Store<Acc = M::Acc> + Sync>(
    m: &M,
    s: &S,
    p: usize,
    n: usize,
    row_bytes: usize,
    panel_bytes: usize,
) {
    par::strips(p, STRIP_ROWS, MR, |rows| {
        m.strip(|| drive_rows(m, s, rows, n, row_bytes, panel_bytes))
    });
}

/// Visits every tile of the pixels `rows`.
#[inline(always)]
fn drive_rows<M: Micro, S: Store<Acc = M::Acc>>(
    m: &M,
    s: &S,
    rows: Range<usize>,
    n: usize,
    row_bytes: usize,
    panel_bytes: usize,
) {
    let panels = n.div_ceil(PANEL);
    let group = (WEIGHT_BYTES / panel_bytes.max(1)).clamp(1, panels.max(1));
    let chunk = (CHUNK_BYTES / row_bytes.max(1)).max(MR) / MR * MR;
    let p = rows.end;
    for first in (0..panels).step_by(group) {
        let group = first..panels.min(first + group);
        let mut p0 = rows.start;
        while p0 < p {
            let rows = chunk.min(p - p0);
            let mut r = p0;
            while r < p0 + rows {
                let tall = r + MR <= p0 + rows;
                for panel in group.clone() {
                    // SAFETY: rows r.. < p and panel < panels, as the caller checked.
                    unsafe {
                        let init = s.init(panel);
                        if tall {
                            s.store(&m.tile::<MR>(r, panel, init), r, panel);
                        } else {
                            s.store(&m.tile::<1>(r, panel, init), r, panel);
                        }
                    }
                }
                r += if tall { MR } else { 1 };
            }
            p0 += rows;
        }
    }
}
