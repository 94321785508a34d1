//! The bytes `CustomClassifier::save` writes:
//!
//! ```text
//! "MNWCUSTM"  u32 version  u32 header length  header (JSON)  f32 values…  sha256 of all before
//! ```
//! The header names the base model's sha256, the embedding length, each class's label, example
//! and vector counts, and the head's layers; the values follow in that order (each class's
//! vectors, then each layer's weights `[out][in]` and bias), little-endian. Every size is
//! checked against the bytes present before anything is allocated.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Trained;
use super::examples::{self, Class, Examples, MAX_CLASSES, MAX_VECTORS};
use super::head::{Dense, Head};
use crate::error::{Error, Result};

const MAGIC: &[u8; 8] = b"MNWCUSTM";
/// The format `save` writes; `load` reads this one.
pub const FORMAT_VERSION: u32 = 1;
const MAX_HEADER: usize = 1 << 20;
const MAX_DIM: usize = 1 << 16;
const MAX_LAYERS: usize = 4;
const MAX_UNITS: usize = 4096;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    base_sha256: String,
    embedding_size: usize,
    classes: Vec<ClassHeader>,
    head: Option<Vec<LayerHeader>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassHeader {
    label: String,
    examples: usize,
    vectors: usize,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LayerHeader {
    inputs: usize,
    outputs: usize,
    relu: bool,
}

pub(crate) fn save(base_sha256: &str, ex: &Examples, trained: Option<&Trained>) -> Vec<u8> {
    let header = Header {
        base_sha256: base_sha256.into(),
        embedding_size: ex.dim,
        classes: ex
            .classes
            .iter()
            .map(|c| ClassHeader {
                label: c.label.clone(),
                examples: c.examples,
                vectors: c.inv_norms.len(),
            })
            .collect(),
        head: trained.map(|t| {
            t.head
                .layers
                .iter()
                .map(|l| LayerHeader {
                    inputs: l.inputs,
                    outputs: l.outputs,
                    relu: l.relu,
                })
                .collect()
        }),
    };
    let json = serde_json::to_vec(&header).expect("a header serialises");
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    let mut put = |v: &[f32]| {
        v.iter()
            .for_each(|x| out.extend_from_slice(&x.to_le_bytes()))
    };
    for c in &ex.classes {
        c.vectors.iter().for_each(|v| put(v));
    }
    if let Some(t) = trained {
        for l in &t.head.layers {
            put(&l.weights);
            put(&l.bias);
        }
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    out
}

fn bad(what: impl Into<String>) -> Error {
    Error::ModelFormat(format!("custom classifier bytes: {}", what.into()))
}

type Loaded = (String, Examples, Option<Trained>);

pub(crate) fn load(bytes: &[u8]) -> Result<Loaded> {
    if bytes.len() < 16 + 32 || &bytes[..8] != MAGIC {
        return Err(bad("not a file CustomClassifier.save() wrote"));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != FORMAT_VERSION {
        return Err(bad(format!(
            "format version {version}; this package reads version {FORMAT_VERSION}"
        )));
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != digest {
        return Err(bad("checksum mismatch (corrupt or truncated)"));
    }
    let header_len = u32::from_le_bytes(body[12..16].try_into().expect("4 bytes")) as usize;
    if header_len > MAX_HEADER || header_len > body.len() - 16 {
        return Err(bad("header length out of range"));
    }
    let header: Header = serde_json::from_slice(&body[16..16 + header_len])
        .map_err(|e| bad(format!("header: {e}")))?;
    let values = &body[16 + header_len..];
    let dim = header.embedding_size;
    if !(1..=MAX_DIM).contains(&dim) {
        return Err(bad("embedding size out of range"));
    }
    if header.classes.len() > MAX_CLASSES {
        return Err(bad("too many classes"));
    }
    // Sizes first, with checked arithmetic, against the values present.
    let mut floats = 0usize;
    let mut vectors = 0usize;
    for c in &header.classes {
        examples::check_label(&c.label).map_err(|e| bad(e.to_string()))?;
        if c.examples == 0 || c.vectors < c.examples || c.vectors > MAX_VECTORS {
            return Err(bad("class counts out of range"));
        }
        vectors += c.vectors;
        floats += c.vectors * dim;
    }
    if vectors > MAX_VECTORS {
        return Err(bad("too many vectors"));
    }
    if let Some(layers) = &header.head {
        if layers.is_empty() || layers.len() > MAX_LAYERS {
            return Err(bad("head layer count out of range"));
        }
        let mut inputs = dim;
        for l in layers {
            if l.inputs != inputs || !(1..=MAX_UNITS.max(MAX_CLASSES)).contains(&l.outputs) {
                return Err(bad("head layer shapes do not chain"));
            }
            floats = floats
                .checked_add(l.inputs * l.outputs + l.outputs)
                .ok_or_else(|| bad("sizes overflow"))?;
            inputs = l.outputs;
        }
        if inputs != header.classes.len() {
            return Err(bad("the head's outputs are not the classes"));
        }
    }
    if floats.checked_mul(4) != Some(values.len()) {
        return Err(bad(format!(
            "{} bytes of values where the header describes {}",
            values.len(),
            floats.saturating_mul(4)
        )));
    }
    let mut at = values
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")));
    let mut take = |n: usize| -> Result<Vec<f32>> {
        let v: Vec<f32> = at.by_ref().take(n).collect();
        if v.iter().any(|x| !x.is_finite()) {
            return Err(bad("a non-finite value"));
        }
        Ok(v)
    };
    let mut classes = Vec::with_capacity(header.classes.len());
    for c in &header.classes {
        if classes.iter().any(|k: &Class| k.label == c.label) {
            return Err(bad("a label twice"));
        }
        let v = take(c.vectors * dim)?;
        let inv_norms = v.chunks_exact(dim).map(examples::inv_norm).collect();
        classes.push(Class {
            label: c.label.clone(),
            examples: c.examples,
            vectors: v.chunks_exact(dim).map(Box::from).collect(),
            inv_norms,
        });
    }
    let trained = match &header.head {
        Some(layers) => {
            let mut out = Vec::with_capacity(layers.len());
            for l in layers {
                out.push(Dense {
                    inputs: l.inputs,
                    outputs: l.outputs,
                    weights: take(l.inputs * l.outputs)?,
                    bias: take(l.outputs)?,
                    relu: l.relu,
                });
            }
            Some(Trained {
                head: Head { layers: out },
                classes: classes.iter().map(|c| c.label.clone()).collect(),
            })
        }
        None => None,
    };
    Ok((header.base_sha256, Examples { dim, classes }, trained))
}
