//! Preprocessing: arbitrary dimensions, pixel formats and buffers to a centre crop.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mobilenet_wasm::fuzzing::preprocess(data);
});
