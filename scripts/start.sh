#!/usr/bin/env bash
# Builds the package and serves the demo on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-pkg.sh
node scripts/build-demo.mjs
exec node scripts/serve.mjs
