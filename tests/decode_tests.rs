//! The JPEG decoder and the resize against PIL, the reference pipeline's own: golden photos
//! re-encoded by PIL as baseline, progressive, optimised, restart-marked, greyscale and CMYK
//! files with every chroma subsampling PIL writes, at odd sizes; each must decode to PIL's
//! exact pixels and crop to PIL's exact crop. Needs python3 with Pillow (`scripts/setup.sh`
//! installs it).

mod common;
use common::*;
use mobilenet_wasm::decode::{MAX_DECODED_BYTES, decode};
use mobilenet_wasm::preprocess::{PixelFormat, Pixels, center_crop};
use mobilenet_wasm::tflite::sha256_hex;

#[test]
fn jpeg_variants_decode_and_crop_exactly_as_pil_does() {
    let out = std::env::temp_dir().join(format!("mobilenet-jpeg-variants-{}", std::process::id()));
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/pil_jpeg_variants.py");
    let status = std::process::Command::new("python3")
        .arg(&script)
        .arg(golden_dir())
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("python3 not runnable ({e}): run scripts/setup.sh"));
    assert!(
        status.success(),
        "{} failed: is Pillow installed? (scripts/setup.sh)",
        script.display()
    );
    let expected: serde_json::Value =
        serde_json::from_slice(&read(&out.join("expected.json"))).unwrap();
    let mut failures = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for (file, want) in expected.as_object().unwrap() {
        kinds.insert(
            file.split_once('-')
                .unwrap()
                .1
                .trim_end_matches(".jpg")
                .to_string(),
        );
        let image = decode(&read(&out.join(file)), MAX_DECODED_BYTES)
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let size = [image.width as u64, image.height as u64];
        assert_eq!(
            want["size"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect::<Vec<_>>(),
            size,
            "{file}"
        );
        if sha256_hex(&image.data) != want["rgb"] {
            failures.push(format!("{file}: pixels differ from PIL's"));
            continue;
        }
        let pixels = Pixels::new(&image.data, image.width, image.height, PixelFormat::Rgb).unwrap();
        if sha256_hex(&center_crop(pixels, 224).unwrap()) != want["crop"] {
            failures.push(format!("{file}: crop differs from PIL's"));
        }
    }
    let _ = std::fs::remove_dir_all(&out);
    println!(
        "{} files ({} kinds: {kinds:?}), {} differ from PIL",
        expected.as_object().unwrap().len(),
        kinds.len(),
        failures.len()
    );
    assert!(kinds.len() >= 11, "the variants script made only {kinds:?}");
    assert!(failures.is_empty(), "{failures:#?}");
}
