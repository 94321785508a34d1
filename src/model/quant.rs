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
    /// A MEAN (XNNPACK's, in the file's own terms: `nearbyint(float(Σ q) · s′ + z′)` with
    /// `s′ = si / so · (1 / n)` and `z′ = zo − (n · zi) · s′`), else an AVERAGE_POOL_2D on equal
    /// grids (TFLite's builtin: `(Σ q + n / 2) / n`).
    pub mean: bool,
    /// Whether the file's tensors are int8 (the MEAN's terms).
    pub signed: bool,
}

/// A function from one 8-bit quantum to another, in unsigned terms: element-wise operators on a
/// quantized tensor whose other operands are constants (hard-swish, a QUANTIZE between grids,
/// a MUL or ADD by a constant), computed once at load as TFLite computes each value.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Lut(pub [u8; 256]);

impl std::fmt::Debug for Lut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Lut({:?}…)", &self.0[..4])
    }
}

impl Lut {
    /// This table, then `next`.
    pub(crate) fn then(&self, next: &Lut) -> Lut {
        Lut(self.0.map(|q| next.0[q as usize]))
    }
}

/// Squeeze-excite's integer steps besides its two convolutions: the pool, and the product of
/// the block's activations and the gate (`zo + round(float((x − zx)(g − zg)) · s)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SeQuant {
    pub pool: PoolQuant,
    /// The activations multiplied.
    pub x: QParams,
    /// The gate.
    pub gate: QParams,
    /// The product.
    pub output: QParams,
    /// `sx · sg / so`, in f32 in that order.
    pub scale: f32,
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

/// A SOFTMAX from 8-bit logits to 8-bit probabilities, as TFLite's own kernel computes it on
/// x86 (the delegate leaves it to TFLite): `e^(β·s·(q − max))` from a table of 256 f32 values,
/// summed in order, each scaled by `1 / (sum · so)` and rounded (half away from zero for int8,
/// `+ 0.5` truncated for uint8).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SoftmaxQuant {
    /// The logits' grid.
    pub input: QParams,
    /// The probabilities' grid (TFLite requires scale 1/256).
    pub output: QParams,
    /// Whether the probabilities are int8.
    pub signed: bool,
    pub beta: f32,
}

impl SoftmaxQuant {
    /// Probabilities (dequantized) from the logits' quanta (unsigned terms).
    pub(crate) fn probabilities(&self, logits: &[u8]) -> Vec<f32> {
        let scale = -self.input.scale * self.beta;
        // f64 `exp` rounded to f32: the correctly rounded `expf` on every platform.
        // `table[255 − v] = e^(scale · v)`, as TFLite fills it.
        let table: Vec<f32> = (0..=255)
            .map(|i| ((scale * (255 - i) as f32) as f64).exp() as f32)
            .collect();
        let max = logits.iter().copied().max().unwrap_or(0);
        // The entry for `q` is `table[255 − (max − q)]`.
        let e = |q: u8| table[255 - (max - q) as usize];
        let sum: f32 = logits.iter().map(|&q| e(q)).sum();
        let inv = 1.0 / (sum * self.output.scale);
        let shift = if self.signed { 128 } else { 0 };
        let zo = self.output.zero_point - shift;
        let (lo, hi) = if self.signed { (-128, 127) } else { (0, 255) };
        logits
            .iter()
            .map(|&q| {
                let p = e(q) * inv;
                let r = if self.signed {
                    p.round() as i32
                } else {
                    (p + 0.5) as i32
                };
                let out = (r + zo).clamp(lo, hi);
                (out - zo) as f32 * self.output.scale
            })
            .collect()
    }
}

/// The integer plan of a whole graph beyond its convolutions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GraphQuant {
    /// Whether the file's activations are int8 (else uint8).
    pub signed: bool,
    /// How the crop becomes the graph's input quanta.
    pub input: InputQuant,
    /// The element-wise operators between the input quanta and the stem (a QUANTIZE between
    /// 8-bit types, an in-model rescaling).
    pub prelude: Option<Lut>,
    /// Per convolution (in [`super::Architecture::convs`] order): the element-wise operators
    /// after it (hard-swish; the gate of squeeze-excite past its ReLU6) and the grid they end on.
    pub post: Vec<Option<(Lut, QParams)>>,
    /// Per block of the architecture: the residual addition, if the block has one.
    pub adds: Vec<Option<AddQuant>>,
    /// Per block: squeeze-excite's pool and product, if the block has one.
    pub squeeze_excite: Vec<Option<SeQuant>>,
    /// The global pooling.
    pub pool: PoolQuant,
    /// The graph's own 8-bit SOFTMAX, whose probabilities the model reports exactly.
    pub softmax: Option<SoftmaxQuant>,
    /// How many of the head's last layers run in float on the dequantized features.
    pub float_head: usize,
}
