#!/usr/bin/env python3
"""Writes the current figures into docs/performance.md from the benches' output.

The section between `<!-- bench-table:start -->` and `<!-- bench-table:end -->`
is rebuilt from target/bench/summary.json (scripts/bench.py's summary: the
scenarios, the ratios, the context of the run), with each target and whether
it holds; the section between `<!-- live-table:start -->` and
`<!-- live-table:end -->` from target/bench/live.json (scripts/live-bench.py).
Nothing else in the document changes, so the figures there are always a
run's own and cannot drift from it.

    python3 scripts/bench-table.py                      # every JSON file present
    python3 scripts/bench-table.py --summary FILE       # only the make bench table
    python3 scripts/bench-table.py --live FILE          # only the make bench-live table

scripts/bench.sh runs it at the end of `make bench`, and the Makefile after
`make bench-live`. Standard library only.
"""

import argparse
import datetime
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "performance.md")
SUMMARY = os.path.join(ROOT, "target", "bench", "summary.json")
LIVE = os.path.join(ROOT, "target", "bench", "live.json")

BENCH_MARKERS = ("<!-- bench-table:start -->", "<!-- bench-table:end -->")
LIVE_MARKERS = ("<!-- live-table:start -->", "<!-- live-table:end -->")

# Every figure the benches are held to: which run has it (`bench`:
# summary.json's `ratios`; `live`: `make bench-live`'s live.json), its
# name there, the comparison and bound (None for the two retired ratios,
# kept as figures), and what it compares.
TARGETS = [
    ("bench", "feed_deep_over_first_p50", "<=", 1.2, "p50 of `feed_deep` / of `feed_first`: does depth cost?"),
    ("bench", "timeline_deep_over_first_p50", "<=", 1.2, "the same for the busiest author's timeline"),
    ("bench", "notifications_over_feed_p50", "<=", 1.2, "p50 of `notifications_page` / of `feed_first`"),
    ("bench", "feed_p99_open_loop_flood_over_alone", "<=", 3, "the feed's open-loop p99 during the login flood / alone"),
    ("bench", "login_refusal_p99_ms", "<=", 100, "p99 of the 503s to logins during the flood"),
    ("bench", "open_loop_errors", "<=", 0, "open loop: answers other than 2xx to the feed, other than 200 and 503 to logins"),
    ("bench", "server_cpu_over_db_cpu_feed", "<=", 0.8, "`feed_first`: server CPU / PostgreSQL CPU per request"),
    ("bench", "max_p99_over_p50_reads", "<=", 4, "the largest p99 / p50 among the read scenarios"),
    ("bench", "service_stats_over_feed_p50", "<=", 0.5, "p50 of `service_stats` / of `feed_first`"),
    ("bench", "statements_per_read_request", "<=", 1, "the largest `statements_per_request` among the read scenarios"),
    ("bench", "feed_p99_logins_over_alone", None, None, "retired: p99 of `feed_during_logins` / of `feed_first`"),
    ("bench", "feed_rps_over_db_ceiling", None, None, "retired: rps of `feed_first` / tps of `db_ceiling`"),
    ("live", "idle_stream_kib", "<=", 12, "B's VmRSS growth per idle stream"),
    ("live", "delivery_p99_ms", "<=", 100, "fan-out: p99 from a write being due to its event"),
    ("live", "dropped_streams", "<=", 0, "streams B closed during the run"),
    ("live", "lost_events", "<=", 0, "fan-out events never delivered"),
    ("live", "streams", ">=", 10000, "streams held open on B"),
]
# Peak resident memory of the server in every scenario, at scale 1.
RSS_TARGET_KIB = 32 * 1024
SIGNS = {"<=": "≤", ">=": "≥"}

SCENARIO_COLUMNS = [
    ("rps", "rps"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("errors", "errors"),
    ("statements_per_request", "statements/request"),
    ("rss_peak_kib", "RSS peak KiB"),
    ("cpu_others", "CPU others"),
    ("server_cpu_us", "server CPU µs/request"),
    ("db_cpu_us", "PostgreSQL CPU µs/request"),
    ("server_over_db_cpu", "server / PostgreSQL CPU"),
]

OPEN_LOOP_COLUMNS = [
    ("rps", "rps"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("p99_9_ms", "p99.9 ms"),
    ("max_ms", "max ms"),
    ("errors", "errors"),
    ("server_cpu_us", "server CPU µs/request"),
    ("db_cpu_us", "PostgreSQL CPU µs/request"),
]


def cell(key, value):
    if value is None:
        return ""
    if key == "cpu_others":
        return f"{value:.0%}"
    return str(value)


def figure(value):
    """A figure in a sentence ("?" when not recorded)."""
    return "?" if value is None else str(value)


def count(value):
    """A count with thousands separators ("?" when not recorded)."""
    return f"{value:,}" if isinstance(value, int) else "?" if value is None else str(value)


def holds(value, op, bound):
    if value is None:
        return "not measured"
    ok = value <= bound if op == "<=" else value >= bound
    return "yes" if ok else "**no**"


def target_rows(figures, run):
    """The head of a table of `run`'s targets and a row for each, its figure
    from `figures`."""
    rows = ["| target | value | bound | holds? | what it compares |", "| --- | ---: | ---: | --- | --- |"]
    for _, name, op, bound, meaning in (t for t in TARGETS if t[0] == run):
        value = figures.get(name)
        if op is None:
            rows.append(f"| `{name}` | {cell(name, value)} | | | {meaning} |")
        else:
            rows.append(f"| `{name}` | {cell(name, value)} | {SIGNS[op]} {bound} | "
                        f"{holds(value, op, bound)} | {meaning} |")
    return rows


def scale_text(scale):
    return str(int(scale)) if float(scale).is_integer() else str(scale)


def when(data, path):
    """The run's recorded time, or else when its file was written."""
    recorded = data.get("measured_at")
    if recorded:
        return recorded
    written = datetime.datetime.fromtimestamp(os.path.getmtime(path), datetime.timezone.utc)
    return written.strftime("%Y-%m-%dT%H:%MZ") + " (file written)"


def bench_table(summary, path):
    ctx = summary.get("context", {})
    scenarios = summary.get("scenarios", [])
    by_name = {s["name"]: s for s in scenarios}
    scale = ctx.get("scale")
    lines = []
    head = f"`BENCH_SCALE={scale_text(scale)} make bench`" if scale is not None else "`make bench`"
    autogroup = {True: "on", False: "off"}.get(ctx.get("sched_autogroup"), "not known")
    lines.append(
        f"{head} at commit `{ctx.get('commit') or 'not recorded'}`, {when(ctx, path)}: "
        f"{ctx.get('duration_s', '?')} s per scenario after {ctx.get('warmup_s', '?')} s of warm-up, "
        f"{ctx.get('connections', '?')} connections, a pool of {ctx.get('db_pool_size', '?')} "
        f"database connections, scheduler autogroups {autogroup}.")
    if "posts" in ctx:
        n = lambda key: count(ctx.get(key))
        lines.append(
            f"Data: {n('users')} users, {n('posts')} posts, {n('comments')} comments, "
            f"{n('notifications')} notifications; the busiest author has {n('timeline_user_posts')} posts, "
            f"the most notified user {n('notifications_user_count')} notifications "
            f"({n('notifications_user_unread')} unread); depths: feed {n('feed_deep_depth')}, "
            f"timeline {n('timeline_deep_depth')}.")
    lines.append("")
    lines.append("| scenario | " + " | ".join(title for _, title in SCENARIO_COLUMNS) + " |")
    lines.append("| --- |" + " ---: |" * len(SCENARIO_COLUMNS))
    for s in scenarios:
        lines.append("| " + " | ".join([s["name"]] + [cell(k, s.get(k)) for k, _ in SCENARIO_COLUMNS]) + " |")
    logins = by_name.get("feed_during_logins")
    if logins and logins.get("logins_rps") is not None:
        lines.append("")
        lines.append(
            f"During `feed_during_logins`, logins without pause ran at {logins['logins_rps']}/s "
            f"(p50 {logins.get('login_p50_ms')} ms, p99 {logins.get('login_p99_ms')} ms, "
            f"{logins.get('login_errors')} errors).")
    rounds = [s for s in scenarios if s.get("rounds")]
    if rounds:
        lines.append("Rounds (rps / p50 / p99; the rows above hold their medians): " + "; ".join(
            f"`{s['name']}` " + ", ".join(f"{r.get('rps')} / {r.get('p50_ms')} / {r.get('p99_ms')}"
                                          for r in s["rounds"]) for s in rounds) + ".")
    lines += open_loop_lines(summary.get("open_loop"))
    lines.append("")
    ratios = summary.get("ratios", {})
    lines += target_rows(ratios, "bench")
    known = {name for run, name, *_ in TARGETS if run == "bench"}
    for name, value in ratios.items():
        if name not in known:
            lines.append(f"| `{name}` | {cell(name, value)} | | | |")
    rss = [s["rss_peak_kib"] for s in scenarios if s.get("rss_peak_kib") is not None]
    peak = max(rss, default=None)
    rss_holds = holds(peak, "<=", RSS_TARGET_KIB)
    if peak is not None and scale is not None and float(scale) != 1:
        rss_holds += " (the bound is for scale 1)"
    lines.append(f"| largest RSS peak, KiB | {cell('rss', peak)} | ≤ {RSS_TARGET_KIB} | {rss_holds} | the server's peak VmHWM |")
    errors = sum(s.get("errors") or 0 for s in scenarios) if scenarios else None
    lines.append(f"| errors, all scenarios | {cell('errors', errors)} | 0 | {holds(errors, '<=', 0)} | answers not 2xx or 3xx, socket errors |")
    lines += writes_table(summary.get("writes"))
    lines += replica_table(summary.get("replica"))
    return lines


def replica_table(replica):
    """The read scenarios through a server that reads from one streaming
    replica, by users who have not written, from summary.json's `replica`."""
    if not replica:
        return []
    lines = [
        "",
        "Reads through a second server with one streaming replica of the same database, on the same "
        "machine (`replica`; signed-in readers who have not written, and anonymous ones):",
        "",
        "| scenario | rps | p50 ms | p99 ms | errors | from the replica | primary statements / request "
        "| server CPU µs | primary CPU µs | replica CPU µs |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in replica.get("scenarios", []):
        share = row.get("replica_share")
        lines.append(
            f"| {row['name']} | {cell('rps', row.get('rps'))} | {cell('p50_ms', row.get('p50_ms'))} "
            f"| {cell('p99_ms', row.get('p99_ms'))} | {cell('errors', row.get('errors'))} "
            f"| {'—' if share is None else f'{share:.1%}'} "
            f"| {cell('statements', row.get('primary_statements_per_request'))} "
            f"| {cell('server_cpu_us', row.get('server_cpu_us'))} | {cell('primary_cpu_us', row.get('primary_cpu_us'))} "
            f"| {cell('replica_cpu_us', row.get('replica_cpu_us'))} |")
    return lines


def writes_table(writes):
    """Each write route's round trips (statements besides BEGIN and COMMIT)
    and PostgreSQL CPU per request, from summary.json's `writes`."""
    if not writes:
        return []
    lines = [
        "",
        "Writes, route by route (`writes`: each run on its own, after a warm-up; PostgreSQL's CPU counts "
        "its background work too):",
        "",
        "| write | requests | rps | errors | round trips | PostgreSQL CPU µs | target | holds? |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for route, row in writes.items():
        lines.append(
            f"| `{route}` | {cell('requests', row.get('requests'))} | {cell('rps', row.get('rps'))} "
            f"| {cell('errors', row.get('errors'))} | {cell('round_trips', row.get('round_trips'))} "
            f"| {cell('pg_cpu_us', row.get('pg_cpu_us'))} | ≤ {row.get('target')} "
            f"| {holds(row.get('round_trips'), '<=', row.get('target'))} |")
    return lines


def open_loop_lines(run):
    """The feed open loop, alone and during the login flood, and what
    became of the logins."""
    if not run:
        return []
    rows = (("feed alone", run["alone"]), ("feed during the login flood", run["flood"]["feed"]))
    closed, logins = run["login_capacity"], run["flood"]["logins"]
    refused = logins.get("refused_share")
    lines = [
        "",
        f"Open loop (oha, latency counted from when each request was due): the feed at "
        f"{run['feed_rate_per_s']}/s, half of `feed_first`'s {run['feed_capacity_rps']} rps, "
        f"on {run['connections']} connections.",
        "",
        "| open loop | " + " | ".join(title for _, title in OPEN_LOOP_COLUMNS) + " |",
        "| --- |" + " ---: |" * len(OPEN_LOOP_COLUMNS),
    ]
    for name, figures in rows:
        lines.append("| " + " | ".join([name] + [cell(k, figures.get(k)) for k, _ in OPEN_LOOP_COLUMNS]) + " |")
    lines += [
        "",
        f"Logins: the hashing threads served {closed['served_per_s']}/s closed loop; during the flood they "
        f"arrived at {run['login_rate_per_s']}/s (twice that), {logins['served_per_s']}/s were served "
        f"(p50 {figure(logins.get('served_p50_ms'))} ms, p99 {figure(logins.get('served_p99_ms'))} ms), "
        f"{'?' if refused is None else f'{refused:.0%}'} refused with 503 "
        f"(p50 {figure(logins.get('refusal_p50_ms'))} ms, p99 {figure(logins.get('refusal_p99_ms'))} ms), "
        f"{logins['other_errors']} other errors.",
    ]
    return lines


def live_table(live, path):
    serial, fan, idle = live["serial"], live["fan_out"], live["idle"]
    d, w, e, fd = serial["delivery_ms"], serial["write_response_ms"], serial["event_after_response_ms"], fan["delivery_ms"]
    rss = idle["rss_kib"]
    lines = [
        f"`make bench-live` at commit `{live.get('commit') or 'not recorded'}`, {when(live, path)}: "
        f"{count(live['streams'])} streams on B, then {fan['rate_per_s']:g} comments/s through A "
        f"for {fan['seconds']:g} s; load average before "
        f"{', '.join(f'{x:.2f}' for x in live.get('load_average_before', []))}.",
        "",
        "| measure | value |",
        "| --- | --- |",
        f"| serial: delivery median / p99 / max ({serial['events']} writes one after another) | "
        f"{d['median']:.2f} / {d['p99']:.2f} / {d['max']:.2f} ms |",
        f"| serial: the write's response time, median / p99 | {w['median']:.2f} / {w['p99']:.2f} ms |",
        f"| serial: event after the write's response, median / p99 | {e['median']:.2f} / {e['p99']:.2f} ms |",
        f"| B's VmRSS: no stream open / {live['streams']} idle streams / after the fan-out | "
        f"{rss['no_streams']} / {rss['with_streams']} / {rss['after_fan_out']} KiB |",
        f"| per idle stream | {live['idle_stream_kib']:.1f} KiB |",
        f"| opening the streams | {idle['seconds_to_open_streams']:.1f} s |",
        f"| fan-out: writes per second achieved (errors) | {fan['writes_per_s_achieved']:.1f} ({fan['write_errors']}) |",
        f"| fan-out: events delivered / expected | {fan['delivered_events']} / {fan['expected_events']} |",
        f"| fan-out: delivery p50 / p99 / p99.9 / max | "
        f"{fd['p50']:.1f} / {fd['p99']:.1f} / {fd['p99.9']:.1f} / {fd['max']:.1f} ms |",
        f"| fan-out: the write's response p50 / p99; the event after it p50 / p99 | "
        f"{fan['write_response_ms']['p50']:.1f} / {fan['write_response_ms']['p99']:.1f}; "
        f"{fan['event_after_response_ms']['p50']:.1f} / {fan['event_after_response_ms']['p99']:.1f} ms |",
        f"| fan-out: B's CPU per delivered event (B's share of a core) | "
        f"{fan['b_cpu_us_per_event']:.1f} µs ({fan['b_cpu_share']:.0%}) |",
        f"| fan-out: A's CPU per write | {fan['a_cpu_us_per_write']:.0f} µs |",
        f"| fan-out: the client's share of a core, its loop's lateness p99 / max | "
        f"{fan['client_cpu_share']:.0%}, {fan['client_loop_lateness_ms']['p99']:.1f} / "
        f"{fan['client_loop_lateness_ms']['max']:.1f} ms |",
        "",
    ]
    return lines + target_rows(live, "live")


def replace_between(text, markers, lines, doc):
    start, end = markers
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise SystemExit(f"bench-table: {doc} has no `{start}` ... `{end}` section")
    return text[:i + len(start)] + "\n" + "\n".join(lines) + "\n" + text[j:]


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--summary", help=f"make bench's summary (default {os.path.relpath(SUMMARY, ROOT)})")
    parser.add_argument("--live", help=f"make bench-live's results (default {os.path.relpath(LIVE, ROOT)})")
    parser.add_argument("--doc", default=DOC, help="the document to rewrite")
    args = parser.parse_args(argv)

    if args.summary is None and args.live is None:
        inputs = [(p, m, f) for p, m, f in ((SUMMARY, BENCH_MARKERS, bench_table), (LIVE, LIVE_MARKERS, live_table))
                  if os.path.exists(p)]
        if not inputs:
            raise SystemExit(f"bench-table: neither {SUMMARY} nor {LIVE} exists; run make bench or make bench-live")
    else:
        inputs = []
        if args.summary is not None:
            inputs.append((args.summary, BENCH_MARKERS, bench_table))
        if args.live is not None:
            inputs.append((args.live, LIVE_MARKERS, live_table))

    with open(args.doc, encoding="utf-8") as f:
        text = f.read()
    for path, markers, render in inputs:
        text = replace_between(text, markers, render(load(path), path), args.doc)
        print(f"bench-table: {args.doc} updated from {path}", file=sys.stderr)
    with open(args.doc, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
