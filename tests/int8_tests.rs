//! The int8 model against TFLite itself: fed the exact crops TFLite was fed
//! (`reference-crops/*.png`), its logits must land on the same output quanta TFLite produced
//! (`reference-top5.json`, `raw_uint8`), and the same model must give bit-identical outputs
//! through the kernels and through burn's ops, on every backend.

mod common;

use common::*;
use mobilenet_wasm::decode::{MAX_DECODED_BYTES, decode};
use mobilenet_wasm::tflite::TfliteFile;
use mobilenet_wasm::{Classifier, Precision, kernels};

const V2_QUANT: &str = "mobilenet_v2_1.0_224_quant";

/// The reference crop of a record.
fn crop(name: &str, file: &str) -> Vec<u8> {
    let png = models_dir()
        .join(name)
        .join("reference-crops")
        .join(file.replace(".JPEG", ".png"));
    let image = decode(&read(&png), MAX_DECODED_BYTES).unwrap();
    assert_eq!((image.width, image.height), (224, 224));
    image.data
}

/// Scale and zero point of the file's output tensor (its logits).
fn output_quant(name: &str) -> (f32, i32) {
    let files = entry(name).read().unwrap();
    let file = TfliteFile::parse(&files[0]).unwrap();
    let out = file.outputs[0];
    let q = file.activation_quant(out).expect("a quantized output");
    (q.scale, q.zero_point)
}

#[test]
fn v2_uint8_logits_land_on_tflite_quanta() {
    let reference = reference(V2_QUANT);
    let records = reference["records"].as_array().unwrap();
    let (scale, zero) = output_quant(V2_QUANT);
    for (backend, device) in devices() {
        let mut clf = classifier(V2_QUANT, &device);
        assert_eq!(clf.precision(), Precision::Int8);
        let (mut same, mut total, mut top1, mut off_by_one) = (0, 0, 0, 0);
        for r in records {
            let file = r["file"].as_str().unwrap();
            let (_, logits) = clf.run_crop(&crop(V2_QUANT, file)).unwrap();
            let quanta: Vec<i32> = logits
                .iter()
                .map(|l| ((l / scale).round_ties_even() as i32 + zero).clamp(0, 255))
                .collect();
            let classes = r["top5"].as_array().unwrap();
            let raw = r["raw_uint8"].as_array().unwrap();
            for (c, q) in classes.iter().zip(raw) {
                let (c, q) = (c.as_u64().unwrap() as usize, q.as_i64().unwrap() as i32);
                total += 1;
                same += usize::from(quanta[c + 1] == q);
                off_by_one += usize::from((quanta[c + 1] - q).abs() == 1);
            }
            let best = (1..logits.len())
                .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                .unwrap();
            top1 += usize::from(best - 1 == classes[0].as_u64().unwrap() as usize);
        }
        println!(
            "{V2_QUANT} int8 [{backend}] on TFLite's crops: {same}/{total} top-5 outputs on the same \
             quantum as TFLite, {off_by_one} one step away; same top-1 on {top1}/50"
        );
        assert!(same * 100 >= total * 98, "{same}/{total} quanta equal");
        assert_eq!(top1, 50);
    }
}

#[test]
fn kernels_and_burn_ops_agree_bit_for_bit() {
    for name in [
        V2_QUANT,
        "mobilenet_v2_1.0_224_tf2_ptq",
        "mobilenet_v1_0.25_128_quant",
    ] {
        let mut clf = classifier(name, &mobilenet_wasm::Device::flex());
        assert_eq!(clf.precision(), Precision::Int8, "{name}");
        let s = clf.config().resolution;
        let reference = reference(V2_QUANT);
        let file = reference["records"][3]["file"].as_str().unwrap();
        let image = crop(V2_QUANT, file);
        // The 224 crop, cut to the model's side.
        let crop: Vec<u8> = (0..s * s * 3)
            .map(|i| image[(i / (3 * s)) * 224 * 3 + i % (3 * s)])
            .collect();
        kernels::set_enabled(true);
        let (e1, l1) = clf.run_crop(&crop).unwrap();
        kernels::set_enabled(false);
        let (e2, l2) = clf.run_crop(&crop).unwrap();
        kernels::set_enabled(true);
        assert_eq!(e1, e2, "{name}: embeddings");
        assert_eq!(l1, l2, "{name}: logits");
    }
}

#[test]
fn float32_is_still_there_on_request() {
    let files = entry(V2_QUANT).read().unwrap();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let clf = Classifier::from_tflite_with(
        &refs,
        None,
        Some(Precision::Float32),
        &mobilenet_wasm::Device::flex(),
    )
    .unwrap();
    assert_eq!(clf.precision(), Precision::Float32);
    let v3 = entry("mobilenet_v3_small_1.0_224_uint8").read().unwrap();
    let err = Classifier::from_tflite_with(
        &[&v3[0]],
        None,
        Some(Precision::Int8),
        &mobilenet_wasm::Device::flex(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "E_MODEL_UNSUPPORTED");
}
