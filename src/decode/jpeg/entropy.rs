//! Entropy-coded data: the bit reader (byte stuffing, markers) and Huffman decoding, as
//! libjpeg's `jdhuff.c` defines them (ITU T.81 F.2.2).

use super::fail;
use crate::error::Result;

/// Codes up to this many bits are decoded with one table look-up.
const LOOKAHEAD: u32 = 9;

/// A Huffman table ready for decoding.
#[derive(Debug, Clone)]
pub(super) struct Huffman {
    /// For each `LOOKAHEAD`-bit prefix: `(length << 8) | value`, or 0 when the code is longer.
    fast: Vec<u16>,
    /// Largest code of each length (index 1..=16), −1 when none; `maxcode[17]` ends the search.
    maxcode: [i32; 18],
    /// `values` index of the first code of each length, minus that code.
    offset: [i32; 17],
    values: Vec<u8>,
}

impl Huffman {
    /// Builds a table from a DHT segment's 16 counts and its values, refusing counts that do
    /// not form a prefix code (libjpeg's `jpeg_make_d_derived_tbl`).
    pub(super) fn new(counts: &[u8; 16], values: &[u8]) -> Result<Self> {
        let total: usize = counts.iter().map(|&c| c as usize).sum();
        if total > 256 || total != values.len() {
            return Err(fail("a Huffman table with more than 256 codes"));
        }
        let mut maxcode = [-1i32; 18];
        let mut offset = [0i32; 17];
        let mut fast = vec![0u16; 1 << LOOKAHEAD];
        let (mut code, mut index) = (0i32, 0usize);
        for len in 1..=16usize {
            let n = counts[len - 1] as usize;
            if n > 0 {
                // No code may be all ones: the next free code must still fit in `len` bits.
                if code + n as i32 >= 1 << len {
                    return Err(fail("a Huffman table whose codes overflow their lengths"));
                }
                offset[len] = index as i32 - code;
                for _ in 0..n {
                    if len as u32 <= LOOKAHEAD {
                        let shift = LOOKAHEAD - len as u32;
                        let first = (code as usize) << shift;
                        let entry = ((len as u16) << 8) | values[index] as u16;
                        fast[first..first + (1 << shift)].fill(entry);
                    }
                    code += 1;
                    index += 1;
                }
                maxcode[len] = code - 1;
            }
            code <<= 1;
        }
        maxcode[17] = i32::MAX;
        Ok(Self {
            fast,
            maxcode,
            offset,
            values: values.to_vec(),
        })
    }

    /// One of the four standard tables of ITU T.81 K.3, which libjpeg supplies when a scan
    /// uses a table the file never defined (Motion-JPEG frames omit them).
    pub(super) fn standard(dc: bool, index: usize) -> Self {
        let (counts, values): (&[u8; 16], &[u8]) = match (dc, index) {
            (true, 0) => (&STD_DC_LUMA.0, &STD_DC_LUMA.1),
            (true, _) => (&STD_DC_CHROMA.0, &STD_DC_CHROMA.1),
            (false, 0) => (&STD_AC_LUMA.0, &STD_AC_LUMA.1),
            (false, _) => (&STD_AC_CHROMA.0, &STD_AC_CHROMA.1),
        };
        Self::new(counts, values).expect("the standard tables are valid")
    }
}

/// Reads bits from one scan's entropy-coded segment. A marker ends the data; reading past it
/// yields zero bits (as libjpeg does) and counts them, so an early end is detected.
#[derive(Debug)]
pub(super) struct Bits<'a> {
    data: &'a [u8],
    /// Next byte to read.
    pos: usize,
    /// Bits left-aligned: the next bit is bit 63.
    acc: u64,
    /// Valid bits in `acc`.
    count: u32,
    /// Zero bits appended after the data ended.
    padded: u32,
    /// The marker that ended the data (at `pos`), once reached.
    marker: Option<u8>,
}

impl<'a> Bits<'a> {
    /// Reads from `data[pos..]`.
    pub(super) fn new(data: &'a [u8], pos: usize) -> Self {
        Self {
            data,
            pos,
            acc: 0,
            count: 0,
            padded: 0,
            marker: None,
        }
    }

    /// Tops the buffer up to at least 57 bits.
    #[inline]
    fn fill(&mut self) {
        while self.count <= 56 {
            let byte = if self.marker.is_some() {
                self.padded += 8;
                0
            } else {
                match self.data.get(self.pos) {
                    None => {
                        self.marker = Some(0);
                        continue;
                    }
                    Some(&0xFF) => {
                        // FF 00 is a data byte FF; FF FF… are fill bytes before a marker.
                        let mut next = self.pos + 1;
                        while self.data.get(next) == Some(&0xFF) {
                            next += 1;
                        }
                        match self.data.get(next) {
                            Some(0) => {
                                self.pos = next + 1;
                                0xFF
                            }
                            Some(&m) => {
                                self.pos = next - 1;
                                self.marker = Some(m);
                                continue;
                            }
                            None => {
                                self.pos = self.data.len();
                                self.marker = Some(0);
                                continue;
                            }
                        }
                    }
                    Some(&b) => {
                        self.pos += 1;
                        b
                    }
                }
            };
            self.acc |= (byte as u64) << (56 - self.count);
            self.count += 8;
        }
    }

    /// The next `n` (≤ 16) bits as an unsigned number.
    #[inline]
    pub(super) fn bits(&mut self, n: u32) -> u32 {
        if n == 0 {
            return 0;
        }
        if self.count < n {
            self.fill();
        }
        let v = (self.acc >> (64 - n)) as u32;
        self.acc <<= n;
        self.count -= n;
        v
    }

    /// One bit.
    #[inline]
    pub(super) fn bit(&mut self) -> bool {
        self.bits(1) == 1
    }

    /// `n` bits as a signed coefficient difference (T.81 F.2.2.1 EXTEND).
    #[inline]
    pub(super) fn extend(&mut self, n: u32) -> i32 {
        if n == 0 {
            return 0;
        }
        let v = self.bits(n) as i32;
        if v < 1 << (n - 1) {
            v - (1 << n) + 1
        } else {
            v
        }
    }

    /// One Huffman-coded value.
    #[inline]
    pub(super) fn decode(&mut self, table: &Huffman) -> Result<u8> {
        if self.count < 16 {
            self.fill();
        }
        let entry = table.fast[(self.acc >> (64 - LOOKAHEAD)) as usize];
        if entry != 0 {
            let len = (entry >> 8) as u32;
            self.acc <<= len;
            self.count -= len;
            return Ok(entry as u8);
        }
        let mut len = LOOKAHEAD + 1;
        let mut code = (self.acc >> (64 - len)) as i32;
        while code > table.maxcode[len as usize] {
            len += 1;
            if len > 16 {
                return Err(fail(
                    "corrupt data: a Huffman code that is not in its table",
                ));
            }
            code = (self.acc >> (64 - len)) as i32;
        }
        self.acc <<= len;
        self.count -= len;
        let at = table.offset[len as usize] + code;
        table
            .values
            .get(at as usize)
            .copied()
            .ok_or_else(|| fail("corrupt data: a Huffman code that is not in its table"))
    }

    /// True once more bits were used than the data held.
    pub(super) fn overrun(&self) -> bool {
        self.padded > self.count
    }

    /// At a restart interval's end: drops the bits left (libjpeg discards them too), skips to
    /// the next marker and reads it. False when it is not the expected RSTn.
    pub(super) fn restart(&mut self, expected: u8) -> bool {
        if self.marker.is_none() {
            self.skip_to_marker();
        }
        let ok = self.marker == Some(0xD0 + expected);
        if ok {
            self.pos += 2;
            self.marker = None;
        }
        self.acc = 0;
        self.count = 0;
        self.padded = 0;
        ok
    }

    /// Moves `pos` to the next marker (FF followed by neither 00 nor FF), as libjpeg's
    /// `next_marker` does with stray bytes.
    fn skip_to_marker(&mut self) {
        let mut at = self.pos;
        loop {
            match (self.data.get(at), self.data.get(at + 1)) {
                (Some(0xFF), Some(&m)) if m != 0 && m != 0xFF => {
                    self.pos = at;
                    self.marker = Some(m);
                    return;
                }
                (Some(_), Some(_)) => at += 1,
                _ => {
                    self.pos = self.data.len();
                    self.marker = Some(0);
                    return;
                }
            }
        }
    }

    /// Where the entropy-coded data ended: the position of the marker that follows it.
    pub(super) fn end(mut self) -> usize {
        if self.marker.is_none() {
            self.skip_to_marker();
        }
        self.pos
    }
}

type Table = ([u8; 16], [u8; 162]);

// ITU T.81 Annex K.3, tables K.3 to K.6 (values padded with zeros to a common length).
const STD_DC_LUMA: ([u8; 16], [u8; 12]) = (
    [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
);
const STD_DC_CHROMA: ([u8; 16], [u8; 12]) = (
    [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
);
const STD_AC_LUMA: Table = (
    [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
    [
        0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61,
        0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52,
        0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x25,
        0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44, 0x45,
        0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63, 0x64,
        0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a, 0x83,
        0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
        0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
        0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca, 0xd2, 0xd3,
        0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7, 0xe8,
        0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
    ],
);
const STD_AC_CHROMA: Table = (
    [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
    [
        0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
        0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
        0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1, 0x17, 0x18,
        0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43, 0x44,
        0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x63,
        0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79, 0x7a,
        0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
        0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
        0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
        0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6, 0xe7,
        0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa,
    ],
);
