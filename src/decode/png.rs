//! PNG → 8-bit RGB with the `png` crate, as PIL's `convert('RGB')` sees it: palettes expanded,
//! alpha dropped (not composited), grey replicated, 16-bit samples cut to their high byte.

use std::io::Cursor;

use super::RgbImage;
use crate::error::{Error, Result};

fn fail(e: impl std::fmt::Display) -> Error {
    Error::ImageDecode(format!("PNG: {e}"))
}

/// Decodes a PNG whose decoded size was already checked against `max_bytes`; the decoder's
/// own allocations are held to the same budget.
pub(crate) fn decode(bytes: &[u8], max_bytes: u64) -> Result<RgbImage> {
    let limits = png::Limits {
        bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(bytes), limits);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(fail)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| fail("an image too large to address"))?;
    let mut buf = vec![0u8; size];
    let info = reader.next_frame(&mut buf).map_err(fail)?;
    let (width, height) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let data = match channels {
        3 => {
            buf.truncate(width * height * 3);
            buf
        }
        1 | 2 | 4 => {
            let mut rgb = Vec::with_capacity(width * height * 3);
            for px in buf[..width * height * channels].chunks_exact(channels) {
                if channels >= 3 {
                    rgb.extend_from_slice(&px[..3]);
                } else {
                    rgb.extend_from_slice(&[px[0]; 3]);
                }
            }
            rgb
        }
        n => return Err(fail(format!("{n} samples per pixel"))),
    };
    Ok(RgbImage {
        width: info.width,
        height: info.height,
        data,
    })
}
