//! A JPEG decoder that reproduces libjpeg-turbo's default decode, which PIL (and so the
//! reference pipeline of the published accuracy figures) uses: baseline and progressive
//! Huffman-coded 8-bit files, the integer inverse DCT, fancy upsampling and its colour tables.
//! Decoders that round differently shift pixels by ±1, which flips the top class of a
//! random-weight network on about 1 photo in 3 and moves accuracy figures by tenths.
//!
//! Every size is checked against the caller's budget before memory is allocated.

mod entropy;
mod idct;
mod markers;
mod output;
mod scan;

use markers::{Frame, Tables};
use output::Plane;
use scan::{Block, Sink};

use super::RgbImage;
use crate::error::{Error, Result};

/// A decode failure.
fn fail(what: &str) -> Error {
    Error::ImageDecode(format!("JPEG: {what}"))
}

/// The frame's size and what decoding it will allocate, from the headers alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub width: u32,
    pub height: u32,
}

/// Reads the segment at `at` (a marker with a length); returns (marker, payload, next).
fn segment(bytes: &[u8], at: usize) -> Result<(u8, &[u8], usize)> {
    let marker = bytes[at + 1];
    let len = match bytes.get(at + 2..at + 4) {
        Some(b) => u16::from_be_bytes([b[0], b[1]]) as usize,
        None => return Err(fail("truncated before a segment's length")),
    };
    if len < 2 || at + 2 + len > bytes.len() {
        return Err(fail("a segment longer than the file"));
    }
    Ok((marker, &bytes[at + 4..at + 2 + len], at + 2 + len))
}

/// The next marker at or after `at`, skipping stray bytes and fill bytes as libjpeg does.
fn next_marker(bytes: &[u8], mut at: usize) -> Result<usize> {
    loop {
        match (bytes.get(at), bytes.get(at + 1)) {
            (Some(0xFF), Some(&m)) if m != 0xFF && m != 0 => return Ok(at),
            (Some(_), Some(_)) => at += 1,
            _ => return Err(fail("truncated: no end-of-image marker")),
        }
    }
}

/// Width and height from the first frame header, without decoding.
pub(crate) fn header(bytes: &[u8]) -> Result<Header> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(fail("no start-of-image marker"));
    }
    let mut at = 2;
    loop {
        at = next_marker(bytes, at)?;
        match bytes[at + 1] {
            0xD8 | 0x01 | 0xD0..=0xD7 => at += 2,
            0xD9 | 0xDA => return Err(fail("no frame header before the image data")),
            m => {
                let (_, s, next) = segment(bytes, at)?;
                if matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC) {
                    let be16 = |i: usize| s.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
                    return match (be16(3), be16(1)) {
                        (Some(w), Some(h)) => Ok(Header {
                            width: w as u32,
                            height: h as u32,
                        }),
                        _ => Err(fail("a frame header shorter than its fields")),
                    };
                }
                at = next;
            }
        }
    }
}

/// Bytes decoding `frame` allocates: the component planes, the coefficients a progressive
/// frame keeps, and the RGB output.
fn memory(frame: &Frame, scale: usize) -> u64 {
    let blocks: u64 = frame
        .components
        .iter()
        .map(|c| c.blocks_w as u64 * c.blocks_h as u64)
        .sum();
    let coefficients = if frame.progressive { blocks * 128 } else { 0 };
    let (w, h) = (
        frame.width.div_ceil(scale) as u64,
        frame.height.div_ceil(scale) as u64,
    );
    blocks * 64 / (scale * scale) as u64 + coefficients + w * h * 3
}

/// The frame as a decode at `1/scale` of its size sees it (libjpeg's DCT scaling: each
/// component's samples and the output `⌈size / scale⌉`).
fn scaled_frame(frame: &Frame, scale: usize) -> Frame {
    let mut f = frame.clone();
    f.width = frame.width.div_ceil(scale);
    f.height = frame.height.div_ceil(scale);
    for c in &mut f.components {
        c.width = c.width.div_ceil(scale);
        c.height = c.height.div_ceil(scale);
    }
    f
}

/// Inverse-transforms a block into plane `p` at block `(x, y)`, at `1/scale` of its size.
fn put_block(block: &Block, quant: &[i16; 64], scale: usize, p: &mut Plane, x: usize, y: usize) {
    let n = 8 / scale;
    let at = y * n * p.width + x * n;
    if scale == 1 {
        idct::islow(block, quant, &mut p.data[at..], p.width);
    } else {
        idct::scaled(block, quant, scale, &mut p.data[at..], p.width);
    }
}

/// Sequential frames: each block goes through the inverse DCT as soon as it is decoded.
struct Direct<'a> {
    planes: &'a mut [Plane],
    quant: Vec<[i16; 64]>,
    block: Block,
    scale: usize,
}

impl Sink for Direct<'_> {
    fn block(&mut self, _: usize, _: usize, _: usize) -> &mut Block {
        &mut self.block
    }

    fn done(&mut self, c: usize, x: usize, y: usize) {
        put_block(
            &self.block,
            &self.quant[c],
            self.scale,
            &mut self.planes[c],
            x,
            y,
        );
    }
}

/// Progressive frames: coefficients kept for the whole image until the last scan.
struct Stored {
    blocks: Vec<Vec<Block>>,
    per_row: Vec<usize>,
}

impl Sink for Stored {
    fn block(&mut self, c: usize, x: usize, y: usize) -> &mut Block {
        &mut self.blocks[c][y * self.per_row[c] + x]
    }

    fn done(&mut self, _: usize, _: usize, _: usize) {}
}

/// Decodes a JPEG at `1/scale` of its size (1, 2, 4 or 8), refusing it before allocating when
/// decoding would take more than `max_bytes`.
pub(crate) fn decode(bytes: &[u8], max_bytes: u64, scale: usize) -> Result<RgbImage> {
    debug_assert!(matches!(scale, 1 | 2 | 4 | 8));
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err(fail("no start-of-image marker"));
    }
    let mut tables = Tables::default();
    let mut frame: Option<Frame> = None;
    let mut planes: Vec<Plane> = Vec::new();
    let mut stored: Option<Stored> = None;
    let mut scanned: Vec<bool> = Vec::new();
    let mut at = 2;
    loop {
        at = next_marker(bytes, at)?;
        let marker = bytes[at + 1];
        match marker {
            0xD9 => break,
            0xD8 | 0x01 | 0xD0..=0xD7 => {
                at += 2;
                continue;
            }
            _ => {}
        }
        let (_, s, next) = segment(bytes, at)?;
        at = next;
        match marker {
            0xDB => tables.quantization(s)?,
            0xC4 => tables.huffman(s)?,
            0xDD => tables.restart(s)?,
            0xE0..=0xEF => tables.application(marker, s),
            0xC0..=0xC2 => {
                if frame.is_some() {
                    return Err(fail("more than one frame"));
                }
                let f = markers::frame(s, marker == 0xC2)?;
                let needed = memory(&f, scale);
                if needed > max_bytes {
                    return Err(Error::ImageTooLarge {
                        width: f.width as u64,
                        height: f.height as u64,
                        bytes: needed,
                        limit: max_bytes,
                    });
                }
                planes = f
                    .components
                    .iter()
                    .map(|c| {
                        let n = 8 / scale;
                        Plane {
                            width: c.blocks_w * n,
                            data: vec![0; c.blocks_w * n * c.blocks_h * n],
                            rows: c.height.div_ceil(scale),
                            cols: c.width.div_ceil(scale),
                        }
                    })
                    .collect();
                if f.progressive {
                    stored = Some(Stored {
                        blocks: f
                            .components
                            .iter()
                            .map(|c| vec![[0i16; 64]; c.blocks_w * c.blocks_h])
                            .collect(),
                        per_row: f.components.iter().map(|c| c.blocks_w).collect(),
                    });
                }
                scanned = vec![false; f.components.len()];
                frame = Some(f);
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(fail(match marker {
                    0xC3 => "lossless JPEGs are not supported",
                    0xC9..=0xCB | 0xCD..=0xCF => "arithmetic-coded JPEGs are not supported",
                    _ => "hierarchical JPEGs are not supported",
                }));
            }
            0xDA => {
                let f = frame
                    .as_mut()
                    .ok_or_else(|| fail("image data before the frame header"))?;
                let sc = markers::scan(s, f)?;
                // A component's quantization table is fixed by its first scan (libjpeg's
                // `latch_quant_tables`).
                for &(c, _, _) in &sc.components {
                    if f.components[c].quant.is_none() {
                        let slot = f.components[c].slot;
                        let table = tables.quant[slot].ok_or_else(|| {
                            fail(&format!("quantization table {slot} is not defined"))
                        })?;
                        f.components[c].quant = Some(table);
                    }
                    scanned[c] = true;
                }
                let f = &*f;
                at = match stored.as_mut() {
                    Some(st) => scan::decode(bytes, at, f, &sc, &tables, st)?,
                    None => {
                        let quant = f
                            .components
                            .iter()
                            .map(|c| signed(c.quant.unwrap_or([0; 64])))
                            .collect();
                        let mut direct = Direct {
                            planes: &mut planes,
                            quant,
                            block: [0; 64],
                            scale,
                        };
                        scan::decode(bytes, at, f, &sc, &tables, &mut direct)?
                    }
                };
            }
            _ => {} // comments and other segments
        }
    }
    let frame = frame.ok_or_else(|| fail("no frame header"))?;
    if let Some(c) = scanned.iter().position(|s| !s) {
        return Err(fail(&format!(
            "component {} has no image data",
            frame.components[c].id
        )));
    }
    if let Some(st) = stored {
        for (c, (blocks, p)) in st.blocks.iter().zip(&mut planes).enumerate() {
            let quant = signed(frame.components[c].quant.expect("latched"));
            for (i, b) in blocks.iter().enumerate() {
                put_block(b, &quant, scale, p, i % st.per_row[c], i / st.per_row[c]);
            }
        }
    }
    let space = tables.color_space(&frame)?;
    let frame = scaled_frame(&frame, scale);
    let mut data = Vec::with_capacity(frame.width * frame.height * 3);
    output::rows(&frame, &planes, space, |row| {
        data.extend_from_slice(row);
        Ok(())
    })?;
    Ok(RgbImage {
        width: frame.width as u32,
        height: frame.height as u32,
        data,
    })
}

/// The multipliers as libjpeg-turbo's SIMD builds keep them (16-bit signed).
fn signed(q: [u16; 64]) -> [i16; 64] {
    q.map(|v| v as i16)
}
