//! Four f32 lanes: wasm32 simd128 (with relaxed-SIMD fused multiply-add when the build enables
//! it), x86_64 SSE2, or plain arrays elsewhere. The kernels are written once against [`F4`], so the
//! native tests exercise the same loops, tails and epilogues as the wasm build.

/// Four f32 lanes.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct F4(Inner);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
type Inner = core::arch::wasm32::v128;
#[cfg(target_arch = "x86_64")]
type Inner = core::arch::x86_64::__m128;
#[cfg(not(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    target_arch = "x86_64"
)))]
type Inner = [f32; 4];

/// `+`, `*` and `/` lane by lane, from the three functions that do them.
macro_rules! operators {
    ($add:ident, $mul:ident, $div:ident) => {
        impl core::ops::Add for F4 {
            type Output = Self;
            #[inline(always)]
            fn add(self, b: Self) -> Self {
                #[allow(unused_unsafe)]
                Self(unsafe { $add(self.0, b.0) })
            }
        }
        impl core::ops::Mul for F4 {
            type Output = Self;
            #[inline(always)]
            fn mul(self, b: Self) -> Self {
                #[allow(unused_unsafe)]
                Self(unsafe { $mul(self.0, b.0) })
            }
        }
        impl core::ops::Div for F4 {
            type Output = Self;
            #[inline(always)]
            fn div(self, b: Self) -> Self {
                #[allow(unused_unsafe)]
                Self(unsafe { $div(self.0, b.0) })
            }
        }
    };
}
use operators;

/// Whether this build's multiply-add is fused (relaxed SIMD on wasm32).
#[cfg(target_arch = "wasm32")]
pub(crate) const FUSED_MULTIPLY_ADD: bool =
    cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd"));

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    use super::F4;

    super::operators!(f32x4_add, f32x4_mul, f32x4_div);

    impl F4 {
        /// Four copies of `x`.
        #[inline(always)]
        pub(crate) fn splat(x: f32) -> Self {
            Self(f32x4_splat(x))
        }
        /// Four f32s from `p`.
        ///
        /// # Safety
        /// `p` must be valid for reading four f32s (no alignment needed).
        #[inline(always)]
        pub(crate) unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller guarantees four readable f32s; wasm loads are unaligned.
            Self(unsafe { v128_load(p as *const v128) })
        }
        /// The four lanes to `p`.
        ///
        /// # Safety
        /// `p` must be valid for writing four f32s (no alignment needed).
        #[inline(always)]
        pub(crate) unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller guarantees four writable f32s.
            unsafe { v128_store(p as *mut v128, self.0) }
        }
        /// `self * b + c`, fused where the build has relaxed SIMD.
        #[inline(always)]
        pub(crate) fn mul_add(self, b: Self, c: Self) -> Self {
            #[cfg(target_feature = "relaxed-simd")]
            {
                Self(f32x4_relaxed_madd(self.0, b.0, c.0))
            }
            #[cfg(not(target_feature = "relaxed-simd"))]
            {
                self * b + c
            }
        }
        /// `max(self, lo)` then `min(…, hi)`.
        #[inline(always)]
        pub(crate) fn clamp(self, lo: Self, hi: Self) -> Self {
            Self(f32x4_pmin(hi.0, f32x4_pmax(lo.0, self.0)))
        }
        /// Rounds half to even.
        #[inline(always)]
        pub(crate) fn round(self) -> Self {
            Self(f32x4_nearest(self.0))
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use core::arch::x86_64::*;

    use super::F4;

    // SAFETY (in the macro's expansion): SSE2 is part of the x86_64 baseline.
    super::operators!(_mm_add_ps, _mm_mul_ps, _mm_div_ps);

    impl F4 {
        /// Four copies of `x`.
        #[inline(always)]
        pub(crate) fn splat(x: f32) -> Self {
            // SAFETY: SSE2 is part of the x86_64 baseline.
            Self(unsafe { _mm_set1_ps(x) })
        }
        /// Four f32s from `p`.
        ///
        /// # Safety
        /// `p` must be valid for reading four f32s (no alignment needed).
        #[inline(always)]
        pub(crate) unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller guarantees four readable f32s; the load is unaligned.
            Self(unsafe { _mm_loadu_ps(p) })
        }
        /// The four lanes to `p`.
        ///
        /// # Safety
        /// `p` must be valid for writing four f32s (no alignment needed).
        #[inline(always)]
        pub(crate) unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller guarantees four writable f32s.
            unsafe { _mm_storeu_ps(p, self.0) }
        }
        /// `self * b + c`: fused when the build enables FMA (`-C target-cpu=native` on a
        /// machine that has it), else a multiply and an add (the x86_64 baseline, SSE2).
        #[inline(always)]
        pub(crate) fn mul_add(self, b: Self, c: Self) -> Self {
            #[cfg(target_feature = "fma")]
            {
                // SAFETY: the build enables FMA for every function.
                Self(unsafe { _mm_fmadd_ps(self.0, b.0, c.0) })
            }
            #[cfg(not(target_feature = "fma"))]
            {
                self * b + c
            }
        }
        /// `max(self, lo)` then `min(…, hi)`.
        #[inline(always)]
        pub(crate) fn clamp(self, lo: Self, hi: Self) -> Self {
            // SAFETY: SSE2 baseline.
            Self(unsafe { _mm_min_ps(_mm_max_ps(self.0, lo.0), hi.0) })
        }
        /// Rounds half to even. SSE2 has no rounding instruction: below 2^23 in magnitude,
        /// `(|x| + 2^23) − 2^23` rounds `|x|` to an integer in the default mode (half to even),
        /// and the sign is put back; from 2^23 on every f32 is an integer already (and NaN
        /// passes through).
        #[inline(always)]
        pub(crate) fn round(self) -> Self {
            // SAFETY: SSE2 baseline.
            unsafe {
                let sign = _mm_set1_ps(-0.0);
                let magic = _mm_set1_ps(8_388_608.0);
                let abs = _mm_andnot_ps(sign, self.0);
                let rounded = _mm_or_ps(
                    _mm_sub_ps(_mm_add_ps(abs, magic), magic),
                    _mm_and_ps(sign, self.0),
                );
                let small = _mm_cmplt_ps(abs, magic);
                Self(_mm_or_ps(
                    _mm_and_ps(small, rounded),
                    _mm_andnot_ps(small, self.0),
                ))
            }
        }
    }
}

#[cfg(not(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    target_arch = "x86_64"
)))]
mod imp {
    use super::F4;

    fn add(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
        core::array::from_fn(|i| a[i] + b[i])
    }
    fn mul(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
        core::array::from_fn(|i| a[i] * b[i])
    }
    fn div(a: [f32; 4], b: [f32; 4]) -> [f32; 4] {
        core::array::from_fn(|i| a[i] / b[i])
    }
    super::operators!(add, mul, div);

    impl F4 {
        /// Four copies of `x`.
        #[inline(always)]
        pub(crate) fn splat(x: f32) -> Self {
            Self([x; 4])
        }
        /// Four f32s from `p`.
        ///
        /// # Safety
        /// `p` must be valid for reading four f32s.
        #[inline(always)]
        pub(crate) unsafe fn load(p: *const f32) -> Self {
            // SAFETY: the caller guarantees four readable f32s.
            Self(unsafe { core::ptr::read_unaligned(p as *const [f32; 4]) })
        }
        /// The four lanes to `p`.
        ///
        /// # Safety
        /// `p` must be valid for writing four f32s.
        #[inline(always)]
        pub(crate) unsafe fn store(self, p: *mut f32) {
            // SAFETY: the caller guarantees four writable f32s.
            unsafe { core::ptr::write_unaligned(p as *mut [f32; 4], self.0) }
        }
        /// `self * b + c`.
        #[inline(always)]
        pub(crate) fn mul_add(self, b: Self, c: Self) -> Self {
            self * b + c
        }
        /// `max(self, lo)` then `min(…, hi)`.
        #[inline(always)]
        pub(crate) fn clamp(self, lo: Self, hi: Self) -> Self {
            Self(core::array::from_fn(|i| {
                self.0[i].max(lo.0[i]).min(hi.0[i])
            }))
        }
        /// Rounds half to even.
        #[inline(always)]
        pub(crate) fn round(self) -> Self {
            Self(self.0.map(f32::round_ties_even))
        }
    }
}
