//! Turns what [`super::structure`] found into the network's architecture, each convolution with
//! the file's own geometry, activation, quantization and weights' place, and recognises the
//! backbone as a MobileNet configuration (version, width α, minimalistic) by holding its
//! convolutions to the architecture tables of TF-slim and Keras.

use super::graph::{Graph, NodeOp};
use super::reader::{DType, TfliteFile};
use super::structure::{At, Found, Layer};
use crate::error::{Error, Result};
use crate::model::{
    Architecture, BlockSpec, ConvSpec, HybridKind, MobileNetConfig, QuantConv, SqueezeExciteSpec,
    Tables, Version,
};
use crate::spec::{Activation, Conv};

/// Where a convolution's weights are in the files: read by [`super::load_with`] once it knows
/// which form (float, integer) the model is built from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WeightSource {
    /// Index of the file among those loaded together.
    pub file: usize,
    /// The weight tensor.
    pub weight: usize,
    /// The bias tensor, if any.
    pub bias: Option<usize>,
    /// Whether the weights are a depthwise convolution's (1HWO, else OHWI or `[out, in]`).
    pub depthwise: bool,
    /// Subtracted from the bias of the float form (the hard-sigmoid's `+ 3` the converter
    /// folded into it: the float model applies the whole hard-sigmoid itself).
    pub bias_offset: f32,
}

/// A convolution read from the file: geometry, activation, quantization, and where its weights
/// are ([`super::read_float`] and [`super::read_quant`] return them).
#[derive(Debug, Clone)]
pub(crate) struct LoadedConv {
    /// Output tensor name (informative).
    pub name: String,
    /// Geometry and activation, as the file has them.
    pub spec: ConvSpec,
    /// The range TFLite saturates the output to before the activation, if it does.
    pub saturation: Option<(f32, f32)>,
    /// The quantization step of the output (a quantized graph's grid), if any.
    pub step: Option<f32>,
    /// The integer form, when input, weights, bias and output are all 8-bit quantized.
    pub quant: Option<QuantConv>,
    /// For a dynamic-range layer (int8 weights on a float input): whose hybrid kernel runs it.
    pub hybrid: Option<HybridKind>,
    /// Where the weights are.
    pub source: WeightSource,
}

/// A recognised network.
#[derive(Debug, Clone)]
pub(crate) struct Recognised {
    /// The configuration its backbone matches.
    pub config: MobileNetConfig,
    /// Its architecture, from the file.
    pub arch: Architecture,
    /// Its convolutions in the order of [`Architecture::convs`].
    pub convs: Vec<LoadedConv>,
}

/// Widths tried: the published ones and a fine grid (Keras accepts any α).
fn widths() -> impl Iterator<Item = f32> {
    // i / 20, not i × 0.05: the nearest f32 to each width (1.3, not 1.3000001).
    (5..=40).map(|i| i as f32 / 20.0).chain([0.35, 1.3, 1.4])
}

/// A convolution of the found network, in the file it belongs to.
fn loaded(
    files: &[(&TfliteFile<'_>, &Graph)],
    layer: &Layer,
    bias_offset: f32,
) -> Result<LoadedConv> {
    let At { file: f, node } = layer.conv;
    let (file, graph) = files[f];
    let n = &graph.nodes[node];
    let NodeOp::Conv {
        conv,
        fused,
        weight,
        bias,
        depthwise,
        ..
    } = n.op
    else {
        return Err(Error::Internal("a layer that is not a convolution".into()));
    };
    // The output of the convolution itself (before a separate activation operator).
    let conv_out = n.out;
    let range = file.tensors[conv_out].quantized_range();
    let saturation = match layer.activation {
        Activation::None => None,
        _ => range,
    };
    let step = file.tensors[conv_out]
        .quantization
        .as_ref()
        .filter(|q| q.scale.len() == 1)
        .map(|q| q.scale[0]);
    Ok(LoadedConv {
        name: file.tensors[conv_out].name.clone(),
        spec: ConvSpec {
            conv,
            activation: layer.activation,
        },
        saturation,
        step,
        quant: super::quant::quant_conv(file, n.x, weight, bias, conv_out, fused, depthwise),
        // The delegate quantizes the inputs of CONV_2D and FULLY_CONNECTED itself; it refuses
        // a DEPTHWISE_CONV_2D with mixed types, which TFLite's kernel then runs.
        hybrid: (file.tensors[weight].dtype == DType::I8 && file.tensors[n.x].dtype == DType::F32)
            .then_some(if depthwise {
                HybridKind::Tflite
            } else if conv.kernel == 1 && conv.stride == 1 {
                HybridKind::XnnpackRows
            } else {
                HybridKind::Xnnpack
            }),
        source: WeightSource {
            file: f,
            weight,
            bias,
            depthwise,
            bias_offset,
        },
    })
}

fn same_shape(a: &Conv, b: &Conv) -> bool {
    a.in_channels == b.in_channels
        && a.out_channels == b.out_channels
        && a.kernel == b.kernel
        && a.stride == b.stride
        && a.groups == b.groups
}

/// The version a backbone's structure says it is.
fn version_of(arch: &Architecture) -> Result<Version> {
    let gated = arch.blocks.iter().any(|b| b.squeeze_excite.is_some());
    let hard_swish = arch
        .convs()
        .iter()
        .any(|c| c.activation == Activation::HardSwish);
    let expands = arch.blocks.iter().any(|b| b.expand.is_some() || b.residual);
    Ok(match (arch.blocks.len(), expands) {
        (11, true) => Version::V3Small,
        (15, true) => Version::V3Large,
        (17, true) if !gated && !hard_swish => Version::V2,
        (13, false) if !gated && !hard_swish => Version::V1,
        (n, _) => {
            return Err(Error::ModelUnsupported(format!(
                "{n} blocks{}: no MobileNet has this layout",
                if gated || hard_swish {
                    " with squeeze-excite/hard-swish"
                } else {
                    ""
                }
            )));
        }
    })
}

/// The backbone's convolutions (stem, blocks, last convolution), in order.
fn backbone(arch: &Architecture) -> Vec<ConvSpec> {
    let mut convs = arch.convs();
    convs.truncate(convs.len() - arch.head.len());
    convs
}

/// Recognises the found network: its architecture from the file, and the configuration whose
/// tables its backbone matches, convolution for convolution.
pub(crate) fn recognise(files: &[(&TfliteFile<'_>, &Graph)], found: &Found) -> Result<Recognised> {
    let spec = |l: &Layer, offset: f32| -> Result<LoadedConv> { loaded(files, l, offset) };
    let stem = spec(&found.stem, 0.0)?;
    let mut convs = vec![stem.clone()];
    let mut blocks = Vec::new();
    let mut x_channels = stem.spec.conv.out_channels;
    for b in &found.blocks {
        let expand = b.expand.as_ref().map(|l| spec(l, 0.0)).transpose()?;
        let depthwise = spec(&b.depthwise, 0.0)?;
        let se = b
            .squeeze_excite
            .as_ref()
            .map(|se| Ok::<_, Error>((spec(&se.reduce, 0.0)?, spec(&se.expand, se.folded_offset)?)))
            .transpose()?;
        let project = spec(&b.project, 0.0)?;
        let residual = b.add.is_some();
        let out = project.spec.conv.out_channels;
        if residual && (out != x_channels || depthwise.spec.conv.stride != 1) {
            return Err(Error::ModelUnsupported(
                "a residual addition across a change of shape".into(),
            ));
        }
        x_channels = out;
        blocks.push(BlockSpec {
            expand: expand.as_ref().map(|c| c.spec),
            depthwise: depthwise.spec,
            squeeze_excite: se.as_ref().map(|(r, e)| SqueezeExciteSpec {
                reduce: r.spec,
                expand: e.spec,
            }),
            project: project.spec,
            residual,
        });
        convs.extend(expand);
        convs.push(depthwise);
        if let Some((r, e)) = se {
            convs.push(r);
            convs.push(e);
        }
        convs.push(project);
    }
    let last_conv = found.last_conv.as_ref().map(|l| spec(l, 0.0)).transpose()?;
    convs.extend(last_conv.clone());
    let head: Vec<LoadedConv> = found
        .head
        .iter()
        .map(|l| spec(l, 0.0))
        .collect::<Result<_>>()?;
    convs.extend(head.iter().cloned());
    let arch = Architecture {
        stem: stem.spec,
        blocks,
        last_conv: last_conv.map(|c| c.spec),
        head: head.iter().map(|c| c.spec).collect(),
    };
    let version = version_of(&arch)?;
    let (file, graph) = files
        .iter()
        .find(|(_, g)| g.takes_image())
        .expect("a backbone");
    let shape = &graph.input_shape;
    if shape.len() != 4 || shape[0] != 1 || shape[1] != shape[2] || shape[3] != 3 {
        return Err(Error::ModelUnsupported(format!(
            "input shape {shape:?}; expected [1, S, S, 3]"
        )));
    }
    if !matches!(
        file.tensors[graph.input].dtype,
        DType::F32 | DType::U8 | DType::I8
    ) {
        return Err(Error::ModelUnsupported(format!(
            "graph input of element type {:?}",
            file.tensors[graph.input].dtype
        )));
    }
    let num_classes = arch.classifier().conv.out_channels;
    let ours = backbone(&arch);
    let mut closest: Option<(usize, String)> = None;
    let variants: &[(Tables, bool)] = match version {
        Version::V3Small | Version::V3Large => &[
            (Tables::Slim, false),
            (Tables::Keras, false),
            (Tables::Keras, true),
        ],
        _ => &[(Tables::Slim, false)],
    };
    for &(tables, minimalistic) in variants {
        for width in widths() {
            let config = MobileNetConfig {
                version,
                width_multiplier: width,
                resolution: shape[1],
                num_classes,
                minimalistic,
            };
            let expected = config.architecture_of(tables);
            let theirs = backbone(&expected);
            let structure = expected.blocks.len() == arch.blocks.len()
                && expected.blocks.iter().zip(&arch.blocks).all(|(a, b)| {
                    a.expand.is_some() == b.expand.is_some()
                        && a.squeeze_excite.is_some() == b.squeeze_excite.is_some()
                        && a.residual == b.residual
                })
                && expected.last_conv.is_some() == arch.last_conv.is_some();
            if !structure {
                continue;
            }
            let matching = theirs
                .iter()
                .zip(&ours)
                .take_while(|(t, o)| same_shape(&t.conv, &o.conv))
                .count();
            if matching == theirs.len() && theirs.len() == ours.len() {
                return Ok(Recognised {
                    config,
                    arch,
                    convs,
                });
            }
            if closest.as_ref().is_none_or(|(m, _)| matching > *m) {
                let c = ours[matching.min(ours.len() - 1)].conv;
                let detail = format!(
                    "at width {width}, layer {matching} ({:?}) is {}x{} {}→{} stride {}, expected {:?}",
                    convs[matching.min(ours.len() - 1)].name,
                    c.kernel,
                    c.kernel,
                    c.in_channels,
                    c.out_channels,
                    c.stride,
                    theirs.get(matching).map(|s| s.conv)
                );
                closest = Some((matching, detail));
            }
        }
    }
    Err(Error::ModelUnsupported(format!(
        "a {} layout, but no width multiplier matches its layer shapes{}",
        version.name(),
        closest.map(|(_, d)| format!(" ({d})")).unwrap_or_default()
    )))
}
