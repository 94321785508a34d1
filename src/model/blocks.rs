//! The building blocks: convolution + bias + activation, squeeze-excite, inverted residual.

use burn::module::{Module, Param};
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};

use super::config::{Activation, BlockSpec, ConvSpec};
use crate::kernels::{self, Epilogue};

/// Weights of one convolution in burn's layout, as handed to the model builder.
#[derive(Debug, Clone)]
pub struct ConvWeights {
    /// `[out, in / groups, k, k]`, row-major.
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

/// Applies an activation.
pub fn activate(x: Tensor<4>, activation: Activation) -> Tensor<4> {
    match activation {
        Activation::None => x,
        Activation::Relu => x.clamp_min(0.0),
        Activation::Relu6 => x.clamp(0.0, 6.0),
        Activation::HardSwish => x.clone() * (x + 3.0).clamp(0.0, 6.0) / 6.0,
        Activation::HardSigmoid => (x + 3.0).clamp(0.0, 6.0) / 6.0,
    }
}

/// TensorFlow "SAME" padding `(before, after)` for one spatial axis.
pub fn same_padding(input: usize, kernel: usize, stride: usize) -> (usize, usize) {
    let output = input.div_ceil(stride);
    let total = ((output - 1) * stride + kernel).saturating_sub(input);
    (total / 2, total - total / 2)
}

/// Convolution (standard or depthwise) with bias and a pointwise activation.
#[derive(Module, Debug)]
pub struct ConvAct {
    weight: Param<Tensor<4>>,
    bias: Param<Tensor<1>>,
    #[module(skip)]
    stride: usize,
    #[module(skip)]
    groups: usize,
    #[module(skip)]
    kernel: usize,
    #[module(skip)]
    activation: Activation,
    #[module(skip)]
    saturation: Option<(f32, f32)>,
    #[module(skip)]
    step: Option<f32>,
}

impl ConvAct {
    /// Builds the layer directly from its weights (no random initialisation to throw away).
    pub fn new(spec: &ConvSpec, w: ConvWeights, device: &Device) -> Self {
        let weight = Tensor::from_data(TensorData::new(w.weight, spec.weight_shape()), device);
        let bias = Tensor::from_data(TensorData::new(w.bias, [spec.out_channels]), device);
        Self {
            weight: Param::from_tensor(weight),
            bias: Param::from_tensor(bias),
            stride: spec.stride,
            groups: spec.groups,
            kernel: spec.kernel,
            activation: w.activation,
            saturation: w.saturation,
            step: w.step,
        }
    }

    /// `[N, C, H, W]` → `[N, C', H / stride, W / stride]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let options = ConvOptions {
            stride: [self.stride, self.stride],
            padding: [
                same_padding(h, self.kernel, self.stride),
                same_padding(w, self.kernel, self.stride),
            ],
            dilation: [1, 1],
            groups: self.groups,
        };
        let y = conv2d(x, self.weight.val(), Some(self.bias.val()), options);
        match Epilogue::new(self.activation, self.saturation, self.step) {
            Some(e) => kernels::epilogue(y, e),
            None => y,
        }
    }
}

/// Global average pooling `[N, C, H, W]` → `[N, C, 1, 1]`.
pub fn global_pool(x: Tensor<4>) -> Tensor<4> {
    x.mean_dim(3).mean_dim(2)
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

    /// Applies the block.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut y = match &self.expand {
            Some(e) => e.forward(x.clone()),
            None => x.clone(),
        };
        y = self.depthwise.forward(y);
        if let Some(se) = &self.squeeze_excite {
            y = se.forward(y);
        }
        y = self.project.forward(y);
        if self.residual { y + x } else { y }
    }
}
