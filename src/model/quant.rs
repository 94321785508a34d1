//! The integer form of a quantized TFLite graph, as read from the file: what the int8 model
//! ([`super::QuantMobileNet`]) is built from.
//!
//! Activations are 8-bit with one scale and zero point per tensor. Both unsigned (uint8) and
//! signed (int8) files are held in unsigned terms: an int8 value `q` is `q + 128` here, its zero
//! point too, which changes no product `q − zero_point`.

use crate::spec::{AddRequant, QParams};

/// A convolution in integers, as TFLite runs it: `out = clamp(zo + round(M[c] · (bias[c] +
/// Σ (x − zx) · w)), lo, hi)` with `M[c] = input scale × weight scale[c] / output scale`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QuantConv {
    /// The input tensor's quantization.
    pub input: QParams,
    /// The output tensor's quantization.
    pub output: QParams,
    /// Scale of the weights, one per output channel (repeated for per-tensor files).
    pub weight_scale: Vec<f32>,
    /// Output range in quanta that the fused activation leaves (`0..=255` without one).
    pub range: (u8, u8),
}

/// A convolution's integer weights, as read from the file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IntWeights {
    /// Weights with their zero point removed, HWIO. uint8 weights span −255..=255 once their
    /// zero point is removed, hence 16 bits.
    pub weight: Vec<i16>,
    /// Bias per output channel, in units of input scale × weight scale.
    pub bias: Vec<i32>,
}

impl QuantConv {
    /// The requantization multipliers `M[c]`, computed in f32 in the order TFLite's XNNPACK
    /// kernels compute them (`input scale × weight scale / output scale`).
    pub(crate) fn multipliers(&self) -> Vec<f32> {
        self.weight_scale
            .iter()
            .map(|&s| self.input.scale * s / self.output.scale)
            .collect()
    }

    /// The scales that turn an accumulator into a real value: `input scale × weight scale[c]`.
    pub(crate) fn dequantization(&self) -> Vec<f32> {
        self.weight_scale
            .iter()
            .map(|&s| self.input.scale * s)
            .collect()
    }
}

/// A residual addition of two quantized tensors into a third.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AddQuant {
    /// The block's input (the residual).
    pub a: QParams,
    /// The block's output before the addition (the projection).
    pub b: QParams,
    /// The sum.
    pub output: QParams,
}

impl AddQuant {
    /// Its integer requantization, if a 21-bit multiplier holds its scale ratios.
    pub(crate) fn requant(&self) -> Option<AddRequant> {
        AddRequant::new(self.a, self.b, self.output)
    }
}

/// Global average pooling of a quantized tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PoolQuant {
    /// The pooled tensor.
    pub input: QParams,
    /// The pooled values.
    pub output: QParams,
}

/// What the integer model needs beyond its convolutions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphQuant {
    /// Quantization of the graph's input image: the crop's bytes are its quanta.
    pub input: QParams,
    /// Per block of the architecture: the residual addition, if the block has one.
    pub adds: Vec<Option<AddQuant>>,
    /// The global pooling.
    pub pool: PoolQuant,
}
