//! The one place kernels are chosen: from the [`Caps`] of this build and engine, which weight
//! layout the int8 model packs for and which products its quads layouts run on.

use std::sync::OnceLock;

use super::caps::{Caps, caps};
use super::gemm::int8::Layout;
use super::isa::{PairsDot, QuadsDot};

/// The kernels this engine runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Selection {
    /// The int8 weight layout that runs fastest here.
    pub layout: Layout,
    /// The products of the quads layouts.
    pub quads_dot: QuadsDot,
    /// The products of the pairs layout's matrix product.
    pub pairs_dot: PairsDot,
    /// Whether depthwise convolutions take the quads layout too when [`Selection::layout`]
    /// is quads (natively their byte products would be emulated: they keep pairs).
    pub depthwise_quads: bool,
}

/// Chooses from the capabilities: the byte dot product on raw u8 quads where the engine
/// computes it exactly (relaxed SIMD on x86 with AVX-VNNI); elsewhere 16-bit pairs, which run
/// faster than quads through 16-bit products (the quads still compute right: their sums are
/// exact in either form). Natively on x86-64 with AVX-512 VNNI, the one-group convolutions
/// take quads on `vpdpbusd` (exact on u8 × i8) and the depthwise ones keep pairs; the pairs'
/// products run on the widest x86-64 vectors the CPU has.
pub(crate) fn select(caps: &Caps) -> Selection {
    let pairs_dot = if caps.x86.avx512_vnni {
        PairsDot::Avx512Vnni
    } else if caps.x86.avx2 {
        PairsDot::Avx2
    } else {
        PairsDot::V128
    };
    let (layout, quads_dot, depthwise_quads) = if caps.dot_u8i8() {
        (Layout::Quads, QuadsDot::RelaxedDot, true)
    } else if caps.x86.avx512_vnni {
        (Layout::Quads, QuadsDot::RelaxedDot, false)
    } else {
        (Layout::Pairs, QuadsDot::Dot16, true)
    };
    Selection {
        layout,
        quads_dot,
        pairs_dot,
        depthwise_quads,
    }
}

/// The selection for this engine, made once.
pub(crate) fn selected() -> &'static Selection {
    static SELECTION: OnceLock<Selection> = OnceLock::new();
    SELECTION.get_or_init(|| select(caps()))
}
