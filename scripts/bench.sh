#!/usr/bin/env bash
# `make bench`: page cost against depth, and back-office statistics, at a
# million posts. Starts its own PostgreSQL and a release server, seeds the
# data with SQL, then times requests from a second process.
set -euo pipefail
cd "$(dirname "$0")/.."
POSTS=${BENCH_POSTS:-1000000}
RUNS=${BENCH_RUNS:-200}

cargo build --release --bin minifb-server
export MINIFB_ADMIN_TOKEN=bench-admin-token-0123456789abcdefghijkl
. scripts/with-server.sh
with_server bench release

psql="$(scripts/pg bindir "$pg_dir")psql"
echo "==> seeding $POSTS posts by 1,000 users"
"$psql" "$DATABASE_URL" -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO users (id, password_hash, name)
SELECT 'bench' || n, 'pbkdf2:sha256:1\$x\$00', 'Bench ' || n FROM generate_series(1, 1000) n;
-- A bulk load: the per-row counter trigger is switched off and the
-- counters are then set in one pass, as an operator importing data would.
ALTER TABLE posts DISABLE TRIGGER posts_count;
INSERT INTO posts (owner_id, content, created_at)
SELECT 'bench' || (1 + n % 1000), 'post number ' || n, now() - (($POSTS - n) || ' seconds')::interval
FROM generate_series(1, $POSTS) n;
ALTER TABLE posts ENABLE TRIGGER posts_count;
INSERT INTO service_counters (name, shard, value) SELECT 'posts', 0, count(*) FROM posts
ON CONFLICT (name, shard) DO UPDATE SET value = service_counters.value + EXCLUDED.value;
INSERT INTO post_counts_by_quarter (quarter, shard, posts)
SELECT minifb_quarter(created_at), 0, count(*) FROM posts GROUP BY 1
ON CONFLICT (quarter, shard) DO UPDATE SET posts = post_counts_by_quarter.posts + EXCLUDED.posts;
VACUUM ANALYZE;
SQL

python3 - "$address" "$RUNS" "$MINIFB_ADMIN_TOKEN" <<'PY'
import base64, http.client, statistics, sys, time
address, runs, admin = sys.argv[1], int(sys.argv[2]), sys.argv[3]
host, port = address.rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port))

def cursor(list_tag, key):
    return base64.urlsafe_b64encode(f"v1:{list_tag}:{key}".encode()).decode().rstrip("=")

def timed(path, headers={}):
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95)]

cases = [
    ("GET /posts, page 1", "/posts?limit=20"),
    ("GET /posts, 40,000 pages deep", f"/posts?limit=20&cursor={cursor('posts', 200_000)}"),
    ("GET /posts, near the end", f"/posts?limit=20&cursor={cursor('posts', 25)}"),
    ("GET /users/bench7/timeline, page 1", "/users/bench7/timeline?limit=20"),
    ("GET /users/bench7/timeline, deep", f"/users/bench7/timeline?limit=20&cursor={cursor('timeline:bench7', 5_000)}"),
    ("GET /admin/stats/service", "/admin/stats/service"),
    ("GET /admin/stats/server", "/admin/stats/server"),
]
print(f"{'request':45} {'median ms':>10} {'p95 ms':>10}   ({runs} runs each)")
for name, path in cases:
    headers = {"Authorization": f"Bearer {admin}"} if path.startswith("/admin") else {}
    median, p95 = timed(path, headers)
    print(f"{name:45} {median:10.2f} {p95:10.2f}")
PY
