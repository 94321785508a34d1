//! The building blocks: convolution + bias + activation, squeeze-excite, inverted residual.

use burn::module::{Module, Param, ParamId};
use burn::tensor::{DType, Device, Int, Tensor, TensorData};

use super::config::{BlockSpec, ConvSpec};
use super::ext::{self, Ops};
use super::hybrid::{HybridKind, HybridWeights};
use crate::kernels::conv::{QWeights, qpack, qpacked_shape};
use crate::kernels::gemm::f32::{pack, packed_shape};
use crate::kernels::gemm::int8::Layout;
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
    /// For a dynamic-range layer: its 8-bit weights, run as TFLite's hybrid kernels run them
    /// (`weight` is then empty).
    pub hybrid: Option<HybridWeights>,
    /// Sum in XNNPACK's order ([`crate::kernels::ordered`]): the float layers of a
    /// dynamic-range file.
    pub ordered: bool,
}

/// Float weights in the kernels' layout (panels for one group, HWIO for depthwise; HWIO when
/// `ordered`), and bias.
#[derive(Module, Debug)]
struct FloatWeights {
    weight: Param<Tensor<4>>,
    bias: Param<Tensor<1>>,
    #[module(skip)]
    ordered: bool,
}

/// A dynamic-range layer: 8-bit weights, the float input quantized per call (TFLite's hybrid
/// kernels), integer products, float outputs.
#[derive(Module, Debug)]
struct HybridConv {
    /// i16 pairs ([`Layout::Pairs`]: the input zero point is known only per call); for
    /// [`HybridKind::XnnpackRows`], the weights as f32 `[in, out]` instead.
    packed: Option<Param<Tensor<4, Int>>>,
    dense: Option<Param<Tensor<2>>>,
    /// Zeros (the float bias is added after).
    zero: Param<Tensor<1, Int>>,
    /// Weight scales, one per output channel.
    scale: Param<Tensor<1>>,
    bias: Param<Tensor<1>>,
    /// The scales and bias on the host, for the fused scaling.
    #[module(skip)]
    host_scale: Vec<f32>,
    #[module(skip)]
    host_bias: Vec<f32>,
    #[module(skip)]
    kind: HybridKind,
}

/// Products of quanta below 2^24 are exact in f32: 512 input channels of |q − z| ≤ 255 and
/// |w| ≤ 128 stay under it, so the dense products run in chunks of 512, summed in f64.
const EXACT_CHUNK: usize = 512;

impl HybridConv {
    fn new(conv: &Conv, h: HybridWeights, bias: Vec<f32>, device: &Device) -> Self {
        let n = conv.out_channels;
        let zero = vec![0i32; n];
        let floats =
            |v: Vec<f32>| Param::from_tensor(Tensor::from_data(TensorData::new(v, [n]), device));
        let (packed, dense) = if h.kind == HybridKind::XnnpackRows {
            let k = conv.in_channels;
            let w: Vec<f32> = h.weight.iter().map(|&v| v as f32).collect();
            (
                None,
                Some(Param::from_tensor(Tensor::from_data(
                    TensorData::new(w, [k, n]),
                    device,
                ))),
            )
        } else {
            let packed = qpack(conv, &h.weight, &zero, 0, Layout::Pairs);
            let QWeights::Pairs(w) = packed.weight else {
                unreachable!("the pairs layout was asked for")
            };
            let shape = qpacked_shape(conv, Layout::Pairs);
            let t = Tensor::<4, Int>::from_data(TensorData::new(w, shape), (device, DType::I16));
            (Some(Param::initialized(ParamId::new(), t)), None)
        };
        Self {
            packed,
            dense,
            zero: Param::initialized(
                ParamId::new(),
                Tensor::<1, Int>::from_data(TensorData::new(zero, [n]), (device, DType::I32)),
            ),
            host_scale: h.scales.clone(),
            host_bias: bias.clone(),
            scale: floats(h.scales),
            bias: floats(bias),
            kind: h.kind,
        }
    }

    fn forward(&self, x: Tensor<4>, conv: Conv, epilogue: &Epilogue, ops: Ops) -> Tensor<4> {
        let [b, h, w, c] = x.dims();
        let device = x.device();
        let values: Vec<f32> = x.into_data().try_to_vec::<f32>().unwrap_or_default();
        let n = conv.out_channels;
        let y = match (&self.dense, self.kind) {
            // XNNPACK's fully-connected form: fma((float) acc · row step, weight scale, bias).
            (Some(dense), _) => {
                let (centred, steps) = super::hybrid::quantize_rows(&values, c);
                let rows = b * h * w;
                let x = Tensor::<2>::from_data(TensorData::new(centred, [rows, c]), &device);
                let wt = dense.val();
                let mut acc: Option<Tensor<2>> = None;
                for start in (0..c).step_by(EXACT_CHUNK) {
                    let end = (start + EXACT_CHUNK).min(c);
                    let part = x
                        .clone()
                        .slice([0..rows, start..end])
                        .matmul(wt.clone().slice([start..end, 0..n]));
                    let part = part.cast(burn::tensor::FloatDType::F64);
                    acc = Some(match acc {
                        Some(a) => a + part,
                        None => part,
                    });
                }
                let acc = acc
                    .expect("at least one channel")
                    .cast(burn::tensor::FloatDType::F32);
                let acc: Vec<f32> = acc.into_data().try_to_vec::<f32>().unwrap_or_default();
                let y = fused_scale(&acc, &steps, &self.host_scale, &self.host_bias, n);
                Tensor::from_data(TensorData::new(y, [b, h, w, n]), &device)
            }
            (None, kind) => {
                let q = kind.quantize(&values);
                let xq = Tensor::<4, Int>::from_data(
                    TensorData::new(q.quanta, [b, h, w, c]),
                    (&device, DType::U8),
                );
                let packed = self.packed.as_ref().expect("packed weights").val();
                let zero = self.zero.val();
                if kind == HybridKind::Xnnpack {
                    // fma((float) acc · input step, weight scale, bias).
                    let ones =
                        Tensor::<1>::from_data(TensorData::new(vec![1.0f32; n], [n]), &device);
                    let acc =
                        ext::conv_int8_real(xq, (packed, zero, ones), conv, q.zero_point, ops);
                    let dims = acc.dims();
                    let acc: Vec<f32> = acc.into_data().try_to_vec::<f32>().unwrap_or_default();
                    let steps = vec![q.scale; acc.len() / n.max(1)];
                    let y = fused_scale(&acc, &steps, &self.host_scale, &self.host_bias, n);
                    Tensor::from_data(TensorData::new(y, dims), &device)
                } else {
                    // TFLite's depthwise on x86: ((float) acc · weight scale) · input step + bias
                    // (matched against the interpreter's tensors).
                    let y = ext::conv_int8_real(
                        xq,
                        (packed, zero, self.scale.val()),
                        conv,
                        q.zero_point,
                        ops,
                    );
                    y.mul_scalar(q.scale) + self.bias.val().reshape([1, 1, 1, n])
                }
            }
        };
        ext::reference::epilogue(epilogue, y)
    }
}

/// `fma(acc · step[row], scale[c], bias[c])` for rows of `n` accumulators: XNNPACK's `qd8`
/// kernels scale and add the bias in one fused operation (single rounding, as the f64 form is
/// but at exact midpoints).
fn fused_scale(acc: &[f32], steps: &[f32], scale: &[f32], bias: &[f32], n: usize) -> Vec<f32> {
    acc.chunks(n.max(1))
        .zip(steps)
        .flat_map(|(row, &step)| {
            row.iter()
                .zip(scale.iter().zip(bias))
                .map(move |(&a, (&s, &b))| ((a * step) as f64 * s as f64 + b as f64) as f32)
        })
        .collect()
}

/// A float layer summed in XNNPACK's order, image by image on the host.
fn ordered(x: Tensor<4>, f: &FloatWeights, conv: Conv, e: &Epilogue) -> Tensor<4> {
    let [b, h, w, c] = x.dims();
    let device = x.device();
    let values: Vec<f32> = x.into_data().try_to_vec::<f32>().unwrap_or_default();
    let weights: Vec<f32> = f
        .weight
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    let bias: Vec<f32> = f
        .bias
        .val()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap_or_default();
    let (oh, ow) = conv.output(h, w).unwrap_or((0, 0));
    let out: Vec<f32> = values
        .chunks(h * w * c)
        .flat_map(|img| crate::kernels::ordered::conv_f32(&conv, img, (h, w), &weights, &bias, e))
        .collect();
    Tensor::from_data(
        TensorData::new(out, [b, oh, ow, conv.out_channels]),
        &device,
    )
}

/// Convolution (standard or depthwise) with bias and a pointwise activation, on NHWC tensors.
#[derive(Module, Debug)]
pub(crate) struct ConvAct {
    /// Float weights; absent for a dynamic-range layer.
    float: Option<FloatWeights>,
    hybrid: Option<HybridConv>,
    #[module(skip)]
    conv: Conv,
    #[module(skip)]
    epilogue: Epilogue,
}

impl ConvAct {
    /// Builds the layer directly from its weights (no random initialisation to throw away).
    pub(crate) fn new(spec: &ConvSpec, w: ConvWeights, device: &Device) -> Self {
        let conv = spec.conv;
        let epilogue = Epilogue::new(w.activation, w.saturation, w.step);
        if let Some(h) = w.hybrid {
            return Self {
                float: None,
                hybrid: Some(HybridConv::new(&conv, h, w.bias, device)),
                conv,
                epilogue,
            };
        }
        // Packed once, here, into the layout the kernels read.
        let weight = if conv.groups == 1 && !w.ordered {
            TensorData::new(pack(&conv, &w.weight), packed_shape(&conv))
        } else {
            TensorData::new(w.weight, conv.hwio_shape())
        };
        let bias = Tensor::from_data(TensorData::new(w.bias, [conv.out_channels]), device);
        Self {
            float: Some(FloatWeights {
                weight: Param::from_tensor(Tensor::from_data(weight, device)),
                bias: Param::from_tensor(bias),
                ordered: w.ordered,
            }),
            hybrid: None,
            conv,
            epilogue,
        }
    }

    /// `[N, H, W, C]` → `[N, H / stride, W / stride, C']`.
    pub(crate) fn forward(&self, x: Tensor<4>, ops: Ops) -> Tensor<4> {
        self.forward_add(x, None, ops)
    }

    /// Weights (kernels' layout) and bias, for a float layer the kernels run.
    fn weights(&self) -> Option<ext::Weights> {
        self.float
            .as_ref()
            .filter(|f| !f.ordered)
            .map(|f| (f.weight.val(), f.bias.val()))
    }

    /// The convolution and its epilogue.
    fn conv(&self) -> (Conv, Epilogue) {
        (self.conv, self.epilogue)
    }

    /// Whether the layer runs as a dynamic-range one.
    pub(crate) fn is_hybrid(&self) -> bool {
        self.hybrid.is_some()
    }

    /// [`ConvAct::forward`], then `+ residual` (fused into the convolution's epilogue).
    fn forward_add(&self, x: Tensor<4>, residual: Option<Tensor<4>>, ops: Ops) -> Tensor<4> {
        match (&self.float, &self.hybrid) {
            (Some(f), _) if f.ordered => {
                let y = ordered(x, f, self.conv, &self.epilogue);
                match residual {
                    Some(r) => y + r,
                    None => y,
                }
            }
            (Some(f), _) => ext::conv_f32(
                x,
                (f.weight.val(), f.bias.val()),
                residual,
                self.conv,
                self.epilogue,
                ops,
            ),
            (None, Some(h)) => {
                let y = h.forward(x, self.conv, &self.epilogue, ops);
                match residual {
                    Some(r) => y + r,
                    None => y,
                }
            }
            (None, None) => unreachable!("a layer has float or hybrid weights"),
        }
    }
}

/// Global average pooling `[N, H, W, C]` → `[N, 1, 1, C]`.
pub(crate) fn global_pool(x: Tensor<4>) -> Tensor<4> {
    x.mean_dim(2).mean_dim(1)
}

/// Global average pooling as XNNPACK's MEAN sums: pixel by pixel in order, then times `1 / n`
/// (for dynamic-range models, whose dense head quantizes the pooled values).
pub(crate) fn global_pool_in_order(x: Tensor<4>) -> Tensor<4> {
    let [b, h, w, c] = x.dims();
    let device = x.device();
    let v: Vec<f32> = x.into_data().try_to_vec::<f32>().unwrap_or_default();
    let scale = 1.0f32 / (h * w) as f32;
    let mut out = vec![0f32; b * c];
    for (img, o) in v.chunks(h * w * c).zip(out.chunks_mut(c)) {
        for px in img.chunks(c) {
            for (a, &x) in o.iter_mut().zip(px) {
                *a += x;
            }
        }
        o.iter_mut().for_each(|a| *a *= scale);
    }
    Tensor::from_data(TensorData::new(out, [b, 1, 1, c]), &device)
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
        let expand = self.expand.as_ref().map(|e| e.weights());
        let fusable = self.squeeze_excite.is_none() && expand.as_ref().is_none_or(Option::is_some);
        if let (true, Some(depthwise), Some(project)) =
            (fusable, self.depthwise.weights(), self.project.weights())
        {
            let b = ext::Block {
                expand: self.expand.as_ref().map(ConvAct::conv),
                depthwise: self.depthwise.conv(),
                project: self.project.conv(),
                residual: self.residual,
            };
            return ext::block_f32(x, expand.flatten(), depthwise, project, b, ops);
        }
        let mut y = match &self.expand {
            Some(e) => e.forward(x.clone(), ops),
            None => x.clone(),
        };
        y = self.depthwise.forward(y, ops);
        if let Some(se) = &self.squeeze_excite {
            y = se.forward(y, ops);
        }
        self.project.forward_add(y, self.residual.then_some(x), ops)
    }
}
