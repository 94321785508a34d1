//! Walks a TFLite operator graph in execution order and reduces it to what a MobileNet is made
//! of: convolutions (with weights, stride and activation) and the structural steps between them
//! (residual add, global pool, squeeze-excite gate).
//!
//! The published quantized files carry no fused activations: ReLU / ReLU6 survive only as the
//! quantized range of each convolution's output tensor ([0, 6] is ReLU6, [0, x] is ReLU). This
//! walker infers them from that range; reading the graph literally gives logits around 1e11.

use std::collections::HashMap;

use super::reader::{DType, FusedActivation, OpKind, Padding, TfliteFile};
use crate::error::{Error, Result};
use crate::model::{AddQuant, ConvSpec, ConvWeights, IntWeights, PoolQuant, QuantConv};
use crate::spec::{self, Activation, Conv, InputScaling, QParams};

/// Where a convolution's weights are in the files: read by [`super::load_with`] once it knows
/// which form (float, integer) the model is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WeightSource {
    /// Index of the file among those loaded together.
    pub file: usize,
    /// The weight tensor.
    pub weight: usize,
    /// The bias tensor, if any.
    pub bias: Option<usize>,
    /// Whether the weights are a depthwise convolution's (1HWO, else OHWI).
    pub depthwise: bool,
}

/// A convolution read from the file: geometry, activation, quantization, and where its weights
/// are ([`read_float`] and [`read_quant`] return them).
#[derive(Debug, Clone)]
pub(crate) struct LoadedConv {
    /// Output tensor name (informative).
    pub name: String,
    /// Geometry and the activation inferred from the fused option, the output range or a
    /// following HARD_SWISH / hard-sigmoid.
    pub spec: ConvSpec,
    /// The range TFLite saturates the output to before the activation, if it does.
    pub saturation: Option<(f32, f32)>,
    /// The quantization step of the output (a quantized graph's grid), if any.
    pub step: Option<f32>,
    /// The integer form, when input, weights, bias and output are all 8-bit quantized.
    pub quant: Option<QuantConv>,
    /// Where the weights are.
    pub source: WeightSource,
}

/// Quantization of a structural step, when its tensors are 8-bit quantized.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum StepQuant {
    /// A residual addition.
    Add(AddQuant),
    /// A global pooling.
    Pool(PoolQuant),
}

/// Structure between convolutions, in execution order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Convolution `i` of [`Walk::convs`].
    Conv(usize),
    /// Residual addition of two activations.
    Add,
    /// Global average pooling.
    Pool,
    /// Squeeze-excite: the activation multiplied by its gate.
    Gate,
}

/// The reduced graph of one file.
#[derive(Debug, Clone)]
pub(crate) struct Walk {
    /// Shape of the graph input, NHWC.
    pub input_shape: Vec<usize>,
    /// Pixel scaling (for an image input).
    pub input_scaling: InputScaling,
    /// Convolutions in execution order.
    pub convs: Vec<LoadedConv>,
    /// Structure in execution order.
    pub steps: Vec<Step>,
    /// Quantization of each step of [`Walk::steps`] that has its own (additions, pooling).
    pub step_quant: Vec<Option<StepQuant>>,
    /// Quantization of the graph input, when it is an 8-bit tensor.
    pub input_quant: Option<QParams>,
}

impl Walk {
    /// True when the graph input is an image (`[1, H, W, 3]`).
    pub(crate) fn takes_image(&self) -> bool {
        self.input_shape.len() == 4 && self.input_shape[3] == 3 && self.input_shape[1] > 1
    }
}

fn infer_activation(fused: FusedActivation, range: Option<(f32, f32)>) -> Result<Activation> {
    match fused {
        FusedActivation::Relu => return Ok(Activation::Relu),
        FusedActivation::Relu6 => return Ok(Activation::Relu6),
        FusedActivation::Other => {
            return Err(Error::ModelUnsupported(
                "a convolution with a fused activation other than ReLU/ReLU6".into(),
            ));
        }
        FusedActivation::None => {}
    }
    Ok(match range {
        // The zero point sits at the bottom of the integer range: nothing below 0 survives.
        Some((lo, hi)) if lo == 0.0 && hi <= 6.0 + 0.05 => Activation::Relu6,
        Some((0.0, _)) => Activation::Relu,
        _ => Activation::None,
    })
}

fn approx(a: f32, b: f32) -> bool {
    (a - b).abs() <= 0.02 * b.abs().max(1e-3)
}

/// What produced a tensor, as far as the walk cares.
#[derive(Clone, Copy)]
enum Source {
    Conv(usize),
    /// The `x + 3` of a hard-sigmoid applied to convolution `i`.
    HardSigmoidAdd(usize),
    Other,
}

/// Walks one file.
pub(crate) fn walk(file: &TfliteFile<'_>) -> Result<Walk> {
    let [input] = file.inputs[..] else {
        return Err(Error::ModelUnsupported(format!(
            "{} graph inputs; a MobileNet has one",
            file.inputs.len()
        )));
    };
    let input_tensor = &file.tensors[input];
    let input_scaling = match (&input_tensor.quantization, input_tensor.dtype) {
        (Some(q), DType::U8 | DType::I8) if q.scale.len() == 1 => {
            // Scaling defined on the raw 0..255 pixel value.
            let shift = if input_tensor.dtype == DType::I8 {
                128.0
            } else {
                0.0
            };
            InputScaling {
                scale: q.scale[0],
                zero_point: q.zero_point[0] as f32 + shift,
            }
        }
        (_, DType::F32) => InputScaling::MOBILENET,
        (_, other) => {
            return Err(Error::ModelUnsupported(format!(
                "graph input of element type {other:?}"
            )));
        }
    };

    let mut source: HashMap<usize, Source> = HashMap::new();
    let mut convs: Vec<LoadedConv> = Vec::new();
    let mut steps = Vec::new();
    let mut step_quant = Vec::new();

    let activation_input = |inputs: &[Option<usize>], op: &str| -> Result<usize> {
        inputs
            .first()
            .copied()
            .flatten()
            .ok_or_else(|| Error::ModelFormat(format!("{op} without an input")))
    };

    for op in &file.operators {
        let out = op.outputs[0];
        match &op.kind {
            OpKind::Conv2d {
                stride,
                padding,
                activation,
                dilation,
            }
            | OpKind::DepthwiseConv2d {
                stride,
                padding,
                activation,
                dilation,
                ..
            } => {
                let depthwise = matches!(op.kind, OpKind::DepthwiseConv2d { .. });
                if let OpKind::DepthwiseConv2d {
                    depth_multiplier, ..
                } = op.kind
                    && depth_multiplier != 1
                {
                    return Err(Error::ModelUnsupported(format!(
                        "depthwise convolution with depth multiplier {depth_multiplier}"
                    )));
                }
                if stride.0 != stride.1 || *dilation != (1, 1) {
                    return Err(Error::ModelUnsupported(format!(
                        "convolution with stride {stride:?} and dilation {dilation:?}"
                    )));
                }
                let x = activation_input(&op.inputs, "convolution")?;
                let w = op
                    .inputs
                    .get(1)
                    .copied()
                    .flatten()
                    .ok_or_else(|| Error::ModelFormat("convolution without weights".into()))?;
                let wt = &file.tensors[w];
                let xt = &file.tensors[x];
                if wt.shape.len() != 4 || xt.shape.len() != 4 || !wt.is_constant() {
                    return Err(Error::ModelUnsupported(format!(
                        "convolution {:?} with weights {:?} on input {:?}",
                        file.tensors[out].name, wt.shape, xt.shape
                    )));
                }
                let (kh, kw) = (wt.shape[1], wt.shape[2]);
                if kh != kw {
                    return Err(Error::ModelUnsupported(format!("a {kh}x{kw} kernel")));
                }
                let cin = xt.shape[3];
                let (cout, groups) = if depthwise {
                    (wt.shape[3], cin)
                } else {
                    (wt.shape[0], 1)
                };
                let expected_in = if depthwise { 1 } else { cin };
                let actual_in = if depthwise { wt.shape[0] } else { wt.shape[3] };
                if actual_in != expected_in || (depthwise && cout != cin) {
                    return Err(Error::ModelFormat(format!(
                        "convolution weights {:?} do not fit input {:?}",
                        wt.shape, xt.shape
                    )));
                }
                if *padding == Padding::Valid && kh != 1 {
                    return Err(Error::ModelUnsupported(
                        "a VALID-padded convolution larger than 1x1".into(),
                    ));
                }
                let bias = op.inputs.get(2).copied().flatten();
                if let Some(b) = bias
                    && file.tensors[b].len() != cout
                {
                    return Err(Error::ModelFormat(format!(
                        "bias of {} values for {cout} channels",
                        file.tensors[b].len()
                    )));
                }
                if bias.is_some_and(|b| !file.tensors[b].is_constant()) {
                    return Err(Error::ModelUnsupported(
                        "a bias that is not a constant".into(),
                    ));
                }
                let range = file.tensors[out].quantized_range();
                let quant = quant_conv(
                    file,
                    QuantIo {
                        x,
                        w,
                        bias: op.inputs.get(2).copied().flatten(),
                        out,
                    },
                    *activation,
                    depthwise,
                );
                let activation = infer_activation(*activation, range)?;
                // A rectified output saturates at the top of its quantized range in TFLite.
                let saturation = match activation {
                    Activation::Relu | Activation::Relu6 => range,
                    _ => None,
                };
                source.insert(out, Source::Conv(convs.len()));
                steps.push(Step::Conv(convs.len()));
                step_quant.push(None);
                let conv = Conv {
                    kernel: kh,
                    stride: stride.0,
                    groups,
                    in_channels: cin,
                    out_channels: cout,
                    padding: match padding {
                        Padding::Same => spec::Padding::Same,
                        Padding::Valid => spec::Padding::VALID,
                    },
                };
                convs.push(LoadedConv {
                    name: file.tensors[out].name.clone(),
                    spec: ConvSpec { conv, activation },
                    saturation,
                    step: file.tensors[out]
                        .quantization
                        .as_ref()
                        .filter(|q| q.scale.len() == 1)
                        .map(|q| q.scale[0]),
                    quant,
                    source: WeightSource {
                        file: 0,
                        weight: w,
                        bias,
                        depthwise,
                    },
                });
            }
            OpKind::HardSwish => {
                let x = activation_input(&op.inputs, "HARD_SWISH")?;
                match source.get(&x) {
                    Some(&Source::Conv(c)) if convs[c].spec.activation == Activation::None => {
                        convs[c].spec.activation = Activation::HardSwish;
                        convs[c].saturation = file.tensors[x].quantized_range();
                        source.insert(out, Source::Conv(c));
                    }
                    _ => {
                        return Err(Error::ModelUnsupported(
                            "HARD_SWISH that does not follow a linear convolution".into(),
                        ));
                    }
                }
            }
            OpKind::Add { .. } | OpKind::Mul { .. } => {
                let is_add = matches!(op.kind, OpKind::Add { .. });
                let ins: Vec<usize> = op.inputs.iter().flatten().copied().collect();
                if ins.len() != 2 {
                    return Err(Error::ModelFormat(
                        "binary operator without two inputs".into(),
                    ));
                }
                let constant = ins.iter().position(|&i| file.tensors[i].is_constant());
                match (constant, is_add) {
                    (None, true) => {
                        // The projection just computed is one operand; the block input the other.
                        let latest = convs.len().checked_sub(1);
                        let is_latest = |i: usize| matches!(source.get(&i), Some(&Source::Conv(c)) if Some(c) == latest);
                        let (a, b) = if is_latest(ins[1]) {
                            (ins[0], ins[1])
                        } else {
                            (ins[1], ins[0])
                        };
                        let quant = match (
                            file.activation_quant(a),
                            file.activation_quant(b),
                            file.activation_quant(out),
                        ) {
                            (Some(a), Some(b), Some(output))
                                if is_latest(ins[0]) != is_latest(ins[1]) =>
                            {
                                Some(StepQuant::Add(AddQuant { a, b, output }))
                            }
                            _ => None,
                        };
                        steps.push(Step::Add);
                        step_quant.push(quant);
                        source.insert(out, Source::Other);
                    }
                    (None, false) => {
                        steps.push(Step::Gate);
                        step_quant.push(None);
                        source.insert(out, Source::Other);
                    }
                    // relu6(conv + 3) / 6: the hard-sigmoid gate of squeeze-excite.
                    (Some(k), true) => {
                        let value = file.scalar(ins[k])?;
                        match source.get(&ins[1 - k]) {
                            Some(&Source::Conv(c)) if approx(value, 3.0) => {
                                convs[c].saturation = file.tensors[ins[1 - k]].quantized_range();
                                source.insert(out, Source::HardSigmoidAdd(c));
                            }
                            _ => {
                                return Err(Error::ModelUnsupported(format!(
                                    "ADD of the constant {value} outside a hard-sigmoid"
                                )));
                            }
                        }
                    }
                    (Some(k), false) => {
                        let value = file.scalar(ins[k])?;
                        match source.get(&ins[1 - k]) {
                            Some(&Source::HardSigmoidAdd(c)) if approx(value, 1.0 / 6.0) => {
                                convs[c].spec.activation = Activation::HardSigmoid;
                                source.insert(out, Source::Conv(c));
                            }
                            _ => {
                                return Err(Error::ModelUnsupported(format!(
                                    "MUL by the constant {value} outside a hard-sigmoid"
                                )));
                            }
                        }
                    }
                }
            }
            OpKind::AveragePool2d { filter, padding } => {
                let x = activation_input(&op.inputs, "AVERAGE_POOL_2D")?;
                let shape = &file.tensors[x].shape;
                let global = shape.len() == 4 && *filter == (shape[1], shape[2]);
                if !global || *padding != Padding::Valid {
                    return Err(Error::ModelUnsupported(format!(
                        "average pooling {filter:?} over {shape:?} that is not global"
                    )));
                }
                if shape[1] == 1 && shape[2] == 1 {
                    // Pooling a 1x1 map is the identity (V3's head pools twice).
                    let s = source.get(&x).copied().unwrap_or(Source::Other);
                    source.insert(out, s);
                } else {
                    steps.push(Step::Pool);
                    step_quant.push(pool_quant(file, x, out));
                    source.insert(out, Source::Other);
                }
            }
            OpKind::Mean => {
                let out_shape = &file.tensors[out].shape;
                let global = out_shape.len() == 2
                    || (out_shape.len() == 4 && out_shape[1] == 1 && out_shape[2] == 1);
                if !global {
                    return Err(Error::ModelUnsupported(format!(
                        "MEAN producing {out_shape:?}, not a global pool"
                    )));
                }
                let x = activation_input(&op.inputs, "MEAN")?;
                steps.push(Step::Pool);
                step_quant.push(pool_quant(file, x, out));
                source.insert(out, Source::Other);
            }
            OpKind::Reshape | OpKind::Squeeze | OpKind::Quantize | OpKind::Dequantize => {
                let x = activation_input(&op.inputs, "reshape")?;
                let s = source.get(&x).copied().unwrap_or(Source::Other);
                source.insert(out, s);
            }
            // We return logits; the graph's softmax is applied by `Classifier::top_k`.
            OpKind::Softmax => {
                source.insert(out, Source::Other);
            }
            OpKind::Unsupported(name) => {
                return Err(Error::ModelUnsupported(format!(
                    "operator {name} is not part of a MobileNet classifier"
                )));
            }
        }
    }
    Ok(Walk {
        input_shape: input_tensor.shape.clone(),
        input_scaling,
        convs,
        steps,
        step_quant,
        input_quant: file.activation_quant(input),
    })
}

/// The tensors of one convolution.
struct QuantIo {
    x: usize,
    w: usize,
    bias: Option<usize>,
    out: usize,
}

fn pool_quant(file: &TfliteFile<'_>, x: usize, out: usize) -> Option<StepQuant> {
    Some(StepQuant::Pool(PoolQuant {
        input: file.activation_quant(x)?,
        output: file.activation_quant(out)?,
    }))
}

/// The integer form of a convolution (weights and bias left to [`read_quant`]), or `None` when
/// any of its tensors is not 8-bit quantized (per tensor for activations, per tensor or per
/// output channel for weights) or its bias is not int32 on the input × weight scale.
fn quant_conv(
    file: &TfliteFile<'_>,
    io: QuantIo,
    fused: FusedActivation,
    depthwise: bool,
) -> Option<QuantConv> {
    let input = file.activation_quant(io.x)?;
    let output = file.activation_quant(io.out)?;
    let wt = &file.tensors[io.w];
    if !matches!(wt.dtype, DType::U8 | DType::I8) {
        return None;
    }
    let q = wt.quantization.as_ref()?;
    // Per-channel scales must run along the output channels: O of OHWI, or O of 1HWO.
    let out_axis = if depthwise { 3 } else { 0 };
    let cout = wt.shape[out_axis];
    let scales = &q.scale;
    if scales.is_empty()
        || q.zero_point.len() != scales.len()
        || (scales.len() != 1 && (scales.len() != cout || q.axis != out_axis))
    {
        return None;
    }
    // A scale that is not a positive number has no integer form to run.
    if cout == 0 || scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return None;
    }
    // Zero points inside the storage type keep every weight less its zero point within ±255,
    // which the 16-bit weights and the kernels' i8 quads (shifted by at most 255) rely on.
    let storable = if wt.dtype == DType::U8 {
        0..=255
    } else {
        -128..=127
    };
    if q.zero_point.iter().any(|z| !storable.contains(z)) {
        return None;
    }
    let weight_scale: Vec<f32> = (0..cout)
        .map(|c| scales[if scales.len() == 1 { 0 } else { c }])
        .collect();
    if let Some(b) = io.bias {
        let bt = &file.tensors[b];
        let bq = bt.quantization.as_ref()?;
        // TFLite requires bias scale = input scale × weight scale; refuse anything else.
        let consistent = !bq.scale.is_empty()
            && (bq.scale.len() == 1 || bq.scale.len() == cout)
            && bq.scale.iter().enumerate().all(|(c, &s)| {
                let expected = input.scale * weight_scale[c.min(cout - 1)];
                (s - expected).abs() <= 1e-3 * expected
            });
        if bt.dtype != DType::I32 || !consistent {
            return None;
        }
    }
    let zo = output.zero_point;
    let step = |v: f32| (v / output.scale).round() as i32;
    let range = match fused {
        FusedActivation::None => (0, 255),
        FusedActivation::Relu => (zo.max(0), 255),
        FusedActivation::Relu6 => (zo.max(0), (zo + step(6.0)).min(255)),
        FusedActivation::Other => return None,
    };
    Some(QuantConv {
        input,
        output,
        weight_scale,
        range: (range.0 as u8, range.1.max(range.0) as u8),
    })
}

/// OHWI (one group) → HWIO; depthwise weights (1HWO) are HWIO already.
fn to_hwio<T: Copy + Default>(raw: Vec<T>, depthwise: bool, cout: usize) -> Vec<T> {
    if depthwise || cout == 0 {
        return raw;
    }
    let taps = raw.len() / cout;
    let mut hwio = vec![T::default(); raw.len()];
    for (o, filter) in raw.chunks_exact(taps).enumerate() {
        for (tap, &v) in filter.iter().enumerate() {
            hwio[tap * cout + o] = v;
        }
    }
    hwio
}

/// A convolution's float weights and bias, dequantized, HWIO, with what follows them.
pub(crate) fn read_float(file: &TfliteFile<'_>, conv: &LoadedConv) -> Result<ConvWeights> {
    let s = conv.source;
    let cout = conv.spec.conv.out_channels;
    Ok(ConvWeights {
        weight: to_hwio(file.dequantize(s.weight)?, s.depthwise, cout),
        bias: match s.bias {
            Some(b) => file.dequantize(b)?,
            None => vec![0.0; cout],
        },
        activation: conv.spec.activation,
        saturation: conv.saturation,
        step: conv.step,
    })
}

/// A convolution's integer weights (zero point removed, HWIO) and bias.
pub(crate) fn read_quant(file: &TfliteFile<'_>, conv: &LoadedConv) -> Result<IntWeights> {
    let s = conv.source;
    let cout = conv.spec.conv.out_channels;
    let (raw, _) = file.integers(s.weight)?;
    let raw: Vec<i16> = raw.into_iter().map(|v| v as i16).collect();
    Ok(IntWeights {
        weight: to_hwio(raw, s.depthwise, cout),
        bias: match s.bias {
            Some(b) => file.integers(b)?.0,
            None => vec![0; cout],
        },
    })
}
