//! A convolution's weights read from its file, in the form the model is built from: dequantized
//! floats, or integers with their zero point removed; HWIO either way.

use super::reader::TfliteFile;
use super::recognise::LoadedConv;
use crate::error::Result;
use crate::model::{ConvWeights, HybridWeights, IntWeights};

/// OHWI (one group; a dense layer's `[out, in]` is OHWI with a 1×1 window) → HWIO; depthwise
/// weights (1HWO) are HWIO already.
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
    let mut bias = match s.bias {
        Some(b) => file.dequantize(b)?,
        None => vec![0.0; cout],
    };
    if s.bias_offset != 0.0 {
        bias.iter_mut().for_each(|b| *b -= s.bias_offset);
    }
    let (weight, hybrid) = match conv.hybrid {
        Some(kind) => {
            let scales = file.tensors[s.weight]
                .quantization
                .as_ref()
                .map(|q| q.scale.clone())
                .unwrap_or_default();
            if scales.len() != 1 && scales.len() != cout {
                return Err(crate::error::Error::ModelFormat(format!(
                    "{} weight scales for {cout} channels",
                    scales.len()
                )));
            }
            let scales = (0..cout)
                .map(|c| scales[if scales.len() == 1 { 0 } else { c }])
                .collect();
            let weight = file.weights_hwio(s.weight, s.depthwise, cout)?;
            (
                Vec::new(),
                Some(HybridWeights {
                    weight,
                    scales,
                    kind,
                }),
            )
        }
        None => (to_hwio(file.dequantize(s.weight)?, s.depthwise, cout), None),
    };
    Ok(ConvWeights {
        weight,
        bias,
        activation: conv.spec.activation,
        saturation: conv.saturation,
        step: conv.step,
        hybrid,
        ordered: false,
    })
}

/// A convolution's integer weights (zero point removed, HWIO) and bias.
pub(crate) fn read_quant(file: &TfliteFile<'_>, conv: &LoadedConv) -> Result<IntWeights> {
    let s = conv.source;
    let cout = conv.spec.conv.out_channels;
    Ok(IntWeights {
        weight: file.weights_hwio(s.weight, s.depthwise, cout)?,
        bias: match s.bias {
            Some(b) => file.integers(b)?.0,
            None => vec![0; cout],
        },
    })
}
