#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, seeded with the real model files and
# golden images from the models directory (copied into fuzz/corpus/, never committed).
#   bash fuzz/run.sh [SECONDS] [TARGET…]
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). A crash is saved in
# fuzz/artifacts/TARGET/; copy it into fuzz/regressions/TARGET/ so tests/fuzz_regressions.rs
# replays it, then fix it.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("${@:-tflite_load decode preprocess}")
models=${MOBILENET_MODELS_DIR:-$(pwd)/../../shared/models}
[ -d "$models" ] || { echo "models directory $models not found; set MOBILENET_MODELS_DIR" >&2; exit 1; }

mkdir -p corpus/tflite_load corpus/decode corpus/preprocess
for f in "$models"/mobilenet_v1_0.25_128_quant/*.tflite "$models"/mobilenet_v1_0.25_224_quant/*.tflite \
         "$models"/mobilenet_v1_1.0_224_quant_split/*head*.tflite; do
  cp -n "$f" corpus/tflite_load/ 2>/dev/null || true
done
find "$models/../golden/imagenet-samples" -name '*.JPEG' | sort | sed -n '1,40p' | xargs -I{} cp -n {} corpus/decode/
cp -n regressions/decode/* corpus/decode/ 2>/dev/null || true
cp -n regressions/tflite_load/* corpus/tflite_load/ 2>/dev/null || true
cp -n regressions/preprocess/* corpus/preprocess/ 2>/dev/null || true

for t in ${targets[@]}; do
  max_len=65536
  [ "$t" = tflite_load ] && max_len=1048576
  echo "== $t for ${seconds}s"
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len="$max_len" \
    -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 | tail -25
done
