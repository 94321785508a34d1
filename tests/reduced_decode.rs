//! JPEGs decoded at a reduced DCT scale (`decode: 'reduced'`, the Worker's default): what it
//! costs in fidelity on the golden photos large enough to be reduced, against the full decode
//! the reference pipeline uses, and what it saves in memory and time on a 12 MP photo.

mod common;
#[path = "common/counting.rs"]
mod counting;

use std::time::Instant;

use common::*;
use counting::{SERIAL, peak_unlocked as peak_during};
use mobilenet_wasm::catalog::imagenet_wnids;
use mobilenet_wasm::decode::{MAX_DECODED_BYTES, decode, decode_reduced};
use mobilenet_wasm::{Classifier, Device, LoadOptions, PixelFormat, Pixels};

/// The shorter side the crop of a 224-pixel model is resized from.
const SIDE: u32 = 256;

#[test]
fn reduced_decoding_keeps_the_top_1_of_large_golden_photos() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let wnids = imagenet_wnids(&models_dir()).unwrap();
    let device = Device::flex();
    let mut paths: Vec<_> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    let mut total = 0;
    // The 128-pixel V1 (resize side 146: photos from 584 pixels are reduced) and V2 (256).
    for (model, side) in [
        ("mobilenet_v1_0.25_128_quant", 146),
        ("mobilenet_v2_1.0_224_quant", SIDE),
    ] {
        let mut clf = classifier(model, &device);
        let (mut reduced, mut same, mut right_full, mut right_reduced) = (0, 0, 0, 0);
        for path in &paths {
            let bytes = read(path);
            let small = decode_reduced(&bytes, MAX_DECODED_BYTES, Some(side)).unwrap();
            let full = decode(&bytes, MAX_DECODED_BYTES).unwrap();
            if (small.width, small.height) == (full.width, full.height) {
                assert_eq!(
                    small.data, full.data,
                    "{path:?}: unreduced decodes must be identical"
                );
                continue;
            }
            reduced += 1;
            assert!(
                small.width.min(small.height) >= 2 * side,
                "{path:?} reduced too far"
            );
            let name = path.file_name().unwrap().to_string_lossy();
            let class = wnids
                .iter()
                .position(|w| name.starts_with(w.as_str()))
                .unwrap();
            let mut top1 = |img: &mobilenet_wasm::decode::RgbImage| {
                let px = Pixels::new(&img.data, img.width, img.height, PixelFormat::Rgb).unwrap();
                clf.classify(px, 1).unwrap()[0].index
            };
            let (a, b) = (top1(&full), top1(&small));
            same += usize::from(a == b);
            right_full += usize::from(a == class);
            right_reduced += usize::from(b == class);
        }
        println!(
            "{model}: reduced decode on the {reduced} golden photos large enough (shorter side ≥ \
             {}): same top-1 as the full decode on {same}; top-1 correct {right_full} (full) vs \
             {right_reduced} (reduced)",
            4 * side
        );
        // The cost must be small for the Worker to default to it: accuracy kept, and few top-1s
        // moved (the 128-pixel V1, right on 46 % of the set, flips on small changes either way).
        assert!(
            same * 100 >= reduced * 85,
            "{model}: {same} of {reduced} kept their top-1"
        );
        assert!(
            right_reduced + 2 >= right_full,
            "{model}: {right_reduced} vs {right_full}"
        );
        total += reduced;
    }
    assert!(total >= 30, "only {total} golden photos were reduced");
}

/// A 12 MP baseline JPEG (4:2:0, quality 90) made from a golden photo scaled up.
fn twelve_megapixels() -> Vec<u8> {
    let photo = decode(
        &read(&golden_dir().join("n01440764_tench.JPEG")),
        MAX_DECODED_BYTES,
    )
    .unwrap();
    let (w, h) = (4000u32, 3000u32);
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    for y in 0..h {
        let sy = (y * photo.height / h) as usize;
        for x in 0..w {
            let sx = (x * photo.width / w) as usize;
            let (s, d) = (
                (sy * photo.width as usize + sx) * 3,
                ((y * w + x) * 3) as usize,
            );
            rgb[d..d + 3].copy_from_slice(&photo.data[s..s + 3]);
        }
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

#[test]
fn a_twelve_megapixel_photo_reduced_takes_a_fraction_of_the_memory_and_fits_the_worker_budget() {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let jpeg = twelve_megapixels();
    let t = Instant::now();
    let (full, full_peak) = peak_during(|| decode(&jpeg, MAX_DECODED_BYTES).unwrap());
    let full_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let (small, small_peak) =
        peak_during(|| decode_reduced(&jpeg, MAX_DECODED_BYTES, Some(SIDE)).unwrap());
    let small_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "12 MP JPEG ({} KB): full decode {}×{} peak {:.1} MiB {full_ms:.0} ms; reduced {}×{} peak \
         {:.2} MiB {small_ms:.0} ms",
        jpeg.len() / 1024,
        full.width,
        full.height,
        full_peak as f64 / 1048576.0,
        small.width,
        small.height,
        small_peak as f64 / 1048576.0
    );
    assert_eq!((small.width, small.height), (1000, 750));
    assert!(
        small_peak * 10 < full_peak,
        "{small_peak} vs {full_peak} bytes"
    );
    // The Worker's budget (4 MP): the full decode is refused from the header, before
    // allocating; the reduced one fits and classifies like the full photo.
    let budget = 4_000_000u64;
    let (refused, refused_peak) = peak_during(|| decode(&jpeg, budget * 6).unwrap_err());
    assert_eq!(refused.code(), "E_IMAGE_TOO_LARGE");
    assert!(
        refused_peak < 1 << 20,
        "{refused_peak} bytes before refusing"
    );
    let device = Device::flex();
    let files = entry("mobilenet_v2_1.0_224_quant").read().unwrap();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let options = |reduced_decode| LoadOptions {
        max_pixels: Some(budget),
        reduced_decode,
        ..LoadOptions::default()
    };
    let mut worker = Classifier::from_tflite_with(&refs, options(true), &device).unwrap();
    let top = worker.classify_encoded(&jpeg, 1).unwrap()[0].index;
    let mut plain = Classifier::from_tflite_with(&refs, LoadOptions::default(), &device).unwrap();
    let px = || Pixels::new(&full.data, full.width, full.height, PixelFormat::Rgb).unwrap();
    assert_eq!(
        top,
        plain.classify(px(), 1).unwrap()[0].index,
        "reduced vs full decode"
    );
    let mut strict = Classifier::from_tflite_with(&refs, options(false), &device).unwrap();
    assert_eq!(
        strict.classify_encoded(&jpeg, 1).unwrap_err().code(),
        "E_IMAGE_TOO_LARGE"
    );
    // Pixels handed over whole are held to the same budget.
    assert_eq!(
        strict.classify(px(), 1).unwrap_err().code(),
        "E_IMAGE_TOO_LARGE"
    );
    // A thin PNG declaring 1×89,000,000 (356 MB once decoded) is refused from its header.
    let (thin, thin_peak) =
        peak_during(|| strict.classify_encoded(&png_declaring(1, 89_000_000), 1));
    assert_eq!(thin.unwrap_err().code(), "E_IMAGE_TOO_LARGE");
    assert!(thin_peak < 1 << 20, "{thin_peak} bytes before refusing");
    // And the next good photo still classifies.
    let golden = read(&golden_dir().join("n01440764_tench.JPEG"));
    assert!(!strict.classify_encoded(&golden, 1).unwrap().is_empty());
}

/// A PNG with a valid header declaring `width × height` and no real image data.
fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let crc = crc32(&ihdr);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(13u32.to_be_bytes());
    png.extend(&ihdr);
    png.extend(crc.to_be_bytes());
    png.extend([0, 0, 0, 0]);
    png.extend(b"IEND");
    png.extend(crc32(b"IEND").to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}
