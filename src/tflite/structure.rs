//! Finds a MobileNet in a file's nodes: what prepares the input (a QUANTIZE, an in-model
//! rescaling), the stem, the blocks (optional 1×1 expansion, depthwise, optional squeeze-excite,
//! 1×1 projection, optional residual addition), the last 1×1 convolution, the global pool, the
//! head (the dense layers after the pool, as 1×1 convolutions or FULLY_CONNECTED) and the output
//! (softmax, sigmoid or the logits). Each convolution's activation is resolved from its fused
//! option, the operator that follows it (HARD_SWISH, RELU, RELU6, MINIMUM/MAXIMUM), or, in the
//! published quantized files that carry none, its output tensor's quantized range.

use super::graph::{Binary, Graph, Node, NodeOp, Operand, Unary};
use super::reader::{FusedActivation, TfliteFile};
use crate::error::{Error, Result};
use crate::spec::Activation;

/// A node of one of the files loaded together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct At {
    pub file: usize,
    pub node: usize,
}

/// A convolution and the activation that follows it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layer {
    /// The convolution node.
    pub conv: At,
    /// Its activation.
    pub activation: Activation,
    /// The operators after the convolution that make its activation, in order.
    pub post: Vec<At>,
    /// The tensor of its output, after the activation.
    pub out: usize,
}

/// Squeeze-excite: pool, reduce, expand, the gate's own operators, the multiplication.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqueezeExcite {
    pub pool: At,
    pub reduce: Layer,
    /// The expanding convolution; its `post` holds the gate's element-wise operators.
    pub expand: Layer,
    /// What the expanding convolution's bias holds of the hard-sigmoid's `+ 3` (the converter
    /// folds it there when the gate is a fused ReLU6 and a multiplication by 1/6).
    pub folded_offset: f32,
    /// The multiplication of the block's activation by the gate.
    pub mul: At,
}

/// One block.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FoundBlock {
    pub expand: Option<Layer>,
    pub depthwise: Layer,
    pub squeeze_excite: Option<SqueezeExcite>,
    pub project: Layer,
    /// The residual addition.
    pub add: Option<At>,
}

/// How the network's outputs are turned into scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputActivation {
    /// Softmax over the outputs (the graph's own, or applied to logits).
    Softmax,
    /// An independent sigmoid per output.
    Sigmoid,
}

/// A MobileNet found in the nodes of one file, or of a backbone and its head.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Found {
    /// Element-wise operators between the graph input and the stem (QUANTIZE, the constant
    /// MUL / ADD / SUB of an in-model rescaling).
    pub prelude: Vec<At>,
    pub stem: Layer,
    pub blocks: Vec<FoundBlock>,
    pub last_conv: Option<Layer>,
    pub pool: At,
    /// The dense layers after the pool, the last one giving the outputs.
    pub head: Vec<Layer>,
    pub output: OutputActivation,
    /// The graph's SOFTMAX, if it has one.
    pub softmax: Option<At>,
    /// How many of the head's last layers run in float after a DEQUANTIZE of an integer
    /// backbone's features (0 for the files converters write).
    pub float_head: usize,
}

fn unexpected(file: &TfliteFile<'_>, graph: &Graph, i: usize, what: &str) -> Error {
    let found = match graph.nodes.get(i) {
        Some(n) => format!("{} ({:?})", describe(&n.op), file.tensors[n.out].name),
        None => "the end of the graph".into(),
    };
    Error::ModelUnsupported(format!(
        "layer sequence does not match a MobileNet: expected {what} at node {i}, found {found}"
    ))
}

/// A short name of a node's operation, for messages.
fn describe(op: &NodeOp) -> String {
    match op {
        NodeOp::Conv {
            conv, dense: true, ..
        } => format!("a dense layer {}→{}", conv.in_channels, conv.out_channels),
        NodeOp::Conv { conv, .. } => format!(
            "a {}x{} convolution {}→{} stride {}{}",
            conv.kernel,
            conv.kernel,
            conv.in_channels,
            conv.out_channels,
            conv.stride,
            if conv.groups > 1 { " (depthwise)" } else { "" }
        ),
        NodeOp::Unary(u) => format!("{u:?}"),
        NodeOp::Binary { op, .. } => format!("{op:?}"),
        NodeOp::Pool { .. } => "a global pool".into(),
        NodeOp::Softmax { .. } => "a softmax".into(),
    }
}

/// A cursor over one file's nodes.
struct Cursor<'a, 'f> {
    file: &'a TfliteFile<'f>,
    graph: &'a Graph,
    index: usize,
    i: usize,
}

impl Cursor<'_, '_> {
    fn at(&self, i: usize) -> At {
        At {
            file: self.index,
            node: i,
        }
    }

    fn node(&self, i: usize) -> Option<&Node> {
        self.graph.nodes.get(i)
    }

    fn err(&self, i: usize, what: &str) -> Error {
        unexpected(self.file, self.graph, i, what)
    }

    /// The value of a scalar constant operand.
    fn constant(&self, other: Operand) -> Option<f32> {
        match other {
            Operand::Const(c) => self.file.scalar(c).ok(),
            Operand::Act(_) => None,
        }
    }

    /// Whether node `i` reads `x` and is a convolution (depthwise or not as asked).
    fn conv_on(&self, i: usize, x: usize, depthwise: Option<bool>) -> bool {
        matches!(self.node(i), Some(Node { op: NodeOp::Conv { depthwise: d, dense: false, .. }, x: nx, .. })
            if *nx == x && depthwise.is_none_or(|want| want == *d))
    }

    /// The convolution at the cursor and its activation; the cursor moves past both.
    fn layer(&mut self, what: &str) -> Result<Layer> {
        let i = self.i;
        let Some(Node {
            op: NodeOp::Conv { fused, .. },
            out,
            ..
        }) = self.node(i)
        else {
            return Err(self.err(i, what));
        };
        let (fused, mut out) = (*fused, *out);
        self.i += 1;
        let mut activation = match fused {
            FusedActivation::None => Activation::None,
            FusedActivation::Relu => Activation::Relu,
            FusedActivation::Relu6 => Activation::Relu6,
            FusedActivation::Other => {
                return Err(Error::ModelUnsupported(
                    "a convolution with a fused activation other than ReLU/ReLU6".into(),
                ));
            }
        };
        let mut post = Vec::new();
        if activation == Activation::None {
            // An activation of its own that reads the convolution's output.
            while let Some(n) = self.node(self.i).filter(|n| n.x == out) {
                let next = match (&n.op, activation) {
                    (NodeOp::Unary(Unary::HardSwish), Activation::None) => Activation::HardSwish,
                    (NodeOp::Unary(Unary::Relu), Activation::None) => Activation::Relu,
                    (NodeOp::Unary(Unary::Relu6), Activation::None) => Activation::Relu6,
                    (
                        NodeOp::Binary {
                            op: Binary::Maximum,
                            other,
                            ..
                        },
                        Activation::None,
                    ) if self.constant(*other) == Some(0.0) => Activation::Relu,
                    (
                        NodeOp::Binary {
                            op: Binary::Minimum,
                            other,
                            ..
                        },
                        Activation::Relu,
                    ) if self.constant(*other) == Some(6.0) => Activation::Relu6,
                    _ => break,
                };
                activation = next;
                post.push(self.at(self.i));
                out = n.out;
                self.i += 1;
            }
        }
        if activation == Activation::None && post.is_empty() {
            // The published quantized files: ReLU / ReLU6 survive only as the output's range.
            activation = match self.file.tensors[out].quantized_range() {
                Some((lo, hi)) if lo == 0.0 && hi <= 6.0 + 0.05 => Activation::Relu6,
                Some((0.0, _)) => Activation::Relu,
                _ => Activation::None,
            };
        }
        Ok(Layer {
            conv: self.at(i),
            activation,
            post,
            out,
        })
    }

    /// Squeeze-excite on the depthwise output `x`, if the nodes at the cursor are one.
    fn squeeze_excite(&mut self, x: usize) -> Result<Option<SqueezeExcite>> {
        let start = self.i;
        let Some(Node {
            op: NodeOp::Pool { .. },
            out: pooled,
            ..
        }) = self.node(start).filter(|n| n.x == x)
        else {
            return Ok(None);
        };
        let pooled = *pooled;
        self.i += 1;
        if !self.conv_on(self.i, pooled, Some(false)) {
            return Err(self.err(self.i, "squeeze-excite's reducing convolution"));
        }
        let reduce = self.layer("squeeze-excite's reducing convolution")?;
        if !self.conv_on(self.i, reduce.out, Some(false)) {
            return Err(self.err(self.i, "squeeze-excite's expanding convolution"));
        }
        let mut expand = self.layer("squeeze-excite's expanding convolution")?;
        // The gate, a hard-sigmoid: ReLU6(conv + 3) / 6, with the `+ 3` an ADD of its own
        // (TF-slim) or folded into the bias (the converter, for Keras), then the MUL by 1/6.
        let mut folded_offset = 3.0;
        let mut gate = expand.out;
        if let Some(Node {
            op:
                NodeOp::Binary {
                    op: Binary::Add,
                    other,
                    ..
                },
            out,
            ..
        }) = self.node(self.i).filter(|n| n.x == gate)
        {
            // The ReLU6 is the ADD's fused activation, the RELU6 after it, or (quantized) the
            // range of its output.
            if !approx(self.constant(*other).unwrap_or(f32::NAN), 3.0) {
                return Err(self.err(self.i, "the hard-sigmoid's + 3"));
            }
            folded_offset = 0.0;
            expand.post.push(self.at(self.i));
            gate = *out;
            self.i += 1;
            if let Some(Node {
                op: NodeOp::Unary(Unary::Relu6),
                out,
                ..
            }) = self.node(self.i).filter(|n| n.x == gate)
            {
                expand.post.push(self.at(self.i));
                gate = *out;
                self.i += 1;
            }
        } else if expand.activation != Activation::Relu6 {
            return Err(self.err(self.i, "a hard-sigmoid gate"));
        }
        match self.node(self.i).filter(|n| n.x == gate) {
            Some(Node {
                op:
                    NodeOp::Binary {
                        op: Binary::Mul,
                        other,
                        ..
                    },
                out,
                ..
            }) if approx(self.constant(*other).unwrap_or(f32::NAN), 1.0 / 6.0) => {
                expand.post.push(self.at(self.i));
                gate = *out;
                self.i += 1;
            }
            _ => return Err(self.err(self.i, "the hard-sigmoid's / 6")),
        }
        expand.activation = Activation::HardSigmoid;
        expand.out = gate;
        let mul = self.i;
        match self.node(mul) {
            Some(Node {
                op:
                    NodeOp::Binary {
                        op: Binary::Mul,
                        other: Operand::Act(o),
                        ..
                    },
                x: a,
                ..
            }) if (*a == x && *o == gate) || (*a == gate && *o == x) => self.i += 1,
            _ => return Err(self.err(mul, "squeeze-excite's multiplication")),
        }
        Ok(Some(SqueezeExcite {
            pool: self.at(start),
            reduce,
            expand,
            folded_offset,
            mul: self.at(mul),
        }))
    }
}

fn approx(a: f32, b: f32) -> bool {
    (a - b).abs() <= 0.02 * b.abs().max(1e-3)
}

/// The output tensor of node `at` in its file.
fn out_of(graph: &Graph, at: At) -> usize {
    graph.nodes[at.node].out
}

/// The backbone found in an image-taking file: everything up to the global pool (a split
/// model's backbone ends there) and, when the file goes on, its head.
fn backbone(file: &TfliteFile<'_>, graph: &Graph, index: usize) -> Result<(Found, usize)> {
    let mut c = Cursor {
        file,
        graph,
        index,
        i: 0,
    };
    // The input's preparation: element-wise operators before the first convolution.
    let mut prelude = Vec::new();
    let mut x = graph.input;
    while let Some(n) = c.node(c.i).filter(|n| n.x == x) {
        let prepares = match &n.op {
            NodeOp::Unary(Unary::Quantize) => true,
            NodeOp::Binary {
                op: Binary::Add | Binary::Sub | Binary::Mul,
                other: Operand::Const(_),
                fused: FusedActivation::None,
            } => true,
            _ => false,
        };
        if !prepares {
            break;
        }
        prelude.push(c.at(c.i));
        x = n.out;
        c.i += 1;
    }
    if !c.conv_on(c.i, x, Some(false)) {
        return Err(c.err(c.i, "a stem convolution"));
    }
    let stem = c.layer("a stem convolution")?;
    let mut x = stem.out;
    let mut blocks = Vec::new();
    loop {
        let start = c.i;
        let mut expand = None;
        if c.conv_on(c.i, x, Some(false)) {
            let e = c.layer("an expansion")?;
            if !c.conv_on(c.i, e.out, Some(true))
                || !matches!(graph.nodes[e.conv.node].op, NodeOp::Conv { conv, .. } if conv.kernel == 1)
            {
                // Not a block: the last 1×1 convolution before the pool.
                c.i = start;
                break;
            }
            expand = Some(e);
        }
        let dx = expand.as_ref().map_or(x, |e| e.out);
        if !c.conv_on(c.i, dx, Some(true)) {
            c.i = start;
            break;
        }
        let depthwise = c.layer("a depthwise convolution")?;
        let squeeze_excite = c.squeeze_excite(depthwise.out)?;
        let y = match &squeeze_excite {
            Some(se) => out_of(graph, se.mul),
            None => depthwise.out,
        };
        if !c.conv_on(c.i, y, Some(false)) {
            return Err(c.err(c.i, "a 1x1 projection"));
        }
        let project = c.layer("a 1x1 projection")?;
        let mut out = project.out;
        let mut add = None;
        if let Some(Node {
            op:
                NodeOp::Binary {
                    op: Binary::Add,
                    other: Operand::Act(o),
                    fused: FusedActivation::None,
                },
            x: a,
            out: sum,
        }) = c.node(c.i)
            && ((*a == x && *o == out) || (*a == out && *o == x))
        {
            add = Some(c.at(c.i));
            out = *sum;
            c.i += 1;
        }
        blocks.push(FoundBlock {
            expand,
            depthwise,
            squeeze_excite,
            project,
            add,
        });
        x = out;
    }
    let mut last_conv = None;
    if c.conv_on(c.i, x, Some(false)) {
        let l = c.layer("the last convolution")?;
        x = l.out;
        last_conv = Some(l);
    }
    match c.node(c.i) {
        Some(Node {
            op: NodeOp::Pool { .. },
            x: px,
            ..
        }) if *px == x => {}
        _ => return Err(c.err(c.i, "global pooling")),
    }
    let pool = c.at(c.i);
    c.i += 1;
    let found = Found {
        prelude,
        stem,
        blocks,
        last_conv,
        pool,
        head: Vec::new(),
        output: OutputActivation::Softmax,
        softmax: None,
        float_head: 0,
    };
    Ok((found, c.i))
}

/// The head: dense layers from node `start` on `x`, then the output's activation and what only
/// converts it (QUANTIZE, DEQUANTIZE) to the end of the graph.
fn head(
    file: &TfliteFile<'_>,
    graph: &Graph,
    index: usize,
    start: usize,
    mut x: usize,
) -> Result<(Vec<Layer>, OutputActivation, Option<At>, Option<usize>)> {
    let mut c = Cursor {
        file,
        graph,
        index,
        i: start,
    };
    let mut layers = Vec::new();
    let mut float_from = None;
    loop {
        // A DEQUANTIZE before a dense layer: an integer backbone with a float head (the
        // custom classes' export); the layers after it are float.
        if let Some(Node {
            op: NodeOp::Unary(Unary::Dequantize),
            x: nx,
            out,
        }) = c.node(c.i)
            && *nx == x
            && float_from.is_none()
            && matches!(
                c.node(c.i + 1).map(|n| &n.op),
                Some(NodeOp::Conv {
                    depthwise: false,
                    ..
                })
            )
        {
            float_from = Some(layers.len());
            x = *out;
            c.i += 1;
        }
        let Some(Node {
            op:
                NodeOp::Conv {
                    conv,
                    depthwise: false,
                    ..
                },
            x: nx,
            ..
        }) = c.node(c.i)
        else {
            break;
        };
        if *nx != x || conv.kernel != 1 {
            return Err(c.err(c.i, "a dense layer on the pooled features"));
        }
        let l = c.layer("a dense layer")?;
        x = l.out;
        layers.push(l);
    }
    if layers.is_empty() {
        return Err(Error::ModelIncomplete(
            "the graph ends after global pooling: this is a backbone without its classifier \
             head; load it together with the head file"
                .into(),
        ));
    }
    let mut output = OutputActivation::Softmax;
    let mut softmax = None;
    while let Some(n) = c.node(c.i) {
        if n.x != x {
            return Err(c.err(c.i, "the end of the graph"));
        }
        match n.op {
            NodeOp::Softmax { .. } => softmax = Some(c.at(c.i)),
            NodeOp::Unary(Unary::Logistic) => output = OutputActivation::Sigmoid,
            NodeOp::Unary(Unary::Quantize | Unary::Dequantize) => {}
            _ => return Err(c.err(c.i, "the end of the graph")),
        }
        x = n.out;
        c.i += 1;
    }
    // The outputs' activation is applied to the logits (an int8 file's softmax output has only
    // 256 levels, which would tie the ranking).
    if let Some(last) = layers.last()
        && last.activation != Activation::None
    {
        return Err(Error::ModelUnsupported(format!(
            "a {:?} after the last dense layer",
            last.activation
        )));
    }
    Ok((layers, output, softmax, float_from))
}

/// Finds the MobileNet in the graphs of the files loaded together: the one that takes an image
/// first, then, when it ends at its global pool, the head file.
pub(crate) fn find(files: &[(&TfliteFile<'_>, &Graph)]) -> Result<Found> {
    let backbones: Vec<usize> = (0..files.len())
        .filter(|&i| files[i].1.takes_image())
        .collect();
    let &[b] = backbones.as_slice() else {
        return Err(if backbones.is_empty() {
            Error::ModelIncomplete(format!(
                "this file takes a {:?} tensor, not an image: it is a classifier head; load it \
                 together with its backbone",
                files[0].1.input_shape
            ))
        } else {
            Error::ModelIncomplete(
                "a second file that takes an image; only a classifier head can follow a backbone"
                    .into(),
            )
        });
    };
    let (file, graph) = files[b];
    let (mut found, next) = backbone(file, graph, b)?;
    let pooled = out_of(graph, found.pool);
    let heads: Vec<usize> = (0..files.len()).filter(|&i| i != b).collect();
    let (layers, output, softmax, float_from) = match heads.as_slice() {
        [] => head(file, graph, b, next, pooled)?,
        [h] => {
            if next != graph.nodes.len() {
                return Err(Error::ModelIncomplete(
                    "a head file beside a backbone that has a head of its own".into(),
                ));
            }
            let (hf, hg) = files[*h];
            let channels = file.tensors[pooled].shape.last().copied();
            if hg.input_shape.last().copied() != channels {
                return Err(Error::ModelIncomplete(format!(
                    "the head takes {:?}, which the backbone does not produce",
                    hg.input_shape
                )));
            }
            head(hf, hg, *h, 0, hg.input)?
        }
        _ => {
            return Err(Error::ModelIncomplete(
                "more than one head file for one backbone".into(),
            ));
        }
    };
    found.float_head = float_from.map_or(0, |i| layers.len() - i);
    found.head = layers;
    found.output = output;
    found.softmax = softmax;
    Ok(found)
}
