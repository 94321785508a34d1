//! Whole published models through the kernels and through burn's own ops (`Ops::Burn`, the
//! path burn-ndarray runs): int8 outputs bit for bit, float32 within 1e-4.

mod common;

use common::*;
use mobilenet_wasm::decode::{MAX_DECODED_BYTES, decode};
use mobilenet_wasm::{Classifier, Device, LoadOptions, Ops, Precision};

const V2_QUANT: &str = "mobilenet_v2_1.0_224_quant";

/// The reference crop of a record.
fn crop(name: &str, file: &str) -> Vec<u8> {
    let png = models_dir()
        .join(name)
        .join("reference-crops")
        .join(file.replace(".JPEG", ".png"));
    decode(&read(&png), MAX_DECODED_BYTES).unwrap().data
}

fn with_ops(name: &str, precision: Option<Precision>, ops: Ops, device: &Device) -> Classifier {
    let files = entry(name).read().unwrap();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let options = LoadOptions {
        precision,
        ops,
        ..LoadOptions::default()
    };
    Classifier::from_tflite_with(&refs, options, device).unwrap()
}

#[test]
fn kernels_and_burn_ops_agree_bit_for_bit() {
    for name in [
        V2_QUANT,
        "mobilenet_v2_1.0_224_tf2_ptq",
        "mobilenet_v1_0.25_128_quant",
    ] {
        let device = Device::flex();
        let mut clf = with_ops(name, None, Ops::Kernels, &device);
        assert_eq!(clf.precision(), Precision::Int8, "{name}");
        let mut burn_ops = with_ops(name, None, Ops::Burn, &device);
        let s = clf.config().resolution;
        let reference = reference(V2_QUANT);
        let file = reference["records"][3]["file"].as_str().unwrap();
        let image = crop(V2_QUANT, file);
        // The 224 crop, cut to the model's side.
        let crop: Vec<u8> = (0..s * s * 3)
            .map(|i| image[(i / (3 * s)) * 224 * 3 + i % (3 * s)])
            .collect();
        let (e1, l1) = clf.run_crop(&crop).unwrap();
        let (e2, l2) = burn_ops.run_crop(&crop).unwrap();
        assert_eq!(e1, e2, "{name}: embeddings");
        assert_eq!(l1, l2, "{name}: logits");
    }
}

#[test]
fn float_models_match_burn_ops() {
    let crop = |s: usize| -> Vec<u8> { (0..s * s * 3).map(|i| (i * 31 % 251) as u8).collect() };
    for (name, device) in devices() {
        for model in [
            "mobilenet_v1_0.25_128_quant",
            "mobilenet_v2_1.0_224_quant",
            "mobilenet_v3_small_1.0_224_uint8",
        ] {
            let float = Some(Precision::Float32);
            let mut kernels = with_ops(model, float, Ops::Kernels, &device);
            let mut burn_ops = with_ops(model, float, Ops::Burn, &device);
            let input = crop(kernels.config().resolution);
            let (_, a) = kernels.run_crop(&input).unwrap();
            let (_, b) = burn_ops.run_crop(&input).unwrap();
            let d = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            println!("{name} {model}: largest logit difference kernels vs burn ops {d:e}");
            assert!(d <= 1e-4, "{name} {model}: {d}");
        }
    }
}
