//! [`Epilogue`] on vectors, applied by the float kernels while the sums are in registers.

use super::isa::F4;
use crate::spec::{Epilogue, EpilogueAct};

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
    pub(crate) fn new(e: &Epilogue) -> Self {
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
    pub(crate) fn apply(&self, mut v: F4) -> F4 {
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
