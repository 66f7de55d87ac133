#!/usr/bin/env bash
# `make run`: serve minifb, with a private PostgreSQL unless DATABASE_URL is set.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .env ] && set -a && . ./.env && set +a
if [ -z "${DATABASE_URL:-}" ]; then
    scripts/pg start data/pg
    scripts/pg createdb data/pg minifb
    DATABASE_URL=$(scripts/pg url data/pg minifb)
    export DATABASE_URL
    echo "Using the private PostgreSQL in ./data/pg (stop it with: make db-stop)"
fi
exec "${CARGO_TARGET_DIR:-target}/debug/minifb-server"
