//! Limits are checked before memory is allocated: a counting allocator records the peak bytes
//! allocated while a bad input is refused.
mod common;
#[path = "common/counting.rs"]
mod counting;

use counting::{SERIAL, peak_unlocked};
use mobilenet_wasm::Classifier;
use mobilenet_wasm::Device;
use mobilenet_wasm::decode::{MAX_DECODED_BYTES, decode};
use mobilenet_wasm::preprocess::{PixelFormat, Pixels, center_crop, resize_dims};
use mobilenet_wasm::tflite::MAX_MODEL_BYTES;

/// Bytes allocated at the peak of `f`, above what was live before it. Each test holds
/// [`SERIAL`] throughout ([`serial`]), so no other test allocates meanwhile.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    peak_unlocked(f)
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

const MIB: usize = 1 << 20;

/// A valid 1×1 PNG whose header is patched to declare `w × h`.
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 1, 1);
        enc.set_color(png::ColorType::Rgb);
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(&[1, 2, 3]).unwrap();
    }
    out[16..20].copy_from_slice(&w.to_be_bytes());
    out[20..24].copy_from_slice(&h.to_be_bytes());
    let mut c = !0u32;
    for &b in &out[12..29] {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    out[29..33].copy_from_slice(&(!c).to_be_bytes());
    out
}

#[test]
fn png_declaring_60000_by_60000_is_refused_without_allocating() {
    let _serial = serial();
    let bomb = png_declaring(60000, 60000);
    assert!(bomb.len() < 1024);
    let (result, peak) = peak_during(|| decode(&bomb, MAX_DECODED_BYTES));
    assert_eq!(result.unwrap_err().code(), "E_IMAGE_TOO_LARGE");
    println!(
        "decode of a {}-byte PNG declaring 60000×60000: peak {peak} bytes",
        bomb.len()
    );
    assert!(peak < MIB, "allocated {peak} bytes before refusing");

    // Through the classifier too (model built before measuring).
    let mut clf = common::classifier("mobilenet_v1_0.25_128_quant", &Device::flex());
    let (result, peak) = peak_during(|| clf.classify_encoded(&bomb, 5));
    assert_eq!(result.unwrap_err().code(), "E_IMAGE_TOO_LARGE");
    assert!(
        peak < MIB,
        "classify_encoded allocated {peak} bytes before refusing"
    );
}

#[test]
fn control_a_real_decode_does_allocate() {
    let _serial = serial();
    // The counter works: decoding a 1000×800 PNG allocates at least its 2.4 MB of pixels.
    let img = image::RgbImage::from_fn(1000, 800, |x, y| image::Rgb([x as u8, y as u8, 7]));
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let (result, peak) = peak_during(|| decode(&png, MAX_DECODED_BYTES));
    assert_eq!(result.unwrap().width, 1000);
    assert!(peak >= 2_400_000, "peak {peak}");
}

#[test]
fn oversized_model_and_pixel_buffers_are_refused_without_allocating() {
    let _serial = serial();
    let big = vec![0u8; MAX_MODEL_BYTES + 1];
    let device = Device::flex();
    let (result, peak) =
        peak_during(|| Classifier::from_tflite(&[&big], None, &device).map(|_| ()));
    assert_eq!(result.unwrap_err().code(), "E_MODEL_SIZE");
    assert!(peak < MIB, "allocated {peak} bytes");

    let few = [0u8; 12];
    let (result, peak) =
        peak_during(|| Pixels::new(&few, 60000, 60000, PixelFormat::Rgba).map(|_| ()));
    assert_eq!(result.unwrap_err().code(), "E_INPUT_SIZE");
    assert!(peak < 1024, "allocated {peak} bytes");
}

#[test]
fn extreme_aspect_ratios_are_cropped_without_a_full_size_intermediate() {
    let _serial = serial();
    // Found by fuzzing the preprocessing: 22×14102 pixels (0.9 MB) cropped at 300 was first
    // resized whole to 343×219863, a 216 MiB intermediate. Only the crop's pixels are resized
    // now: the memory is that of the crop and the rows it reads.
    let (w, h, size) = (22, 14102, 300);
    let (nw, nh) = resize_dims(w, h, size);
    assert!(nw as u64 * nh as u64 * 3 > 200 * MIB as u64);
    let thin = vec![7u8; (w * h * 3) as usize];
    let pixels = Pixels::new(&thin, w, h, PixelFormat::Rgb).unwrap();
    let (result, peak) = peak_during(|| center_crop(pixels, size));
    assert_eq!(result.unwrap(), vec![7u8; (size * size * 3) as usize]);
    assert!(
        peak < MIB,
        "allocated {peak} bytes for a {size}x{size} crop"
    );

    // A 12 MP photo: the crop's rows and columns only (the whole resized image was 3 MB).
    let photo = vec![7u8; 4000 * 3000 * 3];
    let pixels = Pixels::new(&photo, 4000, 3000, PixelFormat::Rgb).unwrap();
    let (result, peak) = peak_during(|| center_crop(pixels, 224));
    assert_eq!(result.unwrap().len(), 224 * 224 * 3);
    assert!(peak < 8 * MIB, "allocated {peak} bytes");
}

/// 1,000 examples hold their embeddings and little more: each vector one exact allocation.
#[test]
fn a_thousand_examples_hold_their_embeddings_and_little_more() {
    let _serial = serial();
    let device = Device::flex();
    let base = common::classifier("mobilenet_v1_0.25_128_quant", &device);
    let dim = base.info().embedding_size;
    let vectors: Vec<Vec<Vec<f32>>> = (0..1000)
        .map(|i| {
            vec![
                (0..dim)
                    .map(|j| ((i * 31 + j * 7) % 97) as f32 / 97.0)
                    .collect(),
            ]
        })
        .collect();
    let mut c = mobilenet_wasm::CustomClassifier::new(&base);
    let (_, peak) = peak_during(|| {
        for (i, v) in vectors.iter().enumerate() {
            c.add_embeddings(&format!("class {}", i % 10), v).unwrap();
        }
    });
    let embeddings = 1000 * dim * 4;
    println!(
        "1,000 examples of {dim} values: peak {peak} bytes allocated, {:.0} per example \
         ({} of embedding); memory_bytes() {}",
        peak as f64 / 1000.0,
        dim * 4,
        c.memory_bytes()
    );
    assert!(peak >= embeddings);
    assert!(
        peak <= embeddings + 1000 * 64,
        "{peak} bytes for {embeddings} of embeddings"
    );
    assert!(c.memory_bytes() >= embeddings && c.memory_bytes() <= peak);
}
