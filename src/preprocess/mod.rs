//! Pixels of any size → the model's input, exactly as the reference pipeline does it:
//! bilinear resize (PIL's, which widens its filter when it downscales) of the whole image so the
//! shorter side is `round(S / 0.875)`, centre crop `S×S` with `left = (W - S) / 2` (floored),
//! then the model's own input scaling `(x - zero_point) * scale`.

mod resample;

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::spec::InputScaling;

/// Layout of a pixel buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    /// 3 bytes per pixel.
    Rgb,
    /// 4 bytes per pixel; alpha is dropped (as PIL's `convert('RGB')` does).
    Rgba,
}

impl PixelFormat {
    /// Bytes per pixel.
    pub fn channels(self) -> usize {
        match self {
            PixelFormat::Rgb => 3,
            PixelFormat::Rgba => 4,
        }
    }
}

/// Borrowed, validated pixels.
#[derive(Debug, Clone, Copy)]
pub struct Pixels<'a> {
    data: &'a [u8],
    width: u32,
    height: u32,
    format: PixelFormat,
}

/// Largest side accepted for raw pixel input (also bounds the resize).
pub const MAX_SIDE: u32 = 1 << 15;

impl<'a> Pixels<'a> {
    /// Checks that `data` holds exactly `width × height` pixels of `format`.
    pub fn new(data: &'a [u8], width: u32, height: u32, format: PixelFormat) -> Result<Self> {
        if width == 0 || height == 0 {
            return Err(Error::InputSize(format!(
                "image is {width}x{height}; both sides must be at least 1"
            )));
        }
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(Error::InputSize(format!(
                "image is {width}x{height}; sides are limited to {MAX_SIDE}"
            )));
        }
        let expected = width as usize * height as usize * format.channels();
        if data.len() != expected {
            return Err(Error::InputSize(format!(
                "{} bytes of pixels for a {width}x{height} {format:?} image, which needs {expected}",
                data.len()
            )));
        }
        Ok(Self {
            data,
            width,
            height,
            format,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }
}

/// Python's `round` (half to even), which the reference pipeline used for the resize size.
fn round_half_even(x: f64) -> u32 {
    x.round_ties_even() as u32
}

/// The size the whole image is resized to before the centre crop.
pub fn resize_dims(width: u32, height: u32, size: u32) -> (u32, u32) {
    let short_target = round_half_even(size as f64 / 0.875);
    if width <= height {
        let h = round_half_even(height as f64 * short_target as f64 / width as f64);
        (short_target, h.max(size))
    } else {
        let w = round_half_even(width as f64 * short_target as f64 / height as f64);
        (w.max(size), short_target)
    }
}

/// Resize and centre-crop to `size × size` RGB bytes (HWC), the exact crop the reference fed.
pub fn center_crop(pixels: Pixels<'_>, size: u32) -> Result<Vec<u8>> {
    center_crop_zoomed(pixels, size, 1.0)
}

/// [`center_crop`] of the image resized `zoom` times larger (a tighter crop of the centre: the
/// custom classes' crop augmentation).
pub(crate) fn center_crop_zoomed(pixels: Pixels<'_>, size: u32, zoom: f64) -> Result<Vec<u8>> {
    let rgb: std::borrow::Cow<'_, [u8]> = match pixels.format {
        PixelFormat::Rgb => pixels.data.into(),
        PixelFormat::Rgba => pixels
            .data
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect::<Vec<u8>>()
            .into(),
    };
    let (nw, nh) = resize_dims(pixels.width, pixels.height, size);
    let (nw, nh) = if zoom == 1.0 {
        (nw, nh)
    } else {
        let z = |v: u32| ((v as f64 * zoom).round() as u32).max(size);
        (z(nw), z(nh))
    };
    let (left, top) = ((nw - size) / 2, (nh - size) / 2);
    Ok(resample::resize_window(
        &rgb,
        pixels.width as usize,
        pixels.height as usize,
        (nw as usize, nh as usize),
        (left as usize, top as usize),
        size as usize,
    ))
}

/// `size × size` RGB bytes (HWC) → `[1, size, size, 3]` (NHWC) scaled as the model expects.
pub(crate) fn to_tensor(
    crop: &[u8],
    size: usize,
    scaling: InputScaling,
    device: &Device,
) -> Tensor<4> {
    let hwc: Vec<f32> = crop
        .iter()
        .enumerate()
        .map(|(i, &v)| scaling.apply(v, i % 3))
        .collect();
    Tensor::from_data(TensorData::new(hwc, [1, size, size, 3]), device)
}
