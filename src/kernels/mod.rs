//! The convolution kernels: a small microkernel library in the manner of tract-linalg and
//! XNNPACK, on plain slices, importing nothing of the crate above it but the value types of
//! [`crate::spec`].
//!
//! - [`caps`]: what this build and engine can do, probed once; [`select`]: the one place
//!   kernels are chosen from it.
//! - [`isa`]: the 128-bit vectors every kernel is written against (wasm simd128 with or
//!   without relaxed SIMD, x86_64 SSE2, plain arrays).
//! - [`gemm`]: the matrix products (1×1 convolutions, the stem through [`patches`]): one tile
//!   driver, float and int8 microkernels (`gemm_f32_4x8_v128`, `gemm_i16_4x8_dot16`,
//!   `gemm_u8i8_4x8_relaxed_dot`, `gemm_u8i8_4x8_dot16`) and their stores.
//! - [`dw`]: depthwise convolutions (`dw_f32_v128`, `dw_i16_dot16`, `dw_u8i8`).
//! - [`block`]: a float inverted-residual block fused over strips of rows.
//! - [`par`]: outputs split into strips of rows across the thread pool (`threads` feature).
//! - [`conv`]: one image through one convolution, the entry points the model calls.
//! - [`ordered`]: float convolutions summed in XNNPACK's order (dynamic-range files).
//! - [`reference`]: plain scalar definitions of every kernel, which the tests hold each
//!   microkernel to, natively and in wasm.
//!
//! A new kernel is one file beside its kind and one line in [`select`] (or in [`conv`]).

pub(crate) mod block;
pub(crate) mod caps;
pub(crate) mod conv;
pub(crate) mod dw;
mod epilogue;
pub(crate) mod gemm;
pub(crate) mod isa;
pub(crate) mod ordered;
pub(crate) mod par;
mod patches;
#[cfg(test)]
mod reference;
mod requant;
pub(crate) mod select;
#[cfg(test)]
mod tests;
