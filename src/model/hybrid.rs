//! Dynamic-range ("hybrid") layers: 8-bit weights with a float input that TFLite quantizes on
//! each call, asymmetrically. Which arithmetic depends on who runs the operator: XNNPACK's
//! delegate takes CONV_2D and FULLY_CONNECTED (its `qd8` conversion: a scale of 255 / (max −
//! min) in f32, round half to even), quantizing each pixel's channels on their own where the
//! convolution is 1×1 with stride 1 (it runs those as a fully-connected layer; a test against
//! the interpreter's tensors found per-pixel grids, not one per image); TFLite's own kernel
//! takes DEPTHWISE_CONV_2D, which the delegate refuses with mixed types
//! (`AsymmetricQuantizeFloats` over the whole image: scale and zero point in f64, as its NEON
//! code computes them).

/// Whose dynamic quantization a layer follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HybridKind {
    /// XNNPACK, one grid per image.
    Xnnpack,
    /// XNNPACK on a 1×1 convolution or a dense layer: one grid per pixel.
    XnnpackRows,
    /// TFLite's own kernel.
    Tflite,
}

/// A dynamic-range layer's weights.
#[derive(Debug, Clone)]
pub(crate) struct HybridWeights {
    /// Weights, zero point removed, HWIO.
    pub weight: Vec<i16>,
    /// One scale per output channel.
    pub scales: Vec<f32>,
    pub kind: HybridKind,
}

/// A float tensor on its dynamic 8-bit grid.
#[derive(Debug)]
pub(crate) struct Quantized {
    /// Quanta in unsigned terms (int8 `q` as `q + 128`).
    pub quanta: Vec<u8>,
    /// The zero point, in unsigned terms.
    pub zero_point: i32,
    /// The real value of one step.
    pub scale: f32,
}

impl HybridKind {
    /// Quantizes `x` as this kind's runtime does.
    pub(crate) fn quantize(self, x: &[f32]) -> Quantized {
        let (lo, hi) = x
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        match self {
            HybridKind::Xnnpack | HybridKind::XnnpackRows => xnnpack(x, lo, hi),
            HybridKind::Tflite => tflite(x, lo, hi),
        }
    }
}

/// One grid per row of `channels` values: each row's quanta less its zero point (so the
/// centred values), and each row's step.
pub(crate) fn quantize_rows(x: &[f32], channels: usize) -> (Vec<f32>, Vec<f32>) {
    let mut centred = Vec::with_capacity(x.len());
    let mut steps = Vec::with_capacity(x.len() / channels.max(1));
    for row in x.chunks(channels.max(1)) {
        let (lo, hi) = row
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let q = xnnpack(row, lo, hi);
        centred.extend(q.quanta.iter().map(|&u| (u as i32 - q.zero_point) as f32));
        steps.push(q.scale);
    }
    (centred, steps)
}

/// `xnn_qd8_asymmetric_quantization_params` and the `f32 → qs8` conversion.
fn xnnpack(x: &[f32], min: f32, max: f32) -> Quantized {
    let (qmin, qmax) = (-128.0f32, 127.0f32);
    let (rmin, rmax) = (min.min(0.0), max.max(0.0));
    let scale = if rmin == rmax {
        1.0
    } else {
        (qmax - qmin) / (rmax - rmin)
    };
    let (dmin, dmax) = (rmin * scale, rmax * scale);
    let zp = if (qmin + dmin) + (qmax + dmax) > 0.0 {
        qmin - dmin
    } else {
        qmax - dmax
    };
    let zp = zp.clamp(qmin, qmax).round_ties_even() as i32;
    let quanta = x
        .iter()
        .map(|&v| {
            let q = (v * scale)
                .clamp(qmin - zp as f32, qmax - zp as f32)
                .round_ties_even();
            (q as i32 + zp + 128) as u8
        })
        .collect();
    Quantized {
        quanta,
        zero_point: zp + 128,
        scale: 1.0 / scale,
    }
}

/// TFLite's `PortableAsymmetricQuantizeFloats`.
fn tflite(x: &[f32], min: f32, max: f32) -> Quantized {
    let (qmin, qmax) = (-128.0f64, 127.0f64);
    let (rmin, rmax) = (min.min(0.0) as f64, max.max(0.0) as f64);
    if rmin == rmax {
        return Quantized {
            quanta: vec![128; x.len()],
            zero_point: 128,
            scale: 1.0,
        };
    }
    let scale = (rmax - rmin) / (qmax - qmin);
    let from_min = qmin - rmin / scale;
    let from_max = qmax - rmax / scale;
    let err_min = qmin.abs() + (rmin / scale).abs();
    let err_max = qmax.abs() + (rmax / scale).abs();
    let zp_f = if err_min < err_max {
        from_min
    } else {
        from_max
    };
    let zp = if zp_f <= qmin {
        -128
    } else if zp_f >= qmax {
        127
    } else {
        zp_f.round() as i32
    };
    let scale = scale as f32;
    // TFLite's x86 build runs the NEON code through an SSE translation: `1.0 / scale` in f64,
    // each product rounded half away from zero as `trunc(v ± 0.5)` in f32 (blocks of 8 values;
    // the tail through `std::round`), then the zero point added.
    let inv = (1.0 / scale as f64) as f32;
    let vectors = x.len() / 8 * 8;
    let quanta = x
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let t = v * inv;
            let r = if i < vectors {
                (t + if t < 0.0 { -0.5 } else { 0.5 }).trunc()
            } else {
                t.round()
            };
            ((r as i32 + zp).clamp(-128, 127) + 128) as u8
        })
        .collect();
    Quantized {
        quanta,
        zero_point: zp + 128,
        scale,
    }
}
