//! The building blocks: convolution + bias + activation, squeeze-excite, inverted residual.

use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor, TensorData};

use super::config::{BlockSpec, ConvSpec};
use super::ext::{self, Ops};
use crate::kernels::gemm::f32::{pack, packed_shape};
use crate::spec::{Activation, Conv, Epilogue};

/// Float weights of one convolution, HWIO, and what follows it, as handed to the model builder.
#[derive(Debug, Clone)]
pub(crate) struct ConvWeights {
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

/// Convolution (standard or depthwise) with bias and a pointwise activation, on NHWC tensors.
#[derive(Module, Debug)]
pub(crate) struct ConvAct {
    /// In the kernels' layout (panels for one group, HWIO for depthwise).
    weight: Param<Tensor<4>>,
    bias: Param<Tensor<1>>,
    #[module(skip)]
    conv: Conv,
    #[module(skip)]
    epilogue: Epilogue,
}

impl ConvAct {
    /// Builds the layer directly from its weights (no random initialisation to throw away).
    pub(crate) fn new(spec: &ConvSpec, w: ConvWeights, device: &Device) -> Self {
        let conv = spec.conv;
        // Packed once, here, into the layout the kernels read.
        let weight = if conv.groups == 1 {
            TensorData::new(pack(&conv, &w.weight), packed_shape(&conv))
        } else {
            TensorData::new(w.weight, conv.hwio_shape())
        };
        let bias = Tensor::from_data(TensorData::new(w.bias, [conv.out_channels]), device);
        Self {
            weight: Param::from_tensor(Tensor::from_data(weight, device)),
            bias: Param::from_tensor(bias),
            conv,
            epilogue: Epilogue::new(w.activation, w.saturation, w.step),
        }
    }

    /// `[N, H, W, C]` → `[N, H / stride, W / stride, C']`.
    pub(crate) fn forward(&self, x: Tensor<4>, ops: Ops) -> Tensor<4> {
        self.forward_add(x, None, ops)
    }

    /// Weights (kernels' layout) and bias.
    fn weights(&self) -> ext::Weights {
        (self.weight.val(), self.bias.val())
    }

    /// The convolution and its epilogue.
    fn conv(&self) -> (Conv, Epilogue) {
        (self.conv, self.epilogue)
    }

    /// [`ConvAct::forward`], then `+ residual` (fused into the convolution's epilogue).
    fn forward_add(&self, x: Tensor<4>, residual: Option<Tensor<4>>, ops: Ops) -> Tensor<4> {
        ext::conv_f32(x, self.weights(), residual, self.conv, self.epilogue, ops)
    }
}

/// Global average pooling `[N, H, W, C]` → `[N, 1, 1, C]`.
pub(crate) fn global_pool(x: Tensor<4>) -> Tensor<4> {
    x.mean_dim(2).mean_dim(1)
}

/// Squeeze-excite: scales each channel by a gate computed from the pooled activation.
#[derive(Module, Debug)]
pub(crate) struct SqueezeExcite {
    reduce: ConvAct,
    expand: ConvAct,
}

impl SqueezeExcite {
    /// Builds from the reduce and expand convolutions.
    fn new(reduce: ConvAct, expand: ConvAct) -> Self {
        Self { reduce, expand }
    }

    /// Applies the gate.
    fn forward(&self, x: Tensor<4>, ops: Ops) -> Tensor<4> {
        let pooled = self.reduce.forward(global_pool(x.clone()), ops);
        x * self.expand.forward(pooled, ops)
    }
}

/// Inverted residual (V2/V3), or V1's depthwise-separable block when there is no expansion,
/// no squeeze-excite and the projection carries ReLU6.
#[derive(Module, Debug)]
pub(crate) struct InvertedResidual {
    expand: Option<ConvAct>,
    depthwise: ConvAct,
    squeeze_excite: Option<SqueezeExcite>,
    project: ConvAct,
    #[module(skip)]
    residual: bool,
}

impl InvertedResidual {
    /// Builds a block, pulling each convolution's weights from `next` in execution order.
    pub(crate) fn new(
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

    /// Applies the block: fused into one pass over strips of rows ([`ext::block_f32`]) unless
    /// it has a squeeze-excite gate, which needs the whole depthwise output first.
    pub(crate) fn forward(&self, x: Tensor<4>, ops: Ops) -> Tensor<4> {
        let Some(se) = &self.squeeze_excite else {
            let b = ext::Block {
                expand: self.expand.as_ref().map(ConvAct::conv),
                depthwise: self.depthwise.conv(),
                project: self.project.conv(),
                residual: self.residual,
            };
            let expand = self.expand.as_ref().map(ConvAct::weights);
            let (depthwise, project) = (self.depthwise.weights(), self.project.weights());
            return ext::block_f32(x, expand, depthwise, project, b, ops);
        };
        let mut y = match &self.expand {
            Some(e) => e.forward(x.clone(), ops),
            None => x.clone(),
        };
        y = se.forward(self.depthwise.forward(y, ops), ops);
        self.project.forward_add(y, self.residual.then_some(x), ops)
    }
}
