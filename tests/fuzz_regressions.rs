//! Replays every input the fuzz targets (`fuzz/`) ever found a crash with, plus a few made by
//! hand, through the same entry points: each must return without panicking.
use std::path::Path;

use mobilenet_wasm::fuzzing;

fn replay(target: &str, run: fn(&[u8])) -> usize {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        println!("{target}: {}", path.display());
        run(&data);
        n += 1;
    }
    n
}

#[test]
fn tflite_reader_regressions() {
    assert!(replay("tflite_load", fuzzing::tflite_load) > 0);
}

#[test]
fn decode_regressions() {
    assert!(replay("decode", fuzzing::decode) > 0);
}

#[test]
fn preprocess_regressions() {
    assert!(replay("preprocess", fuzzing::preprocess) > 0);
}
