#!/usr/bin/env bash
# Every test: the Rust suite (burn-flex; the cross-framework suite also on burn-ndarray), the
# npm package in Node, then the demo page in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export MOBILENET_MODELS_DIR=${MOBILENET_MODELS_DIR:-$(pwd)/../shared/models}
[ -d "$MOBILENET_MODELS_DIR" ] || { echo "models directory $MOBILENET_MODELS_DIR not found; set MOBILENET_MODELS_DIR" >&2; exit 1; }
unset RUSTFLAGS
bash scripts/setup.sh
cargo test --features ndarray
MOBILENET_WASM_PROFILE=${MOBILENET_WASM_PROFILE:-wasm-dev} bash scripts/build-pkg.sh
simd=$(wasm-objdump -d pkg/mobilenet_wasm_bg.wasm | grep -cE '(v128|f32x4|i32x4|i8x16)\.' || true)
echo "simd128 instructions in the wasm: $simd"
[ "$simd" -gt 1000 ] || { echo "the wasm was built without simd128" >&2; exit 1; }
node scripts/build-demo.mjs
node --test tests/node/ tests/browser/*.test.js examples/cloudflare-worker/test/
