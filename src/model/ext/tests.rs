//! The backend extension against burn's own ops ([`super::reference`], the path burn-ndarray
//! and `Ops::Burn` run): float convolutions of every kernel, epilogue and residual, fused
//! blocks, and the int8 convolutions, residual additions and logits in both weight layouts, on
//! every backend compiled in. The kernels themselves are held to their scalar definitions in
//! `crate::kernels::tests`; this checks the layer above them (packing, unpacking, dispatch).

use burn::backend::Dispatch;
use burn::tensor::{DType, Device, Int, IntDType, Tensor, TensorData};

use super::reference::{self, unpack_f32, unpack_int8};
use super::{
    Block, KernelBackend, Ops, Weights, block_params, conv_f32, conv_int8, conv_int8_real,
};
use crate::kernels::conv::{QWeights, qpack, qpacked_shape};
use crate::kernels::gemm::f32::{pack, packed_shape};
use crate::kernels::gemm::int8::Layout;
use crate::spec::{Activation, AddRequant, Conv, Epilogue, EpilogueAct, QParams, Requant};

fn devices() -> Vec<(&'static str, Device)> {
    vec![
        ("flex", Device::flex()),
        #[cfg(feature = "ndarray")]
        ("ndarray", Device::ndarray()),
    ]
}

/// Deterministic values: `dyadic` ones are multiples of 1/8 in [-2, 2], so every sum of their
/// products is exact in f32 whatever the order (kernel and reference then agree bit for bit
/// before the epilogue); otherwise uniform in [-1, 1].
fn values(n: usize, seed: u32, dyadic: bool) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761) | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            if dyadic {
                ((s >> 8) % 33) as f32 / 8.0 - 2.0
            } else {
                (s as f32 / u32::MAX as f32) * 2.0 - 1.0
            }
        })
        .collect()
}

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

fn epilogues() -> Vec<Epilogue> {
    vec![
        Epilogue::IDENTITY,
        Epilogue::new(Activation::Relu6, None, None),
        Epilogue::new(Activation::Relu, None, None),
        Epilogue::new(Activation::Relu6, Some((0.0, 5.5)), None),
        Epilogue::new(Activation::None, Some((-3.25, 4.0)), None),
        Epilogue::new(Activation::HardSwish, Some((-4.0, 7.0)), None),
        Epilogue::new(Activation::HardSigmoid, None, None),
        Epilogue::new(Activation::HardSwish, Some((-4.0, 7.0)), Some(0.375)),
        Epilogue::new(Activation::None, Some((-8.0, 8.0)), Some(0.75)),
        Epilogue::new(Activation::Relu6, Some((0.0, 6.0)), Some(0.0235)),
    ]
}

/// A batch of `n` images of `h × w` through `conv`.
#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    h: usize,
    w: usize,
    conv: Conv,
}

fn pw(n: usize, h: usize, w: usize, cin: usize, cout: usize) -> Case {
    Case {
        n,
        h,
        w,
        conv: Conv::pointwise(cin, cout),
    }
}

fn dw(h: usize, w: usize, c: usize, k: usize, s: usize) -> Case {
    Case {
        n: 1,
        h,
        w,
        conv: Conv::depthwise(c, k, s),
    }
}

fn full(h: usize, w: usize, cin: usize, cout: usize, k: usize, s: usize) -> Case {
    Case {
        n: 1,
        h,
        w,
        conv: Conv::full(cin, cout, k, s),
    }
}

fn float_cases() -> Vec<Case> {
    vec![
        // Pointwise: pixel counts around the 4-row tile, channel counts around the 8 and 4
        // tails, a 1×1 input (squeeze-excite, classifier), a batch of two, several chunks.
        pw(1, 1, 1, 16, 8),
        pw(1, 1, 3, 5, 12),
        pw(1, 7, 7, 24, 17),
        pw(2, 3, 5, 8, 4),
        pw(1, 1, 1, 40, 1001),
        pw(1, 2, 3, 1, 3),
        pw(1, 29, 31, 96, 24),
        pw(1, 5, 5, 7, 13),
        pw(1, 2, 2, 963, 20),
        // Depthwise 3×3 and 5×5, stride 1 and 2, even and odd sides, channel tails.
        dw(7, 7, 8, 3, 1),
        dw(8, 8, 12, 3, 2),
        dw(9, 5, 5, 3, 2),
        dw(1, 1, 16, 3, 1),
        dw(2, 3, 4, 3, 2),
        dw(7, 7, 24, 5, 1),
        dw(14, 14, 8, 5, 2),
        dw(3, 3, 7, 5, 2),
        // Full convolutions: the stems (3 → 8/16/32, 3×3, stride 2) and other shapes.
        full(16, 16, 3, 32, 3, 2),
        full(9, 9, 3, 8, 3, 2),
        full(10, 7, 3, 16, 3, 2),
        full(5, 6, 4, 13, 3, 1),
        full(6, 6, 2, 4, 2, 2),
        full(4, 4, 3, 8, 1, 2),
    ]
}

fn f32s<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_to_vec::<f32>().unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn packed_f32(conv: &Conv, hwio: &[f32], device: &Device) -> Tensor<4> {
    let (data, shape) = if conv.groups == 1 {
        (pack(conv, hwio), packed_shape(conv))
    } else {
        (hwio.to_vec(), conv.hwio_shape())
    };
    Tensor::from_data(TensorData::new(data, shape), device)
}

/// The extension and the reference on one case: `(extension, reference)` outputs.
fn run(
    case: Case,
    e: Epilogue,
    residual: bool,
    dyadic: bool,
    seed: u32,
    device: &Device,
) -> (Vec<f32>, Vec<f32>) {
    let Case { n, h, w, conv } = case;
    let (cin, cout) = (conv.in_channels, conv.out_channels);
    let (oh, ow) = conv.output(h, w).unwrap();
    let t4 = |v: Vec<f32>, s: [usize; 4]| Tensor::<4>::from_data(TensorData::new(v, s), device);
    let x = t4(values(n * h * w * cin, seed, dyadic), [n, h, w, cin]);
    let hwio = values(conv.hwio_shape().iter().product(), seed + 1, dyadic);
    let packed = packed_f32(&conv, &hwio, device);
    let weight = t4(hwio, conv.hwio_shape());
    let bias = Tensor::<1>::from_data(
        TensorData::new(values(cout, seed + 2, dyadic), [cout]),
        device,
    );
    let res = residual.then(|| {
        t4(
            values(n * oh * ow * cout, seed + 3, dyadic),
            [n, oh, ow, cout],
        )
    });
    assert_eq!(
        f32s(unpack_f32(&conv, packed.clone())),
        f32s(weight.clone()),
        "unpack inverts pack"
    );
    let ours = conv_f32(
        x.clone(),
        (packed, bias.clone()),
        res.clone(),
        conv,
        e,
        Ops::Kernels,
    );
    let reference = reference::conv_f32(x.clone(), weight, bias, res, conv, e);
    assert_eq!(ours.dims(), [n, oh, ow, cout], "{case:?}");
    assert_eq!(
        f32s(x),
        values(n * h * w * cin, seed, dyadic),
        "the input was modified"
    );
    (f32s(ours), f32s(reference))
}

#[test]
fn every_kernel_and_epilogue_matches_burn_ops() {
    for (name, device) in devices() {
        let mut checked = 0;
        for (i, case) in float_cases().into_iter().enumerate() {
            for (j, e) in epilogues().into_iter().enumerate() {
                let seed = (i * 31 + j) as u32;
                // Exact sums: identical outputs (hard-swish and hard-sigmoid multiply by 1/6
                // where the reference divides by 6: one rounding apart).
                let residual = (i + j) % 3 == 0;
                let (ours, reference) = run(case, e, residual, true, seed, &device);
                let d = max_diff(&ours, &reference);
                if e.act == EpilogueAct::Clamp {
                    assert_eq!(
                        ours, reference,
                        "{name} {case:?} {e:?}: exact sums must agree exactly"
                    );
                } else {
                    assert!(d <= 1e-5, "{name} {case:?} {e:?}: max difference {d}");
                }
                // Real-valued data: summation order differs; no grid rounding there.
                if e.step.is_none() {
                    let (ours, reference) = run(case, e, residual, false, seed, &device);
                    let d = max_diff(&ours, &reference);
                    assert!(d <= 1e-4, "{name} {case:?} {e:?}: max difference {d}");
                }
                // The epilogue did something (a kernel that skipped it would fail here).
                if e != Epilogue::IDENTITY {
                    let (plain, _) = run(case, Epilogue::IDENTITY, residual, true, seed, &device);
                    assert!(
                        max_diff(&plain, &ours) > 0.0,
                        "{name} {case:?} {e:?}: epilogue had no effect"
                    );
                }
                checked += 1;
            }
        }
        println!("{name}: {checked} convolution × epilogue cases agree with burn's ops");
    }
}

/// A block: input `h × w × cin`, `expanded` channels (no expansion when `expand` is false),
/// depthwise `k`, stride `s`, `cout` outputs.
#[derive(Clone, Copy, Debug)]
struct BlockCase {
    h: usize,
    w: usize,
    cin: usize,
    expand: bool,
    expanded: usize,
    k: usize,
    s: usize,
    cout: usize,
}

fn run_block(
    c: BlockCase,
    epilogues: [Epilogue; 3],
    dyadic: bool,
    seed: u32,
    device: &Device,
) -> (Vec<f32>, Vec<f32>) {
    let residual = c.s == 1 && c.cin == c.cout;
    let b = Block {
        expand: c
            .expand
            .then(|| (Conv::pointwise(c.cin, c.expanded), epilogues[0])),
        depthwise: (Conv::depthwise(c.expanded, c.k, c.s), epilogues[1]),
        project: (Conv::pointwise(c.expanded, c.cout), epilogues[2]),
        residual,
    };
    let mut seed = seed;
    let mut weights = |(conv, _): (Conv, Epilogue)| -> Weights {
        seed += 7;
        let w = values(conv.hwio_shape().iter().product(), seed, dyadic);
        let bias = values(conv.out_channels, seed + 1, dyadic);
        (
            packed_f32(&conv, &w, device),
            Tensor::<1>::from_data(TensorData::new(bias, [conv.out_channels]), device),
        )
    };
    let expand = b.expand.map(&mut weights);
    let (dw, pw) = (weights(b.depthwise), weights(b.project));
    let x = Tensor::<4>::from_data(
        TensorData::new(values(c.h * c.w * c.cin, 99, dyadic), [1, c.h, c.w, c.cin]),
        device,
    );
    // Through the extension's fused block whatever the size (the model fuses large ones only).
    let params = block_params(expand.clone(), dw.clone(), pw.clone());
    let fused = Tensor::<4>::from_dispatch(<Dispatch as KernelBackend>::block_f32(
        x.clone().into_dispatch(),
        params,
        b,
    ));
    let reference = reference::block_f32(x, expand, dw, pw, b);
    assert_eq!(fused.dims(), reference.dims(), "{c:?}");
    (f32s(fused), f32s(reference))
}

#[test]
fn fused_blocks_match_their_three_convolutions() {
    let case = |h, w, cin, expand, expanded, k, s, cout| BlockCase {
        h,
        w,
        cin,
        expand,
        expanded,
        k,
        s,
        cout,
    };
    let cases = [
        // MobileNetV2-like: expansion, residual, several strips (40 rows of 96 channels).
        case(40, 40, 16, true, 96, 3, 1, 16),
        case(40, 38, 16, true, 96, 3, 2, 24),
        case(9, 9, 8, true, 20, 3, 2, 12),
        case(7, 5, 12, true, 36, 3, 1, 12),
        case(1, 1, 8, true, 16, 3, 1, 8),
        case(14, 13, 8, true, 24, 5, 2, 8),
        // No expansion (V1 and V2's first block).
        case(33, 31, 16, false, 16, 3, 1, 24),
        case(32, 30, 12, false, 12, 3, 2, 20),
    ];
    let relu6 = Epilogue::new(Activation::Relu6, None, None);
    let linear = Epilogue::IDENTITY;
    let gridded = Epilogue::new(Activation::HardSwish, Some((-4.0, 7.0)), Some(0.375));
    for (name, device) in devices() {
        for (i, c) in cases.into_iter().enumerate() {
            // Dyadic data through ReLU6 stages: exact sums, identical outputs.
            let (fused, reference) = run_block(c, [relu6, relu6, linear], true, i as u32, &device);
            assert_eq!(
                fused, reference,
                "{name} {c:?}: exact sums must agree exactly"
            );
            // Grid rounding and hard-swish in every stage, dyadic data.
            let (fused, reference) =
                run_block(c, [gridded, gridded, gridded], true, i as u32, &device);
            let d = max_diff(&fused, &reference);
            assert!(d <= 1e-4, "{name} {c:?} gridded: {d}");
            // Real-valued data, no grid: summation order differs.
            let (fused, reference) = run_block(c, [relu6, relu6, linear], false, i as u32, &device);
            let d = max_diff(&fused, &reference);
            assert!(d <= 1e-4, "{name} {c:?}: max difference {d}");
        }
        println!(
            "{name}: {} fused blocks agree with their three convolutions",
            cases.len()
        );
    }
}

fn int8_cases() -> Vec<Case> {
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
    let packed = qpack(&conv, &hwio, &bias, zx, layout);
    // One-group weights always fit quads; a depthwise channel may need a shift no i8 holds.
    if conv.groups == 1 {
        assert_eq!(packed.layout(), layout, "{case:?}");
    }
    let shape = qpacked_shape(&conv, packed.layout());
    let weight = match packed.weight {
        QWeights::Pairs(v) => {
            Tensor::<4, Int>::from_data(TensorData::new(v, shape), (device, DType::I16))
        }
        QWeights::Quads(v) => {
            Tensor::<4, Int>::from_data(TensorData::new(v, shape), (device, DType::I8))
        }
    };
    let t1 = |v: Vec<i32>| {
        let n = v.len();
        Tensor::<1, Int>::from_data(TensorData::new(v, [n]), (device, DType::I32))
    };
    Built {
        x: Tensor::<4, Int>::from_data(TensorData::new(x, [n, h, w, cin]), (device, DType::U8)),
        packed: weight,
        packed_bias: t1(packed.bias),
        hwio: Tensor::<4, Int>::from_data(TensorData::new(hwio, wshape), (device, DType::I16)),
        bias: t1(bias),
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
fn int8_unpack_inverts_pack() {
    let device = Device::flex();
    for layout in LAYOUTS {
        for (i, case) in int8_cases().into_iter().enumerate() {
            let zx = 100 + i as i32;
            let b = build(case, i as u32, zx, layout, &device);
            let (w, bias) = unpack_int8(&case.conv, b.packed, b.packed_bias, zx);
            assert_eq!(int32s(w), int32s(b.hwio), "{layout:?} {case:?}");
            assert_eq!(int32s(bias), int32s(b.bias), "{layout:?} {case:?}");
        }
    }
}

#[test]
fn int8_convolutions_equal_burn_ops_bit_for_bit() {
    let requants = [(128, 0, 0, 255), (0, 131, 0, 255), (77, 115, 30, 200)];
    for (name, device) in devices() {
        let (mut compared, mut depthwise_quads) = (0, 0);
        for layout in LAYOUTS {
            for (i, case) in int8_cases().into_iter().enumerate() {
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
                    let weights = (b.packed, b.packed_bias, b.multiplier.clone());
                    let ours = conv_int8(b.x.clone(), weights, None, c, rq, Ops::Kernels);
                    let reference =
                        reference::conv_int8(b.x, b.hwio, b.bias, b.multiplier, None, c, rq);
                    let (f, r) = (bytes(ours), bytes(reference));
                    let distinct = r.iter().collect::<std::collections::BTreeSet<_>>().len();
                    assert!(
                        r.len() < 64 || distinct > 8,
                        "{case:?} {rq:?}: a degenerate case ({distinct} distinct outputs)"
                    );
                    assert_eq!(f, r, "{name} {layout:?} {case:?} {rq:?}");
                    compared += f.len();
                }
            }
        }
        println!(
            "{name}: {compared} int8 outputs equal to burn's ops ({depthwise_quads} depthwise cases in quads)"
        );
        assert!(
            depthwise_quads >= 20,
            "depthwise quads exercised {depthwise_quads} times"
        );
    }
}

#[test]
fn int8_residual_additions_equal_burn_ops() {
    let device = Device::flex();
    let q = |scale, zero_point| QParams { scale, zero_point };
    let (a, bq, out) = (q(0.2758, 119), q(0.3544, 129), q(0.4012, 127));
    let pointwise = int8_cases().into_iter().filter(|c| c.conv.is_pointwise());
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
            output_zero_point: bq.zero_point,
            lo: 0,
            hi: 255,
            add: AddRequant::new(a, bq, out),
        };
        let weights = (b.packed, b.packed_bias, b.multiplier.clone());
        let ours = conv_int8(
            b.x.clone(),
            weights,
            Some(res.clone()),
            conv,
            rq,
            Ops::Kernels,
        );
        let reference =
            reference::conv_int8(b.x, b.hwio, b.bias, b.multiplier, Some(res), conv, rq);
        assert_eq!(bytes(ours), bytes(reference), "{layout:?} {case:?}");
    }
}

#[test]
fn int8_logits_equal_burn_ops() {
    let device = Device::flex();
    let one_group = int8_cases().into_iter().filter(|c| c.conv.groups == 1);
    for (i, case) in one_group.enumerate() {
        let layout = LAYOUTS[i % 2];
        let b = build(case, 300 + i as u32, 97, layout, &device);
        let weights = (b.packed, b.packed_bias, b.multiplier.clone());
        let ours = conv_int8_real(b.x.clone(), weights, case.conv, 97, Ops::Kernels);
        let reference = reference::conv_int8_real(b.x, b.hwio, b.bias, b.multiplier, case.conv, 97);
        assert_eq!(f32s(ours), f32s(reference), "{layout:?} {case:?}");
    }
}
