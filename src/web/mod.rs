//! The JavaScript face (wasm-bindgen). The npm package's `index.js` wraps this in the
//! documented `Classifier` API; errors cross as `Error` objects carrying the stable `code`.

mod custom;

use wasm_bindgen::prelude::*;

use crate::classifier::{Classifier, LoadOptions, Precision};
use crate::error::Error;
use crate::model::ext::Ops;
use crate::preprocess::{PixelFormat, Pixels};
use crate::tflite::{verify_digest, verify_integrity};

fn js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(Error::Internal(e.to_string())))
}

#[wasm_bindgen(start)]
fn start() {
    #[cfg(feature = "panic-hook")]
    console_error_panic_hook::set_once();
}

/// The SIMD level this module was built for: `"relaxed-simd"` (fused multiply-add) or
/// `"simd128"`. The package ships both builds and loads the first the engine validates.
#[wasm_bindgen(js_name = simdLevel)]
pub fn simd_level() -> String {
    if crate::kernels::isa::FUSED_MULTIPLY_ADD {
        "relaxed-simd".into()
    } else {
        "simd128".into()
    }
}

/// The threads the kernels split their work across: the calling thread and the workers
/// `initThreadPool` started in the threaded build, 1 in the others.
#[wasm_bindgen(js_name = threadCount)]
pub fn thread_count() -> usize {
    crate::kernels::par::threads()
}

/// A loaded model. Use the package's `Classifier` wrapper rather than this class directly.
#[wasm_bindgen]
pub struct WasmClassifier {
    inner: Classifier,
}

#[wasm_bindgen]
impl WasmClassifier {
    /// Builds a classifier from model file bytes (one file, or backbone and head).
    /// `labels`: optional array of strings; `integrity`: optional array of `sha256-…`, one per
    /// file; `precision`: optional `'int8'` or `'float32'` (default: int8 where the file has it);
    /// `sha256`: optional array of the files' hex digests, computed by the host (WebCrypto runs
    /// natively, off this thread), else hashed here. Given digests, `integrity` is checked
    /// against them. `burn_ops`: run every convolution on burn's own tensor ops instead of the
    /// kernels (to measure what the kernels bring). `max_pixels`: the decoded-pixel budget (0:
    /// the default); `reduced_decode`: large JPEGs decoded at a reduced DCT scale.
    #[wasm_bindgen(js_name = fromBytes)]
    #[allow(clippy::too_many_arguments)]
    pub fn from_bytes(
        files: Vec<js_sys::Uint8Array>,
        labels: JsValue,
        integrity: JsValue,
        precision: JsValue,
        sha256: JsValue,
        burn_ops: bool,
        imagenet_labels: JsValue,
        max_pixels: f64,
        reduced_decode: bool,
    ) -> Result<WasmClassifier, JsValue> {
        let sha256: Option<Vec<String>> = if sha256.is_undefined() || sha256.is_null() {
            None
        } else {
            let digests: Vec<String> = serde_wasm_bindgen::from_value(sha256)
                .map_err(|e| js_error(Error::Argument(format!("sha256: {e}"))))?;
            let hex = |d: &String| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit());
            if digests.len() != files.len() || !digests.iter().all(hex) {
                return Err(js_error(Error::Argument(
                    "sha256 must be one hex digest per model file".into(),
                )));
            }
            Some(
                digests
                    .into_iter()
                    .map(|d| d.to_ascii_lowercase())
                    .collect(),
            )
        };
        let precision: Option<Precision> = if precision.is_undefined() || precision.is_null() {
            None
        } else {
            let name = precision.as_string().ok_or_else(|| {
                js_error(Error::Argument(
                    "precision must be 'int8' or 'float32'".into(),
                ))
            })?;
            Some(name.parse().map_err(js_error)?)
        };
        let files: Vec<Vec<u8>> = files.iter().map(|f| f.to_vec()).collect();
        if !integrity.is_undefined() && !integrity.is_null() {
            let expected: Vec<String> = serde_wasm_bindgen::from_value(integrity)
                .map_err(|e| js_error(Error::Argument(format!("integrity: {e}"))))?;
            if expected.len() != files.len() {
                return Err(js_error(Error::Argument(format!(
                    "{} integrity values for {} model files",
                    expected.len(),
                    files.len()
                ))));
            }
            for (n, (f, i)) in files.iter().zip(&expected).enumerate() {
                match &sha256 {
                    Some(digests) => verify_digest(&digests[n], i),
                    None => verify_integrity(f, i),
                }
                .map_err(js_error)?;
            }
        }
        let labels: Option<Vec<String>> = if labels.is_undefined() || labels.is_null() {
            None
        } else {
            Some(
                serde_wasm_bindgen::from_value(labels)
                    .map_err(|e| js_error(Error::Labels(e.to_string())))?,
            )
        };
        let imagenet_labels: Option<Vec<String>> =
            if imagenet_labels.is_undefined() || imagenet_labels.is_null() {
                None
            } else {
                Some(
                    serde_wasm_bindgen::from_value(imagenet_labels)
                        .map_err(|e| js_error(Error::Labels(e.to_string())))?,
                )
            };
        let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        let options = LoadOptions {
            labels,
            imagenet_labels,
            precision,
            sha256,
            ops: if burn_ops { Ops::Burn } else { Ops::Kernels },
            // Checked in JS: a whole number from 1 (0 when not given).
            max_pixels: (max_pixels >= 1.0).then_some(max_pixels as u64),
            reduced_decode,
        };
        let inner = Classifier::from_tflite_with(&refs, options, &burn::tensor::Device::flex())
            .map_err(js_error)?;
        Ok(WasmClassifier { inner })
    }

    /// Top-k classes of RGBA pixels.
    #[wasm_bindgen(js_name = classifyRgba)]
    pub fn classify_rgba(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
        top_k: usize,
    ) -> Result<JsValue, JsValue> {
        let pixels = Pixels::new(data, width, height, PixelFormat::Rgba).map_err(js_error)?;
        to_js(&self.inner.classify(pixels, top_k).map_err(js_error)?)
    }

    /// Top-k classes of encoded JPEG/PNG bytes.
    #[wasm_bindgen(js_name = classifyEncoded)]
    pub fn classify_encoded(&mut self, bytes: &[u8], top_k: usize) -> Result<JsValue, JsValue> {
        to_js(
            &self
                .inner
                .classify_encoded(bytes, top_k)
                .map_err(js_error)?,
        )
    }

    /// Embedding of RGBA pixels.
    #[wasm_bindgen(js_name = embedRgba)]
    pub fn embed_rgba(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
    ) -> Result<Vec<f32>, JsValue> {
        let pixels = Pixels::new(data, width, height, PixelFormat::Rgba).map_err(js_error)?;
        self.inner.embed(pixels).map_err(js_error)
    }

    /// Embedding of encoded JPEG/PNG bytes.
    #[wasm_bindgen(js_name = embedEncoded)]
    pub fn embed_encoded(&mut self, bytes: &[u8]) -> Result<Vec<f32>, JsValue> {
        let image = self.inner.decode(bytes).map_err(js_error)?;
        let pixels = Pixels::new(&image.data, image.width, image.height, PixelFormat::Rgb)
            .map_err(js_error)?;
        self.inner.embed(pixels).map_err(js_error)
    }

    /// Model description.
    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.info())
    }

    /// Cold-start and latency statistics.
    pub fn stats(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.stats())
    }

    /// Records time spent in JS before the model was built.
    #[wasm_bindgen(js_name = recordFetchCompile)]
    pub fn record_fetch_compile(&mut self, fetch_ms: f64, compile_ms: f64) {
        self.inner.record_fetch_compile(fetch_ms, compile_ms);
    }
}
