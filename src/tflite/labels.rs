//! Label files packed into a TFLite file by the TFLite metadata writer (a zip archive appended
//! to the flatbuffer, holding e.g. `labels.txt`).

use std::io::{Cursor, Read};

/// Largest label file read (ImageNet's is ~22 KB).
const MAX_LABEL_BYTES: u64 = 1 << 20;

/// The lines of the first `.txt` file packed into the model, if any.
pub fn embedded_labels(bytes: &[u8]) -> Option<Vec<String>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let name = archive
        .file_names()
        .filter(|n| n.ends_with(".txt"))
        .min()?
        .to_string();
    let file = archive.by_name(&name).ok()?;
    if file.size() > MAX_LABEL_BYTES {
        return None;
    }
    let mut text = String::new();
    file.take(MAX_LABEL_BYTES).read_to_string(&mut text).ok()?;
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    (!lines.is_empty()).then_some(lines)
}
