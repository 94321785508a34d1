//! MobileNet V1 / V2 in 8-bit integers, as TFLite runs the published quantized files: every
//! activation a u8 tensor on its file's grid, every convolution an integer sum requantized by
//! the kernels' epilogue, the residual additions in fixed point. Only the logits leave the
//! integers (the classifier's accumulators times their scale, unrounded).

use burn::module::{Module, Param, ParamId};
use burn::tensor::{DType, Device, FloatDType, Int, IntDType, Tensor, TensorData};

use super::blocks::{ConvAct, ConvWeights};
use super::config::{Architecture, ConvSpec};
use super::ext::{self, Ops};
use super::mobilenet::Output;
use super::quant::{
    GraphQuant, InputQuant, IntWeights, Lut, PoolQuant, QuantConv, SeQuant, SoftmaxQuant,
};
use crate::error::{Error, Result};
use crate::kernels::conv::{QWeights, qpack, qpacked_shape};
use crate::kernels::gemm::int8::Layout;
use crate::kernels::select::selected;
use crate::spec::{AddRequant, Conv, InputScaling, QParams, Requant};

/// One 8-bit convolution with its packed weights and requantization.
#[derive(Module, Debug)]
struct QConv {
    /// In the kernels' layout ([`qpack`]): i16, or i8 for [`Layout::Quads`].
    weight: Param<Tensor<4, Int>>,
    /// i32, as [`qpack`] leaves it.
    bias: Param<Tensor<1, Int>>,
    /// `M[c]`.
    multiplier: Param<Tensor<1>>,
    /// For the logits: the scale of each accumulator (`input scale × weight scale[c]`).
    real_scale: Option<Param<Tensor<1>>>,
    #[module(skip)]
    conv: Conv,
    #[module(skip)]
    requant: Requant,
    /// The output's quantization (after `post`).
    #[module(skip)]
    output: QParams,
    /// The element-wise operators after the convolution (hard-swish, a gate's), as one table.
    #[module(skip)]
    post: Option<Lut>,
}

impl QConv {
    /// Builds the layer from its integer form; `add` is the residual addition that follows it,
    /// `real` makes it produce real-valued logits.
    fn new(
        spec: &ConvSpec,
        (q, w, post): (&QuantConv, &IntWeights, Option<(&Lut, QParams)>),
        add: Option<AddRequant>,
        real: bool,
        layout: Layout,
        device: &Device,
    ) -> Self {
        let conv = spec.conv;
        let layout = match layout {
            Layout::Quads if conv.groups != 1 && !selected().depthwise_quads => Layout::Pairs,
            _ => layout,
        };
        let packed = qpack(&conv, &w.weight, &w.bias, q.input.zero_point, layout);
        let shape = qpacked_shape(&conv, packed.layout());
        let weight = match packed.weight {
            QWeights::Quads(v) => {
                Tensor::<4, Int>::from_data(TensorData::new(v, shape), (device, DType::I8))
            }
            QWeights::Pairs(v) => {
                Tensor::<4, Int>::from_data(TensorData::new(v, shape), (device, DType::I16))
            }
        };
        let n = conv.out_channels;
        let vector = |v: Vec<f32>| {
            Param::from_tensor(Tensor::from_data(
                TensorData::new(v, [n]),
                (device, DType::F32),
            ))
        };
        let real_scale = real.then(|| vector(q.dequantization()));
        let multiplier = q.multipliers();
        let bias_len = packed.bias.len();
        Self {
            weight: Param::initialized(ParamId::new(), weight),
            bias: Param::initialized(
                ParamId::new(),
                Tensor::<1, Int>::from_data(
                    TensorData::new(packed.bias, [bias_len]),
                    (device, DType::I32),
                ),
            ),
            multiplier: vector(multiplier),
            real_scale,
            conv,
            requant: Requant {
                input_zero_point: q.input.zero_point,
                output_zero_point: q.output.zero_point,
                lo: q.range.0,
                hi: q.range.1,
                add,
            },
            output: post.map_or(q.output, |p| p.1),
            post: post.map(|p| p.0.clone()),
        }
    }

    /// The quantization of the layer's 8-bit output.
    fn requant_output(&self) -> QParams {
        self.output
    }

    fn weights(&self) -> ext::QWeights {
        (self.weight.val(), self.bias.val(), self.multiplier.val())
    }

    /// `[N, H, W, C]` quanta → `[N, H', W', C']` quanta (+ `residual`, when the layer adds one).
    fn forward(
        &self,
        x: Tensor<4, Int>,
        residual: Option<Tensor<4, Int>>,
        ops: Ops,
    ) -> Tensor<4, Int> {
        let y = ext::conv_int8(x, self.weights(), residual, self.conv, self.requant, ops);
        match &self.post {
            Some(lut) => apply(lut, y),
            None => y,
        }
    }

    /// `[N, H, W, C]` quanta → real values (the layer built with `real`).
    fn forward_real(&self, x: Tensor<4, Int>, ops: Ops) -> Tensor<4> {
        let zx = self.requant.input_zero_point;
        let scale = self
            .real_scale
            .as_ref()
            .expect("a layer built for real outputs");
        let weights = (self.weight.val(), self.bias.val(), scale.val());
        ext::conv_int8_real(x, weights, self.conv, zx, ops)
    }
}

/// Squeeze-excite in integers: pool, reducing and expanding 1×1 convolutions (the second's
/// table holds the rest of the hard-sigmoid gate), then the product with the activations.
#[derive(Module, Debug)]
struct QSqueezeExcite {
    reduce: QConv,
    expand: QConv,
    #[module(skip)]
    quant: SeQuant,
}

impl QSqueezeExcite {
    fn forward(&self, x: Tensor<4, Int>, ops: Ops) -> Tensor<4, Int> {
        let q = self.quant;
        let g = qpool(x.clone(), q.pool);
        let g = self.reduce.forward(g, None, ops);
        let g = self.expand.forward(g, None, ops);
        // (x − zx)(g − zg) is exact in f32 (|·| < 2^24), as XNNPACK's int32 product is; one
        // rounding by the scale, then round half to even before the zero point.
        let zo = q.output.zero_point as f32;
        let a = x.cast(FloatDType::F32).sub_scalar(q.x.zero_point as f32);
        let b = g.cast(FloatDType::F32).sub_scalar(q.gate.zero_point as f32);
        (a * b)
            .mul_scalar(q.scale)
            .round()
            .add_scalar(zo)
            .clamp(0.0, 255.0)
            .cast(IntDType::U8)
    }
}

/// A block: optional 1×1 expansion, depthwise, optional squeeze-excite, 1×1 projection (+ the
/// block input).
#[derive(Module, Debug)]
struct QBlock {
    expand: Option<QConv>,
    depthwise: QConv,
    squeeze_excite: Option<QSqueezeExcite>,
    project: QConv,
    #[module(skip)]
    residual: bool,
}

/// The integer network.
#[derive(Module, Debug)]
pub(crate) struct QuantMobileNet {
    stem: QConv,
    blocks: Vec<QBlock>,
    last_conv: Option<QConv>,
    /// The dense layers after the pool; the last gives real-valued logits (unless a float head
    /// follows).
    head: Vec<QConv>,
    /// Float dense layers on the dequantized features (an exported custom head), the last
    /// giving the logits.
    float_head: Vec<ConvAct>,
    /// How the crop becomes the graph's input quanta, and the operators before the stem.
    #[module(skip)]
    input: (InputQuant, Option<Lut>),
    #[module(skip)]
    pool: PoolQuant,
    #[module(skip)]
    softmax: Option<SoftmaxQuant>,
    #[module(skip)]
    layout: Layout,
    #[module(skip)]
    ops: Ops,
}

impl QuantMobileNet {
    /// Builds the network from the integer form of each convolution (in the order of
    /// [`Architecture::convs`]) and of the graph, one-group weights packed in `layout`
    /// ([`Layout::preferred`] for the fastest here; every layout gives the same outputs).
    pub(crate) fn new(
        arch: &Architecture,
        convs: &[(&QuantConv, &IntWeights)],
        graph: &GraphQuant,
        float_head: Vec<ConvWeights>,
        layout: Layout,
        ops: Ops,
        device: &Device,
    ) -> Result<Self> {
        let specs = arch.convs();
        if specs.len() != convs.len() + float_head.len()
            || float_head.len() != graph.float_head
            || graph.post.len() != convs.len()
            || graph.adds.len() != arch.blocks.len()
            || graph.squeeze_excite.len() != arch.blocks.len()
        {
            return Err(Error::Internal(
                "the integer plan does not cover the architecture".into(),
            ));
        }
        let mut next = specs.iter().zip(convs.iter().copied()).zip(&graph.post);
        let mut layer = |add: Option<AddRequant>, real: bool| {
            let ((spec, (q, w)), post) = next.next().expect("one quantized convolution per spec");
            QConv::new(
                spec,
                (q, w, post.as_ref().map(|(l, g)| (l, *g))),
                add,
                real,
                layout,
                device,
            )
        };
        let stem = layer(None, false);
        let mut blocks = Vec::with_capacity(arch.blocks.len());
        for ((spec, add), se) in arch
            .blocks
            .iter()
            .zip(&graph.adds)
            .zip(&graph.squeeze_excite)
        {
            let add = match add {
                Some(a) => Some(a.requant().ok_or_else(|| {
                    Error::ModelUnsupported(format!(
                        "a residual addition whose scales ({}, {} → {}) no 21-bit multiplier holds",
                        a.a.scale, a.b.scale, a.output.scale
                    ))
                })?),
                None => None,
            };
            let expand = spec.expand.map(|_| layer(None, false));
            let depthwise = layer(None, false);
            let squeeze_excite = match (spec.squeeze_excite, se) {
                (Some(_), Some(quant)) => Some(QSqueezeExcite {
                    reduce: layer(None, false),
                    expand: layer(None, false),
                    quant: *quant,
                }),
                (None, None) => None,
                _ => {
                    return Err(Error::Internal(
                        "squeeze-excite without its integer plan".into(),
                    ));
                }
            };
            let project = layer(add, false);
            blocks.push(QBlock {
                expand,
                depthwise,
                squeeze_excite,
                project,
                residual: add.is_some(),
            });
        }
        let last_conv = arch.last_conv.map(|_| layer(None, false));
        let n = arch.head.len() - float_head.len();
        let last_real = float_head.is_empty();
        let head = (0..n)
            .map(|i| layer(None, last_real && i + 1 == n))
            .collect();
        let float_head = arch.head[n..]
            .iter()
            .zip(float_head)
            .map(|(s, w)| ConvAct::new(s, w, device))
            .collect();
        Ok(Self {
            stem,
            blocks,
            last_conv,
            head,
            float_head,
            input: (graph.input, graph.prelude.clone()),
            pool: graph.pool,
            softmax: graph.softmax,
            layout,
            ops,
        })
    }

    /// The weight layout asked for (a layer whose weights do not fit it keeps 16-bit pairs).
    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// The integer head layers, then the float ones on their dequantized output.
    fn forward_float_head(&self, mut x: Tensor<4, Int>) -> Output {
        let ops = self.ops;
        let mut features = self.pool.output;
        for layer in &self.head {
            features = layer.requant_output();
            x = layer.forward(x, None, ops);
        }
        let mut x: Tensor<4> = x
            .cast(FloatDType::F32)
            .sub_scalar(features.zero_point as f32)
            .mul_scalar(features.scale);
        let (classifier, hidden) = self.float_head.split_last().expect("a float head");
        for layer in hidden {
            x = layer.forward(x, ops);
        }
        Output {
            embedding: x.clone().flatten(1, 3),
            logits: classifier.forward(x, ops).flatten(1, 3),
            probabilities: None,
        }
    }

    /// `[N, S, S, 3]` u8 pixels (the crop's bytes, NHWC) → embedding and logits.
    pub(crate) fn forward(&self, x: Tensor<4, Int>) -> Output {
        let ops = self.ops;
        let (input, prelude) = &self.input;
        let x = match *input {
            InputQuant::Raw(_) => x,
            InputQuant::Caller {
                scaling,
                quant,
                signed,
            } => quantize_caller(x, scaling, quant, signed),
            InputQuant::Graph { scaling, quant } => quantize(x, scaling, quant),
        };
        let x = match prelude {
            Some(lut) => apply(lut, x),
            None => x,
        };
        let mut x = self.stem.forward(x, None, ops);
        for b in &self.blocks {
            let input = b.residual.then(|| x.clone());
            let mut y = match &b.expand {
                Some(e) => e.forward(x, None, ops),
                None => x,
            };
            y = b.depthwise.forward(y, None, ops);
            if let Some(se) = &b.squeeze_excite {
                y = se.forward(y, ops);
            }
            x = b.project.forward(y, input, ops);
        }
        if let Some(c) = &self.last_conv {
            x = c.forward(x, None, ops);
        }
        let mut x = qpool(x, self.pool);
        if !self.float_head.is_empty() {
            return self.forward_float_head(x);
        }
        let (classifier, hidden) = self.head.split_last().expect("a network has a head");
        let mut features = self.pool.output;
        for layer in hidden {
            features = layer.requant_output();
            x = layer.forward(x, None, ops);
        }
        let embedding: Tensor<2> = x
            .clone()
            .cast(FloatDType::F32)
            .sub_scalar(features.zero_point as f32)
            .mul_scalar(features.scale)
            .flatten(1, 3);
        // The logits leave the integers unrounded (a finer ranking than 256 levels); where the
        // graph has its own 8-bit softmax, its probabilities come from the rounded logits.
        let probabilities = self.softmax.map(|s| {
            let q = classifier.forward(x.clone(), None, ops);
            let [n, _, _, c] = q.dims();
            let device = q.device();
            let quanta: Vec<u8> = q.into_data().try_to_vec::<u8>().unwrap_or_default();
            let p: Vec<f32> = quanta
                .chunks(c.max(1))
                .flat_map(|row| s.probabilities(row))
                .collect();
            Tensor::<2>::from_data(TensorData::new(p, [n, c]), &device)
        });
        let logits = classifier.forward_real(x, ops).flatten(1, 3);
        Output {
            embedding,
            logits,
            probabilities,
        }
    }
}

/// Global average pooling of 8-bit activations `[N, H, W, C]` → `[N, 1, 1, C]`, as TFLite
/// computes it ([`PoolQuant`]). Burn's ops on both backends: it is a small share of the work.
fn qpool(x: Tensor<4, Int>, q: PoolQuant) -> Tensor<4, Int> {
    let [_, h, w, _] = x.dims();
    let n = h * w;
    // Sums of at most 2^16 bytes are exact in f64, and below 2^24 in f32.
    let sum = x.cast(FloatDType::F64).sum_dim(1).sum_dim(2);
    if !q.mean {
        return (sum.add_scalar((n / 2) as f64) / n as f64)
            .floor()
            .clamp(0.0, 255.0)
            .cast(IntDType::U8);
    }
    // In the file's terms: int8 values sum to Σ q − 128 n.
    let shift = if q.signed { 128 } else { 0 };
    let (zi, zo) = (q.input.zero_point - shift, q.output.zero_point - shift);
    let scale = (q.input.scale / q.output.scale) * (1.0 / n as f32);
    let zp = zo as f32 - (n as f32 * zi as f32) * scale;
    let (lo, hi) = if q.signed {
        (-128.0, 127.0)
    } else {
        (0.0, 255.0)
    };
    sum.sub_scalar((shift as usize * n) as f64)
        .cast(FloatDType::F32)
        .mul_scalar(scale)
        .add_scalar(zp)
        .round()
        .clamp(lo, hi)
        .add_scalar(shift as f32)
        .cast(IntDType::U8)
}

/// Maps every quantum through a table.
fn apply(lut: &Lut, x: Tensor<4, Int>) -> Tensor<4, Int> {
    let dims = x.dims();
    let device = x.device();
    let table =
        Tensor::<1, Int>::from_data(TensorData::new(lut.0.to_vec(), [256]), (&device, DType::U8));
    let index = x.flatten::<1>(0, 3).cast(IntDType::I32);
    table.select(0, index).reshape(dims)
}

/// The crop's bytes as the float input `scaling` says, with tensor ops in its order of operations.
fn scaled(x: Tensor<4, Int>, scaling: InputScaling) -> Tensor<4> {
    let x = x.cast(FloatDType::F32);
    match scaling {
        InputScaling::MobileNet => x.div_scalar(127.5).sub_scalar(1.0),
        InputScaling::Dequantize { scale, zero_point } => {
            x.sub_scalar(zero_point).mul_scalar(scale)
        }
        InputScaling::Normalize { mean, std } => {
            let device = x.device();
            let row = |v: [f32; 3]| {
                Tensor::<4>::from_data(TensorData::new(v.to_vec(), [1, 1, 1, 3]), &device)
            };
            (x - row(mean)) / row(std)
        }
        InputScaling::Affine { mul, add } => x.mul_scalar(mul).add_scalar(add),
    }
}

/// The float input quantized as a caller of TFLite does it (`np.round(x / scale + zero_point)`
/// in f32, in the input tensor's own terms), held in unsigned terms.
fn quantize_caller(
    x: Tensor<4, Int>,
    scaling: InputScaling,
    to: QParams,
    signed: bool,
) -> Tensor<4, Int> {
    let shift = if signed { 128.0 } else { 0.0 };
    let zp = to.zero_point as f32 - shift;
    (scaled(x, scaling)
        .div_scalar(to.scale)
        .add_scalar(zp)
        .round()
        + shift)
        .clamp(0.0, 255.0)
        .cast(IntDType::U8)
}

/// The float input quantized as the graph's first QUANTIZE does it (XNNPACK's conversion):
/// `zo + round_half_even(clamp(x · (1 / scale), lo − zo, hi − zo))`.
fn quantize(x: Tensor<4, Int>, scaling: InputScaling, to: QParams) -> Tensor<4, Int> {
    let x = scaled(x, scaling);
    let zo = to.zero_point as f32;
    x.mul_scalar(1.0 / to.scale)
        .clamp(-zo, 255.0 - zo)
        .round()
        .add_scalar(zo)
        .cast(IntDType::U8)
}
