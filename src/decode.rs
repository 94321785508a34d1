//! Encoded JPEG / PNG bytes → RGB pixels, refusing oversized images before allocating them.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};

use crate::error::{Error, Result};

/// Default ceiling on the memory a decoded image may take.
pub const MAX_DECODED_BYTES: u64 = 512 * 1024 * 1024;

/// A decoded RGB image.
#[derive(Debug, Clone)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// `width × height × 3` bytes.
    pub data: Vec<u8>,
}

/// Decodes JPEG or PNG bytes (any bit depth, grayscale, palette or alpha) to 8-bit RGB.
/// The declared size is checked against `max_bytes` before any pixel memory is allocated.
pub fn decode(bytes: &[u8], max_bytes: u64) -> Result<RgbImage> {
    if bytes.is_empty() {
        return Err(Error::ImageDecode("no bytes".into()));
    }
    let format = image::guess_format(bytes)
        .map_err(|_| Error::ImageDecode("not a JPEG or PNG image".into()))?;
    if !matches!(format, ImageFormat::Jpeg | ImageFormat::Png) {
        return Err(Error::ImageDecode(format!(
            "{format:?} images are not supported; use JPEG or PNG"
        )));
    }
    if format == ImageFormat::Jpeg && !jpeg_is_complete(bytes) {
        return Err(Error::ImageDecode(
            "truncated JPEG: no end-of-image marker after the image data".into(),
        ));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(max_bytes);
    reader.limits(limits);
    let decoder = reader
        .into_decoder()
        .map_err(|e| Error::ImageDecode(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(Error::InputSize(format!("image is {width}x{height}")));
    }
    // The decoded buffer and its 8-bit RGB conversion live at the same time.
    let needed = decoder
        .total_bytes()
        .saturating_add(width as u64 * height as u64 * 3);
    if needed > max_bytes {
        return Err(Error::ImageTooLarge {
            width: width as u64,
            height: height as u64,
            bytes: needed,
            limit: max_bytes,
        });
    }
    let image = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => Error::ImageTooLarge {
            width: width as u64,
            height: height as u64,
            bytes: needed,
            limit: max_bytes,
        },
        other => Error::ImageDecode(other.to_string()),
    })?;
    let rgb = image.into_rgb8();
    Ok(RgbImage {
        width,
        height,
        data: rgb.into_raw(),
    })
}

/// True when an end-of-image marker (FF D9) follows the last start-of-scan (FF DA). The JPEG
/// decoder fills missing data of a truncated file with grey instead of failing.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let marker = |m: u8| bytes.windows(2).rposition(|w| w == [0xFF, m]);
    match (marker(0xDA), marker(0xD9)) {
        (Some(sos), Some(eoi)) => eoi > sos,
        _ => false,
    }
}
