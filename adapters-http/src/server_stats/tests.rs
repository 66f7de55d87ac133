//! Counting, flushing and summing the request statistics, against a mocked store.

use super::*;
use minifb_application::stats::{EndpointCount, MinuteCount, MockStatsRepository};
use minifb_application::testing::instant as at;
use mockall::predicate::always;

#[test]
fn counts_sum_by_status_endpoint_and_minute() {
    let now = at("2026-11-26T10:00:30Z");
    let count = |minute: &str, endpoint: &str, status, requests| RequestCount {
        minute: at(minute),
        endpoint: endpoint.into(),
        status,
        requests,
    };
    let mut totals = RequestTotals::default();
    for stored in [
        count("2026-11-26T10:00:00Z", "GET /posts", 200, 30),
        count("2026-11-26T09:59:00Z", "GET /posts", 200, 15),
        count("2026-11-26T09:59:00Z", "GET (unmatched)", 404, 0),
        count("2026-11-26T09:00:00Z", "POST /posts", 201, 5),
        count("2026-11-26T09:00:00Z", "GET /posts", 500, 1),
    ] {
        totals.add(stored);
    }
    let stats = summarise(totals, at("2026-11-25T10:01:00Z"), now);
    assert_eq!(stats.requests_last_24h, 51);
    assert_eq!(stats.by_status["200"], 45);
    assert_eq!(stats.by_status["500"], 1);
    assert_eq!(stats.by_endpoint["GET /posts"], 46);
    // 45 requests over the 90 seconds since 09:59:00.
    assert_eq!(stats.rps, 0.5);
    assert_eq!(stats.by_minute.len(), 3);
    assert_eq!(stats.by_minute[0].by_class["2xx"], 5);
    assert_eq!(stats.by_minute[0].by_class["5xx"], 1);
}

#[tokio::test]
async fn flushing_moves_pending_counts_to_the_database_once() {
    let counter = Arc::new(RequestCounter::default());
    for (endpoint, status) in [
        ("GET /health", 200),
        ("GET /health", 200),
        ("GET (unmatched)", 404),
    ] {
        counter.record(endpoint, status);
    }
    let mut repository = MockStatsRepository::new();
    repository
        .expect_add_request_counts()
        .withf(|counts| counts.iter().map(|c| c.requests).sum::<i64>() == 3 && counts.len() == 2)
        .times(1)
        .returning(|_| Ok(()));
    let service = ServerStatsService {
        repository: Arc::new(repository),
        counter: Arc::clone(&counter),
    };

    service.flush().await.unwrap();
    service.flush().await.unwrap();

    assert!(counter.snapshot().is_empty());
}

#[tokio::test]
async fn counts_that_fail_to_flush_are_kept_for_the_next_flush() {
    let counter = Arc::new(RequestCounter::default());
    counter.record("GET /health", 200);
    let mut repository = MockStatsRepository::new();
    repository
        .expect_add_request_counts()
        .with(always())
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("down".into())));
    let service = ServerStatsService {
        repository: Arc::new(repository),
        counter: Arc::clone(&counter),
    };

    assert!(service.flush().await.is_err());

    let kept = counter.snapshot();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].requests, 1);
}

#[tokio::test]
async fn server_stats_include_what_this_process_has_not_flushed() {
    let counter = Arc::new(RequestCounter::default());
    counter.record("GET /health", 200);
    let mut repository = MockStatsRepository::new();
    repository.expect_latency_totals().returning(|_| {
        Ok(vec![EndpointLatency {
            endpoint: "GET /health".into(),
            le: 0.005,
            requests: 3,
        }])
    });
    repository.expect_open_streams().returning(|| {
        Ok(vec![
            ProcessStreams {
                process: "a".into(),
                streams: 2,
            },
            ProcessStreams {
                process: "b".into(),
                streams: 1,
            },
        ])
    });
    repository.expect_request_totals().returning(|_| {
        Ok(RequestTotals {
            by_endpoint: vec![EndpointCount {
                endpoint: "GET /health".into(),
                status: 200,
                requests: 4,
            }],
            by_minute: vec![MinuteCount {
                minute: Utc::now().duration_trunc(Duration::minutes(1)).unwrap(),
                status: 200,
                requests: 4,
            }],
        })
    });
    let service = ServerStatsService {
        repository: Arc::new(repository),
        counter,
    };

    let stats = service.server().await.unwrap();

    assert_eq!(stats.requests_last_24h, 5);
    assert_eq!(stats.by_endpoint["GET /health"], 5);
    assert_eq!(stats.streams_by_process.len(), 2);
    // Three stored and none pending: this process has not recorded a
    // latency.
    assert_eq!(stats.latency["GET /health"].requests, 3);
}

/// A flush takes the counts out of memory before the database has them:
/// an answer meanwhile would find them in neither, so it waits.
#[tokio::test]
async fn an_answer_waits_while_a_flush_has_the_counts_out_of_memory() {
    let counter = Arc::new(RequestCounter::default());
    let mut repository = MockStatsRepository::new();
    repository
        .expect_request_totals()
        .returning(|_| Ok(RequestTotals::default()));
    repository
        .expect_latency_totals()
        .returning(|_| Ok(Vec::new()));
    repository
        .expect_open_streams()
        .returning(|| Ok(Vec::new()));
    let service = ServerStatsService {
        repository: Arc::new(repository),
        counter: Arc::clone(&counter),
    };

    let flush_in_progress = counter.flushing.write().await;
    let answer = tokio::spawn(async move { service.server().await });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!answer.is_finished(), "answered in the middle of a flush");
    drop(flush_in_progress);
    assert!(answer.await.unwrap().is_ok());
}

#[tokio::test]
async fn latency_is_flushed_by_bucket_and_kept_when_the_flush_fails() {
    let counter = Arc::new(RequestCounter::default());
    for seconds in [0.003, 0.004, 0.001, 60.0] {
        counter.record_latency("GET /posts", seconds);
    }
    let mut repository = MockStatsRepository::new();
    let mut attempts = 0;
    repository
        .expect_add_latency_counts()
        .withf(|counts| {
            let mut buckets: Vec<(f64, i64)> = counts.iter().map(|c| (c.le, c.requests)).collect();
            buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            buckets == [(0.001, 1), (0.005, 2), (f64::INFINITY, 1)]
        })
        .times(2)
        .returning(move |_| {
            attempts += 1;
            if attempts == 1 {
                Err(StoreError::Unavailable("down".into()))
            } else {
                Ok(())
            }
        });
    let service = ServerStatsService {
        repository: Arc::new(repository),
        counter: Arc::clone(&counter),
    };

    assert!(service.flush().await.is_err());
    service.flush().await.unwrap();
    service.flush().await.unwrap();

    assert!(
        counter
            .latency_snapshot(at("2000-01-01T00:00:00Z"))
            .is_empty()
    );
}

#[test]
fn quantiles_interpolate_within_a_bucket_as_prometheus_does() {
    let inf = f64::INFINITY;
    /// A case: its name, q, the buckets and the answer.
    type Case<'a> = (&'a str, f64, &'a [(f64, i64)], Option<f64>);
    let table: &[Case] = &[
        ("no requests", 0.5, &[], None),
        ("empty buckets", 0.5, &[(0.1, 0), (inf, 0)], None),
        ("only the +Inf bucket", 0.5, &[(inf, 3)], None),
        (
            "rank at a bucket's top",
            0.5,
            &[(0.1, 10), (0.5, 10)],
            Some(0.1),
        ),
        (
            "halfway into a bucket",
            0.75,
            &[(0.1, 10), (0.5, 10), (inf, 0)],
            Some(0.3),
        ),
        ("first bucket from zero", 0.5, &[(0.001, 1)], Some(0.0005)),
        ("p99 of one request", 0.99, &[(0.001, 1)], Some(0.00099)),
        (
            "p99 at the 99th of 100",
            0.99,
            &[(0.001, 50), (0.0025, 49), (0.005, 1)],
            Some(0.0025),
        ),
        (
            "p99 in the last finite bucket",
            0.99,
            &[(0.001, 90), (10.0, 10)],
            Some(0.001 + 9.999 * 0.9),
        ),
        (
            "rank in +Inf: highest finite bound",
            0.5,
            &[(0.1, 1), (inf, 5)],
            Some(0.1),
        ),
        (
            "unordered, repeated bounds summed",
            0.5,
            &[(0.5, 5), (0.1, 3), (0.1, 2), (0.5, 0)],
            Some(0.1),
        ),
    ];
    for (case, q, buckets, expected) in table {
        let got = histogram_quantile(*q, buckets);
        match (got, expected) {
            (Some(got), Some(expected)) => assert!(
                (got - expected).abs() < 1e-9,
                "{case}: {got} instead of {expected}"
            ),
            _ => assert_eq!(got, *expected, "{case}"),
        }
    }
}

#[test]
fn latencies_fall_in_the_first_bucket_they_do_not_exceed() {
    let counter = RequestCounter::default();
    for seconds in [0.0, 0.001, 0.0011, 0.3, 10.0, 10.5] {
        counter.record_latency("GET /health", seconds);
    }
    let mut bounds: Vec<f64> = counter
        .latency_snapshot(at("2000-01-01T00:00:00Z"))
        .into_iter()
        .flat_map(|c| std::iter::repeat_n(c.le, c.requests as usize))
        .collect();
    bounds.sort_by(f64::total_cmp);
    assert_eq!(bounds, [0.001, 0.001, 0.0025, 0.5, 10.0, f64::INFINITY]);
}

#[test]
fn each_endpoint_gets_its_count_p50_and_p99() {
    let row = |endpoint: &str, le, requests| EndpointLatency {
        endpoint: endpoint.into(),
        le,
        requests,
    };
    let summary = latency_by_endpoint(vec![
        row("GET /posts", 0.01, 60),
        row("GET /posts", 0.025, 40),
        row("POST /posts", f64::INFINITY, 1),
        row("GET /posts", 0.01, 0),
    ]);
    let posts = &summary["GET /posts"];
    assert_eq!(posts.requests, 100);
    // Rank 50 of 60 in (0.005, 0.01]; rank 99 is the 39th of 40 in
    // (0.01, 0.025].
    assert!((posts.p50.unwrap() - (0.005 + 0.005 * 50.0 / 60.0)).abs() < 1e-12);
    assert!((posts.p99.unwrap() - (0.01 + 0.015 * 39.0 / 40.0)).abs() < 1e-12);
    assert_eq!(summary["POST /posts"].p99, Some(10.0));
}
