//! The value types every layer shares: a convolution's geometry, activations and the float
//! epilogue, 8-bit quantization and requantization, the input scaling. Plain data with the
//! scalar arithmetic that defines it; this module imports nothing else of the crate, so the
//! kernels below it and the model, reader and classifier above it all describe an operation
//! with the same types.

mod conv;
mod epilogue;
mod quant;

pub(crate) use conv::{Conv, Padding, Window};
pub(crate) use epilogue::{Activation, Epilogue, EpilogueAct};
pub(crate) use quant::{AddRequant, InputScaling, QParams, Requant};
