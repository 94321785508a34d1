//! # mobilenet-wasm
//!
//! MobileNet image classification (V1, V2, V3-Small, V3-Large) defined with burn, loaded
//! directly from the published TFLite files, for native code, browsers, Node and Workers.
//!
//! ## Usage
//! ```no_run
//! use mobilenet_wasm::{Classifier, Device};
//! let bytes = std::fs::read("mobilenet_v2_1.0_224_quant.tflite").unwrap();
//! let mut clf = Classifier::from_tflite(&[&bytes], None, &Device::flex()).unwrap();
//! let top5 = clf.classify_encoded(&std::fs::read("cat.jpg").unwrap(), 5).unwrap();
//! println!("{} {:.3}", top5[0].label, top5[0].probability);
//! ```
//!
//! ## Features
//! - `ndarray`: also compile the (deprecated) burn-ndarray backend, selectable with
//!   [`Device::ndarray`]. burn-flex ([`Device::flex`]) is the default.

#![warn(missing_docs)]

// The `relaxed` feature means this crate compiled with relaxed SIMD (scripts/rustc-wrapper.sh
// adds the target feature to this crate alone); without it the feature would change nothing.
#[cfg(all(
    feature = "relaxed",
    target_arch = "wasm32",
    not(target_feature = "relaxed-simd")
))]
compile_error!(
    "the `relaxed` feature needs relaxed SIMD on this crate: build with \
     RUSTC_WRAPPER=scripts/rustc-wrapper.sh (or RUSTFLAGS with +relaxed-simd)"
);

// The generated flatbuffer object API names `alloc::`.
extern crate alloc;

#[cfg(not(target_arch = "wasm32"))]
pub mod catalog;
pub mod classifier;
pub mod custom;
pub mod decode;
mod describe;
pub mod error;
pub mod fuzzing;
pub(crate) mod kernels;
pub(crate) mod model;
pub mod preprocess;
pub(crate) mod spec;
pub mod stats;
pub mod tflite;
#[cfg(target_arch = "wasm32")]
mod web;

pub use burn::tensor::Device;
pub use classifier::{Classifier, LoadOptions, Precision, Prediction, softmax};
pub use custom::CustomClassifier;
pub use describe::{LabelsSource, ModelInfo};
pub use error::{Error, Result};
pub use model::ext::Ops;
pub use model::{MobileNetConfig, Version};
pub use preprocess::{PixelFormat, Pixels};

/// The thread pool of the threaded wasm build: `initThreadPool(n)` in its JS glue.
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub use wasm_bindgen_rayon::init_thread_pool;
