#!/usr/bin/env bash
# `make fuzz`: schemathesis (from PyPI) over /openapi.json, every phase
# including the stateful one, against a server on a throw-away PostgreSQL.
# User routes run with a user's token, back-office routes with the admin
# token. Exits non-zero on any failure. FUZZ_MAX_EXAMPLES and FUZZ_SEED
# tune the run; schemathesis.toml (read from the repository root) holds the
# few documented exceptions.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_EXAMPLES=${FUZZ_MAX_EXAMPLES:-100}
SEED=${FUZZ_SEED:-1}

if ! command -v schemathesis >/dev/null 2>&1; then
    echo "==> installing schemathesis from PyPI"
    python3 -m pip install --quiet schemathesis
fi
cargo build --bin minifb-server

export MINIFB_ADMIN_TOKEN=fuzz-admin-token-0123456789abcdefghijklmno
export MINIFB_JWT_SECRET=fuzz-jwt-secret-0123456789abcdefghijklmnopq
export MINIFB_ACCESS_TOKEN_TTL=3600 MINIFB_PASSWORD_ITERATIONS=1000
export MINIFB_MAIL_OUTBOX=/dev/null
. scripts/with-server.sh
with_server fuzz debug

# A user whose token the fuzzer sends, with a post to find.
curl -sf -XPOST "$base/auth/signup" -H 'content-type: application/json' \
    -d '{"id":"fuzzer","password":"fuzzer password 1","name":"Fuzzer"}' >/dev/null
token=$(curl -sf -XPOST "$base/auth/login" -H 'content-type: application/json' \
    -d '{"id":"fuzzer","password":"fuzzer password 1"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sf -XPOST "$base/posts" -H 'content-type: application/json' \
    -H "authorization: Bearer $token" -d '{"content":"a post to fuzz"}' >/dev/null

# Every check runs: schemathesis enables all of them by default. Not
# `--checks all`, which as a command-line option would also override the
# per-operation exceptions of schemathesis.toml (each written down there
# with its reason).
run() {
    schemathesis run "$base/openapi.json" --url "$base" \
        --phases examples,coverage,fuzzing,stateful \
        --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 2 \
        --suppress-health-check all --request-timeout 10 "$@"
}
status=0
echo "==> user and public routes"
run -H "Authorization: Bearer $token" --exclude-path-regex '^/(admin|metrics)' || status=1
echo "==> back-office routes"
run -H "Authorization: Bearer $MINIFB_ADMIN_TOKEN" --include-path-regex '^/(admin|metrics)' || status=1
exit $status
