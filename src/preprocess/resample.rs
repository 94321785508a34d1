//! PIL's bilinear resampling (`Resample.c`), reproduced to the byte: coefficients computed in
//! doubles and rounded to 22 fractional bits, a horizontal pass rounded to bytes, then a
//! vertical pass. Only the pixels inside the centre crop are computed: each output pixel
//! depends on its own coefficients alone, so this equals resizing the whole image and cropping,
//! without the intermediate image (a 12 MP photo's was 3 MB at 224, a panorama's far more).

const PRECISION_BITS: u32 = 32 - 8 - 2;

/// The input span and fixed-point weights of each output pixel along one axis.
#[derive(Debug)]
struct Axis {
    /// First input index of each output pixel.
    start: Vec<usize>,
    /// Weights per output pixel, `ksize` each (zero-padded).
    weights: Vec<i32>,
    ksize: usize,
    /// Number of inputs each output uses.
    len: Vec<usize>,
}

/// `precompute_coeffs` + `normalize_coeffs_8bpc` for outputs `first..first + count` of a
/// resize from `in_size` to `out_size`.
fn axis(in_size: usize, out_size: usize, first: usize, count: usize) -> Axis {
    // PIL passes the box edges as floats: (in1 - in0) is the float input size.
    let scale = (in_size as f32) as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = filterscale; // bilinear's support is 1
    let ksize = support.ceil() as usize * 2 + 1;
    let inv = 1.0 / filterscale;
    let mut a = Axis {
        start: Vec::with_capacity(count),
        weights: vec![0; count * ksize],
        ksize,
        len: Vec::with_capacity(count),
    };
    let mut k = vec![0f64; ksize];
    for (i, xx) in (first..first + count).enumerate() {
        let center = (xx as f64 + 0.5) * scale;
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
        let n = xmax.saturating_sub(xmin);
        let mut ww = 0.0;
        for (x, kx) in k[..n].iter_mut().enumerate() {
            let t = (((x + xmin) as f64 - center + 0.5) * inv).abs();
            *kx = if t < 1.0 { 1.0 - t } else { 0.0 };
            ww += *kx;
        }
        let out = &mut a.weights[i * ksize..(i + 1) * ksize];
        for (o, &kx) in out.iter_mut().zip(&k[..n]) {
            let v = if ww != 0.0 { kx / ww } else { kx };
            let f = v * (1u32 << PRECISION_BITS) as f64;
            *o = if v < 0.0 {
                (-0.5 + f) as i32
            } else {
                (0.5 + f) as i32
            };
        }
        a.start.push(xmin);
        a.len.push(n);
    }
    a
}

#[inline(always)]
fn clip8(ss: i32) -> u8 {
    (ss >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Input pixels `from..to` along one axis that outputs of `axis` read.
fn span(a: &Axis) -> (usize, usize) {
    let last = a.start.len() - 1;
    (a.start[0], a.start[last] + a.len[last])
}

/// RGB pixels addressed by image coordinates: pixel (x, y) is at
/// `data[((y − y0) · stride + x − x0) · 3]`.
struct View<'a> {
    data: std::borrow::Cow<'a, [u8]>,
    stride: usize,
    x0: usize,
    y0: usize,
}

impl View<'_> {
    #[inline(always)]
    fn at(&self, x: usize, y: usize) -> usize {
        ((y - self.y0) * self.stride + x - self.x0) * 3
    }
}

/// Horizontal pass over rows `y0..y1`: the outputs of `a` (output columns `first..`).
fn horizontal<'a>(src: &View<'_>, (y0, y1): (usize, usize), a: &Axis, first: usize) -> View<'a> {
    let n = a.start.len();
    let mut out = vec![0u8; (y1 - y0) * n * 3];
    for (r, y) in (y0..y1).enumerate() {
        let dst = &mut out[r * n * 3..(r + 1) * n * 3];
        for i in 0..n {
            let k = &a.weights[i * a.ksize..i * a.ksize + a.len[i]];
            let s = &src.data[src.at(a.start[i], y)..];
            let mut ss = [1i32 << (PRECISION_BITS - 1); 3];
            for (x, &w) in k.iter().enumerate() {
                for c in 0..3 {
                    ss[c] += s[x * 3 + c] as i32 * w;
                }
            }
            dst[i * 3..i * 3 + 3].copy_from_slice(&ss.map(clip8));
        }
    }
    View {
        data: out.into(),
        stride: n,
        x0: first,
        y0,
    }
}

/// Vertical pass over columns `x0..x1`: the outputs of `a` (output rows `first..`).
fn vertical<'a>(src: &View<'_>, (x0, x1): (usize, usize), a: &Axis, first: usize) -> View<'a> {
    let width = x1 - x0;
    let n = a.start.len();
    let mut out = vec![0u8; n * width * 3];
    let row = src.stride * 3;
    for i in 0..n {
        let k = &a.weights[i * a.ksize..i * a.ksize + a.len[i]];
        let base = src.at(x0, a.start[i]);
        let dst = &mut out[i * width * 3..(i + 1) * width * 3];
        for (j, d) in dst.iter_mut().enumerate() {
            let mut ss = 1i32 << (PRECISION_BITS - 1);
            for (y, &w) in k.iter().enumerate() {
                ss += src.data[base + y * row + j] as i32 * w;
            }
            *d = clip8(ss);
        }
    }
    View {
        data: out.into(),
        stride: width,
        x0,
        y0: first,
    }
}

/// Columns `x0..x0 + size` of rows `y0..y0 + size`.
fn crop(v: &View<'_>, x0: usize, y0: usize, size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size * size * 3);
    for y in y0..y0 + size {
        let at = v.at(x0, y);
        out.extend_from_slice(&v.data[at..at + size * 3]);
    }
    out
}

/// The `size × size` window at (`left`, `top`) of `rgb` (`width × height` RGB) resized to
/// `out_w × out_h`.
pub(super) fn resize_window(
    rgb: &[u8],
    width: usize,
    height: usize,
    (out_w, out_h): (usize, usize),
    (left, top): (usize, usize),
    size: usize,
) -> Vec<u8> {
    let (need_h, need_v) = (out_w != width, out_h != height);
    let hor = axis(width, out_w, left, size);
    let vert = axis(height, out_h, top, size);
    let cols = if need_h {
        span(&hor)
    } else {
        (left, left + size)
    };
    let rows = if need_v {
        span(&vert)
    } else {
        (top, top + size)
    };
    let src = View {
        data: rgb.into(),
        stride: width,
        x0: 0,
        y0: 0,
    };
    // Pillow 13 resizes vertically first when it shrinks the height by more than twice what
    // it takes off the width (found by comparing both orders with its output on 586 random
    // sizes and the golden photos; each order rounds its intermediate to bytes, so the two
    // differ by ±1 in places).
    let vertical_first = need_h
        && need_v
        && out_h < height
        && 2 * (width as i64 - out_w as i64) < height as i64 - out_h as i64;
    let out = match (need_h, need_v) {
        (false, false) => return crop(&src, left, top, size),
        (true, false) => horizontal(&src, (top, top + size), &hor, left),
        (false, true) => vertical(&src, (left, left + size), &vert, top),
        (true, true) if vertical_first => {
            let tmp = vertical(&src, cols, &vert, top);
            horizontal(&tmp, (top, top + size), &hor, left)
        }
        (true, true) => {
            let tmp = horizontal(&src, rows, &hor, left);
            vertical(&tmp, (left, left + size), &vert, top)
        }
    };
    out.data.into_owned()
}
