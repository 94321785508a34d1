#!/usr/bin/env bash
# npm run serve: assemble build/ and run it in workerd on 127.0.0.1:${PORT:-8787}.
set -euo pipefail
cd "$(dirname "$0")"
node build.mjs
exec ../../node_modules/.bin/workerd serve build/config.capnp
