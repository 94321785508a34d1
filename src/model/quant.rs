//! The integer form of a quantized TFLite graph, as read from the file: what the int8 model
//! ([`super::QuantMobileNet`]) is built from.
//!
//! Activations are 8-bit with one scale and zero point per tensor. Both unsigned (uint8) and
//! signed (int8) files are held in unsigned terms: an int8 value `q` is `q + 128` here, its zero
//! point too, which changes no difference `q − zero_point`. The few operations whose result
//! depends on the file's own terms (those that add a zero point in floating point before
//! rounding) are told which they are by [`GraphQuant::signed`].

use crate::spec::{AddRequant, InputScaling, QParams};

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

/// An addition of two quantized tensors into a third.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct AddQuant {
    /// The first operand (a block's input, the residual).
    pub a: QParams,
    /// The second operand (the projection).
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

/// How the crop becomes the graph input's quanta.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum InputQuant {
    /// The crop's bytes are the input's quanta: the TF1-era quantized MobileNets (uint8 input,
    /// zero point 128), which TFLite's examples and tools feed raw pixels.
    Raw(QParams),
    /// The caller quantizes the float input (`scaling`) onto the input tensor's grid as TFLite's
    /// Python examples do, `round_half_even(x / scale + zero_point)` in f32: a uint8 or int8
    /// input calibrated on float values (the TF2 converter's).
    Caller {
        /// The float input the graph expects.
        scaling: InputScaling,
        /// The input tensor's quantization.
        quant: QParams,
        /// Whether the input tensor is int8 (its zero point is then `quant`'s less 128).
        signed: bool,
    },
    /// A float input quantized by the graph's own QUANTIZE (XNNPACK's conversion:
    /// `zo + round_half_even(clamp(x · (1 / scale)))`).
    Graph {
        /// The float input the graph expects.
        scaling: InputScaling,
        /// The quantization it is put on.
        quant: QParams,
    },
}

impl InputQuant {
    /// The quantization the input quanta are on.
    pub(crate) fn quant(&self) -> QParams {
        match *self {
            InputQuant::Raw(q) | InputQuant::Caller { quant: q, .. } | InputQuant::Graph { quant: q, .. } => q,
        }
    }
}

/// The integer plan of a whole graph beyond its convolutions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphQuant {
    /// Whether the file's activations are int8 (else uint8).
    pub signed: bool,
    /// How the crop becomes the graph's input quanta.
    pub input: InputQuant,
    /// The stem's input quantization, when a QUANTIZE between 8-bit types requantizes the graph
    /// input onto it.
    pub stem_input: QParams,
    /// Per block of the architecture: the residual addition, if the block has one.
    pub adds: Vec<Option<AddQuant>>,
    /// The global pooling.
    pub pool: PoolQuant,
}
