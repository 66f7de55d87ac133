#!/usr/bin/env bash
# `make explain`: writes docs/explain.md, the EXPLAIN (ANALYZE, BUFFERS)
# plans of the statements the server actually sends, one request of each
# route. Builds the server and minifb-seed, starts a throw-away PostgreSQL,
# lets the server migrate it, seeds it, copies the seeded database (the
# copy is where the statements are replayed, as the requests found the
# data), then serves the original with every statement logged and hands
# over to scripts/explain.py, which sends the requests, reads the log and
# writes the file. Everything it started is stopped when it exits, also on
# failure.
#
#   EXPLAIN_SCALE  seed scale, 1 = 100k users and 1M posts (default 0.1)
#   EXPLAIN_SEED   seed of the data set (default 2026)
#   EXPLAIN_OUT    the file written (default docs/explain.md)
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${EXPLAIN_SCALE:-0.1}
SEED=${EXPLAIN_SEED:-2026}
OUT=${EXPLAIN_OUT:-docs/explain.md}
target=${CARGO_TARGET_DIR:-target}
command -v python3 >/dev/null 2>&1 || { echo "make explain needs python3" >&2; exit 1; }

echo "==> building minifb-server and minifb-seed"
cargo build --bin minifb-server --bin minifb-seed

work=$(mktemp -d /tmp/minifb-explain.XXXXXX)
chmod 755 "$work" # the postgres user must reach $work/pg
pg_dir="$work/pg"
server_pid=
cleanup() {
    stop_server
    scripts/pg stop "$pg_dir" || true
    rm -rf "$work"
}
trap cleanup EXIT

# The server's settings for both of its runs. Secrets are fixed so that the
# admin token is known; sign-ups are not limited (one per run anyway).
export MINIFB_ADMIN_TOKEN=explain-admin-token-0123456789abcdefghijkl
export MINIFB_JWT_SECRET=explain-jwt-secret-0123456789abcdefghijklmnop
export MINIFB_SIGNUP_LIMIT=0
export MINIFB_MAIL_OUTBOX="$work/outbox.jsonl"

# Starts the server on a free port against $DATABASE_URL; sets `base`.
start_server() {
    MINIFB_BIND=127.0.0.1:0 RUST_LOG=warn,minifb_server=info MINIFB_LOG_FORMAT=json \
        "$target/debug/minifb-server" >"$work/server.log" 2>&1 &
    server_pid=$!
    local address=
    for _ in $(seq 400); do
        address=$(grep -o '"address":"[^"]*"' "$work/server.log" | head -1 | cut -d'"' -f4 || true)
        [ -n "$address" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.05
    done
    [ -n "$address" ] || { cat "$work/server.log" >&2; echo "the server did not start" >&2; exit 1; }
    base="http://$address"
}

# SIGINT, as Ctrl-C: the server finishes its requests and exits.
stop_server() {
    if [ -n "$server_pid" ]; then
        kill -INT "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}

echo "==> PostgreSQL in $pg_dir; the server migrates it; seeding at scale $SCALE, seed $SEED"
scripts/pg start "$pg_dir" --fast
scripts/pg createdb "$pg_dir" minifb
bindir=$(scripts/pg bindir "$pg_dir")
psql() { "${bindir}psql" "$(scripts/pg url "$pg_dir" postgres)" -X -q -v ON_ERROR_STOP=1 "$@"; }
DATABASE_URL=$(scripts/pg url "$pg_dir" minifb)
export DATABASE_URL
start_server
"$target/debug/minifb-seed" --scale "$SCALE" --seed "$SEED"
stop_server

# The copy must be made with nobody connected to the original. Only the
# original logs its statements; the copy is only read by explain.py.
psql -c "CREATE DATABASE plans TEMPLATE minifb"
psql -c "ALTER DATABASE minifb SET log_statement = 'all'" \
    -c "ALTER DATABASE minifb SET log_parameter_max_length = -1" \
    -c "ALTER SYSTEM SET log_line_prefix = '@@minifb-explain@@ %p %d '" \
    -c "SELECT pg_reload_conf()" >/dev/null

explain() {
    python3 scripts/explain.py "$@" --state "$work/requests.json" \
        --plans-url "$(scripts/pg url "$pg_dir" plans)" --psql "${bindir}psql" \
        --log "$pg_dir/server.log" --database minifb
}
echo "==> serving the seeded database with every statement logged"
start_server
explain drive --base "$base" --admin-token "$MINIFB_ADMIN_TOKEN" --outbox "$MINIFB_MAIL_OUTBOX"
# Stopped, the server has flushed its request statistics and freed its
# stream slots: the log holds everything it sent.
stop_server
explain write --scale "$SCALE" --seed "$SEED" --out "$OUT"
