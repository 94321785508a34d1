//! Architecture checks with generated weights: every configuration builds and runs.

use mobilenet_wasm::{Classifier, Device, MobileNetConfig, Version};

fn config(version: Version, width: f32, resolution: usize) -> MobileNetConfig {
    MobileNetConfig {
        version,
        width_multiplier: width,
        resolution,
        num_classes: 1000,
        minimalistic: false,
    }
}

#[test]
fn v3_large_runs_with_generated_weights() {
    let mut clf =
        Classifier::generated(config(Version::V3Large, 1.0, 224), 7, &Device::flex()).unwrap();
    let crop: Vec<u8> = (0..224 * 224 * 3).map(|i| (i % 256) as u8).collect();
    let (embedding, logits) = clf.run_crop(&crop).unwrap();
    assert_eq!(embedding.len(), 1280);
    assert_eq!(logits.len(), 1000);
    assert!(logits.iter().all(|v| v.is_finite()));
    let p = clf.info().parameters as f64 / 1e6;
    assert!((p - 5.4).abs() < 0.1, "{p} M parameters");
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
