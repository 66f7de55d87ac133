//! Server statistics: every request is counted in memory on the request
//! path ([`RequestCounter`], a sharded concurrent map: no global lock, no
//! database write per request). A background task drains it into the
//! per-minute rows of the [`StatsRepository`] every few seconds
//! ([`ServerStatsService::flush`]); counts that fail to flush go back into
//! memory, so a database outage loses nothing and a crash loses at most one
//! flush interval. Answers add this process's unflushed counts to what
//! every process stored.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};
use dashmap::DashMap;
use minifb_application::StoreError;
use minifb_application::stats::{RequestCount, RequestTotals, StatsRepository};

/// Counts requests in memory until the next flush.
#[derive(Default)]
pub struct RequestCounter {
    pending: DashMap<(DateTime<Utc>, String, u16), i64>,
}

impl RequestCounter {
    /// Counts one request answered now.
    pub fn record(&self, endpoint: &str, status: u16) {
        self.record_at(Utc::now(), endpoint, status, 1);
    }

    fn record_at(&self, at: DateTime<Utc>, endpoint: &str, status: u16, requests: i64) {
        let minute = at.duration_trunc(Duration::minutes(1)).unwrap_or(at);
        *self
            .pending
            .entry((minute, endpoint.to_owned(), status))
            .or_insert(0) += requests;
    }

    /// Takes every pending count out.
    fn drain(&self) -> Vec<RequestCount> {
        let keys: Vec<_> = self
            .pending
            .iter()
            .map(|entry| entry.key().clone())
            .collect();
        keys.into_iter()
            .filter_map(|key| self.pending.remove(&key))
            .map(|((minute, endpoint, status), requests)| RequestCount {
                minute,
                endpoint,
                status,
                requests,
            })
            .collect()
    }

    /// Pending counts, left in place.
    fn snapshot(&self) -> Vec<RequestCount> {
        self.pending
            .iter()
            .map(|entry| {
                let (minute, endpoint, status) = entry.key().clone();
                RequestCount {
                    minute,
                    endpoint,
                    status,
                    requests: *entry.value(),
                }
            })
            .collect()
    }
}

/// Requests in one minute, by status class (`"2xx"`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteRequests {
    pub minute: DateTime<Utc>,
    pub by_class: BTreeMap<String, i64>,
}

/// `GET /admin/stats/server`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerStats {
    pub rps: f64,
    pub requests_last_24h: i64,
    pub by_status: BTreeMap<String, i64>,
    pub by_endpoint: BTreeMap<String, i64>,
    pub by_minute: Vec<MinuteRequests>,
    pub since: DateTime<Utc>,
}

#[derive(Clone)]
pub struct ServerStatsService {
    pub repository: Arc<dyn StatsRepository>,
    pub counter: Arc<RequestCounter>,
}

impl ServerStatsService {
    /// The last 24 hours of every process: what is stored plus what this
    /// process has not flushed yet.
    pub async fn server(&self) -> Result<ServerStats, StoreError> {
        let now = Utc::now();
        let minute = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
        let since = minute - Duration::hours(24) + Duration::minutes(1);
        let mut totals = self.repository.request_totals(since).await?;
        for count in self.counter.snapshot() {
            if count.minute >= since {
                totals.add(count);
            }
        }
        Ok(summarise(totals, since, now))
    }

    /// Moves the pending counts to the database; on failure they go back
    /// to memory for the next attempt.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let counts = self.counter.drain();
        if counts.is_empty() {
            return Ok(());
        }
        if let Err(error) = self.repository.add_request_counts(counts.clone()).await {
            for count in counts {
                self.counter
                    .record_at(count.minute, &count.endpoint, count.status, count.requests);
            }
            return Err(error);
        }
        Ok(())
    }

    /// Deletes counts older than the 24 hours any answer covers (and a
    /// margin).
    pub async fn prune(&self) -> Result<(), StoreError> {
        self.repository
            .prune_request_counts(Utc::now() - Duration::hours(25))
            .await
    }
}

/// Sums counts into the server-statistics answer. `rps` is the mean over
/// the last 60 seconds as minute buckets allow: the previous minute and the
/// current one, divided by the seconds they span so far.
fn summarise(totals: RequestTotals, since: DateTime<Utc>, now: DateTime<Utc>) -> ServerStats {
    let current_minute = now.duration_trunc(Duration::minutes(1)).unwrap_or(now);
    let window_start = current_minute - Duration::minutes(1);
    let mut by_status = BTreeMap::new();
    let mut by_endpoint = BTreeMap::new();
    let mut total = 0;
    for count in totals.by_endpoint {
        total += count.requests;
        *by_status.entry(count.status.to_string()).or_insert(0) += count.requests;
        *by_endpoint.entry(count.endpoint).or_insert(0) += count.requests;
    }
    let mut by_minute: BTreeMap<DateTime<Utc>, BTreeMap<String, i64>> = BTreeMap::new();
    let mut recent = 0;
    for count in totals.by_minute {
        if count.minute >= window_start {
            recent += count.requests;
        }
        *by_minute
            .entry(count.minute)
            .or_default()
            .entry(format!("{}xx", count.status / 100))
            .or_insert(0) += count.requests;
    }
    let window_seconds = (now - window_start).num_milliseconds().max(1) as f64 / 1000.0;
    ServerStats {
        rps: (recent as f64 / window_seconds * 1000.0).round() / 1000.0,
        requests_last_24h: total,
        by_status,
        by_endpoint,
        by_minute: by_minute
            .into_iter()
            .map(|(minute, by_class)| MinuteRequests { minute, by_class })
            .collect(),
        since,
    }
}

#[cfg(test)]
mod tests {
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
        counter.record("GET /health", 200);
        counter.record("GET /health", 200);
        counter.record("GET (unmatched)", 404);
        let mut repository = MockStatsRepository::new();
        repository
            .expect_add_request_counts()
            .withf(|counts| {
                counts.iter().map(|c| c.requests).sum::<i64>() == 3 && counts.len() == 2
            })
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
    }
}
