//! [`V`] on wasm32 simd128 (the relaxed dot product where the build enables relaxed SIMD).

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
