//! The inverse DCT of libjpeg's `jidctint.c` (`jpeg_idct_islow`, its default and the one
//! PIL decodes with): integer arithmetic with 13 fractional bits and 2 extra bits between the
//! column and row passes, so the samples match libjpeg-turbo's byte for byte.

const CONST_BITS: u32 = 13;
const PASS1_BITS: u32 = 2;
const FIX_0_298631336: i64 = 2446;
const FIX_0_390180644: i64 = 3196;
const FIX_0_541196100: i64 = 4433;
const FIX_0_765366865: i64 = 6270;
const FIX_0_899976223: i64 = 7373;
const FIX_1_175875602: i64 = 9633;
const FIX_1_501321110: i64 = 12299;
const FIX_1_847759065: i64 = 15137;
const FIX_1_961570560: i64 = 16069;
const FIX_2_053119869: i64 = 16819;
const FIX_2_562915447: i64 = 20995;
const FIX_3_072711026: i64 = 25172;

#[inline(always)]
fn descale(x: i64, n: u32) -> i64 {
    (x + (1 << (n - 1))) >> n
}

/// A sample from the row pass, centred on 128 and clamped to a byte. (libjpeg's C code wraps
/// values beyond ±512 through a table; its SIMD code, which PIL runs on x86 and ARM, saturates:
/// the two agree on every value a valid file produces.)
#[inline(always)]
fn sample(x: i64) -> u8 {
    (x + 128).clamp(0, 255) as u8
}

/// One 1-D pass over 8 values: the even and odd parts of the 8-point IDCT, returning the
/// outputs before descaling.
#[inline(always)]
fn butterfly(v: [i64; 8], dc_shift: u32) -> [i64; 8] {
    let (z2, z3) = (v[2], v[6]);
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 - z3 * FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    let tmp0 = (v[0] + v[4]) << dc_shift;
    let tmp1 = (v[0] - v[4]) << dc_shift;
    let (tmp10, tmp13, tmp11, tmp12) = (tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2);

    let (t0, t1, t2, t3) = (v[7], v[5], v[3], v[1]);
    let (z1, z2, z3, z4) = (t0 + t3, t1 + t2, t0 + t2, t1 + t3);
    let z5 = (z3 + z4) * FIX_1_175875602;
    let (t0, t1, t2, t3) = (
        t0 * FIX_0_298631336,
        t1 * FIX_2_053119869,
        t2 * FIX_3_072711026,
        t3 * FIX_1_501321110,
    );
    let (z1, z2) = (-z1 * FIX_0_899976223, -z2 * FIX_2_562915447);
    let z3 = -z3 * FIX_1_961570560 + z5;
    let z4 = -z4 * FIX_0_390180644 + z5;
    let (t0, t1, t2, t3) = (t0 + z1 + z3, t1 + z2 + z4, t2 + z2 + z3, t3 + z1 + z4);
    [
        tmp10 + t3,
        tmp11 + t2,
        tmp12 + t1,
        tmp13 + t0,
        tmp13 - t0,
        tmp12 - t1,
        tmp11 - t2,
        tmp10 - t3,
    ]
}

/// Dequantizes and inverse-transforms one block of natural-order coefficients into 8 rows of
/// 8 samples at `out[row * stride..]`. `quant` holds the table as libjpeg's SIMD builds keep it
/// (16-bit signed multipliers).
pub(super) fn islow(coef: &[i16; 64], quant: &[i16; 64], out: &mut [u8], stride: usize) {
    let mut ws = [0i64; 64];
    // Pass 1: columns, results scaled up by 2^PASS1_BITS.
    for c in 0..8 {
        let q = |r: usize| coef[r * 8 + c] as i64 * quant[r * 8 + c] as i64;
        if (1..8).all(|r| coef[r * 8 + c] == 0) {
            let dc = q(0) << PASS1_BITS;
            for r in 0..8 {
                ws[r * 8 + c] = dc;
            }
            continue;
        }
        let v = butterfly(std::array::from_fn(q), CONST_BITS);
        for r in 0..8 {
            ws[r * 8 + c] = descale(v[r], CONST_BITS - PASS1_BITS);
        }
    }
    // Pass 2: rows, descaled by 8 and by the pass-1 scaling.
    for r in 0..8 {
        let row = &ws[r * 8..r * 8 + 8];
        let dst = &mut out[r * stride..r * stride + 8];
        if row[1..].iter().all(|&v| v == 0) {
            dst.fill(sample(descale(row[0], PASS1_BITS + 3)));
            continue;
        }
        let v = butterfly(row.try_into().expect("8 values"), CONST_BITS);
        for (d, &x) in dst.iter_mut().zip(&v) {
            *d = sample(descale(x, CONST_BITS + PASS1_BITS + 3));
        }
    }
}

/// One block at `1/scale` of its size (`scale` 2, 4 or 8): `8/scale` rows of `8/scale` samples,
/// each the rounded mean of the `scale × scale` samples [`islow`] gives (what a reduced-size
/// decode needs: the averaging keeps what the resize to the model's input would keep).
pub(super) fn scaled(
    coef: &[i16; 64],
    quant: &[i16; 64],
    scale: usize,
    out: &mut [u8],
    stride: usize,
) {
    let n = 8 / scale;
    let mut full = [0u8; 64];
    if scale == 8 || coef[1..].iter().all(|&v| v == 0) {
        // 1/8: the DC term alone, as libjpeg's 1×1 IDCT; a block without AC terms is flat.
        islow(&dc_only(coef), quant, &mut full, 8);
        for r in 0..n {
            out[r * stride..r * stride + n].fill(full[0]);
        }
        return;
    }
    islow(coef, quant, &mut full, 8);
    let half = (scale * scale / 2) as u32;
    for r in 0..n {
        for c in 0..n {
            let mut sum = 0u32;
            for y in r * scale..(r + 1) * scale {
                for x in c * scale..(c + 1) * scale {
                    sum += full[y * 8 + x] as u32;
                }
            }
            out[r * stride + c] = ((sum + half) / (scale * scale) as u32) as u8;
        }
    }
}

fn dc_only(coef: &[i16; 64]) -> [i16; 64] {
    let mut dc = [0i16; 64];
    dc[0] = coef[0];
    dc
}
