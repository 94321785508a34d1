//! A whole inverted-residual block (optional 1×1 expansion, depthwise k×k, 1×1 projection,
//! optional residual add) over horizontal strips of output rows, so the expanded activation —
//! six times the block's input in MobileNetV2 — never goes out to memory and back. The expanded
//! rows a strip needs are computed once into a rolling buffer (rows the next strip shares with
//! this one are moved to its front, never recomputed); the depthwise output of the strip goes
//! straight into the projection. Each stage is the same kernel as the unfused path.

use core::mem::MaybeUninit;

use super::dw::f32::dw_f32_v128;
use super::gemm::{Gemm, f32::gemm_f32};
use crate::spec::{Epilogue, Window};

/// Bytes of expanded rows (and of depthwise output) a strip may hold: about half of L2. With
/// 96 KB the first blocks ran one output row per strip and the fused path was 9 % slower than
/// the unfused one; 384 KB and 768 KB measured the same, 6 % faster.
const STRIP_BYTES: usize = 384 * 1024;

/// The weights of one stage: packed weights, bias, epilogue.
#[derive(Clone, Copy)]
pub(crate) struct Stage<'a> {
    /// Weights in the kernels' layout.
    pub(crate) weight: &'a [f32],
    /// One per output channel.
    pub(crate) bias: &'a [f32],
    /// What follows the sum.
    pub(crate) epilogue: &'a Epilogue,
}

/// Runs one block over one image. `x` is `[h, w, cin]`; `g` is the depthwise window over the
/// whole image; `out` is `[g.oh, g.ow, cout]` and is written whole. With `residual`, `x` is
/// added to the projection (then `cin == cout` and the stride is 1).
#[allow(clippy::too_many_arguments)]
pub(crate) fn block(
    g: Window,
    cin: usize,
    expanded: usize,
    cout: usize,
    x: &[f32],
    expand: Option<Stage<'_>>,
    dw: Stage<'_>,
    project: Stage<'_>,
    residual: bool,
    out: &mut [MaybeUninit<f32>],
) {
    assert!(x.len() >= g.h * g.w * cin, "block: input too short");
    assert!(out.len() >= g.oh * g.ow * cout, "block: output too short");
    assert!(
        expand.is_some() || expanded == cin,
        "block: no expansion changes no width"
    );
    assert!(
        !residual || (cin == cout && g.oh == g.h && g.ow == g.w),
        "block: residual shape"
    );
    let (k, s) = (g.k, g.stride);
    let in_row = g.w * expanded;
    let out_row = g.ow * expanded;
    // Output rows per strip: their expanded input rows and depthwise output fit the budget.
    let strip = (STRIP_BYTES / (4 * (s * in_row + out_row).max(1))).clamp(1, g.oh.max(1));
    let held_rows = (strip - 1) * s + k;
    let mut rows = vec![
        0.0f32;
        if expand.is_some() {
            held_rows * in_row
        } else {
            0
        }
    ];
    let mut depthwise_out = vec![0.0f32; strip * out_row];
    // Expanded rows [lo, hi) of the image are in `rows`.
    let (mut lo, mut hi) = (0usize, 0usize);
    for oy0 in (0..g.oh).step_by(strip) {
        let oy1 = g.oh.min(oy0 + strip);
        let need_lo = (oy0 * s).saturating_sub(g.pad_top);
        let need_hi = g.h.min(((oy1 - 1) * s + k).saturating_sub(g.pad_top));
        // The strip's window over its own rows: the same taps, counted from row `need_lo`.
        let gs = Window {
            h: need_hi - need_lo,
            pad_top: need_lo + g.pad_top - oy0 * s,
            oh: oy1 - oy0,
            ..g
        };
        let dw_in: &[f32] = match expand {
            Some(e) => {
                // Keep the rows this strip shares with the last one, expand the rest.
                let keep = hi.saturating_sub(need_lo.max(lo));
                if keep > 0 {
                    rows.copy_within((hi - keep - lo) * in_row..(hi - lo) * in_row, 0);
                }
                let first_new = need_lo.max(hi);
                let (lo_new, fresh) = (need_lo, need_hi - first_new);
                let at = (first_new - lo_new) * in_row;
                let p = Gemm {
                    p: fresh * g.w,
                    k: cin,
                    n: expanded,
                };
                let src = &x[first_new * g.w * cin..][..fresh * g.w * cin];
                gemm_f32(
                    p,
                    src,
                    e.weight,
                    e.bias,
                    None,
                    e.epilogue,
                    uninit(&mut rows[at..][..fresh * in_row]),
                );
                (lo, hi) = (lo_new, need_hi);
                &rows[..(hi - lo) * in_row]
            }
            None => &x[need_lo * in_row..need_hi * in_row],
        };
        let strip_out = &mut depthwise_out[..(oy1 - oy0) * out_row];
        dw_f32_v128(
            gs,
            expanded,
            dw_in,
            dw.weight,
            dw.bias,
            None,
            dw.epilogue,
            uninit(strip_out),
        );
        let p = Gemm {
            p: (oy1 - oy0) * g.ow,
            k: expanded,
            n: cout,
        };
        let o = oy0 * g.ow * cout;
        let res = residual.then(|| &x[o..o + p.p * cout]);
        gemm_f32(
            p,
            strip_out,
            project.weight,
            project.bias,
            res,
            project.epilogue,
            &mut out[o..][..p.p * cout],
        );
    }
}

/// An initialised buffer seen as one the kernels write into.
fn uninit(s: &mut [f32]) -> &mut [MaybeUninit<f32>] {
    // SAFETY: MaybeUninit<f32> has the layout of f32, and the kernels only ever write
    // initialised values through the returned slice, so `s` stays initialised.
    unsafe { &mut *(s as *mut [f32] as *mut [MaybeUninit<f32>]) }
}
