//! Component planes → RGB rows: libjpeg's upsampling (`jdsample.c`: the "fancy" triangle
//! filters for 2:1 chroma, replication otherwise) and colour conversion (`jdcolor.c`'s
//! fixed-point YCbCr tables), then PIL's CMYK → RGB, so rows match PIL's decode exactly.

use super::fail;
use super::markers::{ColorSpace, Frame};
use crate::error::Result;

/// One component's samples after the inverse DCT: whole blocks, `width` = blocks × 8.
#[derive(Debug)]
pub(super) struct Plane {
    pub width: usize,
    pub data: Vec<u8>,
    /// Rows that hold real samples (the component's downsampled height).
    pub rows: usize,
    /// Columns that hold real samples.
    pub cols: usize,
}

impl Plane {
    fn row(&self, r: usize) -> &[u8] {
        &self.data[r * self.width..(r + 1) * self.width]
    }
}

/// How a component reaches full size (`jinit_upsampler`'s choice).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upsample {
    Full,
    H2V1Fancy,
    H1V2Fancy,
    H2V2Fancy,
    /// Replication by integral factors.
    Replicate {
        h: usize,
        v: usize,
    },
}

fn method(frame: &Frame, c: usize) -> Result<Upsample> {
    let comp = &frame.components[c];
    let (h, v, mh, mv) = (comp.h, comp.v, frame.max_h, frame.max_v);
    let wide = comp.width > 2;
    Ok(if h == mh && v == mv {
        Upsample::Full
    } else if h * 2 == mh && v == mv && wide {
        Upsample::H2V1Fancy
    } else if h == mh && v * 2 == mv {
        Upsample::H1V2Fancy
    } else if h * 2 == mh && v * 2 == mv && wide {
        Upsample::H2V2Fancy
    } else if mh % h == 0 && mv % v == 0 {
        Upsample::Replicate {
            h: mh / h,
            v: mv / v,
        }
    } else {
        return Err(fail(
            "sampling factors that are not integral multiples of each other",
        ));
    })
}

/// The row above (`up`) or below a plane row, repeating the first and last rows at the edges
/// (the context rows of `jdmainct.c`).
fn neighbour(p: &Plane, r: usize, up: bool) -> &[u8] {
    if up {
        p.row(r.saturating_sub(1))
    } else {
        p.row((r + 1).min(p.rows - 1))
    }
}

/// Writes `width` full-size samples of output row `y` of one component into `out`.
fn upsample(m: Upsample, p: &Plane, y: usize, width: usize, out: &mut [u8]) {
    match m {
        Upsample::Full => out[..width].copy_from_slice(&p.row(y)[..width]),
        Upsample::H2V1Fancy => {
            let src = p.row(y);
            let n = p.cols;
            out[0] = src[0];
            out[1] = ((src[0] as u32 * 3 + src[1] as u32 + 2) >> 2) as u8;
            for i in 1..n - 1 {
                let v = src[i] as u32 * 3;
                out[2 * i] = ((v + src[i - 1] as u32 + 1) >> 2) as u8;
                out[2 * i + 1] = ((v + src[i + 1] as u32 + 2) >> 2) as u8;
            }
            let last = src[n - 1] as u32;
            out[2 * n - 2] = ((last * 3 + src[n - 2] as u32 + 1) >> 2) as u8;
            out[2 * n - 1] = last as u8;
        }
        Upsample::H1V2Fancy => {
            let (r, up) = (y / 2, y % 2 == 0);
            let (near, far) = (p.row(r), neighbour(p, r, up));
            let bias = if up { 1 } else { 2 };
            for i in 0..width {
                out[i] = ((near[i] as u32 * 3 + far[i] as u32 + bias) >> 2) as u8;
            }
        }
        Upsample::H2V2Fancy => {
            let (r, up) = (y / 2, y % 2 == 0);
            let (near, far) = (p.row(r), neighbour(p, r, up));
            let n = p.cols;
            let sum = |i: usize| near[i] as u32 * 3 + far[i] as u32;
            let (mut this, mut next) = (sum(0), sum(1));
            out[0] = ((this * 4 + 8) >> 4) as u8;
            out[1] = ((this * 3 + next + 7) >> 4) as u8;
            let mut last = this;
            this = next;
            for i in 1..n - 1 {
                next = sum(i + 1);
                out[2 * i] = ((this * 3 + last + 8) >> 4) as u8;
                out[2 * i + 1] = ((this * 3 + next + 7) >> 4) as u8;
                (last, this) = (this, next);
            }
            out[2 * n - 2] = ((this * 3 + last + 8) >> 4) as u8;
            out[2 * n - 1] = ((this * 4 + 7) >> 4) as u8;
        }
        Upsample::Replicate { h, v } => {
            let src = p.row(y / v);
            for (i, o) in out[..width].iter_mut().enumerate() {
                *o = src[i / h];
            }
        }
    }
}

/// `jdcolor.c`'s YCbCr → RGB tables (16 fractional bits).
struct YccTables {
    cr_r: [i32; 256],
    cb_b: [i32; 256],
    cr_g: [i32; 256],
    cb_g: [i32; 256],
}

impl YccTables {
    fn new() -> Self {
        const SCALEBITS: u32 = 16;
        const ONE_HALF: i64 = 1 << (SCALEBITS - 1);
        let fix = |x: f64| (x * (1u64 << SCALEBITS) as f64 + 0.5) as i64;
        let mut t = Self {
            cr_r: [0; 256],
            cb_b: [0; 256],
            cr_g: [0; 256],
            cb_g: [0; 256],
        };
        for i in 0..256 {
            let x = i as i64 - 128;
            t.cr_r[i] = ((fix(1.40200) * x + ONE_HALF) >> SCALEBITS) as i32;
            t.cb_b[i] = ((fix(1.77200) * x + ONE_HALF) >> SCALEBITS) as i32;
            t.cr_g[i] = (-fix(0.71414) * x) as i32;
            t.cb_g[i] = (-fix(0.34414) * x + ONE_HALF) as i32;
        }
        t
    }

    /// (R, G, B) before clamping, from Y, Cb, Cr.
    #[inline(always)]
    fn rgb(&self, y: u8, cb: u8, cr: u8) -> [i32; 3] {
        let (y, cb, cr) = (y as i32, cb as usize, cr as usize);
        [
            y + self.cr_r[cr],
            y + ((self.cb_g[cb] + self.cr_g[cr]) >> 16),
            y + self.cb_b[cb],
        ]
    }
}

fn clamp8(v: i32) -> u8 {
    v.clamp(0, 255) as u8
}

/// PIL's CMYK → RGB for the inverted ("CMYK;I", Adobe) samples libjpeg hands it.
fn cmyk_rgb(c: u8, m: u8, y: u8, k: u8) -> [u8; 3] {
    // PIL inverts each sample, then: out = nk − nk·ink/255 with nk = 255 − K.
    let nk = k as i32;
    let muldiv255 = |a: i32| {
        let t = a * nk + 128;
        ((t >> 8) + t) >> 8
    };
    [c, m, y].map(|v| clamp8(nk - muldiv255(255 - v as i32)))
}

/// Calls `sink` with each RGB row (`width × 3` bytes), top to bottom.
pub(super) fn rows(
    frame: &Frame,
    planes: &[Plane],
    space: ColorSpace,
    mut sink: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let width = frame.width;
    let methods: Vec<Upsample> = (0..planes.len())
        .map(|c| method(frame, c))
        .collect::<Result<_>>()?;
    // Fancy 2:1 upsampling writes two samples per input column.
    let span = planes
        .iter()
        .map(|p| p.width * frame.max_h)
        .max()
        .unwrap_or(0)
        .max(width);
    let mut comps: Vec<Vec<u8>> = planes.iter().map(|_| vec![0u8; span]).collect();
    let mut rgb = vec![0u8; width * 3];
    let tables = matches!(space, ColorSpace::YCbCr | ColorSpace::Ycck).then(YccTables::new);
    for y in 0..frame.height {
        for ((m, p), out) in methods.iter().zip(planes).zip(&mut comps) {
            upsample(*m, p, y, width, out);
        }
        match space {
            ColorSpace::Gray => {
                for (px, &g) in rgb.chunks_exact_mut(3).zip(&comps[0][..width]) {
                    px.fill(g);
                }
            }
            ColorSpace::Rgb => {
                for (x, px) in rgb.chunks_exact_mut(3).enumerate() {
                    px.copy_from_slice(&[comps[0][x], comps[1][x], comps[2][x]]);
                }
            }
            ColorSpace::YCbCr => {
                let t = tables.as_ref().expect("tables for YCbCr");
                for (x, px) in rgb.chunks_exact_mut(3).enumerate() {
                    let v = t.rgb(comps[0][x], comps[1][x], comps[2][x]);
                    px.copy_from_slice(&v.map(clamp8));
                }
            }
            ColorSpace::Cmyk => {
                for (x, px) in rgb.chunks_exact_mut(3).enumerate() {
                    let v = cmyk_rgb(comps[0][x], comps[1][x], comps[2][x], comps[3][x]);
                    px.copy_from_slice(&v);
                }
            }
            ColorSpace::Ycck => {
                let t = tables.as_ref().expect("tables for YCCK");
                for (x, px) in rgb.chunks_exact_mut(3).enumerate() {
                    let [c, m, yy] = t
                        .rgb(comps[0][x], comps[1][x], comps[2][x])
                        .map(|v| clamp8(255 - v));
                    px.copy_from_slice(&cmyk_rgb(c, m, yy, comps[3][x]));
                }
            }
        }
        sink(&rgb)?;
    }
    Ok(())
}
