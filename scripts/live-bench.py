#!/usr/bin/env python3
"""`make bench-live`: live notifications across two server processes.

Starts a private PostgreSQL (scripts/pg) and two release minifb-server
processes on one database, A (writes) and B (streams), then measures

1. serial delivery: user X comments on user Y's post through A, one write
   after another (--events); the time from sending that request to Y's
   `event: notification` (for that very comment) arriving on Y's stream
   held open on B; the write's own response time too;
2. idle streams: B's resident memory (VmRSS) with no stream open and with
   --streams streams open (5 per user, the per-user limit, over streams/5
   users put in the database directly and given access tokens minted here
   with the JWT key the servers were started with);
3. fan-out: with those streams still open, comments on the users' posts
   through A at a fixed arrival rate (--rate per second for --seconds,
   open loop: each write is timed from when it was due, so a writer that
   falls behind shows as latency), each one an `event: notification` on
   every stream of the post's author; the delivery latency of every event
   on every stream, B's CPU per delivered event (/proc utime + stime),
   streams B dropped (none may be), and what the client itself spent
   (its CPU share and its event loop's lateness), to show that the
   client was not the bottleneck.

Results go to target/bench/live.json and a Markdown table to stdout;
scripts/bench-table.py holds them to their targets. Python 3 standard
library only (asyncio on raw sockets holds the streams); the release
binary must be built already (the Makefile target builds it). The open-file limit is
raised to its hard limit, which B inherits.
"""

import argparse
import asyncio
import base64
import hashlib
import hmac
import http.client
import json
import os
import platform
import queue
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
JWT_SECRET = "live-bench-jwt-secret-0123456789abcdefghijklmn"
ADMIN_TOKEN = "live-bench-admin-token-0123456789abcdefghijkl"
PASSWORD = "correct horse battery"
PER_USER = 5


def log(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


def poll(what, check, timeout=60.0, every=0.05):
    """Calls `check` until it returns something truthy; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"live-bench: {what} did not happen within {timeout:.0f} s")
        time.sleep(every)


def pg(*args):
    return subprocess.run(
        [os.path.join(ROOT, "scripts/pg"), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access_token(user, ttl=86400):
    """An HS256 token as the server issues them (sub, iat, exp, jti)."""
    now = int(time.time())
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": user, "iat": now, "exp": now + ttl, "jti": os.urandom(8).hex()}
    payload = b64url(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(JWT_SECRET.encode(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


class Server:
    """A minifb-server process whose log goes to a file."""

    def __init__(self, name, binary, work, database_url, extra_env):
        self.name = name
        self.log_path = os.path.join(work, f"server-{name}.log")
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            MINIFB_BIND="127.0.0.1:0",
            MINIFB_LOG_FORMAT="json",
            RUST_LOG="warn,minifb_server=info",
            MINIFB_JWT_SECRET=JWT_SECRET,
            MINIFB_ADMIN_TOKEN=ADMIN_TOKEN,
            MINIFB_ACCESS_TOKEN_TTL="86400",
            MINIFB_PASSWORD_ITERATIONS="1000",
            MINIFB_SIGNUP_LIMIT="0",
            MINIFB_MAIL_OUTBOX=os.path.join(work, "outbox.jsonl"),
        )
        env.update(extra_env)
        self.log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [binary], env=env, stdout=self.log_file, stderr=subprocess.STDOUT, cwd=work
        )
        self.address = poll(f"server {name} logging its address", self._address)
        self.host, port = self.address.rsplit(":", 1)
        self.port = int(port)
        poll(f"server {name} answering /health", lambda: self.request("GET", "/health")[0] == 200)

    def _address(self):
        if self.process.poll() is not None:
            raise SystemExit(f"live-bench: server {self.name} exited; see {self.log_path}")
        with open(self.log_path) as f:
            for line in f:
                try:
                    address = json.loads(line).get("fields", {}).get("address")
                except ValueError:
                    continue
                if address:
                    return address
        return None

    def connection(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, method, path, body=None, token=None, connection=None):
        own = connection is None
        connection = connection or self.connection()
        headers = {}
        if body is not None:
            headers["content-type"] = "application/json"
            body = json.dumps(body)
        if token:
            headers["authorization"] = f"Bearer {token}"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        except OSError:
            return 0, None
        finally:
            if own:
                connection.close()
        try:
            return response.status, json.loads(data) if data else None
        except ValueError:
            return response.status, data

    def rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise SystemExit("live-bench: no VmRSS")

    def cpu_seconds(self):
        """User + system CPU time the process has used."""
        with open(f"/proc/{self.process.pid}/stat") as f:
            # The fields after the command's parenthesised name; utime and
            # stime are the stat file's 14th and 15th.
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log_file.close()


def open_stream(host, port, token):
    """A stream's socket, its answer head read up to the `retry:` line."""
    sock = socket.create_connection((host, port), timeout=10)
    sock.sendall(
        f"GET /me/notifications/stream HTTP/1.1\r\nhost: {host}:{port}\r\n"
        f"authorization: Bearer {token}\r\naccept: text/event-stream\r\n\r\n".encode()
    )
    received = b""
    while b"retry:" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit(f"live-bench: stream closed: {received!r}")
        received += chunk
    if not received.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"live-bench: stream refused: {received[:200]!r}")
    return sock, received


class EventReader(threading.Thread):
    """Reads one stream and queues (arrival time, data) of each
    `event: notification` frame. Chunked framing is not undone: frames are
    found by their `event:` and `data:` lines."""

    def __init__(self, sock, already):
        super().__init__(daemon=True)
        self.sock, self.buffer, self.events = sock, already, queue.Queue()

    def run(self):
        self.sock.settimeout(None)
        while True:
            self._drain()
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            arrived = time.perf_counter()
            self.buffer += chunk
            self._drain(arrived)

    def _drain(self, arrived=None):
        while True:
            start = self.buffer.find(b"event: notification\n")
            if start < 0:
                return
            data_at = self.buffer.find(b"data: ", start)
            end = self.buffer.find(b"\n", data_at) if data_at >= 0 else -1
            if end < 0:
                return
            data = json.loads(self.buffer[data_at + 6 : end])
            self.events.put((arrived or time.perf_counter(), data))
            self.buffer = self.buffer[end:]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def measure_latency(a, b, events):
    status, _ = a.request("POST", "/auth/signup", {"id": "liveposter", "password": PASSWORD, "name": "Poster"})
    assert status == 201, status
    status, _ = a.request("POST", "/auth/signup", {"id": "livereader", "password": PASSWORD, "name": "Reader"})
    assert status == 201, status
    x = a.request("POST", "/auth/login", {"id": "liveposter", "password": PASSWORD})[1]["access_token"]
    y = a.request("POST", "/auth/login", {"id": "livereader", "password": PASSWORD})[1]["access_token"]
    status, post = a.request("POST", "/posts", {"content": "comment on this"}, y)
    assert status == 201, (status, post)

    sock, head = open_stream(b.host, b.port, y)
    reader = EventReader(sock, head)
    reader.start()
    writes = a.connection()  # one kept-alive connection, as a client would
    delivery, response, after = [], [], []
    for n in range(events + 20):
        sent = time.perf_counter()
        status, comment = a.request(
            "POST", f"/posts/{post['id']}/comments", {"content": f"comment {n}"}, x, writes
        )
        answered = time.perf_counter()
        assert status == 201, (status, comment)
        while True:
            try:
                arrived, data = reader.events.get(timeout=10)
            except queue.Empty:
                raise SystemExit(f"live-bench: no event for comment {comment['id']} within 10 s")
            if data["notification"]["comment_id"] == comment["id"]:
                break
        if n >= 20:  # the first writes warm connections and caches up
            delivery.append((arrived - sent) * 1000)
            response.append((answered - sent) * 1000)
            after.append((arrived - answered) * 1000)
    writes.close()
    sock.close()
    return delivery, response, after


COMMENT_ID = re.compile(rb'"comment_id":(\d+)')


class Stream(asyncio.Protocol):
    """One held stream: its answer head up to `retry:`, then the arrival
    time of each `event: notification` frame (by the comment it is for).
    Chunked framing is not undone: frames are found by their `event:` and
    `data:` lines."""

    def __init__(self, request, holder):
        self.request, self.holder = request, holder
        self.buffer = b""
        self.opened = asyncio.get_running_loop().create_future()
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        arrived = time.perf_counter()
        if not self.opened.done():
            self.buffer += data
            if b"\r\n\r\n" in self.buffer and not self.buffer.startswith(b"HTTP/1.1 200"):
                self.opened.set_exception(SystemExit(f"live-bench: stream refused: {self.buffer[:300]!r}"))
            elif b"retry:" in self.buffer:
                self.buffer = b""
                self.opened.set_result(None)
            return
        if not self.buffer and b"event: notification" not in data:
            return  # a keep-alive
        self.buffer += data
        while True:
            start = self.buffer.find(b"event: notification\n")
            if start < 0:
                self.buffer = b""
                return
            data_at = self.buffer.find(b"data: ", start)
            end = self.buffer.find(b"\n", data_at) if data_at >= 0 else -1
            if end < 0:
                self.buffer = self.buffer[start:]
                return
            found = COMMENT_ID.search(self.buffer, data_at, end)
            if found:
                self.holder.arrived(int(found.group(1)), arrived)
            self.buffer = self.buffer[end:]

    def connection_lost(self, exc):
        if not self.opened.done():
            self.opened.set_exception(SystemExit(f"live-bench: stream closed while opening: {exc}"))
        elif not self.holder.closing:
            self.holder.dropped += 1


class Holder:
    """The streams held on B and the events they received."""

    def __init__(self):
        self.streams = []
        self.arrivals = []  # (comment id, arrival time)
        self.closing = False
        self.dropped = 0
        self.expected = None
        self.all_arrived = asyncio.Event()

    def arrived(self, comment_id, at):
        self.arrivals.append((comment_id, at))
        if self.expected is not None and len(self.arrivals) >= self.expected:
            self.all_arrived.set()

    async def open(self, server, tokens, batch=250):
        """One stream per token, `batch` opening at a time."""
        loop = asyncio.get_running_loop()

        async def one(token):
            request = (
                f"GET /me/notifications/stream HTTP/1.1\r\nhost: {server.address}\r\n"
                f"authorization: Bearer {token}\r\n\r\n"
            ).encode()
            _, stream = await loop.create_connection(lambda: Stream(request, self), server.host, server.port)
            await asyncio.wait_for(stream.opened, 60)
            self.streams.append(stream)

        for start in range(0, len(tokens), batch):
            await asyncio.gather(*(one(token) for token in tokens[start : start + batch]))

    def close(self):
        self.closing = True
        for stream in self.streams:
            stream.transport.close()


class LoopLag:
    """How late the client's event loop runs a timer due every 10 ms: a
    busy client would time events late."""

    def __init__(self):
        self.lateness = []
        self.task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self):
        while True:
            due = time.perf_counter() + 0.01
            await asyncio.sleep(0.01)
            self.lateness.append((time.perf_counter() - due) * 1000)

    def stop(self):
        self.task.cancel()


async def write_comments(server, token, targets, rate, seconds, connections):
    """Comments through `server` at `rate` per second for `seconds`, open
    loop, over `connections` kept-alive connections; comment n goes on post
    targets[n % len(targets)][1]. Returns {comment id: (due, target,
    answered)},
    response times from when each write was due (ms), and the errors."""
    jobs = asyncio.Queue()
    written, responses, errors = {}, [], []

    async def worker():
        reader, writer = await asyncio.open_connection(server.host, server.port)
        while (job := await jobs.get()) is not None:
            n, due, target = job
            body = json.dumps({"content": f"fan-out comment {n}"}).encode()
            writer.write(
                f"POST /posts/{targets[target][1]}/comments HTTP/1.1\r\nhost: {server.address}\r\n"
                f"authorization: Bearer {token}\r\ncontent-type: application/json\r\n"
                f"content-length: {len(body)}\r\n\r\n".encode() + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
            data = await reader.readexactly(length)
            status = int(head[9:12])
            if status != 201:
                errors.append((status, data[:200]))
                continue
            answered = time.perf_counter()
            responses.append((answered - due) * 1000)
            written[json.loads(data)["id"]] = (due, target, answered)
        writer.close()

    workers = [asyncio.create_task(worker()) for _ in range(connections)]
    start = time.perf_counter() + 0.1
    for n in range(int(rate * seconds)):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        jobs.put_nowait((n, due, n % len(targets)))
    for _ in workers:
        jobs.put_nowait(None)
    await asyncio.gather(*workers)
    return written, responses, errors


async def idle_and_fan_out(a, b, tokens, targets, per_target, poster, args):
    """Opens the streams, measures B idle, then fans comments out to them."""
    holder = Holder()
    rss_0 = b.rss_kib()
    opened_at = time.perf_counter()
    await holder.open(b, tokens)
    open_seconds = time.perf_counter() - opened_at
    # Idle, as clients holding streams are; then the memory.
    await asyncio.sleep(5)
    rss_n = b.rss_kib()
    loop = asyncio.get_running_loop()
    streams_on_b = await loop.run_in_executor(None, open_streams, b)
    log(f"{len(holder.streams)} streams held; fan-out: {args.rate} comments/s for {args.seconds} s through A")

    lag = LoopLag()
    b_cpu, a_cpu, own_cpu = b.cpu_seconds(), a.cpu_seconds(), os.times()
    started = time.perf_counter()
    written, responses, errors = await write_comments(
        a, poster, targets, args.rate, args.seconds, args.connections
    )
    writing = time.perf_counter() - started
    holder.expected = sum(per_target[target] for _, target, _ in written.values())
    if len(holder.arrivals) < holder.expected:
        try:
            await asyncio.wait_for(holder.all_arrived.wait(), 15)
        except asyncio.TimeoutError:
            pass
    elapsed = time.perf_counter() - started
    b_cpu, a_cpu = b.cpu_seconds() - b_cpu, a.cpu_seconds() - a_cpu
    own = os.times()
    own_cpu = own.user + own.system - own_cpu.user - own_cpu.system
    lag.stop()
    rss_after = b.rss_kib()
    streams_after = await loop.run_in_executor(None, open_streams, b)
    dropped = holder.dropped
    holder.close()

    delivery = [(at - written[comment][0]) * 1000 for comment, at in holder.arrivals if comment in written]
    # From the write's answer (after its commit) to the event: B's part.
    after = [(at - written[comment][2]) * 1000 for comment, at in holder.arrivals if comment in written]
    if not delivery:
        raise SystemExit(f"live-bench: no event arrived; write errors: {errors[:3]}")
    delivered = len(delivery)
    return {
        "streams": len(holder.streams),
        "idle_stream_kib": round((rss_n - rss_0) / len(holder.streams), 1),
        "delivery_p99_ms": round(percentile(delivery, 99), 1),
        "dropped_streams": dropped + max(0, len(holder.streams) - (streams_after or 0)),
        "lost_events": holder.expected - delivered,
        "idle": {
            "rss_kib": {"no_streams": rss_0, "with_streams": rss_n, "after_fan_out": rss_after},
            "seconds_to_open_streams": open_seconds,
            "open_streams_reported_by_b": streams_on_b,
        },
        "fan_out": {
            "rate_per_s": args.rate,
            "seconds": args.seconds,
            "writes": len(written),
            "write_errors": len(errors),
            "writes_per_s_achieved": len(written) / writing,
            "expected_events": holder.expected,
            "delivered_events": delivered,
            "delivery_ms": {
                "p50": percentile(delivery, 50),
                "p99": percentile(delivery, 99),
                "p99.9": percentile(delivery, 99.9),
                "max": max(delivery),
            },
            "write_response_ms": {"p50": percentile(responses, 50), "p99": percentile(responses, 99)},
            # Negative: the event came before the write's answer.
            "event_after_response_ms": {"p50": percentile(after, 50), "p99": percentile(after, 99)},
            "b_cpu_us_per_event": b_cpu * 1e6 / delivered,
            "b_cpu_share": b_cpu / elapsed,
            "a_cpu_us_per_write": a_cpu * 1e6 / max(1, len(written)),
            "client_cpu_share": own_cpu / elapsed,
            "client_loop_lateness_ms": {
                "p99": percentile(lag.lateness, 99),
                "max": max(lag.lateness),
            },
            "open_streams_reported_by_b_after": streams_after,
        },
    }


def main():
    env = lambda name, default: type(default)(os.environ.get(name, default))
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=env("LIVE_EVENTS", 200), help="serial writes")
    parser.add_argument("--streams", type=int, default=env("LIVE_STREAMS", 10000))
    parser.add_argument("--rate", type=float, default=env("LIVE_RATE", 500.0), help="fan-out writes per second")
    parser.add_argument("--seconds", type=float, default=env("LIVE_SECONDS", 20.0), help="of fan-out")
    parser.add_argument("--connections", type=int, default=64, help="the fan-out writer's, to A")
    parser.add_argument("--out", default=os.path.join(ROOT, "target/bench/live.json"))
    parser.add_argument("--keep-logs", metavar="DIR", help="copy the servers' logs there at the end")
    args = parser.parse_args()

    # This process holds every stream, and B (which inherits the limit)
    # their other ends.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.streams + 1500:
        raise SystemExit(f"live-bench: the open-file limit ({hard}) is too low for {args.streams} streams")

    binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release/minifb-server")
    load_before = os.getloadavg()
    work = tempfile.mkdtemp(prefix="minifb-live.", dir="/tmp")
    os.chmod(work, 0o755)  # the postgres user must reach work/pg
    pg_dir = os.path.join(work, "pg")
    servers = []
    try:
        log(f"PostgreSQL in {pg_dir}")
        pg("start", pg_dir)
        pg("createdb", pg_dir, "live")
        url = pg("url", pg_dir, "live")
        log("server A (writes), then server B (streams)")
        a = Server("a", binary, work, url, {})
        servers.append(a)
        b = Server("b", binary, work, url, {
            "MINIFB_MAX_CONNECTIONS": str(args.streams + 1000),
            "MINIFB_MAX_STREAMS": str(args.streams + 500),
        })
        servers.append(b)

        log(f"serial: {args.events} comments through A, events on a stream on B")
        delivery, response, after = measure_latency(a, b, args.events)

        users = -(-args.streams // PER_USER)
        log(f"{users} users with a post each in the database, {args.streams} streams on B")
        psql = os.path.join(pg("bindir", pg_dir), "psql")
        subprocess.run(
            [psql, url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
             "INSERT INTO users (id, password_hash, name) "
             "SELECT 'idle' || lpad(g::text, 6, '0'), "
             "(SELECT password_hash FROM users WHERE id = 'livereader'), 'Idle' "
             f"FROM generate_series(1, {users}) g"],
            check=True,
        )
        posted = subprocess.run(
            [psql, url, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c",
             "INSERT INTO posts (owner_id, content) "
             "SELECT id, 'a post to comment on' FROM users WHERE id LIKE 'idle%' ORDER BY id "
             "RETURNING owner_id, id"],
            check=True, capture_output=True, text=True,
        ).stdout.split()
        targets = sorted(tuple(line.split("|")) for line in posted)  # (user, post id)
        tokens = [access_token(user) for user, _ in targets for _ in range(PER_USER)][: args.streams]
        per_target = [min(PER_USER, args.streams - i * PER_USER) for i in range(len(targets))]
        poster = access_token("liveposter")
        # The serial run's stream is gone once B has noticed (at its next
        # keep-alive, within 15 s): then the baseline.
        poll("B closing the serial run's stream", lambda: open_streams(b) == 0, timeout=60, every=0.5)
        measured = asyncio.run(idle_and_fan_out(a, b, tokens, targets, per_target, poster, args))

        result = {
            "machine": {
                "cpus": os.cpu_count(),
                "cpu": cpu_model(),
                "kernel": platform.release(),
                "python": platform.python_version(),
            },
            "commit": commit(),
            "measured_at": time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime()),
            "load_average_before": load_before,
            **measured,
            "serial": {
                "events": len(delivery),
                "delivery_ms": {
                    "median": statistics.median(delivery),
                    "p99": percentile(delivery, 99),
                    "max": max(delivery),
                },
                "write_response_ms": {
                    "median": statistics.median(response),
                    "p99": percentile(response, 99),
                    "max": max(response),
                },
                # Event arrival minus the write's answer (negative: the
                # event came first).
                "event_after_response_ms": {
                    "median": statistics.median(after),
                    "p99": percentile(after, 99),
                },
            },
        }
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
        print_table(result)
        log(f"written to {args.out}")
    finally:
        for server in reversed(servers):
            server.stop()
            if args.keep_logs:
                os.makedirs(args.keep_logs, exist_ok=True)
                shutil.copy(server.log_path, args.keep_logs)
        try:
            pg("stop", pg_dir)
        except subprocess.CalledProcessError as error:
            print(error.stderr, file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)


def open_streams(server):
    status, stats = server.request("GET", "/admin/stats/server", token=ADMIN_TOKEN)
    return stats["open_streams"] if status == 200 else None


def commit():
    result = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def print_table(r):
    s, f, idle = r["serial"], r["fan_out"], r["idle"]
    d, fd = s["delivery_ms"], f["delivery_ms"]
    print(f"""
| measure | value |
| --- | --- |
| serial: delivery median / p99 ({s['events']} writes one after another) | {d['median']:.2f} / {d['p99']:.2f} ms |
| streams held on B | {r['streams']} |
| B's VmRSS, no stream / streams open | {idle['rss_kib']['no_streams'] / 1024:.1f} / {idle['rss_kib']['with_streams'] / 1024:.1f} MiB |
| per idle stream | {r['idle_stream_kib']:.1f} KiB |
| fan-out: writes/s (target {f['rate_per_s']:g}), events delivered / expected | {f['writes_per_s_achieved']:.1f}, {f['delivered_events']} / {f['expected_events']} |
| fan-out: delivery p50 / p99 / p99.9 / max | {fd['p50']:.1f} / {fd['p99']:.1f} / {fd['p99.9']:.1f} / {fd['max']:.1f} ms |
| fan-out: write response p50 / p99; event after it p50 / p99 | {f['write_response_ms']['p50']:.1f} / {f['write_response_ms']['p99']:.1f}; {f['event_after_response_ms']['p50']:.1f} / {f['event_after_response_ms']['p99']:.1f} ms |
| B's CPU per delivered event | {f['b_cpu_us_per_event']:.1f} µs |
| dropped streams | {r['dropped_streams']} |
| client CPU share, loop lateness p99 | {f['client_cpu_share']:.0%}, {f['client_loop_lateness_ms']['p99']:.1f} ms |""")


if __name__ == "__main__":
    main()
