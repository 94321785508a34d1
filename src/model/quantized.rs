//! MobileNet V1 / V2 in 8-bit integers, as TFLite runs the published quantized files: every
//! activation a u8 tensor on its file's grid, every convolution an integer sum requantized by
//! the kernels' epilogue, the residual additions in fixed point. Only the logits leave the
//! integers (the classifier's accumulators times their scale, unrounded).

use burn::module::{Module, Param, ParamId};
use burn::tensor::{DType, Device, Int, Tensor, TensorData};

use super::config::{Architecture, ConvSpec};
use super::mobilenet::Output;
use super::quant::{AddRequant, GraphQuant, PoolQuant, QParams, QuantConv};
use crate::error::{Error, Result};
use crate::kernels::quantized::{Layout, qconv2d, qconv2d_real, qpack, qpool, requantize};
use crate::kernels::{Conv, Requant};

/// One 8-bit convolution with its packed weights and requantization.
#[derive(Module, Debug)]
pub struct QConv {
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
}

impl QConv {
    /// Builds the layer from its integer form; `add` is the residual addition that follows it,
    /// `real` makes it produce real-valued logits.
    fn new(
        spec: &ConvSpec,
        q: &QuantConv,
        add: Option<AddRequant>,
        real: bool,
        layout: Layout,
        device: &Device,
    ) -> Self {
        let conv = Conv {
            kernel: spec.kernel,
            stride: spec.stride,
            groups: spec.groups,
            in_channels: spec.in_channels,
            out_channels: spec.out_channels,
        };
        let packed = qpack(&conv, &q.weight, &q.bias, q.input.zero_point, layout);
        let weight_dtype = match packed.layout {
            Layout::Quads => DType::I8,
            Layout::Pairs => DType::I16,
        };
        let n = spec.out_channels;
        let multiplier = if real {
            q.dequantization()
        } else {
            q.multipliers()
        };
        Self {
            weight: Param::initialized(
                ParamId::new(),
                Tensor::<4, Int>::from_data(packed.weight, (device, weight_dtype)),
            ),
            bias: Param::initialized(
                ParamId::new(),
                Tensor::<1, Int>::from_data(packed.bias, (device, DType::I32)),
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
        }
    }

    /// `[N, H, W, C]` quanta → `[N, H', W', C']` quanta (+ `residual`, when the layer adds one).
    fn forward(&self, x: Tensor<4, Int>, residual: Option<Tensor<4, Int>>) -> Tensor<4, Int> {
        qconv2d(
            x,
            self.weight.val(),
            self.bias.val(),
            self.multiplier.val(),
            residual,
            self.conv,
            self.requant,
        )
    }

    /// `[N, H, W, C]` quanta → real values.
    fn forward_real(&self, x: Tensor<4, Int>) -> Tensor<4> {
        qconv2d_real(
            x,
            self.weight.val(),
            self.bias.val(),
            self.multiplier.val(),
            self.conv,
            self.requant.input_zero_point,
        )
    }
}

/// A block: optional 1×1 expansion, depthwise, 1×1 projection (+ the block input).
#[derive(Module, Debug)]
pub struct QBlock {
    expand: Option<QConv>,
    depthwise: QConv,
    project: QConv,
    #[module(skip)]
    residual: bool,
}

/// The integer network.
#[derive(Module, Debug)]
pub struct QuantMobileNet {
    stem: QConv,
    blocks: Vec<QBlock>,
    last_conv: Option<QConv>,
    classifier: QConv,
    /// The graph input's quantization and the stem's (they differ when a QUANTIZE op sits
    /// between them).
    #[module(skip)]
    input: (QParams, QParams),
    #[module(skip)]
    pool: PoolQuant,
    #[module(skip)]
    layout: Layout,
}

impl QuantMobileNet {
    /// Builds the network from the integer form of each convolution (in the order of
    /// [`Architecture::convs`]) and of the graph, one-group weights packed in `layout`
    /// ([`Layout::preferred`] for the fastest here; every layout gives the same outputs).
    pub fn new(
        arch: &Architecture,
        convs: &[&QuantConv],
        graph: &GraphQuant,
        layout: Layout,
        device: &Device,
    ) -> Result<Self> {
        let specs = arch.convs();
        if specs.len() != convs.len() || graph.adds.len() != arch.blocks.len() {
            return Err(Error::Internal(
                "the integer plan does not cover the architecture".into(),
            ));
        }
        if arch.blocks.iter().any(|b| b.squeeze_excite.is_some()) || arch.pre_logits.is_some() {
            return Err(Error::ModelUnsupported(
                "the int8 model runs MobileNet V1 and V2; this one has squeeze-excite".into(),
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
                Some(a) => Some(AddRequant::new(a).ok_or_else(|| {
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
        let classifier = layer(None, true);
        Ok(Self {
            stem,
            blocks,
            last_conv,
            classifier,
            input: (graph.input, convs[0].input),
            pool: graph.pool,
            layout,
        })
    }

    /// The weight layout asked for (a layer whose weights do not fit it keeps 16-bit pairs).
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// `[N, S, S, 3]` u8 pixels (the crop's bytes, NHWC) → embedding and logits.
    pub fn forward(&self, x: Tensor<4, Int>) -> Output {
        let x = requantize(x, self.input.0, self.input.1);
        let mut x = self.stem.forward(x, None);
        for b in &self.blocks {
            let input = b.residual.then(|| x.clone());
            let mut y = match &b.expand {
                Some(e) => e.forward(x, None),
                None => x,
            };
            y = b.depthwise.forward(y, None);
            x = b.project.forward(y, input);
        }
        if let Some(c) = &self.last_conv {
            x = c.forward(x, None);
        }
        let pooled = qpool(x, self.pool);
        let out = self.pool.output;
        let embedding: Tensor<2> = pooled
            .clone()
            .cast(burn::tensor::FloatDType::F32)
            .sub_scalar(out.zero_point as f32)
            .mul_scalar(out.scale)
            .flatten(1, 3);
        let logits = self.classifier.forward_real(pooled).flatten(1, 3);
        Output { embedding, logits }
    }
}
