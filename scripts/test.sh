#!/usr/bin/env bash
# Every test: the Rust suite (burn-flex; the cross-framework suite also on burn-ndarray),
# then the npm package in Node.
set -euo pipefail
cd "$(dirname "$0")/.."
export MOBILENET_MODELS_DIR=${MOBILENET_MODELS_DIR:-$(pwd)/../shared/models}
unset RUSTFLAGS
bash scripts/setup.sh
cargo test --features ndarray
if [ -f tests/node/package.test.js ]; then
  MOBILENET_WASM_PROFILE=${MOBILENET_WASM_PROFILE:-wasm-dev} bash scripts/build-pkg.sh
  node --test tests/node/
fi
