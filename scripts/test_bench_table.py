#!/usr/bin/env python3
"""Tests of scripts/bench-table.py against a summary built by scripts/bench.py's
own `Bench.summary` (so its shape is the one `make bench` writes) and a
results file shaped like scripts/live-bench.py's.

    python3 scripts/test_bench_table.py
"""

import contextlib
import importlib.util
import io
import json
import os
import tempfile
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = load("bench", "bench.py")
table = load("bench_table", "bench-table.py")


def row(name, rps, p50, p99, statements=1.0, rss=28000, errors=0, **extra):
    return dict({"name": name, "rps": rps, "p50_ms": p50, "p99_ms": p99, "p90_ms": p99, "max_ms": p99 * 2,
                 "errors": errors, "statements_per_request": statements, "rss_peak_kib": rss,
                 "cpu_bench": 0.97, "cpu_others": 0.03, "server_cpu_us": 150.0, "db_cpu_us": 200.0,
                 "server_over_db_cpu": 0.75}, **extra)


def oha_json(seconds, statuses, p50, p99, p999, ok=None, not_ok=None):
    """oha's --output-format json with --stats-success-breakdown, trimmed to
    what bench.py reads (latencies in seconds)."""
    result = {"summary": {"total": seconds, "slowest": p999 * 2},
              "latencyPercentiles": {"p50": p50, "p99": p99, "p99.9": p999},
              "statusCodeDistribution": {str(k): v for k, v in statuses.items()},
              "errorDistribution": {}}
    if ok is not None:
        result["latencyPercentilesSuccessful"] = ok
    if not_ok is not None:
        result["latencyPercentilesNotSuccessful"] = not_ok
    return result


def open_loop(flood_p99_s=0.024):
    """What Bench.open_loop records, from oha outputs of its three runs."""
    alone = bench.open_loop_figures(oha_json(20.0, {200: 47_500}, 0.0031, 0.008, 0.0125))
    feed = bench.open_loop_figures(oha_json(20.0, {200: 47_400, 503: 100}, 0.0042, flood_p99_s, 0.051))
    closed = bench.login_figures(oha_json(20.0, {200: 140}, 0.28, 0.3, 0.31, ok={"p50": 0.28, "p99": 0.3},
                                          not_ok={}))
    logins = bench.login_figures(oha_json(20.0, {200: 139, 503: 141}, 0.1, 0.45, 0.5,
                                          ok={"p50": 0.29, "p99": 0.45}, not_ok={"p50": 0.0012, "p99": 0.0031}))
    alone.update(server_cpu_us=150.0, db_cpu_us=200.0, server_over_db_cpu=0.75)
    feed.update(server_cpu_us=260.0, db_cpu_us=210.0, server_over_db_cpu=1.24)
    return {"feed_capacity_rps": 4750.0, "feed_rate_per_s": 2375, "connections": 238, "alone": alone,
            "login_capacity": closed, "login_rate_per_s": 14.0, "flood": {"feed": feed, "logins": logins}}


def summary(scale=1.0, feed_during_logins_p99=12.0, rss=28000, flood_p99_s=0.024):
    """What bench.py's Bench.summary makes of these scenario rows."""
    feed_rounds = [row("feed_first", 4800.0, 6.6, 8.8), row("feed_first", 4700.0, 6.7, 9.7)]
    results = {
        "feed_first": dict(row("feed_first", 4750.0, 6.65, 9.25), rounds=feed_rounds),
        "feed_deep": row("feed_deep", 4400.0, 7.1, 10.5),
        "timeline_heavy_first": row("timeline_heavy_first", 5900.0, 5.4, 7.6),
        "timeline_heavy_deep": row("timeline_heavy_deep", 5300.0, 6.0, 8.4),
        "post_detail": row("post_detail", 9400.0, 3.4, 6.1, rss=rss),
        "comments_page": row("comments_page", 5600.0, 5.6, 8.1),
        "notifications_page": row("notifications_page", 6300.0, 5.0, 9.0),
        "write_mix": row("write_mix", 1700.0, 18.7, 23.5, statements=3.5),
        "feed_during_logins": row("feed_during_logins", 4200.0, 7.4, feed_during_logins_p99, statements=1.01,
                                  logins_rps=6.5, login_p50_ms=1220.0, login_p99_ms=1460.0, login_errors=0),
        "service_stats": row("service_stats", 9800.0, 3.2, 6.2),
        "db_ceiling": row("db_ceiling", 15400.0, 1.8, 4.4, rss=None),
    }
    stub = types.SimpleNamespace(
        results=results,
        context={"posts": 1_000_000, "users": 100_000, "comments": 1_000_000, "notifications": 3_999_961,
                 "feed_deep_depth": 90_000, "timeline_user": "someone", "timeline_user_posts": 82_445,
                 "timeline_deep_depth": 10_000, "notifications_user": "someone",
                 "notifications_user_count": 322_356, "notifications_user_unread": 35_545},
        open_loop_results=open_loop(flood_p99_s),
        duration=20, warmup=5, connections=32,
        args=types.SimpleNamespace(scale=scale, seed=2026, admin_token="t"),
        api=types.SimpleNamespace(pool_size=lambda token: 4),
    )
    return bench.Bench.summary(stub)


LIVE = {
    "machine": {"cpus": 2, "cpu": "x", "kernel": "y", "python": "3"},
    "commit": "abc1234",
    "measured_at": "2026-12-06T22:00Z",
    "load_average_before": [1.0, 1.0, 1.0],
    "streams": 10000,
    "idle_stream_kib": 11.5,
    "delivery_p99_ms": 142.0,
    "dropped_streams": 0,
    "lost_events": 0,
    "idle": {
        "rss_kib": {"no_streams": 20720, "with_streams": 138480, "after_fan_out": 140000},
        "seconds_to_open_streams": 11.1,
        "open_streams_reported_by_b": 10000,
    },
    "fan_out": {
        "rate_per_s": 500.0, "seconds": 20.0, "writes": 10000, "write_errors": 0,
        "writes_per_s_achieved": 499.0, "expected_events": 50000, "delivered_events": 50000,
        "delivery_ms": {"p50": 8.0, "p99": 142.0, "p99.9": 170.0, "max": 190.0},
        "write_response_ms": {"p50": 5.0, "p99": 30.0},
        "event_after_response_ms": {"p50": 0.5, "p99": 12.0},
        "b_cpu_us_per_event": 30.0, "b_cpu_share": 0.2, "a_cpu_us_per_write": 300.0,
        "client_cpu_share": 0.4, "client_loop_lateness_ms": {"p99": 2.0, "max": 10.0},
        "open_streams_reported_by_b_after": 10000,
    },
    "serial": {
        "events": 200,
        "delivery_ms": {"median": 5.24, "p99": 18.11, "max": 48.1},
        "write_response_ms": {"median": 4.43, "p99": 17.43, "max": 40.0},
        "event_after_response_ms": {"median": 0.77, "p99": 6.37},
    },
}

DOC = """# Performance

Before.

<!-- bench-table:start -->
Instructions for an empty table.
<!-- bench-table:end -->

Between.

<!-- live-table:start -->
<!-- live-table:end -->

After.
"""


class BenchTable(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.doc = os.path.join(self.dir.name, "performance.md")
        with open(self.doc, "w") as f:
            f.write(DOC)

    def tearDown(self):
        self.dir.cleanup()

    def write(self, name, data):
        path = os.path.join(self.dir.name, name)
        with open(path, "w") as f:
            json.dump(data, f)
        return path

    def rewrite(self, *argv):
        with contextlib.redirect_stderr(io.StringIO()):
            table.main(list(argv) + ["--doc", self.doc])
        with open(self.doc) as f:
            return f.read()

    def assert_all_in(self, section, expected):
        for line in expected:
            with self.subTest(line=line):
                self.assertIn(line, section)

    def section(self, text, markers):
        start, end = markers
        return text[text.index(start) + len(start):text.index(end)]

    def test_every_scenario_and_target_is_written_between_the_markers_only(self):
        text = self.rewrite("--summary", self.write("summary.json", summary()))
        section = self.section(text, table.BENCH_MARKERS)
        self.assertNotIn("Instructions", section)
        for name in bench.READ_SCENARIOS + ["write_mix", "feed_during_logins", "db_ceiling"]:
            self.assertIn(f"| {name} |", section)
        self.assert_all_in(section, [
            "| feed_first | 4750.0 | 6.65 | 9.25 | 0 | 1.0 | 28000 | 3% | 150.0 | 200.0 | 0.75 |",
            "`BENCH_SCALE=1 make bench` at commit `",
            "a pool of 4 database connections",
            "Data: 100,000 users, 1,000,000 posts",
            "the busiest author has 82,445 posts",
            "logins without pause ran at 6.5/s (p50 1220.0 ms",
            "`feed_first` 4800.0 / 6.6 / 8.8, 4700.0 / 6.7 / 9.7",
        ])
        # Outside the markers nothing moves, the live section included.
        self.assertEqual(text.replace(section, "\nInstructions for an empty table.\n"), DOC)

    def test_each_target_says_whether_it_holds(self):
        text = self.rewrite("--summary", self.write("summary.json", summary(feed_during_logins_p99=27.75)))
        section = self.section(text, table.BENCH_MARKERS)
        # The retired ratios are figures without a bound: 4750 / 15400 =
        # 0.31 of the ceiling, 27.75 / 9.25 = 3.0 during logins.
        self.assert_all_in(section, [
            "| `feed_rps_over_db_ceiling` | 0.31 | | | retired: rps of `feed_first` / tps of `db_ceiling` |",
            "| `feed_p99_logins_over_alone` | 3.0 | | | retired: ",
            # 24 ms during the flood over 8 ms alone.
            "| `feed_p99_open_loop_flood_over_alone` | 3.0 | ≤ 3 | yes |",
            "| `login_refusal_p99_ms` | 3.1 | ≤ 100 | yes |",
            "| `open_loop_errors` | 100 | ≤ 0 | **no** |",
            "| `server_cpu_over_db_cpu_feed` | 0.75 | ≤ 0.8 | yes |",
            "| `feed_deep_over_first_p50` | 1.07 | ≤ 1.2 | yes | p50 of `feed_deep` / of `feed_first`: does depth cost? |",
            "| `statements_per_read_request` | 1.0 | ≤ 1 | yes |",
            "| largest RSS peak, KiB | 28000 | ≤ 32768 | yes |",
            "| errors, all scenarios | 0 | 0 | yes |",
        ])

    def test_the_open_loop_runs_and_the_logins_are_written(self):
        section = self.section(self.rewrite("--summary", self.write("summary.json", summary(flood_p99_s=0.0241))),
                               table.BENCH_MARKERS)
        self.assert_all_in(section, [
            "the feed at 2375/s, half of `feed_first`'s 4750.0 rps, on 238 connections.",
            "| feed alone | 2375.0 | 3.1 | 8.0 | 12.5 | 25.0 | 0 | 150.0 | 200.0 |",
            "| feed during the login flood | 2375.0 | 4.2 | 24.1 | 51.0 | 102.0 | 100 | 260.0 | 210.0 |",
            "the hashing threads served 7.0/s closed loop; during the flood they arrived at 14.0/s",
            "6.95/s were served (p50 290.0 ms, p99 450.0 ms), 50% refused with 503 (p50 1.2 ms, p99 3.1 ms), "
            "0 other errors.",
            "| `feed_p99_open_loop_flood_over_alone` | 3.01 | ≤ 3 | **no** |",
        ])

    def test_open_loop_rates_count_over_the_sending_time_not_the_wait_for_the_last_answers(self):
        # oha's total is 25 s: 20 s of sending, then 5 s waiting for answers.
        result = oha_json(25.0, {200: 100, 503: 100}, 0.1, 0.5, 0.9, ok={"p50": 0.4, "p99": 0.9},
                          not_ok={"p50": 0.001, "p99": 0.002})
        logins = bench.login_figures(result, 20)
        feed = bench.open_loop_figures(result, 20)
        self.assertEqual((logins["served_per_s"], logins["offered_per_s"], logins["refused_share"]), (5.0, 10.0, 0.5))
        self.assertEqual((feed["rps"], feed["errors"], feed["p99_9_ms"]), (10.0, 100, 900.0))

    def test_the_replica_run_says_where_reads_went_and_what_the_primary_paid(self):
        data = summary()
        data["replica"] = {"scenarios": [
            {"name": "feed_first_anonymous", "rps": 4100.0, "p50_ms": 7.1, "p99_ms": 11.0, "errors": 0,
             "reads_primary": 0, "reads_replica": 82000, "replica_share": 1.0,
             "primary_statements_per_request": 0.0, "server_cpu_us": 210.0, "primary_cpu_us": 3.0,
             "replica_cpu_us": 190.0},
            {"name": "feed_first", "rps": 3900.0, "p50_ms": 7.4, "p99_ms": 12.0, "errors": 0,
             "reads_primary": 10, "reads_replica": 77990, "replica_share": 0.9999,
             "primary_statements_per_request": 0.31, "server_cpu_us": 230.0, "primary_cpu_us": 20.0,
             "replica_cpu_us": 195.0},
        ]}
        section = self.section(self.rewrite("--summary", self.write("summary.json", data)), table.BENCH_MARKERS)
        self.assert_all_in(section, [
            "| feed_first_anonymous | 4100.0 | 7.1 | 11.0 | 0 | 100.0% | 0.0 | 210.0 | 3.0 | 190.0 |",
            "| feed_first | 3900.0 | 7.4 | 12.0 | 0 | 100.0% | 0.31 | 230.0 | 20.0 | 195.0 |",
        ])

    def test_a_run_without_the_open_loop_leaves_its_targets_not_measured(self):
        data = summary()
        data["open_loop"] = None
        data["ratios"].update(bench.open_loop_ratios(None))
        section = self.section(self.rewrite("--summary", self.write("summary.json", data)), table.BENCH_MARKERS)
        self.assertNotIn("Open loop", section)
        self.assertIn("| `feed_p99_open_loop_flood_over_alone` |  | ≤ 3 | not measured |", section)

    def test_memory_over_its_bound_fails_and_a_small_scale_says_so(self):
        text = self.rewrite("--summary", self.write("summary.json", summary(scale=0.1, rss=40000)))
        section = self.section(text, table.BENCH_MARKERS)
        self.assertIn("`BENCH_SCALE=0.1 make bench`", section)
        self.assertIn("| largest RSS peak, KiB | 40000 | ≤ 32768 | **no** (the bound is for scale 1) |", section)

    def test_a_missing_side_is_not_measured(self):
        data = summary()
        data["scenarios"] = [s for s in data["scenarios"] if s["name"] != "db_ceiling"]
        data["ratios"]["server_cpu_over_db_cpu_feed"] = None
        section = self.section(self.rewrite("--summary", self.write("summary.json", data)), table.BENCH_MARKERS)
        self.assertIn("| `server_cpu_over_db_cpu_feed` |  | ≤ 0.8 | not measured |", section)

    def test_rewriting_twice_gives_the_same_document(self):
        path = self.write("summary.json", summary())
        once = self.rewrite("--summary", path)
        self.assertEqual(self.rewrite("--summary", path), once)

    def test_the_live_table_comes_from_live_json(self):
        text = self.rewrite("--live", self.write("live.json", LIVE))
        section = self.section(text, table.LIVE_MARKERS)
        self.assertIn("`make bench-live` at commit `abc1234`", section)
        self.assertIn("10,000 streams on B, then 500 comments/s through A for 20 s", section)
        self.assertIn("| serial: delivery median / p99 / max (200 writes one after another) | 5.24 / 18.11 / 48.10 ms |", section)
        self.assertIn("| per idle stream | 11.5 KiB |", section)
        self.assertIn("| fan-out: delivery p50 / p99 / p99.9 / max | 8.0 / 142.0 / 170.0 / 190.0 ms |", section)
        self.assertIn("| `idle_stream_kib` | 11.5 | ≤ 12 | yes |", section)
        self.assertIn("| `delivery_p99_ms` | 142.0 | ≤ 100 | **no** |", section)
        self.assertIn("| `streams` | 10000 | ≥ 10000 | yes |", section)
        self.assertIn("Instructions for an empty table.", text)

    def test_a_document_without_markers_is_refused_and_left_alone(self):
        with open(self.doc, "w") as f:
            f.write("# Performance\n")
        with self.assertRaises(SystemExit):
            self.rewrite("--summary", self.write("summary.json", summary()))
        with open(self.doc) as f:
            self.assertEqual(f.read(), "# Performance\n")

    def test_the_real_document_has_both_sections(self):
        with open(table.DOC) as f:
            text = f.read()
        for start, end in (table.BENCH_MARKERS, table.LIVE_MARKERS):
            self.assertLess(text.index(start), text.index(end))


def stat_fields(ppid, utime, stime, cutime=0, cstime=0):
    """/proc/PID/stat's fields after "(comm)" with these times."""
    fields = ["S", str(ppid)] + ["0"] * 9 + [str(utime), str(stime), str(cutime), str(cstime)]
    return fields + ["0"] * 5


class LoggedStatements(unittest.TestCase):
    def test_the_background_flush_on_the_requests_backend_is_left_out(self):
        log = "\n".join([
            "2026-12-07 00:35:01 UTC [41] LOG:  duration: 0.1 ms  execute s1: INSERT INTO request_counts "
            "(minute) SELECT * FROM unnest($1)",
            "2026-12-07 00:35:01 UTC [41] DETAIL:  parameters: $1 = '{x}'",
            "2026-12-07 00:35:01 UTC [41] LOG:  duration: 0.1 ms  execute s2: INSERT INTO request_latency_counts "
            "(minute) SELECT * FROM unnest($1)",
            "2026-12-07 00:35:01 UTC [41] DETAIL:  parameters: $1 = '{y}'",
            "2026-12-07 00:35:01 UTC [41] LOG:  duration: 0.2 ms  execute s3: SELECT id FROM posts WHERE id < $1",
            "2026-12-07 00:35:01 UTC [41] DETAIL:  parameters: $1 = '90'",
        ])
        self.assertEqual(bench.parse_logged_statements(log), [("SELECT id FROM posts WHERE id < $1", {"1": "90"})])


class ProcessTreeTicks(unittest.TestCase):
    def test_a_child_reaped_while_the_children_are_read_is_counted_once(self):
        # Postmaster 1 (2 + 1 ticks of its own, 10 + 5 reaped), backend 7
        # (30 + 10) that exits and is reaped while the first sample reads
        # /proc: the first sample finds it in neither place and is taken
        # again.
        reaped = {"done": False}

        def stat(pid):
            if pid == "1":
                extra = 40 if reaped["done"] else 0
                return stat_fields(0, 2, 1, 10 + extra, 5)
            if pid == "7" and not reaped["done"]:
                return stat_fields(1, 30, 10)
            return None

        scans = []

        def pids():
            scans.append(1)
            if len(scans) == 1:
                reaped["done"] = True  # gone before it is read
            return ["1", "7"]

        self.assertEqual(bench.process_tree_ticks("1", stat, pids), 2 + 1 + 50 + 5)
        self.assertEqual(len(scans), 2)

    def test_live_children_count_their_own_time_and_others_do_not(self):
        table = {"1": stat_fields(0, 1, 1, 3, 4), "7": stat_fields(1, 5, 6, 100, 100),
                 "8": stat_fields(2, 1000, 1000)}
        ticks = bench.process_tree_ticks("1", table.get, lambda: list(table))
        self.assertEqual(ticks, 1 + 1 + 3 + 4 + 5 + 6)
        self.assertIsNone(bench.process_tree_ticks("9", table.get, lambda: list(table)))


if __name__ == "__main__":
    unittest.main()
