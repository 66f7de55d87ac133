#!/usr/bin/env bash
# The TypeScript client in clients/typescript (README, "A typed client for
# the frontend"). `scripts/client.sh write` (`make client`) generates its
# types, src/schema.d.ts, from docs/openapi.json; they are not committed
# (a generated copy would drift, and repeats itself per route). `scripts/client.sh check`
# (in `make test`) installs the locked packages, generates the types,
# type-checks the client against them, and runs clients/typescript/test (a
# scenario against a dev server on a throw-away PostgreSQL, and the stream
# helper's reconnects).
# Without Node 18 or later and npm it says so and does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-check}
client=clients/typescript

node_major=$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/' || true)
if [ -z "$node_major" ] || [ "$node_major" -lt 18 ] || ! command -v npm >/dev/null 2>&1; then
    echo "    note: Node 18 or later with npm is not installed, so the TypeScript client in $client is skipped (apt-get install nodejs npm)"
    exit 0
fi

(cd "$client" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error)
"$client/node_modules/.bin/openapi-typescript" docs/openapi.json --output "$client/src/schema.d.ts" >/dev/null
if [ "$mode" = write ]; then
    echo "wrote $client/src/schema.d.ts"
    exit 0
fi
# The type check (`npm run check`, tsc --noEmit) and the compiled tests in
# one tsc run: it checks everything and emits nothing when a type is wrong.
(cd "$client" && rm -rf build && node_modules/.bin/tsc --noEmit false --noEmitOnError --outDir build)

cargo build --bin minifb-server --locked
export MINIFB_SIGNUP_LIMIT=0 MINIFB_PASSWORD_ITERATIONS=1000 MINIFB_MAIL_OUTBOX=/dev/null
. scripts/with-server.sh
with_server tsclient debug
(cd "$client" && MINIFB_URL=$base node --test build/test/*.test.js)
