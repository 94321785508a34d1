//! Encoded JPEG / PNG bytes → RGB pixels, refusing oversized images before allocating them.

mod jpeg;
mod png;

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

/// The formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Jpeg,
    Png,
}

/// The format from the first bytes.
fn sniff(bytes: &[u8]) -> Result<Format> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(Format::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok(Format::Png)
    } else {
        let other = [
            (&b"GIF8"[..], "GIF"),
            (b"RIFF", "WebP"),
            (b"BM", "BMP"),
            (b"II*\0", "TIFF"),
            (b"MM\0*", "TIFF"),
        ]
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, name)| format!("{name} images are not supported; use JPEG or PNG"));
        Err(Error::ImageDecode(
            other.unwrap_or_else(|| "not a JPEG or PNG image".into()),
        ))
    }
}

/// Decodes JPEG or PNG bytes (any bit depth, grayscale, palette or alpha) to 8-bit RGB.
/// The declared size is checked against `max_bytes` before any pixel memory is allocated.
pub fn decode(bytes: &[u8], max_bytes: u64) -> Result<RgbImage> {
    decode_reduced(bytes, max_bytes, None)
}

/// [`decode`], with a JPEG decoded at 1/2, 1/4 or 1/8 of its size (libjpeg's DCT scaling, as
/// PIL's `draft` asks for) when its shorter side stays at least `2 × min_side` at that scale:
/// a 12 MP photo for a 224-pixel crop (`min_side` 256) decodes at 1/4 into 0.75 MP. `max_bytes`
/// then bounds the reduced decode. `None`: full size, the reference pipeline's pixels.
pub fn decode_reduced(bytes: &[u8], max_bytes: u64, min_side: Option<u32>) -> Result<RgbImage> {
    if bytes.is_empty() {
        return Err(Error::ImageDecode("no bytes".into()));
    }
    let format = sniff(bytes)?;
    if format == Format::Jpeg && !jpeg_is_complete(bytes) {
        return Err(Error::ImageDecode(
            "truncated JPEG: no end-of-image marker after the image data".into(),
        ));
    }
    // The size the header declares, checked before a decoder exists.
    let (width, height) = match format {
        Format::Jpeg => {
            let h = jpeg::header(bytes)?;
            (h.width, h.height)
        }
        Format::Png => {
            png_size(bytes).ok_or_else(|| Error::ImageDecode("PNG: no header".into()))?
        }
    };
    if width == 0 || height == 0 {
        return Err(Error::InputSize(format!("image is {width}x{height}")));
    }
    // The reduced image keeps at least twice the side the resize needs: reduced to exactly
    // that side, the 128-pixel V1 changed its top-1 on golden photos (the DCT average is not
    // the resize's filter); with the margin it is the resize that does the last halving.
    let scale = match (format, min_side) {
        (Format::Jpeg, Some(side)) => [8u32, 4, 2]
            .into_iter()
            .find(|&s| width.min(height).div_ceil(s) >= 2 * side.max(1))
            .unwrap_or(1),
        _ => 1,
    };
    let (w, h) = (width.div_ceil(scale) as u64, height.div_ceil(scale) as u64);
    // At least 8-bit RGB, decoded and converted: twice three bytes per pixel.
    let needed = (w * h).saturating_mul(6);
    if needed > max_bytes {
        return Err(Error::ImageTooLarge {
            width: width as u64,
            height: height as u64,
            bytes: needed,
            limit: max_bytes,
        });
    }
    match format {
        Format::Jpeg => jpeg::decode(bytes, max_bytes, scale as usize),
        Format::Png => self::png::decode(bytes, max_bytes),
    }
}

/// PNG's width and height from its IHDR chunk (always the first).
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let be32 = |at: usize| Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?));
    (bytes.get(12..16) == Some(b"IHDR")).then_some(())?;
    Some((be32(16)?, be32(20)?))
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
