//! Writes TFLite: a base file's backbone with a new float head (the custom classes' export).
//!
//! The base's flatbuffer is unpacked with the object API of the same schema the reader uses,
//! its operators kept up to the one writing the embedding (the input of the base's last dense
//! layer), every tensor and buffer those operators do not use dropped, and then appended:
//! DEQUANTIZE when the embedding is 8-bit, one FULLY_CONNECTED per layer (float weights
//! `[out, in]`, fused ReLU for hidden layers), SOFTMAX. The labels go into TFLite metadata (the
//! output tensor's `TENSOR_AXIS_LABELS` file) and the zip appended after the flatbuffer, as
//! the metadata writers do; the input's normalization, if the base's metadata had one, is kept.

use std::collections::HashMap;
use std::io::{Cursor, Write};

use flatbuffers::FlatBufferBuilder;

use super::metadata_generated::tflite_metadata as md;
use super::reader::TfliteFile;
use super::schema;
use super::{graph, metadata, structure};
use crate::error::{Error, Result};

/// One dense layer of the new head: `y = W x + b`, `W` row-major `[outputs][inputs]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DenseLayer<'a> {
    pub inputs: usize,
    pub outputs: usize,
    pub weights: &'a [f32],
    pub bias: &'a [f32],
    pub relu: bool,
}

const DEQUANTIZE: i32 = 6;
const FULLY_CONNECTED: i32 = 9;
const SOFTMAX: i32 = 25;
/// Operators whose options tables are empty: kept as they are when their options' type lies
/// outside the schema subset (the subset cannot carry it; TFLite needs nothing from it).
const EMPTY_OPTIONS: &[i32] = &[6, 14, 19, 21, 34, 55, 57, 60, 114, 117];

fn unsupported(what: impl Into<String>) -> Error {
    Error::ModelUnsupported(format!("export: {}", what.into()))
}

/// Where the embedding is: the backbone file's index and the tensor holding it there.
fn embedding_tensor(files: &[&[u8]]) -> Result<(usize, usize)> {
    let parsed = files
        .iter()
        .map(|f| TfliteFile::parse(f))
        .collect::<Result<Vec<_>>>()?;
    let graphs = parsed
        .iter()
        .map(graph::graph)
        .collect::<Result<Vec<_>>>()?;
    let pairs: Vec<_> = parsed.iter().zip(&graphs).collect();
    let found = structure::find(&pairs)?;
    let backbone = (0..pairs.len())
        .find(|&i| graphs[i].takes_image())
        .ok_or_else(|| unsupported("no graph takes an image"))?;
    let classifier = found.head.last().expect("a head").conv;
    let x = graphs[classifier.file].nodes[classifier.node].x;
    if classifier.file == backbone {
        return Ok((backbone, x));
    }
    // A split model: the head file's input is the backbone file's output.
    if found.head.len() == 1 && x == graphs[classifier.file].input && found.pool.file == backbone {
        return Ok((backbone, graphs[backbone].nodes[found.pool.node].out));
    }
    Err(unsupported(
        "a split model whose head file holds hidden layers",
    ))
}

/// The base's backbone (from `files`, one file or backbone and head) with `head` on its
/// embedding and SOFTMAX after, `labels` (one per class) in its metadata.
pub(crate) fn with_head(
    files: &[&[u8]],
    head: &[DenseLayer<'_>],
    labels: &[String],
) -> Result<Vec<u8>> {
    let classes = head.last().map_or(0, |l| l.outputs);
    if head.is_empty() || labels.len() != classes {
        return Err(Error::Internal("a head and one label per class".into()));
    }
    let (file, embedding) = embedding_tensor(files)?;
    let bytes = files[file];
    let model = schema::root_as_model(bytes).map_err(|e| Error::ModelFormat(e.to_string()))?;
    let source_ops: Vec<_> = model
        .subgraphs()
        .and_then(|s| s.iter().next())
        .and_then(|g| g.operators())
        .map(|o| o.iter().collect())
        .unwrap_or_default();
    let mut m = model.unpack();
    let normalization = metadata_buffer(&m).and_then(metadata::normalization);
    let mut codes = m.operator_codes.take().unwrap_or_default();
    let code_of = |c: &schema::OperatorCodeT| c.builtin_code.max(c.deprecated_builtin_code as i32);
    let Some(subgraphs) = m.subgraphs.as_mut() else {
        return Err(Error::ModelFormat("no subgraph".into()));
    };
    let g = &mut subgraphs[0];
    let ops = g.operators.take().unwrap_or_default();
    let tensors = g.tensors.take().unwrap_or_default();
    // Operators up to the one writing the embedding (execution order: the head comes after).
    let last = ops
        .iter()
        .rposition(|o| o.outputs.iter().flatten().any(|&t| t == embedding as i32))
        .ok_or_else(|| unsupported("no operator writes the embedding"))?;
    let mut kept: Vec<schema::OperatorT> = ops.into_iter().take(last + 1).collect();
    for (op, src) in kept.iter().zip(&source_ops) {
        let code = codes
            .get(op.opcode_index as usize)
            .map(code_of)
            .ok_or_else(|| Error::ModelFormat("operator code out of range".into()))?;
        let lost = src.builtin_options_type() != schema::BuiltinOptions::NONE
            && matches!(op.builtin_options, schema::BuiltinOptionsT::NONE);
        if lost && !EMPTY_OPTIONS.contains(&code) {
            return Err(unsupported(format!(
                "operator {code} has options this writer cannot carry"
            )));
        }
    }
    // Tensors those operators and the graph input use, renumbered in order.
    let mut used: Vec<usize> = g
        .inputs
        .iter()
        .flatten()
        .chain(
            kept.iter()
                .flat_map(|o| o.inputs.iter().flatten().chain(o.outputs.iter().flatten())),
        )
        .filter(|&&t| t >= 0)
        .map(|&t| t as usize)
        .collect();
    used.sort_unstable();
    used.dedup();
    if used.last().is_some_and(|&t| t >= tensors.len()) {
        return Err(Error::ModelFormat("tensor index out of range".into()));
    }
    let renumber: HashMap<i32, i32> = used
        .iter()
        .enumerate()
        .map(|(new, &old)| (old as i32, new as i32))
        .collect();
    let remap = |v: &mut Option<Vec<i32>>| {
        for t in v.iter_mut().flatten() {
            if *t >= 0 {
                *t = renumber[t];
            }
        }
    };
    for op in &mut kept {
        remap(&mut op.inputs);
        remap(&mut op.outputs);
    }
    remap(&mut g.inputs);
    // Buffers: the empty buffer 0, then those the kept tensors hold, renumbered.
    let old_buffers = m.buffers.take().unwrap_or_default();
    if old_buffers.iter().any(|b| b.offset != 0) {
        return Err(unsupported("buffers stored outside the flatbuffer"));
    }
    let mut buffers = vec![schema::BufferT::default()];
    let mut new_tensors = Vec::with_capacity(used.len() + 8);
    for &t in &used {
        let mut tensor = tensors[t].clone();
        let b = tensor.buffer as usize;
        let data = old_buffers.get(b).and_then(|b| b.data.clone());
        tensor.buffer = match data {
            Some(d) if b != 0 && !d.is_empty() => {
                buffers.push(schema::BufferT {
                    data: Some(d),
                    ..Default::default()
                });
                (buffers.len() - 1) as u32
            }
            _ => 0,
        };
        new_tensors.push(tensor);
    }
    let mut code = |c: i32| -> u32 {
        if let Some(i) = codes.iter().position(|k| code_of(k) == c) {
            return i as u32;
        }
        codes.push(schema::OperatorCodeT {
            deprecated_builtin_code: c.min(127) as i8,
            builtin_code: c,
            version: 1,
            ..Default::default()
        });
        (codes.len() - 1) as u32
    };
    let mut add_tensor =
        |tensors: &mut Vec<schema::TensorT>, name: &str, shape: Vec<i32>, data: Option<Vec<u8>>| {
            let buffer = match data {
                Some(d) => {
                    buffers.push(schema::BufferT {
                        data: Some(d),
                        ..Default::default()
                    });
                    (buffers.len() - 1) as u32
                }
                None => 0,
            };
            tensors.push(schema::TensorT {
                shape: Some(shape),
                type_: schema::TensorType::FLOAT32,
                buffer,
                name: Some(name.into()),
                quantization: None,
            });
            (tensors.len() - 1) as i32
        };
    let mut x = renumber[&(embedding as i32)];
    let x_type = new_tensors[x as usize].type_;
    let x_shape = new_tensors[x as usize].shape.clone().unwrap_or_default();
    if x_shape.iter().product::<i32>() != head[0].inputs as i32 {
        return Err(Error::Internal(format!(
            "the embedding's shape {x_shape:?} does not hold {} values",
            head[0].inputs
        )));
    }
    if x_type != schema::TensorType::FLOAT32 {
        let out = add_tensor(&mut new_tensors, "custom/embedding", x_shape.clone(), None);
        kept.push(schema::OperatorT {
            opcode_index: code(DEQUANTIZE),
            inputs: Some(vec![x]),
            outputs: Some(vec![out]),
            builtin_options: schema::BuiltinOptionsT::NONE,
        });
        x = out;
    }
    let floats = |v: &[f32]| v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>();
    for (i, l) in head.iter().enumerate() {
        let w = add_tensor(
            &mut new_tensors,
            &format!("custom/dense_{i}/weights"),
            vec![l.outputs as i32, l.inputs as i32],
            Some(floats(l.weights)),
        );
        let b = add_tensor(
            &mut new_tensors,
            &format!("custom/dense_{i}/bias"),
            vec![l.outputs as i32],
            Some(floats(l.bias)),
        );
        let out = add_tensor(
            &mut new_tensors,
            &format!("custom/dense_{i}"),
            vec![1, l.outputs as i32],
            None,
        );
        kept.push(schema::OperatorT {
            opcode_index: code(FULLY_CONNECTED),
            inputs: Some(vec![x, w, b]),
            outputs: Some(vec![out]),
            builtin_options: schema::BuiltinOptionsT::FullyConnectedOptions(Box::new(
                schema::FullyConnectedOptionsT {
                    fused_activation_function: if l.relu {
                        schema::ActivationFunctionType::RELU
                    } else {
                        schema::ActivationFunctionType::NONE
                    },
                    ..Default::default()
                },
            )),
        });
        x = out;
    }
    let probability = add_tensor(
        &mut new_tensors,
        "probability",
        vec![1, classes as i32],
        None,
    );
    kept.push(schema::OperatorT {
        opcode_index: code(SOFTMAX),
        inputs: Some(vec![x]),
        outputs: Some(vec![probability]),
        builtin_options: schema::BuiltinOptionsT::SoftmaxOptions(Box::new(
            schema::SoftmaxOptionsT { beta: 1.0 },
        )),
    });
    g.operators = Some(kept);
    g.tensors = Some(new_tensors);
    g.outputs = Some(vec![probability]);
    m.operator_codes = Some(codes);
    // Metadata: the base's entries other than its TFLite metadata, then ours.
    let mut entries = Vec::new();
    for e in m.metadata.take().unwrap_or_default() {
        if e.name.as_deref() == Some("TFLITE_METADATA") {
            continue;
        }
        let data = old_buffers
            .get(e.buffer as usize)
            .and_then(|b| b.data.clone());
        buffers.push(schema::BufferT {
            data,
            ..Default::default()
        });
        entries.push(schema::MetadataT {
            name: e.name,
            buffer: (buffers.len() - 1) as u32,
        });
    }
    buffers.push(schema::BufferT {
        data: Some(model_metadata(normalization, classes)),
        ..Default::default()
    });
    entries.push(schema::MetadataT {
        name: Some("TFLITE_METADATA".into()),
        buffer: (buffers.len() - 1) as u32,
    });
    m.metadata = Some(entries);
    m.metadata_buffer = None;
    m.buffers = Some(buffers);
    m.description = Some("MobileNet backbone with a custom-classes head (mobilenet-wasm)".into());
    let mut fbb = FlatBufferBuilder::with_capacity(bytes.len() + 4096);
    let root = m.pack(&mut fbb);
    schema::finish_model_buffer(&mut fbb, root);
    let mut out = fbb.finished_data().to_vec();
    out.extend(labels_zip(labels)?);
    Ok(out)
}

/// The bytes of the base's `TFLITE_METADATA` buffer, if it has one.
fn metadata_buffer(m: &schema::ModelT) -> Option<&[u8]> {
    let e = m
        .metadata
        .as_ref()?
        .iter()
        .find(|e| e.name.as_deref() == Some("TFLITE_METADATA"))?;
    m.buffers.as_ref()?.get(e.buffer as usize)?.data.as_deref()
}

fn model_metadata(normalization: Option<(Vec<f32>, Vec<f32>)>, classes: usize) -> Vec<u8> {
    let input = md::TensorMetadataT {
        name: Some("image".into()),
        description: Some("The RGB crop the base model takes.".into()),
        process_units: normalization.map(|(mean, std)| {
            vec![md::ProcessUnitT {
                options: md::ProcessUnitOptionsT::NormalizationOptions(Box::new(
                    md::NormalizationOptionsT {
                        mean: Some(mean),
                        std_: Some(std),
                    },
                )),
            }]
        }),
        ..Default::default()
    };
    let output = md::TensorMetadataT {
        name: Some("probability".into()),
        description: Some(format!("Probabilities of the {classes} custom classes.")),
        associated_files: Some(vec![md::AssociatedFileT {
            name: Some("labels.txt".into()),
            description: Some("One label per class, in output order.".into()),
            type_: md::AssociatedFileType::TENSOR_AXIS_LABELS,
            ..Default::default()
        }]),
        ..Default::default()
    };
    let meta = md::ModelMetadataT {
        name: Some("MobileNet with custom classes".into()),
        description: Some("A MobileNet backbone and a head trained on the user's examples.".into()),
        subgraph_metadata: Some(vec![md::SubGraphMetadataT {
            input_tensor_metadata: Some(vec![input]),
            output_tensor_metadata: Some(vec![output]),
            ..Default::default()
        }]),
        min_parser_version: Some("1.0.0".into()),
        ..Default::default()
    };
    let mut fbb = FlatBufferBuilder::new();
    let root = meta.pack(&mut fbb);
    md::finish_model_metadata_buffer(&mut fbb, root);
    fbb.finished_data().to_vec()
}

fn labels_zip(labels: &[String]) -> Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let io = |e: std::io::Error| Error::Internal(format!("labels zip: {e}"));
    z.start_file("labels.txt", zip::write::SimpleFileOptions::default())
        .map_err(|e| Error::Internal(format!("labels zip: {e}")))?;
    for l in labels {
        z.write_all(l.as_bytes()).map_err(io)?;
        z.write_all(b"\n").map_err(io)?;
    }
    z.finish()
        .map_err(|e| Error::Internal(format!("labels zip: {e}")))?;
    Ok(out.into_inner())
}
