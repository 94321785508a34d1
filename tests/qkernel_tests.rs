//! The int8 kernels against burn's ops (`qconv2d_reference`: the convolution in f64, then the
//! requantization as burn ops): every kernel (1×1 product, depthwise, full k×k) in both weight
//! layouts (pairs of 16-bit products; quads for the relaxed dot product, with shifted columns),
//! odd sizes and channel counts that reach every tail, output ranges, residual additions,
//! batches, logits. Integer arithmetic: the two must agree bit for bit.

mod common;

use std::mem::MaybeUninit;

use burn::tensor::{DType, Device, Int, IntDType, Tensor, TensorData};
use common::Case;
use mobilenet_wasm::kernels::Requant;
use mobilenet_wasm::kernels::qgemm::{QGemm, QOut, pack_quads, qgemm_quads_with};
use mobilenet_wasm::kernels::quantized::{
    Layout, qconv2d, qconv2d_real, qconv2d_real_reference, qconv2d_reference, qpack, qunpack,
};
use mobilenet_wasm::model::{AddQuant, AddRequant, QParams};

/// Deterministic pseudo-random integers in `lo..=hi`.
fn ints(n: usize, seed: u32, lo: i32, hi: i32) -> Vec<i32> {
    let mut s = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            lo + (s % (hi - lo + 1) as u32) as i32
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let (pw, dw, full) = (Case::pointwise, Case::depthwise, Case::full);
    vec![
        pw(1, 7, 7, 96, 24),
        pw(1, 5, 3, 17, 13),
        pw(2, 4, 4, 8, 8),
        pw(1, 1, 1, 1280, 1001),
        pw(1, 3, 1, 1, 3),
        pw(1, 6, 6, 33, 40),
        dw(7, 7, 32, 3, 1),
        dw(8, 8, 16, 3, 2),
        dw(5, 6, 12, 3, 2),
        dw(3, 5, 7, 3, 1),
        dw(1, 1, 8, 3, 1),
        dw(2, 3, 20, 3, 2),
        dw(9, 9, 24, 5, 1),
        dw(10, 7, 13, 5, 2),
        dw(6, 6, 8, 7, 1),
        dw(4, 4, 8, 1, 1),
        full(9, 9, 3, 16, 3, 2),
        full(8, 8, 3, 32, 3, 2),
        full(5, 7, 2, 9, 3, 1),
        full(6, 6, 4, 5, 5, 2),
    ]
}

struct Built {
    x: Tensor<4, Int>,
    packed: Tensor<4, Int>,
    packed_bias: Tensor<1, Int>,
    hwio: Tensor<4, Int>,
    bias: Tensor<1, Int>,
    multiplier: Tensor<1>,
}

/// Weights in −255..=255 (uint8 weights less their zero point) for even seeds, in −127..=127
/// (int8 weights) for odd ones: quads store the first shifted, the second as they are.
fn build(case: Case, seed: u32, zx: i32, layout: Layout, device: &Device) -> Built {
    let Case { n, h, w, conv } = case;
    let (cin, cout) = (conv.in_channels, conv.out_channels);
    let x: Vec<u8> = ints(n * h * w * cin, seed, 0, 255)
        .into_iter()
        .map(|v| v as u8)
        .collect();
    let wshape = conv.hwio_shape();
    // A uint8 weight less its zero point spans 255 steps somewhere in −255..=255.
    let offset = ints(1, seed + 9, 0, 255)[0];
    let (lo, hi) = if seed % 2 == 0 {
        (-offset, 255 - offset)
    } else {
        (-127, 127)
    };
    let hwio: Vec<i16> = ints(wshape.iter().product(), seed + 1, lo, hi)
        .into_iter()
        .map(|v| v as i16)
        .collect();
    let bias = ints(cout, seed + 2, -30_000, 30_000);
    // Multipliers that put most outputs inside the 8-bit range, some outside (saturation).
    let depth = (wshape[0] * wshape[1] * wshape[2]) as f32;
    let multiplier: Vec<f32> = ints(cout, seed + 3, 1, 100)
        .into_iter()
        .map(|v| v as f32 / (200.0 * depth.sqrt() * 128.0))
        .collect();
    let t4 = |d: TensorData, dtype| Tensor::<4, Int>::from_data(d, (device, dtype));
    let t1 = |d: TensorData| Tensor::<1, Int>::from_data(d, (device, DType::I32));
    let packed = qpack(&conv, &hwio, &bias, zx, layout);
    // One-group weights always fit quads; a depthwise channel may need a shift no i8 holds.
    if conv.groups == 1 {
        assert_eq!(packed.layout, layout, "{case:?}");
    }
    let dtype = if packed.layout == Layout::Quads {
        DType::I8
    } else {
        DType::I16
    };
    Built {
        x: t4(TensorData::new(x, [n, h, w, cin]), DType::U8),
        packed: t4(packed.weight, dtype),
        packed_bias: t1(packed.bias),
        hwio: t4(TensorData::new(hwio, wshape), DType::I16),
        bias: t1(TensorData::new(bias, [cout])),
        multiplier: Tensor::<1>::from_data(TensorData::new(multiplier, [cout]), device),
    }
}

const LAYOUTS: [Layout; 2] = [Layout::Pairs, Layout::Quads];

fn bytes(t: Tensor<4, Int>) -> Vec<u8> {
    t.into_data().try_into_vec::<u8>().unwrap()
}

fn int32s<const D: usize>(t: Tensor<D, Int>) -> Vec<i32> {
    t.cast(IntDType::I32)
        .into_data()
        .try_into_vec::<i32>()
        .unwrap()
}

#[test]
fn unpack_inverts_pack() {
    let device = Device::flex();
    for layout in LAYOUTS {
        for (i, case) in cases().into_iter().enumerate() {
            let zx = 100 + i as i32;
            let b = build(case, i as u32, zx, layout, &device);
            let (w, bias) = qunpack(&case.conv, b.packed, b.packed_bias, zx);
            assert_eq!(int32s(w), int32s(b.hwio), "{layout:?} {case:?}");
            assert_eq!(int32s(bias), int32s(b.bias), "{layout:?} {case:?}");
        }
    }
}

#[test]
fn kernels_equal_burn_ops_bit_for_bit() {
    let device = Device::flex();
    let requants = [(128, 0, 0, 255), (0, 131, 0, 255), (77, 115, 30, 200)];
    let mut compared = 0;
    let mut depthwise_quads = 0;
    for layout in LAYOUTS {
        for (i, case) in cases().into_iter().enumerate() {
            for (j, &(zx, zo, lo, hi)) in requants.iter().enumerate() {
                let b = build(case, (i * 10 + j) as u32, zx, layout, &device);
                if case.conv.groups > 1 && b.packed.dtype() == DType::I8 {
                    depthwise_quads += 1;
                }
                let rq = Requant {
                    input_zero_point: zx,
                    output_zero_point: zo,
                    lo,
                    hi,
                    add: None,
                };
                let c = case.conv;
                let x = b.x.clone();
                let fused = qconv2d(
                    x,
                    b.packed,
                    b.packed_bias,
                    b.multiplier.clone(),
                    None,
                    c,
                    rq,
                );
                let reference = qconv2d_reference(b.x, b.hwio, b.bias, b.multiplier, None, c, rq);
                let (f, r) = (bytes(fused), bytes(reference));
                let distinct = r.iter().collect::<std::collections::BTreeSet<_>>().len();
                assert!(
                    r.len() < 64 || distinct > 8,
                    "{case:?} {rq:?}: a degenerate case ({distinct} distinct outputs): {r:?}"
                );
                assert_eq!(f, r, "{layout:?} {case:?} {rq:?}");
                compared += f.len();
            }
        }
    }
    println!(
        "int8 kernels: {compared} outputs equal to burn's ops ({depthwise_quads} depthwise cases in quads)"
    );
    assert!(
        depthwise_quads >= 20,
        "depthwise quads exercised {depthwise_quads} times"
    );
}

#[test]
fn residual_additions_equal_burn_ops() {
    let device = Device::flex();
    let q = |scale, zero_point| QParams { scale, zero_point };
    let add = AddQuant {
        a: q(0.2758, 119),
        b: q(0.3544, 129),
        output: q(0.4012, 127),
    };
    let pointwise = cases()
        .into_iter()
        .filter(|c| c.conv.groups == 1 && c.conv.kernel == 1);
    for (i, case) in pointwise.enumerate() {
        let layout = LAYOUTS[i % 2];
        let b = build(case, 100 + i as u32, 3, layout, &device);
        let Case { n, h, w, conv } = case;
        let res: Vec<u8> = ints(n * h * w * conv.out_channels, 5 + i as u32, 0, 255)
            .into_iter()
            .map(|v| v as u8)
            .collect();
        let res = Tensor::<4, Int>::from_data(
            TensorData::new(res, [n, h, w, conv.out_channels]),
            (&device, DType::U8),
        );
        let rq = Requant {
            input_zero_point: 3,
            output_zero_point: add.b.zero_point,
            lo: 0,
            hi: 255,
            add: AddRequant::new(&add),
        };
        let (x, m, r) = (b.x.clone(), b.multiplier.clone(), Some(res.clone()));
        let fused = qconv2d(x, b.packed, b.packed_bias, m, r, conv, rq);
        let reference = qconv2d_reference(b.x, b.hwio, b.bias, b.multiplier, Some(res), conv, rq);
        assert_eq!(bytes(fused), bytes(reference), "{layout:?} {case:?}");
    }
}

#[test]
fn logits_equal_burn_ops() {
    let device = Device::flex();
    let full = cases().into_iter().filter(|c| c.conv.groups == 1);
    for (i, case) in full.enumerate() {
        let layout = LAYOUTS[i % 2];
        let b = build(case, 300 + i as u32, 97, layout, &device);
        let (x, m) = (b.x.clone(), b.multiplier.clone());
        let fused = qconv2d_real(x, b.packed, b.packed_bias, m, case.conv, 97);
        let reference = qconv2d_real_reference(b.x, b.hwio, b.bias, b.multiplier, case.conv, 97);
        assert_eq!(
            fused.into_data().try_into_vec::<f32>().unwrap(),
            reference.into_data().try_into_vec::<f32>().unwrap(),
            "{layout:?} {case:?}"
        );
    }
}

#[cfg(feature = "ndarray")]
#[test]
fn burn_ndarray_gives_the_same_integers() {
    let (flex, nd) = (Device::flex(), Device::ndarray());
    for (i, case) in cases().into_iter().enumerate().step_by(3) {
        let rq = Requant {
            input_zero_point: 128,
            output_zero_point: 5,
            lo: 0,
            hi: 255,
            add: None,
        };
        let run = |device: &Device| {
            let b = build(case, 500 + i as u32, 128, Layout::Quads, device);
            bytes(qconv2d(
                b.x,
                b.packed,
                b.packed_bias,
                b.multiplier,
                None,
                case.conv,
                rq,
            ))
        };
        assert_eq!(run(&flex), run(&nd), "{case:?}");
    }
}

/// The quads product through the relaxed dot product and through 16-bit products (what runs
/// where the engine's dot product is inexact) gives the same sums.
#[test]
fn quads_on_16_bit_products_equal_the_dot_product() {
    for (i, (p, k, n)) in [(7, 16, 24), (5, 36, 13), (1, 1280, 1001), (9, 28, 32)]
        .into_iter()
        .enumerate()
    {
        let offset = ints(1, i as u32, 0, 255)[0];
        let w: Vec<i16> = ints(k * n, 40 + i as u32, -offset, 255 - offset)
            .into_iter()
            .map(|v| v as i16)
            .collect();
        let bias = ints(n, 50 + i as u32, -1000, 1000);
        let q = pack_quads(&w, k, n, &bias, 111).unwrap();
        let stride = 4 * k.div_ceil(4);
        let mut x: Vec<u8> = ints(p * stride, 60 + i as u32, 0, 255)
            .into_iter()
            .map(|v| v as u8)
            .collect();
        for row in x.chunks_exact_mut(stride) {
            row[k..].fill(0);
        }
        let scale: Vec<f32> = (0..n).map(|c| 1.0 + c as f32 / 7.0).collect();
        let run = |relaxed| {
            let mut out = vec![MaybeUninit::<f32>::uninit(); p * n];
            let s = QGemm { p, k, n };
            qgemm_quads_with(
                s,
                &x,
                stride,
                &q.weights,
                &q.constants,
                QOut::Real {
                    out: &mut out,
                    scale: &scale,
                },
                relaxed,
            );
            out.into_iter()
                .map(|v| unsafe { v.assume_init() })
                .collect::<Vec<f32>>()
        };
        let (a, b) = (run(true), run(false));
        // And both equal the plain sums.
        for r in 0..p {
            for c in 0..n {
                let exact: i64 = bias[c] as i64
                    + (0..k)
                        .map(|d| (x[r * stride + d] as i64 - 111) * w[d * n + c] as i64)
                        .sum::<i64>();
                assert_eq!(
                    a[r * n + c],
                    exact as i32 as f32 * scale[c],
                    "({p}, {k}, {n}) at {r}, {c}"
                );
            }
        }
        assert_eq!(a, b, "({p}, {k}, {n})");
    }
}
