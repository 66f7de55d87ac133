//! Server statistics: every request is counted in memory on the request
//! path ([`RequestCounter`], a sharded concurrent map: no global lock, no
//! database write per request). A background task drains it into the
//! per-minute rows of the [`StatsRepository`] every few seconds
//! ([`ServerStatsService::flush`]); counts that fail to flush go back into
//! memory, so a database outage loses nothing and a crash loses at most one
//! flush interval. Answers add this process's unflushed counts to what
//! every process stored.
//!
//! Latency goes the same way: each request's duration, observed into the
//! `/metrics` histogram, is also counted in its bucket of
//! [`LATENCY_BUCKETS`] per minute and endpoint, flushed with the counts,
//! and the last hour's buckets summed over every process give p50 and p99
//! per endpoint ([`histogram_quantile`]).

use std::collections::BTreeMap;
use std::hash::Hash;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound, Utc};
use dashmap::DashMap;
use minifb_application::StoreError;
use minifb_application::stats::{
    EndpointLatency, LatencyCount, ProcessStreams, RequestCount, RequestTotals, StatsRepository,
};

use crate::telemetry::LATENCY_BUCKETS;

/// Counts per minute and key, in memory: a sharded concurrent map, so
/// counting takes no global lock.
struct PerMinute<K>(DashMap<(DateTime<Utc>, K), i64>);

impl<K> Default for PerMinute<K>
where
    K: Eq + Hash,
{
    fn default() -> Self {
        Self(DashMap::new())
    }
}

impl<K> PerMinute<K>
where
    K: Eq + Hash + Clone,
{
    /// Adds `n` to `key`'s count of the minute of `at`.
    fn add(&self, at: DateTime<Utc>, key: K, n: i64) {
        let minute = at.duration_trunc(Duration::minutes(1)).unwrap_or(at);
        *self.0.entry((minute, key)).or_insert(0) += n;
    }

    /// Takes every count out.
    fn drain(&self) -> Vec<(DateTime<Utc>, K, i64)> {
        let keys: Vec<_> = self.0.iter().map(|entry| entry.key().clone()).collect();
        keys.into_iter()
            .filter_map(|key| self.0.remove(&key))
            .map(|((minute, key), n)| (minute, key, n))
            .collect()
    }

    /// Takes every count out and gives them to `store` as `T`s; when
    /// storing fails they are counted again, for the next flush.
    async fn flush_into<T, F>(
        &self,
        row: impl Fn((DateTime<Utc>, K, i64)) -> T,
        store: impl FnOnce(Vec<T>) -> F,
    ) -> Result<(), StoreError>
    where
        F: Future<Output = Result<(), StoreError>>,
    {
        let counts = self.drain();
        if counts.is_empty() {
            return Ok(());
        }
        let stored = store(counts.iter().cloned().map(row).collect()).await;
        if stored.is_err() {
            for (minute, key, n) in counts {
                self.add(minute, key, n);
            }
        }
        stored
    }

    /// Counts of minutes at or after `since`, left in place.
    fn snapshot(&self, since: DateTime<Utc>) -> Vec<(DateTime<Utc>, K, i64)> {
        self.0
            .iter()
            .filter(|entry| entry.key().0 >= since)
            .map(|entry| (entry.key().0, entry.key().1.clone(), *entry.value()))
            .collect()
    }
}

/// Counts requests in memory until the next flush.
#[derive(Default)]
pub struct RequestCounter {
    /// Requests per minute, endpoint and status.
    pending: PerMinute<(String, u16)>,
    /// Requests per minute, endpoint and latency bucket: an index into
    /// [`LATENCY_BUCKETS`], or its length for the slowest (`+Inf`).
    latency: PerMinute<(String, usize)>,
    /// Written while a flush has counts out of memory and not yet
    /// committed, read while an answer adds the stored counts to memory's:
    /// an answer sees each of this process's counts once, never none.
    flushing: tokio::sync::RwLock<()>,
}

impl RequestCounter {
    /// Counts one request answered now.
    pub fn record(&self, endpoint: &str, status: u16) {
        self.record_at(Utc::now(), endpoint, status, 1);
    }

    /// Counts one request answered now after `seconds`, in the first
    /// bucket whose bound it does not exceed (as Prometheus's `le`).
    pub fn record_latency(&self, endpoint: &str, seconds: f64) {
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.record_latency_at(Utc::now(), endpoint, bucket, 1);
    }

    fn record_at(&self, at: DateTime<Utc>, endpoint: &str, status: u16, requests: i64) {
        self.pending
            .add(at, (endpoint.to_owned(), status), requests);
    }

    fn record_latency_at(&self, at: DateTime<Utc>, endpoint: &str, bucket: usize, requests: i64) {
        self.latency
            .add(at, (endpoint.to_owned(), bucket), requests);
    }

    /// Pending counts, left in place.
    fn snapshot(&self) -> Vec<RequestCount> {
        self.pending
            .snapshot(DateTime::<Utc>::MIN_UTC)
            .into_iter()
            .map(request_count)
            .collect()
    }

    /// Pending latency counts of minutes at or after `since`, left in place.
    fn latency_snapshot(&self, since: DateTime<Utc>) -> Vec<EndpointLatency> {
        self.latency
            .snapshot(since)
            .into_iter()
            .map(|(_, (endpoint, bucket), requests)| EndpointLatency {
                endpoint,
                le: bucket_bound(bucket),
                requests,
            })
            .collect()
    }
}

fn request_count(
    (minute, (endpoint, status), requests): (DateTime<Utc>, (String, u16), i64),
) -> RequestCount {
    RequestCount {
        minute,
        endpoint,
        status,
        requests,
    }
}

fn latency_count(
    (minute, (endpoint, bucket), requests): (DateTime<Utc>, (String, usize), i64),
) -> LatencyCount {
    LatencyCount {
        minute,
        endpoint,
        le: bucket_bound(bucket),
        requests,
    }
}

/// The upper bound of a bucket index of [`RequestCounter::latency`].
fn bucket_bound(bucket: usize) -> f64 {
    LATENCY_BUCKETS
        .get(bucket)
        .copied()
        .unwrap_or(f64::INFINITY)
}

/// The index of a stored bound among [`LATENCY_BUCKETS`] (or the slowest).
fn bucket_of(le: f64) -> usize {
    LATENCY_BUCKETS
        .iter()
        .position(|&bound| bound == le)
        .unwrap_or(LATENCY_BUCKETS.len())
}

/// Latency of one endpoint over the last hour, every process summed.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointLatencySummary {
    pub requests: i64,
    /// Seconds; `None` without requests.
    pub p50: Option<f64>,
    pub p99: Option<f64>,
}

/// The `q`-quantile (0 < q <= 1) of a histogram, as Prometheus's
/// `histogram_quantile` computes it: `buckets` are `(upper bound, count)`
/// pairs, not cumulative, in any order, with the `+Inf` bucket among them
/// or taken as empty. The rank `q x total` falls in the first bucket whose
/// cumulative count reaches it, and the answer is interpolated linearly
/// between that bucket's lower bound (the bound below, 0 for the first)
/// and its upper bound. A rank in the `+Inf` bucket answers the highest
/// finite bound. `None` when there are no observations.
pub fn histogram_quantile(q: f64, buckets: &[(f64, i64)]) -> Option<f64> {
    let mut sorted: Vec<(f64, i64)> = Vec::with_capacity(buckets.len() + 1);
    let mut ordered = buckets.to_vec();
    ordered.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (le, count) in ordered {
        match sorted.last_mut() {
            Some(last) if last.0 == le => last.1 += count,
            _ => sorted.push((le, count)),
        }
    }
    if sorted.last().is_none_or(|last| last.0 != f64::INFINITY) {
        sorted.push((f64::INFINITY, 0));
    }
    let mut cumulative = Vec::with_capacity(sorted.len());
    let mut running = 0_i64;
    for (le, count) in &sorted {
        running += count;
        cumulative.push((*le, running));
    }
    if running <= 0 || cumulative.len() < 2 {
        return None;
    }
    let rank = q * running as f64;
    let b = cumulative
        .iter()
        .position(|&(_, count)| count as f64 >= rank)
        .unwrap_or(cumulative.len() - 1);
    if b == cumulative.len() - 1 {
        return Some(cumulative[b - 1].0);
    }
    let (end, count) = cumulative[b];
    if b == 0 && end <= 0.0 {
        return Some(end);
    }
    let (start, below) = if b == 0 { (0.0, 0) } else { cumulative[b - 1] };
    let in_bucket = (count - below) as f64;
    Some(start + (end - start) * ((rank - below as f64) / in_bucket))
}

/// Sums bucket counts per endpoint and computes its p50 and p99.
fn latency_by_endpoint(counts: Vec<EndpointLatency>) -> BTreeMap<String, EndpointLatencySummary> {
    let mut buckets: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for count in counts {
        buckets
            .entry(count.endpoint)
            .or_insert_with(|| vec![0; LATENCY_BUCKETS.len() + 1])[bucket_of(count.le)] +=
            count.requests;
    }
    buckets
        .into_iter()
        .map(|(endpoint, counts)| {
            let pairs: Vec<(f64, i64)> = counts
                .iter()
                .enumerate()
                .map(|(bucket, &count)| (bucket_bound(bucket), count))
                .collect();
            let summary = EndpointLatencySummary {
                requests: counts.iter().sum(),
                p50: histogram_quantile(0.5, &pairs),
                p99: histogram_quantile(0.99, &pairs),
            };
            (endpoint, summary)
        })
        .collect()
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
    /// Per endpoint, over the minutes since `latency_since`.
    pub latency: BTreeMap<String, EndpointLatencySummary>,
    pub latency_since: DateTime<Utc>,
    /// Open live streams of every process, from the shared slot table.
    pub streams_by_process: Vec<ProcessStreams>,
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
        let latency_since = minute - Duration::hours(1) + Duration::minutes(1);
        let _no_flush = self.counter.flushing.read().await;
        let (mut totals, mut latency, streams_by_process) = tokio::try_join!(
            self.repository.request_totals(since),
            self.repository.latency_totals(latency_since),
            self.repository.open_streams(),
        )?;
        for count in self.counter.snapshot() {
            if count.minute >= since {
                totals.add(count);
            }
        }
        latency.extend(self.counter.latency_snapshot(latency_since));
        Ok(ServerStats {
            latency: latency_by_endpoint(latency),
            latency_since,
            streams_by_process,
            ..summarise(totals, since, now)
        })
    }

    /// Moves the pending counts to the database; on failure they go back
    /// to memory for the next attempt.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let _flushing = self.counter.flushing.write().await;
        let repository = &self.repository;
        let counts = (self.counter.pending)
            .flush_into(request_count, |counts| {
                repository.add_request_counts(counts)
            })
            .await;
        let latency = (self.counter.latency)
            .flush_into(latency_count, |counts| {
                repository.add_latency_counts(counts)
            })
            .await;
        counts.and(latency)
    }

    /// Deletes counts older than the 24 hours any answer covers (and a
    /// margin); latency counts cover one hour and are kept two.
    pub async fn prune(&self) -> Result<(), StoreError> {
        let now = Utc::now();
        self.repository
            .prune_request_counts(now - Duration::hours(25))
            .await?;
        self.repository
            .prune_latency_counts(now - Duration::hours(2))
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
        latency: BTreeMap::new(),
        latency_since: since,
        streams_by_process: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
