//! Entry points shared by the fuzz targets (`fuzz/`, cargo fuzz) and the regression test that
//! replays every input they ever crashed on (`tests/fuzz_regressions.rs`). Each takes arbitrary
//! bytes and must return without panicking; errors are the expected outcome for most inputs.
#![doc(hidden)]

use crate::decode;
use crate::preprocess::{PixelFormat, Pixels, center_crop};
use crate::tflite;

/// The TFLite reader. A first byte of 1 splits the rest at its middle into two files (split
/// backbone + head models); anything else is one file.
pub fn tflite_load(data: &[u8]) {
    match data.split_first() {
        Some((1, rest)) => {
            let (a, b) = rest.split_at(rest.len() / 2);
            let _ = tflite::load(&[a, b]);
        }
        _ => {
            let _ = tflite::load(&[data]);
        }
    }
}

/// Image decoding (JPEG, PNG), with a 16 MiB limit so that the fuzzer stays fast (the limit is
/// checked the same way whatever its value).
pub fn decode(data: &[u8]) {
    if let Ok(img) = decode::decode(data, 16 << 20) {
        assert_eq!(img.data.len(), img.width as usize * img.height as usize * 3);
    }
}

/// Preprocessing: bytes 0–1 width, 2–3 height (little endian), 4 format and crop size, then
/// pixels. When the pixels are too few for the declared size they are repeated to fill it, up
/// to 4 MiB, so that both the validation and the resize are exercised.
pub fn preprocess(data: &[u8]) {
    if data.len() < 6 {
        return;
    }
    let width = u16::from_le_bytes([data[0], data[1]]) as u32;
    let height = u16::from_le_bytes([data[2], data[3]]) as u32;
    let format = if data[4] & 1 == 0 {
        PixelFormat::Rgb
    } else {
        PixelFormat::Rgba
    };
    let size = [96, 128, 160, 192, 224, 1, 2, 300][(data[4] >> 1) as usize % 8];
    let pixels = &data[5..];
    let needed = width as usize * height as usize * format.channels();
    let filled: Vec<u8>;
    let buffer = if data[4] & 0x80 != 0 && needed <= 4 << 20 && !pixels.is_empty() {
        filled = pixels.iter().copied().cycle().take(needed).collect();
        &filled[..]
    } else {
        pixels
    };
    if let Ok(p) = Pixels::new(buffer, width, height, format)
        && let Ok(crop) = center_crop(p, size)
    {
        assert_eq!(crop.len(), (size * size * 3) as usize);
    }
}
