//! Hand-written kernels, reached through a burn backend extension so the model stays a burn
//! model: [`KernelBackend`] is implemented for burn-flex with SIMD code (simd128 on wasm32, what
//! LLVM makes of the same loop elsewhere) and for burn-ndarray by composing burn's own ops. The
//! plain-burn path ([`epilogue_reference`]) is what the kernels are tested against.
//!
//! The convolution epilogue: optional rounding onto the quantized output grid, the saturation
//! range the quantized output implies, then ReLU / ReLU6 / hard-swish / hard-sigmoid, in one pass
//! over the convolution's output, in place when the tensor is not shared.
use std::sync::atomic::{AtomicBool, Ordering};

use burn::backend::tensor::FloatTensor;
use burn::backend::{Dispatch, Flex, backend_extension};
use burn::tensor::Tensor;

use crate::model::Activation;

/// What follows a convolution, in order: `step` rounding, clamp to `[lo, hi]`, then `act`
/// (`Clamp` is the identity once clamped: ReLU and ReLU6 are expressed by the range).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Epilogue {
    pub step: Option<f32>,
    pub lo: f32,
    pub hi: f32,
    pub act: EpilogueAct,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpilogueAct {
    Clamp,
    HardSwish,
    HardSigmoid,
}

impl Epilogue {
    /// The epilogue of a convolution with this activation and saturation range, or `None` when
    /// there is nothing to do after the convolution.
    pub fn new(
        activation: Activation,
        saturation: Option<(f32, f32)>,
        step: Option<f32>,
    ) -> Option<Self> {
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
        let nothing = step.is_none()
            && act == EpilogueAct::Clamp
            && lo == f32::NEG_INFINITY
            && hi == f32::INFINITY;
        (!nothing).then_some(Self { step, lo, hi, act })
    }
}

/// The epilogue with burn's tensor ops: the reference the kernels are tested against.
pub fn epilogue_reference(mut y: Tensor<4>, e: Epilogue) -> Tensor<4> {
    if let Some(step) = e.step {
        y = (y / step).round() * step;
    }
    if e.lo > f32::NEG_INFINITY || e.hi < f32::INFINITY {
        y = y.clamp(e.lo, e.hi);
    }
    match e.act {
        EpilogueAct::Clamp => y,
        EpilogueAct::HardSwish => y.clone() * (y + 3.0).clamp(0.0, 6.0) / 6.0,
        EpilogueAct::HardSigmoid => (y + 3.0).clamp(0.0, 6.0) / 6.0,
    }
}

#[backend_extension(Flex, NdArray: cfg(feature = "ndarray"))]
pub trait KernelBackend: burn::backend::Backend {
    /// Applies `epilogue` to a convolution output.
    fn conv_epilogue(y: FloatTensor<Self>, epilogue: Epilogue) -> FloatTensor<Self>;
}

impl KernelBackend for Flex {
    fn conv_epilogue(mut y: FloatTensor<Self>, e: Epilogue) -> FloatTensor<Self> {
        let layout = y.layout();
        let n = layout.num_elements();
        let in_place = y.dtype() == burn::tensor::DType::F32
            && layout.is_contiguous()
            && layout.start_offset() == 0;
        if in_place {
            if let Some(data) = y.try_storage_mut::<f32>() {
                epilogue_slice(&mut data[..n], e);
                return y;
            }
        }
        // Shared or strided: the plain-burn path.
        let t = Tensor::<4>::from_primitive::<Flex>(y);
        epilogue_reference(t, e)
            .try_into_primitive::<Flex>()
            .expect("a flex tensor stays on flex")
    }
}

#[cfg(feature = "ndarray")]
#[allow(deprecated)]
impl KernelBackend for burn::backend::NdArray {
    fn conv_epilogue(y: FloatTensor<Self>, e: Epilogue) -> FloatTensor<Self> {
        let t = Tensor::<4>::from_primitive::<Self>(y);
        epilogue_reference(t, e)
            .try_into_primitive::<Self>()
            .expect("an ndarray tensor stays on ndarray")
    }
}

static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the kernels off (the plain-burn path) or on, for this process; on by default.
pub fn set_enabled(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the kernels are used.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The epilogue through the backend extension (or the reference when kernels are off).
pub fn epilogue(y: Tensor<4>, e: Epilogue) -> Tensor<4> {
    if !enabled() {
        return epilogue_reference(y, e);
    }
    Tensor::from_dispatch(<Dispatch as KernelBackend>::conv_epilogue(
        y.into_dispatch(),
        e,
    ))
}

/// The epilogue over a slice, in place.
pub fn epilogue_slice(data: &mut [f32], e: Epilogue) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if e.step.is_none() {
        simd128::clamp_act(data, e);
        return;
    }
    epilogue_slice_scalar(data, e);
}

/// The same, one lane at a time, in the reference's order of operations (rounding half to
/// even, as burn's `round`).
fn epilogue_slice_scalar(data: &mut [f32], e: Epilogue) {
    let (lo, hi) = (e.lo, e.hi);
    let clamp = |v: f32| {
        let v = if v < lo { lo } else { v };
        if v > hi { hi } else { v }
    };
    let relu6 = |v: f32| {
        let v = if v < 0.0 { 0.0 } else { v };
        if v > 6.0 { 6.0 } else { v }
    };
    macro_rules! each {
        ($f:expr) => {
            for x in data.iter_mut() {
                *x = $f(*x);
            }
        };
    }
    match (e.step, e.act) {
        (None, EpilogueAct::Clamp) => each!(clamp),
        (None, EpilogueAct::HardSwish) => each!(|v| {
            let v = clamp(v);
            v * relu6(v + 3.0) / 6.0
        }),
        (None, EpilogueAct::HardSigmoid) => each!(|v| relu6(clamp(v) + 3.0) / 6.0),
        (Some(step), act) => each!(|v: f32| {
            let v = clamp((v / step).round_ties_even() * step);
            match act {
                EpilogueAct::Clamp => v,
                EpilogueAct::HardSwish => v * relu6(v + 3.0) / 6.0,
                EpilogueAct::HardSigmoid => relu6(v + 3.0) / 6.0,
            }
        }),
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128 {
    use core::arch::wasm32::*;

    use super::{Epilogue, EpilogueAct};

    /// Clamp and activation, four lanes at a time (`pmin`/`pmax` are one instruction each).
    pub fn clamp_act(data: &mut [f32], e: Epilogue) {
        let (lo, hi) = (f32x4_splat(e.lo), f32x4_splat(e.hi));
        let (zero, three, six, sixth) = (
            f32x4_splat(0.0),
            f32x4_splat(3.0),
            f32x4_splat(6.0),
            f32x4_splat(1.0 / 6.0),
        );
        let mut chunks = data.chunks_exact_mut(4);
        for c in &mut chunks {
            // SAFETY: `c` is exactly 4 f32s; unaligned loads and stores are allowed in wasm.
            unsafe {
                let p = c.as_mut_ptr() as *mut v128;
                let mut v = f32x4_pmin(hi, f32x4_pmax(lo, v128_load(p)));
                v = match e.act {
                    EpilogueAct::Clamp => v,
                    EpilogueAct::HardSwish => f32x4_mul(
                        v,
                        f32x4_mul(
                            f32x4_pmin(six, f32x4_pmax(zero, f32x4_add(v, three))),
                            sixth,
                        ),
                    ),
                    EpilogueAct::HardSigmoid => f32x4_mul(
                        f32x4_pmin(six, f32x4_pmax(zero, f32x4_add(v, three))),
                        sixth,
                    ),
                };
                v128_store(p, v);
            }
        }
        let rest = chunks.into_remainder();
        super::epilogue_slice_scalar(rest, e);
    }
}
