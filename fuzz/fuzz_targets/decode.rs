//! Image decoding: any bytes give pixels or an error, with the size checked before allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mobilenet_wasm::fuzzing::decode(data);
});
