//! The TFLite reader: any bytes give a model or an error, never a panic, hang or huge allocation.
//! A first byte of 1 splits the rest in two files (split backbone + head models).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mobilenet_wasm::fuzzing::tflite_load(data);
});
