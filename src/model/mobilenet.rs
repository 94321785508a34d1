//! The whole network: stem, blocks, head. One module serves V1, V2 and V3; what differs between
//! them is the [`Architecture`] it is built from.

use burn::module::Module;
use burn::tensor::{Device, Tensor};

use super::blocks::{ConvAct, ConvWeights, InvertedResidual, global_pool, global_pool_in_order};
use super::config::{Architecture, ConvSpec};
use super::ext::Ops;

/// A MobileNet as a burn module.
#[derive(Module, Debug)]
pub(crate) struct MobileNet {
    stem: ConvAct,
    blocks: Vec<InvertedResidual>,
    last_conv: Option<ConvAct>,
    /// The dense layers after the pool (1×1 convolutions on the pooled map).
    head: Vec<ConvAct>,
    #[module(skip)]
    ops: Ops,
}

/// What one forward pass returns.
#[derive(Debug)]
pub(crate) struct Output {
    /// The last dense layer's input `[N, D]` (the features a custom head learns from).
    pub embedding: Tensor<2>,
    /// Classifier outputs `[N, classes]`.
    pub logits: Tensor<2>,
    /// The graph's own probabilities `[N, classes]`, where an integer graph computes them
    /// (its 8-bit softmax), exactly as TFLite does.
    pub probabilities: Option<Tensor<2>>,
}

impl MobileNet {
    /// Builds the network, taking each convolution's weights from `next` in the order of
    /// [`Architecture::convs`].
    pub(crate) fn new(
        arch: &Architecture,
        mut next: impl FnMut(&ConvSpec) -> ConvWeights,
        ops: Ops,
        device: &Device,
    ) -> Self {
        let stem = ConvAct::new(&arch.stem, next(&arch.stem), device);
        let blocks = arch
            .blocks
            .iter()
            .map(|b| InvertedResidual::new(b, &mut next, device))
            .collect();
        let last_conv = arch.last_conv.map(|s| ConvAct::new(&s, next(&s), device));
        let head = arch
            .head
            .iter()
            .map(|s| ConvAct::new(s, next(s), device))
            .collect();
        Self {
            stem,
            blocks,
            last_conv,
            head,
            ops,
        }
    }

    /// `[N, S, S, 3]` scaled pixels (NHWC) → embedding and logits.
    pub(crate) fn forward(&self, x: Tensor<4>) -> Output {
        let ops = self.ops;
        let mut x = self.stem.forward(x, ops);
        for block in &self.blocks {
            x = block.forward(x, ops);
        }
        if let Some(c) = &self.last_conv {
            x = c.forward(x, ops);
        }
        x = if self.head.iter().any(ConvAct::is_hybrid) {
            global_pool_in_order(x)
        } else {
            global_pool(x)
        };
        let (classifier, hidden) = self.head.split_last().expect("a network has a head");
        for layer in hidden {
            x = layer.forward(x, ops);
        }
        let embedding: Tensor<2> = x.clone().flatten(1, 3);
        let logits = classifier.forward(x, ops).flatten(1, 3);
        Output {
            embedding,
            logits,
            probabilities: None,
        }
    }
}
