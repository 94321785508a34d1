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
fn weights_whose_zero_point_leaves_their_type_have_no_int8_form() {
    // The first convolution's weight zero point, patched in the file's bytes to 40000: its
    // weights less the zero point no longer fit the 16-bit form, so int8 is refused (and the
    // default falls back to float32) rather than built from wrapped values.
    let mut bytes = entry("mobilenet_v1_0.25_128_quant")
        .read()
        .unwrap()
        .remove(0);
    let at = {
        let model = tflite::schema::root_as_model(&bytes).unwrap();
        let graph = model.subgraphs().unwrap().get(0);
        let weight = graph.operators().unwrap().get(0).inputs().unwrap().get(1) as usize;
        let q = graph.tensors().unwrap().get(weight).quantization().unwrap();
        let zero_points = q.zero_point().unwrap();
        assert_eq!(zero_points.len(), 1);
        zero_points.bytes().as_ptr() as usize - bytes.as_ptr() as usize
    };
    bytes[at..at + 8].copy_from_slice(&40000i64.to_le_bytes());
    let device = mobilenet_wasm::Device::flex();
    let options = |precision| LoadOptions {
        precision,
        ..LoadOptions::default()
    };
    let err = Classifier::from_tflite_with(&[&bytes], options(Some(Precision::Int8)), &device)
        .unwrap_err();
    assert_eq!(err.code(), "E_MODEL_UNSUPPORTED");
    let clf = Classifier::from_tflite_with(&[&bytes], options(None), &device).unwrap();
    assert_eq!(clf.precision(), Precision::Float32);
}
