#!/usr/bin/env bash
# `make bench`: concurrent load on a seeded database (docs/performance.md).
# Builds release binaries, starts a PostgreSQL with pg_stat_statements whose
# data directory ./data/bench-<scale> is kept between runs, starts the
# server, seeds with minifb-seed (or reuses a database seeded at the same
# scale and seed), then scripts/bench.py drives wrk, oha and pgbench and writes
# target/bench/summary.json, and scripts/bench-table.py writes its figures
# into docs/performance.md.
#
#   BENCH_SCALE     data set size, 1 = 100k users and 1M posts (default 1)
#   BENCH_SEED      seed of the data set (default 2026)
#   BENCH_DURATION  seconds per scenario (default 20)
#   BENCH_WARMUP    seconds of warm-up before each scenario (default 5)
#   BENCH_ROUNDS    rounds of feed_first and feed_during_logins, which
#                   alternate and report medians (default 3)
#   BENCH_REPLICA   `off` skips the read scenarios through a streaming
#                   replica (on by default)
#   BENCH_AUTOGROUP `on` leaves the kernel's scheduler autogroups as they
#                   are (by default a root run turns them off for the run)
set -euo pipefail
cd "$(dirname "$0")/.."
SCALE=${BENCH_SCALE:-1}
SEED=${BENCH_SEED:-2026}
target=${CARGO_TARGET_DIR:-target}

if ! command -v wrk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        echo "==> installing wrk"
        apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    else
        echo "make bench needs wrk: sudo apt-get install -y wrk" >&2
        exit 1
    fi
fi
command -v python3 >/dev/null 2>&1 || { echo "make bench needs python3" >&2; exit 1; }

# oha drives the open-loop runs (a fixed arrival rate, latency counted from
# when each request was due). OHA=path picks one; else the copy installed
# once into target/tools/oha, of the version whose JSON bench.py reads.
OHA_VERSION=1.16.0
if [ -z "${OHA:-}" ]; then
    OHA="$target/tools/oha/bin/oha"
    if ! { [ -x "$OHA" ] && "$OHA" --version | grep -q " $OHA_VERSION\$"; }; then
        echo "==> installing oha $OHA_VERSION into $target/tools/oha (once; a few minutes)"
        cargo install oha --version "=$OHA_VERSION" --locked --root "$target/tools/oha" \
            || { echo "could not install oha: cargo install oha --version =$OHA_VERSION --locked --root $target/tools/oha" >&2; exit 1; }
    fi
fi

echo "==> building release binaries"
cargo build --release --bin minifb-server --bin minifb-seed

# Secrets of this run; tokens last the whole run.
export MINIFB_ADMIN_TOKEN=bench-admin-token-0123456789abcdefghijkl
export MINIFB_JWT_SECRET=bench-jwt-secret-0123456789abcdefghijklmnop
export MINIFB_ACCESS_TOKEN_TTL=86400
# The bench signs up its users from one address.
export MINIFB_SIGNUP_LIMIT=0
pg_dir="data/bench-$SCALE"
mkdir -p "$pg_dir"
. scripts/with-server.sh
echo "==> PostgreSQL in $pg_dir (kept between runs), server"
with_server bench release "$pg_dir" --stats

# The kernel's scheduler autogroups (a desktop feature, on by default in
# Debian's kernel) share the CPU equally between terminal sessions, and
# pg_ctl starts PostgreSQL in a session of its own: the server's threads
# would then compete with PostgreSQL's as one group against another, the
# server's many threads sharing what PostgreSQL's few are given. On a
# server machine the processes are peers; the bench makes
# them so for its run (as root) and restores the setting afterwards.
# docs/performance.md has the figures with and without.
autogroup=/proc/sys/kernel/sched_autogroup_enabled
restore_autogroup=
replica_dir= replica_pid=
_bench_cleanup() {
    [ -n "$replica_pid" ] && kill -INT "$replica_pid" 2>/dev/null && wait "$replica_pid" 2>/dev/null
    [ -n "$replica_dir" ] && scripts/pg stop "$replica_dir"
    [ -n "$restore_autogroup" ] && echo 1 >"$autogroup"
    _with_server_cleanup
}
trap _bench_cleanup EXIT
if [ "${BENCH_AUTOGROUP:-off}" = off ] && [ -w "$autogroup" ] && [ "$(cat "$autogroup")" = 1 ]; then
    echo 0 >"$autogroup"
    restore_autogroup=1
fi
bindir=$(scripts/pg bindir "$pg_dir")
"${bindir}psql" "$DATABASE_URL" -X -q -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"

echo "==> seeding at scale $SCALE, seed $SEED (reused when already seeded so)"
"$target/release/minifb-seed" --scale "$SCALE" --seed "$SEED" --reuse

python3 scripts/bench.py \
    --base "$base" --database-url "$DATABASE_URL" --pg-bindir "$bindir" --pg-dir "$pg_dir" \
    --server-pid "$server_pid" --admin-token "$MINIFB_ADMIN_TOKEN" \
    --scale "$SCALE" --seed "$SEED" --out "$target/bench/summary.json" --oha "$OHA"

# The read scenarios again, through a second server that reads from a
# streaming replica of the same database on the same machine (its copy is
# made in the run's work directory and deleted with it).
if [ "${BENCH_REPLICA:-on}" = on ]; then
    replica_dir="$work/replica"
    echo "==> a streaming replica of $pg_dir, and a server that reads from it"
    scripts/pg standby "$replica_dir" "$pg_dir" --stats
    MINIFB_REPLICA_URLS=$(scripts/pg url "$replica_dir" bench) start_minifb release "$work/replica-server.log"
    replica_pid=$started_pid
    python3 scripts/bench.py \
        --base "http://$address" --database-url "$DATABASE_URL" --pg-bindir "$bindir" \
        --pg-dir "$pg_dir" --replica-dir "$replica_dir" --server-pid "$replica_pid" \
        --admin-token "$MINIFB_ADMIN_TOKEN" --scale "$SCALE" --seed "$SEED" \
        --out "$target/bench/summary.json"
fi

# The figures in docs/performance.md are this run's, written from its summary.
python3 scripts/bench-table.py --summary "$target/bench/summary.json"
