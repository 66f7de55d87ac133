#!/usr/bin/env python3
"""`make bench-live`: live notifications across two server processes.

Starts a private PostgreSQL (scripts/pg) and two release minifb-server
processes on one database, A and B, then measures

1. delivery latency: user X comments on user Y's post through A; the time
   from sending that request to Y's `event: notification` (for that very
   comment) arriving on Y's stream held open on B, over --events writes one
   after another; the write's own response time too;
2. B's resident memory (VmRSS) with no stream open and with --streams idle
   streams open (5 per user, the per-user limit, so streams/5 users, put in
   the database directly with one password hash and given access tokens
   minted here with the JWT key the servers were started with).

Results go to target/bench/live.json and a Markdown table to stdout.
Python 3 standard library only; the release binary must be built already
(the Makefile target builds it).
"""

import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import platform
import queue
import resource
import selectors
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


def open_idle_streams(b, tokens, batch=250):
    """Opens one stream per token, `batch` at a time; returns the sockets."""
    selector = selectors.DefaultSelector()
    opened = []
    for start in range(0, len(tokens), batch):
        pending = {}
        for token in tokens[start : start + batch]:
            sock = socket.socket()
            sock.connect((b.host, b.port))
            sock.sendall(
                f"GET /me/notifications/stream HTTP/1.1\r\nhost: {b.address}\r\n"
                f"authorization: Bearer {token}\r\n\r\n".encode()
            )
            sock.setblocking(False)
            pending[sock] = b""
            selector.register(sock, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        while pending:
            if time.monotonic() > deadline:
                raise SystemExit(f"live-bench: {len(pending)} streams not answered within 60 s")
            for key, _ in selector.select(timeout=1):
                sock = key.fileobj
                chunk = sock.recv(65536)
                if sock not in pending:
                    continue
                pending[sock] += chunk
                if not chunk or (b"\r\n\r\n" in pending[sock] and not pending[sock].startswith(b"HTTP/1.1 200")):
                    raise SystemExit(f"live-bench: stream refused: {pending[sock][:300]!r}")
                if b"retry:" in pending[sock]:
                    del pending[sock]
                    opened.append(sock)
    return selector, opened


def drain(selector, seconds):
    """Reads (and drops) keep-alives for `seconds`, as idle clients would."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.5):
            try:
                if not key.fileobj.recv(65536):
                    raise SystemExit("live-bench: an idle stream was closed by the server")
            except BlockingIOError:
                pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--streams", type=int, default=5000)
    parser.add_argument("--out", default=os.path.join(ROOT, "target/bench/live.json"))
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.streams * 2 + 200:
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
        b = Server("b", binary, work, url, {"MINIFB_MAX_STREAMS": str(args.streams + 1000)})
        servers.append(b)

        log(f"latency: {args.events} comments through A, events on a stream on B")
        delivery, response, after = measure_latency(a, b, args.events)

        users = -(-args.streams // PER_USER)
        log(f"{users} users in the database, {args.streams} idle streams on B")
        psql = os.path.join(pg("bindir", pg_dir), "psql")
        subprocess.run(
            [psql, url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
             "INSERT INTO users (id, password_hash, name) "
             "SELECT 'idle' || lpad(g::text, 6, '0'), "
             "(SELECT password_hash FROM users WHERE id = 'livereader'), 'Idle' "
             f"FROM generate_series(1, {users}) g"],
            check=True,
        )
        tokens = [access_token(f"idle{u:06d}") for u in range(1, users + 1) for _ in range(PER_USER)]
        tokens = tokens[: args.streams]
        # The latency run's stream is gone once B has noticed (at its next
        # keep-alive, within 15 s): then the baseline.
        poll("B closing the latency run's stream", lambda: open_streams(b) == 0, timeout=60, every=0.5)
        rss_0 = b.rss_kib()
        opened_at = time.perf_counter()
        selector, streams = open_idle_streams(b, tokens)
        open_seconds = time.perf_counter() - opened_at
        drain(selector, 5)
        rss_n = b.rss_kib()
        streams_on_b = open_streams(b)
        for sock in streams:
            sock.close()
        drain(selector, 0)
        per_stream = (rss_n - rss_0) / len(streams)

        result = {
            "machine": {
                "cpus": os.cpu_count(),
                "cpu": cpu_model(),
                "kernel": platform.release(),
                "python": platform.python_version(),
            },
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
            # Event arrival minus the write's answer (negative: the event
            # came first).
            "event_after_response_ms": {
                "median": statistics.median(after),
                "p99": percentile(after, 99),
            },
            "load_average_before": load_before,
            "idle_streams": len(streams),
            "open_streams_reported_by_b": streams_on_b,
            "commit": commit(),
            "seconds_to_open_streams": open_seconds,
            "rss_kib": {"no_streams": rss_0, "with_streams": rss_n},
            "kib_per_idle_stream": per_stream,
        }
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
        print_table(result)
        log(f"written to {args.out}")
    finally:
        for server in reversed(servers):
            server.stop()
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
    d, w, rss = r["delivery_ms"], r["write_response_ms"], r["rss_kib"]
    e = r["event_after_response_ms"]
    print(f"""
| measure | value |
| --- | --- |
| events (comment on A → `event: notification` on B) | {r['events']} |
| delivery latency, median | {d['median']:.2f} ms |
| delivery latency, p99 | {d['p99']:.2f} ms |
| write response time, median / p99 | {w['median']:.2f} / {w['p99']:.2f} ms |
| event after the write's response, median / p99 | {e['median']:.2f} / {e['p99']:.2f} ms |
| B's VmRSS, no stream open | {rss['no_streams'] / 1024:.1f} MiB |
| B's VmRSS, {r['idle_streams']} idle streams open | {rss['with_streams'] / 1024:.1f} MiB |
| per idle stream | {r['kib_per_idle_stream']:.1f} KiB |
| streams opened in | {r['seconds_to_open_streams']:.1f} s |""")


if __name__ == "__main__":
    main()
