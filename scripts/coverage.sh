#!/usr/bin/env bash
# `make coverage`: line and function coverage of every test tier with
# cargo-llvm-cov, the real `minifb-server` binary included (the process
# tests in bin-server/tests run it; it writes its profile when it exits on
# SIGTERM or SIGINT). Prints a table per crate, writes it into README.md
# (between the coverage markers) and an HTML report to target/llvm-cov/html,
# and fails when a target of scripts/coverage-summary.py is missed.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo llvm-cov --version >/dev/null 2>&1; then
    echo "==> installing cargo-llvm-cov"
    cargo install cargo-llvm-cov --locked
fi
if ! rustup component list --installed 2>/dev/null | grep -q '^llvm-tools'; then
    echo "==> installing llvm-tools-preview"
    rustup component add llvm-tools-preview
fi

pg_dir=$(mktemp -d /tmp/minifb-cov-pg.XXXXXX)
cleanup() { scripts/pg stop "$pg_dir" || true; rm -rf "$pg_dir"; }
trap cleanup EXIT
scripts/pg start "$pg_dir" --fast
MINIFB_TEST_DATABASE_URL=$(scripts/pg url "$pg_dir" postgres)
export MINIFB_TEST_DATABASE_URL
unset MINIFB_URL

# Only the product is measured: test code (the black-box crate, each
# crate's tests/ directories, test modules kept in files of their own
# (tests.rs), the application's test doubles in testing.rs and testing/)
# and dependencies are left out. Paths are matched below this checkout
# only, wherever it is.
root=$(python3 -c 'import os, re; print(re.escape(os.getcwd()))')
ignore="^$root/(.*/)?(tests|testing)/|^$root/.*/(testing|tests)[.]rs\$|/[.]cargo/registry/"
cargo llvm-cov clean --workspace
if cargo nextest --version >/dev/null 2>&1; then
    cargo llvm-cov nextest --workspace --locked --no-report --no-fail-fast
else
    cargo llvm-cov --workspace --locked --no-report --no-fail-fast
fi
cargo llvm-cov report --ignore-filename-regex "$ignore" --html >/dev/null
# The full export (functions included): coverage-summary.py counts
# functions from it.
cargo llvm-cov report --ignore-filename-regex "$ignore" --json \
    --output-path target/llvm-cov/coverage.json
echo "HTML report: target/llvm-cov/html/index.html"
python3 scripts/coverage-summary.py target/llvm-cov/coverage.json --readme README.md
