//! The whole job: model + labels + preprocessing + statistics.

use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use web_time::Instant;

use crate::decode::{self, MAX_DECODED_BYTES};
use crate::describe::{self, LabelsSource, ModelInfo};
use crate::error::{Error, Result};
use crate::kernels::gemm::int8::Layout;
use crate::kernels::select::selected;
use crate::model::ext::Ops;
use crate::model::{
    Architecture, MobileNet, MobileNetConfig, Output, QuantMobileNet, generated_weights,
};
use crate::preprocess::{self, PixelFormat, Pixels};
use crate::spec::InputScaling;
use crate::stats::{Recorder, Stats};
use crate::tflite::{self, OutputActivation};

/// One ranked class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Class index (0..999 for ImageNet; the TF files' "background" output is not a class).
    pub index: usize,
    /// Human-readable label.
    pub label: String,
    /// Softmax probability.
    pub probability: f32,
}

/// The arithmetic a classifier runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 8-bit integers, as TFLite runs the quantized files: the default wherever the file is a
    /// fully quantized MobileNet V1 or V2.
    Int8,
    /// 32-bit floats on the dequantized weights: every file, the default for V3 and float files.
    Float32,
}

impl Precision {
    /// `"int8"` or `"float32"`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::Int8 => "int8",
            Precision::Float32 => "float32",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "int8" => Ok(Precision::Int8),
            "float32" => Ok(Precision::Float32),
            other => Err(Error::Argument(format!(
                "precision must be 'int8' or 'float32', not {other:?}"
            ))),
        }
    }
}

/// How [`Classifier::from_tflite_with`] loads a model; every field optional.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Labels overriding the file's (one per class, or per output).
    pub labels: Option<Vec<String>>,
    /// ImageNet's 1000 class names, used for a 1000- or 1001-class output that has no labels of
    /// its own (the caller has them: the package bundles them, the CLI reads the models
    /// directory's).
    pub imagenet_labels: Option<Vec<String>>,
    /// The arithmetic; default int8 where the file allows it.
    pub precision: Option<Precision>,
    /// Hex sha256 of each file, when the caller has it already; computed otherwise.
    pub sha256: Option<Vec<String>>,
    /// What the convolutions run on: the kernels (default) or burn's own ops.
    pub ops: Ops,
    /// Most pixels an image may have once decoded (default [`DEFAULT_MAX_PIXELS`]); larger is
    /// `E_IMAGE_TOO_LARGE`, decided from the header before any pixel memory is allocated.
    pub max_pixels: Option<u64>,
    /// Encoded JPEGs at least four times the side the resize needs are decoded at 1/2, 1/4 or 1/8 of
    /// their size ([`decode::decode_reduced`]); off by default (the reference pipeline's pixels).
    pub reduced_decode: bool,
}

/// Default of [`LoadOptions::max_pixels`]: the 512 MiB decode ceiling at 6 bytes a pixel.
pub const DEFAULT_MAX_PIXELS: u64 = MAX_DECODED_BYTES / 6;

/// The network a classifier runs.
#[derive(Debug)]
enum Net {
    Float(MobileNet),
    Int8(QuantMobileNet),
}

/// A ready-to-use MobileNet classifier.
#[derive(Debug)]
pub struct Classifier {
    model: Net,
    config: MobileNetConfig,
    arch: Architecture,
    output: OutputActivation,
    /// One label per model output.
    labels: Vec<String>,
    labels_source: LabelsSource,
    /// 1 when output 0 is TF's "background".
    first_class: usize,
    scaling: InputScaling,
    device: Device,
    recorder: Recorder,
    sha256: String,
    model_bytes: usize,
    quantization_emulated: bool,
    /// [`LoadOptions::max_pixels`].
    max_pixels: u64,
    /// [`LoadOptions::reduced_decode`].
    reduced_decode: bool,
}

impl Classifier {
    /// Loads a classifier from TFLite file(s) (backbone then head for a split model).
    /// `labels` overrides the labels packed in the file; without either, classes are numbered.
    /// Runs in 8-bit integers where the file allows it ([`Precision::Int8`]), else in floats.
    pub fn from_tflite(
        files: &[&[u8]],
        labels: Option<Vec<String>>,
        device: &Device,
    ) -> Result<Self> {
        let options = LoadOptions {
            labels,
            ..LoadOptions::default()
        };
        Self::from_tflite_with(files, options, device)
    }

    /// [`Classifier::from_tflite`] with options. Asking for int8 on a file without an integer
    /// form is `E_MODEL_UNSUPPORTED`.
    pub fn from_tflite_with(
        files: &[&[u8]],
        options: LoadOptions,
        device: &Device,
    ) -> Result<Self> {
        let LoadOptions {
            labels,
            imagenet_labels,
            precision,
            sha256,
            ops,
            max_pixels,
            reduced_decode,
        } = options;
        let max_pixels = match max_pixels {
            None => DEFAULT_MAX_PIXELS,
            Some(0) => return Err(Error::Argument("maxPixels must be at least 1".into())),
            Some(n) => n.min(DEFAULT_MAX_PIXELS),
        };
        let start = Instant::now();
        let mut chosen = Precision::Float32;
        let loaded = tflite::load_with(files, sha256, |has_int8| {
            chosen = match (precision, has_int8) {
                (None | Some(Precision::Int8), true) => Precision::Int8,
                _ => Precision::Float32,
            };
            match chosen {
                Precision::Int8 => tflite::Forms::Integer,
                Precision::Float32 => tflite::Forms::Float,
            }
        })?;
        let arch = loaded.arch.clone();
        if precision == Some(Precision::Int8) && loaded.quant.is_none() {
            return Err(Error::ModelUnsupported(format!(
                "this {} has no int8 form here (the int8 model runs fully quantized files); \
                 use precision 'float32'",
                loaded.config.version.name()
            )));
        }
        let precision = chosen;
        let model = match (precision, &loaded.quant, &loaded.integer) {
            (Precision::Int8, Some(graph), Some(weights)) => {
                let convs: Vec<_> = loaded
                    .convs
                    .iter()
                    .zip(weights)
                    .map(|(c, w)| {
                        let q = c.quant.as_ref();
                        (q.expect("a quantized graph has quantized convs"), w)
                    })
                    .collect();
                let layout = selected().layout;
                Net::Int8(QuantMobileNet::new(
                    &arch,
                    &convs,
                    graph,
                    loaded.head_float.clone(),
                    layout,
                    ops,
                    device,
                )?)
            }
            _ => {
                let Some(float) = loaded.float else {
                    return Err(Error::Internal("the float weights were not read".into()));
                };
                let mut weights = float.into_iter();
                let next = |_: &_| {
                    let w = weights.next();
                    w.expect("recognise() returned one convolution per spec")
                };
                Net::Float(MobileNet::new(&arch, next, ops, device))
            }
        };
        let first_class = usize::from(loaded.config.num_classes == 1001);
        let outputs = loaded.config.num_classes;
        let (labels, labels_source) =
            describe::labels(labels, loaded.labels, imagenet_labels, outputs, first_class)?;
        let mut classifier = Self {
            model,
            config: loaded.config,
            arch,
            output: loaded.output,
            labels,
            labels_source,
            first_class,
            scaling: loaded.input_scaling,
            device: device.clone(),
            recorder: Recorder::default(),
            sha256: loaded.sha256.join("+"),
            model_bytes: loaded.bytes,
            quantization_emulated: false,
            max_pixels,
            reduced_decode,
        };
        classifier.quantization_emulated =
            precision == Precision::Float32 && loaded.quantization_emulated;
        classifier
            .recorder
            .set_build(start.elapsed().as_secs_f64() * 1e3);
        Ok(classifier)
    }

    /// A classifier with generated weights: for architectures without a published file and for
    /// latency measurements. Its predictions mean nothing.
    pub fn generated(config: MobileNetConfig, seed: u64, device: &Device) -> Result<Self> {
        let arch = config.architecture();
        let model = Net::Float(MobileNet::new(
            &arch,
            generated_weights(seed),
            Ops::Kernels,
            device,
        ));
        let (labels, labels_source) = describe::labels(None, None, None, config.num_classes, 0)?;
        Ok(Self {
            model,
            config,
            arch,
            output: OutputActivation::Softmax,
            labels,
            labels_source,
            first_class: 0,
            scaling: InputScaling::MobileNet,
            device: device.clone(),
            recorder: Recorder::default(),
            sha256: String::new(),
            model_bytes: 0,
            quantization_emulated: false,
            max_pixels: DEFAULT_MAX_PIXELS,
            reduced_decode: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &MobileNetConfig {
        &self.config
    }

    /// Description of the model.
    pub fn info(&self) -> ModelInfo {
        ModelInfo {
            version: self.config.version.name().into(),
            width_multiplier: self
                .config
                .width_multiplier
                .to_string()
                .parse()
                .unwrap_or(0.0),
            resolution: self.config.resolution,
            minimalistic: self.config.minimalistic,
            head: describe::head(&self.arch, self.output),
            num_classes: self.config.num_classes - self.first_class,
            parameters: self.arch.parameters(),
            embedding_size: self.embedding_size(),
            input_scaling: describe::scaling(self.scaling),
            labels_source: self.labels_source,
            sha256: self.sha256().into(),
            model_bytes: self.model_bytes,
            quantization_emulated: self.quantization_emulated,
            precision: self.precision(),
            int8_products: match &self.model {
                Net::Int8(m) => Some(match m.layout() {
                    Layout::Quads => "relaxed-dot",
                    Layout::Pairs => "dot16",
                }),
                Net::Float(_) => None,
            },
        }
    }

    /// The arithmetic it runs in.
    pub fn precision(&self) -> Precision {
        match self.model {
            Net::Float(_) => Precision::Float32,
            Net::Int8(_) => Precision::Int8,
        }
    }

    /// Cold-start and latency statistics.
    pub fn stats(&self) -> Stats {
        self.recorder.stats()
    }

    /// Lets the host record time spent before Rust ran (fetching, compiling).
    pub fn record_fetch_compile(&mut self, fetch_ms: f64, compile_ms: f64) {
        self.recorder.set_fetch_compile(fetch_ms, compile_ms);
    }

    /// The exact `S×S` RGB crop fed to the network.
    pub fn crop(&self, pixels: Pixels<'_>) -> Result<Vec<u8>> {
        self.crop_zoomed(pixels, 1.0)
    }

    /// [`Classifier::crop`] of the image resized `zoom` times larger (a tighter centre crop).
    pub(crate) fn crop_zoomed(&self, pixels: Pixels<'_>, zoom: f64) -> Result<Vec<u8>> {
        let n = pixels.width() as u64 * pixels.height() as u64;
        if n > self.max_pixels {
            return Err(Error::ImageTooLarge {
                width: pixels.width() as u64,
                height: pixels.height() as u64,
                bytes: n * 6,
                limit: self.max_pixels * 6,
            });
        }
        preprocess::center_crop_zoomed(pixels, self.config.resolution as u32, zoom)
    }

    /// Hex sha256 of the model file(s), `+`-joined for a split model (as [`ModelInfo::sha256`]).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Length of [`Classifier::embed`]'s vectors (as [`ModelInfo::embedding_size`]).
    pub fn embedding_size(&self) -> usize {
        self.arch.embedding_len()
    }

    /// Runs the network on a crop; returns (embedding, raw outputs including any background).
    pub fn run_crop(&mut self, crop: &[u8]) -> Result<(Vec<f32>, Vec<f32>)> {
        let (embedding, logits, _) = self.infer(crop)?;
        Ok((embedding, logits))
    }

    /// Embedding, raw outputs, and the graph's own probabilities where an integer graph
    /// computes them (its 8-bit softmax).
    fn infer(&mut self, crop: &[u8]) -> Result<(Vec<f32>, Vec<f32>, Option<Vec<f32>>)> {
        let s = self.config.resolution;
        if crop.len() != s * s * 3 {
            return Err(Error::InputSize(format!(
                "a crop of {} bytes; expected {s}x{s}x3",
                crop.len()
            )));
        }
        let start = Instant::now();
        let out: Output = crate::kernels::par::session(|| match &self.model {
            Net::Float(m) => m.forward(preprocess::to_tensor(crop, s, self.scaling, &self.device)),
            Net::Int8(m) => {
                let data = TensorData::new(crop.to_vec(), [1, s, s, 3]);
                m.forward(Tensor::<4, Int>::from_data(data, (&self.device, DType::U8)))
            }
        });
        let vec = |t: Tensor<2>| {
            t.into_data()
                .try_to_vec::<f32>()
                .map_err(|e| Error::Internal(format!("{e:?}")))
        };
        let embedding = vec(out.embedding)?;
        let logits = vec(out.logits)?;
        let probabilities = out.probabilities.map(vec).transpose()?;
        self.recorder.record(start.elapsed().as_secs_f64() * 1e3);
        Ok((embedding, logits, probabilities))
    }

    /// The top `top_k` classes, most probable first.
    pub fn classify(&mut self, pixels: Pixels<'_>, top_k: usize) -> Result<Vec<Prediction>> {
        let crop = self.crop(pixels)?;
        self.classify_crop(&crop, top_k)
    }

    /// Encoded bytes → RGB within this classifier's pixel budget (reduced where it allows).
    pub(crate) fn decode(&self, bytes: &[u8]) -> Result<decode::RgbImage> {
        let side = self.reduced_decode.then(|| {
            let (w, h) = preprocess::resize_dims(1, 1, self.config.resolution as u32);
            w.min(h)
        });
        decode::decode_reduced(bytes, self.max_pixels.saturating_mul(6), side)
    }

    /// [`Classifier::classify`] on an already cropped `S×S` RGB image.
    pub fn classify_crop(&mut self, crop: &[u8], top_k: usize) -> Result<Vec<Prediction>> {
        if top_k == 0 {
            return Err(Error::Argument("topK must be at least 1".into()));
        }
        let (_, logits, probabilities) = self.infer(crop)?;
        Ok(match probabilities {
            Some(p) => self.ranked(&p, &logits, top_k),
            None => self.top_k(&logits, top_k),
        })
    }

    /// The graph's own probabilities, ties (its 256 levels) broken by the unrounded logits.
    fn ranked(&self, probabilities: &[f32], logits: &[f32], k: usize) -> Vec<Prediction> {
        let n = probabilities.len();
        let mut order: Vec<usize> = (self.first_class.min(n)..n).collect();
        order.sort_by(|&a, &b| {
            probabilities[b]
                .total_cmp(&probabilities[a])
                .then(logits[b].total_cmp(&logits[a]))
                .then(a.cmp(&b))
        });
        order
            .into_iter()
            .take(k)
            .map(|i| Prediction {
                index: i - self.first_class,
                label: self.labels[i].clone(),
                probability: probabilities[i],
            })
            .collect()
    }

    /// Ranks raw outputs: softmax over every output (as the TF graphs do), or a sigmoid per
    /// output where the graph ends on one; background skipped.
    pub fn top_k(&self, outputs: &[f32], k: usize) -> Vec<Prediction> {
        let probabilities = match self.output {
            OutputActivation::Softmax => softmax(outputs),
            OutputActivation::Sigmoid => {
                outputs.iter().map(|&v| 1.0 / (1.0 + (-v).exp())).collect()
            }
        };
        rank(&probabilities, self.first_class, k)
            .into_iter()
            .map(|(i, probability)| Prediction {
                index: i - self.first_class,
                label: self.labels[i].clone(),
                probability,
            })
            .collect()
    }

    /// The pre-classifier feature vector.
    pub fn embed(&mut self, pixels: Pixels<'_>) -> Result<Vec<f32>> {
        let crop = self.crop(pixels)?;
        Ok(self.run_crop(&crop)?.0)
    }

    /// Decodes JPEG/PNG bytes and classifies them.
    pub fn classify_encoded(&mut self, bytes: &[u8], top_k: usize) -> Result<Vec<Prediction>> {
        let image = self.decode(bytes)?;
        let pixels = Pixels::new(&image.data, image.width, image.height, PixelFormat::Rgb)?;
        self.classify(pixels, top_k)
    }
}

/// The `k` most probable outputs from `first_class` on, as `(output index, probability)`, most
/// probable first, ties in index order.
pub fn rank(probabilities: &[f32], first_class: usize, k: usize) -> Vec<(usize, f32)> {
    let n = probabilities.len();
    let mut order: Vec<usize> = (first_class.min(n)..n).collect();
    order.sort_by(|&a, &b| {
        probabilities[b]
            .total_cmp(&probabilities[a])
            .then(a.cmp(&b))
    });
    order
        .into_iter()
        .take(k)
        .map(|i| (i, probabilities[i]))
        .collect()
}

/// Numerically stable softmax; non-finite inputs give zero probability.
pub fn softmax(x: &[f32]) -> Vec<f32> {
    let max = x
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = x
        .iter()
        .map(|&v| if v.is_finite() { (v - max).exp() } else { 0.0 })
        .collect();
    let sum: f32 = exp.iter().sum();
    if sum > 0.0 {
        exp.iter().map(|e| e / sum).collect()
    } else {
        vec![0.0; x.len()]
    }
}

// Native only: the kernels' tests are the ones that also run in wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use std::path::Path;

    use burn::tensor::{DType, Device, Int, Tensor, TensorData};

    use crate::catalog;
    use crate::kernels::gemm::int8::Layout;
    use crate::model::QuantMobileNet;
    use crate::model::ext::Ops;
    use crate::tflite;

    /// Logits of the int8 model of the published `name` with one-group weights in `layout`.
    fn logits_with(name: &str, layout: Layout, crop: &[u8]) -> Vec<f32> {
        let dir = catalog::models_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
            .unwrap_or_else(|e| panic!("{e} (set MOBILENET_MODELS_DIR)"));
        let entry = catalog::discover(&dir).unwrap();
        let entry = entry.iter().find(|e| e.name == name).expect(name);
        let files = entry.read().unwrap();
        let refs: Vec<&[u8]> = files.iter().map(Vec::as_slice).collect();
        let loaded = tflite::load(&refs).unwrap();
        let weights = loaded.integer.as_ref().unwrap();
        let convs: Vec<_> = loaded
            .convs
            .iter()
            .zip(weights)
            .map(|(c, w)| (c.quant.as_ref().unwrap(), w))
            .collect();
        let device = Device::flex();
        let arch = loaded.config.architecture();
        let graph = loaded.quant.as_ref().unwrap();
        let model = QuantMobileNet::new(
            &arch,
            &convs,
            graph,
            Vec::new(),
            layout,
            Ops::Kernels,
            &device,
        );
        let s = loaded.config.resolution;
        let x = Tensor::<4, Int>::from_data(
            TensorData::new(crop.to_vec(), [1, s, s, 3]),
            (&device, DType::U8),
        );
        let logits = model.unwrap().forward(x).logits;
        logits.into_data().try_into_vec::<f32>().unwrap()
    }

    /// Weights packed for the relaxed dot product (raw u8 inputs, i8 weights with shifted
    /// columns, the zero point folded into the bias) give the very same logits as 16-bit pairs.
    #[test]
    fn both_weight_layouts_give_the_same_logits() {
        for name in [
            "mobilenet_v1_0.25_128_quant",
            "mobilenet_v2_1.0_224_tf2_ptq",
            "mobilenet_v2_1.0_224_quant",
        ] {
            let s = if name.contains("128") { 128 } else { 224 };
            let crop: Vec<u8> = (0..s * s * 3).map(|i| (i * 37 % 253) as u8).collect();
            let pairs = logits_with(name, Layout::Pairs, &crop);
            let quads = logits_with(name, Layout::Quads, &crop);
            assert_eq!(pairs, quads, "{name}");
            assert!(
                pairs.iter().any(|&v| v != pairs[0]),
                "{name}: constant logits"
            );
        }
    }
}
