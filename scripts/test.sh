#!/usr/bin/env bash
# `make test`: formatting, lints, then every test tier. The black-box tests
# get a PostgreSQL of their own in a temporary directory, stopped and
# deleted on exit whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "==> cargo fmt --check"
cargo fmt --all -- --check
echo "==> cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "==> scripts/bench-table.py (docs/performance.md's figures)"
python3 -B scripts/test_bench_table.py

echo "==> deploy/prometheus (promtool check config, promtool test rules)"
scripts/check-prometheus

pg_dir=$(mktemp -d /tmp/minifb-test-pg.XXXXXX)
cleanup() { scripts/pg stop "$pg_dir" || true; rm -rf "$pg_dir"; }
trap cleanup EXIT
echo "==> starting a throw-away PostgreSQL in $pg_dir"
scripts/pg start "$pg_dir" --fast
echo "==> schema.rs against the migrations"
scripts/check-schema "$pg_dir"
MINIFB_TEST_DATABASE_URL=$(scripts/pg url "$pg_dir" postgres)
export MINIFB_TEST_DATABASE_URL
unset MINIFB_URL

echo "==> tests (domain, use cases, handlers, black-box over HTTP)"
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        # As root (CI's clean machine) the browser test gets its browser.
        echo "    installing Chromium for the /admin screenshot test"
        { apt-get install -y --no-install-recommends chromium \
            || { apt-get update && apt-get install -y --no-install-recommends chromium; }; } >/dev/null 2>&1 \
            || echo "    note: Chromium could not be installed, so the /admin screenshot test is skipped"
    else
        echo "    note: Chromium is not installed, so the /admin screenshot test is skipped (apt-get install chromium)"
    fi
fi
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --locked --no-fail-fast
else
    cargo test --workspace --locked --no-fail-fast
fi
echo "==> the TypeScript client: generated types, tsc, its scenario against a server"
scripts/client.sh check
echo "==> all tests passed"
