//! What follows a convolution's sum, applied by the kernels while the sum is still in registers:
//! optional rounding onto the quantized output grid, the saturation range the quantized output
//! implies, then ReLU / ReLU6 / hard-swish / hard-sigmoid.

use burn::tensor::Tensor;

use super::simd::F4;
use crate::model::Activation;

/// What follows a convolution, in order: `step` rounding, clamp to `[lo, hi]`, then `act`
/// (`Clamp` is the identity once clamped: ReLU and ReLU6 are expressed by the range).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Epilogue {
    /// Quantization step the output is rounded to (half to even), if any.
    pub step: Option<f32>,
    /// Lower saturation bound (−∞ for none).
    pub lo: f32,
    /// Upper saturation bound (+∞ for none).
    pub hi: f32,
    /// The activation applied after the clamp.
    pub act: EpilogueAct,
}

/// The activation of an [`Epilogue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpilogueAct {
    /// Nothing beyond the clamp.
    Clamp,
    /// `x · relu6(x + 3) / 6`.
    HardSwish,
    /// `relu6(x + 3) / 6`.
    HardSigmoid,
}

impl Epilogue {
    /// Nothing after the sum.
    pub const IDENTITY: Self = Self {
        step: None,
        lo: f32::NEG_INFINITY,
        hi: f32::INFINITY,
        act: EpilogueAct::Clamp,
    };

    /// The epilogue of a convolution with this activation, saturation range and grid step.
    pub fn new(activation: Activation, saturation: Option<(f32, f32)>, step: Option<f32>) -> Self {
        let (mut lo, mut hi) = saturation.unwrap_or((f32::NEG_INFINITY, f32::INFINITY));
        let act = match activation {
            Activation::None => EpilogueAct::Clamp,
            Activation::Relu => {
                lo = lo.max(0.0);
                EpilogueAct::Clamp
            }
            Activation::Relu6 => {
                lo = lo.max(0.0);
                hi = hi.min(6.0);
                EpilogueAct::Clamp
            }
            Activation::HardSwish => EpilogueAct::HardSwish,
            Activation::HardSigmoid => EpilogueAct::HardSigmoid,
        };
        Self { step, lo, hi, act }
    }

    /// Whether the epilogue changes nothing.
    pub fn is_identity(&self) -> bool {
        *self == Self::IDENTITY
    }

    /// The epilogue with burn's tensor ops: the reference the kernels are tested against.
    pub fn apply_reference<const D: usize>(&self, mut y: Tensor<D>) -> Tensor<D> {
        if let Some(step) = self.step {
            y = (y / step).round() * step;
        }
        if self.lo > f32::NEG_INFINITY || self.hi < f32::INFINITY {
            y = y.clamp(self.lo, self.hi);
        }
        match self.act {
            EpilogueAct::Clamp => y,
            EpilogueAct::HardSwish => y.clone() * (y + 3.0).clamp(0.0, 6.0) / 6.0,
            EpilogueAct::HardSigmoid => (y + 3.0).clamp(0.0, 6.0) / 6.0,
        }
    }

    /// One value, in the same order of operations as the vector path.
    #[inline(always)]
    pub fn apply(&self, mut v: f32) -> f32 {
        if let Some(step) = self.step {
            v = (v / step).round_ties_even() * step;
        }
        v = v.max(self.lo).min(self.hi);
        match self.act {
            EpilogueAct::Clamp => v,
            EpilogueAct::HardSwish => v * ((v + 3.0).clamp(0.0, 6.0) * (1.0 / 6.0)),
            EpilogueAct::HardSigmoid => (v + 3.0).clamp(0.0, 6.0) * (1.0 / 6.0),
        }
    }
}

/// An [`Epilogue`] with its constants splatted, for the kernels' store loops.
pub(crate) struct VectorEpilogue {
    step: Option<F4>,
    lo: F4,
    hi: F4,
    act: EpilogueAct,
    zero: F4,
    three: F4,
    six: F4,
    sixth: F4,
}

impl VectorEpilogue {
    pub fn new(e: &Epilogue) -> Self {
        Self {
            step: e.step.map(F4::splat),
            lo: F4::splat(e.lo),
            hi: F4::splat(e.hi),
            act: e.act,
            zero: F4::splat(0.0),
            three: F4::splat(3.0),
            six: F4::splat(6.0),
            sixth: F4::splat(1.0 / 6.0),
        }
    }

    /// Four values at once; the same operations as [`Epilogue::apply`].
    #[inline(always)]
    pub fn apply(&self, mut v: F4) -> F4 {
        if let Some(step) = self.step {
            v = (v / step).round() * step;
        }
        v = v.clamp(self.lo, self.hi);
        match self.act {
            EpilogueAct::Clamp => v,
            EpilogueAct::HardSwish => {
                v * ((v + self.three).clamp(self.zero, self.six) * self.sixth)
            }
            EpilogueAct::HardSigmoid => (v + self.three).clamp(self.zero, self.six) * self.sixth,
        }
    }
}
