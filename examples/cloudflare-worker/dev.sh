#!/usr/bin/env bash
# npm run dev: assemble build/ and run it under `wrangler dev` (local mode, no account, no
# network) on 127.0.0.1:${PORT:-8787}.
set -euo pipefail
cd "$(dirname "$0")"
[ -x node_modules/.bin/wrangler ] || npm ci --no-audit --no-fund
node build.mjs
export WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false
exec node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" --show-interactive-dev-session=false
