//! MobileNet V1 / V2 in 8-bit integers, as TFLite runs the published quantized files: every
//! activation a u8 tensor on its file's grid, every convolution an integer sum requantized by
//! the kernels' epilogue, the residual additions in fixed point. Only the logits leave the
//! integers (the classifier's accumulators times their scale, unrounded).

use burn::module::{Module, Param, ParamId};
use burn::tensor::{DType, Device, FloatDType, Int, IntDType, Tensor, TensorData};

use super::config::{Architecture, ConvSpec};
use super::ext::{self, Ops};
use super::mobilenet::Output;
use super::quant::{GraphQuant, InputQuant, IntWeights, PoolQuant, QuantConv};
use crate::error::{Error, Result};
use crate::kernels::conv::{QWeights, qpack, qpacked_shape};
use crate::kernels::gemm::int8::Layout;
use crate::spec::{AddRequant, Conv, InputScaling, QParams, Requant};

/// One 8-bit convolution with its packed weights and requantization.
#[derive(Module, Debug)]
struct QConv {
    /// In the kernels' layout ([`qpack`]): i16, or i8 for [`Layout::Quads`].
    weight: Param<Tensor<4, Int>>,
    /// i32, as [`qpack`] leaves it.
    bias: Param<Tensor<1, Int>>,
    /// `M[c]`, or for the logits the dequantization scale.
    multiplier: Param<Tensor<1>>,
    #[module(skip)]
    conv: Conv,
    #[module(skip)]
    requant: Requant,
    /// The output's quantization.
    #[module(skip)]
    output: QParams,
}

impl QConv {
    /// Builds the layer from its integer form; `add` is the residual addition that follows it,
    /// `real` makes it produce real-valued logits.
    fn new(
        spec: &ConvSpec,
        (q, w): (&QuantConv, &IntWeights),
        add: Option<AddRequant>,
        real: bool,
        layout: Layout,
        device: &Device,
    ) -> Self {
        let conv = spec.conv;
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
        let multiplier = if real {
            q.dequantization()
        } else {
            q.multipliers()
        };
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
            multiplier: Param::from_tensor(Tensor::from_data(
                TensorData::new(multiplier, [n]),
                (device, DType::F32),
            )),
            conv,
            requant: Requant {
                input_zero_point: q.input.zero_point,
                output_zero_point: q.output.zero_point,
                lo: q.range.0,
                hi: q.range.1,
                add,
            },
            output: q.output,
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
        ext::conv_int8(x, self.weights(), residual, self.conv, self.requant, ops)
    }

    /// `[N, H, W, C]` quanta → real values.
    fn forward_real(&self, x: Tensor<4, Int>, ops: Ops) -> Tensor<4> {
        let zx = self.requant.input_zero_point;
        ext::conv_int8_real(x, self.weights(), self.conv, zx, ops)
    }
}

/// A block: optional 1×1 expansion, depthwise, 1×1 projection (+ the block input).
#[derive(Module, Debug)]
struct QBlock {
    expand: Option<QConv>,
    depthwise: QConv,
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
    /// The dense layers after the pool; the last gives real-valued logits.
    head: Vec<QConv>,
    /// How the crop becomes the graph's input quanta, and the stem's input quantization.
    #[module(skip)]
    input: (InputQuant, QParams),
    #[module(skip)]
    pool: PoolQuant,
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
        layout: Layout,
        ops: Ops,
        device: &Device,
    ) -> Result<Self> {
        let specs = arch.convs();
        if specs.len() != convs.len() || graph.adds.len() != arch.blocks.len() {
            return Err(Error::Internal(
                "the integer plan does not cover the architecture".into(),
            ));
        }
        if arch.blocks.iter().any(|b| b.squeeze_excite.is_some()) {
            return Err(Error::ModelUnsupported(
                "the int8 model has no squeeze-excite".into(),
            ));
        }
        let mut next = specs.iter().zip(convs.iter().copied());
        let mut layer = |add: Option<AddRequant>, real: bool| {
            let (spec, q) = next.next().expect("one quantized convolution per spec");
            QConv::new(spec, q, add, real, layout, device)
        };
        let stem = layer(None, false);
        let mut blocks = Vec::with_capacity(arch.blocks.len());
        for (spec, add) in arch.blocks.iter().zip(&graph.adds) {
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
            let project = layer(add, false);
            blocks.push(QBlock {
                expand,
                depthwise,
                project,
                residual: add.is_some(),
            });
        }
        let last_conv = arch.last_conv.map(|_| layer(None, false));
        let n = arch.head.len();
        let head = (0..n).map(|i| layer(None, i + 1 == n)).collect();
        Ok(Self {
            stem,
            blocks,
            last_conv,
            head,
            input: (graph.input, graph.stem_input),
            pool: graph.pool,
            layout,
            ops,
        })
    }

    /// The weight layout asked for (a layer whose weights do not fit it keeps 16-bit pairs).
    pub(crate) fn layout(&self) -> Layout {
        self.layout
    }

    /// `[N, S, S, 3]` u8 pixels (the crop's bytes, NHWC) → embedding and logits.
    pub(crate) fn forward(&self, x: Tensor<4, Int>) -> Output {
        let ops = self.ops;
        let (input, stem) = self.input;
        let x = match input {
            InputQuant::Raw(_) => x,
            InputQuant::Caller { scaling, quant, signed } => quantize_caller(x, scaling, quant, signed),
            InputQuant::Graph { scaling, quant } => quantize(x, scaling, quant),
        };
        let x = requantize(x, input.quant(), stem);
        let mut x = self.stem.forward(x, None, ops);
        for b in &self.blocks {
            let input = b.residual.then(|| x.clone());
            let mut y = match &b.expand {
                Some(e) => e.forward(x, None, ops),
                None => x,
            };
            y = b.depthwise.forward(y, None, ops);
            x = b.project.forward(y, input, ops);
        }
        if let Some(c) = &self.last_conv {
            x = c.forward(x, None, ops);
        }
        let mut x = qpool(x, self.pool);
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
        let logits = classifier.forward_real(x, ops).flatten(1, 3);
        Output { embedding, logits }
    }
}

/// Global average pooling of 8-bit activations `[N, H, W, C]` → `[N, 1, 1, C]`, as TFLite
/// computes it: with equal input and output quantization (AVERAGE_POOL_2D) the rounded integer
/// mean `(Σ q + count / 2) / count`; otherwise (MEAN) `zo + round(float(Σ (q − zi)) · si / (so ·
/// count))`. Burn's ops on both backends: it is a small share of the work.
fn qpool(x: Tensor<4, Int>, q: PoolQuant) -> Tensor<4, Int> {
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

/// The crop's bytes as the float input `scaling` says, with tensor ops in its order of operations.
fn scaled(x: Tensor<4, Int>, scaling: InputScaling) -> Tensor<4> {
    let x = x.cast(FloatDType::F32);
    match scaling {
        InputScaling::MobileNet => x.div_scalar(127.5).sub_scalar(1.0),
        InputScaling::Dequantize { scale, zero_point } => x.sub_scalar(zero_point).mul_scalar(scale),
        InputScaling::Normalize { mean, std } => x.sub_scalar(mean).div_scalar(std),
        InputScaling::Affine { mul, add } => x.mul_scalar(mul).add_scalar(add),
    }
}

/// The float input quantized as a caller of TFLite does it (`np.round(x / scale + zero_point)`
/// in f32, in the input tensor's own terms), held in unsigned terms.
fn quantize_caller(x: Tensor<4, Int>, scaling: InputScaling, to: QParams, signed: bool) -> Tensor<4, Int> {
    let shift = if signed { 128.0 } else { 0.0 };
    let zp = to.zero_point as f32 - shift;
    (scaled(x, scaling).div_scalar(to.scale).add_scalar(zp).round() + shift)
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

/// Requantizes 8-bit values from one quantization to another (the graph input to the stem's,
/// when a QUANTIZE op sits between them): `zo + round((q − zi) · si / so)`.
fn requantize(x: Tensor<4, Int>, from: QParams, to: QParams) -> Tensor<4, Int> {
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
