//! Accuracy on the 1000 golden images for every model in the models directory, against the
//! TFLite interpreter's figure recorded in each model's PROVENANCE.md.

mod common;

use common::*;
use mobilenet_wasm::catalog::{self, imagenet_labels, imagenet_wnids};
use mobilenet_wasm::decode::{MAX_DECODED_BYTES, decode};
use mobilenet_wasm::{Classifier, Device, PixelFormat, Pixels};

/// Allowed gap in top-1 points: V3-Small's quantized graph is one TFLite's own backends
/// disagree on, so it gets 2.0; everything else 1.0.
fn tolerance(name: &str) -> f64 {
    if name.contains("v3") { 2.0 } else { 1.0 }
}

#[test]
fn every_model_matches_tflite_accuracy_on_the_golden_set() {
    let dir = models_dir();
    let entries: Vec<_> = catalog::discover(&dir)
        .unwrap()
        .into_iter()
        .filter(|e| e.reference_accuracy.is_some())
        .collect();
    assert!(
        entries.len() >= 10,
        "expected the 10 classification models, found {}",
        entries.len()
    );
    let wnids = imagenet_wnids(&dir).unwrap();
    let mut images: Vec<_> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    images.sort();
    assert_eq!(images.len(), 1000);
    let files: Vec<Vec<Vec<u8>>> = entries.iter().map(|e| e.read().unwrap()).collect();
    let labels = imagenet_labels(&dir).ok();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4);
    // hits[model] = (top-1, top-5); logits[model] = (image, raw outputs) for the digest below.
    type Logits = Vec<Vec<(usize, Vec<f32>)>>;
    let results: Vec<(Vec<(usize, usize)>, Logits)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (files, images, wnids, labels) = (&files, &images, &wnids, &labels);
                s.spawn(move || {
                    let mut models: Vec<Classifier> = files
                        .iter()
                        .map(|f| {
                            let refs: Vec<&[u8]> = f.iter().map(Vec::as_slice).collect();
                            Classifier::from_tflite(&refs, labels.clone(), &Device::flex()).unwrap()
                        })
                        .collect();
                    let mut hits = vec![(0, 0); models.len()];
                    let mut logits: Logits = vec![Vec::new(); models.len()];
                    for (i, path) in images.iter().enumerate().skip(t).step_by(threads) {
                        let name = path.file_name().unwrap().to_string_lossy();
                        let class = wnids
                            .iter()
                            .position(|w| name.starts_with(w.as_str()))
                            .expect("wnid");
                        let image = decode(&read(path), MAX_DECODED_BYTES).unwrap();
                        let pixels =
                            Pixels::new(&image.data, image.width, image.height, PixelFormat::Rgb)
                                .unwrap();
                        for (m, (h, l)) in models
                            .iter_mut()
                            .zip(hits.iter_mut().zip(logits.iter_mut()))
                        {
                            let (_, outputs) = m.run_crop(&m.crop(pixels).unwrap()).unwrap();
                            let top = m.top_k(&outputs, 5);
                            h.0 += usize::from(top[0].index == class);
                            h.1 += usize::from(top.iter().any(|p| p.index == class));
                            l.push((i, outputs));
                        }
                    }
                    (hits, logits)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let hits: Vec<&Vec<(usize, usize)>> = results.iter().map(|r| &r.0).collect();
    // The demo and the Worker show these figures from www/golden-accuracy.json: it must say
    // what is measured here.
    let shown: serde_json::Value = serde_json::from_slice(&read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www/golden-accuracy.json"),
    ))
    .unwrap();
    let mut failures = Vec::new();
    let mut digests = Vec::new();
    println!(
        "| model | top-1 | top-5 | TFLite top-1 | TFLite top-5 | Δ top-1 |\n|---|---|---|---|---|---|"
    );
    for (m, entry) in entries.iter().enumerate() {
        let (t1, t5) = hits
            .iter()
            .fold((0, 0), |acc, h| (acc.0 + h[m].0, acc.1 + h[m].1));
        let (top1, top5) = (t1 as f64 / 10.0, t5 as f64 / 10.0);
        let (ref1, ref5) = entry.reference_accuracy.unwrap();
        let delta = top1 - ref1 as f64;
        println!(
            "| {} | {top1:.1} | {top5:.1} | {ref1:.1} | {ref5:.1} | {delta:+.1} |",
            entry.name
        );
        // A digest of every raw output in image order: refactors of the arithmetic compare it.
        let mut outputs: Vec<&(usize, Vec<f32>)> = results.iter().flat_map(|r| &r.1[m]).collect();
        outputs.sort_by_key(|(i, _)| *i);
        let bytes: Vec<u8> = outputs
            .iter()
            .flat_map(|(_, l)| l.iter().flat_map(|v| v.to_le_bytes()))
            .collect();
        digests.push(format!(
            "logits sha256 {}: {}",
            entry.name,
            mobilenet_wasm::tflite::sha256_hex(&bytes)
        ));
        let listed = shown["top1"][&entry.name].as_f64();
        if listed.is_none_or(|l| (l - top1).abs() > 0.05) {
            failures.push(format!(
                "{}: www/golden-accuracy.json lists {listed:?}, measured {top1:.1}",
                entry.name
            ));
        }
        if delta.abs() > tolerance(&entry.name) + 1e-9 {
            failures.push(format!(
                "{}: top-1 {top1:.1} vs TFLite {ref1:.1}",
                entry.name
            ));
        }
    }
    println!("{}", digests.join("\n"));
    assert!(failures.is_empty(), "outside tolerance: {failures:?}");
}
