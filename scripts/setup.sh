#!/usr/bin/env bash
# Installs what the build and tests need; idempotent, so a warm machine skips it all.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
command -v ffmpeg >/dev/null || missing+=(ffmpeg)
command -v wasm-objdump >/dev/null || missing+=(wabt)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing system packages: ${missing[*]} (install them with apt-get)" >&2
    exit 1
  fi
fi
rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown
# The threaded wasm builds: nightly's build-std rebuilds std with atomics (it needs rust-src).
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
rustup +nightly component list --installed | grep -q '^rust-src' || rustup component add rust-src --toolchain nightly
rustup +nightly target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown --toolchain nightly
wbg=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print}' Cargo.lock)
if ! (command -v wasm-bindgen >/dev/null && wasm-bindgen --version | grep -q "$wbg"); then
  # No --locked: the CLI's own lock file pins a crate the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$wbg"
fi
{ [ -d node_modules/playwright-core ] && [ -d node_modules/typescript ]; } || npm ci --no-audit --no-fund
# wrangler (pinned for Node 20) for the Worker example's `npm run dev` and its bundle test.
[ -x examples/cloudflare-worker/node_modules/.bin/wrangler ] ||
  (cd examples/cloudflare-worker && npm ci --no-audit --no-fund)
# Pillow, the reference pipeline's image library: the decoder tests compare against it.
python3 -c 'import PIL, sys; sys.exit(PIL.__version__ != "13.0.0")' 2>/dev/null ||
  python3 -m pip install --quiet pillow==13.0.0
