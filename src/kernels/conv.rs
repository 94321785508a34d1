//! One image through one convolution: the kernel its shape and weight layout call for. These
//! are the entry points the model's backend extension calls; shapes they do not take run on
//! burn's own ops there.

use core::mem::MaybeUninit;

use super::dw::{self, f32::dw_f32_v128, int8_pairs::dw_i16_dot16, int8_quads::dw_u8i8};
use super::gemm::int8::{Layout, QOut, gemm_pairs, gemm_quads, widen};
use super::gemm::{Gemm, PANEL, f32::gemm_f32};
use super::isa::{PairsDot, QuadsDot};
use super::patches;
use crate::spec::{Conv, Epilogue, Window};

/// Whether the float kernels take `conv`: one group, or depthwise.
pub(crate) fn f32_takes(conv: &Conv) -> bool {
    conv.groups == 1 || conv.is_depthwise()
}

/// One image of a float convolution: `x` `[h, w, cin]`, weights packed
/// ([`super::gemm::f32::pack`] for one group, HWIO for depthwise), `res` and `out`
/// `[oh, ow, cout]`; every element of `out` is written.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_f32(
    conv: &Conv,
    g: Window,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    res: Option<&[f32]>,
    e: &Epilogue,
    out: &mut [MaybeUninit<f32>],
) {
    let (cin, cout) = (conv.in_channels, conv.out_channels);
    if conv.is_pointwise() {
        let s = Gemm {
            p: g.h * g.w,
            k: cin,
            n: cout,
        };
        gemm_f32(s, x, w, bias, res, e, out);
    } else if conv.is_depthwise() {
        dw_f32_v128(g, cin, x, w, bias, res, e, out);
    } else {
        patches::conv_f32(g, cin, cout, x, w, bias, res, e, out);
    }
}

/// Int8 weights in the kernels' layout.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QWeights {
    /// 16-bit pairs ([`Layout::Pairs`]; depthwise weights always pair up).
    Pairs(Vec<i16>),
    /// Byte quads ([`Layout::Quads`]).
    Quads(Vec<i8>),
}

/// A convolution's int8 weights and bias in the kernels' layout.
#[derive(Debug, Clone)]
pub(crate) struct QPacked {
    /// Weights, shaped [`qpacked_shape`].
    pub weight: QWeights,
    /// Bias `[out]`; for quads the bias with the input zero point folded in, then the column
    /// shifts (`[2·out]`).
    pub bias: Vec<i32>,
}

impl QPacked {
    /// The layout the weights ended up in.
    pub(crate) fn layout(&self) -> Layout {
        match self.weight {
            QWeights::Pairs(_) => Layout::Pairs,
            QWeights::Quads(_) => Layout::Quads,
        }
    }
}

/// Shape of packed int8 weights. One-group convolutions: `[⌈out/8⌉, ⌈k·k·in/2⌉, 8, 2]` i16
/// (pairs) or `[⌈out/8⌉, ⌈k·k·in/4⌉, 8, 4]` i8 (quads); depthwise ones `[k, ⌈k/2⌉, ⌈c/4⌉·4, 2]`
/// i16 or `[k, ⌈k/4⌉, ⌈c/8⌉·8, 4]` i8.
pub(crate) fn qpacked_shape(conv: &Conv, layout: Layout) -> [usize; 4] {
    let k = conv.kernel;
    let c = conv.out_channels;
    let depth = k * k * conv.in_channels;
    match (conv.groups == 1, layout) {
        (true, Layout::Pairs) => [c.div_ceil(PANEL), depth.div_ceil(2), PANEL, 2],
        (true, Layout::Quads) => [c.div_ceil(PANEL), depth.div_ceil(4), PANEL, 4],
        (false, Layout::Pairs) => [k, k.div_ceil(2), c.div_ceil(4) * 4, 2],
        (false, Layout::Quads) => [k, k.div_ceil(4), c.div_ceil(8) * 8, 4],
    }
}

/// HWIO weights (zero points removed) and bias → the int8 kernels' layout, once, at load. A
/// convolution whose weights do not fit the quads layout (a column spanning more than 255
/// steps) keeps pairs.
pub(crate) fn qpack(
    conv: &Conv,
    hwio: &[i16],
    bias: &[i32],
    input_zero_point: i32,
    layout: Layout,
) -> QPacked {
    use super::dw::{int8_pairs, int8_quads};
    use super::gemm::int8::{pack_pairs, pack_quads};
    let k = conv.kernel;
    let n = conv.out_channels;
    let depth = k * k * conv.in_channels;
    let quads = match layout {
        Layout::Pairs => None,
        Layout::Quads if conv.groups == 1 => {
            pack_quads(hwio, depth, n, bias, input_zero_point).map(|q| (q.weights, q.constants))
        }
        Layout::Quads if dw::int8_takes(k) && (0..=255).contains(&input_zero_point) => {
            int8_quads::pack_quads(hwio, k, n, bias, input_zero_point)
                .map(|q| (q.weights, q.constants))
        }
        Layout::Quads => None,
    };
    match quads {
        Some((weights, constants)) => QPacked {
            weight: QWeights::Quads(weights),
            bias: constants,
        },
        None => QPacked {
            weight: QWeights::Pairs(if conv.groups == 1 {
                pack_pairs(hwio, depth, n)
            } else {
                int8_pairs::pack_weights(hwio, k, n)
            }),
            bias: bias.to_vec(),
        },
    }
}

/// Whether the int8 kernels take `conv` (one group, or depthwise with a window they are compiled for).
pub(crate) fn int8_takes(conv: &Conv) -> bool {
    conv.groups == 1 || (conv.is_depthwise() && dw::int8_takes(conv.kernel))
}

/// Packed int8 weights as the kernels read them.
#[derive(Clone, Copy)]
pub(crate) enum QWeightsRef<'a> {
    /// [`QWeights::Pairs`].
    Pairs(&'a [i16]),
    /// [`QWeights::Quads`].
    Quads(&'a [i8]),
}

/// One image of an int8 convolution (weights from [`qpack`]) into `out`, quads through the
/// products `dot` names and the pairs' matrix products through `pairs`
/// ([`super::select::Selection`]'s for this engine); `scratch`
/// holds the widened input of 16-bit products between calls.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_int8(
    dot: QuadsDot,
    pairs: PairsDot,
    conv: &Conv,
    g: Window,
    x: &[u8],
    w: QWeightsRef<'_>,
    bias: &[i32],
    zero_point: i32,
    out: QOut<'_>,
    scratch: &mut Vec<i16>,
) {
    let (cin, cout) = (conv.in_channels, conv.out_channels);
    if conv.groups != 1 {
        let QOut::Quantized {
            out,
            multiplier,
            requant,
            residual: None,
        } = out
        else {
            panic!("a depthwise convolution has an 8-bit output and adds no residual");
        };
        match w {
            QWeightsRef::Quads(w) => dw_u8i8(dot, g, cin, x, w, bias, multiplier, requant, out),
            QWeightsRef::Pairs(w) => dw_i16_dot16(g, cin, x, w, bias, multiplier, requant, out),
        }
        return;
    }
    let p = g.oh * g.ow;
    let s = Gemm {
        p,
        k: conv.kernel * conv.kernel * cin,
        n: cout,
    };
    match w {
        QWeightsRef::Quads(w) if conv.is_pointwise() && cin % 4 == 0 => {
            gemm_quads(dot, s, x, cin, w, bias, out)
        }
        QWeightsRef::Quads(w) if conv.is_pointwise() => {
            // Rows padded to whole quads with zeros.
            let row = 4 * cin.div_ceil(4);
            let mut padded = vec![0u8; p * row];
            for (d, src) in padded.chunks_exact_mut(row).zip(x.chunks_exact(cin)) {
                d[..cin].copy_from_slice(src);
            }
            gemm_quads(dot, s, &padded, row, w, bias, out)
        }
        QWeightsRef::Quads(w) => {
            let (patches, row) = patches::patches_quads(&g, cin, x, zero_point);
            gemm_quads(dot, s, &patches, row, w, bias, out)
        }
        QWeightsRef::Pairs(w) if conv.is_pointwise() => {
            widen(x, p, cin, zero_point, scratch);
            gemm_pairs(pairs, s, scratch, w, bias, out)
        }
        QWeightsRef::Pairs(w) => {
            let patches = patches::patches_pairs(&g, cin, x, zero_point);
            gemm_pairs(pairs, s, &patches, w, bias, out)
        }
    }
}
