//! The values of a file's constant tensors: dequantized floats, integers with their zero points
//! removed, scalars, and the quantization of activation tensors.

use super::reader::{DType, Quantization, TensorInfo, TfliteFile};
use crate::error::{Error, Result};
use crate::spec::QParams;

impl TfliteFile<'_> {
    /// Refuses a file whose constant quantized tensors (weights, biases) have no real values:
    /// checked once at load, before either precision reads them.
    pub(crate) fn check_constants(&self) -> Result<()> {
        self.tensors
            .iter()
            .filter(|t| t.data.is_some() && matches!(t.dtype, DType::U8 | DType::I8 | DType::I32))
            .filter_map(|t| t.quantization.as_ref().map(|q| (t, q)))
            .try_for_each(|(t, q)| check_quantization(t, q))
    }

    /// Dequantized values of a constant tensor: float32 as stored, float16 widened, uint8/int8 as
    /// `scale * (q - zero_point)` per tensor or per channel, int32 biases as `scale * q`.
    pub(crate) fn dequantize(&self, index: usize) -> Result<Vec<f32>> {
        let t = &self.tensors[index];
        let (start, len) = t
            .data
            .ok_or_else(|| Error::ModelFormat(format!("tensor {:?} has no data", t.name)))?;
        let raw = &self.bytes[start..start + len];
        if t.dtype == DType::F32 {
            return Ok(raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect());
        }
        if t.dtype == DType::F16 {
            return Ok(raw
                .chunks_exact(2)
                .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect());
        }
        let q = t.quantization.as_ref().ok_or_else(|| {
            Error::ModelFormat(format!(
                "quantized tensor {:?} without quantization",
                t.name
            ))
        })?;
        check_quantization(t, q)?;
        let channels = q.scale.len();
        // One scale and zero point: a plain loop (this runs once per load, in the engine's
        // baseline code).
        if channels == 1 && q.zero_point.len() == 1 {
            let (s, z) = (q.scale[0], q.zero_point[0] as f32);
            match t.dtype {
                DType::U8 => return Ok(raw.iter().map(|&v| s * (v as f32 - z)).collect()),
                DType::I8 => return Ok(raw.iter().map(|&v| s * (v as i8 as f32 - z)).collect()),
                _ => {}
            }
        }
        // Index of the channel an element belongs to, for per-channel quantization.
        let inner: usize = if channels > 1 {
            if q.axis >= t.shape.len() || t.shape[q.axis] != channels {
                return Err(Error::ModelFormat(format!(
                    "tensor {:?}: {channels} scales for axis {} of shape {:?}",
                    t.name, q.axis, t.shape
                )));
            }
            t.shape[q.axis + 1..].iter().product()
        } else {
            1
        };
        let params = |i: usize| -> (f32, f32) {
            let c = if channels > 1 {
                (i / inner) % channels
            } else {
                0
            };
            (q.scale[c], q.zero_point[c] as f32)
        };
        let values: Vec<f32> = match t.dtype {
            DType::U8 => raw
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let (s, z) = params(i);
                    s * (v as f32 - z)
                })
                .collect(),
            DType::I8 => raw
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let (s, z) = params(i);
                    s * (v as i8 as f32 - z)
                })
                .collect(),
            DType::I32 => raw
                .chunks_exact(4)
                .enumerate()
                .map(|(i, b)| {
                    let (s, z) = params(i);
                    s * (i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 - z)
                })
                .collect(),
            _ => {
                return Err(Error::ModelUnsupported(format!(
                    "tensor {:?} has element type {:?}",
                    t.name, t.dtype
                )));
            }
        };
        Ok(values)
    }

    /// A constant quantized tensor: its record, its bytes and its quantization.
    fn quantized_data(&self, index: usize) -> Result<(&TensorInfo, &[u8], &Quantization)> {
        let t = &self.tensors[index];
        let (start, len) = t
            .data
            .ok_or_else(|| Error::ModelFormat(format!("tensor {:?} has no data", t.name)))?;
        let q = t.quantization.as_ref().ok_or_else(|| {
            Error::ModelUnsupported(format!("tensor {:?} is not quantized", t.name))
        })?;
        check_quantization(t, q)?;
        Ok((t, &self.bytes[start..start + len], q))
    }

    /// Integer values of a constant quantized tensor, zero point removed: uint8 / int8 as
    /// `q - zero_point` (per tensor or per channel), int32 (biases) as stored. With its scales,
    /// one per tensor or per channel of [`Quantization::axis`].
    pub(crate) fn integers(&self, index: usize) -> Result<(Vec<i32>, Vec<f32>)> {
        let (t, raw, q) = self.quantized_data(index)?;
        let channels = q.scale.len();
        if q.zero_point.len() != channels {
            return Err(Error::ModelFormat(format!(
                "tensor {:?}: {channels} scales and {} zero points",
                t.name,
                q.zero_point.len()
            )));
        }
        if channels == 1 {
            let z = q.zero_point[0] as i32;
            let values = match t.dtype {
                DType::U8 => raw.iter().map(|&v| v as i32 - z).collect(),
                DType::I8 => raw.iter().map(|&v| v as i8 as i32 - z).collect(),
                DType::I32 => raw
                    .chunks_exact(4)
                    .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) - z)
                    .collect(),
                other => {
                    return Err(Error::ModelUnsupported(format!(
                        "tensor {:?} has element type {other:?}",
                        t.name
                    )));
                }
            };
            return Ok((values, q.scale.clone()));
        }
        let inner: usize = if channels > 1 {
            if q.axis >= t.shape.len() || t.shape[q.axis] != channels {
                return Err(Error::ModelFormat(format!(
                    "tensor {:?}: {channels} scales for axis {} of shape {:?}",
                    t.name, q.axis, t.shape
                )));
            }
            t.shape[q.axis + 1..].iter().product()
        } else {
            1
        };
        let zero = |i: usize| -> i32 {
            let c = if channels > 1 {
                (i / inner) % channels
            } else {
                0
            };
            q.zero_point[c] as i32
        };
        let values = match t.dtype {
            DType::U8 => raw
                .iter()
                .enumerate()
                .map(|(i, &v)| v as i32 - zero(i))
                .collect(),
            DType::I8 => raw
                .iter()
                .enumerate()
                .map(|(i, &v)| v as i8 as i32 - zero(i))
                .collect(),
            DType::I32 => raw
                .chunks_exact(4)
                .enumerate()
                .map(|(i, b)| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) - zero(i))
                .collect(),
            other => {
                return Err(Error::ModelUnsupported(format!(
                    "tensor {:?} has element type {other:?}",
                    t.name
                )));
            }
        };
        Ok((values, q.scale.clone()))
    }

    /// A convolution's 8-bit weights, zero point removed, straight into HWIO (one pass, one
    /// allocation: V2's 3.4 M weights went through three full-size copies before). `depthwise`
    /// weights (1HWO) are HWIO as stored; others are OHWI (a dense layer's `[out, in]` too),
    /// with per-channel zero points along O.
    pub(crate) fn weights_hwio(
        &self,
        index: usize,
        depthwise: bool,
        cout: usize,
    ) -> Result<Vec<i16>> {
        let (t, raw, q) = self.quantized_data(index)?;
        let signed = match t.dtype {
            DType::U8 => false,
            DType::I8 => true,
            other => {
                return Err(Error::ModelUnsupported(format!(
                    "tensor {:?} has element type {other:?}",
                    t.name
                )));
            }
        };
        let value = |b: u8| if signed { b as i8 as i32 } else { b as i32 };
        let channels = q.zero_point.len();
        let axis = if depthwise { 3 } else { 0 };
        if cout == 0
            || (channels != 1 && (channels != cout || q.axis != axis))
            || raw.len() % cout != 0
        {
            return Err(Error::ModelFormat(format!(
                "tensor {:?}: {channels} zero points for {cout} output channels",
                t.name
            )));
        }
        let zero = |o: usize| q.zero_point[if channels == 1 { 0 } else { o }] as i32;
        let mut hwio = vec![0i16; raw.len()];
        if depthwise {
            for (i, (&b, w)) in raw.iter().zip(&mut hwio).enumerate() {
                *w = (value(b) - zero(i % cout)) as i16;
            }
        } else {
            let taps = raw.len() / cout;
            for (o, filter) in raw.chunks_exact(taps).enumerate() {
                let z = zero(o);
                for (tap, &b) in filter.iter().enumerate() {
                    hwio[tap * cout + o] = (value(b) - z) as i16;
                }
            }
        }
        Ok(hwio)
    }

    /// The 8-bit quantization of an activation tensor in unsigned terms (an int8 tensor's zero
    /// point shifted by 128, as its values are), or `None` when it is not per-tensor 8-bit.
    pub(crate) fn activation_quant(&self, index: usize) -> Option<QParams> {
        let t = &self.tensors[index];
        let q = t.quantization.as_ref()?;
        if q.scale.len() != 1 || q.zero_point.len() != 1 {
            return None;
        }
        let shift = match t.dtype {
            DType::U8 => 0,
            DType::I8 => 128,
            _ => return None,
        };
        let zero_point = q.zero_point[0] + shift;
        let scale = q.scale[0];
        ((0..=255).contains(&zero_point) && scale.is_finite() && scale > 0.0).then_some(QParams {
            scale,
            zero_point: zero_point as i32,
        })
    }

    /// The single quantum of a constant 8-bit scalar, in unsigned terms (an int8 `q` is
    /// `q + 128`).
    pub(crate) fn constant_quantum(&self, index: usize) -> Option<u8> {
        let t = &self.tensors[index];
        let (start, len) = t.data?;
        if len != 1 {
            return None;
        }
        let b = self.bytes[start];
        match t.dtype {
            DType::U8 => Some(b),
            DType::I8 => Some((b as i8 as i32 + 128) as u8),
            _ => None,
        }
    }

    /// The single value of a constant scalar tensor (e.g. the `+3` and `/6` of a hard-sigmoid).
    pub(crate) fn scalar(&self, index: usize) -> Result<f32> {
        let v = self.dequantize(index)?;
        if v.len() != 1 {
            return Err(Error::ModelUnsupported(format!(
                "expected a scalar constant, found {} values in {:?}",
                v.len(),
                self.tensors[index].name
            )));
        }
        Ok(v[0])
    }

    /// The values of a constant int32 tensor as stored (shape operands, paddings).
    pub(crate) fn raw_integers(&self, index: usize) -> Result<Vec<i32>> {
        let t = &self.tensors[index];
        let (start, len) = t
            .data
            .ok_or_else(|| Error::ModelFormat(format!("tensor {:?} has no data", t.name)))?;
        if t.dtype != DType::I32 {
            return Err(Error::ModelFormat(format!(
                "tensor {:?} is not int32",
                t.name
            )));
        }
        Ok(self.bytes[start..start + len]
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }
}

/// A constant tensor's quantization must describe real values: positive finite scales and zero
/// points its type can hold. Anything else is a broken file, refused whatever the precision (a
/// scale of 0 once gave a float model that answered the same for every image).
fn check_quantization(t: &TensorInfo, q: &Quantization) -> Result<()> {
    if let Some(s) = q.scale.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
        return Err(Error::ModelFormat(format!(
            "tensor {:?} has scale {s}: scales must be positive numbers",
            t.name
        )));
    }
    let storable = match t.dtype {
        DType::U8 => 0..=255,
        DType::I8 => -128..=127,
        _ => i64::from(i32::MIN)..=i64::from(i32::MAX),
    };
    if let Some(z) = q.zero_point.iter().find(|z| !storable.contains(z)) {
        return Err(Error::ModelFormat(format!(
            "tensor {:?} has zero point {z}, outside its type {:?}",
            t.name, t.dtype
        )));
    }
    Ok(())
}
