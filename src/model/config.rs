//! Model configuration and the architecture each configuration implies.
//!
//! The architecture tables follow the TF-slim definitions the published weights were trained
//! with (`mobilenet_v1.py`, `mobilenet_v2.py`, `mobilenet_v3.py`): channel counts are scaled by
//! the width multiplier and rounded as those files round them.

use serde::{Deserialize, Serialize};

use crate::spec::{Activation, Conv};

/// MobileNet generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Version {
    /// MobileNetV1: depthwise-separable convolutions.
    V1,
    /// MobileNetV2: inverted residuals with linear bottlenecks.
    V2,
    /// MobileNetV3-Small: inverted residuals, squeeze-excite, hard-swish.
    V3Small,
    /// MobileNetV3-Large.
    V3Large,
}

impl Version {
    /// Human-readable name, e.g. `"MobileNetV3-Small"`.
    pub fn name(self) -> &'static str {
        match self {
            Version::V1 => "MobileNetV1",
            Version::V2 => "MobileNetV2",
            Version::V3Small => "MobileNetV3-Small",
            Version::V3Large => "MobileNetV3-Large",
        }
    }
}

/// What a MobileNet is: generation, width multiplier α, input resolution and class count.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MobileNetConfig {
    /// Generation.
    pub version: Version,
    /// Width multiplier α (1.0 = the paper's base width).
    pub width_multiplier: f32,
    /// Input side S (the model takes S×S RGB).
    pub resolution: usize,
    /// Outputs of the classifier (1001 for the TF files: index 0 is "background").
    pub num_classes: usize,
    /// MobileNetV3's minimalistic variant (ReLU and 3×3 kernels throughout, no squeeze-excite).
    #[serde(default)]
    pub minimalistic: bool,
}

/// One convolution of an architecture: its geometry and the activation that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConvSpec {
    /// Geometry.
    pub conv: Conv,
    /// Activation the architecture calls for.
    pub activation: Activation,
}

impl ConvSpec {
    pub(super) fn new(
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        activation: Activation,
    ) -> Self {
        Self {
            conv: Conv::full(cin, cout, kernel, stride),
            activation,
        }
    }

    pub(super) fn depthwise(
        channels: usize,
        kernel: usize,
        stride: usize,
        activation: Activation,
    ) -> Self {
        Self {
            conv: Conv::depthwise(channels, kernel, stride),
            activation,
        }
    }
}

/// Squeeze-excite: global pool, reduce (ReLU), expand (hard-sigmoid), scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SqueezeExciteSpec {
    /// The reducing 1×1 convolution.
    pub reduce: ConvSpec,
    /// The expanding 1×1 convolution.
    pub expand: ConvSpec,
}

/// One block: V1's depthwise-separable block is an inverted residual without expansion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockSpec {
    /// 1×1 expansion (absent when the expansion factor is 1, and in V1).
    pub expand: Option<ConvSpec>,
    /// Depthwise convolution.
    pub depthwise: ConvSpec,
    /// Squeeze-excite after the depthwise convolution (V3).
    pub squeeze_excite: Option<SqueezeExciteSpec>,
    /// 1×1 projection (linear in V2/V3, ReLU6 in V1).
    pub project: ConvSpec,
    /// Whether the block input is added to its output.
    pub residual: bool,
}

/// The whole network, in execution order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Architecture {
    /// First 3×3 stride-2 convolution.
    pub stem: ConvSpec,
    /// The blocks.
    pub blocks: Vec<BlockSpec>,
    /// 1×1 convolution before global pooling (V2: 1280, V3: 576 / 960).
    pub last_conv: Option<ConvSpec>,
    /// The dense layers after global pooling, as 1×1 convolutions on the pooled map (V3's
    /// 1024 / 1280 hard-swish layer, a user's hidden layers), the last giving the outputs.
    pub head: Vec<ConvSpec>,
}

impl Architecture {
    /// Every convolution in execution order.
    pub(crate) fn convs(&self) -> Vec<ConvSpec> {
        let mut v = vec![self.stem];
        for b in &self.blocks {
            v.extend(b.expand);
            v.push(b.depthwise);
            if let Some(se) = b.squeeze_excite {
                v.push(se.reduce);
                v.push(se.expand);
            }
            v.push(b.project);
        }
        v.extend(self.last_conv);
        v.extend(self.head.iter().copied());
        v
    }

    /// Total number of parameters (BatchNorm folded, as in the published files).
    pub(crate) fn parameters(&self) -> usize {
        self.convs().iter().map(|c| c.conv.parameters()).sum()
    }

    /// The layer producing the outputs.
    pub(crate) fn classifier(&self) -> &ConvSpec {
        self.head.last().expect("an architecture has a head")
    }

    /// Length of the embedding returned by `embed` (the last dense layer's input).
    pub(crate) fn embedding_len(&self) -> usize {
        self.classifier().conv.in_channels
    }
}

/// Rounds `v` to the nearest multiple of `divisor`, never below `divisor` and never more than
/// 10 % below `v` (`_make_divisible` in the TF MobileNet code).
pub(crate) fn make_divisible(v: f32, divisor: usize) -> usize {
    let d = divisor as f32;
    let mut n = (((v + d / 2.0) / d).floor() as usize * divisor).max(divisor);
    if (n as f32) < 0.9 * v {
        n += divisor;
    }
    n
}

pub(super) use Activation::{HardSwish as HS, Relu as RE, Relu6 as R6};

/// Whose definition of the architecture: TF-slim's (the published files) or Keras
/// applications' (a user's own exports), which scale MobileNetV3's expansions differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tables {
    Slim,
    Keras,
}

impl MobileNetConfig {
    /// The architecture this configuration implies: TF-slim's, or Keras' for the minimalistic
    /// variant (which only Keras defines).
    pub(crate) fn architecture(&self) -> Architecture {
        self.architecture_of(if self.minimalistic {
            Tables::Keras
        } else {
            Tables::Slim
        })
    }

    /// The architecture by one definition's tables.
    pub(crate) fn architecture_of(&self, tables: Tables) -> Architecture {
        match (self.version, tables) {
            (Version::V1, _) => self.v1(),
            (Version::V2, _) => self.v2(),
            (Version::V3Small | Version::V3Large, Tables::Slim) => self.v3(),
            (Version::V3Small | Version::V3Large, Tables::Keras) => super::keras::v3(self),
        }
    }

    fn v1(&self) -> Architecture {
        let a = self.width_multiplier;
        let depth = |d: usize| ((d as f32 * a) as usize).max(8);
        let stem = ConvSpec::new(3, depth(32), 3, 2, R6);
        let plan = [
            (1, 64),
            (2, 128),
            (1, 128),
            (2, 256),
            (1, 256),
            (2, 512),
            (1, 512),
            (1, 512),
            (1, 512),
            (1, 512),
            (1, 512),
            (2, 1024),
            (1, 1024),
        ];
        let mut cin = stem.conv.out_channels;
        let blocks = plan
            .iter()
            .map(|&(s, c)| {
                let cout = depth(c);
                let b = BlockSpec {
                    expand: None,
                    depthwise: ConvSpec::depthwise(cin, 3, s, R6),
                    squeeze_excite: None,
                    project: ConvSpec::new(cin, cout, 1, 1, R6),
                    residual: false,
                };
                cin = cout;
                b
            })
            .collect();
        Architecture {
            stem,
            blocks,
            last_conv: None,
            head: vec![ConvSpec::new(cin, self.num_classes, 1, 1, Activation::None)],
        }
    }

    fn v2(&self) -> Architecture {
        let a = self.width_multiplier;
        let ch = |c: usize| make_divisible(c as f32 * a, 8);
        let stem = ConvSpec::new(3, ch(32), 3, 2, R6);
        // (expansion t, channels c, repeats n, first stride s)
        let plan = [
            (1, 16, 1, 1),
            (6, 24, 2, 2),
            (6, 32, 3, 2),
            (6, 64, 4, 2),
            (6, 96, 3, 1),
            (6, 160, 3, 2),
            (6, 320, 1, 1),
        ];
        let mut cin = stem.conv.out_channels;
        let mut blocks = Vec::new();
        for (t, c, n, s) in plan {
            let cout = ch(c);
            for i in 0..n {
                let stride = if i == 0 { s } else { 1 };
                let hidden = make_divisible((cin * t) as f32, 8);
                blocks.push(BlockSpec {
                    expand: (t != 1).then(|| ConvSpec::new(cin, hidden, 1, 1, R6)),
                    depthwise: ConvSpec::depthwise(hidden, 3, stride, R6),
                    squeeze_excite: None,
                    project: ConvSpec::new(hidden, cout, 1, 1, Activation::None),
                    residual: stride == 1 && cin == cout,
                });
                cin = cout;
            }
        }
        let last = if a > 1.0 {
            make_divisible(1280.0 * a, 8)
        } else {
            1280
        };
        Architecture {
            stem,
            blocks,
            last_conv: Some(ConvSpec::new(cin, last, 1, 1, R6)),
            head: vec![ConvSpec::new(
                last,
                self.num_classes,
                1,
                1,
                Activation::None,
            )],
        }
    }

    fn v3(&self) -> Architecture {
        let a = self.width_multiplier;
        let ch = |c: usize| make_divisible(c as f32 * a, 8);
        // (kernel, expanded channels, output channels, squeeze-excite, activation, stride)
        let small: &[(usize, usize, usize, bool, Activation, usize)] = &[
            (3, 16, 16, true, RE, 2),
            (3, 72, 24, false, RE, 2),
            (3, 88, 24, false, RE, 1),
            (5, 96, 40, true, HS, 2),
            (5, 240, 40, true, HS, 1),
            (5, 240, 40, true, HS, 1),
            (5, 120, 48, true, HS, 1),
            (5, 144, 48, true, HS, 1),
            (5, 288, 96, true, HS, 2),
            (5, 576, 96, true, HS, 1),
            (5, 576, 96, true, HS, 1),
        ];
        let large: &[(usize, usize, usize, bool, Activation, usize)] = &[
            (3, 16, 16, false, RE, 1),
            (3, 64, 24, false, RE, 2),
            (3, 72, 24, false, RE, 1),
            (5, 72, 40, true, RE, 2),
            (5, 120, 40, true, RE, 1),
            (5, 120, 40, true, RE, 1),
            (3, 240, 80, false, HS, 2),
            (3, 200, 80, false, HS, 1),
            (3, 184, 80, false, HS, 1),
            (3, 184, 80, false, HS, 1),
            (3, 480, 112, true, HS, 1),
            (3, 672, 112, true, HS, 1),
            (5, 672, 160, true, HS, 2),
            (5, 960, 160, true, HS, 1),
            (5, 960, 160, true, HS, 1),
        ];
        let (plan, last, head) = match self.version {
            Version::V3Small => (small, 576, 1024),
            _ => (large, 960, 1280),
        };
        let stem = ConvSpec::new(3, ch(16), 3, 2, HS);
        let mut cin = stem.conv.out_channels;
        let blocks = plan
            .iter()
            .map(|&(k, exp, out, se, act, s)| {
                let hidden = ch(exp);
                let cout = ch(out);
                let squeeze = make_divisible(hidden as f32 / 4.0, 8);
                let b = BlockSpec {
                    expand: (hidden != cin).then(|| ConvSpec::new(cin, hidden, 1, 1, act)),
                    depthwise: ConvSpec::depthwise(hidden, k, s, act),
                    squeeze_excite: se.then(|| SqueezeExciteSpec {
                        reduce: ConvSpec::new(hidden, squeeze, 1, 1, RE),
                        expand: ConvSpec::new(squeeze, hidden, 1, 1, Activation::HardSigmoid),
                    }),
                    project: ConvSpec::new(hidden, cout, 1, 1, Activation::None),
                    residual: s == 1 && cin == cout,
                };
                cin = cout;
                b
            })
            .collect();
        let last = ch(last);
        let head = if a > 1.0 {
            make_divisible(head as f32 * a, 8)
        } else {
            head
        };
        Architecture {
            stem,
            blocks,
            last_conv: Some(ConvSpec::new(cin, last, 1, 1, HS)),
            head: vec![
                ConvSpec::new(last, head, 1, 1, HS),
                ConvSpec::new(head, self.num_classes, 1, 1, Activation::None),
            ],
        }
    }
}

// Native only: the kernels' tests are the ones that also run in wasm.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    fn config(version: Version, width: f32, resolution: usize) -> MobileNetConfig {
        MobileNetConfig {
            version,
            width_multiplier: width,
            resolution,
            num_classes: 1000,
            minimalistic: false,
        }
    }

    #[test]
    fn make_divisible_follows_the_tf_rounding() {
        assert_eq!(make_divisible(32.0 * 0.35, 8), 16);
        assert_eq!(make_divisible(16.0 / 4.0, 8), 8);
        assert_eq!(make_divisible(60.0, 8), 64);
        assert_eq!(make_divisible(168.0, 8), 168);
        assert_eq!(make_divisible(1280.0 * 1.4, 8), 1792);
    }

    #[test]
    fn parameter_counts_match_the_papers() {
        // Papers / torchvision (1000 classes): V1 4.2 M, V2 3.5 M, V3-Large 5.4 M, V3-Small 2.5 M.
        for (version, millions) in [
            (Version::V1, 4.2),
            (Version::V2, 3.5),
            (Version::V3Large, 5.4),
            (Version::V3Small, 2.5),
        ] {
            let p = config(version, 1.0, 224).architecture().parameters() as f64 / 1e6;
            assert!(
                (p - millions).abs() < 0.1,
                "{}: {p:.3} M, expected about {millions} M",
                version.name()
            );
        }
    }

    #[test]
    fn v3_large_has_fifteen_blocks_eight_with_squeeze_excite() {
        let arch = config(Version::V3Large, 1.0, 224).architecture();
        assert_eq!(arch.blocks.len(), 15);
        let gated = arch
            .blocks
            .iter()
            .filter(|b| b.squeeze_excite.is_some())
            .count();
        assert_eq!(gated, 8);
    }
}
