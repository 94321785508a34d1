//! Cross-framework checks against the TFLite interpreter's outputs stored beside the models
//! (`reference-top5.json`, made with ai-edge-litert 2.3.0 on the first 50 golden images, and
//! `reference-crops/*.png`, the exact 224×224 crops it was fed).

mod common;

use common::*;
use mobilenet_wasm::decode::{MAX_DECODED_BYTES, decode};
use mobilenet_wasm::tflite::sha256_hex;
use mobilenet_wasm::{PixelFormat, Pixels, softmax};

const V2_QUANT: &str = "mobilenet_v2_1.0_224_quant";
const V2_PTQ: &str = "mobilenet_v2_1.0_224_tf2_ptq";

#[test]
fn crops_match_the_reference_pipeline() {
    let reference = reference(V2_QUANT);
    let records = reference["records"].as_array().unwrap();
    let clf = classifier(V2_QUANT, &mobilenet_wasm::Device::flex());
    let mut exact = 0;
    for r in records {
        let file = r["file"].as_str().unwrap();
        let image = decode(&read(&golden_dir().join(file)), MAX_DECODED_BYTES).unwrap();
        let pixels = Pixels::new(&image.data, image.width, image.height, PixelFormat::Rgb).unwrap();
        let crop = clf.crop(pixels).unwrap();
        let png = models_dir()
            .join(V2_QUANT)
            .join("reference-crops")
            .join(file.replace(".JPEG", ".png"));
        let expected = decode(&read(&png), MAX_DECODED_BYTES).unwrap();
        assert_eq!((expected.width, expected.height), (224, 224));
        assert_eq!(
            sha256_hex(&expected.data),
            r["input_sha256"].as_str().unwrap(),
            "reference crop {file}"
        );
        // The same JPEG decode (libjpeg-turbo's) and the same bilinear resize (PIL's): every
        // crop byte for byte.
        assert_eq!(
            sha256_hex(&crop),
            r["input_sha256"].as_str().unwrap(),
            "{file}: our crop differs from the reference pipeline's"
        );
        exact += 1;
    }
    println!(
        "crops: {exact}/{} identical to the reference pipeline's",
        records.len()
    );
}

fn top5(values: &[f32]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    idx.truncate(5);
    idx
}

/// Runs the 50 reference images; `probabilities` says whether the reference holds softmax
/// outputs (else logits). Returns (top-1 agreements, mean top-5 overlap, largest difference).
fn cross_check(name: &str, probabilities: bool) {
    let reference = reference(name);
    let records = reference["records"].as_array().unwrap();
    assert_eq!(records.len(), 50);
    for (backend, device) in devices() {
        let mut clf = classifier(name, &device);
        let (mut same_top1, mut overlap, mut tie_aware, mut max_diff) = (0, 0usize, 0usize, 0.0f32);
        for r in records {
            let file = r["file"].as_str().unwrap();
            let image = decode(&read(&golden_dir().join(file)), MAX_DECODED_BYTES).unwrap();
            let pixels =
                Pixels::new(&image.data, image.width, image.height, PixelFormat::Rgb).unwrap();
            let (_, raw) = clf.run_crop(&clf.crop(pixels).unwrap()).unwrap();
            // Compare like with like: softmax over all 1001 outputs as the TF graph does.
            let values: Vec<f32> = if probabilities {
                softmax(&raw)[1..].to_vec()
            } else {
                raw[1..].to_vec()
            };
            let ours = top5(&values);
            let theirs: Vec<usize> = r["top5"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as usize)
                .collect();
            let expected: Vec<f32> = r["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let common = ours.iter().filter(|c| theirs.contains(c)).count();
            if probabilities {
                // uint8 probabilities tie at the cut-off: a slot tied with TFLite's 5th value is
                // matched by any class of ours at that quantized level (±1 step of 1/256).
                let cutoff = (expected[4] * 256.0).round();
                let tied = theirs
                    .iter()
                    .zip(&expected)
                    .filter(|(c, v)| !ours.contains(c) && (*v * 256.0).round() == cutoff)
                    .count();
                let replacements = ours
                    .iter()
                    .filter(|c| {
                        !theirs.contains(c) && (values[**c] * 256.0).round() <= cutoff + 1.0
                    })
                    .count();
                tie_aware += common + tied.min(replacements);
            } else {
                tie_aware += common;
            }
            same_top1 += usize::from(ours[0] == theirs[0]);
            overlap += common;
            for (c, v) in theirs.iter().zip(&expected) {
                max_diff = max_diff.max((values[*c] - v).abs());
            }
        }
        let mean_overlap = overlap as f64 / records.len() as f64;
        let mean_tie_aware = tie_aware as f64 / records.len() as f64;
        println!(
            "{name} [{backend}]: same top-1 on {same_top1}/50, mean top-5 overlap {mean_overlap:.2} \
             ({mean_tie_aware:.2} counting ties at the cut-off), largest {} difference {max_diff:.4}",
            if probabilities {
                "probability"
            } else {
                "logit"
            }
        );
        assert!(
            same_top1 >= 49,
            "{name} [{backend}]: same top-1 on only {same_top1}/50"
        );
        assert!(
            mean_tie_aware >= 4.5,
            "{name} [{backend}]: top-5 overlap {mean_tie_aware:.2} < 4.5"
        );
    }
}

#[test]
fn v2_quant_agrees_with_tflite() {
    cross_check(V2_QUANT, false);
}

#[test]
fn v2_int8_per_channel_agrees_with_tflite() {
    cross_check(V2_PTQ, true);
}
