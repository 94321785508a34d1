//! What follows a float convolution's sum: optional rounding onto a quantized output grid, the
//! saturation range a quantized output implies, then the activation.

/// Pointwise non-linearity after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Activation {
    /// Identity (linear bottlenecks, logits).
    None,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6).
    Relu6,
    /// x · relu6(x + 3) / 6.
    HardSwish,
    /// relu6(x + 3) / 6 (the squeeze-excite gate of V3).
    HardSigmoid,
}

/// The activation of an [`Epilogue`] once ReLU and ReLU6 are expressed by its range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EpilogueAct {
    /// Nothing beyond the clamp.
    Clamp,
    /// `x · relu6(x + 3) / 6`.
    HardSwish,
    /// `relu6(x + 3) / 6`.
    HardSigmoid,
}

/// What follows a convolution, in order: `step` rounding, clamp to `[lo, hi]`, then `act`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Epilogue {
    /// Quantization step the output is rounded to (half to even), if any.
    pub step: Option<f32>,
    /// Lower saturation bound (−∞ for none).
    pub lo: f32,
    /// Upper saturation bound (+∞ for none).
    pub hi: f32,
    /// The activation applied after the clamp.
    pub act: EpilogueAct,
}

impl Epilogue {
    /// Nothing after the sum.
    #[cfg(test)]
    pub(crate) const IDENTITY: Self = Self {
        step: None,
        lo: f32::NEG_INFINITY,
        hi: f32::INFINITY,
        act: EpilogueAct::Clamp,
    };

    /// The epilogue of a convolution with this activation, saturation range and grid step.
    pub(crate) fn new(
        activation: Activation,
        saturation: Option<(f32, f32)>,
        step: Option<f32>,
    ) -> Self {
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

    /// One value: the definition the vector kernels and burn's reference follow.
    #[inline(always)]
    pub(crate) fn apply(&self, mut v: f32) -> f32 {
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
