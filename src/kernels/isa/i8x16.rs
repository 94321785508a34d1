//! 128-bit integer vectors for the int8 kernels: wasm32 simd128, x86_64 SSE2, or plain arrays
//! elsewhere, like [`F4`] for the float kernels. A [`V`] is read as 16 u8, 8 i16 or 4 i32 lanes
//! depending on the operation. Every operation is exact integer arithmetic (or, for the float
//! conversions, one IEEE rounding), so all three implementations give identical results.

use super::F4;

/// 128 bits of integer lanes.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct V(Inner);

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
type Inner = core::arch::wasm32::v128;
#[cfg(target_arch = "x86_64")]
type Inner = core::arch::x86_64::__m128i;
#[cfg(not(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    target_arch = "x86_64"
)))]
type Inner = [u8; 16];

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    use super::{F4, V};

    impl V {
        /// All lanes zero.
        #[inline(always)]
        pub(crate) fn zero() -> Self {
            Self(i32x4_splat(0))
        }
        /// Four copies of `x` (i32 lanes).
        #[inline(always)]
        pub(crate) fn splat_i32(x: i32) -> Self {
            Self(i32x4_splat(x))
        }
        /// Eight copies of `x` (i16 lanes).
        #[inline(always)]
        pub(crate) fn splat_i16(x: i16) -> Self {
            Self(i16x8_splat(x))
        }
        /// 16 bytes from `p`.
        ///
        /// # Safety
        /// `p` must be valid for reading 16 bytes.
        #[inline(always)]
        pub(crate) unsafe fn load(p: *const u8) -> Self {
            // SAFETY: the caller guarantees 16 readable bytes; wasm loads are unaligned.
            Self(unsafe { v128_load(p as *const v128) })
        }
        /// 16 bytes to `p`.
        ///
        /// # Safety
        /// `p` must be valid for writing 16 bytes.
        #[inline(always)]
        pub(crate) unsafe fn store(self, p: *mut u8) {
            // SAFETY: the caller guarantees 16 writable bytes.
            unsafe { v128_store(p as *mut v128, self.0) }
        }
        /// 8 bytes from `p`, zero-extended to i16 lanes.
        ///
        /// # Safety
        /// `p` must be valid for reading 8 bytes.
        #[inline(always)]
        pub(crate) unsafe fn load_u8x8(p: *const u8) -> Self {
            // SAFETY: the caller guarantees 8 readable bytes.
            Self(unsafe { u16x8_load_extend_u8x8(p) })
        }
        /// 4 bytes from `p`, zero-extended to i32 lanes.
        ///
        /// # Safety
        /// `p` must be valid for reading 4 bytes.
        #[inline(always)]
        pub(crate) unsafe fn load_u8x4(p: *const u8) -> Self {
            // SAFETY: the caller guarantees 4 readable bytes.
            let v = unsafe { v128_load32_zero(p as *const u32) };
            Self(u32x4_extend_low_u16x8(u16x8_extend_low_u8x16(v)))
        }
        /// Two i16 at `p` (one 32-bit value), repeated in all four i32 lanes.
        ///
        /// # Safety
        /// `p` must be valid for reading two i16.
        #[inline(always)]
        pub(crate) unsafe fn load_pair_splat(p: *const i16) -> Self {
            // SAFETY: the caller guarantees 4 readable bytes.
            Self(unsafe { v128_load32_splat(p as *const u32) })
        }
        /// The low 8 bytes to `p`.
        ///
        /// # Safety
        /// `p` must be valid for writing 8 bytes.
        #[inline(always)]
        pub(crate) unsafe fn store_low64(self, p: *mut u8) {
            // SAFETY: the caller guarantees 8 writable bytes.
            unsafe { v128_store64_lane::<0>(self.0, p as *mut u64) }
        }
        /// The low 4 bytes to `p`.
        ///
        /// # Safety
        /// `p` must be valid for writing 4 bytes.
        #[inline(always)]
        pub(crate) unsafe fn store_low32(self, p: *mut u8) {
            // SAFETY: the caller guarantees 4 writable bytes.
            unsafe { v128_store32_lane::<0>(self.0, p as *mut u32) }
        }
        /// i16 lanes: `self − b`, wrapping.
        #[inline(always)]
        pub(crate) fn sub_i16(self, b: Self) -> Self {
            Self(i16x8_sub(self.0, b.0))
        }
        /// u8 lanes of `self` and `b` interleaved, low halves: `a0 b0 a1 b1 … a7 b7`.
        #[inline(always)]
        pub(crate) fn zip_lo_i8(self, b: Self) -> Self {
            Self(i8x16_shuffle::<
                0,
                16,
                1,
                17,
                2,
                18,
                3,
                19,
                4,
                20,
                5,
                21,
                6,
                22,
                7,
                23,
            >(self.0, b.0))
        }
        /// 8 bytes from `p` in the low half, zeros above.
        ///
        /// # Safety
        /// `p` must be valid for reading 8 bytes.
        #[inline(always)]
        pub(crate) unsafe fn load_low64(p: *const u8) -> Self {
            // SAFETY: the caller guarantees 8 readable bytes.
            Self(unsafe { v128_load64_zero(p as *const u64) })
        }
        /// Sixteen copies of `x` (u8 lanes).
        #[inline(always)]
        pub(crate) fn splat_u8(x: u8) -> Self {
            Self(u8x16_splat(x))
        }
        /// i16 lanes of `self` and `b` interleaved, low halves: `a0 b0 a1 b1 a2 b2 a3 b3`.
        #[inline(always)]
        pub(crate) fn zip_lo_i16(self, b: Self) -> Self {
            Self(i16x8_shuffle::<0, 8, 1, 9, 2, 10, 3, 11>(self.0, b.0))
        }
        /// i16 lanes of `self` and `b` interleaved, high halves: `a4 b4 … a7 b7`.
        #[inline(always)]
        pub(crate) fn zip_hi_i16(self, b: Self) -> Self {
            Self(i16x8_shuffle::<4, 12, 5, 13, 6, 14, 7, 15>(self.0, b.0))
        }
        /// i32 lane `j` = `self[2j]·b[2j] + self[2j+1]·b[2j+1]` over i16 lanes.
        #[inline(always)]
        pub(crate) fn dot_i16(self, b: Self) -> Self {
            Self(i32x4_dot_i16x8(self.0, b.0))
        }
        /// i32 lanes: `self + b`, wrapping.
        #[inline(always)]
        pub(crate) fn add_i32(self, b: Self) -> Self {
            Self(i32x4_add(self.0, b.0))
        }
        /// i32 lanes: `self × b`, wrapping.
        #[inline(always)]
        pub(crate) fn mul_i32(self, b: Self) -> Self {
            Self(i32x4_mul(self.0, b.0))
        }
        /// i32 lanes shifted right arithmetically by `n`.
        #[inline(always)]
        pub(crate) fn shr_i32(self, n: u32) -> Self {
            Self(i32x4_shr(self.0, n))
        }
        /// i32 lanes to f32 (rounded to nearest even beyond 2^24).
        #[inline(always)]
        pub(crate) fn to_f32(self) -> F4 {
            // SAFETY: F4 wraps the same v128 on this target.
            unsafe { core::mem::transmute::<v128, F4>(f32x4_convert_i32x4(self.0)) }
        }
        /// The bits of f32 lanes, as they are.
        #[inline(always)]
        pub(crate) fn bits_of(v: F4) -> Self {
            // SAFETY: F4 wraps the same v128 on this target.
            Self(unsafe { core::mem::transmute::<F4, v128>(v) })
        }
        /// i32 lanes: `self − b`, wrapping.
        #[inline(always)]
        pub(crate) fn sub_i32(self, b: Self) -> Self {
            Self(i32x4_sub(self.0, b.0))
        }
        /// i8 lanes of `self` (weights, signed) times u8 lanes of `x`, four products summed
        /// per i32 lane, plus `acc`. Exact only where the engine multiplies unsigned by signed
        /// bytes without saturating (see [`Caps`](crate::kernels::caps::Caps)); `x` below 128 is
        /// exact everywhere.
        #[cfg(target_feature = "relaxed-simd")]
        #[inline(always)]
        pub(crate) fn dot4_add(self, x: Self, acc: Self) -> Self {
            Self(i32x4_relaxed_dot_i8x16_i7x16_add(self.0, x.0, acc.0))
        }
        /// [`V::dot4_add`] without relaxed SIMD: exact, from 16-bit products (this build never
        /// runs the kernels that use it for speed).
        #[cfg(not(target_feature = "relaxed-simd"))]
        #[inline(always)]
        pub(crate) fn dot4_add(self, x: Self, acc: Self) -> Self {
            self.dot4_add_exact(x, acc)
        }
        /// The sums of [`V::dot4_add`] from 16-bit products: exact on every engine.
        #[inline(always)]
        pub(crate) fn dot4_add_exact(self, x: Self, acc: Self) -> Self {
            let low = i32x4_dot_i16x8(i16x8_extend_low_i8x16(self.0), u16x8_extend_low_u8x16(x.0));
            let high = i32x4_dot_i16x8(
                i16x8_extend_high_i8x16(self.0),
                u16x8_extend_high_u8x16(x.0),
            );
            let even = i32x4_shuffle::<0, 2, 4, 6>(low, high);
            let odd = i32x4_shuffle::<1, 3, 5, 7>(low, high);
            Self(i32x4_add(i32x4_add(even, odd), acc.0))
        }
        /// Four u8 at `p`, repeated in all four i32 lanes.
        ///
        /// # Safety
        /// `p` must be valid for reading 4 bytes.
        #[inline(always)]
        pub(crate) unsafe fn load_u8x4_splat(p: *const u8) -> Self {
            // SAFETY: the caller guarantees 4 readable bytes.
            Self(unsafe { v128_load32_splat(p as *const u32) })
        }
        /// The 16 u8 lanes summed in groups of four (i32 lanes).
        #[inline(always)]
        pub(crate) fn sum_u8_quads(self) -> Self {
            Self(u32x4_extadd_pairwise_u16x8(u16x8_extadd_pairwise_u8x16(
                self.0,
            )))
        }
        /// The four i32 lanes summed.
        #[inline(always)]
        pub(crate) fn sum_i32(self) -> i32 {
            i32x4_extract_lane::<0>(self.0)
                .wrapping_add(i32x4_extract_lane::<1>(self.0))
                .wrapping_add(i32x4_extract_lane::<2>(self.0))
                .wrapping_add(i32x4_extract_lane::<3>(self.0))
        }
        /// i32 lanes of `self` then `b`, narrowed to i16 with saturation.
        #[inline(always)]
        pub(crate) fn pack_i16(self, b: Self) -> Self {
            Self(i16x8_narrow_i32x4(self.0, b.0))
        }
        /// i16 lanes of `self` then `b`, narrowed to u8 with saturation.
        #[inline(always)]
        pub(crate) fn pack_u8(self, b: Self) -> Self {
            Self(u8x16_narrow_i16x8(self.0, b.0))
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
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
}

#[cfg(not(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    target_arch = "x86_64"
)))]
mod imp {
    use super::{F4, V};

    fn i16s(v: V) -> [i16; 8] {
        core::array::from_fn(|i| i16::from_le_bytes([v.0[2 * i], v.0[2 * i + 1]]))
    }
    fn i32s(v: V) -> [i32; 4] {
        core::array::from_fn(|i| {
            i32::from_le_bytes([v.0[4 * i], v.0[4 * i + 1], v.0[4 * i + 2], v.0[4 * i + 3]])
        })
    }
    fn from_i16s(a: [i16; 8]) -> V {
        V(core::array::from_fn(|i| a[i / 2].to_le_bytes()[i % 2]))
    }
    fn from_i32s(a: [i32; 4]) -> V {
        V(core::array::from_fn(|i| a[i / 4].to_le_bytes()[i % 4]))
    }

    impl V {
        /// All lanes zero.
        #[inline(always)]
        pub(crate) fn zero() -> Self {
            Self([0; 16])
        }
        /// Four copies of `x` (i32 lanes).
        #[inline(always)]
        pub(crate) fn splat_i32(x: i32) -> Self {
            from_i32s([x; 4])
        }
        /// Eight copies of `x` (i16 lanes).
        #[inline(always)]
        pub(crate) fn splat_i16(x: i16) -> Self {
            from_i16s([x; 8])
        }
        /// 16 bytes from `p`.
        ///
        /// # Safety
        /// `p` must be valid for reading 16 bytes.
        #[inline(always)]
        pub(crate) unsafe fn load(p: *const u8) -> Self {
            Self(unsafe { core::ptr::read_unaligned(p as *const [u8; 16]) })
        }
        /// 16 bytes to `p`.
        ///
        /// # Safety
        /// `p` must be valid for writing 16 bytes.
        #[inline(always)]
        pub(crate) unsafe fn store(self, p: *mut u8) {
            unsafe { core::ptr::write_unaligned(p as *mut [u8; 16], self.0) }
        }
        /// 8 bytes from `p`, zero-extended to i16 lanes.
        ///
        /// # Safety
        /// `p` must be valid for reading 8 bytes.
        #[inline(always)]
        pub(crate) unsafe fn load_u8x8(p: *const u8) -> Self {
            let b = unsafe { core::ptr::read_unaligned(p as *const [u8; 8]) };
            from_i16s(b.map(i16::from))
        }
        /// 4 bytes from `p`, zero-extended to i32 lanes.
        ///
        /// # Safety
        /// `p` must be valid for reading 4 bytes.
        #[inline(always)]
        pub(crate) unsafe fn load_u8x4(p: *const u8) -> Self {
            let b = unsafe { core::ptr::read_unaligned(p as *const [u8; 4]) };
            from_i32s(b.map(i32::from))
        }
        /// Two i16 at `p` (one 32-bit value), repeated in all four i32 lanes.
        ///
        /// # Safety
        /// `p` must be valid for reading two i16.
        #[inline(always)]
        pub(crate) unsafe fn load_pair_splat(p: *const i16) -> Self {
            let x = unsafe { core::ptr::read_unaligned(p as *const i32) };
            from_i32s([x; 4])
        }
        /// The low 8 bytes to `p`.
        ///
        /// # Safety
        /// `p` must be valid for writing 8 bytes.
        #[inline(always)]
        pub(crate) unsafe fn store_low64(self, p: *mut u8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(&self.0[..8]);
            unsafe { core::ptr::write_unaligned(p as *mut [u8; 8], b) }
        }
        /// The low 4 bytes to `p`.
        ///
        /// # Safety
        /// `p` must be valid for writing 4 bytes.
        #[inline(always)]
        pub(crate) unsafe fn store_low32(self, p: *mut u8) {
            let mut b = [0u8; 4];
            b.copy_from_slice(&self.0[..4]);
            unsafe { core::ptr::write_unaligned(p as *mut [u8; 4], b) }
        }
        /// i16 lanes: `self − b`, wrapping.
        #[inline(always)]
        pub(crate) fn sub_i16(self, b: Self) -> Self {
            let (x, y) = (i16s(self), i16s(b));
            from_i16s(core::array::from_fn(|i| x[i].wrapping_sub(y[i])))
        }
        /// u8 lanes of `self` and `b` interleaved, low halves: `a0 b0 a1 b1 … a7 b7`.
        #[inline(always)]
        pub(crate) fn zip_lo_i8(self, b: Self) -> Self {
            Self(core::array::from_fn(|i| {
                if i % 2 == 0 {
                    self.0[i / 2]
                } else {
                    b.0[i / 2]
                }
            }))
        }
        /// 8 bytes from `p` in the low half, zeros above.
        ///
        /// # Safety
        /// `p` must be valid for reading 8 bytes.
        #[inline(always)]
        pub(crate) unsafe fn load_low64(p: *const u8) -> Self {
            let b = unsafe { core::ptr::read_unaligned(p as *const [u8; 8]) };
            Self(core::array::from_fn(|i| if i < 8 { b[i] } else { 0 }))
        }
        /// Sixteen copies of `x` (u8 lanes).
        #[inline(always)]
        pub(crate) fn splat_u8(x: u8) -> Self {
            Self([x; 16])
        }
        /// i16 lanes of `self` and `b` interleaved, low halves: `a0 b0 a1 b1 a2 b2 a3 b3`.
        #[inline(always)]
        pub(crate) fn zip_lo_i16(self, b: Self) -> Self {
            let (x, y) = (i16s(self), i16s(b));
            from_i16s(core::array::from_fn(|i| {
                if i % 2 == 0 { x[i / 2] } else { y[i / 2] }
            }))
        }
        /// i16 lanes of `self` and `b` interleaved, high halves: `a4 b4 … a7 b7`.
        #[inline(always)]
        pub(crate) fn zip_hi_i16(self, b: Self) -> Self {
            let (x, y) = (i16s(self), i16s(b));
            from_i16s(core::array::from_fn(|i| {
                if i % 2 == 0 {
                    x[4 + i / 2]
                } else {
                    y[4 + i / 2]
                }
            }))
        }
        /// i32 lane `j` = `self[2j]·b[2j] + self[2j+1]·b[2j+1]` over i16 lanes.
        #[inline(always)]
        pub(crate) fn dot_i16(self, b: Self) -> Self {
            let (x, y) = (i16s(self), i16s(b));
            from_i32s(core::array::from_fn(|j| {
                (x[2 * j] as i32 * y[2 * j] as i32)
                    .wrapping_add(x[2 * j + 1] as i32 * y[2 * j + 1] as i32)
            }))
        }
        /// i32 lanes: `self + b`, wrapping.
        #[inline(always)]
        pub(crate) fn add_i32(self, b: Self) -> Self {
            let (x, y) = (i32s(self), i32s(b));
            from_i32s(core::array::from_fn(|i| x[i].wrapping_add(y[i])))
        }
        /// i32 lanes: `self × b`, wrapping.
        #[inline(always)]
        pub(crate) fn mul_i32(self, b: Self) -> Self {
            let (x, y) = (i32s(self), i32s(b));
            from_i32s(core::array::from_fn(|i| x[i].wrapping_mul(y[i])))
        }
        /// i32 lanes shifted right arithmetically by `n`.
        #[inline(always)]
        pub(crate) fn shr_i32(self, n: u32) -> Self {
            from_i32s(i32s(self).map(|x| x >> n))
        }
        /// i32 lanes to f32 (rounded to nearest even beyond 2^24).
        #[inline(always)]
        pub(crate) fn to_f32(self) -> F4 {
            let v = i32s(self).map(|x| x as f32);
            // SAFETY: `v` holds four f32s.
            unsafe { F4::load(v.as_ptr()) }
        }
        /// The bits of f32 lanes, as they are.
        #[inline(always)]
        pub(crate) fn bits_of(v: F4) -> Self {
            let mut a = [0.0f32; 4];
            // SAFETY: `a` holds four f32s.
            unsafe { v.store(a.as_mut_ptr()) };
            from_i32s(a.map(|x| x.to_bits() as i32))
        }
        /// i32 lanes: `self − b`, wrapping.
        #[inline(always)]
        pub(crate) fn sub_i32(self, b: Self) -> Self {
            let (x, y) = (i32s(self), i32s(b));
            from_i32s(core::array::from_fn(|i| x[i].wrapping_sub(y[i])))
        }
        /// i32 lanes of `self` then `b`, narrowed to i16 with saturation.
        #[inline(always)]
        pub(crate) fn pack_i16(self, b: Self) -> Self {
            let (x, y) = (i32s(self), i32s(b));
            from_i16s(core::array::from_fn(|i| {
                let v = if i < 4 { x[i] } else { y[i - 4] };
                v.clamp(i16::MIN as i32, i16::MAX as i32) as i16
            }))
        }
        /// i16 lanes of `self` then `b`, narrowed to u8 with saturation.
        #[inline(always)]
        pub(crate) fn pack_u8(self, b: Self) -> Self {
            let (x, y) = (i16s(self), i16s(b));
            Self(core::array::from_fn(|i| {
                let v = if i < 8 { x[i] } else { y[i - 8] };
                v.clamp(0, 255) as u8
            }))
        }
    }
}

/// Operations the x86_64 and plain builds do on byte arrays: they serve the native tests of
/// the relaxed-SIMD kernels' arithmetic, not speed.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
impl V {
    fn bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        // SAFETY: 16 writable bytes.
        unsafe { self.store(b.as_mut_ptr()) };
        b
    }
    fn from_bytes(b: [u8; 16]) -> Self {
        // SAFETY: 16 readable bytes.
        unsafe { Self::load(b.as_ptr()) }
    }
    fn from_i32s(a: [i32; 4]) -> Self {
        Self::from_bytes(core::array::from_fn(|i| a[i / 4].to_le_bytes()[i % 4]))
    }
    fn i32s(self) -> [i32; 4] {
        let b = self.bytes();
        core::array::from_fn(|i| {
            i32::from_le_bytes([b[4 * i], b[4 * i + 1], b[4 * i + 2], b[4 * i + 3]])
        })
    }
    /// i8 lanes of `self` (weights, signed) times u8 lanes of `x`, four products summed per
    /// i32 lane, plus `acc`: the exact arithmetic the relaxed-SIMD kernels rely on.
    #[inline(always)]
    pub(crate) fn dot4_add(self, x: Self, acc: Self) -> Self {
        let (w, x, a) = (self.bytes(), x.bytes(), acc.i32s());
        Self::from_i32s(core::array::from_fn(|j| {
            (0..4).fold(a[j], |s, i| {
                s.wrapping_add(w[4 * j + i] as i8 as i32 * x[4 * j + i] as i32)
            })
        }))
    }
    /// The same sums as [`V::dot4_add`] (exact here too).
    #[inline(always)]
    pub(crate) fn dot4_add_exact(self, x: Self, acc: Self) -> Self {
        self.dot4_add(x, acc)
    }
    /// Four u8 at `p`, repeated in all four i32 lanes.
    ///
    /// # Safety
    /// `p` must be valid for reading 4 bytes.
    #[inline(always)]
    pub(crate) unsafe fn load_u8x4_splat(p: *const u8) -> Self {
        let b = unsafe { core::ptr::read_unaligned(p as *const [u8; 4]) };
        Self::from_bytes(core::array::from_fn(|i| b[i % 4]))
    }
    /// The 16 u8 lanes summed in groups of four (i32 lanes).
    #[inline(always)]
    pub(crate) fn sum_u8_quads(self) -> Self {
        let b = self.bytes();
        Self::from_i32s(core::array::from_fn(|j| {
            (0..4).map(|i| b[4 * j + i] as i32).sum()
        }))
    }
    /// The four i32 lanes summed.
    #[inline(always)]
    pub(crate) fn sum_i32(self) -> i32 {
        self.i32s().iter().fold(0i32, |s, &v| s.wrapping_add(v))
    }
}
