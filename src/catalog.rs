//! The models directory (`MOBILENET_MODELS_DIR`, default `../shared/models`): which models it
//! holds, their files (in name order: the loader places a split model's parts itself), and the
//! accuracy their provenance records.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Environment variable naming the models directory.
pub const MODELS_DIR_ENV: &str = "MOBILENET_MODELS_DIR";

/// The models directory: `$MOBILENET_MODELS_DIR`, else `../shared/models` relative to `base`.
pub fn models_dir(base: &Path) -> Result<PathBuf> {
    let dir = match std::env::var_os(MODELS_DIR_ENV) {
        Some(d) => PathBuf::from(d),
        None => base.join("../shared/models"),
    };
    if !dir.is_dir() {
        return Err(Error::Io(format!(
            "models directory {} not found; set {MODELS_DIR_ENV} to the folder holding the \
             published .tflite files",
            dir.display()
        )));
    }
    Ok(dir)
}

/// One model folder.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    /// Folder name, e.g. `mobilenet_v2_1.0_224_quant`.
    pub name: String,
    /// Its `.tflite` files, in name order.
    pub files: Vec<PathBuf>,
    /// Top-1 / top-5 (%) of the TFLite interpreter on the golden images, from PROVENANCE.md.
    pub reference_accuracy: Option<(f32, f32)>,
}

impl ModelEntry {
    /// Reads the files.
    pub fn read(&self) -> Result<Vec<Vec<u8>>> {
        self.files
            .iter()
            .map(|f| std::fs::read(f).map_err(|e| Error::Io(format!("{}: {e}", f.display()))))
            .collect()
    }
}

fn reference_accuracy(provenance: &str) -> Option<(f32, f32)> {
    let start = provenance.find("**top-1 ")? + "**top-1 ".len();
    let rest = &provenance[start..];
    let top1: f32 = rest.split_whitespace().next()?.parse().ok()?;
    let t5 = rest.find("top-5 ")? + "top-5 ".len();
    let top5: f32 = rest[t5..].split_whitespace().next()?.parse().ok()?;
    Some((top1, top5))
}

/// Every model folder under `dir` (sorted by name).
pub fn discover(dir: &Path) -> Result<Vec<ModelEntry>> {
    let mut entries = Vec::new();
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::Io(format!("{}: {e}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    folders.sort();
    for folder in folders {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
            .map_err(|e| Error::Io(format!("{}: {e}", folder.display())))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "tflite"))
            .collect();
        if files.is_empty() {
            continue;
        }
        files.sort();
        let provenance = std::fs::read_to_string(folder.join("PROVENANCE.md")).unwrap_or_default();
        entries.push(ModelEntry {
            name: folder
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            files,
            reference_accuracy: reference_accuracy(&provenance),
        });
    }
    Ok(entries)
}

/// The ImageNet labels (1000 lines) from the models directory.
pub fn imagenet_labels(dir: &Path) -> Result<Vec<String>> {
    read_lines(&dir.join("imagenet-labels.txt"))
}

/// The ImageNet WordNet ids (1000 lines, same order) from the models directory.
pub fn imagenet_wnids(dir: &Path) -> Result<Vec<String>> {
    read_lines(&dir.join("imagenet-wnids.txt"))
}

fn read_lines(path: &Path) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Error::Io(format!("{}: {e}", path.display())))?;
    Ok(text
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect())
}
