//! The convolutions with burn's own tensor ops: the default implementation of the backend
//! extension (burn-ndarray runs it, burn-flex for shapes the kernels do not take and for
//! [`super::Ops::Burn`]) and the reference the kernels are tested against. Weights are unpacked
//! from the kernels' layout with tensor ops.

use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{DispatchKindConversion, DispatchTensor};
use burn::tensor::module::conv2d as burn_conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{DType, FloatDType, Int, IntDType, Tensor};

use super::{
    Block, BlockParams, Expansion, FloatParams, FloatResidual, Int8Params, Int8Residual, Weights,
};
use crate::kernels::conv::qpacked_shape;
use crate::kernels::gemm::{PANEL, int8::Layout};
use crate::spec::{Conv, Epilogue, EpilogueAct, Requant};

/// burn's options for `conv` on an `h` × `w` input: its stride, groups and padding.
fn conv_options(conv: &Conv, h: usize, w: usize) -> ConvOptions<2> {
    let s = conv.stride;
    ConvOptions {
        stride: [s, s],
        padding: conv.pads(h, w),
        dilation: [1, 1],
        groups: conv.groups,
    }
}

/// The epilogue with tensor ops.
pub(crate) fn epilogue<const D: usize>(e: &Epilogue, mut y: Tensor<D>) -> Tensor<D> {
    if let Some(step) = e.step {
        y = (y / step).round() * step;
    }
    if e.lo > f32::NEG_INFINITY || e.hi < f32::INFINITY {
        y = y.clamp(e.lo, e.hi);
    }
    match e.act {
        EpilogueAct::Clamp => y,
        EpilogueAct::HardSwish => y.clone() * (y + 3.0).clamp(0.0, 6.0) / 6.0,
        EpilogueAct::HardSigmoid => (y + 3.0).clamp(0.0, 6.0) / 6.0,
    }
}

/// The kernels' float layout → HWIO: one-group weights come in panels of 8 output channels
/// ([`crate::kernels::gemm::f32::pack`]), depthwise weights as HWIO already.
pub(crate) fn unpack_f32(conv: &Conv, packed: Tensor<4>) -> Tensor<4> {
    if conv.groups != 1 {
        return packed;
    }
    let n = conv.out_channels;
    let [panels, _, depth, _] = crate::kernels::gemm::f32::packed_shape(conv);
    packed
        .reshape([panels, depth, PANEL])
        .permute([1, 0, 2])
        .reshape([depth, panels * PANEL])
        .slice([0..depth, 0..n])
        .reshape(conv.hwio_shape())
}

/// The float convolution on HWIO weights: NCHW `conv2d` between permutes, then the epilogue.
pub(crate) fn conv_f32(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Tensor<1>,
    residual: Option<Tensor<4>>,
    conv: Conv,
    e: Epilogue,
) -> Tensor<4> {
    let [_, h, w, _] = x.dims();
    let y = burn_conv2d(
        x.permute([0, 3, 1, 2]),
        weight.permute([3, 2, 0, 1]),
        Some(bias),
        conv_options(&conv, h, w),
    );
    let y = epilogue(&e, y).permute([0, 2, 3, 1]);
    match residual {
        Some(r) => y + r,
        None => y,
    }
}

/// A block, convolution by convolution, on weights in the kernels' layout.
pub(crate) fn block_f32(
    x: Tensor<4>,
    expand: Option<Weights>,
    depthwise: Weights,
    project: Weights,
    b: Block,
) -> Tensor<4> {
    let conv = |x: Tensor<4>, (w, bias): Weights, (c, e): (Conv, Epilogue), r| {
        conv_f32(x, unpack_f32(&c, w), bias, r, c, e)
    };
    super::in_turn(x, expand, depthwise, project, b, conv)
}

/// The kernels' int8 layout → HWIO weights (i32) and the plain bias. The layout is read from
/// the weights' dtype.
pub(crate) fn unpack_int8(
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
    // `[k·k·in / groups, out]`, rows in HWIO order.
    let weights = if conv.groups != 1 {
        packed
            .permute([0, 1, 3, 2])
            .reshape([a, b * d, c])
            .slice([0..k, 0..k, 0..n])
            .reshape([k * k, n])
    } else {
        let depth = k * k * conv.in_channels;
        packed
            .permute([1, 3, 0, 2])
            .reshape([b * d, a * c])
            .slice([0..depth, 0..n])
    };
    if !quads {
        return (weights.reshape(conv.hwio_shape()), bias);
    }
    // Quads store shifted columns and a bias that holds `bias − zx · Σ_k w`: undo both.
    let bias = bias.cast(IntDType::I32);
    let weights = weights + bias.clone().slice([n..2 * n]).reshape([1, n]);
    let sums = weights.clone().sum_dim(0).reshape([n]);
    let bias = bias.slice([0..n]) + sums.mul_scalar(input_zero_point);
    (weights.reshape(conv.hwio_shape()), bias)
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
    let x = x.cast(FloatDType::F64).sub_scalar(input_zero_point as f64);
    burn_conv2d(
        x.permute([0, 3, 1, 2]),
        weight.cast(FloatDType::F64).permute([3, 2, 0, 1]),
        Some(bias.cast(FloatDType::F64)),
        conv_options(&conv, h, w),
    )
    .permute([0, 2, 3, 1])
}

/// The 8-bit convolution and its requantization on HWIO weights: the convolution in f64
/// (exact for these integers), then the requantization in f32, operation for operation as the
/// kernels do it, so the two agree bit for bit.
pub(crate) fn conv_int8(
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
        _ => panic!("conv_int8: a residual comes with its addition's requantization"),
    };
    out.cast(IntDType::U8)
}

/// The real-valued 8-bit convolution `float(acc) · scale[c]` on HWIO weights.
pub(crate) fn conv_int8_real(
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

/// The high-level tensor of a backend primitive.
fn float<B: burn::backend::Backend, const D: usize>(t: FloatTensor<B>) -> Tensor<D>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    Tensor::from_primitive::<B>(t)
}

/// The high-level tensor of a backend primitive.
fn int<B: burn::backend::Backend, const D: usize>(t: IntTensor<B>) -> Tensor<D, Int>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    Tensor::from_primitive::<B>(t)
}

/// [`conv_f32`] on one backend's primitives, weights in the kernels' layout.
pub(crate) fn conv_f32_on<B: burn::backend::Backend>(
    x: FloatTensor<B>,
    params: FloatParams<B>,
    residual: FloatResidual<B>,
    conv: Conv,
    e: Epilogue,
) -> FloatTensor<B>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    let w = unpack_f32(&conv, float(params.weight));
    let r = match residual {
        FloatResidual::Add(r) => Some(float(r)),
        FloatResidual::None => None,
    };
    conv_f32(float(x), w, float(params.bias), r, conv, e)
        .try_into_primitive::<B>()
        .expect("a tensor stays on its backend")
}

/// [`block_f32`] on one backend's primitives.
pub(crate) fn block_f32_on<B: burn::backend::Backend>(
    x: FloatTensor<B>,
    params: BlockParams<B>,
    b: Block,
) -> FloatTensor<B>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    let weights = |p: FloatParams<B>| (float(p.weight), float(p.bias));
    let expand = match params.expand {
        Expansion::Conv(p) => Some(weights(p)),
        Expansion::None => None,
    };
    block_f32(
        float(x),
        expand,
        weights(params.depthwise),
        weights(params.project),
        b,
    )
    .try_into_primitive::<B>()
    .expect("a tensor stays on its backend")
}

/// [`conv_int8`] on one backend's primitives, weights in the kernels' layout.
pub(crate) fn conv_int8_on<B: burn::backend::Backend>(
    x: IntTensor<B>,
    params: Int8Params<B>,
    residual: Int8Residual<B>,
    conv: Conv,
    requant: Requant,
) -> IntTensor<B>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    let zx = requant.input_zero_point;
    let (w, b) = unpack_int8(&conv, int(params.weight), int(params.bias), zx);
    let r = match residual {
        Int8Residual::Add(r) => Some(int(r)),
        Int8Residual::None => None,
    };
    conv_int8(int(x), w, b, float(params.multiplier), r, conv, requant)
        .try_into_primitive::<B>()
        .expect("a tensor stays on its backend")
}

/// [`conv_int8_real`] on one backend's primitives.
pub(crate) fn conv_int8_real_on<B: burn::backend::Backend>(
    x: IntTensor<B>,
    params: Int8Params<B>,
    conv: Conv,
    input_zero_point: i32,
) -> FloatTensor<B>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    let zx = input_zero_point;
    let (w, b) = unpack_int8(&conv, int(params.weight), int(params.bias), zx);
    conv_int8_real(int(x), w, b, float(params.multiplier), conv, zx)
        .try_into_primitive::<B>()
        .expect("a tensor stays on its backend")
}
