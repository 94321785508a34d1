//! [`V`] on x86_64 SSE2, the baseline every x86_64 CPU has: the native tests run the kernels' loops
//! through it.

use core::arch::x86_64::*;

use super::{F4, V};

// SAFETY (every intrinsic below): SSE2 is part of the x86_64 baseline; pointer arguments are
// covered by each function's safety contract.
impl V {
    /// All lanes zero.
    #[inline(always)]
    pub(crate) fn zero() -> Self {
        Self(unsafe { _mm_setzero_si128() })
    }
    /// Four copies of `x` (i32 lanes).
    #[inline(always)]
    pub(crate) fn splat_i32(x: i32) -> Self {
        Self(unsafe { _mm_set1_epi32(x) })
    }
    /// Eight copies of `x` (i16 lanes).
    #[inline(always)]
    pub(crate) fn splat_i16(x: i16) -> Self {
        Self(unsafe { _mm_set1_epi16(x) })
    }
    /// 16 bytes from `p`.
    ///
    /// # Safety
    /// `p` must be valid for reading 16 bytes.
    #[inline(always)]
    pub(crate) unsafe fn load(p: *const u8) -> Self {
        Self(unsafe { _mm_loadu_si128(p as *const __m128i) })
    }
    /// 16 bytes to `p`.
    ///
    /// # Safety
    /// `p` must be valid for writing 16 bytes.
    #[inline(always)]
    pub(crate) unsafe fn store(self, p: *mut u8) {
        unsafe { _mm_storeu_si128(p as *mut __m128i, self.0) }
    }
    /// 8 bytes from `p`, zero-extended to i16 lanes.
    ///
    /// # Safety
    /// `p` must be valid for reading 8 bytes.
    #[inline(always)]
    pub(crate) unsafe fn load_u8x8(p: *const u8) -> Self {
        unsafe {
            Self(_mm_unpacklo_epi8(
                _mm_loadl_epi64(p as *const __m128i),
                _mm_setzero_si128(),
            ))
        }
    }
    /// 4 bytes from `p`, zero-extended to i32 lanes.
    ///
    /// # Safety
    /// `p` must be valid for reading 4 bytes.
    #[inline(always)]
    pub(crate) unsafe fn load_u8x4(p: *const u8) -> Self {
        unsafe {
            let v = _mm_cvtsi32_si128(core::ptr::read_unaligned(p as *const i32));
            let z = _mm_setzero_si128();
            Self(_mm_unpacklo_epi16(_mm_unpacklo_epi8(v, z), z))
        }
    }
    /// Two i16 at `p` (one 32-bit value), repeated in all four i32 lanes.
    ///
    /// # Safety
    /// `p` must be valid for reading two i16.
    #[inline(always)]
    pub(crate) unsafe fn load_pair_splat(p: *const i16) -> Self {
        unsafe { Self(_mm_set1_epi32(core::ptr::read_unaligned(p as *const i32))) }
    }
    /// The low 8 bytes to `p`.
    ///
    /// # Safety
    /// `p` must be valid for writing 8 bytes.
    #[inline(always)]
    pub(crate) unsafe fn store_low64(self, p: *mut u8) {
        unsafe { _mm_storel_epi64(p as *mut __m128i, self.0) }
    }
    /// The low 4 bytes to `p`.
    ///
    /// # Safety
    /// `p` must be valid for writing 4 bytes.
    #[inline(always)]
    pub(crate) unsafe fn store_low32(self, p: *mut u8) {
        unsafe { core::ptr::write_unaligned(p as *mut i32, _mm_cvtsi128_si32(self.0)) }
    }
    /// i16 lanes: `self − b`, wrapping.
    #[inline(always)]
    pub(crate) fn sub_i16(self, b: Self) -> Self {
        Self(unsafe { _mm_sub_epi16(self.0, b.0) })
    }
    /// u8 lanes of `self` and `b` interleaved, low halves: `a0 b0 a1 b1 … a7 b7`.
    #[inline(always)]
    pub(crate) fn zip_lo_i8(self, b: Self) -> Self {
        Self(unsafe { _mm_unpacklo_epi8(self.0, b.0) })
    }
    /// 8 bytes from `p` in the low half, zeros above.
    ///
    /// # Safety
    /// `p` must be valid for reading 8 bytes.
    #[inline(always)]
    pub(crate) unsafe fn load_low64(p: *const u8) -> Self {
        Self(unsafe { _mm_loadl_epi64(p as *const __m128i) })
    }
    /// Sixteen copies of `x` (u8 lanes).
    #[inline(always)]
    pub(crate) fn splat_u8(x: u8) -> Self {
        Self(unsafe { _mm_set1_epi8(x as i8) })
    }
    /// The 16 u8 lanes summed in groups of four (i32 lanes): pairs by `pmaddwd` with ones on
    /// the widened halves, then neighbouring pairs added (the native quads product's row sums
    /// spent 6 % of MobileNetV2 in the byte-by-byte form).
    #[inline(always)]
    pub(crate) fn sum_u8_quads(self) -> Self {
        unsafe {
            let (z, ones) = (_mm_setzero_si128(), _mm_set1_epi16(1));
            let lo = _mm_castsi128_ps(_mm_madd_epi16(_mm_unpacklo_epi8(self.0, z), ones));
            let hi = _mm_castsi128_ps(_mm_madd_epi16(_mm_unpackhi_epi8(self.0, z), ones));
            let even = _mm_castps_si128(_mm_shuffle_ps::<0b10_00_10_00>(lo, hi));
            let odd = _mm_castps_si128(_mm_shuffle_ps::<0b11_01_11_01>(lo, hi));
            Self(_mm_add_epi32(even, odd))
        }
    }
    /// i16 lanes of `self` and `b` interleaved, low halves: `a0 b0 a1 b1 a2 b2 a3 b3`.
    #[inline(always)]
    pub(crate) fn zip_lo_i16(self, b: Self) -> Self {
        Self(unsafe { _mm_unpacklo_epi16(self.0, b.0) })
    }
    /// i16 lanes of `self` and `b` interleaved, high halves: `a4 b4 … a7 b7`.
    #[inline(always)]
    pub(crate) fn zip_hi_i16(self, b: Self) -> Self {
        Self(unsafe { _mm_unpackhi_epi16(self.0, b.0) })
    }
    /// i32 lane `j` = `self[2j]·b[2j] + self[2j+1]·b[2j+1]` over i16 lanes.
    #[inline(always)]
    pub(crate) fn dot_i16(self, b: Self) -> Self {
        Self(unsafe { _mm_madd_epi16(self.0, b.0) })
    }
    /// i32 lanes: `self + b`, wrapping.
    #[inline(always)]
    pub(crate) fn add_i32(self, b: Self) -> Self {
        Self(unsafe { _mm_add_epi32(self.0, b.0) })
    }
    /// i32 lanes: `self × b`, wrapping (SSE2 has no 32-bit multiply: two 32×32→64 products).
    #[inline(always)]
    pub(crate) fn mul_i32(self, b: Self) -> Self {
        unsafe {
            let even = _mm_mul_epu32(self.0, b.0);
            let odd = _mm_mul_epu32(_mm_srli_epi64(self.0, 32), _mm_srli_epi64(b.0, 32));
            Self(_mm_unpacklo_epi32(
                _mm_shuffle_epi32(even, 0b00_00_10_00),
                _mm_shuffle_epi32(odd, 0b00_00_10_00),
            ))
        }
    }
    /// i32 lanes shifted right arithmetically by `n`.
    #[inline(always)]
    pub(crate) fn shr_i32(self, n: u32) -> Self {
        Self(unsafe { _mm_sra_epi32(self.0, _mm_cvtsi32_si128(n as i32)) })
    }
    /// i32 lanes to f32 (rounded to nearest even beyond 2^24).
    #[inline(always)]
    pub(crate) fn to_f32(self) -> F4 {
        // SAFETY: F4 wraps an __m128 on this target.
        unsafe { core::mem::transmute::<__m128, F4>(_mm_cvtepi32_ps(self.0)) }
    }
    /// The bits of f32 lanes, as they are.
    #[inline(always)]
    pub(crate) fn bits_of(v: F4) -> Self {
        // SAFETY: F4 wraps an __m128 on this target.
        Self(unsafe { _mm_castps_si128(core::mem::transmute::<F4, __m128>(v)) })
    }
    /// i32 lanes: `self − b`, wrapping.
    #[inline(always)]
    pub(crate) fn sub_i32(self, b: Self) -> Self {
        Self(unsafe { _mm_sub_epi32(self.0, b.0) })
    }
    /// i32 lanes of `self` then `b`, narrowed to i16 with saturation.
    #[inline(always)]
    pub(crate) fn pack_i16(self, b: Self) -> Self {
        Self(unsafe { _mm_packs_epi32(self.0, b.0) })
    }
    /// i16 lanes of `self` then `b`, narrowed to u8 with saturation.
    #[inline(always)]
    pub(crate) fn pack_u8(self, b: Self) -> Self {
        Self(unsafe { _mm_packus_epi16(self.0, b.0) })
    }
}

/// The SSE2 register, for the run-time selected x86-64 kernels that work on wider vectors.
impl V {
    /// The register.
    #[inline(always)]
    pub(crate) fn m128i(self) -> __m128i {
        self.0
    }
    /// A register's lanes.
    #[inline(always)]
    pub(crate) fn from_m128i(v: __m128i) -> Self {
        Self(v)
    }
}
