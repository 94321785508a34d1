//! MobileNet V1, V2, V3-Small and V3-Large as burn modules.

mod blocks;
mod config;
mod generated;
mod mobilenet;
mod quant;
mod quantized;

pub use blocks::{ConvWeights, same_padding};
pub use config::{
    Activation, Architecture, BlockSpec, ConvSpec, MobileNetConfig, SqueezeExciteSpec, Version,
    make_divisible,
};
pub use generated::generated_weights;
pub use mobilenet::{MobileNet, Output};
pub use quant::{AddQuant, AddRequant, GraphQuant, PoolQuant, QParams, QuantConv};
pub use quantized::{QBlock, QConv, QuantMobileNet};
