//! 8-bit quantization as TFLite files define it, held in unsigned terms (an int8 value `q` is
//! `q + 128` here, its zero point too, which changes no difference `q − zero_point`), and the
//! integer requantizations the int8 kernels apply.

/// Affine 8-bit quantization of an activation tensor, unsigned: `real = scale × (q − zero_point)`
/// with `q` in `0..=255`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct QParams {
    /// Real value of one step.
    pub scale: f32,
    /// The quantized value that stands for 0.0, in `0..=255`.
    pub zero_point: i32,
}

/// How a pixel's raw 0..=255 value `v` becomes the model's float input, each in the order of
/// operations of the pipeline that defines it (the float result decides where an int8 file's
/// QUANTIZE rounds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum InputScaling {
    /// `v / 127.5 − 1`: Keras' `preprocess_input` for MobileNet, into `[−1, 1]`.
    MobileNet,
    /// `(v − zero_point) · scale`: the value a quantized input's quanta stand for.
    Dequantize {
        /// Scale of the input tensor.
        scale: f32,
        /// Its zero point, in unsigned terms.
        zero_point: f32,
    },
    /// `(v − mean[c]) / std[c]` for channel `c`, as TFLite metadata's normalization options
    /// say (TFLite Support's `NormalizeOp`).
    Normalize {
        /// Mean per channel (R, G, B).
        mean: [f32; 3],
        /// Standard deviation per channel.
        std: [f32; 3],
    },
    /// `v · mul + add`: the model's own rescaling (Keras' `include_preprocessing`), run in
    /// floats by the float model of an integer file.
    Affine {
        /// Multiplier.
        mul: f32,
        /// Added after.
        add: f32,
    },
}

impl InputScaling {
    /// One value of channel `c`.
    #[inline(always)]
    pub(crate) fn apply(self, v: u8, c: usize) -> f32 {
        let v = v as f32;
        match self {
            InputScaling::MobileNet => v / 127.5 - 1.0,
            InputScaling::Dequantize { scale, zero_point } => (v - zero_point) * scale,
            InputScaling::Normalize { mean, std } => (v - mean[c]) / std[c],
            InputScaling::Affine { mul, add } => v * mul + add,
        }
    }
}

/// How an integer convolution's 8-bit output is formed from its accumulator:
/// `zo + round_half_even(clamp(float(acc) · M, lo − zo, hi − zo))`, then the residual
/// addition when there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Requant {
    /// Zero point of the input, subtracted from every input value (padding reads as zero
    /// after it, as TFLite pads with the zero point).
    pub input_zero_point: i32,
    /// Zero point of the output.
    pub output_zero_point: i32,
    /// Output range in quanta.
    pub lo: u8,
    /// Output range in quanta.
    pub hi: u8,
    /// The residual addition that follows, if any.
    pub add: Option<AddRequant>,
}

/// Integer requantization of an addition of two quantized tensors, the fixed-point form
/// XNNPACK uses: `out = zo + ((bias + a · a_mul + b · b_mul + 2^(shift−1)) >> shift)`, clamped to
/// `0..=255`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AddRequant {
    /// Multiplier of the first operand's quanta (the residual).
    pub a_multiplier: i32,
    /// Multiplier of the second operand's quanta.
    pub b_multiplier: i32,
    /// `−(a_mul · za + b_mul · zb)`.
    pub bias: i32,
    /// Right shift, 12..=30.
    pub shift: u32,
    /// Zero point of the sum.
    pub output_zero_point: i32,
}

impl AddRequant {
    /// The multipliers for `a` and `b` added into `output`, or `None` when the scale ratios fall
    /// outside what a 21-bit multiplier holds (`2^−10 ≤ ratio < 2^8`).
    pub(crate) fn new(a: QParams, b: QParams, output: QParams) -> Option<Self> {
        let a_ratio = a.scale / output.scale;
        let b_ratio = b.scale / output.scale;
        let range = 2f32.powi(-10)..2f32.powi(8);
        if !range.contains(&a_ratio) || !range.contains(&b_ratio) {
            return None;
        }
        let exponent = (a_ratio.max(b_ratio).to_bits() >> 23) as i32 - 127;
        let shift = (20 - exponent) as u32;
        let multiplier = |r: f32| (r * 2f32.powi(shift as i32)).round_ties_even() as i32;
        let (a_multiplier, b_multiplier) = (multiplier(a_ratio), multiplier(b_ratio));
        Some(Self {
            a_multiplier,
            b_multiplier,
            bias: -(a_multiplier * a.zero_point + b_multiplier * b.zero_point),
            shift,
            output_zero_point: output.zero_point,
        })
    }

    /// One sum, as the kernels compute it.
    pub(crate) fn apply(&self, a: i32, b: i32) -> u8 {
        let acc = self.bias + a * self.a_multiplier + b * self.b_multiplier;
        let v = ((acc + (1 << (self.shift - 1))) >> self.shift) + self.output_zero_point;
        v.clamp(0, 255) as u8
    }
}

// Native only: the kernels' tests are the ones that also run in wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn add_requant_matches_real_arithmetic_within_half_a_step() {
        let q = |scale, zero_point| QParams { scale, zero_point };
        let (a, b, out) = (q(0.2758, 119), q(0.3544, 129), q(0.4012, 127));
        let r = AddRequant::new(a, b, out).unwrap();
        for qa in (0..256).step_by(7) {
            for qb in (0..256).step_by(5) {
                let real =
                    a.scale * (qa - a.zero_point) as f32 + b.scale * (qb - b.zero_point) as f32;
                let exact = (real / out.scale + out.zero_point as f32).clamp(0.0, 255.0);
                let got = r.apply(qa, qb) as f32;
                assert!(
                    (got - exact).abs() <= 0.5 + 1e-3,
                    "{qa} {qb}: {got} vs {exact}"
                );
            }
        }
    }
}
