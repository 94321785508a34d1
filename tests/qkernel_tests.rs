//! The int8 kernels against burn's ops (`qconv2d_reference`: the convolution in f64, then the
//! requantization as burn ops): every kernel (1×1 product, depthwise, full k×k), odd sizes and
//! channel counts that reach every tail, per-tensor and per-channel multipliers, output ranges,
//! residual additions, batches, logits. Integer arithmetic: the two must agree bit for bit.

use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use mobilenet_wasm::kernels::quantized::{
    qconv2d, qconv2d_real, qconv2d_real_reference, qconv2d_reference, qpack, qpacked_shape, qunpack,
};
use mobilenet_wasm::kernels::{Conv, Requant};
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

#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    h: usize,
    w: usize,
    conv: Conv,
}

fn cases() -> Vec<Case> {
    let case = |n, h, w, kernel, stride, groups, in_channels, out_channels| Case {
        n,
        h,
        w,
        conv: Conv {
            kernel,
            stride,
            groups,
            in_channels,
            out_channels,
        },
    };
    let pw = |n, h, w, cin, cout| case(n, h, w, 1, 1, 1, cin, cout);
    let dw = |h, w, c, kernel, stride| case(1, h, w, kernel, stride, c, c, c);
    let full = |h, w, cin, cout, kernel, stride| case(1, h, w, kernel, stride, 1, cin, cout);
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
    hwio: Tensor<4, Int>,
    bias: Tensor<1, Int>,
    multiplier: Tensor<1>,
}

fn build(case: Case, seed: u32, device: &Device) -> Built {
    let Case { n, h, w, conv } = case;
    let (cin, cout) = (conv.in_channels, conv.out_channels);
    let x: Vec<u8> = ints(n * h * w * cin, seed, 0, 255)
        .into_iter()
        .map(|v| v as u8)
        .collect();
    let wshape = conv.hwio_shape();
    let hwio: Vec<i16> = ints(wshape.iter().product(), seed + 1, -255, 255)
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
    Built {
        x: t4(TensorData::new(x, [n, h, w, cin]), DType::U8),
        packed: t4(
            TensorData::new(qpack(&conv, &hwio), qpacked_shape(&conv)),
            DType::I16,
        ),
        hwio: t4(TensorData::new(hwio, wshape), DType::I16),
        bias: Tensor::<1, Int>::from_data(TensorData::new(bias, [cout]), (device, DType::I32)),
        multiplier: Tensor::<1>::from_data(TensorData::new(multiplier, [cout]), device),
    }
}

fn bytes(t: Tensor<4, Int>) -> Vec<u8> {
    t.into_data().into_vec::<u8>().unwrap()
}

#[test]
fn unpack_inverts_pack() {
    let device = Device::flex();
    for case in cases() {
        let b = build(case, 7, &device);
        assert_eq!(
            qunpack(&case.conv, b.packed)
                .into_data()
                .into_vec::<i16>()
                .unwrap(),
            b.hwio.into_data().into_vec::<i16>().unwrap(),
            "{case:?}"
        );
    }
}

#[test]
fn kernels_equal_burn_ops_bit_for_bit() {
    let device = Device::flex();
    let requants = [(128, 0, 0, 255), (0, 131, 0, 255), (77, 115, 30, 200)];
    let mut compared = 0;
    for (i, case) in cases().into_iter().enumerate() {
        for (j, &(zx, zo, lo, hi)) in requants.iter().enumerate() {
            let b = build(case, (i * 10 + j) as u32, &device);
            let rq = Requant {
                input_zero_point: zx,
                output_zero_point: zo,
                lo,
                hi,
                add: None,
            };
            let c = case.conv;
            let fused = qconv2d(
                b.x.clone(),
                b.packed,
                b.bias.clone(),
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
            assert_eq!(f, r, "{case:?} {rq:?}");
            compared += f.len();
        }
    }
    println!("int8 kernels: {compared} outputs equal to burn's ops");
}

#[test]
fn residual_additions_equal_burn_ops() {
    let device = Device::flex();
    let add = AddQuant {
        a: QParams {
            scale: 0.2758,
            zero_point: 119,
        },
        b: QParams {
            scale: 0.3544,
            zero_point: 129,
        },
        output: QParams {
            scale: 0.4012,
            zero_point: 127,
        },
    };
    for (i, case) in cases()
        .into_iter()
        .filter(|c| c.conv.groups == 1 && c.conv.kernel == 1)
        .enumerate()
    {
        let b = build(case, 100 + i as u32, &device);
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
        let fused = qconv2d(
            b.x.clone(),
            b.packed,
            b.bias.clone(),
            b.multiplier.clone(),
            Some(res.clone()),
            conv,
            rq,
        );
        let reference = qconv2d_reference(b.x, b.hwio, b.bias, b.multiplier, Some(res), conv, rq);
        assert_eq!(bytes(fused), bytes(reference), "{case:?}");
    }
}

#[test]
fn logits_equal_burn_ops() {
    let device = Device::flex();
    for (i, case) in cases()
        .into_iter()
        .filter(|c| c.conv.groups == 1)
        .enumerate()
    {
        let b = build(case, 300 + i as u32, &device);
        let fused = qconv2d_real(
            b.x.clone(),
            b.packed,
            b.bias.clone(),
            b.multiplier.clone(),
            case.conv,
            97,
        );
        let reference = qconv2d_real_reference(b.x, b.hwio, b.bias, b.multiplier, case.conv, 97);
        assert_eq!(
            fused.into_data().into_vec::<f32>().unwrap(),
            reference.into_data().into_vec::<f32>().unwrap(),
            "{case:?}"
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
            let b = build(case, 500 + i as u32, device);
            bytes(qconv2d(
                b.x,
                b.packed,
                b.bias,
                b.multiplier,
                None,
                case.conv,
                rq,
            ))
        };
        assert_eq!(run(&flex), run(&nd), "{case:?}");
    }
}
