//! Recognises which MobileNet a walked graph is, and checks every convolution against the
//! architecture that configuration implies.

use super::graph::{LoadedConv, Step, Walk};
use crate::error::{Error, Result};
use crate::model::{Architecture, ConvSpec, MobileNetConfig, Version};
use crate::spec::Activation;

/// Block structure as found in the file (indices into the walk's convolutions).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FoundBlock {
    expand: Option<usize>,
    depthwise: usize,
    squeeze_excite: Option<(usize, usize)>,
    project: usize,
    residual: bool,
    /// The step of the residual addition.
    add_step: Option<usize>,
}

#[derive(Debug)]
struct Found {
    stem: usize,
    blocks: Vec<FoundBlock>,
    /// The step of the global pooling.
    pool_step: usize,
    last_conv: Option<usize>,
    pre_logits: Option<usize>,
    classifier: usize,
}

fn parse(steps: &[Step], convs: &[LoadedConv]) -> Result<Found> {
    let conv_at = |i: usize| match steps.get(i) {
        Some(Step::Conv(c)) => Some(*c),
        _ => None,
    };
    let is_dw = |c: usize| convs[c].spec.conv.groups > 1;
    let is_1x1 = |c: usize| convs[c].spec.conv.groups == 1 && convs[c].spec.conv.kernel == 1;
    let unexpected = |i: usize, what: &str| {
        Error::ModelUnsupported(format!(
            "layer sequence does not match a MobileNet: expected {what} at step {i}, found {:?}",
            steps.get(i)
        ))
    };

    let stem = conv_at(0)
        .filter(|&c| !is_dw(c))
        .ok_or_else(|| unexpected(0, "a stem convolution"))?;
    let mut i = 1;
    let mut blocks = Vec::new();
    loop {
        let mut j = i;
        let mut expand = None;
        if let (Some(e), Some(d)) = (conv_at(j), conv_at(j + 1))
            && is_1x1(e)
            && is_dw(d)
        {
            expand = Some(e);
            j += 1;
        }
        let Some(depthwise) = conv_at(j).filter(|&d| is_dw(d)) else {
            break;
        };
        j += 1;
        let mut squeeze_excite = None;
        if steps.get(j) == Some(&Step::Pool) && steps.get(j + 3) == Some(&Step::Gate) {
            match (conv_at(j + 1), conv_at(j + 2)) {
                (Some(r), Some(e)) => squeeze_excite = Some((r, e)),
                _ => return Err(unexpected(j + 1, "squeeze-excite convolutions")),
            }
            j += 4;
        }
        let project = conv_at(j)
            .filter(|&p| is_1x1(p))
            .ok_or_else(|| unexpected(j, "a 1x1 projection"))?;
        j += 1;
        let residual = steps.get(j) == Some(&Step::Add);
        let add_step = residual.then_some(j);
        if residual {
            j += 1;
        }
        blocks.push(FoundBlock {
            expand,
            depthwise,
            squeeze_excite,
            project,
            residual,
            add_step,
        });
        i = j;
    }
    let mut last_conv = None;
    if let Some(c) = conv_at(i)
        && steps.get(i + 1) == Some(&Step::Pool)
    {
        last_conv = Some(c);
        i += 1;
    }
    if steps.get(i) != Some(&Step::Pool) {
        return Err(unexpected(i, "global pooling"));
    }
    let pool_step = i;
    i += 1;
    let mut pre_logits = None;
    if let (Some(p), Some(_)) = (conv_at(i), conv_at(i + 1)) {
        pre_logits = Some(p);
        i += 1;
    }
    let Some(classifier) = conv_at(i) else {
        return Err(Error::ModelIncomplete(
            "the graph ends after global pooling: this is a backbone without its classifier \
             head; load it together with the head file"
                .into(),
        ));
    };
    if i + 1 != steps.len() {
        return Err(unexpected(i + 1, "the end of the graph"));
    }
    Ok(Found {
        stem,
        blocks,
        pool_step,
        last_conv,
        pre_logits,
        classifier,
    })
}

fn version_of(found: &Found, convs: &[LoadedConv]) -> Result<Version> {
    let v3 = found.blocks.iter().any(|b| b.squeeze_excite.is_some())
        || convs
            .iter()
            .any(|c| c.spec.activation == Activation::HardSwish);
    let v2 = found
        .blocks
        .iter()
        .any(|b| b.expand.is_some() || b.residual);
    Ok(match (v3, v2, found.blocks.len()) {
        (true, _, 11) => Version::V3Small,
        (true, _, 15) => Version::V3Large,
        (false, true, 17) => Version::V2,
        (false, false, 13) => Version::V1,
        (_, _, n) => {
            return Err(Error::ModelUnsupported(format!(
                "{n} blocks{}: no MobileNet has this layout",
                if v3 {
                    " with squeeze-excite/hard-swish"
                } else {
                    ""
                }
            )));
        }
    })
}

fn same_shape(spec: &ConvSpec, conv: &LoadedConv) -> bool {
    let (a, b) = (spec.conv, conv.spec.conv);
    a.in_channels == b.in_channels
        && a.out_channels == b.out_channels
        && a.kernel == b.kernel
        && a.stride == b.stride
        && a.groups == b.groups
}

fn same_structure(arch: &Architecture, found: &Found) -> bool {
    arch.blocks.len() == found.blocks.len()
        && arch.blocks.iter().zip(&found.blocks).all(|(a, f)| {
            a.expand.is_some() == f.expand.is_some()
                && a.squeeze_excite.is_some() == f.squeeze_excite.is_some()
                && a.residual == f.residual
        })
        && arch.last_conv.is_some() == found.last_conv.is_some()
        && arch.pre_logits.is_some() == found.pre_logits.is_some()
}

/// Width multipliers of the published MobileNets.
const WIDTHS: [f32; 8] = [0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4, 2.0];

/// A recognised graph.
#[derive(Debug, Clone)]
pub(crate) struct Recognised {
    /// Which MobileNet it is.
    pub config: MobileNetConfig,
    /// Its convolutions in the order of [`Architecture::convs`].
    pub convs: Vec<LoadedConv>,
    /// Per block: the step of [`Walk::steps`] that is its residual addition, if any.
    pub add_steps: Vec<Option<usize>>,
    /// The step that is the global pooling.
    pub pool_step: usize,
}

/// Recognises the configuration of a walked graph and returns it with the convolutions in the
/// order of [`Architecture::convs`], each checked against its specification.
pub(crate) fn recognise(walk: &Walk) -> Result<Recognised> {
    let found = parse(&walk.steps, &walk.convs)?;
    let version = version_of(&found, &walk.convs)?;
    let shape = &walk.input_shape;
    if shape.len() != 4 || shape[0] != 1 || shape[1] != shape[2] || shape[3] != 3 {
        return Err(Error::ModelUnsupported(format!(
            "input shape {shape:?}; expected [1, S, S, 3]"
        )));
    }
    let num_classes = walk.convs[found.classifier].spec.conv.out_channels;
    let mut order = vec![found.stem];
    for b in &found.blocks {
        order.extend(b.expand);
        order.push(b.depthwise);
        if let Some((r, e)) = b.squeeze_excite {
            order.push(r);
            order.push(e);
        }
        order.push(b.project);
    }
    order.extend(found.last_conv);
    order.extend(found.pre_logits);
    order.push(found.classifier);

    let mut closest: Option<(usize, String)> = None;
    for width in WIDTHS {
        let config = MobileNetConfig {
            version,
            width_multiplier: width,
            resolution: shape[1],
            num_classes,
        };
        let arch = config.architecture();
        if !same_structure(&arch, &found) {
            continue;
        }
        let specs = arch.convs();
        let matching = specs
            .iter()
            .zip(&order)
            .take_while(|(s, c)| same_shape(s, &walk.convs[**c]))
            .count();
        if matching == specs.len() && specs.len() == order.len() {
            let convs = order.iter().map(|&c| walk.convs[c].clone()).collect();
            return Ok(Recognised {
                config,
                convs,
                add_steps: found.blocks.iter().map(|b| b.add_step).collect(),
                pool_step: found.pool_step,
            });
        }
        if closest.as_ref().is_none_or(|(m, _)| matching > *m) {
            let found = &walk.convs[order[matching.min(order.len() - 1)]];
            let c = found.spec.conv;
            let expected = specs.get(matching).map(|s| s.conv);
            let detail = format!(
                "at width {width}, layer {matching} ({:?}) is {}x{} {}→{} stride {}, expected {:?}",
                found.name, c.kernel, c.kernel, c.in_channels, c.out_channels, c.stride, expected
            );
            closest = Some((matching, detail));
        }
    }
    Err(Error::ModelUnsupported(format!(
        "a {} layout, but no width multiplier matches its layer shapes{}",
        version.name(),
        closest.map(|(_, d)| format!(" ({d})")).unwrap_or_default()
    )))
}
