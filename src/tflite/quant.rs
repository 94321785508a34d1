//! The integer form of a found network: each convolution's quantization, and the plan of the
//! whole graph (input, residual additions, pooling) when every tensor is 8-bit quantized and
//! read with the parameters it was written with.

use super::elementwise::{self, Grid};
use super::graph::{Binary, Graph, NodeOp, Operand, Unary};
use super::reader::{DType, FusedActivation, TfliteFile};
use super::recognise::Recognised;
use super::structure::{At, Found, Layer};
use crate::model::{
    AddQuant, GraphQuant, InputQuant, Lut, PoolQuant, QuantConv, SeQuant, SoftmaxQuant,
};
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
        if let NodeOp::Binary {
            op,
            other: Operand::Const(c),
            ..
        } = graph.nodes[at.node].op
        {
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
    // TFLite metadata's normalization (Model Maker writes it), for a float input only: an 8-bit
    // input is fed as is, its quantization saying what the values mean (as the TFLite Support
    // library does; applying mean/std to TF2 PTQ's uint8 input moved half the pixels one step).
    if let (Some((mean, std)), DType::F32) = (&file.normalization, t.dtype) {
        let three = |v: &[f32]| {
            if v.len() == 1 {
                [v[0]; 3]
            } else {
                [v[0], v[1], v[2]]
            }
        };
        return InputScaling::Normalize {
            mean: three(mean),
            std: three(std),
        };
    }
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

/// Walks the found network in execution order, checking that every tensor is read on the grid
/// it was written on, and collecting the integer steps between the convolutions.
struct Walk<'a, 'f> {
    files: &'a [(&'a TfliteFile<'f>, &'a Graph)],
    convs: Vec<&'a QuantConv>,
    next: usize,
    /// The grid of the activation being carried.
    current: Grid,
    post: Vec<Option<(Lut, QParams)>>,
}

impl Walk<'_, '_> {
    fn grid(&self, at: At) -> Option<Grid> {
        let (file, graph) = self.files[at.file];
        Grid::of(file, graph.nodes[at.node].out)
    }

    /// The element-wise operator at `at` on the current grid, as a table.
    fn elementwise(&self, at: At) -> Option<(Lut, Grid)> {
        let (file, graph) = self.files[at.file];
        let node = &graph.nodes[at.node];
        let (x, y) = (self.current, self.grid(at)?);
        let lut = match node.op {
            NodeOp::Unary(Unary::Quantize) => elementwise::requantize(x, y),
            NodeOp::Unary(Unary::HardSwish) => elementwise::hard_swish(x, y),
            NodeOp::Unary(Unary::Relu) => elementwise::clamp(x, y, f32::INFINITY),
            NodeOp::Unary(Unary::Relu6) => elementwise::clamp(x, y, 6.0),
            NodeOp::Binary {
                op,
                other: Operand::Const(c),
                fused,
            } => {
                let cg = Grid::of(file, c)?;
                let cq = file.constant_quantum(c)?;
                let lut = match op {
                    Binary::Mul => elementwise::mul_const(x, cq, cg, y),
                    Binary::Add => elementwise::add_const(x, cq, cg, y)?,
                    _ => return None,
                };
                // A fused activation clamps the result to its range on the output grid.
                let (lo, hi) = fused_range(y.q, fused)?;
                crate::model::Lut(lut.0.map(|v| v.clamp(lo, hi)))
            }
            _ => return None,
        };
        Some((lut, y))
    }

    /// Element-wise operators in turn, as one table.
    fn chain(&mut self, ats: &[At]) -> Option<Option<Lut>> {
        let mut lut: Option<Lut> = None;
        for &at in ats {
            let (l, y) = self.elementwise(at)?;
            lut = Some(match lut {
                Some(prev) => prev.then(&l),
                None => l,
            });
            self.current = y;
        }
        Some(lut)
    }

    /// The next convolution and the operators after it.
    fn layer(&mut self, layer: &Layer) -> Option<()> {
        let c = *self.convs.get(self.next)?;
        self.next += 1;
        if c.input != self.current.q {
            return None;
        }
        self.current = Grid {
            q: c.output,
            signed: self.current.signed,
        };
        let lut = self.chain(&layer.post)?;
        self.post.push(lut.map(|l| (l, self.current.q)));
        Some(())
    }

    /// A global pool of the current activation.
    fn pool(&mut self, at: At) -> Option<PoolQuant> {
        let NodeOp::Pool { mean } = self.files[at.file].1.nodes[at.node].op else {
            return None;
        };
        let output = self.grid(at)?;
        let p = PoolQuant {
            input: self.current.q,
            output: output.q,
            mean,
            signed: self.current.signed,
        };
        // TFLite's builtin AVERAGE_POOL_2D keeps the grid.
        if !mean && p.input != p.output {
            return None;
        }
        self.current = output;
        Some(p)
    }
}

/// The quanta a fused ReLU / ReLU6 leaves on grid `q`.
fn fused_range(q: QParams, fused: FusedActivation) -> Option<(u8, u8)> {
    let zo = q.zero_point;
    let six = zo + (6.0 / q.scale).round() as i32;
    Some(match fused {
        FusedActivation::None => (0, 255),
        FusedActivation::Relu => (zo.clamp(0, 255) as u8, 255),
        FusedActivation::Relu6 => (zo.clamp(0, 255) as u8, six.clamp(zo, 255) as u8),
        FusedActivation::Other => return None,
    })
}

/// The integer plan of a recognised network, or `None` when some part of it has no integer form
/// the int8 model runs, or a tensor is read with other parameters than it was written with.
pub(crate) fn graph_quant(
    files: &[(&TfliteFile<'_>, &Graph)],
    found: &Found,
    recognised: &Recognised,
    scaling: InputScaling,
) -> Option<GraphQuant> {
    let integer = recognised.convs.len().checked_sub(found.float_head)?;
    let convs: Vec<&QuantConv> = recognised.convs[..integer]
        .iter()
        .map(|c| c.quant.as_ref())
        .collect::<Option<_>>()?;
    let (bf, bg) = files.iter().find(|(_, g)| g.takes_image()).copied()?;
    let input_dtype = bf.tensors[bg.input].dtype;
    let mut prelude: &[At] = &found.prelude;
    let (input, grid) = match input_dtype {
        DType::U8 | DType::I8 => {
            let g = Grid::of(bf, bg.input)?;
            let input = if raw_pixels(input_dtype, g.q) {
                InputQuant::Raw(g.q)
            } else {
                InputQuant::Caller {
                    scaling,
                    quant: g.q,
                    signed: g.signed,
                }
            };
            (input, g)
        }
        DType::F32 => {
            // The graph's own QUANTIZE of the float input, then any rescaling in integers: the
            // float it quantizes is then the raw pixels.
            let (&first, rest) = prelude.split_first()?;
            if !is_quantize(files, first) {
                return None;
            }
            prelude = rest;
            let g = Grid::of(
                files[first.file].0,
                files[first.file].1.nodes[first.node].out,
            )?;
            let scaling = if rest.is_empty() {
                scaling
            } else {
                InputScaling::Dequantize {
                    scale: 1.0,
                    zero_point: 0.0,
                }
            };
            (
                InputQuant::Graph {
                    scaling,
                    quant: g.q,
                },
                g,
            )
        }
        _ => return None,
    };
    let signed = bf.tensors[bg.nodes[found.stem.conv.node].x].dtype == DType::I8;
    let mut w = Walk {
        files,
        convs,
        next: 0,
        current: grid,
        post: Vec::new(),
    };
    let prelude = w.chain(prelude)?;
    w.layer(&found.stem)?;
    let (mut adds, mut squeeze_excite) = (Vec::new(), Vec::new());
    for b in &found.blocks {
        let block_input = w.current;
        if let Some(e) = &b.expand {
            w.layer(e)?;
        }
        w.layer(&b.depthwise)?;
        let se = match &b.squeeze_excite {
            Some(se) => {
                let x = w.current;
                let pool = w.pool(se.pool)?;
                w.layer(&se.reduce)?;
                w.layer(&se.expand)?;
                let gate = w.current;
                let output = w.grid(se.mul)?;
                w.current = output;
                Some(SeQuant {
                    pool,
                    x: x.q,
                    gate: gate.q,
                    output: output.q,
                    scale: elementwise::mul_scale(x, gate, output),
                })
            }
            None => None,
        };
        squeeze_excite.push(se);
        w.layer(&b.project)?;
        let add = match b.add {
            Some(at) => {
                let output = w.grid(at)?;
                let a = AddQuant {
                    a: block_input.q,
                    b: w.current.q,
                    output: output.q,
                };
                w.current = output;
                Some(a)
            }
            None => None,
        };
        adds.push(add);
    }
    if let Some(l) = &found.last_conv {
        w.layer(l)?;
    }
    let pool = w.pool(found.pool)?;
    let integer_head = found.head.len() - found.float_head;
    for l in &found.head[..integer_head] {
        w.layer(l)?;
    }
    if w.next != w.convs.len() {
        return None;
    }
    // The graph's softmax, when it runs on 8-bit logits into 8-bit probabilities.
    let softmax = found.softmax.and_then(|at| {
        let NodeOp::Softmax { beta } = files[at.file].1.nodes[at.node].op else {
            return None;
        };
        let output = w.grid(at)?;
        Some(SoftmaxQuant {
            input: w.current.q,
            output: output.q,
            signed: output.signed,
            beta,
        })
    });
    Some(GraphQuant {
        signed,
        input,
        prelude,
        post: w.post,
        adds,
        squeeze_excite,
        pool,
        softmax: if found.float_head > 0 { None } else { softmax },
        float_head: found.float_head,
    })
}
/// Whether node `at` is a QUANTIZE.
fn is_quantize(files: &[(&TfliteFile<'_>, &Graph)], at: At) -> bool {
    matches!(
        files[at.file].1.nodes[at.node].op,
        NodeOp::Unary(Unary::Quantize)
    )
}
