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
    // The size the header declares, checked before a decoder exists: on 32-bit targets the
    // decoders' own size arithmetic overflows for huge declared sizes and fails differently.
    let too_large = |width: u32, height: u32, bytes: u64| Error::ImageTooLarge {
        width: width as u64,
        height: height as u64,
        bytes,
        limit: max_bytes,
    };
    if let Some((width, height)) = declared_size(bytes, format) {
        // At least 8-bit RGB, decoded and converted: twice three bytes per pixel.
        let needed = (width as u64 * height as u64).saturating_mul(6);
        if needed > max_bytes {
            return Err(too_large(width, height, needed));
        }
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
        return Err(too_large(width, height, needed));
    }
    let image = DynamicImage::from_decoder(decoder).map_err(|e| match e {
        image::ImageError::Limits(_) => too_large(width, height, needed),
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

/// Width and height as the header declares them: PNG's IHDR (always the first chunk), or a
/// JPEG's first start-of-frame segment. `None` when the header is too short to say.
fn declared_size(bytes: &[u8], format: ImageFormat) -> Option<(u32, u32)> {
    let be16 = |at: usize| Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]));
    let be32 = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    match format {
        ImageFormat::Png if bytes.get(12..16) == Some(b"IHDR") => Some((be32(16)?, be32(20)?)),
        ImageFormat::Jpeg => {
            // Segments after SOI: FF, marker, 16-bit length (which counts itself).
            let mut at = 2;
            loop {
                if *bytes.get(at)? != 0xFF {
                    return None;
                }
                let marker = *bytes.get(at + 1)?;
                match marker {
                    0xFF => at += 1, // fill byte
                    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
                    0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                        return Some((be16(at + 7)? as u32, be16(at + 5)? as u32));
                    }
                    0xD8 | 0x01 | 0xD0..=0xD7 => at += 2, // markers without a length
                    0xDA | 0xD9 => return None,           // image data before any frame header
                    _ => at += 2 + be16(at + 2)? as usize,
                }
            }
        }
        _ => None,
    }
}
