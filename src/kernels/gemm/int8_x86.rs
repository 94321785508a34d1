//! The pairs layout's product on 256-bit x86-64 vectors, chosen at run time from the CPU's
//! features ([`PairsDot`](crate::kernels::isa::PairsDot)): the native `eval`, `bench` and
//! server-side use. One 32-byte load holds a panel's eight channels' pair of weights, so each
//! pixel's splatted pair of inputs meets all eight channels in one product: `vpmaddwd` +
//! `vpaddd` with AVX2, `vpdpwssd` with AVX-512 VNNI (the product and its accumulation in one
//! instruction). The sums are the same wrapping i32 sums as [`super::int8`]'s 128-bit kernel
//! (each pair of products is below 2³¹ in magnitude for 9-bit operands), so every form gives
//! identical outputs; the store is the shared one.

use core::arch::x86_64::*;

use super::{Micro, PANEL};
use crate::kernels::isa::V;

/// Defines a 4 (or fewer) pixels × 8 channels microkernel on [`super::int8::Layout::Pairs`]
/// whose one step `$mac(acc, x, w)` adds `x · w` pairwise to `acc`, compiled for `$features`.
macro_rules! pairs_x86 {
    ($(#[$doc:meta])* $name:ident, $tile:ident, $strip:ident, $features:literal, $mac:expr) => {
        $(#[$doc])*
        #[allow(non_camel_case_types)]
        pub(super) struct $name<'a> {
            pub(super) x: &'a [i16],
            pub(super) k2: usize,
            pub(super) w: &'a [i16],
        }

        impl Micro for $name<'_> {
            type Acc = V;

            #[inline(always)]
            unsafe fn tile<const R: usize>(
                &self,
                row: usize,
                panel: usize,
                bias: [V; 2],
            ) -> [[V; 2]; R] {
                let k2 = self.k2;
                // SAFETY: R rows of 2·k2 i16 from `row`; the panel holds k2 × 16 weights; the
                // selection chose this kernel only where the CPU has `$features`.
                unsafe {
                    $tile::<R>(
                        self.x.as_ptr().add(row * 2 * k2),
                        self.w.as_ptr().add(panel * k2 * PANEL * 2),
                        k2,
                        bias,
                    )
                }
            }

            #[inline(always)]
            fn strip(&self, f: impl FnOnce()) {
                // SAFETY: as for the tile.
                unsafe { $strip(f) }
            }
        }

        /// `f` compiled for the kernel's features (its stores too: VEX-encoded SSE).
        ///
        /// # Safety
        /// The CPU must have the features.
        #[target_feature(enable = $features)]
        unsafe fn $strip(f: impl FnOnce()) {
            f()
        }

        /// The tile's loop: two accumulators per pixel (even and odd pairs of `k`), so that
        /// 8 independent sums hide the product's latency, added at the end.
        ///
        /// # Safety
        /// `x` must hold `R` rows of `2·k2` i16, `w` a panel of `k2 × 16`; the CPU must have
        /// the features.
        #[target_feature(enable = $features)]
        unsafe fn $tile<const R: usize>(
            x: *const i16,
            w: *const i16,
            k2: usize,
            bias: [V; 2],
        ) -> [[V; 2]; R] {
            let mac = $mac;
            // SAFETY: reads within the rows and the panel, as the caller guarantees.
            unsafe {
                let (stride, b) = (2 * k2, _mm256_set_m128i(bias[1].m128i(), bias[0].m128i()));
                let pair = |r: usize, kk: usize| {
                    _mm256_set1_epi32((x.add(r * stride + 2 * kk) as *const i32).read_unaligned())
                };
                let weights = |kk: usize| _mm256_loadu_si256(w.add(kk * 2 * PANEL) as *const __m256i);
                let mut even = [b; R];
                let mut odd = [_mm256_setzero_si256(); R];
                let mut kk = 0;
                while kk + 2 <= k2 {
                    let (w0, w1) = (weights(kk), weights(kk + 1));
                    for r in 0..R {
                        even[r] = mac(even[r], pair(r, kk), w0);
                        odd[r] = mac(odd[r], pair(r, kk + 1), w1);
                    }
                    kk += 2;
                }
                if kk < k2 {
                    let w0 = weights(kk);
                    for (r, e) in even.iter_mut().enumerate() {
                        *e = mac(*e, pair(r, kk), w0);
                    }
                }
                core::array::from_fn(|r| {
                    let s = _mm256_add_epi32(even[r], odd[r]);
                    [
                        V::from_m128i(_mm256_castsi256_si128(s)),
                        V::from_m128i(_mm256_extracti128_si256::<1>(s)),
                    ]
                })
            }
        }
    };
}

pairs_x86!(
    /// AVX2: `vpmaddwd` then `vpaddd`, 16 products in two instructions.
    Gemm_i16_4x8_avx2,
    tile_avx2,
    strip_avx2,
    "avx2",
    |acc, x, w| _mm256_add_epi32(acc, _mm256_madd_epi16(x, w))
);
pairs_x86!(
    /// AVX-512 VNNI: `vpdpwssd`, 16 products and their accumulation in one instruction.
    Gemm_i16_4x8_avx512vnni,
    tile_avx512vnni,
    strip_avx512vnni,
    "avx2,avx512vnni,avx512vl",
    |acc, x, w| _mm256_dpwssd_epi32(acc, x, w)
);

/// 4 (or fewer) pixels × 8 channels on [`super::int8::Layout::Quads`] with AVX-512 VNNI's
/// `vpdpbusd`: a splat of four raw input bytes (unsigned) meets the panel's eight channels'
/// quad of weights (signed), 32 products and their accumulation in one instruction, exactly.
#[allow(non_camel_case_types)]
pub(super) struct Gemm_u8i8_4x8_avx512vnni<'a> {
    pub(super) x: &'a [u8],
    pub(super) stride: usize,
    pub(super) w: &'a [i8],
    pub(super) k4: usize,
}

impl Micro for Gemm_u8i8_4x8_avx512vnni<'_> {
    type Acc = V;

    #[inline(always)]
    unsafe fn tile<const R: usize>(&self, row: usize, panel: usize, bias: [V; 2]) -> [[V; 2]; R] {
        // SAFETY: R rows of 4·k4 bytes from `row`; the panel holds k4 × 32 weights; the
        // selection chose this kernel only where the CPU has AVX-512 VNNI.
        unsafe {
            quads_avx512vnni::<R>(
                self.x.as_ptr().add(row * self.stride),
                self.stride,
                self.w.as_ptr().add(panel * self.k4 * PANEL * 4),
                self.k4,
                bias,
            )
        }
    }

    #[inline(always)]
    fn strip(&self, f: impl FnOnce()) {
        // SAFETY: as for the tile.
        unsafe { strip_avx512vnni(f) }
    }
}

/// The quads tile's loop, two accumulators per pixel like the pairs'.
///
/// # Safety
/// `x` must hold `R` rows of `4·k4` bytes `stride` apart, `w` a panel of `k4 × 32`; the CPU
/// must have AVX-512 VNNI with VL.
#[target_feature(enable = "avx2,avx512vnni,avx512vl")]
unsafe fn quads_avx512vnni<const R: usize>(
    x: *const u8,
    stride: usize,
    w: *const i8,
    k4: usize,
    bias: [V; 2],
) -> [[V; 2]; R] {
    // SAFETY: reads within the rows and the panel, as the caller guarantees.
    unsafe {
        let b = _mm256_set_m128i(bias[1].m128i(), bias[0].m128i());
        let quad = |r: usize, kq: usize| {
            _mm256_set1_epi32((x.add(r * stride + 4 * kq) as *const i32).read_unaligned())
        };
        let weights = |kq: usize| _mm256_loadu_si256(w.add(kq * 4 * PANEL) as *const __m256i);
        let mut even = [b; R];
        let mut odd = [_mm256_setzero_si256(); R];
        let mut kq = 0;
        while kq + 2 <= k4 {
            let (w0, w1) = (weights(kq), weights(kq + 1));
            for r in 0..R {
                even[r] = _mm256_dpbusd_epi32(even[r], quad(r, kq), w0);
                odd[r] = _mm256_dpbusd_epi32(odd[r], quad(r, kq + 1), w1);
            }
            kq += 2;
        }
        if kq < k4 {
            let w0 = weights(kq);
            for (r, e) in even.iter_mut().enumerate() {
                *e = _mm256_dpbusd_epi32(*e, quad(r, kq), w0);
            }
        }
        core::array::from_fn(|r| {
            let s = _mm256_add_epi32(even[r], odd[r]);
            [
                V::from_m128i(_mm256_castsi256_si128(s)),
                V::from_m128i(_mm256_extracti128_si256::<1>(s)),
            ]
        })
    }
}
