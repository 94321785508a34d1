//! The integer form of a found network: each convolution's quantization, and the plan of the
//! whole graph (input, residual additions, pooling) when every tensor is 8-bit quantized and
//! read with the parameters it was written with.

use super::graph::{Binary, Graph, NodeOp, Operand, Unary};
use super::reader::{DType, FusedActivation, TfliteFile};
use super::recognise::Recognised;
use super::structure::{At, Found};
use crate::model::{AddQuant, GraphQuant, InputQuant, PoolQuant, QuantConv};
use crate::spec::{InputScaling, QParams};

/// The integer form of a convolution reading `x` into `out`, or `None` when any of its tensors
/// is not 8-bit quantized (per tensor for activations, per tensor or per output channel for
/// weights) or its bias is not int32 on the input × weight scale.
pub(crate) fn quant_conv(
    file: &TfliteFile<'_>,
    x: usize,
    w: usize,
    bias: Option<usize>,
    out: usize,
    fused: FusedActivation,
    depthwise: bool,
) -> Option<QuantConv> {
    let input = file.activation_quant(x)?;
    let output = file.activation_quant(out)?;
    let wt = &file.tensors[w];
    if !matches!(wt.dtype, DType::U8 | DType::I8) {
        return None;
    }
    let q = wt.quantization.as_ref()?;
    // Per-channel scales must run along the output channels: O of OHWI (or of a dense layer's
    // `[out, in]`), or O of 1HWO.
    let out_axis = if depthwise { 3 } else { 0 };
    let cout = *wt.shape.get(out_axis)?;
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
    if let Some(b) = bias {
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

/// The pixel scaling a float model of the file expects: the model's own rescaling where it has
/// one before the stem (folded from its constant MUL / ADD / SUB), the TF1-era quantized files'
/// raw pixels (a uint8 input at zero point 128) dequantized, else MobileNet's `[−1, 1]`.
pub(crate) fn input_scaling(file: &TfliteFile<'_>, graph: &Graph, found: &Found) -> InputScaling {
    let (mut mul, mut add, mut rescaled) = (1.0f32, 0.0f32, false);
    for at in &found.prelude {
        if let NodeOp::Binary { op, other: Operand::Const(c), .. } = graph.nodes[at.node].op {
            let Ok(v) = file.scalar(c) else { continue };
            rescaled = true;
            match op {
                Binary::Mul => (mul, add) = (mul * v, add * v),
                Binary::Add => add += v,
                Binary::Sub => add -= v,
                _ => {}
            }
        }
    }
    if rescaled {
        return InputScaling::Affine { mul, add };
    }
    let t = &file.tensors[graph.input];
    match file.activation_quant(graph.input) {
        Some(q) if raw_pixels(t.dtype, q) => InputScaling::Dequantize {
            scale: q.scale,
            zero_point: q.zero_point as f32,
        },
        _ => InputScaling::MobileNet,
    }
}

/// Whether an 8-bit input takes the raw pixels as its quanta: the TF1-era quantized MobileNets
/// (uint8 at zero point 128, documented "feed uint8 as-is"). The TF2 converter calibrates the
/// input on float values (`[−1, 1]` gives zero point 127, or −1 for int8), and its users
/// quantize the float input.
fn raw_pixels(dtype: DType, q: QParams) -> bool {
    dtype == DType::U8 && q.zero_point == 128
}

/// The integer plan of a recognised network, or `None` when some part of it has no integer form
/// the int8 model runs, or a tensor is read with other parameters than it was written with.
pub(crate) fn graph_quant(
    files: &[(&TfliteFile<'_>, &Graph)],
    found: &Found,
    recognised: &Recognised,
    scaling: InputScaling,
) -> Option<GraphQuant> {
    let q: Vec<&QuantConv> = recognised
        .convs
        .iter()
        .map(|c| c.quant.as_ref())
        .collect::<Option<_>>()?;
    // Squeeze-excite, separate activations (hard-swish) and rescaling in the prelude have no
    // integer form in this model yet.
    let plain = |l: &super::structure::Layer| l.post.is_empty();
    let layers_plain = plain(&found.stem)
        && found.blocks.iter().all(|b| {
            b.squeeze_excite.is_none()
                && b.expand.as_ref().is_none_or(plain)
                && plain(&b.depthwise)
                && plain(&b.project)
        })
        && found.last_conv.as_ref().is_none_or(plain)
        && found.head.iter().all(plain);
    if !layers_plain {
        return None;
    }
    let (bf, bg) = files.iter().find(|(_, g)| g.takes_image()).copied()?;
    let quant_of = |at: At| files[at.file].0.activation_quant(files[at.file].1.nodes[at.node].out);
    let stem_input = q[0].input;
    let input_dtype = bf.tensors[bg.input].dtype;
    let quantizes = found.prelude.first().is_some_and(|at| is_quantize(files, *at));
    if found.prelude.len() > usize::from(quantizes) {
        return None;
    }
    let input = match input_dtype {
        DType::U8 | DType::I8 => {
            let quant = bf.activation_quant(bg.input)?;
            if raw_pixels(input_dtype, quant) {
                InputQuant::Raw(quant)
            } else {
                let signed = input_dtype == DType::I8;
                InputQuant::Caller { scaling, quant, signed }
            }
        }
        DType::F32 if quantizes => InputQuant::Graph {
            scaling,
            quant: quant_of(found.prelude[0])?,
        },
        _ => return None,
    };
    if matches!(input, InputQuant::Graph { .. }) && input.quant() != stem_input {
        return None;
    }
    let signed = bf.tensors[bg.nodes[found.stem.conv.node].x].dtype == DType::I8;
    let mut adds = Vec::new();
    // Each tensor must be read with the parameters it was written with: the output of one step
    // is the input of the next.
    let mut current = q[0].output;
    let mut i = 1;
    for b in &found.blocks {
        let block_input = current;
        let n = 2 + usize::from(b.expand.is_some());
        for c in q.get(i..i + n)? {
            if c.input != current {
                return None;
            }
            current = c.output;
        }
        i += n;
        let add = match b.add {
            Some(at) => {
                let a = AddQuant {
                    a: block_input,
                    b: current,
                    output: quant_of(at)?,
                };
                current = a.output;
                Some(a)
            }
            None => None,
        };
        adds.push(add);
    }
    if found.last_conv.is_some() {
        if q[i].input != current {
            return None;
        }
        current = q[i].output;
        i += 1;
    }
    let pool = PoolQuant {
        input: current,
        output: quant_of(found.pool)?,
    };
    current = pool.output;
    for c in &q[i..] {
        if c.input != current {
            return None;
        }
        current = c.output;
    }
    Some(GraphQuant {
        signed,
        input,
        stem_input,
        adds,
        pool,
    })
}

/// Whether node `at` is a QUANTIZE.
fn is_quantize(files: &[(&TfliteFile<'_>, &Graph)], at: At) -> bool {
    matches!(files[at.file].1.nodes[at.node].op, NodeOp::Unary(Unary::Quantize))
}
