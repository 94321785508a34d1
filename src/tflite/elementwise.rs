//! Element-wise operators on 8-bit tensors as TFLite's XNNPACK delegate computes them, each
//! with its constant operand folded into a table of 256 quanta: a QUANTIZE between 8-bit
//! types and the unary operators (hard-swish, ReLU, ReLU6) run XNNPACK's reference arithmetic
//! (dequantize, compute in f32, `nearbyint(y · (1 / scale) + zero_point)`); a MUL by a
//! constant its `fp32` requantization (`round(float((a − za)(b − zb)) · sa·sb/so) + zo`); an ADD
//! of a constant its fixed-point sum. Zero points are added in floating point before rounding
//! in the reference arithmetic, so the tables are computed in the file's own terms (int8 or
//! uint8) and stored in unsigned ones.

use super::reader::{DType, TfliteFile};
use crate::model::Lut;
use crate::spec::{AddRequant, QParams};

/// A quantized tensor's parameters in the file's own terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Grid {
    /// Parameters in unsigned terms (the model's).
    pub q: QParams,
    /// Whether the tensor is int8.
    pub signed: bool,
}

impl Grid {
    /// The grid of tensor `t`, if it is 8-bit with one scale and zero point.
    pub(crate) fn of(file: &TfliteFile<'_>, t: usize) -> Option<Self> {
        Some(Self {
            q: file.activation_quant(t)?,
            signed: file.tensors[t].dtype == DType::I8,
        })
    }

    fn shift(self) -> i32 {
        if self.signed { 128 } else { 0 }
    }

    /// The zero point in the file's terms.
    fn zero_point(self) -> i32 {
        self.q.zero_point - self.shift()
    }

    /// A quantum (unsigned terms) as a real value: XNNPACK's `dequantize`.
    fn dequantize(self, u: u8) -> f32 {
        let own = u as i32 - self.shift();
        (own as f32 - self.zero_point() as f32) * self.q.scale
    }

    /// XNNPACK's `quantize`: `nearbyint(x · (1 / scale) + zero_point)` saturated to the type,
    /// returned in unsigned terms.
    fn quantize(self, x: f32) -> u8 {
        let inv = 1.0 / self.q.scale;
        let v = x * inv + self.zero_point() as f32;
        let v = if v.is_nan() { 0.0 } else { v.round_ties_even() };
        let (lo, hi) = if self.signed {
            (-128.0, 127.0)
        } else {
            (0.0, 255.0)
        };
        (v.clamp(lo, hi) as i32 + self.shift()) as u8
    }
}

/// A table from each input quantum.
fn table(f: impl Fn(u8) -> u8) -> Lut {
    Lut(std::array::from_fn(|i| f(i as u8)))
}

/// QUANTIZE from one 8-bit grid to another.
pub(crate) fn requantize(x: Grid, y: Grid) -> Lut {
    table(|q| y.quantize(x.dequantize(q)))
}

/// HARD_SWISH, which the delegate leaves to TFLite's own kernel for 8-bit tensors: its 16-bit
/// fixed-point arithmetic (`reference_ops::HardSwish`), value by value.
pub(crate) fn hard_swish(x: Grid, y: Grid) -> Lut {
    let hires = (1.0f32 / 128.0) * x.q.scale;
    let (out_mul, out_exp) = multiplier16((hires / y.q.scale) as f64);
    let (relu_mul, relu_exp) = multiplier16((hires / (3.0f32 / 32768.0)) as f64);
    table(|q| {
        let v = (q as i32 - x.q.zero_point) as i16;
        let hi = v.wrapping_mul(1 << 7);
        let pre = rounding_doubling_high_mul(hi, out_mul);
        let mut r = hi;
        if relu_exp > 0 {
            r = saturating_shl(r, relu_exp - 1);
        }
        r = rounding_doubling_high_mul(r, relu_mul);
        if relu_exp > 0 {
            r = saturating_shl(r, 1);
        }
        if relu_exp < 0 {
            r = rounding_divide_by_pot(r, -relu_exp);
        }
        let r = ((r as i32 + (1 << 15)) >> 1) as i16;
        let out = rounding_divide_by_pot(doubling_high_mul(r, pre), -out_exp) as i32;
        (out + y.q.zero_point).clamp(0, 255) as u8
    })
}

/// TFLite's `QuantizeMultiplier` (a Q31 mantissa and an exponent, `frexp` and round half away
/// from zero) then `DownScaleInt32ToInt16Multiplier`.
fn multiplier16(m: f64) -> (i16, i32) {
    if m == 0.0 {
        return (0, 0);
    }
    let exp = m.abs().log2().floor() as i32 + 1;
    let mut q = m / 2f64.powi(exp);
    let mut exp = exp;
    // frexp's mantissa lies in [0.5, 1); log2 may land one off at powers of two.
    if q >= 1.0 {
        q /= 2.0;
        exp += 1;
    } else if q < 0.5 {
        q *= 2.0;
        exp -= 1;
    }
    let mut fixed = (q * (1u64 << 31) as f64).round() as i64;
    if fixed == 1 << 31 {
        fixed /= 2;
        exp += 1;
    }
    if exp < -31 {
        return (0, 0);
    }
    let fixed = fixed as i32;
    let m16 = if fixed >= i32::MAX - (1 << 15) {
        i16::MAX
    } else {
        ((fixed + (1 << 15)) >> 16) as i16
    };
    (m16, exp)
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul` on 16 bits.
fn rounding_doubling_high_mul(a: i16, b: i16) -> i16 {
    if a == b && a == i16::MIN {
        return i16::MAX;
    }
    let ab = a as i32 * b as i32;
    let nudge = if ab >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((ab + nudge) / (1 << 15)) as i16
}

/// TFLite's `SaturatingDoublingHighMul`: the same, truncating.
fn doubling_high_mul(a: i16, b: i16) -> i16 {
    if a == b && a == i16::MIN {
        return i16::MAX;
    }
    ((a as i32 * b as i32) / (1 << 15)) as i16
}

/// gemmlowp's `RoundingDivideByPOT`: round half away from zero.
fn rounding_divide_by_pot(x: i16, exponent: i32) -> i16 {
    if exponent <= 0 {
        return x;
    }
    let mask = ((1i32 << exponent) - 1) as i16;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i16::from(x < 0);
    (x >> exponent) + i16::from(remainder > threshold)
}

fn saturating_shl(x: i16, amount: i32) -> i16 {
    (x as i64 * (1i64 << amount)).clamp(i16::MIN as i64, i16::MAX as i64) as i16
}

/// RELU / RELU6 as separate operators: the reference clamp.
pub(crate) fn clamp(x: Grid, y: Grid, max: f32) -> Lut {
    table(|q| y.quantize(x.dequantize(q).max(0.0).min(max)))
}

/// MUL by a constant quantum `c` on grid `cg`: XNNPACK's `qs8_vmulc` / `qu8_vmulc` (`fp32`
/// requantization, round half to even before the output zero point is added).
pub(crate) fn mul_const(x: Grid, c: u8, cg: Grid, y: Grid) -> Lut {
    let scale = (x.q.scale * cg.q.scale) / y.q.scale;
    let b = c as i32 - cg.q.zero_point;
    table(|q| {
        let acc = (q as i32 - x.q.zero_point) * b;
        let v = (acc as f32 * scale).round_ties_even() as i32 + y.q.zero_point;
        v.clamp(0, 255) as u8
    })
}

/// ADD of a constant quantum `c` on grid `cg`: the fixed-point sum of residual additions.
pub(crate) fn add_const(x: Grid, c: u8, cg: Grid, y: Grid) -> Option<Lut> {
    let r = AddRequant::new(x.q, cg.q, y.q)?;
    Some(table(|q| r.apply(q as i32, c as i32)))
}

/// The product of an 8-bit tensor and a per-channel gate (squeeze-excite's MUL): XNNPACK's
/// `vmul` with the same `fp32` requantization as [`mul_const`].
pub(crate) fn mul_scale(a: Grid, b: Grid, y: Grid) -> f32 {
    (a.q.scale * b.q.scale) / y.q.scale
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn grid(scale: f32, zero_point: i32, signed: bool) -> Grid {
        let shift = if signed { 128 } else { 0 };
        Grid {
            q: QParams {
                scale,
                zero_point: zero_point + shift,
            },
            signed,
        }
    }

    #[test]
    fn tables_follow_the_real_functions_within_half_a_step() {
        let x = grid(0.0707, -9, true);
        let y = grid(0.0392, -118, true);
        let t = hard_swish(x, y);
        for q in 0..=255u8 {
            let v = x.dequantize(q);
            let want = (v * (v + 3.0).clamp(0.0, 6.0) / 6.0) / y.q.scale + y.zero_point() as f32;
            let got = t.0[q as usize] as i32 - 128;
            // 16-bit fixed point: within one step of the real function.
            assert!(
                (got as f32 - want.clamp(-128.0, 127.0)).abs() <= 1.0 + 1e-4,
                "{q}"
            );
        }
        // x · (1/6) on the V3 files' own grids.
        let (g, c) = (grid(0.018675, -128, true), grid(0.00065359, -128, true));
        let out = grid(0.0031125, -128, true);
        let t = mul_const(g, 255, c, out);
        for q in 0..=255u8 {
            let want = g.dequantize(q) * c.dequantize(255) / out.q.scale;
            assert!((t.0[q as usize] as f32 - want).abs() <= 0.5 + 1e-3, "{q}");
        }
        // A requantization between the same grids is the identity.
        assert!((0..=255u8).all(|q| requantize(x, x).0[q as usize] == q));
    }
}
