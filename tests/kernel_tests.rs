//! The hand-written kernels against the plain-burn path they replace (`conv2d_reference`: burn's
//! NCHW `conv2d` between permutes, then the epilogue as burn ops): every kernel (pointwise,
//! depthwise, direct), odd sizes and channel counts that exercise every tail, every epilogue,
//! residual adds, batches; then whole published models. Run on every backend.
mod common;

use burn::tensor::{Device, Tensor, TensorData};
use common::Case;
use mobilenet_wasm::kernels::{self, Block, Conv, Epilogue};
use mobilenet_wasm::model::Activation;

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

/// One convolution case: input `[n, h, w, conv.in_channels]`.

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
    let shape = [n, h, w, cin];
    let wshape = conv.hwio_shape();
    let (oh, ow) = (h.div_ceil(conv.stride), w.div_ceil(conv.stride));
    let t4 = |v: Vec<f32>, s: [usize; 4]| Tensor::<4>::from_data(TensorData::new(v, s), device);
    let x = t4(values(shape.iter().product(), seed, dyadic), shape);
    let hwio = values(wshape.iter().product(), seed + 1, dyadic);
    let packed = t4(conv.pack(hwio.clone()), conv.packed_shape());
    let weight = t4(hwio, wshape);
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
        conv.unpack(packed.clone())
            .into_data()
            .try_to_vec::<f32>()
            .unwrap(),
        weight.clone().into_data().try_to_vec::<f32>().unwrap(),
        "unpack inverts pack"
    );
    let fused = kernels::conv2d_fused(x.clone(), packed, bias.clone(), res.clone(), conv, e);
    let reference = kernels::conv2d_reference(x.clone(), weight, bias, res, conv, e);
    assert_eq!(fused.dims(), [n, oh, ow, cout], "{case:?}");
    assert_eq!(
        x.into_data().try_to_vec::<f32>().unwrap(),
        values(shape.iter().product(), seed, dyadic),
        "the input was modified"
    );
    (
        fused.into_data().try_to_vec::<f32>().unwrap(),
        reference.into_data().try_to_vec::<f32>().unwrap(),
    )
}

fn cases() -> Vec<Case> {
    let (pw, dw, full) = (Case::pointwise, Case::depthwise, Case::full);
    vec![
        // Pointwise: pixel counts around the 4-row tile, channel counts around the 8 and 4 tails,
        // a 1×1 input (squeeze-excite, classifier), a batch of two, more than one input chunk.
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

#[test]
fn every_kernel_and_epilogue_matches_the_plain_burn_path() {
    for (name, device) in common::devices() {
        let mut checked = 0;
        for (i, case) in cases().into_iter().enumerate() {
            for (j, e) in epilogues().into_iter().enumerate() {
                let seed = (i * 31 + j) as u32;
                // Exact sums: identical outputs (hard-swish and hard-sigmoid multiply by 1/6
                // where the reference divides by 6: one rounding apart).
                let exact_act = e.act == kernels::EpilogueAct::Clamp;
                let residual = (i + j) % 3 == 0;
                let (fused, reference) = run(case, e, residual, true, seed, &device);
                let d = max_diff(&fused, &reference);
                if exact_act {
                    assert_eq!(
                        fused, reference,
                        "{name} {case:?} {e:?}: exact sums must agree exactly"
                    );
                } else {
                    assert!(d <= 1e-5, "{name} {case:?} {e:?}: max difference {d}");
                }
                // Real-valued data: summation order differs; no grid rounding there.
                if e.step.is_none() {
                    let (fused, reference) = run(case, e, residual, false, seed, &device);
                    let d = max_diff(&fused, &reference);
                    assert!(d <= 1e-4, "{name} {case:?} {e:?}: max difference {d}");
                }
                // The epilogue did something (a kernel that skipped it would fail here).
                if !e.is_identity() {
                    let (plain, _) = run(case, Epilogue::IDENTITY, residual, true, seed, &device);
                    assert!(
                        max_diff(&plain, &fused) > 0.0,
                        "{name} {case:?} {e:?}: epilogue had no effect"
                    );
                }
                checked += 1;
            }
        }
        println!("{name}: {checked} convolution × epilogue cases agree with the plain-burn path");
    }
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// A block: input `h × w × cin`, `expanded` channels (no expansion when equal to `cin` and
/// `expand` is false), depthwise `k`, stride `s`, `cout` outputs.
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
    let conv = |kernel, stride, groups, in_channels, out_channels| Conv {
        kernel,
        stride,
        groups,
        in_channels,
        out_channels,
    };
    let residual = c.s == 1 && c.cin == c.cout;
    let b = Block {
        expand: c
            .expand
            .then(|| (conv(1, 1, 1, c.cin, c.expanded), epilogues[0])),
        depthwise: (
            conv(c.k, c.s, c.expanded, c.expanded, c.expanded),
            epilogues[1],
        ),
        project: (conv(1, 1, 1, c.expanded, c.cout), epilogues[2]),
        residual,
    };
    let mut seed = seed;
    let mut weights = |(conv, _): (Conv, Epilogue)| {
        seed += 7;
        let shape = conv.packed_shape();
        let w = values(conv.hwio_shape().iter().product(), seed, dyadic);
        let w = Tensor::<4>::from_data(TensorData::new(conv.pack(w), shape), device);
        let bias = values(conv.out_channels, seed + 1, dyadic);
        (
            w,
            Tensor::<1>::from_data(TensorData::new(bias, [conv.out_channels]), device),
        )
    };
    let expand = b.expand.map(&mut weights);
    let (dw, pw) = (weights(b.depthwise), weights(b.project));
    let x = Tensor::<4>::from_data(
        TensorData::new(values(c.h * c.w * c.cin, 99, dyadic), [1, c.h, c.w, c.cin]),
        device,
    );
    let fused = kernels::block_fused(x.clone(), expand.clone(), dw.clone(), pw.clone(), b);
    let reference = kernels::block_reference(x, expand, dw, pw, b);
    assert_eq!(fused.dims(), reference.dims(), "{c:?}");
    (
        fused.into_data().try_to_vec::<f32>().unwrap(),
        reference.into_data().try_to_vec::<f32>().unwrap(),
    )
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
    for (name, device) in common::devices() {
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

#[test]
fn whole_models_match_the_plain_burn_path() {
    // The only test in this binary that switches the kernels (the switch is process-wide).
    let crop = |s: usize| -> Vec<u8> { (0..s * s * 3).map(|i| (i * 31 % 251) as u8).collect() };
    for (name, device) in common::devices() {
        for model in [
            "mobilenet_v1_0.25_128_quant",
            "mobilenet_v2_1.0_224_quant",
            "mobilenet_v3_small_1.0_224_uint8",
        ] {
            let mut clf = common::classifier(model, &device);
            let input = crop(clf.config().resolution);
            kernels::set_enabled(false);
            let (_, plain) = clf.run_crop(&input).unwrap();
            kernels::set_enabled(true);
            let (_, fused) = clf.run_crop(&input).unwrap();
            let d = max_diff(&fused, &plain);
            println!("{name} {model}: largest logit difference fused vs plain burn {d:e}");
            assert!(d <= 1e-4, "{name} {model}: {d}");
        }
    }
}
