//! The back office over several processes: open streams counted from the
//! shared slot table, the per-minute rows of the last hour, and p50/p99
//! latency per endpoint summed over every process.

use minifb_tests::{Reply, TestApp};
use serde_json::Value;

/// A server started here, a second process on its database (as behind a
/// balancer), and the admin token; `None` (skipped, saying so) against a
/// server the suite did not start.
async fn two_processes() -> Option<(TestApp, TestApp, String)> {
    let (app, token) = TestApp::with_admin_token().await?;
    if app.skip_unless_local() {
        return None;
    }
    let sibling = app.sibling().await;
    Some((app, sibling, token))
}

/// `n` answered `GET /health`s from `app`.
async fn health_checks(app: &TestApp, n: usize) {
    for _ in 0..n {
        app.get("/health", None).await.assert_status(200);
    }
}

/// The server statistics once `stored` (rows as other processes store
/// them) has run.
async fn server_stats_after(app: &TestApp, token: &str, stored: &str) -> Reply {
    app.sql(stored).await;
    app.get("/admin/stats/server", Some(token)).await
}

fn open_streams(stats: &Value) -> (i64, Vec<i64>) {
    let mut by_process: Vec<i64> = stats["open_streams_by_process"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_i64().unwrap())
        .collect();
    by_process.sort_unstable();
    (stats["open_streams_total"].as_i64().unwrap(), by_process)
}

#[tokio::test]
async fn open_streams_are_counted_over_every_process_sharing_the_database() {
    let Some((app, sibling, token)) = two_processes().await else {
        return;
    };
    let alice = app.user("streams-a").await;
    let bob = app.user("streams-b").await;
    let mut alices = vec![
        app.stream_of(&alice, None).await,
        app.stream_of(&alice, None).await,
    ];
    let _bobs = sibling.stream_of(&bob, None).await;

    for (process, its_own) in [(&app, 2), (&sibling, 1)] {
        let stats = process
            .get("/admin/stats/server", Some(&token))
            .await
            .body
            .clone();
        assert_eq!(open_streams(&stats), (3, vec![1, 2]), "{stats}");
        assert_eq!(stats["open_streams"], its_own, "this process's own");
    }

    // A closed stream frees its slot, in every process's answer.
    drop(alices.pop());
    let stats = sibling
        .server_stats_until(&token, |s| open_streams(s).0 == 2)
        .await;
    assert_eq!(open_streams(&stats), (2, vec![1, 1]));
}

#[tokio::test]
async fn the_last_hour_has_a_row_per_minute_with_the_requests_of_every_process() {
    let Some((app, sibling, token)) = two_processes().await else {
        return;
    };
    health_checks(&sibling, 7).await;
    app.get("/nowhere", None).await.assert_status(404);

    // The database is this test's own: everything counted is from here,
    // and all of it is younger than an hour.
    let stats = app
        .server_stats_until(&token, |s| s["by_endpoint"]["GET /health"] == 7)
        .await;
    let since = stats["latency_since"].as_str().unwrap();
    let rows = stats["by_minute"].as_array().unwrap();
    assert!(!rows.is_empty());
    let class = |key: &str| -> i64 {
        rows.iter()
            .filter(|row| row["minute"].as_str().unwrap() >= since)
            .map(|row| row[key].as_i64().unwrap_or(0))
            .sum()
    };
    assert_eq!(
        class("2xx") + class("4xx"),
        stats["requests_last_24h"].as_i64().unwrap(),
        "every request of the 24 hours is in the last hour's minutes: {stats}"
    );
    assert!(class("2xx") >= 7, "{stats}");
    assert_eq!(class("4xx"), 1, "the 404: {stats}");
    let minute = rows.last().unwrap()["minute"].as_str().unwrap();
    assert!(
        minute.ends_with(":00.000Z") && minute >= since,
        "rows are whole minutes of the last hour: {minute} (since {since})"
    );
}

#[tokio::test]
async fn latency_per_endpoint_sums_the_buckets_of_every_process() {
    let Some((app, sibling, token)) = two_processes().await else {
        return;
    };
    health_checks(&app, 4).await;
    health_checks(&sibling, 6).await;

    // The sibling's six arrive with its flush; the app's four are its own
    // pending (or flushed) counts.
    let stats = app
        .server_stats_until(&token, |s| {
            s["latency_last_hour"]["GET /health"]["requests"] == 10
        })
        .await;
    let health = &stats["latency_last_hour"]["GET /health"];
    let (p50, p99) = (
        health["p50_ms"].as_f64().unwrap(),
        health["p99_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99, "{health}");
    // `/health` answers well under a second on any machine; beyond the
    // highest bucket (10 s) the figure would say 10 000.
    assert!(p99 < 1000.0, "{health}");
    // The answer above may have come from the first request for it; the
    // next one counts it.
    let again = app.get("/admin/stats/server", Some(&token)).await;
    again.assert_status(200);
    assert_eq!(
        again.body["latency_last_hour"]["GET /admin/stats/server"]["requests"]
            .as_i64()
            .map(|n| n >= 1),
        Some(true),
        "the back office's own requests count too: {}",
        again.body
    );
    let since = stats["latency_since"].as_str().unwrap();
    assert!(since.ends_with(":00.000Z"), "{since}");
}

#[tokio::test]
async fn a_slot_whose_lease_has_expired_is_not_an_open_stream() {
    let Some((app, token)) = TestApp::local_with_admin_token().await else {
        return;
    };
    // Slots of processes elsewhere: one renewing its lease, one that died.
    let stored = "INSERT INTO notification_streams (user_key, slot, process_id, expires_at) VALUES \
         ('someone', 1, 'renewing', now() + interval '1 minute'), \
         ('someone', 2, 'renewing', now() + interval '1 minute'), \
         ('someone', 3, 'died', now() - interval '1 second')";

    let stats = server_stats_after(&app, &token, stored).await;
    assert_eq!(open_streams(&stats.body), (2, vec![2]), "{}", stats.text);
    assert_eq!(stats.body["open_streams_by_process"]["renewing"], 2);
    assert_eq!(
        stats.body["open_streams"], 0,
        "none of them is this process's"
    );
}

#[tokio::test]
async fn stored_buckets_of_other_processes_count_and_past_the_last_bound_reads_as_it() {
    let Some((app, token)) = TestApp::local_with_admin_token().await else {
        return;
    };
    // As flushed by other processes: 98 requests of at most 1 ms in this
    // minute, 2 slower than the highest bound (10 s) a minute earlier, and
    // 50 of two hours ago, outside the last hour.
    let stored = "INSERT INTO request_latency_counts (minute, endpoint, le, requests) VALUES \
         (date_trunc('minute', now()), 'GET /slow', 0.001, 98), \
         (date_trunc('minute', now()) - interval '1 minute', 'GET /slow', 'Infinity', 2), \
         (date_trunc('minute', now()) - interval '2 hours', 'GET /slow', 0.001, 50)";

    let stats = server_stats_after(&app, &token, stored).await;
    let slow = &stats.body["latency_last_hour"]["GET /slow"];
    assert_eq!(slow["requests"], 100, "{}", stats.text);
    // Rank 50 of 98 in (0, 1 ms]; rank 99 is past the 98, in +Inf.
    let p50 = slow["p50_ms"].as_f64().unwrap();
    assert!((p50 - 50.0 / 98.0).abs() < 0.001, "{slow}");
    assert_eq!(slow["p99_ms"], 10_000.0, "{slow}");
}
