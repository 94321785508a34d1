//! Reads TFLite MobileNet files: the flatbuffer ([`reader`], [`tensors`]), its operators as
//! nodes on activations ([`graph`]), the MobileNet they make ([`structure`]), recognised as a
//! configuration with the file's own architecture ([`recognise`]), its integer form
//! ([`quant`]), and the weights in the form the model is built from ([`weights`]).

mod elementwise;
mod graph;
mod labels;
mod metadata;
mod quant;
mod reader;
mod recognise;
mod structure;
mod tensors;
mod weights;
pub(crate) mod writer;

#[allow(clippy::all, unused_imports, dead_code, non_camel_case_types, non_snake_case, deprecated, mismatched_lifetime_syntaxes, unsafe_op_in_unsafe_fn, missing_docs)]
#[rustfmt::skip]
mod schema_generated;
#[allow(clippy::all, unused_imports, dead_code, non_camel_case_types, non_snake_case, deprecated, mismatched_lifetime_syntaxes, unsafe_op_in_unsafe_fn, missing_docs)]
#[rustfmt::skip]
mod metadata_generated;

/// The generated flatbuffer bindings (subset of the TFLite schema), public so tests and tools
/// can build TFLite files.
pub use schema_generated::tflite as schema;

pub use labels::embedded_labels;
pub use reader::MAX_MODEL_BYTES;
pub(crate) use recognise::LoadedConv;
pub(crate) use structure::OutputActivation;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::model::{Architecture, ConvWeights, GraphQuant, IntWeights, MobileNetConfig, Version};
use crate::spec::InputScaling;
use reader::TfliteFile;

/// A model read from one file, or from a backbone file and its head file.
#[derive(Debug, Clone)]
pub(crate) struct LoadedModel {
    /// The configuration its backbone matches.
    pub config: MobileNetConfig,
    /// Its architecture, as the file has it.
    pub arch: Architecture,
    /// Convolutions in the order of [`Architecture::convs`].
    pub convs: Vec<LoadedConv>,
    /// Their float weights, when read.
    pub float: Option<Vec<ConvWeights>>,
    /// Their integer weights, when read (the graph has an integer form).
    pub integer: Option<Vec<IntWeights>>,
    /// Pixel scaling the float model expects.
    pub input_scaling: InputScaling,
    /// How the outputs become scores.
    pub output: OutputActivation,
    /// Labels packed into the file(s), one per output, if present.
    pub labels: Option<Vec<String>>,
    /// Hex sha256 of each file.
    pub sha256: Vec<String>,
    /// Total bytes of the files.
    pub bytes: usize,
    /// Whether convolution outputs are rounded onto their quantized grid.
    pub quantization_emulated: bool,
    /// The integer form of the whole graph, when it has one the int8 model runs.
    pub quant: Option<GraphQuant>,
    /// With the integer weights: the float weights of the head's layers after a DEQUANTIZE
    /// ([`GraphQuant::float_head`]), which `integer` does not hold.
    pub head_float: Vec<ConvWeights>,
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

/// Reads a MobileNet, reading only the forms of the weights `choose` asks for once it is told
/// whether the graph has an integer form (the int8 model needs no float weights, and reading
/// them costs most of a cold load). `sha256`: the files' hex digests when the caller has them
/// already (a browser hashes natively, off the wasm thread); they are computed otherwise.
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
    if files.is_empty() {
        return Err(Error::Argument("no model file given".into()));
    }
    let parsed = files
        .iter()
        .map(|f| TfliteFile::parse(f))
        .collect::<Result<Vec<_>>>()?;
    for file in &parsed {
        file.check_constants()?;
    }
    let graphs = parsed
        .iter()
        .map(graph::graph)
        .collect::<Result<Vec<_>>>()?;
    let pairs: Vec<(&TfliteFile<'_>, &graph::Graph)> = parsed.iter().zip(&graphs).collect();
    let found = structure::find(&pairs)?;
    let recognised = recognise::recognise(&pairs, &found)?;
    let (bf, bg) = pairs
        .iter()
        .find(|(_, g)| g.takes_image())
        .copied()
        .expect("a backbone");
    let input_scaling = quant::input_scaling(bf, bg, &found);
    let quant = quant::graph_quant(&pairs, &found, &recognised, input_scaling);
    let forms = choose(quant.is_some());
    let recognise::Recognised {
        config,
        arch,
        mut convs,
    } = recognised;
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
    // A dynamic-range file's float layers are summed in XNNPACK's order: the hybrid layers
    // quantize their outputs, where a last-bit difference moves a quantum.
    let hybrid = convs.iter().any(|c| c.hybrid.is_some());
    let float = read_float
        .then(|| {
            let read = |c: &LoadedConv| {
                let mut w = weights::read_float(&parsed[c.source.file], c)?;
                w.ordered = hybrid && w.hybrid.is_none();
                Ok(w)
            };
            convs.iter().map(read).collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    let float_head = quant.as_ref().map_or(0, |q| q.float_head);
    let integer_convs = convs.len() - float_head;
    let integer = (forms != Forms::Float && quant.is_some())
        .then(|| {
            let read = |c: &LoadedConv| weights::read_quant(&parsed[c.source.file], c);
            convs[..integer_convs]
                .iter()
                .map(read)
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    // The float layers after an integer backbone, for the int8 model.
    let head_float = match (&integer, float_head) {
        (Some(_), 1..) => convs[integer_convs..]
            .iter()
            .map(|c| weights::read_float(&parsed[c.source.file], c))
            .collect::<Result<Vec<_>>>()?,
        _ => Vec::new(),
    };
    Ok(LoadedModel {
        config,
        arch,
        convs,
        float,
        integer,
        input_scaling,
        output: found.output,
        labels: files.iter().find_map(|f| embedded_labels(f)),
        sha256: sha256.unwrap_or_else(|| files.iter().map(|f| sha256_hex(f)).collect()),
        bytes: files.iter().map(|f| f.len()).sum(),
        quantization_emulated,
        quant,
        head_float,
    })
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
