//! The model's way to the kernels: a burn backend extension ([`KernelBackend`]) whose methods
//! are the convolutions the model runs, with structured inputs. Its default implementation is
//! burn's own tensor ops ([`reference`]), which burn-ndarray inherits and which the kernels are
//! tested against; burn-flex runs the kernels ([`flex`]). The model calls the functions below,
//! which take a per-model [`Ops`] choice (the benchmark's "burn ops" case runs the reference on
//! burn-flex too).

mod flex;
pub(crate) mod reference;
// Native only: the kernels' tests are the ones that also run in wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Dispatch, ExtensionType, backend_extension};
use burn::tensor::{Int, Tensor};

use crate::spec::{Conv, Epilogue, Requant};

/// Which implementation a model's convolutions run on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Ops {
    /// The hand-written kernels where the backend has them (burn-flex), burn's ops elsewhere.
    #[default]
    Kernels,
    /// burn's own tensor ops everywhere (to measure what the kernels bring).
    Burn,
}

/// The convolutions of an inverted-residual block without squeeze-excite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Block {
    /// The 1×1 expansion, if any.
    pub expand: Option<(Conv, Epilogue)>,
    /// The depthwise convolution.
    pub depthwise: (Conv, Epilogue),
    /// The 1×1 projection.
    pub project: (Conv, Epilogue),
    /// Whether the block's input is added to its output.
    pub residual: bool,
}

/// A weight tensor (kernels' layout) and its bias.
pub(crate) type Weights = (Tensor<4>, Tensor<1>);

/// An int8 convolution's packed weights, bias and per-channel multipliers.
pub(crate) type QWeights = (Tensor<4, Int>, Tensor<1, Int>, Tensor<1>);

/// A float convolution's weights (kernels' layout) and bias.
#[derive(ExtensionType)]
pub(crate) struct FloatParams<B: burn::backend::Backend> {
    pub weight: FloatTensor<B>,
    pub bias: FloatTensor<B>,
}

/// What a float convolution adds to its output.
#[derive(ExtensionType)]
pub(crate) enum FloatResidual<B: burn::backend::Backend> {
    /// Nothing.
    None,
    /// This tensor, of the output's shape.
    Add(FloatTensor<B>),
}

/// A block's expansion, if it has one.
#[derive(ExtensionType)]
pub(crate) enum Expansion<B: burn::backend::Backend> {
    /// No expansion.
    None,
    /// The 1×1 expansion's parameters.
    Conv(#[extension_type] FloatParams<B>),
}

/// An inverted-residual block's parameters.
#[derive(ExtensionType)]
pub(crate) struct BlockParams<B: burn::backend::Backend> {
    #[extension_type]
    pub expand: Expansion<B>,
    #[extension_type]
    pub depthwise: FloatParams<B>,
    #[extension_type]
    pub project: FloatParams<B>,
}

/// An int8 convolution's packed weights, bias and per-channel multipliers (or scales).
#[derive(ExtensionType)]
pub(crate) struct Int8Params<B: burn::backend::Backend> {
    pub weight: IntTensor<B>,
    pub bias: IntTensor<B>,
    pub multiplier: FloatTensor<B>,
}

/// What an int8 convolution adds to its output (with the requantization's addition).
#[derive(ExtensionType)]
pub(crate) enum Int8Residual<B: burn::backend::Backend> {
    /// Nothing.
    None,
    /// These quanta, of the output's shape.
    Add(IntTensor<B>),
}

/// The kernels as a burn backend extension: the convolutions the model runs.
#[backend_extension(Flex, NdArray: cfg(feature = "ndarray"))]
pub(crate) trait KernelBackend: burn::backend::Backend {
    /// `x` `[N, H, W, Cin]` → `epilogue(conv(x) + bias) (+ residual)`, `[N, H', W', Cout]`.
    fn conv_f32(
        x: FloatTensor<Self>,
        #[extension_type] params: FloatParams<Self>,
        #[extension_type] residual: FloatResidual<Self>,
        conv: Conv,
        epilogue: Epilogue,
    ) -> FloatTensor<Self>;

    /// An inverted-residual block as `block` describes it (the expansion present exactly when
    /// `block.expand` is).
    fn block_f32(
        x: FloatTensor<Self>,
        #[extension_type] params: BlockParams<Self>,
        block: Block,
    ) -> FloatTensor<Self>;

    /// 8-bit convolution: `x` `[N, H, W, Cin]` u8 quanta, weights packed by
    /// [`crate::kernels::conv::qpack`] → `[N, H', W', Cout]` u8 quanta as `requant` says (with
    /// the residual added when it has an addition).
    fn conv_int8(
        x: IntTensor<Self>,
        #[extension_type] params: Int8Params<Self>,
        #[extension_type] residual: Int8Residual<Self>,
        conv: Conv,
        requant: Requant,
    ) -> IntTensor<Self>;

    /// 8-bit convolution with a real-valued output `float(acc) · scale[c]` (the logits; the
    /// scales in `params.multiplier`).
    fn conv_int8_real(
        x: IntTensor<Self>,
        #[extension_type] params: Int8Params<Self>,
        conv: Conv,
        input_zero_point: i32,
    ) -> FloatTensor<Self>;
}

/// Implements [`KernelBackend`] for a backend with burn's own ops: the default implementation,
/// which any backend without kernels of its own takes with one line.
#[cfg(feature = "ndarray")]
macro_rules! burn_ops_backend {
    ($backend:ty) => {
        impl KernelBackend for $backend {
            fn conv_f32(
                x: FloatTensor<Self>,
                params: FloatParams<Self>,
                residual: FloatResidual<Self>,
                conv: Conv,
                epilogue: Epilogue,
            ) -> FloatTensor<Self> {
                reference::conv_f32_on::<Self>(x, params, residual, conv, epilogue)
            }

            fn block_f32(
                x: FloatTensor<Self>,
                params: BlockParams<Self>,
                block: Block,
            ) -> FloatTensor<Self> {
                reference::block_f32_on::<Self>(x, params, block)
            }

            fn conv_int8(
                x: IntTensor<Self>,
                params: Int8Params<Self>,
                residual: Int8Residual<Self>,
                conv: Conv,
                requant: Requant,
            ) -> IntTensor<Self> {
                reference::conv_int8_on::<Self>(x, params, residual, conv, requant)
            }

            fn conv_int8_real(
                x: IntTensor<Self>,
                params: Int8Params<Self>,
                conv: Conv,
                input_zero_point: i32,
            ) -> FloatTensor<Self> {
                reference::conv_int8_real_on::<Self>(x, params, conv, input_zero_point)
            }
        }
    };
}

#[cfg(feature = "ndarray")]
#[allow(deprecated)]
mod ndarray {
    use super::*;
    burn_ops_backend!(burn::backend::NdArray);
}

/// A float convolution, weights in the kernels' layout.
pub(crate) fn conv_f32(
    x: Tensor<4>,
    (weight, bias): Weights,
    residual: Option<Tensor<4>>,
    conv: Conv,
    epilogue: Epilogue,
    ops: Ops,
) -> Tensor<4> {
    if ops == Ops::Burn {
        let w = reference::unpack_f32(&conv, weight);
        return reference::conv_f32(x, w, bias, residual, conv, epilogue);
    }
    let params = FloatParams {
        weight: weight.into_dispatch(),
        bias: bias.into_dispatch(),
    };
    let residual = match residual {
        Some(r) => FloatResidual::Add(r.into_dispatch()),
        None => FloatResidual::None,
    };
    Tensor::from_dispatch(<Dispatch as KernelBackend>::conv_f32(
        x.into_dispatch(),
        params,
        residual,
        conv,
        epilogue,
    ))
}

/// Expanded activations from this size on are worth a fused block: below it they stay in cache
/// anyway, and every strip would stream the projection's weights again (MobileNetV1, with no
/// expansion at all, ran 30 % slower fused; V2's late blocks gain nothing).
const FUSE_FROM_BYTES: usize = 1 << 20;

/// A block: fused over strips when it has an expansion whose output reaches
/// [`FUSE_FROM_BYTES`], else its three convolutions one by one.
pub(crate) fn block_f32(
    x: Tensor<4>,
    expand: Option<Weights>,
    depthwise: Weights,
    project: Weights,
    b: Block,
    ops: Ops,
) -> Tensor<4> {
    let [n, h, w, _] = x.dims();
    let expanded = b.depthwise.0.in_channels;
    let fused = ops == Ops::Kernels
        && b.expand.is_some()
        && expand.is_some()
        && 4 * n * h * w * expanded >= FUSE_FROM_BYTES;
    if !fused {
        let conv = |x, w, (c, e): (Conv, Epilogue), r| conv_f32(x, w, r, c, e, ops);
        return in_turn(x, expand, depthwise, project, b, conv);
    }
    Tensor::from_dispatch(<Dispatch as KernelBackend>::block_f32(
        x.into_dispatch(),
        block_params(expand, depthwise, project),
        b,
    ))
}

/// An 8-bit convolution (weights packed by [`crate::kernels::conv::qpack`]); `residual` is
/// added when `requant.add` says how.
pub(crate) fn conv_int8(
    x: Tensor<4, Int>,
    (weight, bias, multiplier): QWeights,
    residual: Option<Tensor<4, Int>>,
    conv: Conv,
    requant: Requant,
    ops: Ops,
) -> Tensor<4, Int> {
    if ops == Ops::Burn {
        let (w, b) = reference::unpack_int8(&conv, weight, bias, requant.input_zero_point);
        return reference::conv_int8(x, w, b, multiplier, residual, conv, requant);
    }
    let params = Int8Params {
        weight: weight.into_dispatch(),
        bias: bias.into_dispatch(),
        multiplier: multiplier.into_dispatch(),
    };
    let residual = match residual {
        Some(r) => Int8Residual::Add(r.into_dispatch()),
        None => Int8Residual::None,
    };
    Tensor::from_dispatch(<Dispatch as KernelBackend>::conv_int8(
        x.into_dispatch(),
        params,
        residual,
        conv,
        requant,
    ))
}

/// The real-valued output `float(acc) · scale[c]` of an 8-bit convolution (the logits).
pub(crate) fn conv_int8_real(
    x: Tensor<4, Int>,
    (weight, bias, scale): QWeights,
    conv: Conv,
    input_zero_point: i32,
    ops: Ops,
) -> Tensor<4> {
    if ops == Ops::Burn {
        let (w, b) = reference::unpack_int8(&conv, weight, bias, input_zero_point);
        return reference::conv_int8_real(x, w, b, scale, conv, input_zero_point);
    }
    let params = Int8Params {
        weight: weight.into_dispatch(),
        bias: bias.into_dispatch(),
        multiplier: scale.into_dispatch(),
    };
    Tensor::from_dispatch(<Dispatch as KernelBackend>::conv_int8_real(
        x.into_dispatch(),
        params,
        conv,
        input_zero_point,
    ))
}

/// A block's convolutions one after the other through `conv(x, weights, (conv, epilogue),
/// residual)`.
pub(crate) fn in_turn(
    x: Tensor<4>,
    expand: Option<Weights>,
    depthwise: Weights,
    project: Weights,
    b: Block,
    conv: impl Fn(Tensor<4>, Weights, (Conv, Epilogue), Option<Tensor<4>>) -> Tensor<4>,
) -> Tensor<4> {
    let mut y = x.clone();
    if let (Some(w), Some(c)) = (expand, b.expand) {
        y = conv(y, w, c, None);
    }
    y = conv(y, depthwise, b.depthwise, None);
    conv(y, project, b.project, b.residual.then_some(x))
}

/// A block's weights as the extension takes them.
pub(crate) fn block_params(
    expand: Option<Weights>,
    depthwise: Weights,
    project: Weights,
) -> BlockParams<Dispatch> {
    let params = |(w, b): Weights| FloatParams {
        weight: w.into_dispatch(),
        bias: b.into_dispatch(),
    };
    BlockParams {
        expand: match expand {
            Some(e) => Expansion::Conv(params(e)),
            None => Expansion::None,
        },
        depthwise: params(depthwise),
        project: params(project),
    }
}
