#!/usr/bin/env bash
# Builds the npm package into pkg/: two wasm builds (simd128, and simd128 + relaxed SIMD with
# fused multiply-add; the package loads the second where the engine supports it), one
# wasm-bindgen glue shared by both, the JS API and the default model.
# One build for the package, its tests, the demo and the benchmark: the `wasm` profile (see
# Cargo.toml for why it beats fat LTO); MOBILENET_WASM_PROFILE names another to compare.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${MOBILENET_WASM_PROFILE:-wasm}
models=${MOBILENET_MODELS_DIR:-../shared/models}
[ -d "$models" ] || { echo "models directory $models not found; set MOBILENET_MODELS_DIR" >&2; exit 1; }
# RUSTFLAGS in the environment would silently replace .cargo/config.toml's +simd128.
unset RUSTFLAGS
# The wrapper gives relaxed SIMD to this crate alone under its `relaxed` feature, so both
# flavours share one build of the dependencies; cargo keeps both builds of this crate (their
# feature sets differ) and the second only overwrites the linked file, read right after each.
export RUSTC_WRAPPER=$PWD/scripts/rustc-wrapper.sh
wasm=target/wasm32-unknown-unknown/$profile/mobilenet_wasm.wasm
rm -rf pkg target/relaxed-glue && mkdir -p pkg/models
cargo build --lib --target wasm32-unknown-unknown --profile "$profile"
wasm-bindgen --target web --out-dir pkg --out-name mobilenet_wasm "$wasm"
cargo build --lib --target wasm32-unknown-unknown --profile "$profile" --features relaxed
wasm-bindgen --target web --out-dir target/relaxed-glue --out-name mobilenet_wasm "$wasm"
# One glue for both: their imports and exports must be the same.
cmp pkg/mobilenet_wasm.js target/relaxed-glue/mobilenet_wasm.js || {
  echo "the two wasm builds need different JS glue" >&2
  exit 1
}
cp target/relaxed-glue/mobilenet_wasm_bg.wasm pkg/mobilenet_wasm_relaxed_bg.wasm
# The threaded flavours, for cross-origin isolated pages: every crate (std too, rebuilt by
# nightly's build-std) compiled with atomics over shared memory, in a target folder of their
# own; the wrapper again adds relaxed SIMD to this crate alone. One glue for both, beside the
# other: its memory is imported and shared, and it starts wasm-bindgen-rayon's workers.
threads=(cargo +nightly build --lib --target wasm32-unknown-unknown --profile "$profile"
  -Z build-std=panic_abort,std --target-dir target/threads)
twasm=target/threads/wasm32-unknown-unknown/$profile/mobilenet_wasm.wasm
# The memory shared and imported (the workers instantiate the module on it), the thread-local
# storage exported for wasm-bindgen's thread start; a shared memory must declare its maximum:
# 2 GiB.
RUSTFLAGS='-C target-feature=+simd128,+atomics,+bulk-memory,+mutable-globals'
for arg in --shared-memory --max-memory=2147483648 --import-memory --export=__wasm_init_tls \
  --export=__tls_size --export=__tls_align --export=__tls_base; do
  RUSTFLAGS+=" -C link-arg=$arg"
done
export RUSTFLAGS
"${threads[@]}" --features threads
wasm-bindgen --target web --out-dir pkg --out-name mobilenet_wasm_threads "$twasm"
"${threads[@]}" --features threads,relaxed
rm -rf target/threads-relaxed-glue
wasm-bindgen --target web --out-dir target/threads-relaxed-glue --out-name mobilenet_wasm_threads "$twasm"
unset RUSTFLAGS
cmp pkg/mobilenet_wasm_threads.js target/threads-relaxed-glue/mobilenet_wasm_threads.js || {
  echo "the two threaded wasm builds need different JS glue" >&2
  exit 1
}
cp target/threads-relaxed-glue/mobilenet_wasm_threads_bg.wasm pkg/mobilenet_wasm_threads_relaxed_bg.wasm
# wasm-bindgen-rayon's worker script imports the glue as the package's entry
# (`import('../../..')`), which only a bundler resolves; naming the glue's file works with
# bundlers and without.
helpers=$(ls pkg/snippets/wasm-bindgen-rayon-*/src/workerHelpers.js)
sed -i "s#import('../../..')#import('../../../mobilenet_wasm_threads.js')#" $helpers
grep -q "mobilenet_wasm_threads.js" $helpers || { echo "$helpers: unexpected import" >&2; exit 1; }
# The function names (a 480 KB custom section, 107 KB gzipped) only name frames in stack
# traces; panics keep their messages without them.
wasm-strip pkg/mobilenet_wasm_bg.wasm
wasm-strip pkg/mobilenet_wasm_relaxed_bg.wasm
wasm-strip pkg/mobilenet_wasm_threads_bg.wasm
wasm-strip pkg/mobilenet_wasm_threads_relaxed_bg.wasm
cp js/core.js js/glue.js js/custom.js js/validate.js js/node.js js/browser.js js/browser-env.js js/remote.js js/worker.js js/workerd.js js/index.d.ts js/api.d.ts js/portable.d.ts js/package.json js/README.md js/CHANGELOG.md pkg/
cp "$models/mobilenet_v2_1.0_224_quant/mobilenet_v2_1.0_224_quant.tflite" pkg/models/default.tflite
cp "$models/imagenet-labels.txt" pkg/models/labels.txt
rm -f pkg/.gitignore
size() { printf '%-28s %9d bytes raw %9d bytes gzip\n' "$1" "$(wc -c < "$2")" "$(gzip -9c "$2" | wc -c)"; }
size ".wasm (simd128)" pkg/mobilenet_wasm_bg.wasm
size ".wasm (relaxed SIMD)" pkg/mobilenet_wasm_relaxed_bg.wasm
size ".wasm (threads)" pkg/mobilenet_wasm_threads_bg.wasm
size ".wasm (threads, relaxed)" pkg/mobilenet_wasm_threads_relaxed_bg.wasm
cat pkg/mobilenet_wasm.js pkg/core.js pkg/browser.js > target/js-bundle-size.js
size "JS glue + API" target/js-bundle-size.js
size "default model" pkg/models/default.tflite
