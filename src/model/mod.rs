//! MobileNet V1, V2, V3-Small and V3-Large as burn modules: the float network and the int8
//! graph, reaching the kernels through the backend extension in [`ext`].

mod blocks;
mod config;
pub(crate) mod ext;
mod generated;
mod hybrid;
mod keras;
mod mobilenet;
mod quant;
mod quantized;

pub(crate) use blocks::ConvWeights;
pub(crate) use config::{Architecture, BlockSpec, ConvSpec, SqueezeExciteSpec, Tables};
pub use config::{MobileNetConfig, Version};
pub(crate) use generated::generated_weights;
pub(crate) use hybrid::{HybridKind, HybridWeights};
pub(crate) use mobilenet::{MobileNet, Output};
pub(crate) use quant::{
    AddQuant, GraphQuant, InputQuant, IntWeights, Lut, PoolQuant, QuantConv, SeQuant, SoftmaxQuant,
};
pub(crate) use quantized::QuantMobileNet;
