//! Custom classes: kNN from a few examples, the trained head, the saved form and the TFLite
//! export, on the published V2 (int8 backbone) and golden photos of two coarse classes.

mod common;

use std::path::PathBuf;

use mobilenet_wasm::custom::{ClassifyOptions, CustomClassifier, Method, TrainOptions};
use mobilenet_wasm::decode::decode;
use mobilenet_wasm::{Classifier, Device, PixelFormat, Pixels};

/// Golden photos whose ImageNet index lies in `range`, in name order.
fn photos(range: std::ops::RangeInclusive<usize>) -> Vec<PathBuf> {
    let wnids = std::fs::read_to_string(common::models_dir().join("imagenet-wnids.txt")).unwrap();
    let wnids: Vec<&str> = wnids.lines().collect();
    let mut files: Vec<PathBuf> = std::fs::read_dir(common::golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            let wnid = name.split('_').next().unwrap();
            wnids
                .iter()
                .position(|w| *w == wnid)
                .is_some_and(|i| range.contains(&i))
        })
        .collect();
    files.sort();
    files
}

fn with_pixels<T>(path: &std::path::Path, f: impl FnOnce(Pixels<'_>) -> T) -> T {
    let img = decode(&common::read(path), 1 << 30).unwrap();
    f(Pixels::new(&img.data, img.width, img.height, PixelFormat::Rgb).unwrap())
}

fn embed(base: &mut Classifier, path: &std::path::Path) -> Vec<f32> {
    with_pixels(path, |p| base.embed(p).unwrap())
}

struct Fixture {
    base: Classifier,
    files: Vec<Vec<u8>>,
    train: Vec<(String, Vec<Vec<f32>>)>,
    test: Vec<(String, Vec<f32>)>,
}

/// Dogs (ImageNet 151–268) and birds (7–24): 6 examples each, 20 test photos each.
fn fixture(device: &Device) -> Fixture {
    let files = common::entry("mobilenet_v2_1.0_224_quant").read().unwrap();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let mut base = Classifier::from_tflite(&refs, None, device).unwrap();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for (label, range) in [("dog", 151..=268), ("bird", 7..=24)] {
        let all = photos(range);
        assert!(all.len() >= 18, "{label}: {} photos", all.len());
        // Spread over the range (neighbouring indices are near-identical breeds).
        let step = all.len() / 18;
        let picked: Vec<&PathBuf> = all.iter().step_by(step).take(18).collect();
        for p in &picked[..6] {
            let e = embed(&mut base, p);
            train.push((label.to_string(), vec![e]));
        }
        for p in &picked[6..] {
            test.push((label.to_string(), embed(&mut base, p)));
        }
    }
    Fixture {
        base,
        files,
        train,
        test,
    }
}

fn accuracy(c: &CustomClassifier, test: &[(String, Vec<f32>)], method: Method) -> f32 {
    let opts = ClassifyOptions {
        method: Some(method),
        ..Default::default()
    };
    let right = test
        .iter()
        .filter(|(label, e)| &c.classify_embedding(e, opts).unwrap()[0].label == label)
        .count();
    right as f32 / test.len() as f32
}

fn taught(f: &Fixture) -> CustomClassifier {
    let mut c = CustomClassifier::new(&f.base);
    for (label, v) in &f.train {
        c.add_embeddings(label, v).unwrap();
    }
    c
}

#[test]
fn knn_then_trained_head_recognise_the_classes() {
    let device = Device::flex();
    let f = fixture(&device);
    let mut c = taught(&f);
    assert_eq!(c.classes(), ["dog", "bird"]);
    assert_eq!(c.example_count("dog"), 6);
    assert_eq!(c.example_count("cat"), 0);
    let knn = accuracy(&c, &f.test, Method::Knn);
    println!("kNN accuracy, 6 shots: {knn:.3}");
    assert!(knn >= 0.8, "kNN {knn}");
    assert!(!c.is_trained());
    let head_before = c.classify_embedding(
        &f.test[0].1,
        ClassifyOptions {
            method: Some(Method::Head),
            ..Default::default()
        },
    );
    assert_eq!(head_before.unwrap_err().code(), "E_ARGUMENT");
    let mut epochs = 0;
    let report = c
        .train(TrainOptions::default(), &device, |_| epochs += 1)
        .unwrap();
    println!("trained: {report:?}");
    assert_eq!((epochs, report.epochs), (50, 50));
    assert!(report.accuracy == 1.0 && report.loss < 0.3, "{report:?}");
    let head = accuracy(&c, &f.test, Method::Head);
    println!("head accuracy, 6 shots: {head:.3}");
    assert!(head >= 0.8, "head {head}");
    // Probabilities sum to one; the threshold puts `unknown` first.
    let p = c
        .classify_embedding(&f.test[0].1, ClassifyOptions::default())
        .unwrap();
    assert!((p.iter().map(|x| x.probability).sum::<f32>() - 1.0).abs() < 1e-5);
    let sure = ClassifyOptions {
        threshold: Some(1.0),
        ..Default::default()
    };
    let p = c.classify_embedding(&f.test[0].1, sure).unwrap();
    assert_eq!(p[0].label, "unknown");
    assert_eq!(p.len(), 3);
    // Same seed, same head; another seed, another head.
    let again = {
        let mut c2 = taught(&f);
        c2.train(TrainOptions::default(), &device, |_| {}).unwrap();
        c2.save()
    };
    assert_eq!(again, c.save());
    let other = {
        let mut c2 = taught(&f);
        let seed = TrainOptions {
            seed: 7,
            ..Default::default()
        };
        c2.train(seed, &device, |_| {}).unwrap();
        c2.save()
    };
    assert_ne!(other, c.save());
    // Changing the examples drops the head.
    c.add_embeddings("dog", &f.train[0].1).unwrap();
    assert!(!c.is_trained());
    assert!(c.remove_class("bird"));
    assert_eq!(c.classes(), ["dog"]);
    c.clear();
    assert!(c.classes().is_empty());
}

/// The head trains on every backend compiled in (autodiff over burn-flex, burn-ndarray).
#[test]
fn training_runs_on_every_backend() {
    let f = fixture(&Device::flex());
    for (name, device) in common::devices() {
        let mut c = taught(&f);
        let r = c.train(TrainOptions::default(), &device, |_| {}).unwrap();
        let head = accuracy(&c, &f.test, Method::Head);
        println!("{name}: {r:?}, head accuracy {head:.3}");
        assert!(r.accuracy == 1.0 && head >= 0.8, "{name}");
    }
}

#[test]
fn bad_examples_and_options_are_refused() {
    let device = Device::flex();
    let files = common::entry("mobilenet_v1_0.25_128_quant").read().unwrap();
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let base = Classifier::from_tflite(&refs, None, &device).unwrap();
    let dim = base.info().embedding_size;
    let mut c = CustomClassifier::new(&base);
    let good = vec![vec![0.5f32; dim]];
    for (label, v) in [
        ("", good.clone()),
        ("unknown", good.clone()),
        ("a\nb", good.clone()),
        ("x", vec![vec![0.5f32; dim - 1]]),
        ("x", vec![vec![f32::NAN; dim]]),
        ("x", vec![]),
    ] {
        assert_eq!(
            c.add_embeddings(label, &v).unwrap_err().code(),
            "E_ARGUMENT"
        );
    }
    assert_eq!(
        c.classify_embedding(&good[0], ClassifyOptions::default())
            .unwrap_err()
            .code(),
        "E_ARGUMENT"
    );
    c.add_embeddings("a", &good).unwrap();
    assert_eq!(
        c.train(TrainOptions::default(), &device, |_| {})
            .unwrap_err()
            .code(),
        "E_ARGUMENT",
        "one class cannot be trained"
    );
    c.add_embeddings("b", &[vec![0.25f32; dim]]).unwrap();
    for bad in [
        TrainOptions {
            epochs: 0,
            ..Default::default()
        },
        TrainOptions {
            learning_rate: f64::NAN,
            ..Default::default()
        },
        TrainOptions {
            batch_size: 0,
            ..Default::default()
        },
    ] {
        assert_eq!(
            c.train(bad, &device, |_| {}).unwrap_err().code(),
            "E_ARGUMENT"
        );
    }
    let top0 = ClassifyOptions {
        top_k: Some(0),
        ..Default::default()
    };
    assert_eq!(
        c.classify_embedding(&good[0], top0).unwrap_err().code(),
        "E_ARGUMENT"
    );
    let t2 = ClassifyOptions {
        threshold: Some(1.5),
        ..Default::default()
    };
    assert_eq!(
        c.classify_embedding(&good[0], t2).unwrap_err().code(),
        "E_ARGUMENT"
    );
    // After the refusals, the next good call works.
    let p = c
        .classify_embedding(&good[0], ClassifyOptions::default())
        .unwrap();
    assert_eq!(p[0].label, "a");
}

#[test]
fn saved_bytes_round_trip_and_refuse_corruption_and_other_bases() {
    let device = Device::flex();
    let f = fixture(&device);
    let mut c = taught(&f);
    let knn_bytes = c.save();
    c.train(TrainOptions::default(), &device, |_| {}).unwrap();
    let bytes = c.save();
    let per_example = (bytes.len() - knn_bytes.len()) as f32;
    println!(
        "save(): {} bytes for {} examples of {} values ({:.0} bytes/example); head {per_example} bytes",
        knn_bytes.len(),
        c.vector_count(),
        c.embedding_size(),
        knn_bytes.len() as f32 / c.vector_count() as f32
    );
    let back = CustomClassifier::load(&f.base, &bytes).unwrap();
    assert!(back.is_trained());
    assert_eq!(back.save(), bytes);
    for (_, e) in &f.test {
        assert_eq!(
            back.classify_embedding(e, ClassifyOptions::default())
                .unwrap(),
            c.classify_embedding(e, ClassifyOptions::default()).unwrap()
        );
    }
    let knn_only = CustomClassifier::load(&f.base, &knn_bytes).unwrap();
    assert!(!knn_only.is_trained());
    // Another base: E_MODEL_MISMATCH.
    let other = common::classifier("mobilenet_v1_0.25_128_quant", &device);
    assert_eq!(
        CustomClassifier::load(&other, &bytes).unwrap_err().code(),
        "E_MODEL_MISMATCH"
    );
    // Corrupt, truncated, foreign bytes: E_MODEL_FORMAT.
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 1;
    let mut huge_header = bytes.clone();
    huge_header[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    for bad in [
        flipped,
        bytes[..bytes.len() - 1].to_vec(),
        bytes[..100].to_vec(),
        Vec::new(),
        b"MNWCUSTM".to_vec(),
        common::read(&common::models_dir().join("imagenet-labels.txt")),
        huge_header,
    ] {
        assert_eq!(
            CustomClassifier::load(&f.base, &bad).unwrap_err().code(),
            "E_MODEL_FORMAT"
        );
    }
    assert!(CustomClassifier::load(&f.base, &bytes).is_ok());
    // An export needs the base's own files.
    let wrong = common::entry("mobilenet_v1_0.25_128_quant").read().unwrap();
    assert_eq!(
        c.export_tflite(&f.base, &[&wrong[0]]).unwrap_err().code(),
        "E_MODEL_MISMATCH"
    );
    let _ = f.files;
}

#[test]
fn exported_tflite_loads_with_the_same_top1_and_labels() {
    let device = Device::flex();
    let mut f = fixture(&device);
    let mut c = taught(&f);
    assert_eq!(
        c.export_tflite(&f.base, &[&f.files[0]]).unwrap_err().code(),
        "E_ARGUMENT",
        "export before train()"
    );
    c.train(TrainOptions::default(), &device, |_| {}).unwrap();
    let refs: Vec<&[u8]> = f.files.iter().map(Vec::as_slice).collect();
    let exported = c.export_tflite(&f.base, &refs).unwrap();
    println!(
        "exported: {} bytes (base {} bytes)",
        exported.len(),
        f.files[0].len()
    );
    let mut loaded = Classifier::from_tflite(&[&exported], None, &device).unwrap();
    let info = loaded.info();
    println!("exported info: {info:?}");
    assert_eq!(info.num_classes, 2);
    assert_eq!(info.precision.name(), "int8");
    let mut worst = 0f32;
    let mut record = Vec::new();
    for path in photos(151..=268)
        .iter()
        .step_by(12)
        .chain(photos(7..=24).iter())
    {
        let ours = with_pixels(path, |p| loaded.classify(p, 2).unwrap());
        record.push(serde_json::json!({
            "photo": path.file_name().unwrap().to_string_lossy(),
            "top1": ours[0].label,
            "probability": ours[0].probability,
        }));
        let e = embed(&mut f.base, path);
        let custom = c
            .classify_embedding(&e, ClassifyOptions::default())
            .unwrap();
        assert_eq!(ours[0].label, custom[0].label, "{}", path.display());
        worst = worst.max((ours[0].probability - custom[0].probability).abs());
    }
    println!("largest probability difference, export vs custom: {worst:.2e}");
    // For `tests/tools/check_export.py`: the TFLite interpreter on the same file and photos.
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/custom-export");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("custom.tflite"), &exported).unwrap();
    std::fs::write(
        out.join("ours.json"),
        serde_json::to_vec_pretty(&record).unwrap(),
    )
    .unwrap();
    assert!(worst < 1e-4);
}

/// Saved bytes mutated past the checksum (the checksum then recomputed, so the header and sizes
/// are what gets tested): every one loads or is E_MODEL_FORMAT, never a panic.
#[test]
fn mutated_saved_bytes_load_or_are_refused_with_a_code() {
    use sha2::{Digest, Sha256};
    let device = Device::flex();
    let base = common::classifier("mobilenet_v1_0.25_128_quant", &device);
    let dim = base.info().embedding_size;
    let mut c = CustomClassifier::new(&base);
    c.add_embeddings("a", &[vec![0.5; dim]]).unwrap();
    c.add_embeddings("b", &[vec![0.25; dim], vec![0.75; dim]])
        .unwrap();
    c.train(
        TrainOptions {
            epochs: 2,
            ..Default::default()
        },
        &device,
        |_| {},
    )
    .unwrap();
    let good = c.save();
    let body = good.len() - 32;
    let header_end = 16 + u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut loaded, mut refused) = (0, 0);
    for i in 0..3000 {
        let mut b = good[..body].to_vec();
        match i % 3 {
            // A byte of the header (JSON) or the size fields.
            0 => {
                let at = 8 + (next() as usize) % (header_end - 8);
                b[at] = next() as u8;
            }
            // A truncation or an extension.
            1 => b.resize(16 + (next() as usize) % (body + 64), 0x41),
            // A value (a NaN or an infinity must be refused).
            _ => {
                let at = header_end + 4 * ((next() as usize) % ((body - header_end) / 4));
                b[at..at + 4]
                    .copy_from_slice(&[0xff, 0xff, 0xff, 0x7f].map(|x| x ^ (next() as u8 & 1)));
            }
        }
        let digest = Sha256::digest(&b);
        b.extend_from_slice(&digest);
        match CustomClassifier::load(&base, &b) {
            Ok(c2) => {
                loaded += 1;
                let _ = c2.classify_embedding(&vec![0.5; dim], Default::default());
            }
            Err(e) => {
                assert!(
                    ["E_MODEL_FORMAT", "E_MODEL_MISMATCH"].contains(&e.code()),
                    "{e}"
                );
                refused += 1;
            }
        }
    }
    println!("3000 mutations: {loaded} loaded, {refused} refused with a code");
    assert!(refused > 1000);
    assert!(CustomClassifier::load(&base, &good).is_ok());
}
