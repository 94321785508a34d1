#!/usr/bin/env bash
# Builds the npm package into pkg/: wasm (simd128) + wasm-bindgen glue + JS API + default model.
#   MOBILENET_WASM_PROFILE=release (default; fat LTO, what ships) or wasm-dev (fast, for tests)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${MOBILENET_WASM_PROFILE:-release}
models=${MOBILENET_MODELS_DIR:-../shared/models}
[ -d "$models" ] || { echo "models directory $models not found; set MOBILENET_MODELS_DIR" >&2; exit 1; }
# RUSTFLAGS in the environment would silently replace .cargo/config.toml's +simd128.
unset RUSTFLAGS
cargo build --lib --target wasm32-unknown-unknown --profile "$profile"
rm -rf pkg && mkdir -p pkg/models
wasm-bindgen --target web --out-dir pkg --out-name mobilenet_wasm \
  "target/wasm32-unknown-unknown/$profile/mobilenet_wasm.wasm"
if [ -x node_modules/.bin/wasm-opt ] && [ "$profile" = release ]; then
  node_modules/.bin/wasm-opt -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    pkg/mobilenet_wasm_bg.wasm -o pkg/mobilenet_wasm_bg.wasm
fi
cp js/core.js js/node.js js/browser.js js/workerd.js js/index.d.ts js/package.json js/README.md pkg/
cp "$models/mobilenet_v2_1.0_224_quant/mobilenet_v2_1.0_224_quant.tflite" pkg/models/default.tflite
cp "$models/imagenet-labels.txt" pkg/models/labels.txt
rm -f pkg/.gitignore
size() { printf '%-28s %9d bytes raw %9d bytes gzip\n' "$1" "$(wc -c < "$2")" "$(gzip -9c "$2" | wc -c)"; }
size ".wasm" pkg/mobilenet_wasm_bg.wasm
cat pkg/mobilenet_wasm.js pkg/core.js pkg/browser.js > target/js-bundle-size.js
size "JS glue + API" target/js-bundle-size.js
size "default model" pkg/models/default.tflite
