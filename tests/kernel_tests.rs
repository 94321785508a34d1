//! The hand-written kernels against the plain-burn path they replace: the epilogue alone on every
//! activation, and whole models (V1, V2, V3 with quantization emulation), on every backend.
mod common;

use burn::tensor::{Tensor, TensorData};
use mobilenet_wasm::kernels::{self, Epilogue, EpilogueAct};
use mobilenet_wasm::model::Activation;

fn data(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s as f32 / u32::MAX as f32) * 20.0 - 10.0
        })
        .collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn epilogue_matches_the_burn_ops_it_replaces() {
    let cases = [
        Epilogue::new(Activation::Relu6, None, None),
        Epilogue::new(Activation::Relu, None, None),
        Epilogue::new(Activation::Relu6, Some((0.0, 5.5)), None),
        Epilogue::new(Activation::None, Some((-3.25, 4.0)), None),
        Epilogue::new(Activation::HardSwish, Some((-4.0, 7.0)), None),
        Epilogue::new(Activation::HardSigmoid, None, None),
        Epilogue::new(Activation::HardSwish, Some((-4.0, 7.0)), Some(0.047)),
        Epilogue::new(Activation::Relu6, Some((0.0, 6.0)), Some(0.0235)),
    ];
    assert_eq!(
        Epilogue::new(Activation::None, None, None),
        None,
        "nothing to do"
    );
    for (name, device) in common::devices() {
        for (i, e) in cases.iter().enumerate() {
            let e = e.expect("an epilogue");
            // 2·3·5·7 + 3 elements: not a multiple of the SIMD width.
            let shape = [2, 3, 5, 7];
            let values = data(210, 17 + i as u32);
            let fresh = || Tensor::<4>::from_data(TensorData::new(values.clone(), shape), &device);
            let reference = kernels::epilogue_reference(fresh(), e)
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            let fused = kernels::epilogue(fresh(), e)
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            let d = max_diff(&fused, &reference);
            assert!(d <= 1e-4, "{name} case {i} {e:?}: max difference {d}");
            if e.step.is_some() {
                assert_eq!(
                    fused, reference,
                    "{name} case {i}: rounding onto the grid must agree exactly"
                );
            }
            // Changed at all? (A kernel that returns its input would fail here.)
            assert!(
                max_diff(&fused, &values) > 0.1,
                "{name} case {i}: the epilogue did nothing"
            );
            // A shared tensor is not modified in place.
            let shared = fresh();
            let out = kernels::epilogue(shared.clone(), e)
                .into_data()
                .to_vec::<f32>()
                .unwrap();
            assert_eq!(
                shared.into_data().to_vec::<f32>().unwrap(),
                values,
                "{name}: input clobbered"
            );
            assert!(max_diff(&out, &reference) <= 1e-4);
        }
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
