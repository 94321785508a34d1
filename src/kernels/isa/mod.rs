//! 128-bit vectors the kernels are written against: wasm32 simd128 (with relaxed SIMD where the
//! build enables it), x86_64 SSE2, or plain arrays elsewhere. One kernel source compiles to each,
//! so the native tests run the same loops, tails and epilogues as the wasm builds.

mod f32x4;
mod i8x16;

pub(crate) use f32x4::F4;
#[cfg(target_arch = "wasm32")]
pub(crate) use f32x4::FUSED_MULTIPLY_ADD;

/// One scalar multiply-add with the rounding [`F4::mul_add`] has in this build: fused with
/// relaxed SIMD or x86 FMA, else a multiply and an add.
#[cfg(test)]
#[inline(always)]
pub(crate) fn mul_add(a: f32, b: f32, c: f32) -> f32 {
    if cfg!(any(
        all(target_arch = "wasm32", target_feature = "relaxed-simd"),
        all(target_arch = "x86_64", target_feature = "fma")
    )) {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}
pub(crate) use i8x16::V;

/// How the quads layouts' byte products are computed: four `u8 × i8` products summed into each
/// i32 lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QuadsDot {
    /// The relaxed dot product on raw bytes: only where the engine computes it exactly.
    RelaxedDot,
    /// Its sums from 16-bit products, on every engine.
    Dot16,
}

/// How the pairs layout's 16-bit products are computed: two `i16 × i16` products summed into
/// each i32 lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PairsDot {
    /// `i32x4.dot_i16x8_s` (or SSE2's `pmaddwd`) on 128-bit vectors: every build.
    V128,
    /// x86-64 AVX2: `vpmaddwd` and `vpaddd` on 256-bit vectors, eight channels at once.
    Avx2,
    /// x86-64 AVX-512 VNNI (with VL): `vpdpwssd` on 256-bit vectors, the product and its
    /// accumulation in one instruction.
    Avx512Vnni,
}
