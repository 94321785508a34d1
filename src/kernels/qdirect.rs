//! Integer full k×k convolution (the stem): the input's patches gathered into i16 rows (zero
//! point removed, zeros where the window leaves the image), then the [`qgemm`] product.

use super::depthwise::Window;
use super::qgemm::{QGemm, QOut, qgemm};

/// The patches of `x` (`[h, w, cin]` quanta) as `[oh·ow, 2·⌈k·k·cin/2⌉]` i16.
pub fn patches(g: &Window, cin: usize, x: &[u8], zero_point: i32) -> Vec<i16> {
    assert!(x.len() >= g.h * g.w * cin, "patches: input too short");
    let depth = g.k * g.k * cin;
    let row = 2 * depth.div_ceil(2);
    let mut out = vec![0i16; g.oh * g.ow * row];
    for oy in 0..g.oh {
        let (iy0, ky0, ky1) = g.taps(oy, g.pad_top, g.h);
        for ox in 0..g.ow {
            let (ix0, kx0, kx1) = g.taps(ox, g.pad_left, g.w);
            let patch = &mut out[(oy * g.ow + ox) * row..][..depth];
            for ky in ky0..ky1 {
                let iy = (iy0 + ky as isize) as usize;
                let ix = (ix0 + kx0 as isize) as usize;
                let src = &x[(iy * g.w + ix) * cin..][..(kx1 - kx0) * cin];
                let dst = &mut patch[(ky * g.k + kx0) * cin..][..src.len()];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = s as i16 - zero_point as i16;
                }
            }
        }
    }
    out
}

/// Runs the convolution over one image: `x` `[h, w, cin]`, `w` packed as a `[k·k·cin, cout]`
/// product ([`super::qgemm::pack_weights`]); the output as [`qgemm`] writes it.
#[allow(clippy::too_many_arguments)]
pub fn qdirect(
    g: Window,
    cin: usize,
    cout: usize,
    x: &[u8],
    w: &[i16],
    bias: &[i32],
    zero_point: i32,
    out: QOut<'_>,
) {
    let p = patches(&g, cin, x, zero_point);
    let s = QGemm {
        p: g.oh * g.ow,
        k: g.k * g.k * cin,
        n: cout,
    };
    qgemm(s, &p, w, bias, out);
}
