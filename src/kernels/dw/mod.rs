//! Depthwise convolutions: float ([`f32`]), and int8 on 16-bit products ([`int8_pairs`]) or on
//! the byte dot product ([`int8_quads`]) over the input rows [`rows`] builds.

pub(crate) mod f32;
pub(crate) mod int8_pairs;
pub(crate) mod int8_quads;
mod rows;

/// Window sides the int8 depthwise kernels are compiled for.
pub(crate) fn int8_takes(k: usize) -> bool {
    matches!(k, 1 | 3 | 5 | 7)
}
