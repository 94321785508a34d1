//! What a loaded model is, for people and programs: its description ([`ModelInfo`]), the labels
//! of its outputs and where they came from, and its head in words.

use serde::Serialize;

use crate::classifier::Precision;
use crate::error::{Error, Result};
use crate::model::Architecture;
use crate::spec::{Activation, InputScaling};
use crate::tflite::OutputActivation;

/// What a loaded model is.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    /// e.g. `"MobileNetV2"`.
    pub version: String,
    /// Width multiplier α (the decimal the f32 stands for: 0.35, not 0.3499999940395355).
    pub width_multiplier: f64,
    /// Input side.
    pub resolution: usize,
    /// MobileNetV3's minimalistic variant.
    pub minimalistic: bool,
    /// What follows the backbone, e.g. `GAP → Dense 100 ReLU → Dense 3 → softmax`.
    pub head: String,
    /// Number of classes (background excluded).
    pub num_classes: usize,
    /// Parameters (BatchNorm folded).
    pub parameters: usize,
    /// Length of `embed`'s vector.
    pub embedding_size: usize,
    /// How pixels are scaled into the model, e.g. `[0, 255] → [-1, 1]`.
    pub input_scaling: String,
    /// Where the labels came from: `options`, `metadata` (packed in the file), `imagenet` (the
    /// ImageNet names of a 1000- or 1001-class output) or `numbered` (`class N`).
    pub labels_source: LabelsSource,
    /// Hex sha256 of the model file (files joined by `+` for a split model).
    pub sha256: String,
    /// Bytes of the model file(s).
    pub model_bytes: usize,
    /// Whether activations are rounded onto the file's quantization grid (V3 files).
    pub quantization_emulated: bool,
    /// The arithmetic it runs in.
    pub precision: Precision,
    /// For int8: `"relaxed-dot"` when its products run on the relaxed-SIMD dot product of
    /// bytes (where the engine computes it exactly: x86 with AVX-VNNI; natively, x86-64 with
    /// AVX-512 VNNI's `vpdpbusd`), `"dot16"` on 16-bit products. The outputs are the same.
    pub int8_products: Option<&'static str>,
}

/// Where a model's labels came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LabelsSource {
    /// Given with the load options.
    Options,
    /// Packed in the file's TFLite metadata.
    Metadata,
    /// ImageNet's class names, for a 1000- or 1001-class output.
    Imagenet,
    /// `class 0`, `class 1`, …
    Numbered,
}

/// One label per model output, from the first that exists of: the given labels, the file's,
/// ImageNet's names (for a 1000- or 1001-class output), numbers.
pub(crate) fn labels(
    given: Option<Vec<String>>,
    embedded: Option<Vec<String>>,
    imagenet: Option<Vec<String>>,
    outputs: usize,
    first_class: usize,
) -> Result<(Vec<String>, LabelsSource)> {
    let fits = |l: &Vec<String>| l.len() == outputs || (first_class == 1 && l.len() + 1 == outputs);
    let (chosen, source) = match (given, embedded) {
        (Some(l), _) => {
            if !fits(&l) {
                return Err(Error::Labels(format!(
                    "{} labels for a model with {} classes",
                    l.len(),
                    outputs - first_class
                )));
            }
            (Some(l), LabelsSource::Options)
        }
        (None, Some(l)) if fits(&l) => (Some(l), LabelsSource::Metadata),
        _ => match imagenet.filter(|l| matches!(outputs, 1000 | 1001) && fits(l)) {
            Some(l) => (Some(l), LabelsSource::Imagenet),
            None => (None, LabelsSource::Numbered),
        },
    };
    let labels = match chosen {
        Some(l) if l.len() == outputs => l,
        Some(l) => std::iter::once("background".to_string()).chain(l).collect(),
        None => (0..outputs)
            .map(|i| {
                if i < first_class {
                    "background".into()
                } else {
                    format!("class {}", i - first_class)
                }
            })
            .collect(),
    };
    Ok((labels, source))
}

/// The head in words: `GAP → Dense 100 ReLU → Dense 3 → softmax`.
pub(crate) fn head(arch: &Architecture, output: OutputActivation) -> String {
    let mut parts = vec!["GAP".to_string()];
    for layer in &arch.head {
        let act = match layer.activation {
            Activation::None => "",
            Activation::Relu => " ReLU",
            Activation::Relu6 => " ReLU6",
            Activation::HardSwish => " hard-swish",
            Activation::HardSigmoid => " hard-sigmoid",
        };
        parts.push(format!("Dense {}{act}", layer.conv.out_channels));
    }
    parts.push(
        match output {
            OutputActivation::Softmax => "softmax",
            OutputActivation::Sigmoid => "sigmoid",
        }
        .into(),
    );
    parts.join(" → ")
}

/// The input scaling in words.
pub(crate) fn scaling(s: InputScaling) -> String {
    match s {
        InputScaling::MobileNet => "[0, 255] → [-1, 1]".into(),
        InputScaling::Dequantize { scale, zero_point } => {
            format!("quantized: (x − {zero_point}) × {scale}")
        }
        InputScaling::Normalize { mean, std }
            if mean.iter().all(|&m| m == mean[0]) && std.iter().all(|&v| v == std[0]) =>
        {
            format!("(x − {}) / {}", mean[0], std[0])
        }
        InputScaling::Normalize { mean, std } => format!("(x − {mean:?}) / {std:?}"),
        InputScaling::Affine { mul, add } => {
            let sign = if add < 0.0 { '−' } else { '+' };
            format!(
                "[0, 255], rescaled in the model: x × {mul} {sign} {}",
                add.abs()
            )
        }
    }
}
