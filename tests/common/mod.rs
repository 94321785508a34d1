//! Shared helpers: the models directory, the backends under test, reference files.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use mobilenet_wasm::catalog::{self, ModelEntry};
use mobilenet_wasm::kernels::Conv;
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

/// One convolution under test: a batch of `n` images of `h` × `w` pixels through `conv`.
#[derive(Clone, Copy, Debug)]
pub struct Case {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub conv: Conv,
}

impl Case {
    /// A 1×1 convolution.
    pub fn pointwise(n: usize, h: usize, w: usize, cin: usize, cout: usize) -> Case {
        Case::new(n, h, w, 1, 1, 1, cin, cout)
    }

    /// A depthwise convolution over `c` channels.
    pub fn depthwise(h: usize, w: usize, c: usize, kernel: usize, stride: usize) -> Case {
        Case::new(1, h, w, kernel, stride, c, c, c)
    }

    /// A one-group `kernel` × `kernel` convolution.
    pub fn full(h: usize, w: usize, cin: usize, cout: usize, kernel: usize, stride: usize) -> Case {
        Case::new(1, h, w, kernel, stride, 1, cin, cout)
    }

    #[allow(clippy::too_many_arguments)]
    fn new(
        n: usize,
        h: usize,
        w: usize,
        kernel: usize,
        stride: usize,
        groups: usize,
        in_channels: usize,
        out_channels: usize,
    ) -> Case {
        let conv = Conv {
            kernel,
            stride,
            groups,
            in_channels,
            out_channels,
        };
        Case { n, h, w, conv }
    }
}
