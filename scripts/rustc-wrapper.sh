#!/usr/bin/env bash
# cargo's RUSTC_WRAPPER for the wasm builds: compiles this crate with relaxed SIMD when its
# `relaxed` feature is on, and every dependency as it is. The two wasm flavours then share one
# target folder and one build of the dependencies (RUSTFLAGS would apply to all of them, so
# cargo would compile each twice); only this crate is compiled once per flavour.
rustc=$1
shift
crate= relaxed=
prev=
for arg in "$@"; do
  [ "$prev" = --crate-name ] && crate=$arg
  [ "$arg" = 'feature="relaxed"' ] && relaxed=1
  prev=$arg
done
if [ "$crate" = mobilenet_wasm ] && [ -n "$relaxed" ]; then
  exec "$rustc" "$@" -C target-feature=+simd128,+relaxed-simd
fi
exec "$rustc" "$@"
