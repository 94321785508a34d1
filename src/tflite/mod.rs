//! Reads TFLite MobileNet files: the flatbuffer ([`reader`]), its operator graph reduced to what
//! a MobileNet is made of ([`graph`]), recognised as a configuration ([`recognise`]), and the
//! weights in the form the model is built from.

mod graph;
mod labels;
mod reader;
mod recognise;
mod tensors;

#[allow(clippy::all, unused_imports, dead_code, non_camel_case_types, non_snake_case, deprecated, mismatched_lifetime_syntaxes, unsafe_op_in_unsafe_fn, missing_docs)]
#[rustfmt::skip]
mod schema_generated;

/// The generated flatbuffer bindings (subset of the TFLite schema), public so tests and tools
/// can build TFLite files.
pub use schema_generated::tflite as schema;

pub(crate) use graph::{LoadedConv, Step, StepQuant, Walk, walk};
pub use labels::embedded_labels;
pub use reader::MAX_MODEL_BYTES;
pub(crate) use reader::TfliteFile;
pub(crate) use recognise::{Recognised, recognise};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{ConvWeights, GraphQuant, IntWeights, MobileNetConfig, Version};
use crate::spec::{InputScaling, QParams};

/// A model read from one file, or from several chained files (backbone, then head).
#[derive(Debug, Clone)]
pub(crate) struct LoadedModel {
    /// What the files are.
    pub config: MobileNetConfig,
    /// Convolutions in the order of [`crate::model::Architecture::convs`].
    pub convs: Vec<LoadedConv>,
    /// Their float weights, when read.
    pub float: Option<Vec<ConvWeights>>,
    /// Their integer weights, when read (the graph has an integer form).
    pub integer: Option<Vec<IntWeights>>,
    /// Pixel scaling the model expects.
    pub input_scaling: InputScaling,
    /// Labels packed into the file(s), one per output, if present.
    pub labels: Option<Vec<String>>,
    /// Hex sha256 of each file.
    pub sha256: Vec<String>,
    /// Total bytes of the files.
    pub bytes: usize,
    /// Whether convolution outputs are rounded onto their quantized grid.
    pub quantization_emulated: bool,
    /// The integer form of the whole graph, when it has one the int8 model runs: a MobileNet V1
    /// or V2 whose every convolution, addition and pooling is 8-bit quantized, each tensor
    /// quantized alike wherever it is read.
    pub quant: Option<GraphQuant>,
}

/// Hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads a MobileNet from its TFLite file(s), both forms of its weights. A model published as
/// two chained files (backbone ending in global pooling, then the classifier head) is passed as
/// both, in either order.
pub(crate) fn load(files: &[&[u8]]) -> Result<LoadedModel> {
    load_with(files, None, |_| Forms::Both)
}

/// Which forms of the weights to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forms {
    /// Dequantized floats.
    Float,
    /// The integer form, when the graph has one.
    Integer,
    /// Both.
    Both,
}

/// [`load`], reading only the forms of the weights `choose` asks for once it is told whether the
/// graph has an integer form (the int8 model needs no float weights, and reading them costs most
/// of a cold load). `sha256`: the files' hex digests when the caller has them already (a browser
/// hashes natively, off the wasm thread); they are computed otherwise.
pub(crate) fn load_with(
    files: &[&[u8]],
    sha256: Option<Vec<String>>,
    choose: impl FnOnce(bool) -> Forms,
) -> Result<LoadedModel> {
    if sha256.as_ref().is_some_and(|d| d.len() != files.len()) {
        return Err(Error::Argument(format!(
            "{} digests for {} model files",
            sha256.as_ref().map_or(0, Vec::len),
            files.len()
        )));
    }
    let parsed = files
        .iter()
        .map(|f| TfliteFile::parse(f))
        .collect::<Result<Vec<_>>>()?;
    let mut walks = parsed
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let mut w = walk(f)?;
            w.convs.iter_mut().for_each(|c| c.source.file = i);
            Ok(w)
        })
        .collect::<Result<Vec<Walk>>>()?;
    // The backbone (the file that takes an image) goes first, whatever order we were given.
    walks.sort_by_key(|w| !w.takes_image());
    let mut parts = walks.into_iter();
    let Some(mut walked) = parts.next() else {
        return Err(Error::Argument("no model file given".into()));
    };
    if !walked.takes_image() {
        return Err(Error::ModelIncomplete(format!(
            "this file takes a {:?} tensor, not an image: it is a classifier head; load it \
             together with its backbone",
            walked.input_shape
        )));
    }
    for next in parts {
        if next.takes_image() {
            return Err(Error::ModelIncomplete(
                "a second file that takes an image; only a classifier head can follow a backbone"
                    .into(),
            ));
        }
        let produced = walked.convs.last().map(|c| c.spec.conv.out_channels);
        if walked.steps.last() != Some(&Step::Pool) || produced != next.input_shape.last().copied()
        {
            return Err(Error::ModelIncomplete(format!(
                "the head takes {:?}, which the backbone does not produce",
                next.input_shape
            )));
        }
        let offset = walked.convs.len();
        walked.steps.extend(next.steps.iter().map(|s| match s {
            Step::Conv(i) => Step::Conv(i + offset),
            other => *other,
        }));
        walked.step_quant.extend(next.step_quant);
        walked.convs.extend(next.convs);
    }
    let Recognised {
        config,
        mut convs,
        add_steps,
        pool_step,
    } = recognise(&walked)?;
    let quant = graph_quant(&walked, &convs, &add_steps, pool_step, &config);
    let forms = choose(quant.is_some());
    // Quantization emulation: a float port of the quantized V3 graphs drifts from TFLite
    // (golden top-1 76.1 % vs 78.4 %); rounding each convolution's output onto its quantized
    // grid brings it to 79.4 %. V1 and V2 match within 0.6 points without it, so they skip
    // its cost (about a third of the inference time).
    let emulate = matches!(config.version, Version::V3Small | Version::V3Large);
    if !emulate {
        convs.iter_mut().for_each(|c| c.step = None);
    }
    // The logits stay unrounded: on the uint8 grid they tie, and ties make the ranking fragile.
    if let Some(classifier) = convs.last_mut() {
        classifier.step = None;
    }
    let quantization_emulated = convs.iter().any(|c| c.step.is_some());
    let read_float = forms != Forms::Integer || quant.is_none();
    let float = read_float
        .then(|| {
            let read = |c: &LoadedConv| graph::read_float(&parsed[c.source.file], c);
            convs.iter().map(read).collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    let integer = (forms != Forms::Float && quant.is_some())
        .then(|| {
            let read = |c: &LoadedConv| graph::read_quant(&parsed[c.source.file], c);
            convs.iter().map(read).collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    Ok(LoadedModel {
        config,
        convs,
        float,
        integer,
        input_scaling: walked.input_scaling,
        labels: files.iter().find_map(|f| embedded_labels(f)),
        sha256: sha256.unwrap_or_else(|| files.iter().map(|f| sha256_hex(f)).collect()),
        bytes: files.iter().map(|f| f.len()).sum(),
        quantization_emulated,
        quant,
    })
}

/// The integer plan of a recognised V1 / V2 graph, or `None` when some step is not 8-bit
/// quantized or a tensor is read with other parameters than it was written with.
fn graph_quant(
    walk: &Walk,
    convs: &[LoadedConv],
    add_steps: &[Option<usize>],
    pool_step: usize,
    config: &MobileNetConfig,
) -> Option<GraphQuant> {
    if !matches!(config.version, Version::V1 | Version::V2) {
        return None;
    }
    let arch = config.architecture();
    let input = walk.input_quant?;
    let q: Vec<_> = convs
        .iter()
        .map(|c| c.quant.as_ref())
        .collect::<Option<_>>()?;
    let adds: Vec<_> = add_steps
        .iter()
        .map(|s| match s {
            None => Some(None),
            Some(i) => match walk.step_quant.get(*i) {
                Some(Some(StepQuant::Add(a))) => Some(Some(*a)),
                _ => None,
            },
        })
        .collect::<Option<_>>()?;
    let pool = match walk.step_quant.get(pool_step) {
        Some(Some(StepQuant::Pool(p))) => *p,
        _ => None?,
    };
    // Each tensor must be read with the parameters it was written with: the output of one step
    // is the input of the next (the stem's input may differ from the graph's: requantized).
    let same = |a: QParams, b: QParams| a == b;
    let mut current = q[0].output;
    let mut i = 1;
    for (add, block) in adds.iter().zip(&arch.blocks) {
        let block_input = current;
        let n = 2 + usize::from(block.expand.is_some());
        for c in q.get(i..i + n)? {
            if !same(c.input, current) {
                return None;
            }
            current = c.output;
        }
        i += n;
        if let Some(a) = add {
            if !same(a.a, block_input) || !same(a.b, current) {
                return None;
            }
            current = a.output;
        }
    }
    // What follows the blocks: V2's last 1×1 convolution, then pooling, then the classifier.
    while i < q.len() - 1 {
        if !same(q[i].input, current) {
            return None;
        }
        current = q[i].output;
        i += 1;
    }
    if !same(pool.input, current) || !same(q[i].input, pool.output) {
        return None;
    }
    Some(GraphQuant { input, adds, pool })
}

/// Checks a file's hex sha256 against a Subresource-Integrity string `sha256-<base64>`.
#[cfg(target_arch = "wasm32")]
pub(crate) fn verify_digest(hex: &str, integrity: &str) -> Result<()> {
    let bytes: Vec<u8> = (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| Error::Argument(format!("{hex:?} is not a hex digest")))?;
    check_integrity(&bytes, integrity)
}

/// Checks `bytes` against a Subresource-Integrity string `sha256-<base64>`.
#[cfg(target_arch = "wasm32")]
pub(crate) fn verify_integrity(bytes: &[u8], integrity: &str) -> Result<()> {
    check_integrity(&Sha256::digest(bytes), integrity)
}

/// Checks a sha256 digest against a Subresource-Integrity string `sha256-<base64>`.
#[cfg(target_arch = "wasm32")]
fn check_integrity(digest: &[u8], integrity: &str) -> Result<()> {
    use base64::Engine;
    let expected = integrity.trim().strip_prefix("sha256-").ok_or_else(|| {
        Error::Argument(format!(
            "integrity {integrity:?} must look like sha256-<base64>"
        ))
    })?;
    let actual = base64::engine::general_purpose::STANDARD.encode(digest);
    if actual != expected {
        return Err(Error::Integrity {
            expected: format!("sha256-{expected}"),
            actual: format!("sha256-{actual}"),
        });
    }
    Ok(())
}
