//! The building blocks: convolution + bias + activation, squeeze-excite, inverted residual.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use super::config::{Activation, BlockSpec, ConvSpec};
use crate::kernels::{self, Conv, Epilogue};

/// Weights of one convolution in burn's layout, as handed to the model builder.
#[derive(Debug, Clone)]
pub struct ConvWeights {
    /// `[k, k, in / groups, out]` (HWIO), row-major.
    pub weight: Vec<f32>,
    /// `[out]`.
    pub bias: Vec<f32>,
    /// The activation to apply (from the file; the spec's for generated weights).
    pub activation: Activation,
    /// Range the pre-activation output saturates to (quantized V3 files), if any.
    pub saturation: Option<(f32, f32)>,
    /// Quantization step the output is rounded to (emulating a quantized graph), if any.
    pub step: Option<f32>,
}

/// TensorFlow "SAME" padding `(before, after)` for one spatial axis.
pub fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let output = input.div_ceil(stride);
    let total = ((output - 1) * stride + kernel).saturating_sub(input);
    (total / 2, total - total / 2)
}

/// Convolution (standard or depthwise) with bias and a pointwise activation, on NHWC tensors.
#[derive(Module, Debug)]
pub struct ConvAct {
    /// In the kernels' layout (`Conv::packed_shape`).
    weight: Param<Tensor<4>>,
    bias: Param<Tensor<1>>,
    #[module(skip)]
    conv: Conv,
    #[module(skip)]
    epilogue: Epilogue,
}

impl ConvAct {
    /// Builds the layer directly from its weights (no random initialisation to throw away).
    pub fn new(spec: &ConvSpec, w: ConvWeights, device: &Device) -> Self {
        let conv = Conv {
            kernel: spec.kernel,
            stride: spec.stride,
            groups: spec.groups,
            in_channels: spec.in_channels,
            out_channels: spec.out_channels,
        };
        // Packed once, here, into the layout the kernels read (see `Conv::pack`).
        let weight = TensorData::new(conv.pack(w.weight), conv.packed_shape());
        let bias = Tensor::from_data(TensorData::new(w.bias, [spec.out_channels]), device);
        Self {
            weight: Param::from_tensor(Tensor::from_data(weight, device)),
            bias: Param::from_tensor(bias),
            conv,
            epilogue: Epilogue::new(w.activation, w.saturation, w.step),
        }
    }

    /// `[N, H, W, C]` → `[N, H / stride, W / stride, C']`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.forward_add(x, None)
    }

    /// Weights (kernels' layout) and bias.
    pub fn weights(&self) -> kernels::Weights {
        (self.weight.val(), self.bias.val())
    }

    /// The convolution and its epilogue.
    pub fn conv(&self) -> (Conv, Epilogue) {
        (self.conv, self.epilogue)
    }

    /// [`ConvAct::forward`], then `+ residual` (fused into the convolution's epilogue).
    pub fn forward_add(&self, x: Tensor<4>, residual: Option<Tensor<4>>) -> Tensor<4> {
        kernels::conv2d(
            x,
            self.weight.val(),
            self.bias.val(),
            residual,
            self.conv,
            self.epilogue,
        )
    }
}

/// Global average pooling `[N, H, W, C]` → `[N, 1, 1, C]`.
pub fn global_pool(x: Tensor<4>) -> Tensor<4> {
    x.mean_dim(2).mean_dim(1)
}

/// Squeeze-excite: scales each channel by a gate computed from the pooled activation.
#[derive(Module, Debug)]
pub struct SqueezeExcite {
    reduce: ConvAct,
    expand: ConvAct,
}

impl SqueezeExcite {
    /// Builds from the reduce and expand convolutions.
    pub fn new(reduce: ConvAct, expand: ConvAct) -> Self {
        Self { reduce, expand }
    }

    /// Applies the gate.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let gate = self
            .expand
            .forward(self.reduce.forward(global_pool(x.clone())));
        x * gate
    }
}

/// Inverted residual (V2/V3), or V1's depthwise-separable block when there is no expansion,
/// no squeeze-excite and the projection carries ReLU6.
#[derive(Module, Debug)]
pub struct InvertedResidual {
    expand: Option<ConvAct>,
    depthwise: ConvAct,
    squeeze_excite: Option<SqueezeExcite>,
    project: ConvAct,
    #[module(skip)]
    residual: bool,
}

impl InvertedResidual {
    /// Builds a block, pulling each convolution's weights from `next` in execution order.
    pub fn new(
        spec: &BlockSpec,
        next: &mut impl FnMut(&ConvSpec) -> ConvWeights,
        device: &Device,
    ) -> Self {
        let mut conv = |s: &ConvSpec| ConvAct::new(s, next(s), device);
        let expand = spec.expand.as_ref().map(&mut conv);
        let depthwise = conv(&spec.depthwise);
        let squeeze_excite = spec.squeeze_excite.as_ref().map(|se| {
            let reduce = conv(&se.reduce);
            let expand = conv(&se.expand);
            SqueezeExcite::new(reduce, expand)
        });
        let project = conv(&spec.project);
        Self {
            expand,
            depthwise,
            squeeze_excite,
            project,
            residual: spec.residual,
        }
    }

    /// Applies the block: fused into one pass over strips of rows (`kernels::block_forward`)
    /// unless it has a squeeze-excite gate, which needs the whole depthwise output first.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        if self.squeeze_excite.is_none() {
            let b = kernels::Block {
                expand: self.expand.as_ref().map(ConvAct::conv),
                depthwise: self.depthwise.conv(),
                project: self.project.conv(),
                residual: self.residual,
            };
            let expand = self.expand.as_ref().map(ConvAct::weights);
            return kernels::block_forward(
                x,
                expand,
                self.depthwise.weights(),
                self.project.weights(),
                b,
            );
        }
        let mut y = match &self.expand {
            Some(e) => e.forward(x.clone()),
            None => x.clone(),
        };
        y = self.depthwise.forward(y);
        if let Some(se) = &self.squeeze_excite {
            y = se.forward(y);
        }
        self.project.forward_add(y, self.residual.then_some(x))
    }
}
