//! Shared helpers: the models directory, the backends under test, reference files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use mobilenet_wasm::catalog::{self, ModelEntry};
use mobilenet_wasm::{Classifier, Device};

/// The models directory; a missing one fails the test with a message naming the variable.
pub fn models_dir() -> PathBuf {
    catalog::models_dir(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap_or_else(|e| {
        panic!("{e} (tests need the published models: set MOBILENET_MODELS_DIR)")
    })
}

/// The golden images folder beside the models directory.
pub fn golden_dir() -> PathBuf {
    let dir = models_dir().join("../golden/imagenet-samples");
    assert!(dir.is_dir(), "golden images not found at {}", dir.display());
    dir
}

/// Every backend compiled in: one suite, run against each.
pub fn devices() -> Vec<(&'static str, Device)> {
    vec![
        ("flex", Device::flex()),
        #[cfg(feature = "ndarray")]
        ("ndarray", Device::ndarray()),
    ]
}

pub fn entry(name: &str) -> ModelEntry {
    catalog::discover(&models_dir())
        .expect("models directory readable")
        .into_iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| {
            panic!(
                "model folder {name} missing from {}",
                models_dir().display()
            )
        })
}

pub fn classifier(name: &str, device: &Device) -> Classifier {
    let files = entry(name).read().expect("model files readable");
    let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
    let labels = catalog::imagenet_labels(&models_dir()).ok();
    Classifier::from_tflite(&refs, labels, device).expect("model loads")
}

pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `reference-top5.json` of a model folder.
pub fn reference(name: &str) -> serde_json::Value {
    serde_json::from_slice(&read(&models_dir().join(name).join("reference-top5.json"))).unwrap()
}
