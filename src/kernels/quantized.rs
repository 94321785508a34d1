//! The int8 convolutions at burn's level: 8-bit NHWC activations (`Int` tensors of `u8`),
//! 16-bit weights with their zero points removed, 32-bit biases, one requantization multiplier
//! per output channel. Through the backend extension burn-flex runs [`qgemm`](super::qgemm),
//! [`qdepthwise`](super::qdepthwise) and [`qdirect`](super::qdirect); burn-ndarray, unsupported
//! shapes and [`set_enabled`](super::set_enabled)`(false)` run the same arithmetic with burn's
//! own tensor ops ([`qconv2d_reference`]): the convolution in f64 (exact for these integers),
//! then the requantization in f32, operation for operation as the kernels do it, so the two
//! agree bit for bit.

use core::mem::MaybeUninit;

use burn::backend::flex::{FlexTensor, Layout as FlexLayout};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Dispatch, DispatchKindConversion, DispatchTensor, Flex};
use burn::tensor::module::conv2d as burn_conv2d;
use burn::tensor::{Bytes, DType, FloatDType, Int, IntDType, Shape, Tensor, TensorData};

pub use super::qgemm::Layout;
use super::qgemm::{QGemm, QOut, qgemm, qgemm_quads, widen};
use super::requant::Requant;
use super::{Conv, KernelBackend, conv_options, enabled, qdepthwise, qdirect, qgemm as gemm};
use crate::model::PoolQuant;

/// Shape of the packed int8 weights. One-group convolutions: `[⌈out/8⌉, ⌈k·k·in/2⌉, 8, 2]` i16
/// ([`Layout::Pairs`]) or `[⌈out/8⌉, ⌈k·k·in/4⌉, 8, 4]` i8 ([`Layout::Quads`]); depthwise ones
/// `[k, ⌈k/2⌉, ⌈c/4⌉·4, 2]` i16 or `[k, ⌈k/4⌉, ⌈c/8⌉·8, 4]` i8.
pub fn qpacked_shape(conv: &Conv, layout: Layout) -> [usize; 4] {
    let k = conv.kernel;
    let c = conv.out_channels;
    match (conv.groups == 1, layout) {
        (true, Layout::Pairs) => {
            let depth = k * k * conv.in_channels;
            [c.div_ceil(gemm::QPANEL), depth.div_ceil(2), gemm::QPANEL, 2]
        }
        (true, Layout::Quads) => {
            let depth = k * k * conv.in_channels;
            [c.div_ceil(gemm::QPANEL), depth.div_ceil(4), gemm::QPANEL, 4]
        }
        (false, Layout::Pairs) => [k, k.div_ceil(2), c.div_ceil(4) * 4, 2],
        (false, Layout::Quads) => [k, k.div_ceil(4), c.div_ceil(8) * 8, 4],
    }
}

/// A convolution's weights and bias in the int8 kernels' layout.
#[derive(Debug, Clone)]
pub struct QPacked {
    /// The layout the weights ended up in (one-group convolutions fall back to pairs when a
    /// weight column does not fit i8).
    pub layout: Layout,
    /// Weights: i16 for pairs and depthwise, i8 for quads ([`qpacked_shape`]).
    pub weight: TensorData,
    /// Bias `[out]` i32; for quads the bias with the input zero point folded in, then the
    /// column shifts (`[2·out]`).
    pub bias: TensorData,
}

/// HWIO weights (zero points removed) and bias → the int8 kernels' layout, once, at load.
pub fn qpack(
    conv: &Conv,
    hwio: &[i16],
    bias: &[i32],
    input_zero_point: i32,
    layout: Layout,
) -> QPacked {
    let k = conv.kernel;
    let n = conv.out_channels;
    let pairs = |layout| QPacked {
        layout,
        weight: TensorData::new(
            if conv.groups == 1 {
                gemm::pack_pairs(hwio, k * k * conv.in_channels, n)
            } else {
                qdepthwise::pack_weights(hwio, k, n)
            },
            qpacked_shape(conv, Layout::Pairs),
        ),
        bias: TensorData::new(bias.to_vec(), [n]),
    };
    if layout == Layout::Pairs {
        return pairs(Layout::Pairs);
    }
    let quads = if conv.groups == 1 {
        gemm::pack_quads(hwio, k * k * conv.in_channels, n, bias, input_zero_point)
            .map(|q| (q.weights, q.constants))
    } else if qdepthwise::quads_take(k) && (0..=255).contains(&input_zero_point) {
        qdepthwise::pack_quads(hwio, k, n, bias, input_zero_point).map(|q| (q.weights, q.constants))
    } else {
        None
    };
    match quads {
        Some((weights, constants)) => QPacked {
            layout: Layout::Quads,
            weight: TensorData::new(weights, qpacked_shape(conv, Layout::Quads)),
            bias: TensorData::new(constants, [2 * n]),
        },
        None => pairs(Layout::Pairs),
    }
}

/// The kernels' layout → HWIO weights (i32) and the plain bias, with burn's tensor ops (for
/// the reference path). The layout is read from the weights' dtype.
pub fn qunpack(
    conv: &Conv,
    packed: Tensor<4, Int>,
    bias: Tensor<1, Int>,
    input_zero_point: i32,
) -> (Tensor<4, Int>, Tensor<1, Int>) {
    let k = conv.kernel;
    let n = conv.out_channels;
    let quads = packed.dtype() == DType::I8;
    let [a, b, c, d] = qpacked_shape(conv, if quads { Layout::Quads } else { Layout::Pairs });
    let packed = packed.cast(IntDType::I32);
    if conv.groups != 1 {
        let taps = packed
            .permute([0, 1, 3, 2])
            .reshape([a, b * d, c])
            .slice([0..k, 0..k, 0..n]);
        if !quads {
            return (taps.reshape(conv.hwio_shape()), bias);
        }
        let bias = bias.cast(IntDType::I32);
        let taps = taps + bias.clone().slice([n..2 * n]).reshape([1, 1, n]);
        let sums = taps.clone().sum_dim(0).sum_dim(1).reshape([n]);
        let bias = bias.slice([0..n]) + sums.mul_scalar(input_zero_point);
        return (taps.reshape(conv.hwio_shape()), bias);
    }
    let depth = k * k * conv.in_channels;
    let columns = packed
        .permute([1, 3, 0, 2])
        .reshape([b * d, a * c])
        .slice([0..depth, 0..n]);
    if !quads {
        return (columns.reshape(conv.hwio_shape()), bias);
    }
    let bias = bias.cast(IntDType::I32);
    let shift = bias.clone().slice([n..2 * n]);
    let columns = columns + shift.reshape([1, n]);
    // The bias held `bias − zx · Σ_k w`: add the zero point's share back.
    let sums = columns.clone().sum_dim(0).reshape([n]);
    let bias = bias.slice([0..n]) + sums.mul_scalar(input_zero_point);
    (columns.reshape(conv.hwio_shape()), bias)
}

/// The 8-bit convolution (weights packed, [`qpack`]): through the backend extension, or
/// [`qconv2d_reference`] on the unpacked weights when kernels are off. `residual` is added when
/// `requant.add` says how.
pub fn qconv2d(
    x: Tensor<4, Int>,
    weight: Tensor<4, Int>,
    bias: Tensor<1, Int>,
    multiplier: Tensor<1>,
    residual: Option<Tensor<4, Int>>,
    conv: Conv,
    requant: Requant,
) -> Tensor<4, Int> {
    if !enabled() {
        let (w, b) = qunpack(&conv, weight, bias, requant.input_zero_point);
        return qconv2d_reference(x, w, b, multiplier, residual, conv, requant);
    }
    let (x, w, b, m) = (
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        multiplier.into_dispatch(),
    );
    Tensor::from_dispatch(match residual {
        None => <Dispatch as KernelBackend>::qconv2d_nhwc(x, w, b, m, conv, requant),
        Some(r) => <Dispatch as KernelBackend>::qconv2d_nhwc_add(
            x,
            w,
            b,
            m,
            r.into_dispatch(),
            conv,
            requant,
        ),
    })
}

/// The convolution's real-valued output `float(acc) · scale[c]` (the logits), weights packed.
pub fn qconv2d_real(
    x: Tensor<4, Int>,
    weight: Tensor<4, Int>,
    bias: Tensor<1, Int>,
    scale: Tensor<1>,
    conv: Conv,
    input_zero_point: i32,
) -> Tensor<4> {
    if !enabled() {
        let (w, b) = qunpack(&conv, weight, bias, input_zero_point);
        return qconv2d_real_reference(x, w, b, scale, conv, input_zero_point);
    }
    Tensor::from_dispatch(<Dispatch as KernelBackend>::qconv2d_nhwc_real(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        scale.into_dispatch(),
        conv,
        input_zero_point,
    ))
}

/// The exact accumulators `bias + Σ (x − zx) · w` as f64, NHWC, with burn's conv2d on HWIO
/// weights.
fn accumulate(
    x: Tensor<4, Int>,
    weight: Tensor<4, Int>,
    bias: Tensor<1, Int>,
    conv: Conv,
    input_zero_point: i32,
) -> Tensor<4> {
    let [_, h, w, _] = x.dims();
    let options = conv_options(&conv, h, w);
    let x = x.cast(FloatDType::F64).sub_scalar(input_zero_point as f64);
    burn_conv2d(
        x.permute([0, 3, 1, 2]),
        weight.cast(FloatDType::F64).permute([3, 2, 0, 1]),
        Some(bias.cast(FloatDType::F64)),
        options,
    )
    .permute([0, 2, 3, 1])
}

/// The convolution and its requantization with burn's tensor ops on HWIO weights: the
/// reference the kernels are tested against.
pub fn qconv2d_reference(
    x: Tensor<4, Int>,
    weight: Tensor<4, Int>,
    bias: Tensor<1, Int>,
    multiplier: Tensor<1>,
    residual: Option<Tensor<4, Int>>,
    conv: Conv,
    requant: Requant,
) -> Tensor<4, Int> {
    let channels = conv.out_channels;
    let acc = accumulate(x, weight, bias, conv, requant.input_zero_point);
    let zo = requant.output_zero_point as f32;
    let q = (acc.cast(FloatDType::F32) * multiplier.reshape([1, 1, 1, channels]))
        .clamp(requant.lo as f32 - zo, requant.hi as f32 - zo)
        .round()
        .add_scalar(zo);
    let out = match (requant.add, residual) {
        (Some(add), Some(a)) => {
            // XNNPACK's fixed point, exact in f64: a floor division by 2^shift is the shift.
            let sum = a.cast(FloatDType::F64).mul_scalar(add.a_multiplier as f64)
                + q.cast(FloatDType::F64).mul_scalar(add.b_multiplier as f64);
            (sum.add_scalar(add.bias as f64 + (1u64 << (add.shift - 1)) as f64)
                / 2f64.powi(add.shift as i32))
            .floor()
            .add_scalar(add.output_zero_point as f64)
            .clamp(0.0, 255.0)
        }
        (None, None) => q.clamp(0.0, 255.0),
        _ => panic!("qconv2d: a residual comes with its addition's requantization"),
    };
    out.cast(IntDType::U8)
}

/// [`qconv2d_real`] with burn's tensor ops on HWIO weights.
pub fn qconv2d_real_reference(
    x: Tensor<4, Int>,
    weight: Tensor<4, Int>,
    bias: Tensor<1, Int>,
    scale: Tensor<1>,
    conv: Conv,
    input_zero_point: i32,
) -> Tensor<4> {
    let channels = conv.out_channels;
    accumulate(x, weight, bias, conv, input_zero_point).cast(FloatDType::F32)
        * scale.reshape([1, 1, 1, channels])
}

/// Global average pooling of 8-bit activations `[N, H, W, C]` → `[N, 1, 1, C]`, as TFLite
/// computes it: with equal input and output quantization (AVERAGE_POOL_2D) the rounded integer
/// mean `(Σ q + count / 2) / count`; otherwise (MEAN) `zo + round(float(Σ (q − zi)) · si / (so ·
/// count))`. Burn's ops on both backends: it is a small share of the work.
pub fn qpool(x: Tensor<4, Int>, q: PoolQuant) -> Tensor<4, Int> {
    let [_, h, w, _] = x.dims();
    let count = (h * w) as f64;
    let sum = x.cast(FloatDType::F64).sum_dim(1).sum_dim(2);
    let out = if q.input == q.output {
        (sum.add_scalar((h * w / 2) as f64) / count).floor()
    } else {
        let scale = q.input.scale / (q.output.scale * (h * w) as f32);
        let zo = q.output.zero_point as f32;
        (sum.sub_scalar(count * q.input.zero_point as f64)
            .cast(FloatDType::F32)
            * scale)
            .clamp(-zo, 255.0 - zo)
            .round()
            .add_scalar(zo)
    };
    out.clamp(0.0, 255.0).cast(IntDType::U8)
}

/// Requantizes 8-bit values from one quantization to another (the graph input to the stem's,
/// when a QUANTIZE op sits between them): `zo + round((q − zi) · si / so)`.
pub fn requantize(
    x: Tensor<4, Int>,
    from: crate::model::QParams,
    to: crate::model::QParams,
) -> Tensor<4, Int> {
    if from == to {
        return x;
    }
    let zo = to.zero_point as f32;
    (x.cast(FloatDType::F32).sub_scalar(from.zero_point as f32) * (from.scale / to.scale))
        .clamp(-zo, 255.0 - zo)
        .round()
        .add_scalar(zo)
        .cast(IntDType::U8)
}

/// The reference on one backend's primitives, weights in the kernels' layout.
pub(crate) fn qreference_on<B: burn::backend::Backend>(
    x: IntTensor<B>,
    weight: IntTensor<B>,
    bias: IntTensor<B>,
    multiplier: FloatTensor<B>,
    residual: Option<IntTensor<B>>,
    conv: Conv,
    requant: Requant,
) -> IntTensor<B>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    let (w, b) = qunpack(
        &conv,
        Tensor::from_primitive::<B>(weight),
        Tensor::from_primitive::<B>(bias),
        requant.input_zero_point,
    );
    qconv2d_reference(
        Tensor::from_primitive::<B>(x),
        w,
        b,
        Tensor::from_primitive::<B>(multiplier),
        residual.map(Tensor::from_primitive::<B>),
        conv,
        requant,
    )
    .try_into_primitive::<B>()
    .expect("a tensor stays on its backend")
}

/// The real-valued reference on one backend's primitives.
pub(crate) fn qreference_real_on<B: burn::backend::Backend>(
    x: IntTensor<B>,
    weight: IntTensor<B>,
    bias: IntTensor<B>,
    scale: FloatTensor<B>,
    conv: Conv,
    input_zero_point: i32,
) -> FloatTensor<B>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    let (w, b) = qunpack(
        &conv,
        Tensor::from_primitive::<B>(weight),
        Tensor::from_primitive::<B>(bias),
        input_zero_point,
    );
    qconv2d_real_reference(
        Tensor::from_primitive::<B>(x),
        w,
        b,
        Tensor::from_primitive::<B>(scale),
        conv,
        input_zero_point,
    )
    .try_into_primitive::<B>()
    .expect("a tensor stays on its backend")
}

/// Whether flex tensors have the dtypes and shapes the kernels take.
fn kernels_take(
    x: &FlexTensor,
    w: &FlexTensor,
    b: &FlexTensor,
    s: &FlexTensor,
    conv: &Conv,
) -> bool {
    let [n, h, wd, cin] = x.layout().shape().dims::<4>();
    let depthwise = conv.groups == cin && conv.out_channels == cin;
    let layout = if w.dtype() == DType::I8 {
        Layout::Quads
    } else {
        Layout::Pairs
    };
    let bias_len = if layout == Layout::Quads { 2 } else { 1 } * conv.out_channels;
    x.dtype() == DType::U8
        && matches!(w.dtype(), DType::I16 | DType::I8)
        && b.dtype() == DType::I32
        && s.dtype() == DType::F32
        && cin == conv.in_channels
        && (conv.groups == 1
            || (depthwise && (layout == Layout::Pairs || qdepthwise::quads_take(conv.kernel))))
        && w.layout().shape().dims::<4>() == qpacked_shape(conv, layout)
        && b.layout().shape().dims::<1>() == [bias_len]
        && n * h * wd * cin > 0
}

/// The contiguous data of a flex tensor whose dtype was checked.
macro_rules! slice {
    ($t:ty, $x:expr) => {
        $x.as_slice::<$t>()
            .expect("a contiguous tensor of the checked dtype")
    };
}

/// One image of a one-group convolution through the product of the weights' layout.
#[allow(clippy::too_many_arguments)]
fn one_group(
    conv: &Conv,
    g: super::depthwise::Window,
    x: &[u8],
    weight: &FlexTensor,
    bias: &[i32],
    zero_point: i32,
    out: QOut<'_>,
    scratch: &mut Vec<i16>,
) {
    let (cin, cout) = (conv.in_channels, conv.out_channels);
    let p = g.oh * g.ow;
    let s = QGemm {
        p,
        k: conv.kernel * conv.kernel * cin,
        n: cout,
    };
    if weight.dtype() == DType::I8 {
        let w = slice!(i8, weight);
        if conv.is_pointwise() && cin % 4 == 0 {
            qgemm_quads(s, x, cin, w, bias, out);
        } else if conv.is_pointwise() {
            // Rows padded to whole quads with zeros.
            let row = 4 * cin.div_ceil(4);
            let mut padded = vec![0u8; p * row];
            for (d, src) in padded.chunks_exact_mut(row).zip(x.chunks_exact(cin)) {
                d[..cin].copy_from_slice(src);
            }
            qgemm_quads(s, &padded, row, w, bias, out);
        } else {
            let (patches, row) = qdirect::patches_quads(&g, cin, x, zero_point);
            qgemm_quads(s, &patches, row, w, bias, out);
        }
    } else {
        let w = slice!(i16, weight);
        if conv.is_pointwise() {
            widen(x, p, cin, zero_point, scratch);
            qgemm(s, scratch, w, bias, out);
        } else {
            let patches = qdirect::patches_pairs(&g, cin, x, zero_point);
            qgemm(s, &patches, w, bias, out);
        }
    }
}

/// The 8-bit convolution on flex tensors: the kernels, or the reference for what they do not take.
pub(crate) fn flex_qconv2d(
    x: FlexTensor,
    weight: FlexTensor,
    bias: FlexTensor,
    multiplier: FlexTensor,
    residual: Option<FlexTensor>,
    conv: Conv,
    requant: Requant,
) -> FlexTensor {
    let ok = kernels_take(&x, &weight, &bias, &multiplier, &conv)
        && residual.as_ref().is_none_or(|r| r.dtype() == DType::U8);
    if !ok {
        return qreference_on::<Flex>(x, weight, bias, multiplier, residual, conv, requant);
    }
    let [n, h, w, cin] = x.layout().shape().dims::<4>();
    let cout = conv.out_channels;
    let g = conv.window(h, w);
    let len = n * g.oh * g.ow * cout;
    let (x, weight, bias, multiplier) = (
        x.to_contiguous(),
        weight.to_contiguous(),
        bias.to_contiguous(),
        multiplier.to_contiguous(),
    );
    let residual = residual.map(|r| r.to_contiguous());
    let (xs, bs, ms) = (slice!(u8, x), slice!(i32, bias), slice!(f32, multiplier));
    let rs = residual.as_ref().map(|r| slice!(u8, r));
    assert!(rs.is_none_or(|r| r.len() == len), "residual shape");
    let mut out: Vec<u8> = Vec::with_capacity(len);
    let spare: &mut [MaybeUninit<u8>] = &mut out.spare_capacity_mut()[..len];
    let (image_in, image_out) = (h * w * cin, g.oh * g.ow * cout);
    let mut scratch = Vec::new();
    for b in 0..n {
        let xb = &xs[b * image_in..][..image_in];
        let ob = &mut spare[b * image_out..][..image_out];
        if conv.groups == 1 {
            let target = QOut::Quantized {
                out: ob,
                multiplier: ms,
                requant: &requant,
                residual: rs.map(|r| &r[b * image_out..][..image_out]),
            };
            one_group(
                &conv,
                g,
                xb,
                &weight,
                bs,
                requant.input_zero_point,
                target,
                &mut scratch,
            );
        } else if weight.dtype() == DType::I8 {
            assert!(rs.is_none(), "a depthwise convolution adds no residual");
            let ws = slice!(i8, weight);
            qdepthwise::qdepthwise_quads(g, cin, xb, ws, bs, ms, &requant, ob);
        } else {
            assert!(rs.is_none(), "a depthwise convolution adds no residual");
            let ws = slice!(i16, weight);
            qdepthwise::qdepthwise(g, cin, xb, ws, bs, ms, &requant, ob);
        }
    }
    // SAFETY: each kernel wrote every element of its image's output.
    unsafe { out.set_len(len) };
    FlexTensor::new(
        Bytes::from_elems(out),
        FlexLayout::contiguous(Shape::new([n, g.oh, g.ow, cout])),
        DType::U8,
    )
}

/// The real-valued convolution on flex tensors (one-group convolutions; the reference otherwise).
pub(crate) fn flex_qconv2d_real(
    x: FlexTensor,
    weight: FlexTensor,
    bias: FlexTensor,
    scale: FlexTensor,
    conv: Conv,
    input_zero_point: i32,
) -> FlexTensor {
    if !kernels_take(&x, &weight, &bias, &scale, &conv) || conv.groups != 1 {
        return qreference_real_on::<Flex>(x, weight, bias, scale, conv, input_zero_point);
    }
    let [n, h, w, cin] = x.layout().shape().dims::<4>();
    let cout = conv.out_channels;
    let g = conv.window(h, w);
    let len = n * g.oh * g.ow * cout;
    let (x, weight, bias, scale) = (
        x.to_contiguous(),
        weight.to_contiguous(),
        bias.to_contiguous(),
        scale.to_contiguous(),
    );
    let (xs, bs, ss) = (slice!(u8, x), slice!(i32, bias), slice!(f32, scale));
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let spare: &mut [MaybeUninit<f32>] = &mut out.spare_capacity_mut()[..len];
    let (image_in, image_out) = (h * w * cin, g.oh * g.ow * cout);
    let mut scratch = Vec::new();
    for b in 0..n {
        let xb = &xs[b * image_in..][..image_in];
        let ob = &mut spare[b * image_out..][..image_out];
        let target = QOut::Real { out: ob, scale: ss };
        one_group(
            &conv,
            g,
            xb,
            &weight,
            bs,
            input_zero_point,
            target,
            &mut scratch,
        );
    }
    // SAFETY: the product wrote every element of each image's output.
    unsafe { out.set_len(len) };
    FlexTensor::new(
        Bytes::from_elems(out),
        FlexLayout::contiguous(Shape::new([n, g.oh, g.ow, cout])),
        DType::F32,
    )
}
