//! The float product: `out[p][n] = epilogue(bias[n] + Σ_k x[p][k] · w[k][n]) (+ res[p][n])`.
//! Weights come packed in panels of 8 output channels (`[⌈n/8⌉][k][8]`, [`pack`]), so a tile
//! reads its weights front to back; the epilogue (bias, clamp, activation, residual add) runs
//! while the sums are in registers.

use core::mem::MaybeUninit;

use super::{Gemm, Micro, PANEL, Store, drive};
use crate::kernels::epilogue::VectorEpilogue;
use crate::kernels::isa::F4;
use crate::spec::{Conv, Epilogue};

/// Shape of one-group weights packed for [`gemm_f32`]: the `[k·k·in, out]` HWIO matrix cut into
/// panels of [`PANEL`] output channels, `[⌈out / 8⌉, 1, k·k·in, 8]` (the last padded with zeros).
pub(crate) fn packed_shape(conv: &Conv) -> [usize; 4] {
    let depth = conv.kernel * conv.kernel * conv.in_channels;
    [conv.out_channels.div_ceil(PANEL), 1, depth, PANEL]
}

/// HWIO weights of a one-group convolution → [`packed_shape`], once, when the model is built.
pub(crate) fn pack(conv: &Conv, hwio: &[f32]) -> Vec<f32> {
    let n = conv.out_channels;
    let [panels, _, depth, _] = packed_shape(conv);
    let mut packed = vec![0.0; panels * depth * PANEL];
    for (d, row) in hwio.chunks_exact(n.max(1)).take(depth).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            packed[((c / PANEL) * depth + d) * PANEL + c % PANEL] = v;
        }
    }
    packed
}

/// Runs the product: `x` `[p, k]`, `w` packed ([`pack`]), `bias` `[n]`, `res` and `out`
/// `[p, n]`; every element of `out[..p · n]` is written.
pub(crate) fn gemm_f32(
    s: Gemm,
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    res: Option<&[f32]>,
    e: &Epilogue,
    out: &mut [MaybeUninit<f32>],
) {
    let Gemm { p, k, n } = s;
    assert!(
        x.len() >= p * k && w.len() >= s.panels() * k * PANEL && bias.len() >= n,
        "gemm: inputs too short"
    );
    assert!(
        out.len() >= p * n && res.is_none_or(|r| r.len() >= p * n),
        "gemm: outputs too short"
    );
    let store = F32Store::new(s, bias, res, e, out);
    let micro = Gemm_f32_4x8_v128 { x, k, w };
    drive(&micro, &store, p, n, 4 * k, 4 * PANEL * k);
}

/// 4 (or fewer) pixels × 8 channels of f32 on 128-bit vectors: each weight pair of vectors
/// meets a splat of every row's input.
#[allow(non_camel_case_types)]
struct Gemm_f32_4x8_v128<'a> {
    x: &'a [f32],
    k: usize,
    w: &'a [f32],
}

impl Micro for Gemm_f32_4x8_v128<'_> {
    type Acc = F4;

    #[inline(always)]
    unsafe fn tile<const R: usize>(&self, row: usize, panel: usize, init: [F4; 2]) -> [[F4; 2]; R] {
        let k = self.k;
        // SAFETY: R rows of k floats from `row`; the panel holds k × 8 weights.
        unsafe {
            let x = self.x.as_ptr().add(row * k);
            let mut w = self.w.as_ptr().add(panel * k * PANEL);
            let mut acc = [init; R];
            for kk in 0..k {
                let w0 = F4::load(w);
                let w1 = F4::load(w.add(4));
                for (r, a) in acc.iter_mut().enumerate() {
                    let v = F4::splat(*x.add(r * k + kk));
                    a[0] = v.mul_add(w0, a[0]);
                    a[1] = v.mul_add(w1, a[1]);
                }
                w = w.add(PANEL);
            }
            acc
        }
    }
}

/// Bias in, epilogue and residual out.
struct F32Store<'a> {
    ev: VectorEpilogue,
    /// Biases padded to whole panels.
    bias: Vec<f32>,
    res: *const f32,
    out: *mut f32,
    n: usize,
    _out: core::marker::PhantomData<&'a mut [f32]>,
}

impl<'a> F32Store<'a> {
    fn new(
        s: Gemm,
        bias: &[f32],
        res: Option<&'a [f32]>,
        e: &Epilogue,
        out: &'a mut [MaybeUninit<f32>],
    ) -> Self {
        let mut padded = vec![0.0; s.panels() * PANEL];
        padded[..s.n].copy_from_slice(&bias[..s.n]);
        Self {
            ev: VectorEpilogue::new(e),
            bias: padded,
            res: res.map_or(core::ptr::null(), <[f32]>::as_ptr),
            out: out.as_mut_ptr() as *mut f32,
            n: s.n,
            _out: core::marker::PhantomData,
        }
    }
}

// SAFETY: each thread of a split product stores only the rows of its strip (`drive`); the
// residual is only read.
unsafe impl Sync for F32Store<'_> {}

impl Store for F32Store<'_> {
    type Acc = F4;

    #[inline(always)]
    unsafe fn init(&self, panel: usize) -> [F4; 2] {
        // SAFETY: the biases are padded to whole panels.
        unsafe {
            let b = self.bias.as_ptr().add(panel * PANEL);
            [F4::load(b), F4::load(b.add(4))]
        }
    }

    #[inline(always)]
    unsafe fn store<const R: usize>(&self, acc: &[[F4; 2]; R], row: usize, panel: usize) {
        let n0 = panel * PANEL;
        let width = PANEL.min(self.n - n0);
        // SAFETY: rows row..row + R < p of out / res (n apart), channels n0..n0 + width ≤ n.
        unsafe {
            for (r, a) in acc.iter().enumerate() {
                let o = (row + r) * self.n + n0;
                let v = [self.ev.apply(a[0]), self.ev.apply(a[1])];
                if width == PANEL {
                    for (j, mut v) in v.into_iter().enumerate() {
                        if !self.res.is_null() {
                            v = v + F4::load(self.res.add(o + 4 * j));
                        }
                        v.store(self.out.add(o + 4 * j));
                    }
                } else {
                    // The last panel of an output count that is not a multiple of 8.
                    let mut lanes = [0.0f32; PANEL];
                    v[0].store(lanes.as_mut_ptr());
                    v[1].store(lanes.as_mut_ptr().add(4));
                    for (c, &l) in lanes[..width].iter().enumerate() {
                        *self.out.add(o + c) = if self.res.is_null() {
                            l
                        } else {
                            l + *self.res.add(o + c)
                        };
                    }
                }
            }
        }
    }
}
