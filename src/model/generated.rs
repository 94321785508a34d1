//! Deterministic generated weights, for architectures without a published file (V3-Large) and
//! for latency measurements, where the values do not matter.

use super::blocks::ConvWeights;
use super::config::ConvSpec;

/// Returns a weight source producing He-scaled pseudo-random weights from `seed`.
pub(crate) fn generated_weights(seed: u64) -> impl FnMut(&ConvSpec) -> ConvWeights {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    move |spec: &ConvSpec| {
        let c = spec.conv;
        let fan_in = (c.in_channels / c.groups) * c.kernel * c.kernel;
        let bound = (6.0 / fan_in as f32).sqrt();
        let n: usize = c.hwio_shape().iter().product();
        let mut next = || {
            // xorshift64*: tiny, deterministic, good enough for weights nobody reads.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
            (r as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        };
        let weight = (0..n).map(|_| next() * bound).collect();
        let bias = (0..c.out_channels).map(|_| next() * 0.01).collect();
        ConvWeights {
            weight,
            bias,
            activation: spec.activation,
            saturation: None,
            step: None,
            hybrid: None,
            ordered: false,
        }
    }
}
