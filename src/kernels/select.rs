//! The one place kernels are chosen: from the [`Caps`] of this build and engine, which weight
//! layout the int8 model packs for and which products its quads layouts run on.

use std::sync::OnceLock;

use super::caps::{Caps, caps};
use super::gemm::int8::Layout;
use super::isa::QuadsDot;

/// The kernels this engine runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Selection {
    /// The int8 weight layout that runs fastest here.
    pub layout: Layout,
    /// The products of the quads layouts.
    pub quads_dot: QuadsDot,
}

/// Chooses from the capabilities: the byte dot product on raw u8 quads where the engine
/// computes it exactly (relaxed SIMD on x86 with AVX-VNNI); elsewhere 16-bit pairs, which run
/// faster than quads through 16-bit products (the quads still compute right: their sums are
/// exact in either form).
pub(crate) fn select(caps: &Caps) -> Selection {
    if caps.dot_u8i8() {
        Selection {
            layout: Layout::Quads,
            quads_dot: QuadsDot::RelaxedDot,
        }
    } else {
        Selection {
            layout: Layout::Pairs,
            quads_dot: QuadsDot::Dot16,
        }
    }
}

/// The selection for this engine, made once.
pub(crate) fn selected() -> &'static Selection {
    static SELECTION: OnceLock<Selection> = OnceLock::new();
    SELECTION.get_or_init(|| select(caps()))
}
