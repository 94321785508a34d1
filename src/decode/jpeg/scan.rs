//! Decoding one scan's entropy-coded data into coefficient blocks: sequential scans (T.81
//! F.2) and the four kinds of progressive scan (G.2), as `jdhuff.c` and `jdphuff.c` do.

use super::entropy::{Bits, Huffman};
use super::fail;
use super::markers::{Frame, NATURAL, Scan, Tables};
use crate::error::Result;

/// Natural-order coefficients of one 8×8 block.
pub(super) type Block = [i16; 64];

/// Where a decoded block goes: a sequential scan hands each finished block on (to the inverse
/// DCT); a progressive scan refines blocks kept for the whole image.
pub(super) trait Sink {
    /// The block of component `c` at block column `x`, row `y` (inside the component's real
    /// blocks), for the scan to fill in.
    fn block(&mut self, c: usize, x: usize, y: usize) -> &mut Block;
    /// Called after a block was decoded.
    fn done(&mut self, c: usize, x: usize, y: usize);
}

/// Per-scan state that restart markers reset.
struct State {
    pred: [i32; 4],
    eobrun: u32,
}

/// Decodes the scan whose data starts at `data[pos..]`; returns the position of the marker
/// after it.
pub(super) fn decode(
    data: &[u8],
    pos: usize,
    frame: &Frame,
    scan: &Scan,
    tables: &Tables,
    sink: &mut dyn Sink,
) -> Result<usize> {
    let mut bits = Bits::new(data, pos);
    let kind = Kind::of(frame, scan);
    // Tables the scan uses; a missing one falls back to the standard tables, as libjpeg does.
    let mut dc = Vec::new();
    let mut ac = Vec::new();
    for &(_, d, a) in &scan.components {
        dc.push(
            tables.dc[d]
                .clone()
                .unwrap_or_else(|| Huffman::standard(true, d)),
        );
        ac.push(
            tables.ac[a]
                .clone()
                .unwrap_or_else(|| Huffman::standard(false, a)),
        );
    }
    let mut state = State {
        pred: [0; 4],
        eobrun: 0,
    };
    let interleaved = scan.components.len() > 1;
    let (mcus_x, mcus_y) = if interleaved {
        (frame.mcus_x, frame.mcus_y)
    } else {
        let c = &frame.components[scan.components[0].0];
        (c.blocks_w, c.blocks_h)
    };
    let interval = tables.restart_interval;
    let mut next_restart = 0u8;
    let mut mcu = 0usize;
    for my in 0..mcus_y {
        for mx in 0..mcus_x {
            if interval > 0 && mcu > 0 && mcu % interval == 0 {
                if !bits.restart(next_restart) {
                    return Err(fail(
                        "corrupt data: a restart marker missing or out of order",
                    ));
                }
                next_restart = (next_restart + 1) & 7;
                state = State {
                    pred: [0; 4],
                    eobrun: 0,
                };
            }
            mcu += 1;
            for (k, &(ci, _, _)) in scan.components.iter().enumerate() {
                let comp = &frame.components[ci];
                let (h, v) = if interleaved {
                    (comp.h, comp.v)
                } else {
                    (1, 1)
                };
                for by in 0..v {
                    for bx in 0..h {
                        let (x, y) = (mx * h + bx, my * v + by);
                        let real = x < comp.blocks_w && y < comp.blocks_h;
                        let mut dummy = [0i16; 64];
                        let block = if real {
                            sink.block(ci, x, y)
                        } else {
                            &mut dummy
                        };
                        kind.block(&mut bits, &dc[k], &ac[k], &mut state, k, scan, block)?;
                        if real {
                            sink.done(ci, x, y);
                        }
                    }
                }
            }
        }
        if bits.overrun() {
            return Err(fail(
                "corrupt or truncated data: a scan ends before its last block",
            ));
        }
    }
    Ok(bits.end())
}

/// The four progressive scan kinds, and the sequential one.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Sequential,
    DcFirst,
    DcRefine,
    AcFirst,
    AcRefine,
}

impl Kind {
    fn of(frame: &Frame, scan: &Scan) -> Self {
        match (frame.progressive, scan.ss == 0, scan.ah == 0) {
            (false, _, _) => Kind::Sequential,
            (true, true, true) => Kind::DcFirst,
            (true, true, false) => Kind::DcRefine,
            (true, false, true) => Kind::AcFirst,
            (true, false, false) => Kind::AcRefine,
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn block(
        self,
        bits: &mut Bits<'_>,
        dc: &Huffman,
        ac: &Huffman,
        state: &mut State,
        k: usize,
        scan: &Scan,
        block: &mut Block,
    ) -> Result<()> {
        match self {
            Kind::Sequential => {
                let s = bits.decode(dc)? as u32;
                state.pred[k] = state.pred[k].wrapping_add(bits.extend(s));
                *block = [0; 64];
                block[0] = state.pred[k] as i16;
                let mut i = 1;
                while i < 64 {
                    let rs = bits.decode(ac)?;
                    let (r, s) = ((rs >> 4) as usize, (rs & 15) as u32);
                    if s != 0 {
                        i += r;
                        block[NATURAL[i]] = bits.extend(s) as i16;
                    } else if r == 15 {
                        i += 15;
                    } else {
                        break;
                    }
                    i += 1;
                }
            }
            Kind::DcFirst => {
                let s = bits.decode(dc)? as u32;
                state.pred[k] = state.pred[k].wrapping_add(bits.extend(s));
                block[0] = (state.pred[k] << scan.al) as i16;
            }
            Kind::DcRefine => {
                if bits.bit() {
                    block[0] |= 1 << scan.al;
                }
            }
            Kind::AcFirst => {
                if state.eobrun > 0 {
                    state.eobrun -= 1;
                    return Ok(());
                }
                let mut i = scan.ss;
                while i <= scan.se {
                    let rs = bits.decode(ac)?;
                    let (r, s) = ((rs >> 4) as usize, (rs & 15) as u32);
                    if s != 0 {
                        i += r;
                        block[NATURAL[i]] = ((bits.extend(s)) << scan.al) as i16;
                    } else if r == 15 {
                        i += 15;
                    } else {
                        state.eobrun = (1 << r) + bits.bits(r as u32) - 1;
                        break;
                    }
                    i += 1;
                }
            }
            Kind::AcRefine => ac_refine(bits, ac, state, scan, block)?,
        }
        Ok(())
    }
}

/// A refinement scan of AC coefficients (T.81 G.1.2.3; `decode_mcu_AC_refine`).
fn ac_refine(
    bits: &mut Bits<'_>,
    ac: &Huffman,
    state: &mut State,
    scan: &Scan,
    block: &mut Block,
) -> Result<()> {
    let p1: i16 = 1 << scan.al;
    let m1: i16 = -p1;
    let mut k = scan.ss;
    // Adds a correction bit to an already nonzero coefficient.
    let correct = |bits: &mut Bits<'_>, c: &mut i16| {
        if bits.bit() && *c & p1 == 0 {
            *c = c.wrapping_add(if *c >= 0 { p1 } else { m1 });
        }
    };
    if state.eobrun == 0 {
        while k <= scan.se {
            let rs = bits.decode(ac)?;
            let (mut r, s) = ((rs >> 4) as i32, rs & 15);
            let mut value = 0;
            if s != 0 {
                value = if bits.bit() { p1 } else { m1 };
            } else if r != 15 {
                state.eobrun = (1 << r) + bits.bits(r as u32);
                break;
            }
            while k <= scan.se {
                let c = &mut block[NATURAL[k]];
                if *c != 0 {
                    correct(bits, c);
                } else {
                    r -= 1;
                    if r < 0 {
                        break;
                    }
                }
                k += 1;
            }
            if value != 0 {
                block[NATURAL[k]] = value;
            }
            k += 1;
        }
    }
    if state.eobrun > 0 {
        while k <= scan.se {
            let c = &mut block[NATURAL[k]];
            if *c != 0 {
                correct(bits, c);
            }
            k += 1;
        }
        state.eobrun -= 1;
    }
    Ok(())
}
