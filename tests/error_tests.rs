//! Bad input gets a typed error with a stable code: never a panic, a hang or silent garbage.

mod common;

use std::io::Cursor;

use common::*;
use flatbuffers::FlatBufferBuilder;
use image::{ImageFormat, RgbaImage};
use mobilenet_wasm::decode::{MAX_DECODED_BYTES, decode};
use mobilenet_wasm::tflite::schema;
use mobilenet_wasm::{Classifier, Device, Error, PixelFormat, Pixels};

fn load(files: &[&[u8]]) -> Error {
    Classifier::from_tflite(files, None, &Device::flex()).expect_err("must be refused")
}

fn v2_bytes() -> Vec<u8> {
    entry("mobilenet_v2_1.0_224_quant")
        .read()
        .unwrap()
        .remove(0)
}

#[test]
fn empty_truncated_and_random_model_bytes() {
    assert_eq!(load(&[&[]]).code(), "E_MODEL_FORMAT");
    let v2 = v2_bytes();
    for cut in [7, 8, 100, 4096, v2.len() / 2, v2.len() - 1000] {
        let e = load(&[&v2[..cut]]);
        assert_eq!(e.code(), "E_MODEL_FORMAT", "cut at {cut}: {e}");
    }
    let mut state = 0x1234_5678_u32;
    let random: Vec<u8> = (0..100_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect();
    assert_eq!(load(&[&random]).code(), "E_MODEL_FORMAT");
    // Valid identifier, garbage after it.
    let mut fake = random.clone();
    fake[4..8].copy_from_slice(b"TFL3");
    assert_eq!(load(&[&fake]).code(), "E_MODEL_FORMAT");
}

#[test]
fn corrupted_model_bytes_never_panic() {
    let v2 = v2_bytes();
    // Flip bytes across the header and tables; any outcome but a panic is acceptable, and
    // a successful load must still produce a runnable model.
    for i in (0..4096).step_by(61) {
        let mut bad = v2.clone();
        bad[i] ^= 0xA5;
        if let Ok(mut clf) = Classifier::from_tflite(&[&bad], None, &Device::flex()) {
            let crop = vec![0u8; 224 * 224 * 3];
            clf.run_crop(&crop).unwrap();
        }
    }
}

/// A valid TFLite file holding a single ADD: well-formed, but not a MobileNet.
fn not_a_mobilenet() -> Vec<u8> {
    let mut b = FlatBufferBuilder::new();
    let mut tensor = |name: &str| {
        let shape = b.create_vector(&[1, 4, 4, 3]);
        let name = b.create_string(name);
        let args = schema::TensorArgs {
            shape: Some(shape),
            type_: schema::TensorType::FLOAT32,
            buffer: 0,
            name: Some(name),
            quantization: None,
        };
        schema::Tensor::create(&mut b, &args)
    };
    let (t0, t1) = (tensor("x"), tensor("y"));
    let tensors = b.create_vector(&[t0, t1]);
    let inputs = b.create_vector(&[0, 0]);
    let outputs = b.create_vector(&[1]);
    let add = schema::AddOptions::create(&mut b, &schema::AddOptionsArgs::default());
    let op = schema::Operator::create(
        &mut b,
        &schema::OperatorArgs {
            opcode_index: 0,
            inputs: Some(inputs),
            outputs: Some(outputs),
            builtin_options_type: schema::BuiltinOptions::AddOptions,
            builtin_options: Some(add.as_union_value()),
        },
    );
    let ops = b.create_vector(&[op]);
    let g_in = b.create_vector(&[0]);
    let g_out = b.create_vector(&[1]);
    let graph = schema::SubGraph::create(
        &mut b,
        &schema::SubGraphArgs {
            tensors: Some(tensors),
            inputs: Some(g_in),
            outputs: Some(g_out),
            operators: Some(ops),
            name: None,
        },
    );
    let graphs = b.create_vector(&[graph]);
    let code = schema::OperatorCode::create(
        &mut b,
        &schema::OperatorCodeArgs {
            builtin_code: 0,
            version: 1,
            ..Default::default()
        },
    );
    let codes = b.create_vector(&[code]);
    let empty = schema::Buffer::create(&mut b, &schema::BufferArgs::default());
    let buffers = b.create_vector(&[empty]);
    let model = schema::Model::create(
        &mut b,
        &schema::ModelArgs {
            version: 3,
            operator_codes: Some(codes),
            subgraphs: Some(graphs),
            buffers: Some(buffers),
            ..Default::default()
        },
    );
    schema::finish_model_buffer(&mut b, model);
    b.finished_data().to_vec()
}

#[test]
fn valid_tflite_that_is_not_a_mobilenet() {
    let e = load(&[&not_a_mobilenet()]);
    assert_eq!(e.code(), "E_MODEL_UNSUPPORTED", "{e}");
    println!("not a MobileNet: {e}");
    assert!(
        e.to_string().contains("Add"),
        "the message names the operator: {e}"
    );
    // A real TFLite file of another kind: DeepLab segmentation (dilated convolutions, ARG_MAX).
    let deeplab = entry("deeplabv3_mnv2_pascal_quant").read().unwrap();
    let e = load(&[&deeplab[0]]);
    assert_eq!(e.code(), "E_MODEL_UNSUPPORTED", "{e}");
    println!("DeepLab: {e}");
    assert!(
        e.to_string().contains("dilation"),
        "the message names what it cannot place: {e}"
    );
}

#[test]
fn split_model_parts_alone_and_together() {
    let split = entry("mobilenet_v1_1.0_224_quant_split");
    let files = split.read().unwrap();
    let (backbone, head) = (&files[0], &files[1]);
    let e = load(&[head]);
    assert_eq!(e.code(), "E_MODEL_INCOMPLETE", "{e}");
    assert!(e.to_string().contains("head"), "{e}");
    let e = load(&[backbone]);
    assert_eq!(e.code(), "E_MODEL_INCOMPLETE", "{e}");
    // Either order loads.
    for order in [[backbone, head], [head, backbone]] {
        let clf = Classifier::from_tflite(&[order[0], order[1]], None, &Device::flex()).unwrap();
        assert_eq!(clf.info().num_classes, 1000);
    }
    // A head after the wrong backbone is refused.
    let v2 = v2_bytes();
    assert!(matches!(
        load(&[&v2, head]).code(),
        "E_MODEL_INCOMPLETE" | "E_MODEL_UNSUPPORTED"
    ));
}

fn encode(image: image::DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

#[test]
fn unusual_images_decode_and_classify() {
    let mut clf = classifier("mobilenet_v2_1.0_224_quant", &Device::flex());
    let rgba = RgbaImage::from_fn(40, 30, |x, y| {
        image::Rgba([(x * 6) as u8, (y * 8) as u8, 90, 128])
    });
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "1x1",
            encode(
                image::DynamicImage::ImageRgb8(image::RgbImage::new(1, 1)),
                ImageFormat::Png,
            ),
        ),
        (
            "grayscale",
            encode(
                image::DynamicImage::ImageLuma8(image::GrayImage::new(33, 17)),
                ImageFormat::Png,
            ),
        ),
        (
            "16-bit",
            encode(
                image::DynamicImage::ImageRgb16(image::ImageBuffer::new(20, 20)),
                ImageFormat::Png,
            ),
        ),
        (
            "rgba",
            encode(image::DynamicImage::ImageRgba8(rgba), ImageFormat::Png),
        ),
        (
            "grayscale jpeg",
            encode(
                image::DynamicImage::ImageLuma8(image::GrayImage::new(64, 48)),
                ImageFormat::Jpeg,
            ),
        ),
        ("palette", palette_png()),
    ];
    for (what, bytes) in cases {
        let top = clf
            .classify_encoded(&bytes, 5)
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(top.len(), 5, "{what}");
        assert!(top.iter().all(|p| p.probability.is_finite()), "{what}");
    }
}

/// An indexed-colour PNG, written by hand-picked bytes through the png encoder.
fn palette_png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 4, 4);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(vec![255, 0, 0, 0, 255, 0, 0, 0, 255]);
        let mut w = enc.write_header().unwrap();
        w.write_image_data(&[0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
            .unwrap();
    }
    out
}

#[test]
fn bad_images_are_refused_with_codes() {
    let mut clf = classifier("mobilenet_v2_1.0_224_quant", &Device::flex());
    assert_eq!(
        clf.classify_encoded(&[], 5).unwrap_err().code(),
        "E_IMAGE_DECODE"
    );
    assert_eq!(
        clf.classify_encoded(b"definitely not an image", 5)
            .unwrap_err()
            .code(),
        "E_IMAGE_DECODE"
    );
    let jpeg = read(&golden_dir().join("n01440764_tench.JPEG"));
    assert_eq!(
        clf.classify_encoded(&jpeg[..jpeg.len() / 3], 5)
            .unwrap_err()
            .code(),
        "E_IMAGE_DECODE"
    );
    assert_eq!(
        clf.classify_encoded(&jpeg, 0).unwrap_err().code(),
        "E_ARGUMENT"
    );
    // Zero-sized and inconsistent raw pixels.
    assert_eq!(
        Pixels::new(&[], 0, 10, PixelFormat::Rgba)
            .unwrap_err()
            .code(),
        "E_INPUT_SIZE"
    );
    assert_eq!(
        Pixels::new(&[0; 12], 2, 2, PixelFormat::Rgba)
            .unwrap_err()
            .code(),
        "E_INPUT_SIZE"
    );
    // An extreme aspect ratio: only the crop is resized (the whole image would be
    // 256×7,680,000), so it is classified like any other.
    let thin = vec![0u8; 30000 * 3];
    let pixels = Pixels::new(&thin, 1, 30000, PixelFormat::Rgb).unwrap();
    assert_eq!(clf.classify(pixels, 5).unwrap().len(), 5);
}

/// A PNG header declaring `w × h` followed by a tiny, valid-looking IDAT.
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, 1, 1);
        enc.set_color(png::ColorType::Rgb);
        let mut wr = enc.write_header().unwrap();
        wr.write_image_data(&[1, 2, 3]).unwrap();
    }
    // Patch the IHDR size fields (offset 16) and its CRC.
    out[16..20].copy_from_slice(&w.to_be_bytes());
    out[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&out[12..29]);
    out[29..33].copy_from_slice(&crc.to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

#[test]
fn huge_declared_image_is_refused_before_allocation() {
    let bomb = png_declaring(60000, 60000);
    assert!(bomb.len() < 1024, "the bomb is {} bytes", bomb.len());
    let e = decode(&bomb, MAX_DECODED_BYTES).unwrap_err();
    assert_eq!(e.code(), "E_IMAGE_TOO_LARGE", "{e}");
    // 13000 × 13000 RGB is ~507 MB decoded plus its conversion: over 512 MiB.
    let e = decode(&png_declaring(13000, 13000), MAX_DECODED_BYTES).unwrap_err();
    assert_eq!(e.code(), "E_IMAGE_TOO_LARGE", "{e}");
}

/// A real 16×8 JPEG whose start-of-frame is patched to declare `width × height`.
fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    let img = image::RgbImage::from_fn(16, 8, |x, y| image::Rgb([x as u8 * 9, y as u8 * 20, 7]));
    let mut jpeg = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut jpeg),
        image::ImageFormat::Jpeg,
    )
    .unwrap();
    let sof = jpeg
        .windows(2)
        .position(|w| w[0] == 0xFF && matches!(w[1], 0xC0 | 0xC2))
        .expect("a start-of-frame segment");
    assert_eq!(
        u16::from_be_bytes([jpeg[sof + 5], jpeg[sof + 6]]),
        8,
        "height field"
    );
    jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    jpeg
}

#[test]
fn huge_declared_jpeg_is_refused_before_allocation() {
    let e = decode(&jpeg_declaring(60000, 60000), MAX_DECODED_BYTES).unwrap_err();
    assert_eq!(e.code(), "E_IMAGE_TOO_LARGE", "{e}");
    assert!(e.to_string().contains("60000x60000"), "{e}");
    // The control: the same file declaring its real size decodes.
    let ok = decode(&jpeg_declaring(16, 8), MAX_DECODED_BYTES).unwrap();
    assert_eq!((ok.width, ok.height), (16, 8));
}
