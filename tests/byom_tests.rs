//! A user's own MobileNets (Keras and Teachable-Machine-style exports in `../shared/byom`, made
//! by `../shared/tools/make_keras_models.py`) against the TFLite interpreter's outputs recorded in
//! their `reference.json`: every file loads, and its top-1 agrees with TFLite's on the 50 photos
//! (a quantized output that ties for first counts for every tied class). The directory can be
//! another made by the same script: `MOBILENET_BYOM_DIR`; `MOBILENET_BYOM_EXTRA` adds more
//! such directories (`:`-separated), for variants made locally.

mod common;

use std::path::PathBuf;

use common::*;
use mobilenet_wasm::decode::{MAX_DECODED_BYTES, decode};
use mobilenet_wasm::{Classifier, Device, LoadOptions, PixelFormat, Pixels};

fn byom_dir() -> PathBuf {
    let dir = std::env::var_os("MOBILENET_BYOM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| models_dir().join("../byom"));
    assert!(
        dir.join("reference.json").is_file(),
        "{} holds no reference.json (set MOBILENET_BYOM_DIR, or MOBILENET_MODELS_DIR beside it)",
        dir.display()
    );
    dir
}

/// Agreement of one model with TFLite: photos whose top-1 agrees, and the largest difference of
/// a top-5 probability.
struct Agreement {
    same: usize,
    photos: usize,
    largest: f32,
}

fn agreement(clf: &mut Classifier, record: &serde_json::Value) -> Agreement {
    let photos = record["photos"].as_object().unwrap();
    let (mut same, mut largest) = (0, 0.0f32);
    for (name, want) in photos {
        let bytes = read(&golden_dir().join(name));
        let image = decode(&bytes, MAX_DECODED_BYTES).unwrap();
        let pixels = Pixels::new(&image.data, image.width, image.height, PixelFormat::Rgb).unwrap();
        let n = clf.info().num_classes;
        let ours = clf.classify(pixels, n).unwrap();
        let top5: Vec<usize> = want["top5"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let probs: Vec<f32> = want["probs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        // Our top-1 agrees when TFLite gave its class the largest probability (ties included;
        // when all five listed classes tie, a sixth tied class is not listed, and agrees when
        // our probability for it is that same quantum).
        let best = ours[0].index;
        let listed = top5
            .iter()
            .zip(&probs)
            .any(|(&c, &p)| c == best && p == probs[0]);
        let tied_beyond = probs.len() == 5
            && probs.iter().all(|&p| p == probs[0])
            && !top5.contains(&best)
            && (ours[0].probability - probs[0]).abs() <= 5e-7; // the reference keeps 6 decimals
        let agrees = listed || tied_beyond;
        same += usize::from(agrees);
        if !agrees && std::env::var("BYOM_VERBOSE").is_ok() {
            let mine: Vec<(usize, f32)> = ours
                .iter()
                .take(5)
                .map(|p| (p.index, p.probability))
                .collect();
            println!("  {name}: ours {mine:?}, TFLite {top5:?} {probs:?}");
        }
        for (&c, &p) in top5.iter().zip(&probs) {
            let p_ours = ours
                .iter()
                .find(|q| q.index == c)
                .map_or(0.0, |q| q.probability);
            largest = largest.max((p_ours - p).abs());
        }
    }
    Agreement {
        same,
        photos: photos.len(),
        largest,
    }
}

#[test]
fn every_user_model_loads_and_agrees_with_tflite() {
    let main = byom_dir();
    let reference: serde_json::Value =
        serde_json::from_slice(&read(&main.join("reference.json"))).unwrap();
    let count = reference.as_object().unwrap().len();
    assert!(count >= 9, "expected the 9 user-style files, found {count}");
    let mut dirs = vec![(main, reference)];
    for extra in std::env::var("MOBILENET_BYOM_EXTRA")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.is_empty())
    {
        let dir = PathBuf::from(extra);
        let reference = serde_json::from_slice(&read(&dir.join("reference.json"))).unwrap();
        dirs.push((dir, reference));
    }
    let mut failures = Vec::new();
    println!(
        "| file | version | α | res | head | precision | same top-1 | largest Δp |\n|---|---|---|---|---|---|---|---|"
    );
    for (dir, reference) in &dirs {
        for (name, record) in reference.as_object().unwrap() {
            check_one(dir, name, record, &mut failures);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

fn check_one(
    dir: &std::path::Path,
    name: &str,
    record: &serde_json::Value,
    failures: &mut Vec<String>,
) {
    let bytes = read(&dir.join(format!("{name}.tflite")));
    let mut clf =
        match Classifier::from_tflite_with(&[&bytes], LoadOptions::default(), &Device::flex()) {
            Ok(c) => c,
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                return;
            }
        };
    let a = agreement(&mut clf, record);
    let info = clf.info();
    let quant = record["spec"]["quant"].as_str().unwrap_or("");
    let needed = if quant == "dynamic" { 47 } else { 49 };
    println!(
        "| {name} | {} | {} | {} | {} | {} | {}/{} | {:.4} |",
        info.version,
        info.width_multiplier,
        info.resolution,
        info.head,
        info.precision.name(),
        a.same,
        a.photos,
        a.largest
    );
    if a.same * 50 < needed * a.photos {
        failures.push(format!(
            "{name}: same top-1 on {}/{} (needs {needed}/50)",
            a.same, a.photos
        ));
    }
}
