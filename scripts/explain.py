#!/usr/bin/env python3
"""`make explain`'s driver: the plans of the statements the server sends.

Run by scripts/explain.sh, which builds, seeds a throw-away PostgreSQL,
copies the seeded database (`plans`), and serves the original with every
statement logged (`log_statement = all`, parameters included). Two phases:

- `drive`, while the server runs: sends one request of each route (see
  Driver.run), noting where each one's statements start and end in
  PostgreSQL's log, and saves that to --state;
- `write`, once explain.sh has stopped the server: reads every statement
  the server sent, with its parameters; replays them all, in the order
  sent, on the copy inside one transaction that is rolled back, each as
  `PREPARE` + `EXPLAIN (ANALYZE, BUFFERS) EXECUTE` under the server's own
  `plan_cache_mode = force_generic_plan`; and writes the Markdown file.

The server's transactions become savepoints of the replay, so each
statement finds the rows that the statements before it wrote, as it did
when the server sent it. Statements sent outside any request (start-up,
the request-statistics flush, shutdown) are listed apart; one of them that
lands inside a request is recognised by its text. A request answered with
an unexpected status, a statement the server saw fail, or one that cannot
be explained stops the script with an error. Standard library only.
"""

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

SEED_PASSWORD = "minifb bench password"
EMAIL = "explain@example.com"
LOG_MARK = "@@minifb-explain@@ "
RECORD = re.compile(r"@@minifb-explain@@ (\d+) (\S*) ([A-Z]+):  (.*)", re.S)
PARAMETER = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")
EXPLAINABLE = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "VALUES", "TABLE")
OUTPUT_MARK = "@@minifb-explain-output@@ "
# A statement that reads more pages than this is listed under the summary.
HEAVY_BUFFERS = 1000


def log(message):
    print(f"==> {message}", file=sys.stderr, flush=True)


def fail(message):
    raise SystemExit(f"make explain: {message}")


def cursor(list_tag, key):
    """The server's cursor: base64url("v1:<list>:<last id>"), no padding."""
    return base64.urlsafe_b64encode(f"v1:{list_tag}:{key}".encode()).decode().rstrip("=")


def sql_literal(value):
    return "'" + str(value).replace("'", "''") + "'"


class Database:
    """psql on the copy: lookups, and the replay."""

    def __init__(self, url, psql):
        self.url = url
        self.psql = psql

    def script(self, text, *options):
        """Runs a psql script: (exit status, output, errors)."""
        done = subprocess.run(
            [self.psql, self.url, "-X", "-q", "-v", "ON_ERROR_STOP=1", *options, "-f", "-"],
            input=text, capture_output=True, text=True,
        )
        return done.returncode, done.stdout, done.stderr

    def rows(self, sql):
        code, out, err = self.script(sql + ";", "-tA", "-F", "\t")
        if code != 0:
            fail(f"{sql}: {err.strip()}")
        return [line.split("\t") for line in out.splitlines() if line]

    def value(self, sql):
        rows = self.rows(sql)
        if not rows:
            fail(f"no row for: {sql}")
        return rows[0][0]


class Route:
    """One request and the log bytes its statements were written in."""

    def __init__(self, title, method, path, status, note=""):
        self.title = title
        self.method = method
        self.path = path
        self.status = status
        self.note = note
        self.start = self.end = 0
        self.statements = []


class Driver:
    def __init__(self, args, db):
        self.args = args
        self.db = db
        self.routes = []

    def mails(self):
        """Messages in the server's mail outbox so far."""
        try:
            with open(self.args.outbox) as f:
                return sum(1 for _ in f)
        except FileNotFoundError:
            return 0

    def log_size(self):
        return os.path.getsize(self.args.log)

    def call(self, title, method, path, expect, body=None, token=None, headers=None, done=None, note=""):
        """Sends one request; fails unless it is answered with `expect`.
        With `done`, the request's statements run until done() is true
        (work it goes on with after its answer)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.args.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        route = Route(title, method, path, expect, note)
        route.start = self.log_size()
        started = time.monotonic()
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                # A stream's statements are sent before its head: read no
                # further than the head, then close it.
                status = response.status
                stream = response.headers.get_content_type() == "text/event-stream"
                raw = b"" if stream else response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        deadline = time.monotonic() + 30
        while done and not done():
            if time.monotonic() > deadline:
                fail(f"{method} {path}: its work after the answer did not finish within 30 s")
            time.sleep(0.05)
        route.end = self.log_size()
        elapsed = time.monotonic() - started
        if elapsed > 1:
            log(f"note: {method} {path} took {elapsed:.1f} s")
        if status != expect:
            fail(f"{method} {path} answered {status} (expected {expect}): {raw.decode(errors='replace')}")
        self.routes.append(route)
        return json.loads(raw) if raw else None

    def run(self):
        """Sends every route once: reads as a seeded user who has many
        notifications, writes on seeded rows and on rows made here."""
        db = self.db
        log("choosing users, posts and deep cursors in the seeded data")
        me = db.value("SELECT user_id FROM notifications GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1")
        heavy, heavy_posts = db.rows(
            "SELECT owner_id, count(*) FROM posts GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1")[0]
        posts = int(db.value("SELECT count(*) FROM posts"))
        feed_key = db.value(f"SELECT id FROM posts ORDER BY id DESC OFFSET {posts * 9 // 10} LIMIT 1")
        timeline_key = db.value(
            f"SELECT id FROM posts WHERE owner_id = {sql_literal(heavy)} ORDER BY id DESC "
            f"OFFSET {int(heavy_posts) * 9 // 10} LIMIT 1")
        busy, busy_comments = db.rows(
            "SELECT id, comment_count FROM posts ORDER BY comment_count DESC, id LIMIT 1")[0]
        comment_key = db.value(
            f"SELECT id FROM comments WHERE post_id = {busy} ORDER BY id "
            f"OFFSET {int(busy_comments) * 9 // 10} LIMIT 1")
        notifications = int(db.value(f"SELECT count(*) FROM notifications WHERE user_id = {sql_literal(me)}"))
        notification_key = db.value(
            f"SELECT id FROM notifications WHERE user_id = {sql_literal(me)} ORDER BY id DESC "
            f"OFFSET {notifications * 9 // 10} LIMIT 1")
        unread = db.value(
            f"SELECT id FROM notifications WHERE user_id = {sql_literal(me)} AND NOT read ORDER BY id DESC LIMIT 1")
        own = [r[0] for r in db.rows(
            f"SELECT id FROM posts WHERE owner_id = {sql_literal(me)} ORDER BY id DESC LIMIT 2")]
        if len(own) < 2:
            fail(f"{me} owns fewer than two posts at this scale")
        other_post = db.value(
            f"SELECT id FROM posts p WHERE owner_id <> {sql_literal(me)} AND NOT EXISTS "
            f"(SELECT 1 FROM post_reactions r WHERE r.post_id = p.id AND r.user_id = {sql_literal(me)}) "
            "ORDER BY id DESC LIMIT 1")
        other_comment = db.value(
            f"SELECT id FROM comments c WHERE user_id <> {sql_literal(me)} AND NOT EXISTS "
            f"(SELECT 1 FROM comment_reactions r WHERE r.comment_id = c.id AND r.user_id = {sql_literal(me)}) "
            "ORDER BY id DESC LIMIT 1")
        self.context = {
            "me": me, "heavy": heavy, "heavy_posts": int(heavy_posts), "busy": busy,
            "busy_comments": int(busy_comments), "notifications": notifications,
        }

        log(f"sending one request of each route (reading as {me})")
        mails_before = self.mails()
        call = self.call
        call("Is an id free", "GET", "/auth/id-availability?id=explain-signup", 200)
        call("Sign up", "POST", "/auth/signup", 201,
             {"id": "explain-signup", "password": "explain password", "name": "Explain"})
        pair = call("Log in", "POST", "/auth/login", 200, {"id": me, "password": SEED_PASSWORD})
        pair = call("Refresh the tokens", "POST", "/auth/refresh", 200, {"refresh_token": pair["refresh_token"]})
        token = pair["access_token"]
        call("My account", "GET", "/me", 200, token=token)
        call("A user", "GET", f"/users/{heavy}", 200)
        call("Feed, first page", "GET", "/posts?limit=20", 200, token=token)
        call("Feed, deep page (90% down)", "GET", f"/posts?limit=20&cursor={cursor('posts', feed_key)}",
             200, token=token)
        call("Feed, first page without a token", "GET", "/posts?limit=20", 200)
        call("A post", "GET", f"/posts/{busy}", 200, token=token)
        call("Comments, first page (the most commented post)", "GET", f"/posts/{busy}/comments?limit=20",
             200, token=token)
        call("Comments, deep page (90% down)", "GET",
             f"/posts/{busy}/comments?limit=20&cursor={cursor(f'comments:{busy}', comment_key)}", 200, token=token)
        call("Timeline, first page (the user with most posts)", "GET", f"/users/{heavy}/timeline?limit=20",
             200, token=token)
        call("Timeline, deep page (90% down)", "GET",
             f"/users/{heavy}/timeline?limit=20&cursor={cursor('timeline:' + heavy.lower(), timeline_key)}",
             200, token=token)
        call("My timeline", "GET", "/me/timeline?limit=20", 200, token=token)
        call("Notifications, first page", "GET", "/me/notifications?limit=20", 200, token=token)
        call("Notifications, deep page (90% down)", "GET",
             "/me/notifications?limit=20&cursor=" + cursor(f"notifications:{me.lower()}:all", notification_key),
             200, token=token)
        call("Unread notifications, first page", "GET", "/me/notifications?unread=true&limit=20",
             200, token=token)
        call("Create a post", "POST", "/posts", 201, {"content": "explained"}, token=token)
        keyed = {"Idempotency-Key": "explain-post-1"}
        call("Create a post with an Idempotency-Key", "POST", "/posts", 201, {"content": "explained, keyed"},
             token=token, headers=keyed)
        call("The same keyed create again (replayed)", "POST", "/posts", 201, {"content": "explained, keyed"},
             token=token, headers=keyed)
        call("Edit my post", "PATCH", f"/posts/{own[0]}", 200, {"content": "explained, edited"}, token=token)
        comment = call("Comment", "POST", f"/posts/{busy}/comments", 201, {"content": "explained"}, token=token)
        call("Edit my comment", "PATCH", f"/comments/{comment['id']}", 200, {"content": "edited"}, token=token)
        call("React to a post", "PUT", f"/posts/{other_post}/reaction", 201, {"type": 1}, token=token)
        call("Change the reaction", "PUT", f"/posts/{other_post}/reaction", 200, {"type": 2}, token=token)
        call("Withdraw the reaction", "DELETE", f"/posts/{other_post}/reaction", 204, token=token)
        call("React to a comment", "PUT", f"/comments/{other_comment}/reaction", 201, {"type": 3}, token=token)
        call("Withdraw the comment reaction", "DELETE", f"/comments/{other_comment}/reaction", 204, token=token)
        call("Delete my comment", "DELETE", f"/comments/{comment['id']}", 204, token=token)
        call("Delete my post", "DELETE", f"/posts/{own[1]}", 204, token=token)
        call("Mark a notification read", "POST", f"/me/notifications/{unread}/read", 204, token=token)
        call("Mark all notifications read", "POST", "/me/notifications/read-all", 204, token=token)
        call("Edit my account", "PATCH", "/me", 200,
             {"nickname": "explained", "email": EMAIL, "current_password": SEED_PASSWORD}, token=token)
        call("Change my password", "PUT", "/me/password", 204,
             {"current_password": SEED_PASSWORD, "new_password": "explain password 2"}, token=token)
        call("Log out", "POST", "/auth/logout", 204, {"refresh_token": pair["refresh_token"]})
        call("Back office: service totals", "GET", "/admin/stats/service", 200, token=self.args.admin_token)
        call("Back office: request statistics", "GET", "/admin/stats/server", 200, token=self.args.admin_token)
        call("Ask for a temporary password", "POST", "/auth/temporary-password", 202,
             {"id": me, "email": EMAIL}, done=lambda: self.mails() > mails_before,
             note="It answers at once and then makes and mails the password: its statements "
                  "here run until the mail was written.")
        call("Readiness", "GET", "/ready", 200)
        # Last: the stream's slot is freed only after it closes, which the
        # server may notice only when it stops (explain.sh stops it next).
        call("Open a notification stream", "GET", "/me/notifications/stream", 200, token=token)


class Statement:
    def __init__(self, offset, pid, sql, params, error=None):
        self.offset = offset
        self.pid = pid
        self.sql = sql
        self.params = params
        self.error = error
        self.plan = None

    @property
    def explainable(self):
        # A UNION of parenthesised SELECTs starts with a parenthesis.
        return self.sql.lstrip().lstrip("(").split(None, 1)[0].upper() in EXPLAINABLE

    @property
    def signature(self):
        """The text with its parameter numbers and repeated VALUES rows
        folded, so that a multi-row insert of any length matches."""
        text = re.sub(r"\$\d+", "$", self.sql)
        return re.sub(r"(\(\$(?:, \$)*\))(?:, \(\$(?:, \$)*\))+", r"\1", text)


def read_records(path):
    """The log's records of this run (lines that begin with the prefix
    explain.sh set, with their continuation lines): offset, pid, database,
    level, text."""
    with open(path, "rb") as f:
        data = f.read()
    records = []
    offset = 0
    for line in data.splitlines(keepends=True):
        text = line.decode(errors="replace").rstrip("\n")
        if text.startswith(LOG_MARK):
            match = RECORD.match(text)
            records.append([offset, *match.groups()] if match else [offset, "0", "", "LOG", text])
        elif records and line.endswith(b"\n"):
            records[-1][4] += "\n" + text
        offset += len(line)
    return records


def read_statements(path, database):
    """The statements the server sent to `database`, in the order logged."""
    statements = []
    for offset, pid, db, level, text in read_records(path):
        if db != database:
            continue
        if level == "LOG":
            match = re.match(r"(?:execute [^:]+|statement): (.*)", text, re.S)
            if match:
                statements.append(Statement(offset, int(pid), match.group(1), []))
        elif level == "DETAIL" and text.startswith("parameters: ") and statements:
            last = statements[-1]
            if last.pid == int(pid):
                last.params = [value for _, value in PARAMETER.findall(text)]
        elif level == "ERROR":
            for statement in reversed(statements):
                if statement.pid == int(pid):
                    statement.error = text
                    break
    return statements


def attribute(routes, statements):
    """Statements to their route by log position; those outside every
    request, and those inside one whose text background work also sent,
    are background. Returns the background statements."""
    background = []
    inside = []
    for statement in statements:
        route = next((r for r in routes if r.start <= statement.offset < r.end), None)
        if route is None:
            background.append(statement)
        else:
            inside.append((route, statement))
    signatures = {s.signature for s in background if s.explainable}
    for route, statement in inside:
        if statement.explainable and statement.signature in signatures:
            background.append(statement)
        else:
            route.statements.append(statement)
    background.sort(key=lambda s: s.offset)
    return background


def replay_script(statements):
    """A psql script that replays `statements` in order in one transaction,
    rolled back: each explainable one prepared and explained (printed after
    its marker), the server's transactions as savepoints."""
    lines = [
        "\\pset format unaligned", "\\pset tuples_only on", "\\pset pager off",
        "BEGIN;", "SET LOCAL plan_cache_mode = force_generic_plan;",
    ]
    depth = {}
    for n, statement in enumerate(statements):
        sql = statement.sql.strip()
        word = sql.split(None, 1)[0].upper()
        pid = statement.pid
        if statement.explainable:
            name = f"minifb_explain_{n}"
            arguments = f"({', '.join(statement.params)})" if statement.params else ""
            lines += [
                f"\\echo {OUTPUT_MARK}{n}",
                f"PREPARE {name} AS {sql};",
                f"EXPLAIN (ANALYZE, BUFFERS) EXECUTE {name}{arguments};",
                f"DEALLOCATE {name};",
            ]
        elif word in ("BEGIN", "START"):
            depth[pid] = depth.get(pid, 0) + 1
            lines.append(f"SAVEPOINT t{pid}_{depth[pid]};")
        elif word in ("COMMIT", "END") and depth.get(pid):
            lines.append(f"RELEASE SAVEPOINT t{pid}_{depth[pid]};")
            depth[pid] -= 1
        elif word == "ROLLBACK" and not re.match(r"ROLLBACK\s+TO", sql, re.I) and depth.get(pid):
            lines.append(f"ROLLBACK TO SAVEPOINT t{pid}_{depth[pid]}; RELEASE SAVEPOINT t{pid}_{depth[pid]};")
            depth[pid] -= 1
        elif word in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
            # Diesel's nested transactions: `SAVEPOINT name`,
            # `RELEASE SAVEPOINT name`, `ROLLBACK TO SAVEPOINT name`.
            lines.append(re.sub(r"(\w+)\s*$", rf"p{pid}_\1", sql) + ";")
    lines.append("ROLLBACK;")
    return "\n".join(lines) + "\n"


def replay(db, statements):
    """Explains every explainable statement (plans set on the statements)."""
    for statement in statements:
        if statement.error:
            fail(f"the server's statement failed in PostgreSQL ({statement.error}): {statement.sql}")
    code, out, err = db.script(replay_script(statements))
    plans = {}
    current = None
    for line in out.splitlines():
        if line.startswith(OUTPUT_MARK):
            current = int(line[len(OUTPUT_MARK):])
            plans[current] = []
        elif current is not None:
            plans[current].append(line)
    if code != 0:
        failed = statements[current] if current is not None else None
        what = f"{failed.sql}\nparameters: {failed.params}" if failed else "the replay's set-up"
        fail(f"could not explain a statement the server sent:\n{what}\npsql: {err.strip()}")
    for n, statement in enumerate(statements):
        if statement.explainable:
            plan = plans.get(n)
            if not plan:
                fail(f"no plan printed for: {statement.sql}")
            statement.plan = plan


def plan_figures(plan):
    """(execution ms, buffers of the top node) of a plan."""
    ms = next((float(m.group(1)) for line in plan
               for m in [re.match(r"\s*Execution Time: ([\d.]+) ms", line)] if m), 0.0)
    buffers = next((line.strip()[len("Buffers: "):] for line in plan if line.strip().startswith("Buffers: ")),
                   "none")
    return ms, buffers


def shared_blocks(buffers):
    """Shared blocks hit + read + dirtied + written, from a Buffers line."""
    shared = re.search(r"shared ((?:\w+=\d+ ?)+)", buffers)
    if not shared:
        return 0
    return sum(int(n) for n in re.findall(r"(?:hit|read)=(\d+)", shared.group(1)))


def shown_params(params):
    def short(value):
        return value if len(value) <= 72 else value[:60] + "…'"
    return ", ".join(f"`${i} = {short(v)}`" for i, v in enumerate(params, 1))


def anchor(title):
    return re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")


def render(args, context, routes, background, db_facts):
    scale = args.scale
    out = [
        "# EXPLAIN plans of the statements minifb sends",
        "",
        "<!-- Generated by `make explain` (scripts/explain.sh, scripts/explain.py). "
        "Do not edit by hand: run `make explain` again. -->",
        "",
        "Generated by `make explain`; do not edit it by hand, run it again. Every",
        "statement below is one that `minifb-server` sent to PostgreSQL for the",
        "request named above it, as PostgreSQL's log recorded it, with its plan.",
        "",
        "## How these were taken",
        "",
        f"- Data: `minifb-seed --scale {scale} --seed {args.seed}` (`EXPLAIN_SCALE`, `EXPLAIN_SEED`), "
        f"{db_facts['version']}:",
        "",
        "  | table | rows |",
        "  | --- | --- |",
    ]
    for table, rows in db_facts["tables"]:
        out.append(f"  | {table} | {rows:,} |")
    out += [
        "",
        f"  Reads are made as `{context['me']}` (the user with the most notifications, "
        f"{context['notifications']:,}); timelines are of `{context['heavy']}` "
        f"({context['heavy_posts']:,} posts), comments of post {context['busy']} "
        f"({context['busy_comments']:,} comments). Deep pages start 90% of the way down their list.",
        "- The server ran with `log_statement = all` on its database; the script",
        "  sent the requests one at a time and took each request's statements",
        "  from the log, with the parameters logged beside them.",
        "- The statements were then replayed, all of them and in the order sent,",
        "  on a copy of the database taken after seeding and before the first",
        "  request, inside one transaction that was rolled back (the server's own",
        "  transactions became savepoints), so each statement found the rows the",
        "  earlier ones wrote, as it did when the server sent it. Each was run",
        "  as `PREPARE` and `EXPLAIN (ANALYZE, BUFFERS) EXECUTE` with",
        "  `plan_cache_mode = force_generic_plan`, as the server's pooled",
        "  connections plan (`adapters-postgres/src/pool.rs`): these are the",
        "  generic plans the server runs. `PREPARE` infers the parameters' types",
        "  from the statement, where the server declares them. The replay is one",
        "  session, as if every request had used the same pooled connection:",
        "  plans a session caches (those of the statements inside triggers) are",
        "  made by the first statement that needs them and kept for the later ones.",
        "- Times come from one run on whatever machine ran it; the buffer counts",
        "  (8 kB pages) are the stable measure. A statement whose text already",
        "  appeared above shows its figures only and links to the first plan.",
        "",
        "## Summary",
        "",
        "Per request: statements sent (explainable ones first, then transaction",
        "control and settings), the sum of their execution times, and the sum of",
        "the shared buffers (hit + read) of their top plan nodes.",
        "",
        "| request | status | statements (explained + other) | execution ms | shared buffers |",
        "| --- | --- | --- | --- | --- |",
    ]
    sections = [(f"`{r.method} {r.path}`", r.title, r.statements, r.status, r.note) for r in routes]
    sections.append(("Start-up, the request-statistics flush every 5 s, and shutdown "
                     "(which frees the stream's slot)", "Outside any request", background, None, ""))
    for heading, title, statements, status, _ in sections:
        explained = [s for s in statements if s.explainable]
        figures = [plan_figures(s.plan) for s in explained]
        ms = sum(f[0] for f in figures)
        blocks = sum(shared_blocks(f[1]) for f in figures)
        out.append(f"| [{title}](#{anchor(title)}) | {status or ''} | {len(explained)} + "
                   f"{len(statements) - len(explained)} | {ms:.2f} | {blocks:,} |")
    out.append("")
    heavy = [(title, n, shared_blocks(plan_figures(s.plan)[1]), plan_figures(s.plan)[0])
             for _, title, statements, _, _ in sections
             for n, s in enumerate(statements, 1) if s.explainable]
    heavy = [h for h in heavy if h[2] > HEAVY_BUFFERS]
    if heavy:
        out += [f"Statements that touched more than {HEAVY_BUFFERS:,} shared buffers:", ""]
        out += [f"- [{title}](#{anchor(title)}), number {n}: {blocks:,} buffers, {ms:.2f} ms"
                for title, n, blocks, ms in heavy]
        out.append("")

    first_seen = {}
    for heading, title, statements, status, note in sections:
        out += [f"## {title}", "", f"{heading}" + (f", answered {status}." if status else ".")
                + (f" {note}" if note else ""), ""]
        if not statements:
            out += ["No statements.", ""]
        utility = []
        for n, statement in enumerate(statements, 1):
            sql = statement.sql.strip()
            if not statement.explainable:
                utility.append(f"{n}. `{' '.join(sql.split())}`")
                continue
            if utility:
                out += utility + [""]
                utility = []
            out.append(f"{n}. " + ("parameters: " + shown_params(statement.params) if statement.params
                                   else "no parameters"))
            out.append("")
            seen = first_seen.get(sql)
            if seen:
                ms, buffers = plan_figures(statement.plan)
                out += [f"    The statement of [{seen[0]}](#{anchor(seen[0])}), number {seen[1]}: "
                        f"{ms:.3f} ms, buffers {buffers}.", ""]
                continue
            first_seen[sql] = (title, n)
            # Four spaces keep the blocks inside items 10 and beyond too.
            out += ["    ```sql"] + ["    " + line for line in sql.splitlines()] + ["    ```", ""]
            out += ["    ```text"] + ["    " + line for line in statement.plan] + ["    ```", ""]
        if utility:
            out += utility + [""]
    return "\n".join(line.rstrip() for line in out).rstrip() + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("phase", choices=["drive", "write"],
                        help="drive: send the requests (server running); write: explain and write (server stopped)")
    parser.add_argument("--state", required=True, help="where drive leaves the requests for write")
    parser.add_argument("--base")
    parser.add_argument("--admin-token")
    parser.add_argument("--outbox", help="the server's MINIFB_MAIL_OUTBOX")
    parser.add_argument("--plans-url", required=True)
    parser.add_argument("--psql", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--database", required=True)
    parser.add_argument("--scale")
    parser.add_argument("--seed")
    parser.add_argument("--out")
    args = parser.parse_args()
    db = Database(args.plans_url, args.psql)

    if args.phase == "drive":
        driver = Driver(args, db)
        driver.run()
        with open(args.state, "w") as f:
            json.dump({"context": driver.context, "routes": [vars(r) for r in driver.routes]}, f)
        return

    with open(args.state) as f:
        state = json.load(f)
    routes = []
    for saved in state["routes"]:
        route = Route(saved["title"], saved["method"], saved["path"], saved["status"], saved["note"])
        route.start, route.end = saved["start"], saved["end"]
        routes.append(route)
    statements = read_statements(args.log, args.database)
    log(f"{len(statements)} statements logged; replaying them on the copy")
    background = attribute(routes, statements)
    replay(db, statements)
    tables = ["users", "posts", "comments", "post_reactions", "comment_reactions", "notifications"]
    facts = {
        "version": "PostgreSQL " + db.value("SHOW server_version").split()[0],
        "tables": [(t, int(db.value(f"SELECT count(*) FROM {t}"))) for t in tables],
    }
    text = render(args, state["context"], routes, background, facts)
    with open(args.out, "w") as f:
        f.write(text)
    log(f"wrote {args.out} ({text.count(chr(10))} lines)")


if __name__ == "__main__":
    main()
