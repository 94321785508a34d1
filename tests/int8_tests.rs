//! The int8 model against TFLite itself: fed the exact crops TFLite was fed
//! (`reference-crops/*.png`), its logits must land on the same output quanta TFLite produced
//! (`reference-top5.json`, `raw_uint8`), and the same model must give bit-identical outputs
//! through the kernels and through burn's ops, on every backend.

mod common;

use burn::tensor::{DType, Int, Tensor, TensorData};
use common::*;
use mobilenet_wasm::decode::{MAX_DECODED_BYTES, decode};
use mobilenet_wasm::kernels::quantized::Layout;
use mobilenet_wasm::model::QuantMobileNet;
use mobilenet_wasm::tflite::{self, TfliteFile};
use mobilenet_wasm::{Classifier, LoadOptions, Precision, kernels};

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
    let with = |precision| LoadOptions {
        precision: Some(precision),
        ..LoadOptions::default()
    };
    let device = mobilenet_wasm::Device::flex();
    let clf = Classifier::from_tflite_with(&refs, with(Precision::Float32), &device).unwrap();
    assert_eq!(clf.precision(), Precision::Float32);
    let v3 = entry("mobilenet_v3_small_1.0_224_uint8").read().unwrap();
    let err = Classifier::from_tflite_with(&[&v3[0]], with(Precision::Int8), &device).unwrap_err();
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

/// Logits of the int8 model of `name` with one-group weights in `layout`, on one crop.
fn logits_with(name: &str, layout: Layout, crop: &[u8]) -> Vec<f32> {
    let files = entry(name).read().unwrap();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let loaded = tflite::load(&refs).unwrap();
    let convs: Vec<_> = loaded
        .convs
        .iter()
        .map(|c| c.quant.as_ref().unwrap())
        .collect();
    let device = mobilenet_wasm::Device::flex();
    let arch = loaded.config.architecture();
    let model = QuantMobileNet::new(
        &arch,
        &convs,
        loaded.quant.as_ref().unwrap(),
        layout,
        &device,
    )
    .unwrap();
    let s = loaded.config.resolution;
    let x = Tensor::<4, Int>::from_data(
        TensorData::new(crop.to_vec(), [1, s, s, 3]),
        (&device, DType::U8),
    );
    model
        .forward(x)
        .logits
        .into_data()
        .try_into_vec::<f32>()
        .unwrap()
}

/// Weights packed for the relaxed dot product (raw u8 inputs, i8 weights with shifted columns,
/// the zero point folded into the bias) give the very same logits as 16-bit pairs.
#[test]
fn both_weight_layouts_give_the_same_logits() {
    for name in [
        "mobilenet_v1_0.25_128_quant",
        "mobilenet_v2_1.0_224_tf2_ptq",
        V2_QUANT,
    ] {
        let s = if name.contains("128") { 128 } else { 224 };
        let image = crop(V2_QUANT, "n01443537_goldfish.JPEG");
        let crop: Vec<u8> = (0..s * s * 3)
            .map(|i| image[(i / (3 * s)) * 224 * 3 + i % (3 * s)])
            .collect();
        let (pairs, quads) = (
            logits_with(name, Layout::Pairs, &crop),
            logits_with(name, Layout::Quads, &crop),
        );
        assert_eq!(pairs, quads, "{name}");
        assert!(
            pairs.iter().any(|&v| v != pairs[0]),
            "{name}: constant logits"
        );
    }
}
