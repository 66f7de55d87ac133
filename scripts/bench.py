#!/usr/bin/env python3
"""`make bench`'s driver: concurrent load with wrk against a seeded server.

Run by scripts/bench.sh, which builds, starts PostgreSQL (with
pg_stat_statements) and the server, and seeds. This script logs seeded users
in through the API, finds the deep cursors and busy users in the database,
runs each scenario with wrk (Lua scripts written here, whose done() prints
the latency percentiles as JSON), counts the SQL statements each request
ran from pg_stat_statements, samples the server's peak RSS, runs pgbench
on the statements of one feed request as the database's ceiling, and writes
target/bench/summary.json and a Markdown table. Standard library only.

Environment: BENCH_DURATION (seconds per scenario, 20), BENCH_WARMUP
(seconds, 5), BENCH_CONNECTIONS (32), BENCH_ROUNDS (rounds of the feed
alone and during logins, alternating, 3), BENCH_ONLY (comma-separated scenario
names to run; all when unset). With --replica-dir it runs the read
scenarios through a server that reads from that streaming replica instead,
and adds them to the summary as `replica`.
"""

import argparse
import base64
import concurrent.futures
import glob
import http.client
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

PASSWORD = "minifb bench password"
MARK = "BENCH_JSON "
READ_SCENARIOS = [
    "feed_first", "feed_deep", "timeline_heavy_first", "timeline_heavy_deep",
    "post_detail", "comments_page", "notifications_page", "service_stats",
]

# Printed by every wrk script when the run ends: requests, errors and the
# latency percentiles (wrk measures in microseconds).
LUA_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    "BENCH_JSON ", summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""

# Requests cycle through a list of (method, path, token, body) given as Lua
# tables; each wrk thread starts at its own offset. Each request's bytes are
# formatted once and then reused, so the load generator, which shares the
# CPUs with the server and PostgreSQL, spends little of them per request.
LUA_CYCLE = r"""
local counter = 0
local threads = 0
local formatted = {}
setup = function(thread)
  thread:set("offset", threads * 7919)
  threads = threads + 1
end
local format = function(r)
  local headers = {}
  if r[3] ~= "" then headers["Authorization"] = "Bearer " .. r[3] end
  if r[4] ~= "" then headers["Content-Type"] = "application/json" end
  if r[4] ~= "" then return wrk.format(r[1], r[2], headers, r[4]) end
  return wrk.format(r[1], r[2], headers)
end
request = function()
  counter = counter + 1
  local i = ((offset or 0) + counter) % #requests + 1
  local bytes = formatted[i]
  if not bytes then
    bytes = format(requests[i])
    formatted[i] = bytes
  end
  return bytes
end
"""


def log(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


def lua_string(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def cursor(list_tag, key):
    """The server's cursor format: base64url("v1:<list>:<last id>"), no padding."""
    return base64.urlsafe_b64encode(f"v1:{list_tag}:{key}".encode()).decode().rstrip("=")


class Database:
    def __init__(self, url, psql):
        self.url = url
        self.psql = psql

    def rows(self, sql):
        out = subprocess.run(
            [self.psql, self.url, "-X", "-q", "-tA", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=True, capture_output=True, text=True,
        ).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def value(self, sql):
        rows = self.rows(sql)
        return rows[0][0] if rows else None

    def execute(self, sql):
        self.rows(sql)


class Api:
    def __init__(self, base):
        self.base = base

    def request(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        return urllib.request.urlopen(request, timeout=60)

    def call(self, method, path, body=None, token=None):
        try:
            with self.request(method, path, body, token) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")

    def pool_size(self, admin_token):
        """The server's own database pool size, from its /metrics."""
        with self.request("GET", "/metrics", token=admin_token) as response:
            for line in response.read().decode().splitlines():
                if line.startswith("db_pool_max_size "):
                    return int(float(line.split()[1]))
        return None

    def login(self, user_id):
        for _ in range(20):
            status, body = self.call("POST", "/auth/login", {"id": user_id, "password": PASSWORD})
            if status == 200:
                return body["access_token"]
            if status not in (429, 503):
                raise SystemExit(f"login of {user_id} answered {status}: {body}")
            time.sleep(1)
        raise SystemExit(f"login of {user_id} kept failing")


class Monitor:
    """Watches a scenario run: the server's peak resident set, and how much
    of the machine's CPU went to processes other than this bench's (the
    server, its PostgreSQL, wrk, pgbench and psql), since the machine may
    be shared.

    Peak RSS is VmHWM after resetting it through /proc/PID/clear_refs (root,
    Linux >= 4.0), or else the largest VmRSS seen every 50 ms. CPU comes
    from /proc/stat for the machine, /proc/PID/stat for the server and the
    postmaster's children (sampled, so backends that exit are counted), and
    getrusage for this script's waited-for children (wrk, pgbench, psql)."""

    def __init__(self, server_pid, pg_dir):
        self.pid = server_pid
        self.pg_dir = pg_dir
        self.peak = 0
        self.reset_ok = False
        self.stop = threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")
        self.baseline = {}
        self.last = {}

    def status(self, field):
        try:
            with open(f"/proc/{self.pid}/status") as f:
                for line in f:
                    if line.startswith(field + ":"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def our_processes(self):
        """CPU seconds so far of the server and of each PostgreSQL process."""
        try:
            with open(os.path.join(self.pg_dir, "postmaster.pid")) as f:
                postmaster = f.readline().strip()
        except OSError:
            postmaster = None
        found = {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if entry in (str(self.pid), postmaster) or fields[1] == postmaster:
                found[entry] = (int(fields[11]) + int(fields[12])) / self.tick
        return found

    def machine_busy(self):
        with open("/proc/stat") as f:
            cpu = [int(x) for x in f.readline().split()[1:]]
        # user, nice, system, irq, softirq, steal
        return (cpu[0] + cpu[1] + cpu[2] + cpu[5] + cpu[6] + cpu[7]) / self.tick

    @staticmethod
    def children():
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def __enter__(self):
        try:
            with open(f"/proc/{self.pid}/clear_refs", "w") as f:
                f.write("5")
            self.reset_ok = True
        except OSError:
            self.reset_ok = False
        self.baseline = self.our_processes()
        self.last = dict(self.baseline)
        self.cpu_start = cpu_times(self.pid, self.pg_dir)
        self.started = time.monotonic()
        self.busy_start = self.machine_busy()
        self.children_start = self.children()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        return self

    def run(self):
        n = 0
        while not self.stop.is_set():
            rss = self.status("VmRSS")
            if rss:
                self.peak = max(self.peak, rss)
            if n % 5 == 0:
                self.last.update(self.our_processes())
            n += 1
            time.sleep(0.05)

    def __exit__(self, *_):
        self.stop.set()
        self.thread.join()
        self.last.update(self.our_processes())
        server, db = cpu_times(self.pid, self.pg_dir)
        self.server_cpu = server - self.cpu_start[0]
        self.db_cpu = db - self.cpu_start[1]
        if self.reset_ok:
            hwm = self.status("VmHWM")
            if hwm:
                self.peak = max(self.peak, hwm)
        elapsed = time.monotonic() - self.started
        ours = sum(cpu - self.baseline.get(pid, 0.0) for pid, cpu in self.last.items())
        ours += self.children() - self.children_start
        others = max(0.0, self.machine_busy() - self.busy_start - ours)
        self.others_share = round(others / (elapsed * (os.cpu_count() or 1)), 2)
        self.ours_share = round(ours / (elapsed * (os.cpu_count() or 1)), 2)


class Bench:
    def __init__(self, args):
        self.args = args
        self.db = Database(args.database_url, os.path.join(args.pg_bindir, "psql"))
        self.api = Api(args.base)
        self.duration = int(os.environ.get("BENCH_DURATION", "20"))
        self.warmup = int(os.environ.get("BENCH_WARMUP", str(min(5, max(1, self.duration // 4)))))
        self.connections = int(os.environ.get("BENCH_CONNECTIONS", "32"))
        self.rounds = max(1, int(os.environ.get("BENCH_ROUNDS", "3")))
        self.work = tempfile.mkdtemp(prefix="minifb-bench-")
        self.results = {}
        self.context = {}
        self.writes = None

    # -- preparation -----------------------------------------------------

    def prepare(self):
        db = self.db
        log("finding busy users and deep keys in the database")
        posts = int(db.value("SELECT count(*) FROM posts"))
        heavy, heavy_posts = db.rows(
            "SELECT owner_id, count(*) FROM posts GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")[0]
        notified, notified_count = db.rows(
            "SELECT user_id, count(*) FROM notifications GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")[0]
        heavy_posts, notified_count = int(heavy_posts), int(notified_count)
        # A cursor holds the last id served; the page after the n-th post
        # starts at post n + 1. Small data sets cannot go as deep.
        feed_depth = max(0, min(90_000, posts - 40))
        timeline_depth = max(0, min(10_000, heavy_posts - 40))
        feed_key = db.value(f"SELECT id FROM posts ORDER BY id DESC OFFSET {max(feed_depth - 1, 0)} LIMIT 1")
        timeline_key = db.value(
            f"SELECT id FROM posts WHERE owner_id = {sql_literal(heavy)} ORDER BY id DESC "
            f"OFFSET {max(timeline_depth - 1, 0)} LIMIT 1")
        # Samples ordered by a hash rather than random(): the same data set
        # gives the same requests.
        sample_posts = [r[0] for r in db.rows("SELECT id FROM posts ORDER BY md5(id::text) LIMIT 2000")]
        # Posts whose first page is full (20 comments and one more), and
        # none of those write_mix comments on: comments go to the end of a
        # post's list, so the pages read stay the same from run to run on a
        # reused database (with short pages, earlier runs' comments made
        # them longer, and slower, run after run).
        commented = [r[0] for r in db.rows(
            "SELECT id FROM posts WHERE comment_count >= 21 AND id NOT IN (%s) "
            "ORDER BY md5(id::text) LIMIT 1000" % ", ".join(str(p) for p in sample_posts))] or sample_posts
        users = [r[0] for r in db.rows(
            "SELECT id FROM users WHERE lower(id) NOT IN (lower(%s), lower(%s)) ORDER BY md5(id) LIMIT 48"
            % (sql_literal(heavy), sql_literal(notified)))]
        self.context.update({
            "posts": posts,
            "users": int(db.value("SELECT count(*) FROM users")),
            "comments": int(db.value("SELECT count(*) FROM comments")),
            "post_reactions": int(db.value("SELECT count(*) FROM post_reactions")),
            "notifications": int(db.value("SELECT count(*) FROM notifications")),
            "feed_deep_depth": feed_depth,
            "timeline_user": heavy,
            "timeline_user_posts": heavy_posts,
            "timeline_deep_depth": timeline_depth,
            "notifications_user": notified,
            "notifications_user_count": notified_count,
            "notifications_user_unread": int(db.value(
                f"SELECT count(*) FROM notifications WHERE user_id = {sql_literal(notified)} AND NOT read")),
        })
        if notified_count < 10_000:
            log(f"note: the most notified user has only {notified_count} notifications at this scale")

        log(f"logging in {len(users) + 1} seeded users through POST /auth/login")
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            tokens = list(pool.map(self.api.login, [notified] + users))
        notified_token, viewer_tokens = tokens[0], tokens[1:]
        self.viewers = viewer_tokens[:16]
        self.writers = list(zip(users[16:48], viewer_tokens[16:48]))
        self.login_ids = users[:8]

        self.paths = {
            "feed_first": ["/posts?limit=20"],
            "feed_deep": [f"/posts?limit=20&cursor={cursor('posts', feed_key)}"],
            "timeline_heavy_first": [f"/users/{heavy}/timeline?limit=20"],
            "timeline_heavy_deep": [
                f"/users/{heavy}/timeline?limit=20&cursor={cursor('timeline:' + heavy.lower(), timeline_key)}"],
            "post_detail": [f"/posts/{p}" for p in sample_posts],
            "comments_page": [f"/posts/{p}/comments?limit=20" for p in commented],
        }
        self.notified_token = notified_token
        self.sample_posts = sample_posts
        for name, paths in self.paths.items():
            status, body = self.api.call("GET", paths[0], token=self.viewers[0])
            if status != 200:
                raise SystemExit(f"{name}: GET {paths[0]} answered {status}: {body}")
        status, body = self.api.call("GET", "/me/notifications?limit=20", token=notified_token)
        if status != 200:
            raise SystemExit(f"notifications: {status}: {body}")

    # -- running ---------------------------------------------------------

    def lua(self, name, requests):
        """A wrk script cycling through `requests` (method, path, token, body)."""
        lines = ["requests = {"]
        for method, path, token, body in requests:
            lines.append("  {%s, %s, %s, %s}," % (
                lua_string(method), lua_string(path), lua_string(token or ""), lua_string(body or "")))
        lines.append("}")
        path = os.path.join(self.work, f"{name}.lua")
        with open(path, "w") as f:
            f.write("\n".join(lines) + LUA_CYCLE + LUA_DONE)
        return path

    def wrk(self, script, duration, connections, threads=2):
        command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout", "10s",
                   "-s", script, self.args.base]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    @staticmethod
    def wrk_result(process):
        out, _ = process.communicate()
        for line in out.splitlines():
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        raise SystemExit(f"wrk printed no result:\n{out}")

    def reset_statements(self):
        self.db.execute("SELECT pg_stat_statements_reset()")

    def statements(self):
        """Calls of the server's statements since the reset (utility
        statements are not tracked; the bench's own queries are left out)."""
        value = self.db.value(
            "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND query NOT ILIKE '%pg_stat_statements%'")
        return int(value)

    def wanted(self, name):
        """Whether BENCH_ONLY (comma-separated names; all when unset) asks
        for the scenario."""
        only = os.environ.get("BENCH_ONLY")
        return not only or name in only.split(",")

    def scenario(self, name, requests, extra=None):
        if not self.wanted(name):
            return
        script = self.lua(name, requests)
        log(f"{name}: warm-up {self.warmup} s, then {self.duration} s at {self.connections} connections")
        self.wrk_result(self.wrk(script, self.warmup, self.connections))
        self.reset_statements()
        with Monitor(self.args.server_pid, self.args.pg_dir) as monitor:
            main = self.wrk(script, self.duration, self.connections)
            side = extra(self) if extra else None
            result = self.wrk_result(main)
            side_result = self.wrk_result(side) if side else None
        calls = self.statements()
        requests_done = result["requests"] + (side_result["requests"] if side_result else 0)
        row = summarise(name, result, calls, requests_done, monitor.peak)
        row["cpu_bench"] = monitor.ours_share
        row["cpu_others"] = monitor.others_share
        row.update(cpu_per_request(monitor, requests_done))
        self.context["rss_method"] = (
            "VmHWM, reset through /proc/PID/clear_refs before each scenario" if monitor.reset_ok
            else "largest VmRSS sampled every 50 ms")
        if side_result:
            row["logins_rps"] = round(side_result["requests"] / (side_result["duration_us"] / 1e6), 1)
            row["login_p50_ms"] = round(side_result["p50_us"] / 1000, 2)
            row["login_p99_ms"] = round(side_result["p99_us"] / 1000, 2)
            row["login_errors"] = error_count(side_result)
        self.record(name, row)
        log(f"{name}: {row['rps']} rps, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, "
            f"{row['errors']} errors, {row['statements_per_request']} statements/request, "
            f"CPU {row['cpu_bench']:.0%} bench, {row['cpu_others']:.0%} others")

    def record(self, name, row):
        """Keeps a scenario's row; a scenario run in several rounds reports
        the median of each figure, with every round's row under `rounds`."""
        previous = self.results.get(name)
        if previous is None:
            self.results[name] = row
            return
        rounds = previous.pop("rounds", [previous]) + [row]
        merged = dict(row)
        for key, value in row.items():
            values = [r[key] for r in rounds if isinstance(r.get(key), (int, float))]
            if isinstance(value, (int, float)) and len(values) == len(rounds):
                merged[key] = median(values)
        merged["errors"] = sum(r["errors"] for r in rounds)
        merged["rounds"] = rounds
        self.results[name] = merged

    def logins(self):
        """Logins without pause on as many connections as CPUs: as many as
        the hashing threads and their admission queue hold, so that they
        keep the threads busy and none spins on instant refusals."""
        requests = [("POST", "/auth/login", "", json.dumps({"id": i, "password": PASSWORD}))
                    for i in self.login_ids]
        return self.wrk(self.lua("logins", requests), self.duration, os.cpu_count() or 1, threads=1)

    def write_requests(self):
        requests = []
        for n in range(4000):
            user, token = self.writers[n % len(self.writers)]
            post = self.sample_posts[(n * 7919) % len(self.sample_posts)]
            if n % 2 == 0:
                body = json.dumps({"content": f"벤치 댓글 {n}: load test comment"}, ensure_ascii=False)
                requests.append(("POST", f"/posts/{post}/comments", token, body))
            else:
                requests.append(("PUT", f"/posts/{post}/reaction", token, json.dumps({"type": 1 + n % 5})))
        return requests

    def run(self):
        viewers = self.viewers
        get = lambda paths: [("GET", p, viewers[i % len(viewers)], None) for i, p in enumerate(
            paths * max(1, len(viewers) // len(paths)))]
        # The feed alone and the feed during a login storm alternate, in
        # BENCH_ROUNDS rounds (3), and report medians: their p99s are
        # compared, and one 20 s run's p99 varies by half on this kind of
        # machine.
        feed = get(self.paths["feed_first"])
        self.db_statements = self.capture_feed_statements()
        for _ in range(self.rounds):
            self.scenario("feed_first", feed)
            self.scenario("feed_during_logins", feed, extra=Bench.logins)
        self.scenario("feed_deep", get(self.paths["feed_deep"]))
        self.scenario("timeline_heavy_first", get(self.paths["timeline_heavy_first"]))
        self.scenario("timeline_heavy_deep", get(self.paths["timeline_heavy_deep"]))
        self.scenario("post_detail", get(self.paths["post_detail"]))
        self.scenario("comments_page", get(self.paths["comments_page"]))
        self.scenario("notifications_page",
                      [("GET", "/me/notifications?limit=20", self.notified_token, None)])
        self.scenario("write_mix", self.write_requests())
        if self.wanted("writes"):
            self.writes = WriteRoutes(self).run()
        self.scenario("service_stats",
                      [("GET", "/admin/stats/service", self.args.admin_token, None)])
        # Last of the server's runs: its hundreds of open-loop connections
        # leave memory to the allocator that the peak RSS of a later
        # scenario would count.
        self.open_loop()
        self.db_ceiling()

    # -- a streaming replica ---------------------------------------------

    def reads_by_target(self):
        """The server's `db_reads_total`, by target, from its /metrics."""
        with self.api.request("GET", "/metrics", token=self.args.admin_token) as response:
            text = response.read().decode()
        reads = {"primary": 0, "replica": 0}
        for match in re.finditer(r'^db_reads_total\{target="(\w+)"\} (\S+)$', text, re.M):
            reads[match.group(1)] = int(float(match.group(2)))
        return reads

    def replica_run(self):
        """The read scenarios through a server that reads from one streaming
        replica (`--replica-dir`) of the bench's database, by users who have
        not written: where each read went, the primary's statements per
        request (pg_stat_statements of the primary: the reads that stayed
        there, and the shared `SELECT 1` that a signed-in reader's read
        waits for), and the CPU each database spent per request."""
        viewers = self.viewers
        signed_in = lambda paths: [("GET", p, viewers[i % len(viewers)], None) for i, p in enumerate(
            paths * max(1, len(viewers) // len(paths)))]
        cases = [
            ("feed_first_anonymous", [("GET", p, None, None) for p in self.paths["feed_first"]]),
            ("feed_first", signed_in(self.paths["feed_first"])),
            ("timeline_heavy_first", signed_in(self.paths["timeline_heavy_first"])),
            ("post_detail", signed_in(self.paths["post_detail"])),
            ("comments_page", signed_in(self.paths["comments_page"])),
            ("notifications_page", [("GET", "/me/notifications?limit=20", self.notified_token, None)]),
        ]
        rows = []
        for name, requests in cases:
            if not self.wanted(name):
                continue
            script = self.lua(f"replica_{name}", requests)
            log(f"replica {name}: warm-up {self.warmup} s, then {self.duration} s")
            self.wrk_result(self.wrk(script, self.warmup, self.connections))
            self.reset_statements()
            reads_before = self.reads_by_target()
            replica_before = cpu_times(self.args.server_pid, self.args.replica_dir)[1]
            with Monitor(self.args.server_pid, self.args.pg_dir) as monitor:
                result = self.wrk_result(self.wrk(script, self.duration, self.connections))
            replica_cpu = cpu_times(self.args.server_pid, self.args.replica_dir)[1] - replica_before
            reads = {target: n - reads_before.get(target, 0) for target, n in self.reads_by_target().items()}
            done = result["requests"]
            row = summarise(name, result, self.statements(), done, monitor.peak)
            row["primary_statements_per_request"] = row.pop("statements_per_request")
            row["reads_primary"], row["reads_replica"] = reads["primary"], reads["replica"]
            row["replica_share"] = round(reads["replica"] / max(1, sum(reads.values())), 3)
            row["server_cpu_us"] = round(monitor.server_cpu / done * 1e6, 1) if done else None
            row["primary_cpu_us"] = round(monitor.db_cpu / done * 1e6, 1) if done else None
            row["replica_cpu_us"] = round(replica_cpu / done * 1e6, 1) if done else None
            rows.append(row)
            log(f"replica {name}: {row['rps']} rps, p99 {row['p99_ms']} ms, {row['replica_share']:.1%} "
                f"from the replica, {row['primary_statements_per_request']} primary statements/request")
        return {"scenarios": rows, "measured_at": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())}

    # -- open loop -------------------------------------------------------

    def oha(self, path, duration, connections, rate=None, headers=(), bodies=None):
        """oha against `path` for `duration` s: at `rate` requests a second
        with latency correction (each latency counts from when its request
        was due, so a stall is charged to every request it delays), or
        closed loop when `rate` is None. `bodies` are POSTed as JSON, one
        after another. Requests still running at the end are waited for,
        not counted as errors."""
        command = [self.args.oha, "-z", f"{duration}s", "-c", str(connections), "--no-tui",
                   "--output-format", "json", "--stats-success-breakdown",
                   "--wait-ongoing-requests-after-deadline"]
        if rate is not None:
            command += ["-q", str(rate), "--latency-correction"]
        for header in headers:
            command += ["-H", header]
        if bodies is not None:
            lines = os.path.join(self.work, "login-bodies.txt")
            with open(lines, "w") as f:
                f.write("\n".join(bodies) + "\n")
            command += ["-m", "POST", "-T", "application/json", "-Z", lines]
        return subprocess.Popen(command + [self.args.base + path], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    @staticmethod
    def oha_result(process):
        out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"oha failed ({process.returncode}):\n{err}")
        return json.loads(out)

    def login_bodies(self):
        return [json.dumps({"id": i, "password": PASSWORD}) for i in self.login_ids]

    def open_loop(self):
        """The feed at half its closed-loop capacity C (feed_first's rps),
        open loop: alone, then while logins arrive open loop at twice the
        rate the hashing threads serve (measured closed loop in between,
        with as many connections as CPUs: as many as hash and may wait, so
        none is refused)."""
        if not self.wanted("open_loop"):
            return
        capacity = self.results.get("feed_first", {}).get("rps")
        if not capacity:
            log("open_loop: needs feed_first's capacity; skipped")
            return
        rate = max(1, round(capacity / 2))
        # Enough connections that 100 ms answers still keep up with the rate.
        connections = min(1000, max(16, -(-rate // 10)))
        feed = (self.paths["feed_first"][0], [f"Authorization: Bearer {self.viewers[0]}"])
        log(f"open_loop: feed at {rate}/s (half of {capacity}), {connections} connections, "
            f"warm-up {self.warmup} s, then {self.duration} s alone")
        self.oha_result(self.oha(feed[0], self.warmup, connections, rate, feed[1]))
        with Monitor(self.args.server_pid, self.args.pg_dir) as monitor:
            alone = open_loop_figures(self.oha_result(self.oha(feed[0], self.duration, connections, rate, feed[1])),
                                      self.duration)
        alone.update(cpu_per_request(monitor, alone["requests"]))

        cpus = os.cpu_count() or 1
        log(f"open_loop: login capacity, closed loop, {cpus} connections, {self.duration} s")
        closed = login_figures(self.oha_result(self.oha("/auth/login", self.duration, cpus,
                                                        bodies=self.login_bodies())), self.duration)
        login_rate = round(2 * closed["served_per_s"], 2)
        if login_rate <= 0:
            raise SystemExit(f"open_loop: no login succeeded in the closed loop: {closed}")

        log(f"open_loop: feed at {rate}/s while logins arrive at {login_rate}/s, {self.duration} s")
        with Monitor(self.args.server_pid, self.args.pg_dir) as monitor:
            main = self.oha(feed[0], self.duration, connections, rate, feed[1])
            side = self.oha("/auth/login", self.duration, max(8, -(-int(login_rate) // 2)), login_rate,
                            bodies=self.login_bodies())
            flood_feed = open_loop_figures(self.oha_result(main), self.duration)
            flood_logins = login_figures(self.oha_result(side), self.duration)
        flood_feed.update(cpu_per_request(monitor, flood_feed["requests"] + flood_logins["requests"]))
        self.open_loop_results = {
            "feed_capacity_rps": capacity, "feed_rate_per_s": rate, "connections": connections,
            "alone": alone, "login_capacity": closed, "login_rate_per_s": login_rate,
            "flood": {"feed": flood_feed, "logins": flood_logins},
        }
        log(f"open_loop: feed p50/p99/p99.9 alone {alone['p50_ms']}/{alone['p99_ms']}/{alone['p99_9_ms']} ms, "
            f"with logins {flood_feed['p50_ms']}/{flood_feed['p99_ms']}/{flood_feed['p99_9_ms']} ms; "
            f"logins served {flood_logins['served_per_s']}/s of {login_rate}/s offered "
            f"(capacity {closed['served_per_s']}/s), {flood_logins['refused_share']:.0%} refused, "
            f"refusal p99 {flood_logins['refusal_p99_ms']} ms")

    # -- the database's ceiling ------------------------------------------

    def capture_feed_statements(self):
        """The statements (with their parameters) that one feed_first request
        runs, read from PostgreSQL's log while statement logging is on for
        a moment: pg_stat_statements has their shapes but not their values."""
        log_file = os.path.join(self.args.pg_dir, "server.log")
        start = os.path.getsize(log_file)
        self.db.execute("ALTER SYSTEM SET log_min_duration_statement = 0")
        self.db.execute("SELECT pg_reload_conf()")
        time.sleep(0.5)
        status, body = self.api.call("GET", self.paths["feed_first"][0], token=self.viewers[0])
        time.sleep(0.5)
        self.db.execute("ALTER SYSTEM RESET log_min_duration_statement")
        self.db.execute("SELECT pg_reload_conf()")
        if status != 200:
            raise SystemExit(f"feed request answered {status}: {body}")
        with open(log_file, encoding="utf-8", errors="replace") as f:
            f.seek(start)
            text = f.read()
        return parse_logged_statements(text)

    def db_ceiling(self):
        if not self.wanted("db_ceiling"):
            return
        statements = self.db_statements
        if not statements:
            log("db_ceiling: no statement of the feed request was found in the log; skipped")
            self.results["db_ceiling"] = {"name": "db_ceiling", "rps": None, "p50_ms": None, "p99_ms": None,
                                          "errors": None, "statements_per_request": None, "rss_peak_kib": None}
            return
        script_lines, defines = [], []
        for i, (sql, params) in enumerate(statements):
            def placeholder(match, i=i):
                return f":s{i}p{match.group(1)}"
            script_lines.append(re.sub(r"\$(\d+)", placeholder, sql) + ";")
            for n, value in params.items():
                defines += ["-D", f"s{i}p{n}={value}"]
        script = os.path.join(self.work, "feed_first.sql")
        with open(script, "w") as f:
            f.write("\n".join(script_lines) + "\n")
        self.context["db_ceiling_script"] = "\n".join(script_lines)
        log(f"db_ceiling: pgbench, {self.duration} s at {self.connections} clients, "
            f"{len(statements)} statement(s) per transaction")
        log_prefix = os.path.join(self.work, "pgbench")
        pgbench = os.path.join(self.args.pg_bindir, "pgbench")
        base = [pgbench, "-n", "-M", "prepared", "-c", str(self.connections), "-j", "2", "-f", script] + defines
        subprocess.run(base + ["-T", str(self.warmup), self.args.database_url],
                       check=True, capture_output=True, text=True)
        self.reset_statements()
        with Monitor(self.args.server_pid, self.args.pg_dir) as monitor:
            run = subprocess.run(base + ["-T", str(self.duration), "-l", f"--log-prefix={log_prefix}",
                                         self.args.database_url],
                                 capture_output=True, text=True)
        if run.returncode != 0:
            raise SystemExit(f"pgbench failed:\n{run.stdout}\n{run.stderr}")
        calls = self.statements()
        tps = float(re.search(r"tps = ([\d.]+) \(without initial connection time\)", run.stdout).group(1))
        transactions = int(re.search(r"number of transactions actually processed: (\d+)", run.stdout).group(1))
        failed = re.search(r"number of failed transactions: (\d+)", run.stdout)
        latencies = []
        for path in glob.glob(log_prefix + ".*"):
            with open(path) as f:
                latencies += [int(line.split()[2]) for line in f if line.strip()]
        latencies.sort()
        self.results["db_ceiling"] = {
            "name": "db_ceiling",
            "rps": round(tps, 1),
            "p50_ms": round(percentile(latencies, 50) / 1000, 2),
            "p99_ms": round(percentile(latencies, 99) / 1000, 2),
            "errors": int(failed.group(1)) if failed else 0,
            "statements_per_request": round(calls / transactions, 2) if transactions else None,
            "rss_peak_kib": None,
            "cpu_bench": monitor.ours_share,
            "cpu_others": monitor.others_share,
            **cpu_per_request(monitor, transactions),
        }
        row = self.results["db_ceiling"]
        log(f"db_ceiling: {row['rps']} tps, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms")

    # -- report ----------------------------------------------------------

    def summary(self):
        r = self.results
        ratio = lambda a, b: round(a / b, 2) if a is not None and b else None
        p50 = lambda name: r.get(name, {}).get("p50_ms")
        p99 = lambda name: r.get(name, {}).get("p99_ms")
        rps = lambda name: r.get(name, {}).get("rps")
        reads = [r[n] for n in READ_SCENARIOS if n in r]
        ratios = {
            "feed_deep_over_first_p50": ratio(p50("feed_deep"), p50("feed_first")),
            "timeline_deep_over_first_p50": ratio(p50("timeline_heavy_deep"), p50("timeline_heavy_first")),
            "notifications_over_feed_p50": ratio(p50("notifications_page"), p50("feed_first")),
            "feed_p99_logins_over_alone": ratio(p99("feed_during_logins"), p99("feed_first")),
            "feed_rps_over_db_ceiling": ratio(rps("feed_first"), rps("db_ceiling")),
            "max_p99_over_p50_reads": max((ratio(x["p99_ms"], x["p50_ms"]) for x in reads), default=None),
            "service_stats_over_feed_p50": ratio(p50("service_stats"), p50("feed_first")),
            "statements_per_read_request": max((x["statements_per_request"] for x in reads), default=None),
        }
        ratios.update(open_loop_ratios(getattr(self, "open_loop_results", None)))
        ratios["server_cpu_over_db_cpu_feed"] = r.get("feed_first", {}).get("server_over_db_cpu")
        order = ["feed_first", "feed_deep", "timeline_heavy_first", "timeline_heavy_deep", "post_detail",
                 "comments_page", "notifications_page", "write_mix", "feed_during_logins", "service_stats",
                 "db_ceiling"]
        return {
            "scenarios": [r[n] for n in order if n in r],
            "open_loop": getattr(self, "open_loop_results", None),
            "ratios": ratios,
            "writes": getattr(self, "writes", None),
            "context": dict(self.context, duration_s=self.duration, warmup_s=self.warmup,
                            connections=self.connections, scale=self.args.scale, seed=self.args.seed,
                            sched_autogroup=read_autogroup(),
                            db_pool_size=self.api.pool_size(self.args.admin_token),
                            commit=git_commit(),
                            measured_at=time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())),
        }


def open_loop_ratios(open_loop):
    """The open loop's targets: the feed's p99 during the login flood over
    its p99 alone, how fast refusals come, and errors besides refusals."""
    if not open_loop:
        return {"feed_p99_open_loop_flood_over_alone": None, "login_refusal_p99_ms": None,
                "open_loop_errors": None}
    alone, feed, logins = open_loop["alone"], open_loop["flood"]["feed"], open_loop["flood"]["logins"]
    p99s = alone["p99_ms"], feed["p99_ms"]
    return {
        "feed_p99_open_loop_flood_over_alone": round(p99s[1] / p99s[0], 2) if all(p99s) else None,
        "login_refusal_p99_ms": logins["refusal_p99_ms"],
        "open_loop_errors": alone["errors"] + feed["errors"] + logins["other_errors"],
    }


def git_commit():
    """The commit measured, `-dirty` when tracked files differ from it (None
    outside a git work tree)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("-dirty" if changed else "")


def read_autogroup():
    """Whether the kernel's scheduler autogroups were on during the run
    (None where the setting does not exist)."""
    try:
        with open("/proc/sys/kernel/sched_autogroup_enabled") as f:
            return f.read().strip() == "1"
    except OSError:
        return None


def proc_stat(pid):
    """The fields of /proc/PID/stat after "(comm)" (state, ppid, ...,
    utime is [11], stime [12], cutime [13], cstime [14]); None once gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def process_tree_ticks(parent, stat=proc_stat, pids=None):
    """Clock ticks (user + system) of `parent`, of its live children, and,
    through its cutime/cstime, of every child it has reaped, so that a
    child that exits is counted once, whole. A child reaped while the
    children are read would be counted in neither place (or, read the other
    way round, in both): the parent is read again after them, and the
    whole sample taken anew until no child was reaped meanwhile (at most
    ten times: a parent reaping without pause keeps the last sample). None
    when `parent` is gone."""
    pids = pids or (lambda: [entry for entry in os.listdir("/proc") if entry.isdigit()])
    for _ in range(10):
        before = stat(parent)
        if not before:
            return None
        ticks = sum(int(x) for x in before[11:15])
        for pid in pids():
            fields = stat(pid)
            if fields and fields[1] == parent:
                ticks += int(fields[11]) + int(fields[12])
        after = stat(parent)
        if not after:
            return None
        if after[13:15] == before[13:15]:
            break
    return ticks


def cpu_times(server_pid, pg_dir):
    """CPU seconds (user + system) so far of the server process (all its
    threads) and of PostgreSQL: the postmaster and its children, reaped
    ones included (`process_tree_ticks`)."""
    tick = os.sysconf("SC_CLK_TCK")
    server = proc_stat(server_pid)
    server_s = (int(server[11]) + int(server[12])) / tick if server else 0.0
    try:
        with open(os.path.join(pg_dir, "postmaster.pid")) as f:
            postmaster = f.readline().strip()
    except OSError:
        return server_s, 0.0
    ticks = process_tree_ticks(postmaster)
    return server_s, (ticks or 0) / tick


def cpu_per_request(monitor, requests):
    """µs of server and of PostgreSQL CPU per request over a monitored run,
    and their ratio (the clock tick is 10 ms: runs of a few seconds are
    coarse)."""
    if not requests:
        return {"server_cpu_us": None, "db_cpu_us": None, "server_over_db_cpu": None}
    server = monitor.server_cpu / requests * 1e6
    db = monitor.db_cpu / requests * 1e6
    return {"server_cpu_us": round(server, 1), "db_cpu_us": round(db, 1),
            "server_over_db_cpu": round(server / db, 2) if db else None}


def oha_counts(result):
    """(answers by status, transport errors, all requests) of an oha run."""
    statuses = {int(k): v for k, v in result.get("statusCodeDistribution", {}).items()}
    errors = sum(result.get("errorDistribution", {}).values())
    return statuses, errors, sum(statuses.values()) + errors


def ms(seconds):
    """oha's seconds in ms; None where it had nothing to measure."""
    return round(seconds * 1000, 2) if isinstance(seconds, (int, float)) else None


def open_loop_figures(result, seconds=None):
    """An open-loop run's throughput over `seconds` (the run's sending time;
    oha's own total also holds the wait for the last answers), latency
    percentiles (from when each request was due) and errors (anything but
    a 2xx answer)."""
    statuses, errors, requests = oha_counts(result)
    latency = result.get("latencyPercentiles", {})
    ok = sum(n for status, n in statuses.items() if 200 <= status < 300)
    seconds = seconds or result["summary"]["total"]
    return {"requests": requests, "rps": round(requests / seconds, 1),
            "p50_ms": ms(latency.get("p50")), "p99_ms": ms(latency.get("p99")),
            "p99_9_ms": ms(latency.get("p99.9")), "max_ms": ms(result["summary"].get("slowest")),
            "errors": requests - ok, "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def login_figures(result, seconds=None):
    """Logins served (200) a second over `seconds` (as above), the share
    refused (503), how fast a refusal came (oha's percentiles of the answers
    that are not 2xx, which are the 503s when `other_errors` is 0), and any
    other error."""
    statuses, errors, requests = oha_counts(result)
    seconds = seconds or result["summary"]["total"]
    served, refused = statuses.get(200, 0), statuses.get(503, 0)
    served_latency = result.get("latencyPercentilesSuccessful") or {}
    refused_latency = result.get("latencyPercentilesNotSuccessful") or {}
    return {"requests": requests, "offered_per_s": round(requests / seconds, 2),
            "served_per_s": round(served / seconds, 2),
            "refused_share": round(refused / requests, 3) if requests else None,
            "served_p50_ms": ms(served_latency.get("p50")), "served_p99_ms": ms(served_latency.get("p99")),
            "refusal_p50_ms": ms(refused_latency.get("p50")) if refused else None,
            "refusal_p99_ms": ms(refused_latency.get("p99")) if refused else None,
            "other_errors": requests - served - refused,
            "statuses": {str(k): v for k, v in sorted(statuses.items())}}


def sql_literal(value):
    return "'" + value.replace("'", "''") + "'"


def error_count(result):
    return sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))


def summarise(name, result, calls, requests_done, rss_peak):
    seconds = result["duration_us"] / 1e6
    return {
        "name": name,
        "rps": round(result["requests"] / seconds, 1),
        "p50_ms": round(result["p50_us"] / 1000, 2),
        "p99_ms": round(result["p99_us"] / 1000, 2),
        "p90_ms": round(result["p90_us"] / 1000, 2),
        "max_ms": round(result["max_us"] / 1000, 2),
        "errors": error_count(result),
        "statements_per_request": round(calls / requests_done, 2) if requests_done else None,
        "rss_peak_kib": rss_peak or None,
    }


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    value = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return round(value, 2)


def percentile(sorted_values, p):
    if not sorted_values:
        return 0
    index = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


# Tables only the server's background work writes.
# What the server's background tasks write: the flush of request counts
# and latency buckets, the leases of live-notification streams.
BACKGROUND_TABLES = ("request_counts", "request_latency_counts", "notification_streams")


def parse_logged_statements(text):
    """(sql, {n: value}) for each statement executed through the extended
    protocol in a PostgreSQL log excerpt, in order, from the one backend
    that served the request: statements are grouped by backend pid, and
    the server's background work, which may run on the same pooled
    connection just before or after (the flush of request counts, the
    lease of live-notification streams), is left out."""
    by_backend = {}
    lines = text.splitlines()
    i = 0
    execute = re.compile(r"\[(\d+)\].*LOG:\s+duration: [\d.]+ ms\s+execute [^:]*: (.*)$")
    while i < len(lines):
        match = execute.search(lines[i])
        i += 1
        if not match:
            continue
        pid, sql = match.group(1), match.group(2)
        while i < len(lines) and lines[i].startswith(("\t", " ")):
            sql += "\n" + lines[i].strip()
            i += 1
        params = {}
        if i < len(lines) and "DETAIL:  parameters:" in lines[i]:
            for n, value in re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", lines[i]):
                params[n] = value[1:-1].replace("''", "'") if value != "NULL" else ""
            i += 1
        if not any(table in sql for table in BACKGROUND_TABLES):
            by_backend.setdefault(pid, []).append((sql, params))
    return max(by_backend.values(), key=len, default=[])


# -- writes, route by route ---------------------------------------------------

# Round trips (statements besides BEGIN/COMMIT) each write route may take:
# two, but for keyed creates, which also take the key and store the answer
# rendered from what they created.
WRITE_TARGETS = {"post_create_keyed": 3, "comment_create_keyed": 3}
WRITE_TARGET = 2


class WriteRoutes:
    """The `writes` section of the summary: each write route run on its own,
    BENCH_WRITE_REQUESTS (1000) times from 8 kept-alive connections, after
    20 more as a warm-up, with per request: the statements PostgreSQL ran
    (pg_stat_statements, which the bench's PostgreSQL runs without tracking
    utility statements: BEGIN and COMMIT are not among them, so they are
    the round trips besides those, `round_trips`, held to the target), and
    PostgreSQL's CPU time (its processes' /proc counters, the server's
    background work included). Targets (fresh rows created through the API beforehand) and
    requests are built so that every request gets its route's success."""

    THREADS = 8

    def __init__(self, bench):
        self.bench = bench
        self.db = bench.db
        self.n = int(os.environ.get("BENCH_WRITE_REQUESTS", "1000"))
        url = urllib.parse.urlsplit(bench.args.base)
        self.host, self.port = url.hostname, url.port
        self.local = threading.local()
        self.writers = bench.writers
        self.posts = bench.sample_posts
        self.rows = {}

    def send(self, request):
        """(status, parsed body) of (method, path, token, body, headers)."""
        method, path, token, body, headers = request
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        head = dict(headers or {})
        if token:
            head["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            head["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=head)
            response = conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.local.conn = None
            conn.close()
            return None, None
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        return response.status, parsed

    def send_all(self, requests):
        with concurrent.futures.ThreadPoolExecutor(max_workers=self.THREADS) as pool:
            return list(pool.map(self.send, requests))

    def made(self, requests, status):
        """Sends set-up requests, which must all answer `status`; their bodies."""
        replies = self.send_all(requests)
        wrong = [(r, s) for r, (s, _) in zip(requests, replies) if s != status]
        if wrong:
            raise SystemExit(f"writes: set-up {wrong[0][0][0]} {wrong[0][0][1]} answered {wrong[0][1]}")
        return [body for _, body in replies]

    def statement_calls(self):
        """Calls of the server's statements since the last reset, those of
        its background work (on BACKGROUND_TABLES) left out."""
        rows = self.db.rows(
            "SELECT query, calls FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND query NOT ILIKE '%pg_stat_statements%'")
        return sum(int(calls) for query, calls in rows
                   if not any(table in query for table in BACKGROUND_TABLES))

    def measure(self, route, requests, status):
        """Runs `requests` (all of `route`, expected to answer `status`),
        the first few as a warm-up; returns the bodies of all, in order."""
        warm, requests = requests[:20], requests[20:]
        warmed = self.send_all(warm)
        self.db.execute("SELECT pg_stat_statements_reset()")
        cpu_before = cpu_times(self.bench.args.server_pid, self.bench.args.pg_dir)[1]
        started = time.monotonic()
        replies = self.send_all(requests)
        elapsed = time.monotonic() - started
        cpu_after = cpu_times(self.bench.args.server_pid, self.bench.args.pg_dir)[1]
        calls = self.statement_calls()
        done = len(requests)
        target = WRITE_TARGETS.get(route, WRITE_TARGET)
        round_trips = round(calls / done, 2) if done else None
        row = {
            "requests": done,
            "errors": sum(1 for s, _ in replies if s != status),
            "rps": round(done / elapsed, 1) if elapsed else None,
            "statements": round_trips,
            "round_trips": round_trips,
            "pg_cpu_us": (round((cpu_after - cpu_before) / done * 1e6)
                          if done and cpu_before is not None and cpu_after is not None else None),
            "target": target,
            "holds": round_trips is not None and round_trips <= target,
        }
        self.rows[route] = row
        log(f"writes: {route}: {row['round_trips']} round trips besides BEGIN/COMMIT, "
            f"PostgreSQL {row['pg_cpu_us']} µs CPU per request, "
            f"{row['rps']} rps, {row['errors']} errors")
        return [body for _, body in warmed + replies]

    def run(self):
        n, writers, posts = self.n + 20, self.writers, self.posts
        w = len(writers)
        owner, owner_token = writers[0]
        others = writers[1:]
        token = lambda i: writers[i % w][1]
        self.measure("post_create", [
            ("POST", "/posts", token(i), {"content": f"벤치 글 {i}: write route"}, None)
            for i in range(n)], 201)
        own = self.made([("POST", "/posts", t, {"content": "to edit"}, None) for _, t in writers], 201)
        self.measure("post_edit", [
            ("PATCH", f"/posts/{own[i % w]['id']}", token(i), {"content": f"edited {i}"}, None)
            for i in range(n)], 200)
        doomed = self.made([("POST", "/posts", token(i), {"content": "to delete"}, None)
                            for i in range(n)], 201)
        self.measure("post_delete", [
            ("DELETE", f"/posts/{doomed[i]['id']}", token(i), None, None) for i in range(n)], 204)

        comments = self.measure("comment_create", [
            ("POST", f"/posts/{posts[(i * 7919) % len(posts)]}/comments", token(i),
             {"content": f"벤치 댓글 {i}: write route"}, None) for i in range(n)], 201)
        self.measure("comment_edit", [
            ("PATCH", f"/comments/{comments[i % w]['id']}", token(i % w), {"content": f"edited {i}"}, None)
            for i in range(n)], 200)
        self.measure("comment_delete", [
            ("DELETE", f"/comments/{comments[i]['id']}", token(i), None, None)
            for i in range(w, len(comments))], 204)

        # Fresh (user, post) pairs: the owner's new posts, each reacted to
        # by every other writer, so every PUT is new and notifies.
        count = -(-n // len(others))
        targets = self.made([("POST", "/posts", owner_token, {"content": f"react {i}"}, None)
                             for i in range(count)], 201)
        pairs = [(p["id"], t) for p in targets for _, t in others][:n]
        self.measure("post_reaction_new", [
            ("PUT", f"/posts/{p}/reaction", t, {"type": 1}, None) for p, t in pairs], 201)
        unread = [r[0] for r in self.db.rows(
            f"SELECT id FROM notifications WHERE user_id = {sql_literal(owner)} AND NOT read "
            f"ORDER BY id DESC LIMIT {n}")]
        self.measure("notification_read", [
            ("POST", f"/me/notifications/{i}/read", owner_token, None, None) for i in unread], 204)
        self.measure("notifications_read_all", [
            ("POST", "/me/notifications/read-all", token(i), None, None) for i in range(n)], 204)
        self.measure("post_reaction_changed", [
            ("PUT", f"/posts/{p}/reaction", t, {"type": 2}, None) for p, t in pairs], 200)
        self.measure("post_reaction_unchanged", [
            ("PUT", f"/posts/{p}/reaction", t, {"type": 2}, None) for p, t in pairs], 200)
        self.measure("post_reaction_delete", [
            ("DELETE", f"/posts/{p}/reaction", t, None, None) for p, t in pairs], 204)

        on = self.made([("POST", f"/posts/{posts[0]}/comments", owner_token, {"content": f"c {i}"}, None)
                        for i in range(count)], 201)
        comment_pairs = [(c["id"], t) for c in on for _, t in others][:n]
        self.measure("comment_reaction_new", [
            ("PUT", f"/comments/{c}/reaction", t, {"type": 3}, None) for c, t in comment_pairs], 201)
        self.measure("comment_reaction_delete", [
            ("DELETE", f"/comments/{c}/reaction", t, None, None) for c, t in comment_pairs], 204)

        run_id = f"{time.time_ns():x}"
        keyed = [("POST", "/posts", token(i), {"content": f"keyed {i}"},
                  {"Idempotency-Key": f"bench-{run_id}-post-{i}"}) for i in range(n)]
        self.measure("post_create_keyed", keyed, 201)
        self.measure("post_create_keyed_replay", keyed, 201)
        self.measure("comment_create_keyed", [
            ("POST", f"/posts/{posts[(i * 7919) % len(posts)]}/comments", token(i),
             {"content": f"keyed {i}"}, {"Idempotency-Key": f"bench-{run_id}-comment-{i}"})
            for i in range(n)], 201)
        return self.rows


def markdown(summary):
    lines = ["| scenario | rps | p50 ms | p99 ms | errors | statements/request | RSS peak KiB "
             "| CPU others |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in summary["scenarios"]:
        cells = [s["name"]] + ["" if s.get(k) is None else str(s[k]) for k in
                               ("rps", "p50_ms", "p99_ms", "errors", "statements_per_request", "rss_peak_kib",
                                "cpu_others")]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| ratio | value |", "| --- | ---: |"]
    lines += [f"| {k} | {'' if v is None else v} |" for k, v in summary["ratios"].items()]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--pg-bindir", required=True)
    parser.add_argument("--pg-dir", required=True)
    parser.add_argument("--server-pid", type=int, required=True)
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("--scale", type=float, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--oha", default="oha", help="the oha binary (open-loop load)")
    parser.add_argument("--replica-dir", help="the data directory of a streaming replica the server "
                        "reads from: run the replica scenarios and add them to --out as `replica`")
    args = parser.parse_args()

    bench = Bench(args)
    bench.prepare()
    if args.replica_dir:
        with open(args.out) as f:
            summary = json.load(f)
        summary["replica"] = bench.replica_run()
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=2, ensure_ascii=False)
            f.write("\n")
        print(f"(replica run added to {args.out})")
        return
    bench.run()
    summary = bench.summary()
    live = os.path.join(os.path.dirname(args.out), "live.json")
    if os.path.exists(live):
        # `make bench-live`'s latest figures, beside this run's.
        with open(live) as f:
            summary["live"] = json.load(f)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(summary, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(markdown(summary))
    print(f"\n(written to {args.out})")


if __name__ == "__main__":
    main()
