#!/usr/bin/env bash
# Every test: the Rust suite (burn-flex and burn-ndarray), the npm package in Node and Chromium
# (both wasm builds), the demo page, the Worker, soak and the benchmark harness in smoke mode.
set -euo pipefail
cd "$(dirname "$0")/.."
export MOBILENET_MODELS_DIR=${MOBILENET_MODELS_DIR:-$(pwd)/../shared/models}
[ -d "$MOBILENET_MODELS_DIR" ] || { echo "models directory $MOBILENET_MODELS_DIR not found; set MOBILENET_MODELS_DIR" >&2; exit 1; }
unset RUSTFLAGS
# Each stage's duration, so a slow CI run says where its time went.
stage() { echo "== $1 (at ${SECONDS}s)"; }
stage "setup"
bash scripts/setup.sh
stage "Rust tests, burn-flex and burn-ndarray"
cargo test --features ndarray,threads
stage "wasm package"
bash scripts/build-pkg.sh
# Both builds use simd128; only the second needs relaxed SIMD (it fails validation without it).
simd=$(wasm-objdump -d pkg/mobilenet_wasm_bg.wasm | grep -cE '(v128|f32x4|i32x4|i8x16)\.' || true)
echo "simd128 instructions in the wasm: $simd"
[ "$simd" -gt 1000 ] || { echo "the wasm was built without simd128" >&2; exit 1; }
wasm-validate pkg/mobilenet_wasm_bg.wasm
wasm-validate --enable-relaxed-simd pkg/mobilenet_wasm_relaxed_bg.wasm
if wasm-validate pkg/mobilenet_wasm_relaxed_bg.wasm 2>/dev/null; then
  echo "the relaxed-SIMD wasm has no relaxed-SIMD instruction" >&2
  exit 1
fi
# The kernels' unit tests in wasm, on the intrinsics that ship: the simd128 build in Node, the
# relaxed-SIMD build in headless Chromium (Node 20's relaxed SIMD is a pre-standard draft whose
# dot product computes other sums). Same profile and target folders as the package builds
# above, so their dependencies are built once.
stage "kernel unit tests in wasm (simd128 in Node, relaxed SIMD in Chromium)"
profile=${MOBILENET_WASM_PROFILE:-wasm}
export RUSTC_WRAPPER=$PWD/scripts/rustc-wrapper.sh
cargo test --lib --target wasm32-unknown-unknown --profile "$profile"
WASM_BINDGEN_USE_BROWSER=1 WASM_BINDGEN_TEST_WEBDRIVER_JSON=scripts/webdriver.json \
  cargo test --lib --target wasm32-unknown-unknown --profile "$profile" --features relaxed
unset RUSTC_WRAPPER
stage "demo"
node scripts/build-demo.mjs
stage "Node, Chromium and Worker tests"
node --test tests/node/ tests/browser/*.test.js examples/cloudflare-worker/test/
# The same suite under wrangler dev, but for the oversized uploads: when the Worker answers 413
# before reading a body, wrangler's local proxy turns it into a 503 or stalls the connection
# (bare workerd, above, and deployed Workers pass the answer on).
stage "Worker tests under wrangler dev"
MOBILENET_WORKER_RUNTIME=wrangler node --test \
  --test-name-pattern='health|golden images|1,000 requests|manifest|MAX_BODY_BYTES' \
  examples/cloudflare-worker/test/worker.test.js
# The side-by-side benchmark in smoke mode: every runtime loads and classifies once (no timing).
stage "benchmark smoke run"
node bench/run.mjs --smoke
# The custom classes' benchmarks, the same way: few-shot accuracy (without the scikit-learn
# reference, a Python install) and head training beside TF.js.
node bench/fewshot.mjs --smoke --no-reference
node bench/train.mjs --smoke
stage "done"
