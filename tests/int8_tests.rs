//! The int8 model against TFLite itself: fed the exact crops TFLite was fed
//! (`reference-crops/*.png`), its logits must land on the same output quanta TFLite produced
//! (`reference-top5.json`, `raw_uint8`), on every backend; precision choices and refusals.

mod common;

use common::*;
use mobilenet_wasm::decode::{MAX_DECODED_BYTES, decode};
use mobilenet_wasm::tflite;
use mobilenet_wasm::{Classifier, LoadOptions, Precision};

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

/// Scale and zero point of the file's output tensor (its logits, uint8).
fn output_quant(name: &str) -> (f32, i32) {
    let files = entry(name).read().unwrap();
    let model = tflite::schema::root_as_model(&files[0]).unwrap();
    let graph = model.subgraphs().unwrap().get(0);
    let out = graph.outputs().unwrap().get(0) as usize;
    let q = graph.tensors().unwrap().get(out).quantization().unwrap();
    (
        q.scale().unwrap().get(0),
        q.zero_point().unwrap().get(0) as i32,
    )
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
fn float32_is_still_there_on_request() {
    let files = entry(V2_QUANT).read().unwrap();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let with = |precision| LoadOptions {
        precision: Some(precision),
        ..LoadOptions::default()
    };
    let device = mobilenet_wasm::Device::flex();
    let clf = Classifier::from_tflite_with(&refs, with(Precision::Float32), &device).unwrap();
    assert_eq!(clf.precision(), Precision::Float32);
    // V3-Small's uint8 file runs in integers too (hard-swish, squeeze-excite), by default.
    let v3 = entry("mobilenet_v3_small_1.0_224_uint8").read().unwrap();
    let clf = Classifier::from_tflite_with(&[&v3[0]], LoadOptions::default(), &device).unwrap();
    assert_eq!(clf.precision(), Precision::Int8);
    // A float file has no integer form to ask for.
    let float = entry("mobilenet_v1_0.25_224_float").read().unwrap();
    let err =
        Classifier::from_tflite_with(&[&float[0]], with(Precision::Int8), &device).unwrap_err();
    assert_eq!(err.code(), "E_MODEL_UNSUPPORTED");
}

#[test]
fn weights_without_real_values_are_refused_in_every_precision() {
    // The first convolution's weight quantization patched in the file's bytes: a zero point
    // outside uint8 (40000), a scale of 0, a negative scale, NaN. Each once only dropped the int8
    // form, and the default then built a float model from the same values (a scale of 0 gave
    // the same top-5 for every image). Each is now a broken file, whatever the precision.
    let original = entry("mobilenet_v1_0.25_128_quant")
        .read()
        .unwrap()
        .remove(0);
    let (zero_at, scale_at) = {
        let model = tflite::schema::root_as_model(&original).unwrap();
        let graph = model.subgraphs().unwrap().get(0);
        let weight = graph.operators().unwrap().get(0).inputs().unwrap().get(1) as usize;
        let q = graph.tensors().unwrap().get(weight).quantization().unwrap();
        let (zero_points, scales) = (q.zero_point().unwrap(), q.scale().unwrap());
        assert_eq!((zero_points.len(), scales.len()), (1, 1));
        let base = original.as_ptr() as usize;
        (
            zero_points.bytes().as_ptr() as usize - base,
            scales.bytes().as_ptr() as usize - base,
        )
    };
    let device = mobilenet_wasm::Device::flex();
    let options = |precision| LoadOptions {
        precision,
        ..LoadOptions::default()
    };
    let patches: [(usize, Vec<u8>); 4] = [
        (zero_at, 40000i64.to_le_bytes().to_vec()),
        (scale_at, 0f32.to_le_bytes().to_vec()),
        (scale_at, (-0.02f32).to_le_bytes().to_vec()),
        (scale_at, f32::NAN.to_le_bytes().to_vec()),
    ];
    for (at, value) in patches {
        let mut bytes = original.clone();
        bytes[at..at + value.len()].copy_from_slice(&value);
        for precision in [None, Some(Precision::Int8), Some(Precision::Float32)] {
            let err = Classifier::from_tflite_with(&[&bytes], options(precision), &device)
                .err()
                .unwrap_or_else(|| panic!("{value:?} at {at} loaded as {precision:?}"));
            assert_eq!(
                err.code(),
                "E_MODEL_FORMAT",
                "{value:?} at {at}, {precision:?}: {err}"
            );
        }
    }
    // The unpatched file still loads after the refusals.
    let clf = Classifier::from_tflite_with(&[&original], options(None), &device).unwrap();
    assert_eq!(clf.precision(), Precision::Int8);
}
