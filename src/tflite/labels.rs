//! Label files packed into a TFLite file by the TFLite metadata writer (a zip archive appended
//! to the flatbuffer, holding e.g. `labels.txt`).

use std::io::{Cursor, Read};

/// Largest label file read (ImageNet's is ~22 KB).
const MAX_LABEL_BYTES: u64 = 1 << 20;

/// The lines of the first `.txt` file packed into the model, if any.
pub fn embedded_labels(bytes: &[u8]) -> Option<Vec<String>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(appended_zip(bytes)?)).ok()?;
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

/// The zip archive appended to `bytes`, from its end-of-central-directory record, which lies in
/// the last 22 + 65 535 bytes; `None` when there is none. The zip crate searches the whole input
/// for that record: 5–8 ms of V2's 60 ms first build in Chromium, for files that have no zip.
fn appended_zip(bytes: &[u8]) -> Option<&[u8]> {
    const EOCD: [u8; 4] = *b"PK\x05\x06";
    const EOCD_LEN: usize = 22;
    let tail = bytes.len().saturating_sub(EOCD_LEN + u16::MAX as usize);
    let at = (tail..=bytes.len().checked_sub(EOCD_LEN)?)
        .rev()
        .find(|&i| bytes[i..i + 4] == EOCD)?;
    let word =
        |o: usize| u32::from_le_bytes(bytes[at + o..at + o + 4].try_into().unwrap()) as usize;
    // The central directory ends where the record starts; its recorded offset is relative to
    // the archive's start, which lies that much further back.
    let start = at.checked_sub(word(12))?.checked_sub(word(16));
    // A record whose offsets do not add up (zip64, a stray signature): let the zip crate look.
    Some(start.map_or(bytes, |s| &bytes[s..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_with(name: &str, text: &str) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        let mut z = zip::ZipWriter::new(&mut out);
        z.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(text.as_bytes()).unwrap();
        z.finish().unwrap();
        out.into_inner()
    }

    #[test]
    fn labels_of_a_zip_appended_to_other_bytes() {
        let mut file = vec![7u8; 100_000];
        file.extend(zip_with("labels.txt", "cat\ndog\n"));
        assert_eq!(
            embedded_labels(&file),
            Some(vec!["cat".to_string(), "dog".to_string()])
        );
        assert_eq!(embedded_labels(&file[..file.len() - 1]), None);
        assert_eq!(embedded_labels(&vec![7u8; 100_000]), None);
        assert_eq!(embedded_labels(b"PK\x05\x06"), None);
    }
}
