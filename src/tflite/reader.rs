//! Reads a TFLite flatbuffer into owned, checked descriptions of its tensors and operators.
//!
//! The flatbuffer is verified by the `flatbuffers` crate before anything is read, so truncated,
//! empty or random bytes are refused with [`Error::ModelFormat`] instead of being trusted.

use super::schema::{self, TensorType};
use crate::error::{Error, Result};

/// Largest model file accepted (the biggest published MobileNet is ~17 MB as float).
pub const MAX_MODEL_BYTES: usize = 64 * 1024 * 1024;

/// Quantization parameters of one tensor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Quantization {
    /// One scale per tensor or per channel.
    pub scale: Vec<f32>,
    /// One zero point per tensor or per channel.
    pub zero_point: Vec<i64>,
    /// The channel axis of per-channel quantization.
    pub axis: usize,
}

/// Element type of a tensor, as far as this crate reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DType {
    /// 32-bit float.
    F32,
    /// Unsigned 8-bit (asymmetric quantization).
    U8,
    /// Signed 8-bit (symmetric per-channel weights, asymmetric activations).
    I8,
    /// 32-bit integer (quantized biases, shape operands).
    I32,
    /// 16-bit float (weights of a float16 file, dequantized before use).
    F16,
    /// Any other element type.
    Other(i8),
}

/// One tensor of the graph.
#[derive(Debug, Clone)]
pub(crate) struct TensorInfo {
    /// Name as exported (differs between TF1 and TF2 exports; informative only).
    pub name: String,
    /// Shape, NHWC for activations and OHWI / 1HWO for weights.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: DType,
    /// Quantization, if any.
    pub quantization: Option<Quantization>,
    /// Byte range of constant data inside the file, if the tensor is a constant.
    pub(super) data: Option<(usize, usize)>,
}

impl TensorInfo {
    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True when the tensor holds constant data (weights, biases, shape operands).
    pub(crate) fn is_constant(&self) -> bool {
        self.data.is_some()
    }

    /// The real-valued range representable by this quantized tensor, if it is quantized
    /// per-tensor. In the published MobileNet files this range is the only trace of ReLU / ReLU6.
    pub(crate) fn quantized_range(&self) -> Option<(f32, f32)> {
        let q = self.quantization.as_ref()?;
        if q.scale.len() != 1 || q.zero_point.len() != 1 {
            return None;
        }
        let (lo, hi) = match self.dtype {
            DType::U8 => (0.0, 255.0),
            DType::I8 => (-128.0, 127.0),
            _ => return None,
        };
        let zp = q.zero_point[0] as f32;
        Some(((lo - zp) * q.scale[0], (hi - zp) * q.scale[0]))
    }
}

/// Fused activation written in the operator options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FusedActivation {
    /// No fused activation (always the case in the quantized MobileNet files).
    None,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6).
    Relu6,
    /// Anything else (tanh, sign bit, relu_n1_to_1).
    Other,
}

/// Padding scheme of a convolution or pooling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Padding {
    /// TensorFlow "SAME": output = ceil(input / stride), extra padding at the end.
    Same,
    /// No padding.
    Valid,
}

/// The operators this crate understands, with their options.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OpKind {
    /// CONV_2D.
    Conv2d {
        /// Stride (height, width).
        stride: (usize, usize),
        /// Padding scheme.
        padding: Padding,
        /// Fused activation.
        activation: FusedActivation,
        /// Dilation (height, width).
        dilation: (usize, usize),
    },
    /// DEPTHWISE_CONV_2D.
    DepthwiseConv2d {
        /// Stride (height, width).
        stride: (usize, usize),
        /// Padding scheme.
        padding: Padding,
        /// Fused activation.
        activation: FusedActivation,
        /// Dilation (height, width).
        dilation: (usize, usize),
        /// Output channels per input channel.
        depth_multiplier: usize,
    },
    /// AVERAGE_POOL_2D.
    AveragePool2d {
        /// Filter (height, width).
        filter: (usize, usize),
        /// Padding scheme.
        padding: Padding,
    },
    /// MEAN (global pooling in TF2 exports).
    Mean,
    /// ADD.
    Add {
        /// Fused activation.
        activation: FusedActivation,
    },
    /// MUL.
    Mul {
        /// Fused activation.
        activation: FusedActivation,
    },
    /// SUB.
    Sub {
        /// Fused activation.
        activation: FusedActivation,
    },
    /// FULLY_CONNECTED (a dense layer).
    FullyConnected {
        /// Fused activation.
        activation: FusedActivation,
        /// Whether a dynamic-range file quantizes its float input asymmetrically.
        asymmetric_inputs: bool,
    },
    /// HARD_SWISH.
    HardSwish,
    /// RELU, as its own operator.
    Relu,
    /// RELU6, as its own operator.
    Relu6,
    /// LOGISTIC (sigmoid).
    Logistic,
    /// MINIMUM of two tensors (a ReLU6's upper bound where the converter emits it).
    Minimum,
    /// MAXIMUM of two tensors (a ReLU's lower bound).
    Maximum,
    /// PAD (and PADV2 with a constant value): explicit padding before a VALID convolution.
    Pad,
    /// SHAPE, STRIDED_SLICE or PACK: the arithmetic of a RESHAPE's target shape.
    ShapeArithmetic,
    /// RESHAPE.
    Reshape,
    /// SQUEEZE.
    Squeeze,
    /// SOFTMAX, with its β.
    Softmax { beta: f32 },
    /// QUANTIZE (requantization between int8 and uint8).
    Quantize,
    /// DEQUANTIZE.
    Dequantize,
    /// Anything else, with its builtin code and name.
    Unsupported(String),
}

/// One operator.
#[derive(Debug, Clone)]
pub(crate) struct Operator {
    /// What it does.
    pub kind: OpKind,
    /// Input tensor indices (`None` for an optional input left out).
    pub inputs: Vec<Option<usize>>,
    /// Output tensor indices.
    pub outputs: Vec<usize>,
}

/// A parsed TFLite file: its single subgraph plus metadata.
#[derive(Debug, Clone)]
pub(crate) struct TfliteFile<'a> {
    pub(super) bytes: &'a [u8],
    /// All tensors.
    pub tensors: Vec<TensorInfo>,
    /// Operators in execution order.
    pub operators: Vec<Operator>,
    /// Graph inputs.
    pub inputs: Vec<usize>,
    /// The input normalization the file's metadata gives, `(mean, std)`.
    pub normalization: Option<(Vec<f32>, Vec<f32>)>,
}

fn builtin_name(code: i32) -> String {
    let known = [
        (0, "ADD"),
        (1, "AVERAGE_POOL_2D"),
        (2, "CONCATENATION"),
        (3, "CONV_2D"),
        (4, "DEPTHWISE_CONV_2D"),
        (6, "DEQUANTIZE"),
        (9, "FULLY_CONNECTED"),
        (14, "LOGISTIC"),
        (17, "MAX_POOL_2D"),
        (18, "MUL"),
        (19, "RELU"),
        (21, "RELU6"),
        (22, "RESHAPE"),
        (23, "RESIZE_BILINEAR"),
        (25, "SOFTMAX"),
        (34, "PAD"),
        (40, "MEAN"),
        (41, "SUB"),
        (43, "SQUEEZE"),
        (45, "STRIDED_SLICE"),
        (55, "MAXIMUM"),
        (56, "ARG_MAX"),
        (57, "MINIMUM"),
        (60, "PADV2"),
        (77, "SHAPE"),
        (83, "PACK"),
        (114, "QUANTIZE"),
        (117, "HARD_SWISH"),
    ];
    known
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| (*n).to_string())
        .unwrap_or_else(|| format!("builtin operator {code}"))
}

fn activation(a: schema::ActivationFunctionType) -> FusedActivation {
    match a {
        schema::ActivationFunctionType::NONE => FusedActivation::None,
        schema::ActivationFunctionType::RELU => FusedActivation::Relu,
        schema::ActivationFunctionType::RELU6 => FusedActivation::Relu6,
        _ => FusedActivation::Other,
    }
}

fn padding(p: schema::Padding) -> Padding {
    if p == schema::Padding::VALID {
        Padding::Valid
    } else {
        Padding::Same
    }
}

fn positive(v: i32, what: &str) -> Result<usize> {
    if (1..=64).contains(&v) {
        Ok(v as usize)
    } else {
        Err(Error::ModelFormat(format!("{what} of {v} is out of range")))
    }
}

impl<'a> TfliteFile<'a> {
    /// Parses and verifies a TFLite flatbuffer.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self> {
        if bytes.len() > MAX_MODEL_BYTES {
            return Err(Error::ModelTooLarge {
                size: bytes.len() as u64,
                limit: MAX_MODEL_BYTES as u64,
            });
        }
        if bytes.len() < 8 {
            return Err(Error::ModelFormat(format!(
                "{} bytes is too short for a TFLite file",
                bytes.len()
            )));
        }
        if !schema::model_buffer_has_identifier(bytes) {
            return Err(Error::ModelFormat(
                "missing the TFLite file identifier \"TFL3\"".into(),
            ));
        }
        let opts = flatbuffers::VerifierOptions {
            max_depth: 64,
            max_tables: 1_000_000,
            max_apparent_size: 1 << 31,
            ignore_missing_null_terminator: false,
        };
        let model = schema::root_as_model_with_opts(&opts, bytes)
            .map_err(|e| Error::ModelFormat(format!("corrupt flatbuffer: {e}")))?;
        let subgraphs = model
            .subgraphs()
            .ok_or_else(|| Error::ModelFormat("no subgraph".into()))?;
        if subgraphs.len() != 1 {
            return Err(Error::ModelUnsupported(format!(
                "{} subgraphs; a MobileNet file has exactly one",
                subgraphs.len()
            )));
        }
        let graph = subgraphs.get(0);
        let buffers = model.buffers();
        let buffer_range = |index: u32| -> Result<Option<(usize, usize)>> {
            let Some(buffers) = buffers else {
                return Ok(None);
            };
            let index = index as usize;
            if index >= buffers.len() {
                return Err(Error::ModelFormat(format!(
                    "tensor refers to buffer {index} of {}",
                    buffers.len()
                )));
            }
            let buffer = buffers.get(index);
            if let Some(data) = buffer.data() {
                if data.is_empty() {
                    return Ok(None);
                }
                let start = data.bytes().as_ptr() as usize - bytes.as_ptr() as usize;
                return Ok(Some((start, data.len())));
            }
            let (offset, size) = (buffer.offset(), buffer.size());
            if offset > 1 && size > 0 {
                let end = offset.saturating_add(size);
                if end > bytes.len() as u64 {
                    return Err(Error::ModelFormat(format!(
                        "buffer {index} lies outside the file ({offset}+{size} > {})",
                        bytes.len()
                    )));
                }
                return Ok(Some((offset as usize, size as usize)));
            }
            Ok(None)
        };

        let mut tensors = Vec::new();
        for t in graph.tensors().iter().flatten() {
            let shape = t
                .shape()
                .map(|s| {
                    s.iter()
                        .map(|d| {
                            usize::try_from(d)
                                .map_err(|_| Error::ModelFormat(format!("negative dimension {d}")))
                        })
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?
                .unwrap_or_default();
            let elements = shape
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .ok_or_else(|| Error::ModelFormat("tensor shape overflows".into()))?;
            let dtype = match t.type_() {
                TensorType::FLOAT32 => DType::F32,
                TensorType::UINT8 => DType::U8,
                TensorType::INT8 => DType::I8,
                TensorType::INT32 => DType::I32,
                TensorType::FLOAT16 => DType::F16,
                other => DType::Other(other.0),
            };
            let quantization = t.quantization().and_then(|q| {
                let scale: Vec<f32> = q.scale()?.iter().collect();
                let zero_point: Vec<i64> = q.zero_point()?.iter().collect();
                (!scale.is_empty() && scale.len() == zero_point.len()).then(|| Quantization {
                    scale,
                    zero_point,
                    axis: q.quantized_dimension().max(0) as usize,
                })
            });
            let data = buffer_range(t.buffer())?;
            if let Some((_, len)) = data {
                let elem = match dtype {
                    DType::F32 | DType::I32 => 4,
                    DType::F16 => 2,
                    DType::U8 | DType::I8 => 1,
                    DType::Other(_) => 0,
                };
                if elem != 0 && elements.checked_mul(elem) != Some(len) {
                    return Err(Error::ModelFormat(format!(
                        "tensor {:?} of shape {shape:?} has {len} bytes of data",
                        t.name().unwrap_or("")
                    )));
                }
            }
            tensors.push(TensorInfo {
                name: t.name().unwrap_or("").to_string(),
                shape,
                dtype,
                quantization,
                data,
            });
        }
        let n_tensors = tensors.len();
        let tensor_index = |i: i32| -> Result<usize> {
            usize::try_from(i)
                .ok()
                .filter(|&i| i < n_tensors)
                .ok_or_else(|| Error::ModelFormat(format!("tensor index {i} out of range")))
        };

        let codes: Vec<i32> = model
            .operator_codes()
            .map(|c| {
                c.iter()
                    .map(|c| c.builtin_code().max(c.deprecated_builtin_code() as i32))
                    .collect()
            })
            .unwrap_or_default();
        let mut operators = Vec::new();
        for op in graph.operators().iter().flatten() {
            let code = *codes.get(op.opcode_index() as usize).ok_or_else(|| {
                Error::ModelFormat(format!("operator code {} out of range", op.opcode_index()))
            })?;
            let kind = match code {
                3 => {
                    let o = op
                        .builtin_options_as_conv_2_doptions()
                        .ok_or_else(|| Error::ModelFormat("CONV_2D without its options".into()))?;
                    OpKind::Conv2d {
                        stride: (
                            positive(o.stride_h(), "stride")?,
                            positive(o.stride_w(), "stride")?,
                        ),
                        padding: padding(o.padding()),
                        activation: activation(o.fused_activation_function()),
                        dilation: (
                            positive(o.dilation_h_factor(), "dilation")?,
                            positive(o.dilation_w_factor(), "dilation")?,
                        ),
                    }
                }
                4 => {
                    let o = op
                        .builtin_options_as_depthwise_conv_2_doptions()
                        .ok_or_else(|| {
                            Error::ModelFormat("DEPTHWISE_CONV_2D without its options".into())
                        })?;
                    OpKind::DepthwiseConv2d {
                        stride: (
                            positive(o.stride_h(), "stride")?,
                            positive(o.stride_w(), "stride")?,
                        ),
                        padding: padding(o.padding()),
                        activation: activation(o.fused_activation_function()),
                        dilation: (
                            positive(o.dilation_h_factor(), "dilation")?,
                            positive(o.dilation_w_factor(), "dilation")?,
                        ),
                        depth_multiplier: positive(o.depth_multiplier(), "depth multiplier")?,
                    }
                }
                1 => {
                    let o = op.builtin_options_as_pool_2_doptions().ok_or_else(|| {
                        Error::ModelFormat("AVERAGE_POOL_2D without its options".into())
                    })?;
                    OpKind::AveragePool2d {
                        filter: (
                            o.filter_height().max(0) as usize,
                            o.filter_width().max(0) as usize,
                        ),
                        padding: padding(o.padding()),
                    }
                }
                40 => OpKind::Mean,
                0 => OpKind::Add {
                    activation: op
                        .builtin_options_as_add_options()
                        .map(|o| activation(o.fused_activation_function()))
                        .unwrap_or(FusedActivation::None),
                },
                18 => OpKind::Mul {
                    activation: op
                        .builtin_options_as_mul_options()
                        .map(|o| activation(o.fused_activation_function()))
                        .unwrap_or(FusedActivation::None),
                },
                9 => {
                    let o = op.builtin_options_as_fully_connected_options();
                    let act = o.map(|o| activation(o.fused_activation_function()));
                    OpKind::FullyConnected {
                        activation: act.unwrap_or(FusedActivation::None),
                        asymmetric_inputs: o.is_some_and(|o| o.asymmetric_quantize_inputs()),
                    }
                }
                41 => OpKind::Sub {
                    activation: op
                        .builtin_options_as_sub_options()
                        .map(|o| activation(o.fused_activation_function()))
                        .unwrap_or(FusedActivation::None),
                },
                117 => OpKind::HardSwish,
                19 => OpKind::Relu,
                21 => OpKind::Relu6,
                14 => OpKind::Logistic,
                57 => OpKind::Minimum,
                55 => OpKind::Maximum,
                34 | 60 => OpKind::Pad,
                77 | 45 | 83 => OpKind::ShapeArithmetic,
                22 => OpKind::Reshape,
                43 => OpKind::Squeeze,
                25 => OpKind::Softmax {
                    beta: op
                        .builtin_options_as_softmax_options()
                        .map_or(1.0, |o| o.beta()),
                },
                114 => OpKind::Quantize,
                6 => OpKind::Dequantize,
                other => OpKind::Unsupported(builtin_name(other)),
            };
            let inputs = op
                .inputs()
                .map(|v| {
                    v.iter()
                        .map(|i| {
                            if i < 0 {
                                Ok(None)
                            } else {
                                tensor_index(i).map(Some)
                            }
                        })
                        .collect::<Result<Vec<_>>>()
                })
                .transpose()?
                .unwrap_or_default();
            let outputs = op
                .outputs()
                .map(|v| v.iter().map(tensor_index).collect::<Result<Vec<_>>>())
                .transpose()?
                .unwrap_or_default();
            if outputs.is_empty() {
                return Err(Error::ModelFormat("operator without outputs".into()));
            }
            operators.push(Operator {
                kind,
                inputs,
                outputs,
            });
        }
        let inputs = graph
            .inputs()
            .map(|v| v.iter().map(tensor_index).collect::<Result<Vec<_>>>())
            .transpose()?
            .unwrap_or_default();
        let normalization = model.metadata().and_then(|entries| {
            let entry = entries
                .iter()
                .find(|m| m.name() == Some("TFLITE_METADATA"))?;
            let (start, len) = buffer_range(entry.buffer()).ok()??;
            super::metadata::normalization(&bytes[start..start + len])
        });
        Ok(Self {
            bytes,
            tensors,
            operators,
            inputs,
            normalization,
        })
    }
}
