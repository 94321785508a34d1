//! Properties of preprocessing and top-k over generated inputs (proptest).
use mobilenet_wasm::classifier::{rank, softmax};
use mobilenet_wasm::preprocess::{MAX_SIDE, PixelFormat, Pixels, center_crop, resize_dims};
use proptest::prelude::*;

fn format() -> impl Strategy<Value = PixelFormat> {
    prop_oneof![Just(PixelFormat::Rgb), Just(PixelFormat::Rgba)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// The whole image is scaled so its shorter side is round(S / 0.875), never below the crop,
    /// keeping the aspect ratio to within rounding.
    #[test]
    fn resize_keeps_aspect_and_covers_the_crop(w in 1u32..20_000, h in 1u32..20_000, size in prop::sample::select(vec![96u32, 128, 160, 192, 224])) {
        let (rw, rh) = resize_dims(w, h, size);
        let short = (size as f64 / 0.875).round_ties_even() as u32;
        prop_assert!(rw >= size && rh >= size);
        prop_assert_eq!(rw.min(rh), short.min(rw.max(rh)));
        let (long_in, short_in, long_out) = if w <= h { (h, w, rh) } else { (w, h, rw) };
        let expected = long_in as f64 * short as f64 / short_in as f64;
        prop_assert!((long_out as f64 - expected.max(size as f64)).abs() <= 0.5 + 1e-9, "{long_out} vs {expected}");
    }

    /// Pixels are accepted exactly when the buffer holds width × height pixels within limits.
    #[test]
    fn pixels_validate_sizes(w in prop_oneof![0u32..600, 0u32..70_000], h in prop_oneof![0u32..600, 0u32..70_000], extra in -2i64..3, fmt in format()) {
        let needed = w as u64 * h as u64 * fmt.channels() as u64;
        // Buffers of the right size up to 4 MiB; beyond that a small one (always wrong).
        let len = if needed <= 4 << 20 { (needed as i64 + extra).max(0) } else { extra.abs() };
        let data = vec![0u8; len as usize];
        let ok = Pixels::new(&data, w, h, fmt).is_ok();
        let valid = w >= 1 && h >= 1 && w <= MAX_SIDE && h <= MAX_SIDE && len as u64 == needed;
        prop_assert_eq!(ok, valid);
    }

    /// Any small image gives an S×S×3 crop; a one-colour image gives a one-colour crop.
    #[test]
    fn crop_has_the_size_and_keeps_flat_colour(w in 1u32..80, h in 1u32..80, fmt in format(), colour in any::<[u8; 4]>(), size in prop::sample::select(vec![32u32, 96, 224])) {
        let pixel = &colour[..fmt.channels()];
        let data: Vec<u8> = pixel.iter().copied().cycle().take((w * h) as usize * fmt.channels()).collect();
        let crop = center_crop(Pixels::new(&data, w, h, fmt).unwrap(), size).unwrap();
        prop_assert_eq!(crop.len(), (size * size * 3) as usize);
        for px in crop.chunks_exact(3) {
            for c in 0..3 {
                prop_assert!((px[c] as i32 - colour[c] as i32).abs() <= 1, "{px:?} from {colour:?}");
            }
        }
    }

    /// Noise in, crop out: never a panic, always the right size.
    #[test]
    fn crop_of_noise(w in 1u32..64, h in 1u32..64, seed in any::<u64>(), fmt in format()) {
        let mut s = seed | 1;
        let data: Vec<u8> = (0..(w * h) as usize * fmt.channels()).map(|_| { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s as u8 }).collect();
        prop_assert_eq!(center_crop(Pixels::new(&data, w, h, fmt).unwrap(), 224).unwrap().len(), 224 * 224 * 3);
    }

    /// Top-k: at most k classes from `first_class` on, distinct, most probable first with ties in
    /// index order, the first being the largest output; probabilities in [0, 1].
    #[test]
    fn top_k_is_sorted_distinct_and_starts_at_the_maximum(outputs in prop::collection::vec(-50.0f32..50.0, 1..1100), k in 0usize..20, first in 0usize..2) {
        let top = rank(&softmax(&outputs), first, k);
        let candidates = outputs.len().saturating_sub(first);
        prop_assert_eq!(top.len(), k.min(candidates));
        let mut seen = std::collections::HashSet::new();
        for w in top.windows(2) {
            prop_assert!(w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0));
        }
        for &(i, p) in &top {
            prop_assert!(i >= first && i < outputs.len() && seen.insert(i));
            prop_assert!((0.0..=1.0).contains(&p));
        }
        if let Some(&(i, _)) = top.first() {
            let best = outputs[first..].iter().copied().fold(f32::NEG_INFINITY, f32::max);
            prop_assert_eq!(outputs[i], best);
        }
    }

    /// Softmax sums to one over finite inputs, and gives non-finite inputs zero.
    #[test]
    fn softmax_sums_to_one(mut outputs in prop::collection::vec(-1e4f32..1e4, 1..1100), poison in prop::option::of((any::<prop::sample::Index>(), prop_oneof![Just(f32::NAN), Just(f32::INFINITY), Just(f32::NEG_INFINITY)]))) {
        if let Some((at, v)) = poison {
            let i = at.index(outputs.len());
            outputs[i] = v;
        }
        let p = softmax(&outputs);
        let sum: f32 = p.iter().sum();
        let finite = outputs.iter().filter(|v| v.is_finite()).count();
        if finite > 0 {
            prop_assert!((sum - 1.0).abs() < 1e-3, "sum {sum}");
        }
        for (v, q) in outputs.iter().zip(&p) {
            prop_assert!(q.is_finite() && (0.0..=1.0).contains(q));
            if !v.is_finite() {
                prop_assert_eq!(*q, 0.0);
            }
        }
    }
}
