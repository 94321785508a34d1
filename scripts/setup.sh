#!/usr/bin/env bash
# Installs what the build and tests need; idempotent, so a warm machine skips it all.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
wbg=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print}' Cargo.lock)
if ! (command -v wasm-bindgen >/dev/null && wasm-bindgen --version | grep -q "$wbg"); then
  # No --locked: the CLI's own lock file pins a crate the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$wbg"
fi
