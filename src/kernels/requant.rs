//! [`Requant`] on vectors: requantization onto the output's 8-bit grid as TFLite's XNNPACK
//! kernels do it (`zo + round_half_even(clamp(float(acc) · M))`) and the residual addition in
//! XNNPACK's fixed point, in the kernels' store loops.

use super::isa::{F4, V};
use crate::spec::Requant;

/// 1.5 · 2^23: added to an f32 in (−2^22, 2^22), it leaves the value rounded half to even in the
/// low mantissa bits (the rounding every f32 addition does), so `bits − bits(MAGIC)` is the
/// rounded integer: a rounding and a conversion in two operations, where wasm's
/// `i32x4.trunc_sat_f32x4_s` costs V8 about eight instructions on x64.
const MAGIC: f32 = 12_582_912.0;

/// A [`Requant`] with its constants splatted.
pub(crate) struct VectorRequant {
    lo: F4,
    hi: F4,
    magic: F4,
    /// `bits(MAGIC) − zo`.
    magic_less_zo: V,
    add: Option<VectorAdd>,
}

struct VectorAdd {
    a_mul: V,
    b_mul: V,
    bias: V,
    rounding: V,
    shift: u32,
    zo: V,
}

impl VectorRequant {
    pub(crate) fn new(r: &Requant) -> Self {
        let zo = r.output_zero_point as f32;
        Self {
            lo: F4::splat(r.lo as f32 - zo),
            hi: F4::splat(r.hi as f32 - zo),
            magic: F4::splat(MAGIC),
            magic_less_zo: V::splat_i32(MAGIC.to_bits() as i32 - r.output_zero_point),
            add: r.add.map(|a| VectorAdd {
                a_mul: V::splat_i32(a.a_multiplier),
                b_mul: V::splat_i32(a.b_multiplier),
                bias: V::splat_i32(a.bias),
                rounding: V::splat_i32(1 << (a.shift - 1)),
                shift: a.shift,
                zo: V::splat_i32(a.output_zero_point),
            }),
        }
    }

    /// Four accumulators (i32 lanes) and their multipliers → four quanta (i32 lanes, in the
    /// output range): `zo + round_half_even(clamp(float(acc) · M, lo − zo, hi − zo))`.
    #[inline(always)]
    pub(crate) fn apply(&self, acc: V, multiplier: F4) -> V {
        // Clamped to the output range less the zero point: within ±255, where MAGIC rounds.
        let v = (acc.to_f32() * multiplier).clamp(self.lo, self.hi) + self.magic;
        V::bits_of(v).sub_i32(self.magic_less_zo)
    }

    /// [`VectorRequant::apply`], then the residual addition with `residual` (four quanta as i32
    /// lanes) when there is one; the result still needs saturating to `0..=255` (packing does).
    #[inline(always)]
    pub(crate) fn apply_add(&self, acc: V, multiplier: F4, residual: impl FnOnce() -> V) -> V {
        let q = self.apply(acc, multiplier);
        match &self.add {
            None => q,
            Some(a) => {
                let sum = a
                    .bias
                    .add_i32(residual().mul_i32(a.a_mul))
                    .add_i32(q.mul_i32(a.b_mul));
                sum.add_i32(a.rounding).shr_i32(a.shift).add_i32(a.zo)
            }
        }
    }

    /// Whether a residual is added.
    pub(crate) fn adds(&self) -> bool {
        self.add.is_some()
    }
}
