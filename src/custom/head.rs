//! The trained head: a softmax layer (optionally after one hidden ReLU layer) on the stored
//! embeddings, trained with burn's autodiff and Adam from burn-optim. The backbone never runs
//! here: every epoch reads the vectors [`super::examples`] keeps. Trained weights leave burn as
//! plain [`Dense`] layers (a few thousand multiply-adds per image, saved and exported as such).

use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::{AdamConfig, GradientsParams, decay::WeightDecayConfig};
use burn::tensor::{Device, Int, Tensor, TensorData, activation::relu};
use serde::{Deserialize, Serialize};

use super::rng::Rng;
use crate::error::{Error, Result};

/// A dense layer `y = W x + b` with `W` as `[out][in]` row-major, optionally followed by ReLU.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Dense {
    pub inputs: usize,
    pub outputs: usize,
    pub weights: Vec<f32>,
    pub bias: Vec<f32>,
    pub relu: bool,
}

impl Dense {
    fn apply(&self, x: &[f32]) -> Vec<f32> {
        let mut y = self.bias.clone();
        for (o, row) in self.weights.chunks_exact(self.inputs).enumerate() {
            y[o] += row.iter().zip(x).map(|(w, v)| w * v).sum::<f32>();
            if self.relu {
                y[o] = y[o].max(0.0);
            }
        }
        y
    }
}

/// A trained head: dense layers, the last one giving one logit per class.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Head {
    pub layers: Vec<Dense>,
}

impl Head {
    /// Logits of one head input.
    pub(crate) fn logits(&self, x: &[f32]) -> Vec<f32> {
        self.layers.iter().fold(x.to_vec(), |x, l| l.apply(&x))
    }
}

/// What [`train`] is asked to do; every field has a default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TrainOptions {
    /// Passes over the examples (default 50).
    pub epochs: usize,
    /// Adam's step size (default 0.001).
    pub learning_rate: f64,
    /// Weight initialisation and shuffling (default 0): the same seed gives the same head.
    pub seed: u64,
    /// Examples per step (default 16).
    pub batch_size: usize,
    /// Units of a hidden ReLU layer, 0 for none (default 0).
    pub hidden_units: usize,
    /// L2 weight decay on the mean loss; default `1 / examples`, the penalty of scikit-learn's
    /// logistic regression at `C = 1` (`Σ loss + ½‖W‖²`).
    pub weight_decay: Option<f64>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            epochs: 50,
            learning_rate: 1e-3,
            seed: 0,
            batch_size: 16,
            hidden_units: 0,
            weight_decay: None,
        }
    }
}

impl TrainOptions {
    /// Refuses values outside what training can use.
    pub(crate) fn check(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::Argument(what.into()));
        if !(1..=10_000).contains(&self.epochs) {
            return bad("epochs must be 1..10000");
        }
        if !(self.learning_rate.is_finite()
            && self.learning_rate > 0.0
            && self.learning_rate <= 10.0)
        {
            return bad("learningRate must be a number in (0, 10]");
        }
        if !(1..=4096).contains(&self.batch_size) {
            return bad("batchSize must be 1..4096");
        }
        if self.hidden_units > 4096 {
            return bad("hiddenUnits must be 0..4096");
        }
        if let Some(w) = self.weight_decay
            && !(w.is_finite() && (0.0..=1.0).contains(&w))
        {
            return bad("weightDecay must be a number in [0, 1]");
        }
        Ok(())
    }
}

/// One epoch's figures.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochReport {
    /// 1-based.
    pub epoch: usize,
    /// Mean cross-entropy over the epoch's batches.
    pub loss: f32,
    /// Fraction of the examples the head classifies right after the epoch.
    pub accuracy: f32,
}

#[derive(Module, Debug)]
struct Net {
    hidden: Option<Linear>,
    out: Linear,
}

impl Net {
    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let x = match &self.hidden {
            Some(h) => relu(h.forward(x)),
            None => x,
        };
        self.out.forward(x)
    }
}

/// A Glorot-uniform layer from `rng` (burn's initialisers draw from the device's generator,
/// which the seed of one training run does not own).
fn linear(inputs: usize, outputs: usize, rng: &mut Rng, device: &Device) -> Linear {
    let limit = (6.0 / (inputs + outputs) as f32).sqrt();
    let w: Vec<f32> = (0..inputs * outputs)
        .map(|_| (rng.unit() * 2.0 - 1.0) * limit)
        .collect();
    Linear {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(w, [inputs, outputs]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![0f32; outputs], [outputs]),
            device,
        ))),
    }
}

fn zeros(inputs: usize, outputs: usize, device: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![0f32; inputs * outputs], [inputs, outputs]),
            device,
        )),
        bias: Some(Param::from_tensor(Tensor::from_data(
            TensorData::new(vec![0f32; outputs], [outputs]),
            device,
        ))),
    }
}

/// Training in progress: the module, its optimizer and the data, one epoch per [`Trainer::epoch`]
/// (the page gets control back between epochs).
pub(crate) struct Trainer {
    net: Net,
    optimizer: burn::optim::ModuleOptimizer,
    options: TrainOptions,
    /// Head inputs, row-major `[n, dim]`.
    x: Vec<f32>,
    y: Vec<i64>,
    dim: usize,
    classes: usize,
    rng: Rng,
    device: Device,
    done: usize,
}

impl std::fmt::Debug for Trainer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Trainer(epoch {} of {})", self.done, self.options.epochs)
    }
}

fn internal(e: impl std::fmt::Debug) -> Error {
    Error::Internal(format!("{e:?}"))
}

impl Trainer {
    /// `x`: head inputs row-major `[n, dim]`; `y`: their classes (`0..classes`).
    pub(crate) fn new(
        x: Vec<f32>,
        y: Vec<i64>,
        dim: usize,
        classes: usize,
        options: TrainOptions,
        device: &Device,
    ) -> Result<Self> {
        options.check()?;
        let device = device.clone().autodiff();
        let mut rng = Rng::new(options.seed);
        let (hidden, top) = match options.hidden_units {
            0 => (None, dim),
            h => (Some(linear(dim, h, &mut rng, &device)), h),
        };
        // The softmax layer starts at zero (a convex problem: no initialisation to undo); a
        // hidden layer needs random weights to break symmetry.
        let net = Net {
            hidden,
            out: zeros(top, classes, &device),
        };
        let decay = options.weight_decay.unwrap_or(1.0 / y.len().max(1) as f64);
        let optimizer = AdamConfig::new()
            .with_weight_decay((decay > 0.0).then(|| WeightDecayConfig::new(decay as f32)))
            .init();
        Ok(Self {
            net,
            optimizer,
            options,
            x,
            y,
            dim,
            classes,
            rng,
            device,
            done: 0,
        })
    }

    /// Whether every epoch asked for has run.
    pub(crate) fn finished(&self) -> bool {
        self.done >= self.options.epochs
    }

    /// One pass over the examples in a seeded order.
    pub(crate) fn epoch(&mut self) -> Result<EpochReport> {
        let n = self.y.len();
        let mut order: Vec<usize> = (0..n).collect();
        self.rng.shuffle(&mut order);
        let loss_fn = CrossEntropyLossConfig::new().init(&self.device);
        let (mut total, mut batches) = (0f32, 0usize);
        for batch in order.chunks(self.options.batch_size) {
            let mut xs = Vec::with_capacity(batch.len() * self.dim);
            for &i in batch {
                xs.extend_from_slice(&self.x[i * self.dim..(i + 1) * self.dim]);
            }
            let ys: Vec<i64> = batch.iter().map(|&i| self.y[i]).collect();
            let x =
                Tensor::<2>::from_data(TensorData::new(xs, [batch.len(), self.dim]), &self.device);
            let y = Tensor::<1, Int>::from_data(TensorData::new(ys, [batch.len()]), &self.device);
            let loss = loss_fn.forward(self.net.forward(x), y);
            total += loss.clone().into_scalar::<f32>();
            batches += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &self.net);
            let net = std::mem::replace(&mut self.net, placeholder(&self.device));
            self.net = self.optimizer.step(self.options.learning_rate, net, grads);
        }
        self.done += 1;
        let head = self.head()?;
        let right = (0..n)
            .filter(|&i| {
                let l = head.logits(&self.x[i * self.dim..(i + 1) * self.dim]);
                argmax(&l) == self.y[i] as usize
            })
            .count();
        Ok(EpochReport {
            epoch: self.done,
            loss: total / batches.max(1) as f32,
            accuracy: right as f32 / n.max(1) as f32,
        })
    }

    /// The head as trained so far.
    pub(crate) fn head(&self) -> Result<Head> {
        let mut layers = Vec::new();
        if let Some(h) = &self.net.hidden {
            layers.push(dense(h, true)?);
        }
        layers.push(dense(&self.net.out, false)?);
        debug_assert_eq!(layers.last().map(|l| l.outputs), Some(self.classes));
        Ok(Head { layers })
    }
}

/// A throw-away module standing in while the optimizer consumes the real one.
fn placeholder(device: &Device) -> Net {
    let mut rng = Rng::new(0);
    Net {
        hidden: None,
        out: linear(1, 1, &mut rng, device),
    }
}

/// A burn layer as plain data, `W` transposed to `[out][in]`.
fn dense(l: &Linear, relu: bool) -> Result<Dense> {
    let w = l.weight.val();
    let [inputs, outputs] = w.dims();
    let w: Vec<f32> = w
        .transpose()
        .into_data()
        .try_to_vec::<f32>()
        .map_err(internal)?;
    let bias = match &l.bias {
        Some(b) => b.val().into_data().try_to_vec::<f32>().map_err(internal)?,
        None => vec![0.0; outputs],
    };
    Ok(Dense {
        inputs,
        outputs,
        weights: w,
        bias,
        relu,
    })
}

/// Index of the largest value (the first of ties).
pub(crate) fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
