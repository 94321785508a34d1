//! MobileNetV3 as Keras applications define it (`keras/src/applications/mobilenet_v3.py`), the
//! architecture of a user's own exports: the stem keeps 16 channels at every width, each
//! expansion scales the block's actual input channels by a ratio (TF-slim scales a fixed channel
//! count by α), and the minimalistic variant uses ReLU and 3×3 kernels throughout, without
//! squeeze-excite. V1 and V2 are the same in both definitions.

use super::config::{
    Architecture, BlockSpec, ConvSpec, HS, MobileNetConfig, RE, SqueezeExciteSpec, Version,
    make_divisible,
};
use crate::spec::Activation;

/// One block of Keras' stack: expansion ratio, output channels, kernel side (5 where the full
/// variant uses 5), stride, squeeze-excite, and whether it uses the variant's activation
/// (hard-swish, or ReLU when minimalistic) rather than ReLU.
type Row = (f32, usize, usize, usize, bool, bool);

const SMALL: &[Row] = &[
    (1.0, 16, 3, 2, true, false),
    (72.0 / 16.0, 24, 3, 2, false, false),
    (88.0 / 24.0, 24, 3, 1, false, false),
    (4.0, 40, 5, 2, true, true),
    (6.0, 40, 5, 1, true, true),
    (6.0, 40, 5, 1, true, true),
    (3.0, 48, 5, 1, true, true),
    (3.0, 48, 5, 1, true, true),
    (6.0, 96, 5, 2, true, true),
    (6.0, 96, 5, 1, true, true),
    (6.0, 96, 5, 1, true, true),
];

const LARGE: &[Row] = &[
    (1.0, 16, 3, 1, false, false),
    (4.0, 24, 3, 2, false, false),
    (3.0, 24, 3, 1, false, false),
    (3.0, 40, 5, 2, true, false),
    (3.0, 40, 5, 1, true, false),
    (3.0, 40, 5, 1, true, false),
    (6.0, 80, 3, 2, false, true),
    (2.5, 80, 3, 1, false, true),
    (2.3, 80, 3, 1, false, true),
    (2.3, 80, 3, 1, false, true),
    (6.0, 112, 3, 1, true, true),
    (6.0, 112, 3, 1, true, true),
    (6.0, 160, 5, 2, true, true),
    (6.0, 160, 5, 1, true, true),
    (6.0, 160, 5, 1, true, true),
];

/// Keras' MobileNetV3 (Small or Large, as `config.version` says).
pub(super) fn v3(config: &MobileNetConfig) -> Architecture {
    let a = config.width_multiplier;
    let m = config.minimalistic;
    let depth = |c: f32| make_divisible(c, 8);
    let act = if m { RE } else { HS };
    let (plan, last_point) = match config.version {
        Version::V3Small => (SMALL, 1024),
        _ => (LARGE, 1280),
    };
    let stem = ConvSpec::new(3, 16, 3, 2, act);
    let mut cin = 16;
    let blocks = plan
        .iter()
        .enumerate()
        .map(|(i, &(expansion, out, k, s, se, variant))| {
            let hidden = depth(cin as f32 * expansion);
            let cout = depth(out as f32 * a);
            let block_act = if variant { act } else { RE };
            let kernel = if m { 3 } else { k };
            let b = BlockSpec {
                expand: (i > 0).then(|| ConvSpec::new(cin, hidden, 1, 1, block_act)),
                depthwise: ConvSpec::depthwise(
                    if i > 0 { hidden } else { cin },
                    kernel,
                    s,
                    block_act,
                ),
                squeeze_excite: (se && !m).then(|| {
                    let h = if i > 0 { hidden } else { cin };
                    let squeeze = make_divisible(h as f32 * 0.25, 8);
                    SqueezeExciteSpec {
                        reduce: ConvSpec::new(h, squeeze, 1, 1, RE),
                        expand: ConvSpec::new(squeeze, h, 1, 1, Activation::HardSigmoid),
                    }
                }),
                project: ConvSpec::new(
                    if i > 0 { hidden } else { cin },
                    cout,
                    1,
                    1,
                    Activation::None,
                ),
                residual: s == 1 && cin == cout,
            };
            cin = cout;
            b
        })
        .collect();
    let last_conv = depth(cin as f32 * 6.0);
    let last_point = if a > 1.0 {
        depth(last_point as f32 * a)
    } else {
        last_point
    };
    Architecture {
        stem,
        blocks,
        last_conv: Some(ConvSpec::new(cin, last_conv, 1, 1, act)),
        head: vec![
            ConvSpec::new(last_conv, last_point, 1, 1, act),
            ConvSpec::new(last_point, config.num_classes, 1, 1, Activation::None),
        ],
    }
}
