//! Custom classes on a base MobileNet: examples embedded once by the base, nearest-neighbour
//! classification from the first example, a trained head ([`head`]), the saved form
//! ([`saved`]) and the export as a TFLite file (the base's backbone and this head, written by
//! [`crate::tflite::writer`]).

mod examples;
mod head;
mod rng;
mod saved;

use serde::{Deserialize, Serialize};

use crate::classifier::Classifier;
use crate::error::{Error, Result};
use crate::preprocess::Pixels;
use crate::softmax;
use crate::tflite::writer;
use burn::tensor::Device;

pub use examples::{MAX_CLASSES, MAX_LABEL_BYTES, MAX_VECTORS, UNKNOWN, check_label};
pub use head::{EpochReport, TrainOptions};
pub use saved::FORMAT_VERSION;

use examples::Examples;
use head::{Head, Trainer};

/// Temperature of the nearest-neighbour probabilities: `softmax(similarity / T)` over the
/// classes' best cosine similarities. At 0.05, a class 0.1 more similar than another is
/// e² ≈ 7.4 times as probable.
pub const KNN_TEMPERATURE: f32 = 0.05;

/// How [`CustomClassifier::classify`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Cosine similarity to the nearest example of each class.
    Knn,
    /// The trained head.
    Head,
}

/// [`CustomClassifier::classify`]'s options.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ClassifyOptions {
    /// Classes returned (default: all).
    pub top_k: Option<usize>,
    /// Below this top probability the answer is `unknown` first (default: none).
    pub threshold: Option<f32>,
    /// Default: the head once trained, else kNN.
    pub method: Option<Method>,
}

/// One ranked custom class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomPrediction {
    /// The class, or [`UNKNOWN`].
    pub label: String,
    /// Its probability (for [`UNKNOWN`]: one minus the best class's).
    pub probability: f32,
}

/// How examples are augmented when added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Augment {
    /// Also store the mirrored crop.
    pub flip: bool,
    /// Also store a tighter centre crop (the image 1.25× larger).
    pub crop: bool,
}

/// What [`CustomClassifier::train`] did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TrainReport {
    /// Epochs run.
    pub epochs: usize,
    /// The last epoch's mean loss.
    pub loss: f32,
    /// The head's accuracy on its training examples.
    pub accuracy: f32,
    /// Milliseconds the training took.
    pub ms: f64,
}

/// A trained head with the classes it was trained on. Its first layer takes the base's raw
/// embedding (the input scaling of training is folded into it).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Trained {
    pub head: Head,
    pub classes: Vec<String>,
}

/// Classes taught on top of a base classifier.
#[derive(Debug)]
pub struct CustomClassifier {
    base_sha256: String,
    examples: Examples,
    trained: Option<Trained>,
    training: Option<(Trainer, f32, web_time::Instant)>,
}

impl CustomClassifier {
    /// No classes yet, on `base`'s embeddings.
    pub fn new(base: &Classifier) -> Self {
        Self {
            base_sha256: base.sha256().into(),
            examples: Examples::new(base.embedding_size()),
            trained: None,
            training: None,
        }
    }

    /// The base model's sha256 this classifier was made on.
    pub fn base_sha256(&self) -> &str {
        &self.base_sha256
    }

    /// Length of the embeddings it holds.
    pub fn embedding_size(&self) -> usize {
        self.examples.dim
    }

    fn check_base(&self, base: &Classifier) -> Result<()> {
        let sha = base.sha256();
        if sha != self.base_sha256 {
            return Err(Error::ModelMismatch(format!(
                "made on the base model {}, not this one ({sha})",
                short(&self.base_sha256)
            )));
        }
        Ok(())
    }

    /// The base's embeddings of an image: its crop, and the augmented crops asked for.
    pub fn embeddings(
        base: &mut Classifier,
        pixels: Pixels<'_>,
        augment: Augment,
    ) -> Result<Vec<Vec<f32>>> {
        let crop = base.crop(pixels)?;
        let side = base.config().resolution;
        let mut crops = Vec::new();
        if augment.flip {
            let mut flipped = crop.clone();
            for row in flipped.chunks_exact_mut(side * 3) {
                let mut px: Vec<[u8; 3]> =
                    row.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
                px.reverse();
                row.copy_from_slice(px.as_flattened());
            }
            crops.push(flipped);
        }
        if augment.crop {
            crops.push(base.crop_zoomed(pixels, 1.25)?);
        }
        crops.insert(0, crop);
        crops.iter().map(|c| Ok(base.run_crop(c)?.0)).collect()
    }

    /// Adds an example of `label` (a new class on first use); the base embeds it once.
    pub fn add_example(
        &mut self,
        base: &mut Classifier,
        pixels: Pixels<'_>,
        label: &str,
        augment: Augment,
    ) -> Result<()> {
        self.check_base(base)?;
        examples::check_label(label)?;
        let vectors = Self::embeddings(base, pixels, augment)?;
        self.add_embeddings(label, &vectors)
    }

    /// Adds an example from embeddings already computed by the base (its own, then augmented
    /// copies). A trained head no longer covers the examples, so it is dropped.
    pub fn add_embeddings(&mut self, label: &str, vectors: &[Vec<f32>]) -> Result<()> {
        self.examples.add(label, vectors)?;
        self.trained = None;
        self.training = None;
        Ok(())
    }

    /// The classes, in the order they were first taught.
    pub fn classes(&self) -> Vec<String> {
        self.examples
            .classes
            .iter()
            .map(|c| c.label.clone())
            .collect()
    }

    /// Examples added to `label` (0 for no such class).
    pub fn example_count(&self, label: &str) -> usize {
        self.examples
            .classes
            .iter()
            .find(|c| c.label == label)
            .map_or(0, |c| c.examples)
    }

    /// Stored vectors (examples and augmented copies).
    pub fn vector_count(&self) -> usize {
        self.examples.vectors()
    }

    /// Bytes the examples and the trained head hold.
    pub fn memory_bytes(&self) -> usize {
        self.examples.held_bytes()
            + self.trained.as_ref().map_or(0, |t| {
                t.head
                    .layers
                    .iter()
                    .map(|l| (l.weights.len() + l.bias.len()) * 4)
                    .sum()
            })
    }

    /// Removes a class; whether it existed.
    pub fn remove_class(&mut self, label: &str) -> bool {
        let before = self.examples.classes.len();
        self.examples.classes.retain(|c| c.label != label);
        let removed = self.examples.classes.len() != before;
        if removed {
            self.trained = None;
            self.training = None;
        }
        removed
    }

    /// Removes every class and the head.
    pub fn clear(&mut self) {
        self.examples.classes.clear();
        self.trained = None;
        self.training = None;
    }

    /// Whether a trained head covers the current examples.
    pub fn is_trained(&self) -> bool {
        self.trained.is_some()
    }

    /// Classifies an image with the custom classes.
    pub fn classify(
        &self,
        base: &mut Classifier,
        pixels: Pixels<'_>,
        options: ClassifyOptions,
    ) -> Result<Vec<CustomPrediction>> {
        self.check_base(base)?;
        self.check_options(&options)?;
        let e = base.embed(pixels)?;
        self.classify_embedding(&e, options)
    }

    fn check_options(&self, options: &ClassifyOptions) -> Result<()> {
        if options.top_k == Some(0) {
            return Err(Error::Argument("topK must be at least 1".into()));
        }
        if let Some(t) = options.threshold
            && !(0.0..=1.0).contains(&t)
        {
            return Err(Error::Argument("threshold must be in [0, 1]".into()));
        }
        if self.examples.classes.is_empty() {
            return Err(Error::Argument("no classes yet: add examples first".into()));
        }
        if options.method == Some(Method::Head) && self.trained.is_none() {
            return Err(Error::Argument(
                "no trained head for these examples: call train() first".into(),
            ));
        }
        Ok(())
    }

    /// [`CustomClassifier::classify`] on an embedding from the base.
    pub fn classify_embedding(
        &self,
        embedding: &[f32],
        options: ClassifyOptions,
    ) -> Result<Vec<CustomPrediction>> {
        self.check_options(&options)?;
        if embedding.len() != self.examples.dim || embedding.iter().any(|v| !v.is_finite()) {
            return Err(Error::Argument(format!(
                "an embedding must be {} finite values",
                self.examples.dim
            )));
        }
        let method = options.method.unwrap_or(if self.trained.is_some() {
            Method::Head
        } else {
            Method::Knn
        });
        let (labels, p) = match (method, &self.trained) {
            (Method::Head, Some(t)) => (t.classes.clone(), softmax(&t.head.logits(embedding))),
            _ => {
                let s: Vec<f32> = self
                    .examples
                    .nearest(embedding)
                    .iter()
                    .map(|s| s / KNN_TEMPERATURE)
                    .collect();
                (self.classes(), softmax(&s))
            }
        };
        let mut ranked: Vec<CustomPrediction> = labels
            .into_iter()
            .zip(p)
            .map(|(label, probability)| CustomPrediction { label, probability })
            .collect();
        ranked.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        ranked.truncate(options.top_k.unwrap_or(usize::MAX));
        if let Some(t) = options.threshold
            && ranked[0].probability < t
        {
            let probability = 1.0 - ranked[0].probability;
            ranked.insert(
                0,
                CustomPrediction {
                    label: UNKNOWN.into(),
                    probability,
                },
            );
        }
        Ok(ranked)
    }

    /// Starts training a head on the stored examples (at least two classes). `device`: the
    /// base's (burn picks the backend by device; autodiff wraps it).
    pub fn train_begin(&mut self, options: TrainOptions, device: &Device) -> Result<()> {
        options.check()?;
        if self.examples.classes.len() < 2 {
            return Err(Error::Argument(
                "training needs examples of at least two classes".into(),
            ));
        }
        let (mut x, y) = self.examples.dataset();
        // Inputs scaled to one on average per value (embeddings' norms differ by base: V2's
        // ReLU6 features are larger than V3's); the scale is folded into the first layer.
        let n = y.len();
        let dim = self.examples.dim;
        let mean_norm = x
            .chunks_exact(dim)
            .map(|v| v.iter().map(|a| a * a).sum::<f32>().sqrt())
            .sum::<f32>()
            / n as f32;
        let scale = if mean_norm > 0.0 {
            (dim as f32).sqrt() / mean_norm
        } else {
            1.0
        };
        x.iter_mut().for_each(|v| *v *= scale);
        let classes = self.examples.classes.len();
        let trainer = Trainer::new(x, y, dim, classes, options, device)?;
        self.training = Some((trainer, scale, web_time::Instant::now()));
        Ok(())
    }

    /// Runs one epoch of the training begun; `None` once all have run (the head is then in
    /// use).
    pub fn train_epoch(&mut self) -> Result<Option<EpochReport>> {
        let Some((trainer, _, _)) = self.training.as_mut() else {
            return Err(Error::Argument("no training in progress".into()));
        };
        if trainer.finished() {
            return Ok(None);
        }
        let report = trainer.epoch()?;
        if trainer.finished() {
            let (trainer, scale, _) = self.training.as_ref().expect("training");
            let mut head = trainer.head()?;
            head.layers[0].weights.iter_mut().for_each(|w| *w *= *scale);
            self.trained = Some(Trained {
                head,
                classes: self.classes(),
            });
        }
        Ok(Some(report))
    }

    /// Trains a head (all epochs), calling `progress` after each.
    pub fn train(
        &mut self,
        options: TrainOptions,
        device: &Device,
        mut progress: impl FnMut(&EpochReport),
    ) -> Result<TrainReport> {
        self.train_begin(options, device)?;
        let mut last = None;
        while let Some(r) = self.train_epoch()? {
            progress(&r);
            last = Some(r);
        }
        self.train_report(last)
    }

    /// The report of the training that just finished, given its last epoch.
    pub fn train_report(&mut self, last: Option<EpochReport>) -> Result<TrainReport> {
        let (Some((_, _, start)), Some(last)) = (self.training.take(), last) else {
            return Err(Error::Argument("no training has finished".into()));
        };
        Ok(TrainReport {
            epochs: last.epoch,
            loss: last.loss,
            accuracy: last.accuracy,
            ms: start.elapsed().as_secs_f64() * 1e3,
        })
    }

    /// Versioned, self-describing bytes: the base's sha256, labels, embeddings, trained head.
    pub fn save(&self) -> Vec<u8> {
        saved::save(&self.base_sha256, &self.examples, self.trained.as_ref())
    }

    /// The classifier `save` wrote, on the same base (`E_MODEL_MISMATCH` otherwise);
    /// `E_MODEL_FORMAT` for anything not written by `save`.
    pub fn load(base: &Classifier, bytes: &[u8]) -> Result<Self> {
        let (sha, examples, trained) = saved::load(bytes)?;
        let me = Self {
            base_sha256: sha,
            examples,
            trained,
            training: None,
        };
        me.check_base(base)?;
        if me.examples.dim != base.embedding_size() {
            return Err(Error::ModelMismatch(
                "embeddings of another length than this base's".into(),
            ));
        }
        Ok(me)
    }

    /// A TFLite file: the base's backbone (`base_files`, the bytes `base` was loaded from) and
    /// the trained head ending in SOFTMAX, labels in its metadata.
    pub fn export_tflite(&self, base: &Classifier, base_files: &[&[u8]]) -> Result<Vec<u8>> {
        self.check_base(base)?;
        let digests: Vec<String> = base_files
            .iter()
            .map(|f| crate::tflite::sha256_hex(f))
            .collect();
        if digests.join("+") != self.base_sha256 {
            return Err(Error::ModelMismatch(
                "the files given are not the base model's".into(),
            ));
        }
        let Some(t) = &self.trained else {
            return Err(Error::Argument(
                "export needs a trained head: call train() first".into(),
            ));
        };
        let layers: Vec<writer::DenseLayer<'_>> = t
            .head
            .layers
            .iter()
            .map(|l| writer::DenseLayer {
                inputs: l.inputs,
                outputs: l.outputs,
                weights: &l.weights,
                bias: &l.bias,
                relu: l.relu,
            })
            .collect();
        writer::with_head(base_files, &layers, &t.classes)
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}
