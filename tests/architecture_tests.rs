//! Architecture checks with generated weights: every configuration builds, runs and has the
//! parameter count of its paper (BatchNorm folded, 1000 classes).

use mobilenet_wasm::model::{MobileNetConfig, Version, make_divisible};
use mobilenet_wasm::{Classifier, Device};

fn config(version: Version, width: f32, resolution: usize) -> MobileNetConfig {
    MobileNetConfig {
        version,
        width_multiplier: width,
        resolution,
        num_classes: 1000,
    }
}

#[test]
fn make_divisible_follows_the_tf_rounding() {
    assert_eq!(make_divisible(32.0 * 0.35, 8), 16);
    assert_eq!(make_divisible(16.0 / 4.0, 8), 8);
    assert_eq!(make_divisible(60.0, 8), 64);
    assert_eq!(make_divisible(168.0, 8), 168);
    assert_eq!(make_divisible(1280.0 * 1.4, 8), 1792);
}

#[test]
fn parameter_counts_match_the_papers() {
    // Papers / torchvision (1000 classes): V1 4.2 M, V2 3.5 M, V3-Large 5.4 M, V3-Small 2.5 M.
    for (version, millions) in [
        (Version::V1, 4.2),
        (Version::V2, 3.5),
        (Version::V3Large, 5.4),
        (Version::V3Small, 2.5),
    ] {
        let p = config(version, 1.0, 224).architecture().parameters() as f64 / 1e6;
        println!("{}: {p:.3} M parameters", version.name());
        assert!(
            (p - millions).abs() < 0.1,
            "{}: {p:.3} M, expected about {millions} M",
            version.name()
        );
    }
}

#[test]
fn v3_large_runs_with_generated_weights() {
    let mut clf =
        Classifier::generated(config(Version::V3Large, 1.0, 224), 7, &Device::flex()).unwrap();
    let arch = clf.config().architecture();
    assert_eq!(arch.blocks.len(), 15);
    assert_eq!(
        arch.blocks
            .iter()
            .filter(|b| b.squeeze_excite.is_some())
            .count(),
        8
    );
    let crop: Vec<u8> = (0..224 * 224 * 3).map(|i| (i % 256) as u8).collect();
    let (embedding, logits) = clf.run_crop(&crop).unwrap();
    assert_eq!(embedding.len(), 1280);
    assert_eq!(logits.len(), 1000);
    assert!(logits.iter().all(|v| v.is_finite()));
    assert_eq!(clf.info().parameters, arch.parameters());
}

#[test]
fn every_family_member_builds_and_runs() {
    for (version, width, resolution, embedding) in [
        (Version::V1, 0.5, 128, 512),
        (Version::V2, 0.35, 96, 1280),
        (Version::V2, 1.4, 160, 1792),
        (Version::V3Small, 0.75, 160, 1024),
        (Version::V3Large, 0.75, 128, 1280),
    ] {
        let mut clf =
            Classifier::generated(config(version, width, resolution), 1, &Device::flex()).unwrap();
        let crop = vec![128u8; resolution * resolution * 3];
        let (e, l) = clf.run_crop(&crop).unwrap();
        assert_eq!(
            (e.len(), l.len()),
            (embedding, 1000),
            "{version:?} {width} {resolution}"
        );
    }
}
