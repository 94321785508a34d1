//! The examples of each class: the base's embeddings as computed once at add time (with their
//! inverse norms, for cosine similarity), and nearest-neighbour scoring on them.

use crate::error::{Error, Result};

/// Most classes one custom classifier holds.
pub const MAX_CLASSES: usize = 1000;
/// Most stored vectors (examples and their augmented copies) across all classes: 20,000
/// vectors of 1280 floats are 100 MB, within a Worker's 128 MB with room for the base.
pub const MAX_VECTORS: usize = 20_000;
/// Longest label, in bytes.
pub const MAX_LABEL_BYTES: usize = 256;
/// The label [`super::CustomClassifier::classify`] gives when no class reaches the threshold.
pub const UNKNOWN: &str = "unknown";

/// One class: its label, how many examples were added, and their vectors.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Class {
    pub label: String,
    pub examples: usize,
    /// Each example's embedding and its augmented copies, one allocation of exactly `dim`
    /// floats each (a growing flat array would hold up to twice its vectors' bytes, and copy
    /// them as it grows).
    pub vectors: Vec<Box<[f32]>>,
    /// `1 / ‖v‖` of each vector (0 for a zero vector).
    pub inv_norms: Vec<f32>,
}

/// Every class's examples.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Examples {
    pub dim: usize,
    pub classes: Vec<Class>,
}

/// Refuses an empty, over-long or reserved label, or one with control characters.
pub fn check_label(label: &str) -> Result<()> {
    if label.is_empty() || label.len() > MAX_LABEL_BYTES {
        return Err(Error::Argument(format!(
            "a label must be 1..{MAX_LABEL_BYTES} bytes"
        )));
    }
    if label.chars().any(char::is_control) {
        return Err(Error::Argument(
            "a label cannot hold control characters (line breaks, tabs)".into(),
        ));
    }
    if label == UNKNOWN {
        return Err(Error::Argument(format!(
            "{UNKNOWN:?} is the label of no class reaching the threshold; name the class otherwise"
        )));
    }
    Ok(())
}

/// `1 / ‖v‖`, 0 for a zero vector.
pub(crate) fn inv_norm(v: &[f32]) -> f32 {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 { 1.0 / n } else { 0.0 }
}

impl Examples {
    pub(crate) fn new(dim: usize) -> Self {
        Self {
            dim,
            classes: Vec::new(),
        }
    }

    pub(crate) fn vectors(&self) -> usize {
        self.classes.iter().map(|c| c.inv_norms.len()).sum()
    }

    /// Adds one example: its embedding and any augmented copies (`vectors`, each `dim` long).
    pub(crate) fn add(&mut self, label: &str, vectors: &[Vec<f32>]) -> Result<()> {
        check_label(label)?;
        if vectors.is_empty() {
            return Err(Error::Argument("an example needs an embedding".into()));
        }
        for v in vectors {
            if v.len() != self.dim {
                return Err(Error::Argument(format!(
                    "an embedding of {} values; this base gives {}",
                    v.len(),
                    self.dim
                )));
            }
            if v.iter().any(|x| !x.is_finite()) {
                return Err(Error::Argument(
                    "an embedding with a non-finite value".into(),
                ));
            }
        }
        if self.vectors() + vectors.len() > MAX_VECTORS {
            return Err(Error::Argument(format!(
                "at most {MAX_VECTORS} stored vectors (examples and augmented copies)"
            )));
        }
        let i = match self.classes.iter().position(|c| c.label == label) {
            Some(i) => i,
            None if self.classes.len() >= MAX_CLASSES => {
                return Err(Error::Argument(format!("at most {MAX_CLASSES} classes")));
            }
            None => {
                self.classes.push(Class {
                    label: label.into(),
                    examples: 0,
                    vectors: Vec::new(),
                    inv_norms: Vec::new(),
                });
                self.classes.len() - 1
            }
        };
        let class = &mut self.classes[i];
        class.examples += 1;
        for v in vectors {
            class.vectors.push(v.as_slice().into());
            class.inv_norms.push(inv_norm(v));
        }
        Ok(())
    }

    /// Each class's best cosine similarity to `x` (its nearest example).
    pub(crate) fn nearest(&self, x: &[f32]) -> Vec<f32> {
        let ix = inv_norm(x);
        self.classes
            .iter()
            .map(|c| {
                c.vectors
                    .iter()
                    .zip(&c.inv_norms)
                    .map(|(v, inv)| v.iter().zip(x).map(|(a, b)| a * b).sum::<f32>() * inv * ix)
                    .fold(-1.0f32, f32::max)
            })
            .collect()
    }

    /// Bytes held: the vectors, their norms, the per-vector and per-class bookkeeping.
    pub(crate) fn held_bytes(&self) -> usize {
        use std::mem::size_of;
        self.classes
            .iter()
            .map(|c| {
                c.vectors.iter().map(|v| v.len() * 4).sum::<usize>()
                    + c.vectors.capacity() * size_of::<Box<[f32]>>()
                    + c.inv_norms.capacity() * 4
                    + c.label.capacity()
                    + size_of::<Class>()
            })
            .sum()
    }

    /// Training data: every vector row-major and its class index.
    pub(crate) fn dataset(&self) -> (Vec<f32>, Vec<i64>) {
        let mut x = Vec::with_capacity(self.vectors() * self.dim);
        let mut y = Vec::with_capacity(self.vectors());
        for (i, c) in self.classes.iter().enumerate() {
            c.vectors.iter().for_each(|v| x.extend_from_slice(v));
            y.extend(std::iter::repeat_n(i as i64, c.inv_norms.len()));
        }
        (x, y)
    }
}
