//! What this build and engine can do, detected once: the SIMD level the build was compiled for
//! and, with relaxed SIMD, which semantics the engine gives the relaxed byte dot product
//! (`i32x4.relaxed_dot_i8x16_i7x16_add_s` is defined only for 7-bit operands; engines differ
//! beyond). The selection in [`super::select`] reads only this.
//!
//! The probe runs once. V8 lowers the instruction with the same macro-assembler sequence in
//! both of its tiers, chosen by the CPU's features, so the answer holds for every function.

use std::sync::OnceLock;

/// The SIMD level of this build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Simd {
    /// 128-bit vectors: wasm simd128, or x86_64 SSE2 natively.
    V128,
    /// simd128 with relaxed SIMD (fused multiply-add, the byte dot product).
    Relaxed,
}

/// How the engine computes the relaxed byte dot product of a signed weight byte `w` and an
/// unsigned input byte `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(
    not(all(target_arch = "wasm32", target_feature = "relaxed-simd")),
    allow(
        dead_code,
        reason = "only the relaxed-SIMD build has a dot product to classify"
    )
)]
pub(crate) enum DotSemantics {
    /// Exactly, `w · x` (x86 with AVX-VNNI, Arm with i8mm).
    U8I8,
    /// Pairs of products summed with signed 16-bit saturation (x86 `pmaddubsw`): exact while
    /// each pair sum fits 16 bits, so for weights of 7 bits.
    SaturatingPairs,
    /// `x` read as signed (Arm `sdot`): exact for inputs below 128.
    SignedInputs,
    /// Anything else.
    Other,
}

/// The capabilities the kernels are selected by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Caps {
    /// The build's vectors.
    pub simd: Simd,
    /// The relaxed dot product's semantics, where the build has relaxed SIMD.
    pub dot: Option<DotSemantics>,
    /// Wider x86-64 instructions this CPU has (native builds; none elsewhere).
    pub x86: X86,
}

/// The x86-64 extensions beyond SSE2 the int8 products can use, found at run time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct X86 {
    /// AVX2: 256-bit integer vectors.
    pub avx2: bool,
    /// AVX-512 VNNI with VL: the 16- and 8-bit dot products on 256-bit vectors.
    pub avx512_vnni: bool,
}

impl X86 {
    /// This CPU's, probed by the standard library.
    #[cfg(target_arch = "x86_64")]
    fn detect() -> Self {
        let avx2 = std::arch::is_x86_feature_detected!("avx2");
        Self {
            avx2,
            avx512_vnni: avx2
                && std::arch::is_x86_feature_detected!("avx512vnni")
                && std::arch::is_x86_feature_detected!("avx512vl"),
        }
    }
    /// None beyond the build's vectors.
    #[cfg(not(target_arch = "x86_64"))]
    fn detect() -> Self {
        Self::default()
    }
}

impl Caps {
    /// Whether the relaxed dot product multiplies raw u8 inputs by i8 weights exactly.
    pub(crate) fn dot_u8i8(&self) -> bool {
        self.dot == Some(DotSemantics::U8I8)
    }
}

/// This build's and engine's capabilities, probed on first use.
pub(crate) fn caps() -> &'static Caps {
    static CAPS: OnceLock<Caps> = OnceLock::new();
    CAPS.get_or_init(|| Caps {
        simd: if cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd")) {
            Simd::Relaxed
        } else {
            Simd::V128
        },
        dot: relaxed_dot(),
        x86: X86::detect(),
    })
}

/// Classifies the relaxed dot product from two sums whose exact values tell the semantics
/// apart: 127 · 255 and −128 · 255, four of each per lane.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
fn relaxed_dot() -> Option<DotSemantics> {
    use super::isa::V;
    let x = V::splat_i32(core::hint::black_box(-1)); // 16 bytes of 255
    let zero = V::zero();
    let lane = |w: i32| {
        V::splat_i32(core::hint::black_box(w))
            .dot4_add(x, zero)
            .sum_i32()
            / 4
    };
    Some(match (lane(0x7f7f_7f7f), lane(0x8080_8080u32 as i32)) {
        (129_540, -130_560) => DotSemantics::U8I8,
        (65_534, -65_536) => DotSemantics::SaturatingPairs,
        (-508, 512) => DotSemantics::SignedInputs,
        _ => DotSemantics::Other,
    })
}

/// Without relaxed SIMD there is no relaxed dot product.
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
fn relaxed_dot() -> Option<DotSemantics> {
    None
}
