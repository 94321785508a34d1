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

#[cfg(not(any(
    all(target_arch = "wasm32", target_feature = "simd128"),
    target_arch = "x86_64"
)))]
mod plain;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm;
#[cfg(target_arch = "x86_64")]
mod x86;

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
    #[cfg(not(target_arch = "x86_64"))]
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
