//! The integer form of a quantized TFLite graph, as read from the file: what the int8 model
//! ([`super::QuantMobileNet`]) is built from.
//!
//! Activations are 8-bit with one scale and zero point per tensor. Both unsigned (uint8) and
//! signed (int8) files are held in unsigned terms: an int8 value `q` is `q + 128` here, its zero
//! point too, which changes no product `q − zero_point`.

/// Affine 8-bit quantization of an activation tensor, unsigned: `real = scale × (q − zero_point)`
/// with `q` in `0..=255`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QParams {
    /// Real value of one step.
    pub scale: f32,
    /// The quantized value that stands for 0.0, in `0..=255`.
    pub zero_point: i32,
}

/// A convolution in integers, as TFLite runs it: `out = clamp(zo + round(M[c] · (bias[c] +
/// Σ (x − zx) · w)), lo, hi)` with `M[c] = input scale × weight scale[c] / output scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct QuantConv {
    /// The input tensor's quantization.
    pub input: QParams,
    /// The output tensor's quantization.
    pub output: QParams,
    /// Weights with their zero point removed, HWIO like [`super::ConvWeights::weight`]. uint8
    /// weights span −255..=255 once their zero point is removed, hence 16 bits.
    pub weight: Vec<i16>,
    /// Scale of the weights, one per output channel (repeated for per-tensor files).
    pub weight_scale: Vec<f32>,
    /// Bias per output channel, in units of input scale × weight scale.
    pub bias: Vec<i32>,
    /// Output range in quanta that the fused activation leaves (`0..=255` without one).
    pub range: (u8, u8),
}

impl QuantConv {
    /// The requantization multipliers `M[c]`, computed in f32 in the order TFLite's XNNPACK
    /// kernels compute them (`input scale × weight scale / output scale`).
    pub fn multipliers(&self) -> Vec<f32> {
        self.weight_scale
            .iter()
            .map(|&s| self.input.scale * s / self.output.scale)
            .collect()
    }

    /// The scales that turn an accumulator into a real value: `input scale × weight scale[c]`.
    pub fn dequantization(&self) -> Vec<f32> {
        self.weight_scale
            .iter()
            .map(|&s| self.input.scale * s)
            .collect()
    }
}

/// A residual addition of two quantized tensors into a third.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddQuant {
    /// The block's input (the residual).
    pub a: QParams,
    /// The block's output before the addition (the projection).
    pub b: QParams,
    /// The sum.
    pub output: QParams,
}

/// Global average pooling of a quantized tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolQuant {
    /// The pooled tensor.
    pub input: QParams,
    /// The pooled values.
    pub output: QParams,
}

/// What the integer model needs beyond its convolutions.
#[derive(Debug, Clone, PartialEq)]
pub struct GraphQuant {
    /// Quantization of the graph's input image: the crop's bytes are its quanta.
    pub input: QParams,
    /// Per block of the architecture: the residual addition, if the block has one.
    pub adds: Vec<Option<AddQuant>>,
    /// The global pooling.
    pub pool: PoolQuant,
}

/// Integer requantization of a residual addition, the fixed-point form XNNPACK uses:
/// `out = zo + ((bias + a · a_mul + b · b_mul + 2^(shift−1)) >> shift)`, clamped to `0..=255`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddRequant {
    /// Multiplier of the residual's quanta.
    pub a_multiplier: i32,
    /// Multiplier of the projection's quanta.
    pub b_multiplier: i32,
    /// `−(a_mul · za + b_mul · zb)`.
    pub bias: i32,
    /// Right shift, 12..=30.
    pub shift: u32,
    /// Zero point of the sum.
    pub output_zero_point: i32,
}

impl AddRequant {
    /// The multipliers for `q.a` and `q.b` added into `q.output`, or `None` when the scale
    /// ratios fall outside what a 21-bit multiplier holds (`2^−10 ≤ ratio < 2^8`).
    pub fn new(q: &AddQuant) -> Option<Self> {
        let a_ratio = q.a.scale / q.output.scale;
        let b_ratio = q.b.scale / q.output.scale;
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
            bias: -(a_multiplier * q.a.zero_point + b_multiplier * q.b.zero_point),
            shift,
            output_zero_point: q.output.zero_point,
        })
    }

    /// One sum, as the kernels compute it.
    #[inline(always)]
    pub fn apply(&self, a: i32, b: i32) -> u8 {
        let acc = self.bias + a * self.a_multiplier + b * self.b_multiplier;
        let v = ((acc + (1 << (self.shift - 1))) >> self.shift) + self.output_zero_point;
        v.clamp(0, 255) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_requant_matches_real_arithmetic_within_half_a_step() {
        let q = AddQuant {
            a: QParams {
                scale: 0.2758,
                zero_point: 119,
            },
            b: QParams {
                scale: 0.3544,
                zero_point: 129,
            },
            output: QParams {
                scale: 0.4012,
                zero_point: 127,
            },
        };
        let r = AddRequant::new(&q).unwrap();
        for a in (0..256).step_by(7) {
            for b in (0..256).step_by(5) {
                let real = q.a.scale * (a - q.a.zero_point) as f32
                    + q.b.scale * (b - q.b.zero_point) as f32;
                let exact = (real / q.output.scale + q.output.zero_point as f32).clamp(0.0, 255.0);
                let got = r.apply(a, b) as f32;
                assert!(
                    (got - exact).abs() <= 0.5 + 1e-3,
                    "{a} {b}: {got} vs {exact}"
                );
            }
        }
    }
}
