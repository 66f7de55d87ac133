# Sourced by the scripts that need a throw-away PostgreSQL and a server:
# `with_server NAME PROFILE` makes a work directory, starts PostgreSQL with
# a database NAME in it, starts target/PROFILE/minifb-server on a free port
# (the environment's MINIFB_* settings apply) and sets `work`, `pg_dir`,
# `DATABASE_URL`, `address`, `base` and `server_pid`. Everything is stopped
# and deleted when the calling script exits.
#
# `with_server NAME PROFILE PG_DIR [OPTION...]` uses the PostgreSQL data
# directory PG_DIR instead, started with scripts/pg's OPTIONs, and keeps it
# (stopped) when the script exits: for data worth keeping between runs.

with_server() {
    local name=$1 profile=$2
    work=$(mktemp -d "/tmp/minifb-$name.XXXXXX")
    chmod 755 "$work"  # the postgres user must reach $work/pg
    server_pid=
    trap _with_server_cleanup EXIT
    if [ $# -ge 3 ]; then
        pg_dir=$3
        scripts/pg start "$pg_dir" "${@:4}"
    else
        pg_dir="$work/pg"
        scripts/pg start "$pg_dir" --fast
    fi
    scripts/pg createdb "$pg_dir" "$name"
    DATABASE_URL=$(scripts/pg url "$pg_dir" "$name")
    export DATABASE_URL
    start_minifb "$profile" "$work/server.log"
    server_pid=$started_pid
    base="http://$address"
}

# `start_minifb PROFILE LOG`: target/PROFILE/minifb-server in the
# background on a free port, logging to LOG; sets `started_pid` and, once
# the server has logged it, `address`.
start_minifb() {
    local profile=$1 log=$2
    MINIFB_BIND=127.0.0.1:0 RUST_LOG=warn,minifb_server=info MINIFB_LOG_FORMAT=json \
        "${CARGO_TARGET_DIR:-target}/$profile/minifb-server" >"$log" 2>&1 &
    started_pid=$!
    address=
    for _ in $(seq 400); do
        address=$(grep -o '"address":"[^"]*"' "$log" | head -1 | cut -d'"' -f4 || true)
        [ -n "$address" ] && break
        sleep 0.05
    done
    [ -n "$address" ] || { cat "$log"; echo "the server did not start"; exit 1; }
}

# SIGINT, as Ctrl-C: the server finishes its requests and flushes.
_with_server_cleanup() {
    [ -n "$server_pid" ] && kill -INT "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    scripts/pg stop "$pg_dir" || true
    rm -rf "$work"
}
