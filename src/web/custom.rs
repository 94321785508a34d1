//! The custom classes' binding. The package's `CustomClassifier` wraps this; the base
//! classifier is passed to each call that embeds, so one base serves several custom sets.

use wasm_bindgen::prelude::*;

use super::{WasmClassifier, js_error, to_js};
use crate::custom::{Augment, ClassifyOptions, CustomClassifier, TrainOptions};
use crate::error::Error;
use crate::preprocess::{PixelFormat, Pixels};

/// Custom classes on a base classifier. Use the package's `CustomClassifier` wrapper.
#[wasm_bindgen]
pub struct WasmCustom {
    inner: CustomClassifier,
    last_epoch: Option<crate::custom::EpochReport>,
}

fn options<T: serde::de::DeserializeOwned + Default>(v: JsValue, what: &str) -> Result<T, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(v).map_err(|e| js_error(Error::Argument(format!("{what}: {e}"))))
}

fn augment(flip: bool, crop: bool) -> Augment {
    Augment { flip, crop }
}

#[wasm_bindgen]
impl WasmCustom {
    /// No classes yet, on `base`'s embeddings.
    pub fn create(base: &WasmClassifier) -> WasmCustom {
        WasmCustom {
            inner: CustomClassifier::new(&base.inner),
            last_epoch: None,
        }
    }

    /// What `save` wrote, on the same base.
    pub fn load(base: &WasmClassifier, bytes: &[u8]) -> Result<WasmCustom, JsValue> {
        Ok(WasmCustom {
            inner: CustomClassifier::load(&base.inner, bytes).map_err(js_error)?,
            last_epoch: None,
        })
    }

    /// Adds an example given as RGBA pixels.
    #[wasm_bindgen(js_name = addExampleRgba)]
    #[allow(clippy::too_many_arguments)]
    pub fn add_example_rgba(
        &mut self,
        base: &mut WasmClassifier,
        data: &[u8],
        width: u32,
        height: u32,
        label: &str,
        flip: bool,
        crop: bool,
    ) -> Result<(), JsValue> {
        let pixels = Pixels::new(data, width, height, PixelFormat::Rgba).map_err(js_error)?;
        self.inner
            .add_example(&mut base.inner, pixels, label, augment(flip, crop))
            .map_err(js_error)
    }

    /// Adds an example given as encoded JPEG/PNG bytes.
    #[wasm_bindgen(js_name = addExampleEncoded)]
    pub fn add_example_encoded(
        &mut self,
        base: &mut WasmClassifier,
        bytes: &[u8],
        label: &str,
        flip: bool,
        crop: bool,
    ) -> Result<(), JsValue> {
        crate::custom::check_label(label).map_err(js_error)?;
        let image = base.inner.decode(bytes).map_err(js_error)?;
        let pixels = Pixels::new(&image.data, image.width, image.height, PixelFormat::Rgb)
            .map_err(js_error)?;
        self.inner
            .add_example(&mut base.inner, pixels, label, augment(flip, crop))
            .map_err(js_error)
    }

    /// Adds an example from an embedding the base computed.
    #[wasm_bindgen(js_name = addEmbedding)]
    pub fn add_embedding(&mut self, label: &str, embedding: Vec<f32>) -> Result<(), JsValue> {
        self.inner
            .add_embeddings(label, &[embedding])
            .map_err(js_error)
    }

    /// The classes, in the order they were taught.
    pub fn classes(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.classes())
    }

    /// Examples of `label`.
    #[wasm_bindgen(js_name = exampleCount)]
    pub fn example_count(&self, label: &str) -> usize {
        self.inner.example_count(label)
    }

    /// Stored vectors (examples and augmented copies).
    #[wasm_bindgen(js_name = vectorCount)]
    pub fn vector_count(&self) -> usize {
        self.inner.vector_count()
    }

    /// Bytes the examples and the head hold.
    #[wasm_bindgen(js_name = memoryBytes)]
    pub fn memory_bytes(&self) -> usize {
        self.inner.memory_bytes()
    }

    /// Removes a class; whether it existed.
    #[wasm_bindgen(js_name = removeClass)]
    pub fn remove_class(&mut self, label: &str) -> bool {
        self.inner.remove_class(label)
    }

    /// Removes every class.
    pub fn clear(&mut self) {
        self.inner.clear();
    }

    /// Whether a trained head covers the examples.
    pub fn trained(&self) -> bool {
        self.inner.is_trained()
    }

    /// Classifies RGBA pixels: `options` `{ topK, threshold, method }`.
    #[wasm_bindgen(js_name = classifyRgba)]
    pub fn classify_rgba(
        &self,
        base: &mut WasmClassifier,
        data: &[u8],
        width: u32,
        height: u32,
        opts: JsValue,
    ) -> Result<JsValue, JsValue> {
        let o: ClassifyOptions = options(opts, "classify options")?;
        let pixels = Pixels::new(data, width, height, PixelFormat::Rgba).map_err(js_error)?;
        to_js(
            &self
                .inner
                .classify(&mut base.inner, pixels, o)
                .map_err(js_error)?,
        )
    }

    /// Classifies encoded JPEG/PNG bytes.
    #[wasm_bindgen(js_name = classifyEncoded)]
    pub fn classify_encoded(
        &self,
        base: &mut WasmClassifier,
        bytes: &[u8],
        opts: JsValue,
    ) -> Result<JsValue, JsValue> {
        let o: ClassifyOptions = options(opts, "classify options")?;
        let image = base.inner.decode(bytes).map_err(js_error)?;
        let pixels = Pixels::new(&image.data, image.width, image.height, PixelFormat::Rgb)
            .map_err(js_error)?;
        to_js(
            &self
                .inner
                .classify(&mut base.inner, pixels, o)
                .map_err(js_error)?,
        )
    }

    /// Classifies an embedding the base computed.
    #[wasm_bindgen(js_name = classifyEmbedding)]
    pub fn classify_embedding(&self, embedding: &[f32], opts: JsValue) -> Result<JsValue, JsValue> {
        let o: ClassifyOptions = options(opts, "classify options")?;
        to_js(
            &self
                .inner
                .classify_embedding(embedding, o)
                .map_err(js_error)?,
        )
    }

    /// Starts training: `{ epochs, learningRate, seed, batchSize, hiddenUnits, weightDecay }`.
    #[wasm_bindgen(js_name = trainBegin)]
    pub fn train_begin(&mut self, opts: JsValue) -> Result<(), JsValue> {
        let o: TrainOptions = options(opts, "train options")?;
        self.last_epoch = None;
        self.inner
            .train_begin(o, &burn::tensor::Device::flex())
            .map_err(js_error)
    }

    /// One epoch: `{ epoch, loss, accuracy }`, or `null` once every epoch has run.
    #[wasm_bindgen(js_name = trainEpoch)]
    pub fn train_epoch(&mut self) -> Result<JsValue, JsValue> {
        match self.inner.train_epoch().map_err(js_error)? {
            Some(r) => {
                self.last_epoch = Some(r);
                to_js(&r)
            }
            None => Ok(JsValue::NULL),
        }
    }

    /// The finished training's `{ epochs, loss, accuracy, ms }`.
    #[wasm_bindgen(js_name = trainReport)]
    pub fn train_report(&mut self) -> Result<JsValue, JsValue> {
        let last = self.last_epoch.take();
        to_js(&self.inner.train_report(last).map_err(js_error)?)
    }

    /// Versioned bytes (base sha256, labels, embeddings, head).
    pub fn save(&self) -> Vec<u8> {
        self.inner.save()
    }

    /// A TFLite file of the base's backbone (`files`: the bytes the base was loaded from) and
    /// the trained head.
    #[wasm_bindgen(js_name = exportTflite)]
    pub fn export_tflite(
        &self,
        base: &WasmClassifier,
        files: Vec<js_sys::Uint8Array>,
    ) -> Result<Vec<u8>, JsValue> {
        let files: Vec<Vec<u8>> = files.iter().map(|f| f.to_vec()).collect();
        let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        self.inner
            .export_tflite(&base.inner, &refs)
            .map_err(js_error)
    }
}
