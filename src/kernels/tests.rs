//! Every microkernel against its scalar definition ([`super::reference`]) on random shapes and
//! edge geometries: 1×1, 2×2 and odd sizes, every stride and padding, channel counts off the
//! vector widths, with and without residuals. Int8 outputs must agree exactly; float outputs bit
//! for bit (the kernels accumulate in the reference's order), except in the relaxed-SIMD build,
//! whose `f32x4.relaxed_madd` an engine may fuse or not from one instruction to the next (then
//! within a few units in the last place, and one grid step where a value sits on a rounding
//! boundary). The same tests run natively and in wasm (`cargo test --target
//! wasm32-unknown-unknown --lib`: the simd128 build in Node, the relaxed-SIMD build in
//! Chromium), where they exercise the intrinsics that ship.

use core::mem::MaybeUninit;

use super::block::{Stage, block};
use super::caps::{DotSemantics, caps};
use super::conv::{QWeights, QWeightsRef, conv_f32, conv_int8, qpack};
use super::gemm::f32::pack;
use super::gemm::int8::{Layout, QOut};
use super::isa::{F4, PairsDot, QuadsDot};
use super::reference;
use crate::spec::{Activation, AddRequant, Conv, Epilogue, Padding, QParams, Requant};

/// Declares a test for both harnesses: `#[test]` natively, `#[wasm_bindgen_test]` in wasm.
macro_rules! kernel_test {
    ($(#[$doc:meta])* fn $name:ident() $body:block) => {
        $(#[$doc])*
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        fn $name() $body
    };
}

/// xorshift64*: deterministic inputs, the same on every target.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() >> 33) as usize % n.max(1)
    }
    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
    fn f32(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }
    fn int(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo + 1) as usize) as i32
    }
}

/// A random convolution over a random input that has at least one output pixel.
fn geometry(rng: &mut Rng, depthwise: bool) -> (Conv, usize, usize) {
    loop {
        let sides = [1, 2, 3, 5, 7, 8, 13];
        let (h, w) = (rng.pick(&sides), rng.pick(&sides));
        let channels = [1, 3, 4, 5, 8, 9, 16, 17];
        let (cin, cout) = (rng.pick(&channels), rng.pick(&channels));
        let kernel = rng.pick(&[1, 1, 3, 3, 5, 7]);
        let stride = rng.pick(&[1, 1, 2]);
        let padding = match rng.below(4) {
            0 | 1 => Padding::Same,
            2 => Padding::VALID,
            _ => Padding::Explicit {
                top: rng.below(2),
                left: rng.below(3),
                bottom: rng.below(2),
                right: rng.below(2),
            },
        };
        let conv = if depthwise {
            Conv {
                padding,
                ..Conv::depthwise(cin, kernel, stride)
            }
        } else {
            Conv {
                padding,
                ..Conv::full(cin, cout, kernel, stride)
            }
        };
        if conv.output(h, w).is_some_and(|(oh, ow)| oh * ow > 0) {
            return (conv, h, w);
        }
    }
}

fn epilogue(rng: &mut Rng) -> Epilogue {
    match rng.below(4) {
        0 => Epilogue::IDENTITY,
        1 => Epilogue::new(Activation::Relu6, Some((-1.0, 5.0)), None),
        2 => Epilogue::new(Activation::HardSwish, Some((-2.0, 2.5)), Some(0.03)),
        _ => Epilogue::new(Activation::HardSigmoid, None, None),
    }
}

/// Whether this build's multiply-add may round once or twice (relaxed SIMD).
const RELAXED_MADD: bool = cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd"));

/// The kernels' float outputs against the reference's: bit for bit, or in the relaxed-SIMD
/// build within a few units in the last place of the sum's magnitude (one `step` more where the
/// epilogue rounds onto a grid).
fn same_f32(got: &[f32], want: &[f32], step: Option<f32>) -> bool {
    got.len() == want.len()
        && got.iter().zip(want).all(|(&a, &b)| {
            a.to_bits() == b.to_bits()
                || (RELAXED_MADD && {
                    let tol = 1e-5 * (1.0 + b.abs()) + step.unwrap_or(0.0) * 1.001;
                    (a - b).abs() <= tol
                })
        })
}

fn run_f32(
    conv: &Conv,
    h: usize,
    w: usize,
    x: &[f32],
    hwio: &[f32],
    bias: &[f32],
    res: Option<&[f32]>,
    e: &Epilogue,
) -> Vec<f32> {
    let g = conv.window(h, w);
    let packed = if conv.groups == 1 {
        pack(conv, hwio)
    } else {
        hwio.to_vec()
    };
    let mut out = vec![MaybeUninit::uninit(); g.oh * g.ow * conv.out_channels];
    conv_f32(conv, g, x, &packed, bias, res, e, &mut out);
    // SAFETY: the kernel wrote every element.
    out.into_iter()
        .map(|v| unsafe { v.assume_init() })
        .collect()
}

kernel_test! {
    /// `gemm_f32_4x8_v128` (1×1 and the stem's patches) and `dw_f32_v128`.
    fn float_convolutions_match_their_definition() {
        let mut rng = Rng(0x5eed_0001);
        for case in 0..400 {
            let (conv, h, w) = geometry(&mut rng, case % 2 == 0);
            let g = conv.window(h, w);
            let x: Vec<f32> = (0..h * w * conv.in_channels).map(|_| rng.f32()).collect();
            let n: usize = conv.hwio_shape().iter().product();
            let hwio: Vec<f32> = (0..n).map(|_| rng.f32()).collect();
            let bias: Vec<f32> = (0..conv.out_channels).map(|_| rng.f32()).collect();
            let res: Option<Vec<f32>> = (rng.below(2) == 0)
                .then(|| (0..g.oh * g.ow * conv.out_channels).map(|_| rng.f32()).collect());
            let e = epilogue(&mut rng);
            let got = run_f32(&conv, h, w, &x, &hwio, &bias, res.as_deref(), &e);
            let want = reference::conv_f32(&conv, &x, (h, w), &hwio, &bias, res.as_deref(), &e);
            assert!(same_f32(&got, &want, e.step), "case {case}: {conv:?} on {h}x{w}: {got:?} vs {want:?}");
        }
    }
}

kernel_test! {
    /// The fused block against its three convolutions.
    fn fused_blocks_match_their_convolutions() {
        let mut rng = Rng(0x5eed_0002);
        for case in 0..60 {
            let (h, w) = (rng.pick(&[1, 2, 5, 9, 14]), rng.pick(&[1, 3, 6, 8]));
            let cin = rng.pick(&[3, 8, 16]);
            let expanded = if rng.below(3) == 0 { cin } else { rng.pick(&[8, 12, 24, 48]) };
            let stride = rng.pick(&[1, 2]);
            let residual = stride == 1 && rng.below(2) == 0;
            let cout = if residual { cin } else { rng.pick(&[4, 8, 9]) };
            let k = rng.pick(&[3, 5]);
            let expand = (expanded != cin || rng.below(2) == 0).then(|| Conv::pointwise(cin, expanded));
            let dw = Conv::depthwise(expanded, k, stride);
            let project = Conv::pointwise(expanded, cout);
            let weights = |c: &Conv, rng: &mut Rng| -> (Vec<f32>, Vec<f32>) {
                let n: usize = c.hwio_shape().iter().product();
                ((0..n).map(|_| rng.f32()).collect(), (0..c.out_channels).map(|_| rng.f32()).collect())
            };
            let ew = expand.map(|c| weights(&c, &mut rng));
            let dwt = weights(&dw, &mut rng);
            let pw = weights(&project, &mut rng);
            let (ee, de, pe) = (epilogue(&mut rng), epilogue(&mut rng), Epilogue::IDENTITY);
            let x: Vec<f32> = (0..h * w * cin).map(|_| rng.f32()).collect();
            // The reference: one convolution after the other.
            let mut y = x.clone();
            if let (Some(c), Some((wt, b))) = (expand, &ew) {
                y = reference::conv_f32(&c, &y, (h, w), wt, b, None, &ee);
            }
            let d = reference::conv_f32(&dw, &y, (h, w), &dwt.0, &dwt.1, None, &de);
            let g = dw.window(h, w);
            let res = residual.then_some(&x[..]);
            let want = reference::conv_f32(&project, &d, (g.oh, g.ow), &pw.0, &pw.1, res, &pe);
            let packed = |c: &Conv, (wt, b): &(Vec<f32>, Vec<f32>)| (pack(c, wt), b.clone());
            let ep = expand.zip(ew.as_ref()).map(|(c, w)| packed(&c, w));
            let pp = packed(&project, &pw);
            fn stage<'a>((w, b): &'a (Vec<f32>, Vec<f32>), e: &'a Epilogue) -> Stage<'a> {
                Stage { weight: w, bias: b, epilogue: e }
            }
            let mut out = vec![MaybeUninit::uninit(); g.oh * g.ow * cout];
            let e_stage = ep.as_ref().map(|w| stage(w, &ee));
            block(g, cin, expanded, cout, &x, e_stage, stage(&dwt, &de), stage(&pp, &pe), residual, &mut out);
            // SAFETY: the block wrote every element.
            let got: Vec<f32> = out.into_iter().map(|v| unsafe { v.assume_init() }).collect();
            // Grid rounding in the first two stages can move a value by a step, which the next
            // stage's weights then carry: the relaxed build allows for that in its tolerance.
            let step = [ee.step, de.step].into_iter().flatten().fold(None, |a: Option<f32>, s| Some(a.unwrap_or(0.0) + 4.0 * s));
            assert!(same_f32(&got, &want, step), "case {case}: block {cin}→{expanded}→{cout} k{k} s{stride} on {h}x{w}");
        }
    }
}

/// One int8 case: geometry, data and the expected outputs.
struct Int8Case {
    conv: Conv,
    h: usize,
    w: usize,
    x: Vec<u8>,
    hwio: Vec<i16>,
    bias: Vec<i32>,
    multiplier: Vec<f32>,
    requant: Requant,
    residual: Option<Vec<u8>>,
}

/// A random int8 case; `seven_bit` keeps inputs, zero points and weights where every engine's
/// relaxed dot product is exact (inputs below 128, weights within ±64).
fn int8_case(rng: &mut Rng, depthwise: bool, seven_bit: bool) -> Int8Case {
    let (conv, h, w) = geometry(rng, depthwise);
    let g = conv.window(h, w);
    let top = if seven_bit { 127 } else { 255 };
    let zx = rng.int(0, top);
    let x: Vec<u8> = (0..h * w * conv.in_channels)
        .map(|_| rng.int(0, top) as u8)
        .collect();
    let n: usize = conv.hwio_shape().iter().product();
    // Mostly i8 weights; some columns wider (uint8 weights less their zero point).
    let span = match (seven_bit, rng.below(3)) {
        (true, _) => (-64, 63),
        (false, 0) => (-255, 255),
        (false, 1) => (-30, 200),
        _ => (-128, 127),
    };
    let hwio: Vec<i16> = (0..n).map(|_| rng.int(span.0, span.1) as i16).collect();
    let cout = conv.out_channels;
    let bias: Vec<i32> = (0..cout).map(|_| rng.int(-5000, 5000)).collect();
    let multiplier: Vec<f32> = (0..cout)
        .map(|_| 0.0005 + 0.004 * (rng.f32() + 1.0))
        .collect();
    let (lo, hi) = (rng.int(0, 20) as u8, rng.int(200, 255) as u8);
    let zo = rng.int(lo as i32, hi as i32);
    let q = |scale, zero_point| QParams { scale, zero_point };
    let add = (!depthwise && rng.below(3) == 0)
        .then(|| {
            AddRequant::new(
                q(0.05, rng.int(0, 255)),
                q(0.07, zo),
                q(0.09, rng.int(0, 255)),
            )
        })
        .flatten();
    let residual = add.map(|_| {
        (0..g.oh * g.ow * cout)
            .map(|_| rng.int(0, 255) as u8)
            .collect()
    });
    let requant = Requant {
        input_zero_point: zx,
        output_zero_point: zo,
        lo,
        hi,
        add,
    };
    Int8Case {
        conv,
        h,
        w,
        x,
        hwio,
        bias,
        multiplier,
        requant,
        residual,
    }
}

impl Int8Case {
    fn want(&self) -> (Vec<u8>, Vec<i32>) {
        let acc = reference::accumulate_int8(
            &self.conv,
            &self.x,
            (self.h, self.w),
            &self.hwio,
            &self.bias,
            self.requant.input_zero_point,
        );
        let q = reference::requantize(
            &acc,
            self.conv.out_channels,
            &self.multiplier,
            &self.requant,
            self.residual.as_deref(),
        );
        (q, acc)
    }

    /// The kernels' 8-bit output and real output (for one-group convolutions).
    fn got(&self, layout: Layout, dot: QuadsDot, pairs: PairsDot) -> (Vec<u8>, Option<Vec<f32>>) {
        let c = &self.conv;
        let g = c.window(self.h, self.w);
        let packed = qpack(
            c,
            &self.hwio,
            &self.bias,
            self.requant.input_zero_point,
            layout,
        );
        let weights = match &packed.weight {
            QWeights::Pairs(w) => QWeightsRef::Pairs(w),
            QWeights::Quads(w) => QWeightsRef::Quads(w),
        };
        let len = g.oh * g.ow * c.out_channels;
        let zx = self.requant.input_zero_point;
        let mut scratch = Vec::new();
        let mut out = vec![MaybeUninit::uninit(); len];
        let target = QOut::Quantized {
            out: &mut out,
            multiplier: &self.multiplier,
            requant: &self.requant,
            residual: self.residual.as_deref(),
        };
        conv_int8(
            dot,
            pairs,
            c,
            g,
            &self.x,
            weights,
            &packed.bias,
            zx,
            target,
            &mut scratch,
        );
        // SAFETY: the kernel wrote every element.
        let q = out
            .into_iter()
            .map(|v| unsafe { v.assume_init() })
            .collect();
        let real = (c.groups == 1).then(|| {
            let mut out = vec![MaybeUninit::uninit(); len];
            let target = QOut::Real {
                out: &mut out,
                scale: &self.multiplier,
            };
            conv_int8(
                dot,
                pairs,
                c,
                g,
                &self.x,
                weights,
                &packed.bias,
                zx,
                target,
                &mut scratch,
            );
            // SAFETY: the kernel wrote every element.
            out.into_iter()
                .map(|v| unsafe { v.assume_init() })
                .collect()
        });
        (q, real)
    }
}

/// The pairs products this CPU runs: the 128-bit form everywhere, and the x86-64 forms it has
/// (named on stderr, so a run says which it held to their definition).
fn pairs_forms() -> Vec<PairsDot> {
    let x86 = caps().x86;
    let mut forms = vec![PairsDot::V128];
    forms.extend(x86.avx2.then_some(PairsDot::Avx2));
    forms.extend(x86.avx512_vnni.then_some(PairsDot::Avx512Vnni));
    forms
}

/// Every int8 microkernel (`gemm_i16_4x8_dot16` and its x86-64 forms, `gemm_u8i8_4x8_relaxed_dot`,
/// `gemm_u8i8_4x8_dot16`, `dw_i16_dot16`, `dw_u8i8` on either product) over random cases.
fn int8_kernels_on(seed: u64, seven_bit: bool, dots: &[QuadsDot]) {
    let mut rng = Rng(seed);
    for case in 0..300 {
        let c = int8_case(&mut rng, case % 2 == 0, seven_bit);
        let (want, acc) = c.want();
        let forms = [Layout::Pairs, Layout::Quads]
            .into_iter()
            .flat_map(|layout| {
                let pairs = if layout == Layout::Pairs {
                    pairs_forms()
                } else {
                    vec![PairsDot::V128]
                };
                dots.iter()
                    .flat_map(move |&dot| pairs.clone().into_iter().map(move |p| (layout, dot, p)))
            });
        for (layout, dot, pairs) in forms {
            {
                let (q, real) = c.got(layout, dot, pairs);
                assert_eq!(
                    q, want,
                    "case {case}: {:?} on {}x{}, {layout:?} {dot:?} {pairs:?}",
                    c.conv, c.h, c.w
                );
                if let Some(real) = real {
                    let cout = c.conv.out_channels;
                    let expected: Vec<f32> = acc
                        .iter()
                        .enumerate()
                        .map(|(i, &a)| a as f32 * c.multiplier[i % cout])
                        .collect();
                    assert_eq!(
                        real, expected,
                        "case {case}: real outputs, {layout:?} {dot:?}"
                    );
                }
            }
        }
    }
}

kernel_test! {
    /// Full-range data: 16-bit products everywhere, the relaxed dot product where this engine
    /// computes it exactly on unsigned bytes.
    fn int8_convolutions_match_their_definition() {
        let dots: &[QuadsDot] = if caps().dot_u8i8() || !cfg!(target_arch = "wasm32") {
            &[QuadsDot::Dot16, QuadsDot::RelaxedDot]
        } else {
            &[QuadsDot::Dot16]
        };
        int8_kernels_on(0x5eed_0003, false, dots);
    }
}

kernel_test! {
    /// Seven-bit data (inputs below 128, weights within ±64), on which each of the relaxed dot
    /// product's known semantics is exact: the relaxed-dot microkernels' loads, tails and stores
    /// are checked on every engine that ships them, whatever its products do beyond 7 bits.
    fn int8_relaxed_dot_kernels_on_seven_bit_data() {
        assert_ne!(
            caps().dot,
            Some(DotSemantics::Other),
            "this engine's relaxed dot product follows none of the known semantics (Node 20's \
             pre-standard relaxed SIMD does not: run the relaxed-SIMD build's tests in Chromium)"
        );
        int8_kernels_on(0x5eed_0004, true, &[QuadsDot::RelaxedDot, QuadsDot::Dot16]);
    }
}

kernel_test! {
    /// The probe classifies this engine's relaxed dot product (none without relaxed SIMD).
    fn capabilities_are_consistent() {
        let c = caps();
        assert_eq!(c.dot.is_some(), cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd")));
    }
}

kernel_test! {
    /// The vector rounding the kernels use is half to even, as `f32::round_ties_even`, for ties,
    /// negatives, huge values, infinities and NaN.
    fn vector_rounding_is_half_to_even() {
        let mut rng = Rng(0x5eed_0005);
        let special = [0.5, -0.5, 1.5, 2.5, -2.5, 8_388_607.5, 8_388_608.0, 1e30, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -0.0];
        let random = (0..20_000).map(|_| f32::from_bits(rng.next() as u32));
        let ties = (-300..300).flat_map(|t| [t as f32 + 0.5, t as f32 - 0.5, t as f32 * 0.25]);
        for x in special.into_iter().chain(random).chain(ties) {
            let mut lanes = [0.0f32; 4];
            // SAFETY: four writable f32s.
            unsafe { F4::splat(x).round().store(lanes.as_mut_ptr()) };
            let expected = x.round_ties_even();
            let same = lanes[0].to_bits() == expected.to_bits() || (x.is_nan() && lanes[0].is_nan());
            assert!(same, "{x}: {} vs {expected}", lanes[0]);
        }
    }
}

/// The strips a product or a depthwise window is split into: one per thread of the pool,
/// covering the rows once, aligned, none shorter than asked.
#[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
#[test]
fn strips_cover_the_rows_once_per_thread() {
    use std::sync::Mutex;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    pool.install(|| {
        assert_eq!(super::par::threads(), 3);
        for (len, min, align, parts) in [
            (100, 16, 4, 3),
            (40, 16, 4, 2),
            (15, 16, 4, 1),
            (7, 1, 1, 3),
        ] {
            let seen = Mutex::new(Vec::new());
            super::par::strips(len, min, align, |r| seen.lock().unwrap().push(r));
            let mut seen = seen.into_inner().unwrap();
            seen.sort_by_key(|r| r.start);
            assert_eq!(seen.len(), parts, "{len} rows: {seen:?}");
            assert_eq!(seen[0].start, 0);
            assert_eq!(seen.last().unwrap().end, len);
            for w in seen.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_eq!(w[1].start % align, 0);
            }
            assert!(parts == 1 || seen.iter().all(|r| r.len() >= min.min(len / parts)));
        }
    });
}

/// Every kernel split across three threads computes exactly what its definition does (the
/// strips are the only difference from one thread).
#[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
#[test]
fn kernels_split_across_threads_match_their_definition() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    pool.install(|| {
        int8_kernels_on(0x5eed_0007, false, &[QuadsDot::Dot16, QuadsDot::RelaxedDot]);
        float_convolutions_match_their_definition();
        fused_blocks_match_their_convolutions();
    });
}

/// The same kernels run by an inference's team (the threaded wasm builds' scheduling: pool
/// threads spinning on a shared claim counter beside the caller), many splits in a row.
#[cfg(all(feature = "threads", not(target_arch = "wasm32")))]
#[test]
fn kernels_run_by_a_spinning_team_match_their_definition() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    pool.install(|| {
        super::par::session::with(3, || {
            int8_kernels_on(0x5eed_0009, false, &[QuadsDot::Dot16, QuadsDot::RelaxedDot]);
            float_convolutions_match_their_definition();
            // Every strip of many splits runs exactly once, on the team's threads. The first
            // split's strips take 2 ms each, so that a helper started late (the machine busy
            // with other tests) still finds strips left to claim.
            let threads = std::sync::Mutex::new(std::collections::HashSet::new());
            super::par::strips(48, 4, 1, |_| {
                threads.lock().unwrap().insert(std::thread::current().id());
                std::thread::sleep(std::time::Duration::from_millis(2));
            });
            for len in 1..300 {
                let hits: Vec<_> = (0..len)
                    .map(|_| std::sync::atomic::AtomicUsize::new(0))
                    .collect();
                super::par::strips(len, 4, 2, |r| {
                    threads.lock().unwrap().insert(std::thread::current().id());
                    for i in r {
                        hits[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                });
                assert!(
                    hits.iter()
                        .all(|h| h.load(std::sync::atomic::Ordering::Relaxed) == 1),
                    "{len}"
                );
            }
            assert!(
                threads.lock().unwrap().len() > 1,
                "the splits ran on one thread"
            );
        });
    });
}
