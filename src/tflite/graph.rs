//! A file's operators as a list of nodes on activation tensors: every convolution (and dense
//! layer) with its weights located, element-wise operators with their operands told apart as
//! activations or constants, pooling, softmax. What only reshapes (RESHAPE, SQUEEZE and the
//! SHAPE / STRIDED_SLICE / PACK arithmetic of a target shape) is looked through, a PAD before a
//! VALID convolution becomes that convolution's explicit padding, and constants stored as float16
//! behind a DEQUANTIZE are read as the constants they are.

use std::collections::HashMap;

use super::reader::{DType, FusedActivation, OpKind, Padding, TfliteFile};
use crate::error::{Error, Result};
use crate::spec::{self, Conv};

/// An element-wise operator of one activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unary {
    HardSwish,
    Relu,
    Relu6,
    Logistic,
    /// QUANTIZE: float to 8 bits, or between 8-bit quantizations.
    Quantize,
    /// DEQUANTIZE of an activation (the float output of an integer graph).
    Dequantize,
}

/// An element-wise operator of two operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Minimum,
    Maximum,
}

/// The second operand of a binary node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operand {
    /// Another activation tensor.
    Act(usize),
    /// A constant tensor (a scalar, or one value per channel).
    Const(usize),
}

/// What a node does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum NodeOp {
    /// CONV_2D, DEPTHWISE_CONV_2D, or FULLY_CONNECTED as a 1×1 convolution on a 1×1 map.
    Conv {
        conv: Conv,
        fused: FusedActivation,
        /// The weight tensor (OHWI, 1HWO for depthwise, `[out, in]` for a dense layer).
        weight: usize,
        bias: Option<usize>,
        depthwise: bool,
        dense: bool,
    },
    Unary(Unary),
    Binary {
        op: Binary,
        other: Operand,
        fused: FusedActivation,
    },
    /// Global average pooling: MEAN over the spatial axes, or AVERAGE_POOL_2D over the map.
    Pool {
        /// A MEAN.
        mean: bool,
    },
    Softmax {
        beta: f32,
    },
}

/// One node: its operation, its activation input and its output tensor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub op: NodeOp,
    /// The activation it reads.
    pub x: usize,
    /// The tensor it writes.
    pub out: usize,
}

/// The nodes of one file, in execution order.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    pub nodes: Vec<Node>,
    /// The graph's input tensor and its shape.
    pub input: usize,
    pub input_shape: Vec<usize>,
}

impl Graph {
    /// True when the graph input is an image (`[1, H, W, 3]`).
    pub(crate) fn takes_image(&self) -> bool {
        self.input_shape.len() == 4 && self.input_shape[3] == 3 && self.input_shape[1] > 1
    }
}

/// How the walk sees a tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Value {
    /// An activation: the tensor holding it (a reshape's output stands for its input).
    Act(usize),
    /// An activation padded by a PAD operator, `[(top, bottom), (left, right)]`.
    Padded(usize, [(usize, usize); 2]),
    /// A constant: the tensor holding its data.
    Const(usize),
    /// Shape arithmetic.
    Shape,
}

fn unsupported(what: impl Into<String>) -> Error {
    Error::ModelUnsupported(what.into())
}

/// Reduces one file's operators to nodes.
pub(crate) fn graph(file: &TfliteFile<'_>) -> Result<Graph> {
    let [input] = file.inputs[..] else {
        return Err(unsupported(format!(
            "{} graph inputs; a MobileNet has one",
            file.inputs.len()
        )));
    };
    let mut values: HashMap<usize, Value> = HashMap::new();
    values.insert(input, Value::Act(input));
    let value = |values: &HashMap<usize, Value>, t: usize| -> Value {
        match values.get(&t) {
            Some(v) => *v,
            None if file.tensors[t].is_constant() => Value::Const(t),
            None => Value::Shape,
        }
    };
    let mut nodes = Vec::new();
    for op in &file.operators {
        let out = op.outputs[0];
        let operand = |i: usize| op.inputs.get(i).copied().flatten();
        let first =
            operand(0).ok_or_else(|| Error::ModelFormat("an operator without inputs".into()))?;
        let x = value(&values, first);
        let activation = |v: Value, what: &str| match v {
            Value::Act(t) => Ok(t),
            _ => Err(unsupported(format!(
                "{what} whose input is not an activation"
            ))),
        };
        let mut push = |values: &mut HashMap<usize, Value>, op: NodeOp, x: usize| {
            nodes.push(Node { op, x, out });
            values.insert(out, Value::Act(out));
        };
        match &op.kind {
            OpKind::Conv2d {
                stride,
                padding,
                activation: fused,
                dilation,
            }
            | OpKind::DepthwiseConv2d {
                stride,
                padding,
                activation: fused,
                dilation,
                ..
            } => {
                let depthwise = matches!(op.kind, OpKind::DepthwiseConv2d { .. });
                if let OpKind::DepthwiseConv2d {
                    depth_multiplier, ..
                } = op.kind
                    && depth_multiplier != 1
                {
                    return Err(unsupported(format!(
                        "depthwise convolution with depth multiplier {depth_multiplier}"
                    )));
                }
                if stride.0 != stride.1 || *dilation != (1, 1) {
                    return Err(unsupported(format!(
                        "convolution with stride {stride:?} and dilation {dilation:?}"
                    )));
                }
                let (x, pads) = match x {
                    Value::Padded(t, pads) if *padding == Padding::Valid => (t, Some(pads)),
                    other => (activation(other, "a convolution")?, None),
                };
                let w = weight_of(file, &values, operand(1), "convolution")?;
                let (wt, xt) = (&file.tensors[w], &file.tensors[x]);
                if wt.shape.len() != 4 || xt.shape.len() != 4 {
                    return Err(unsupported(format!(
                        "convolution {:?} with weights {:?} on input {:?}",
                        file.tensors[out].name, wt.shape, xt.shape
                    )));
                }
                let (kh, kw) = (wt.shape[1], wt.shape[2]);
                if kh != kw {
                    return Err(unsupported(format!("a {kh}x{kw} kernel")));
                }
                let cin = xt.shape[3];
                let cout = if depthwise { wt.shape[3] } else { wt.shape[0] };
                let actual_in = if depthwise { wt.shape[0] } else { wt.shape[3] };
                if actual_in != if depthwise { 1 } else { cin } || (depthwise && cout != cin) {
                    return Err(Error::ModelFormat(format!(
                        "convolution weights {:?} do not fit input {:?}",
                        wt.shape, xt.shape
                    )));
                }
                let padding = match (padding, pads) {
                    (Padding::Same, _) => spec::Padding::Same,
                    (Padding::Valid, None) => spec::Padding::VALID,
                    (Padding::Valid, Some([(top, bottom), (left, right)])) => {
                        spec::Padding::Explicit {
                            top,
                            left,
                            bottom,
                            right,
                        }
                    }
                };
                let conv = Conv {
                    kernel: kh,
                    stride: stride.0,
                    groups: if depthwise { cin } else { 1 },
                    in_channels: cin,
                    out_channels: cout,
                    padding,
                };
                let bias = bias_of(file, &values, operand(2), cout)?;
                let op = NodeOp::Conv {
                    conv,
                    fused: *fused,
                    weight: w,
                    bias,
                    depthwise,
                    dense: false,
                };
                push(&mut values, op, x);
            }
            OpKind::FullyConnected {
                activation: fused, ..
            } => {
                let x = activation(x, "FULLY_CONNECTED")?;
                let w = weight_of(file, &values, operand(1), "dense layer")?;
                let (wt, xt) = (&file.tensors[w], &file.tensors[x]);
                let cin = xt.shape.last().copied().unwrap_or(0);
                if wt.shape.len() != 2 || wt.shape[1] != cin || xt.len() != cin {
                    return Err(unsupported(format!(
                        "a dense layer with weights {:?} on input {:?}",
                        wt.shape, xt.shape
                    )));
                }
                let cout = wt.shape[0];
                let bias = bias_of(file, &values, operand(2), cout)?;
                let op = NodeOp::Conv {
                    conv: Conv::full(cin, cout, 1, 1),
                    fused: *fused,
                    weight: w,
                    bias,
                    depthwise: false,
                    dense: true,
                };
                push(&mut values, op, x);
            }
            OpKind::HardSwish
            | OpKind::Relu
            | OpKind::Relu6
            | OpKind::Logistic
            | OpKind::Quantize
            | OpKind::Dequantize => {
                // A DEQUANTIZE of a constant (float16 weights) is that constant.
                if let (OpKind::Dequantize, Value::Const(c)) = (&op.kind, x) {
                    values.insert(out, Value::Const(c));
                    continue;
                }
                let x = activation(x, "an element-wise operator")?;
                let unary = match op.kind {
                    OpKind::HardSwish => Unary::HardSwish,
                    OpKind::Relu => Unary::Relu,
                    OpKind::Relu6 => Unary::Relu6,
                    OpKind::Logistic => Unary::Logistic,
                    OpKind::Quantize => Unary::Quantize,
                    _ => Unary::Dequantize,
                };
                push(&mut values, NodeOp::Unary(unary), x);
            }
            OpKind::Add { .. }
            | OpKind::Sub { .. }
            | OpKind::Mul { .. }
            | OpKind::Minimum
            | OpKind::Maximum => {
                let b = operand(1).ok_or_else(|| {
                    Error::ModelFormat("a binary operator without its second input".into())
                })?;
                let binary = match op.kind {
                    OpKind::Add { .. } => Binary::Add,
                    OpKind::Sub { .. } => Binary::Sub,
                    OpKind::Mul { .. } => Binary::Mul,
                    OpKind::Minimum => Binary::Minimum,
                    _ => Binary::Maximum,
                };
                let fused = match op.kind {
                    OpKind::Add { activation }
                    | OpKind::Sub { activation }
                    | OpKind::Mul { activation } => activation,
                    _ => FusedActivation::None,
                };
                // The activation first; a constant is the other operand whichever side it is on
                // (SUB only subtracts a constant from the activation).
                let (x, other) = match (x, value(&values, b)) {
                    (Value::Act(a), Value::Act(b)) => (a, Operand::Act(b)),
                    (Value::Act(a), Value::Const(c)) => (a, Operand::Const(c)),
                    (Value::Const(c), Value::Act(a)) if binary != Binary::Sub => {
                        (a, Operand::Const(c))
                    }
                    _ => {
                        return Err(unsupported(
                            "a binary operator that is not between activations or an activation \
                             and a constant",
                        ));
                    }
                };
                let op = NodeOp::Binary {
                    op: binary,
                    other,
                    fused,
                };
                push(&mut values, op, x);
            }
            OpKind::AveragePool2d { filter, padding } => {
                let x = activation(x, "AVERAGE_POOL_2D")?;
                let shape = &file.tensors[x].shape;
                let global = shape.len() == 4 && *filter == (shape[1], shape[2]);
                if !global || *padding != Padding::Valid {
                    return Err(unsupported(format!(
                        "average pooling {filter:?} over {shape:?} that is not global"
                    )));
                }
                if shape[1] == 1 && shape[2] == 1 {
                    // Pooling a 1x1 map is the identity (V3's head pools twice).
                    values.insert(out, Value::Act(x));
                } else {
                    push(&mut values, NodeOp::Pool { mean: false }, x);
                }
            }
            OpKind::Mean => {
                let x = activation(x, "MEAN")?;
                let (xs, os) = (&file.tensors[x].shape, &file.tensors[out].shape);
                let global = xs.len() == 4
                    && xs[0] == 1
                    && (os.len() == 2 || (os.len() == 4 && os[1] == 1 && os[2] == 1))
                    && os.last() == xs.last();
                if !global {
                    return Err(unsupported(format!(
                        "MEAN from {xs:?} to {os:?}, not a global pool"
                    )));
                }
                push(&mut values, NodeOp::Pool { mean: true }, x);
            }
            OpKind::Pad => {
                let x = activation(x, "PAD")?;
                let pads = pads_of(file, operand(1))?;
                if op.inputs.get(2).copied().flatten().is_some_and(|v| {
                    file.dequantize(v)
                        .map_or(true, |v| v.iter().any(|&p| p != 0.0))
                }) {
                    return Err(unsupported("PADV2 with a value other than zero"));
                }
                values.insert(out, Value::Padded(x, pads));
            }
            OpKind::Reshape | OpKind::Squeeze => {
                let x = activation(x, "a reshape")?;
                values.insert(out, Value::Act(x));
                // The reshaped tensor stands for its input; its own quantization must agree.
                if file.activation_quant(x) != file.activation_quant(out) {
                    return Err(unsupported("a reshape that changes the quantization"));
                }
                continue;
            }
            OpKind::ShapeArithmetic => {
                values.insert(out, Value::Shape);
                continue;
            }
            OpKind::Softmax { beta } => {
                let x = activation(x, "SOFTMAX")?;
                push(&mut values, NodeOp::Softmax { beta: *beta }, x);
            }
            OpKind::Unsupported(name) => {
                return Err(unsupported(format!(
                    "operator {name} is not part of a MobileNet classifier"
                )));
            }
        }
    }
    Ok(Graph {
        nodes,
        input,
        input_shape: file.tensors[input].shape.clone(),
    })
}

/// A weight operand: a constant (float16 ones through their DEQUANTIZE).
fn weight_of(
    file: &TfliteFile<'_>,
    values: &HashMap<usize, Value>,
    t: Option<usize>,
    what: &str,
) -> Result<usize> {
    let t = t.ok_or_else(|| Error::ModelFormat(format!("a {what} without weights")))?;
    match values.get(&t) {
        Some(Value::Const(c)) => Ok(*c),
        None if file.tensors[t].is_constant() => Ok(t),
        _ => Err(unsupported(format!(
            "a {what} whose weights are not constant"
        ))),
    }
}

/// A bias operand: a constant of one value per output channel.
fn bias_of(
    file: &TfliteFile<'_>,
    values: &HashMap<usize, Value>,
    t: Option<usize>,
    cout: usize,
) -> Result<Option<usize>> {
    let Some(t) = t else { return Ok(None) };
    let b = weight_of(file, values, Some(t), "bias")?;
    if file.tensors[b].len() != cout {
        return Err(Error::ModelFormat(format!(
            "bias of {} values for {cout} channels",
            file.tensors[b].len()
        )));
    }
    Ok(Some(b))
}

/// The spatial padding of a PAD operator on an NHWC tensor, which must pad nothing else.
fn pads_of(file: &TfliteFile<'_>, t: Option<usize>) -> Result<[(usize, usize); 2]> {
    let t = t.ok_or_else(|| Error::ModelFormat("PAD without its paddings".into()))?;
    let tensor = &file.tensors[t];
    if !tensor.is_constant() || tensor.shape != [4, 2] || tensor.dtype != DType::I32 {
        return Err(unsupported(
            "PAD whose paddings are not a constant [4, 2] int32",
        ));
    }
    let p = file.raw_integers(t)?;
    let p: Vec<usize> = p
        .into_iter()
        .map(|v| usize::try_from(v).ok().filter(|&v| v <= 64))
        .collect::<Option<_>>()
        .ok_or_else(|| Error::ModelFormat("PAD by a negative or huge amount".into()))?;
    if p[0] != 0 || p[1] != 0 || p[6] != 0 || p[7] != 0 {
        return Err(unsupported("PAD of the batch or channel axis"));
    }
    Ok([(p[2], p[3]), (p[4], p[5])])
}
