//! [`V`] on plain byte arrays, for targets with neither.

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
