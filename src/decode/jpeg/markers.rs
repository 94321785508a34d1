//! The segments before and between scans: frame and scan headers, quantization and Huffman
//! tables, restart interval, and the JFIF / Adobe markers that say what the colours are.

use super::entropy::Huffman;
use super::fail;
use crate::error::Result;

/// Zigzag index → natural (row-major) index, with 16 extra entries so a corrupt run that
/// overshoots writes coefficient 63 (libjpeg's `jpeg_natural_order`).
pub(super) const NATURAL: [usize; 80] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
    63, 63, 63, 63, 63, 63,
];

/// One colour component of the frame.
#[derive(Debug, Clone)]
pub(super) struct Component {
    /// Identifier the scans refer to.
    pub id: u8,
    /// Horizontal and vertical sampling factors (1..=4).
    pub h: usize,
    pub v: usize,
    /// Quantization table slot (0..=3).
    pub slot: usize,
    /// The table in natural order, fixed when the component's first scan starts.
    pub quant: Option<[u16; 64]>,
    /// Samples per row and rows after downsampling.
    pub width: usize,
    pub height: usize,
    /// Blocks that hold real samples, across and down.
    pub blocks_w: usize,
    pub blocks_h: usize,
}

/// A start-of-frame segment.
#[derive(Debug, Clone)]
pub(super) struct Frame {
    /// Progressive (SOF2) rather than sequential (SOF0 / SOF1).
    pub progressive: bool,
    pub width: usize,
    pub height: usize,
    pub components: Vec<Component>,
    pub max_h: usize,
    pub max_v: usize,
    /// MCUs across and down in an interleaved scan.
    pub mcus_x: usize,
    pub mcus_y: usize,
}

/// What the samples of a 1-, 3- or 4-component frame are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ColorSpace {
    Gray,
    YCbCr,
    Rgb,
    Cmyk,
    Ycck,
}

/// A start-of-scan header.
#[derive(Debug, Clone)]
pub(super) struct Scan {
    /// Frame component index and its DC and AC table slots, in scan order.
    pub components: Vec<(usize, usize, usize)>,
    /// Spectral selection and successive approximation.
    pub ss: usize,
    pub se: usize,
    pub ah: u32,
    pub al: u32,
}

/// Tables and markers seen so far.
#[derive(Debug, Default)]
pub(super) struct Tables {
    pub quant: [Option<[u16; 64]>; 4],
    pub dc: [Option<Huffman>; 4],
    pub ac: [Option<Huffman>; 4],
    /// MCUs per restart interval, 0 when none.
    pub restart_interval: usize,
    pub jfif: bool,
    /// The Adobe marker's transform flag.
    pub adobe: Option<u8>,
}

fn be16(s: &[u8], at: usize) -> Result<usize> {
    match s.get(at..at + 2) {
        Some(b) => Ok(u16::from_be_bytes([b[0], b[1]]) as usize),
        None => Err(fail("a segment shorter than its fields")),
    }
}

fn byte(s: &[u8], at: usize) -> Result<u8> {
    s.get(at)
        .copied()
        .ok_or_else(|| fail("a segment shorter than its fields"))
}

impl Tables {
    /// DQT: one or more tables, 8- or 16-bit, stored in zigzag order.
    pub(super) fn quantization(&mut self, s: &[u8]) -> Result<()> {
        let mut at = 0;
        while at < s.len() {
            let pq_tq = s[at];
            let (precision, slot) = (pq_tq >> 4, (pq_tq & 15) as usize);
            if slot > 3 || precision > 1 {
                return Err(fail("a quantization table with a bad slot or precision"));
            }
            at += 1;
            let mut table = [0u16; 64];
            for &k in &NATURAL[..64] {
                table[k] = if precision == 0 {
                    at += 1;
                    byte(s, at - 1)? as u16
                } else {
                    at += 2;
                    be16(s, at - 2)? as u16
                };
            }
            self.quant[slot] = Some(table);
        }
        Ok(())
    }

    /// DHT: one or more Huffman tables.
    pub(super) fn huffman(&mut self, s: &[u8]) -> Result<()> {
        let mut at = 0;
        while at < s.len() {
            let (class, slot) = (s[at] >> 4, (s[at] & 15) as usize);
            if class > 1 || slot > 3 {
                return Err(fail("a Huffman table with a bad class or slot"));
            }
            let counts: [u8; 16] = s
                .get(at + 1..at + 17)
                .ok_or_else(|| fail("a Huffman table shorter than its counts"))?
                .try_into()
                .expect("16 bytes");
            let total: usize = counts.iter().map(|&c| c as usize).sum();
            let values = s
                .get(at + 17..at + 17 + total)
                .ok_or_else(|| fail("a Huffman table shorter than its values"))?;
            if class == 0 && values.iter().any(|&v| v > 15) {
                return Err(fail("a DC Huffman table with a value above 15"));
            }
            let table = Some(Huffman::new(&counts, values)?);
            if class == 0 {
                self.dc[slot] = table;
            } else {
                self.ac[slot] = table;
            }
            at += 17 + total;
        }
        Ok(())
    }

    /// DRI.
    pub(super) fn restart(&mut self, s: &[u8]) -> Result<()> {
        if s.len() != 2 {
            return Err(fail("a restart-interval segment of the wrong length"));
        }
        self.restart_interval = be16(s, 0)?;
        Ok(())
    }

    /// APP0 (JFIF) and APP14 (Adobe), which decide between RGB and YCbCr.
    pub(super) fn application(&mut self, marker: u8, s: &[u8]) {
        if marker == 0xE0 && s.starts_with(b"JFIF\0") {
            self.jfif = true;
        }
        if marker == 0xEE && s.len() >= 12 && s.starts_with(b"Adobe") {
            self.adobe = Some(s[11]);
        }
    }

    /// The colour space libjpeg assumes (`default_decompress_parms`).
    pub(super) fn color_space(&self, frame: &Frame) -> Result<ColorSpace> {
        Ok(match frame.components.len() {
            1 => ColorSpace::Gray,
            3 if self.jfif => ColorSpace::YCbCr,
            3 => match self.adobe {
                Some(0) => ColorSpace::Rgb,
                Some(_) => ColorSpace::YCbCr,
                None => {
                    let ids: Vec<u8> = frame.components.iter().map(|c| c.id).collect();
                    if ids == b"RGB" {
                        ColorSpace::Rgb
                    } else {
                        ColorSpace::YCbCr
                    }
                }
            },
            4 => match self.adobe {
                Some(0) | None => ColorSpace::Cmyk,
                Some(_) => ColorSpace::Ycck,
            },
            n => {
                return Err(fail(&format!(
                    "{n} colour components (1, 3 or 4 are supported)"
                )));
            }
        })
    }
}

/// SOF0 / SOF1 / SOF2.
pub(super) fn frame(s: &[u8], progressive: bool) -> Result<Frame> {
    let precision = byte(s, 0)?;
    if precision != 8 {
        return Err(fail(&format!(
            "{precision}-bit samples (8-bit JPEGs are supported)"
        )));
    }
    let (height, width, n) = (be16(s, 1)?, be16(s, 3)?, byte(s, 5)? as usize);
    if height == 0 {
        return Err(fail(
            "a frame whose height is given later (DNL) is not supported",
        ));
    }
    if width == 0 || n == 0 {
        return Err(fail("an empty frame"));
    }
    if s.len() != 6 + 3 * n {
        return Err(fail("a frame header of the wrong length"));
    }
    let mut components = Vec::with_capacity(n);
    for i in 0..n {
        let at = 6 + 3 * i;
        let (h, v) = ((s[at + 1] >> 4) as usize, (s[at + 1] & 15) as usize);
        let slot = s[at + 2] as usize;
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || slot > 3 {
            return Err(fail("a component with bad sampling factors or table slot"));
        }
        components.push(Component {
            id: s[at],
            h,
            v,
            slot,
            quant: None,
            width: 0,
            height: 0,
            blocks_w: 0,
            blocks_h: 0,
        });
    }
    let max_h = components.iter().map(|c| c.h).max().unwrap_or(1);
    let max_v = components.iter().map(|c| c.v).max().unwrap_or(1);
    for c in &mut components {
        c.width = (width * c.h).div_ceil(max_h);
        c.height = (height * c.v).div_ceil(max_v);
        c.blocks_w = c.width.div_ceil(8);
        c.blocks_h = c.height.div_ceil(8);
    }
    Ok(Frame {
        progressive,
        width,
        height,
        components,
        max_h,
        max_v,
        mcus_x: width.div_ceil(8 * max_h),
        mcus_y: height.div_ceil(8 * max_v),
    })
}

/// SOS, checked against the frame (libjpeg's `get_sos` and the scan checks of `jdphuff.c`).
pub(super) fn scan(s: &[u8], frame: &Frame) -> Result<Scan> {
    let n = byte(s, 0)? as usize;
    if !(1..=4).contains(&n) || s.len() != 4 + 2 * n {
        return Err(fail("a scan header of the wrong length"));
    }
    let mut components: Vec<(usize, usize, usize)> = Vec::with_capacity(n);
    for i in 0..n {
        let (id, tables) = (s[1 + 2 * i], s[2 + 2 * i]);
        let index = frame
            .components
            .iter()
            .position(|c| c.id == id)
            .ok_or_else(|| {
                fail(&format!(
                    "a scan names component {id}, which the frame lacks"
                ))
            })?;
        if components.iter().any(|c| c.0 == index) {
            return Err(fail("a scan names a component twice"));
        }
        let (dc, ac) = ((tables >> 4) as usize, (tables & 15) as usize);
        if dc > 3 || ac > 3 {
            return Err(fail("a scan uses a Huffman table slot above 3"));
        }
        components.push((index, dc, ac));
    }
    let at = 1 + 2 * n;
    let (ss, se, ah, al) = (
        s[at] as usize,
        s[at + 1] as usize,
        (s[at + 2] >> 4) as u32,
        (s[at + 2] & 15) as u32,
    );
    if frame.progressive {
        let bad = if ss == 0 {
            se != 0
        } else {
            ss > se || se > 63 || n != 1
        };
        if bad || (ah != 0 && al + 1 != ah) || al > 13 {
            return Err(fail(
                "a progressive scan with bad spectral or approximation bounds",
            ));
        }
    }
    let blocks: usize = components
        .iter()
        .map(|c| frame.components[c.0].h * frame.components[c.0].v)
        .sum();
    if n > 1 && blocks > 10 {
        return Err(fail("an MCU of more than 10 blocks"));
    }
    Ok(Scan {
        components,
        ss,
        se,
        ah,
        al,
    })
}
