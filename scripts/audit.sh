#!/usr/bin/env bash
# `make audit`: cargo-deny (advisories, licences, duplicate versions,
# sources) with the exceptions of deny.toml. The advisory check needs the
# RustSec database from github.com; where that cannot be fetched it is
# reported as skipped, never as passed.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-deny >/dev/null || cargo install cargo-deny --locked
status=0
log=$(mktemp)
if cargo deny --all-features check advisories >"$log" 2>&1; then
    echo "advisories ok"
elif grep -q "failed to fetch advisory database" "$log"; then
    echo "advisories SKIPPED: the RustSec advisory database could not be fetched:"
    grep -m1 "failed to fetch" "$log" | sed 's/^/    /'
else
    cat "$log"
    status=1
fi
rm -f "$log"
cargo deny --all-features check licenses bans sources || status=1
exit $status
