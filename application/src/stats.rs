//! Back-office statistics: the service's totals, and the port through which
//! request counts of every server process are stored and summed.
//!
//! Counting requests is the HTTP adapter's business (it knows routes and
//! statuses); this module only says what the store keeps: counts per
//! minute, endpoint and status, added to by every process.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::StoreError;

/// Requests of one route template and status in one minute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCount {
    /// Start of the minute (UTC).
    pub minute: DateTime<Utc>,
    /// `"GET /posts/{id}"`, or `"GET (unmatched)"`.
    pub endpoint: String,
    pub status: u16,
    pub requests: i64,
}

/// Requests of one endpoint and status, summed over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointCount {
    pub endpoint: String,
    pub status: u16,
    pub requests: i64,
}

/// Requests of one status in one minute, summed over endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteCount {
    pub minute: DateTime<Utc>,
    pub status: u16,
    pub requests: i64,
}

/// Stored request counts of a period, summed by the database both ways
/// the answer needs, so its size depends on the number of endpoints and
/// minutes, not on the traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestTotals {
    pub by_endpoint: Vec<EndpointCount>,
    pub by_minute: Vec<MinuteCount>,
}

impl RequestTotals {
    /// Adds counts not stored yet (a process's pending ones).
    pub fn add(&mut self, count: RequestCount) {
        self.by_endpoint.push(EndpointCount {
            endpoint: count.endpoint,
            status: count.status,
            requests: count.requests,
        });
        self.by_minute.push(MinuteCount {
            minute: count.minute,
            status: count.status,
            requests: count.requests,
        });
    }
}

/// Requests of one endpoint in one minute that took at most `le` seconds
/// and more than the next lower bucket bound (one histogram bucket, not
/// cumulative; `le` is infinite for the slowest bucket).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyCount {
    /// Start of the minute (UTC).
    pub minute: DateTime<Utc>,
    pub endpoint: String,
    pub le: f64,
    pub requests: i64,
}

/// Requests of one endpoint in one latency bucket, summed over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointLatency {
    pub endpoint: String,
    pub le: f64,
    pub requests: i64,
}

/// Live notification streams one server process holds (slots whose lease
/// has not expired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessStreams {
    /// The process's id in the slot table (random, chosen at its start).
    pub process: String,
    pub streams: i64,
}

/// Exact totals of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTotals {
    pub users: i64,
    pub posts: i64,
    /// Posts created within the day asked for.
    pub posts_today: i64,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StatsRepository: Send + Sync {
    /// Users, posts, and posts created within `day` (from its start,
    /// included, to its end, excluded); read from counters, never by
    /// counting whole tables.
    async fn service_totals(&self, day: Range<DateTime<Utc>>) -> Result<ServiceTotals, StoreError>;

    /// Adds these counts to the stored ones (rows of other processes
    /// included), in one statement.
    async fn add_request_counts(&self, counts: Vec<RequestCount>) -> Result<(), StoreError>;

    /// Stored counts of minutes at or after `since`, summed per endpoint
    /// and status, and per minute and status.
    async fn request_totals(&self, since: DateTime<Utc>) -> Result<RequestTotals, StoreError>;

    /// Deletes counts of minutes before `before`.
    async fn prune_request_counts(&self, before: DateTime<Utc>) -> Result<(), StoreError>;

    /// Adds these latency bucket counts to the stored ones (rows of other
    /// processes included), in one statement.
    async fn add_latency_counts(&self, counts: Vec<LatencyCount>) -> Result<(), StoreError>;

    /// Stored latency bucket counts of minutes at or after `since`, summed
    /// per endpoint and bucket; buckets without requests are left out.
    async fn latency_totals(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<EndpointLatency>, StoreError>;

    /// Deletes latency counts of minutes before `before`.
    async fn prune_latency_counts(&self, before: DateTime<Utc>) -> Result<(), StoreError>;

    /// Open live streams of every process that shares the store, per
    /// process: the slots whose lease is still live. Processes with none
    /// are left out.
    async fn open_streams(&self) -> Result<Vec<ProcessStreams>, StoreError>;
}

/// `GET /admin/stats/service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStats {
    pub total_users: i64,
    pub total_posts: i64,
    pub posts_today: i64,
    pub generated_at: DateTime<Utc>,
}

#[derive(Clone)]
pub struct StatsService {
    pub repository: Arc<dyn StatsRepository>,
    pub timezone: Tz,
}

impl StatsService {
    /// Totals, with "today" the current day in the configured zone.
    pub async fn service(&self) -> Result<ServiceStats, StoreError> {
        let now = Utc::now();
        let totals = self
            .repository
            .service_totals(day_of(now, self.timezone))
            .await?;
        Ok(ServiceStats {
            total_users: totals.users,
            total_posts: totals.posts,
            posts_today: totals.posts_today,
            generated_at: now,
        })
    }
}

/// `now`'s day in `zone`, from its local midnight to the next one, in UTC
/// (23 or 25 hours on the days clocks change).
pub fn day_of(now: DateTime<Utc>, zone: Tz) -> Range<DateTime<Utc>> {
    let date = now.with_timezone(&zone).date_naive();
    let end = date
        .succ_opt()
        .map_or(now + Duration::days(1), |next| start_of(next, zone));
    start_of(date, zone)..end
}

/// Midnight of `date` in `zone`, in UTC. On the rare day whose midnight
/// does not exist (a DST jump at 00:00) the day starts at the first instant
/// that does.
fn start_of(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let mut time = NaiveTime::MIN;
    for _ in 0..4 {
        if let Some(start) = zone.from_local_datetime(&date.and_time(time)).earliest() {
            return start.with_timezone(&Utc);
        }
        time += Duration::minutes(30);
    }
    date.and_time(NaiveTime::MIN).and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::instant as at;

    #[test]
    fn today_runs_from_local_midnight_to_the_next() {
        let now = at("2026-11-26T20:30:00Z");
        let day = |zone| day_of(now, zone);
        assert_eq!(
            day(Tz::UTC),
            at("2026-11-26T00:00:00Z")..at("2026-11-27T00:00:00Z")
        );
        // 05:30 on the 27th in Seoul (UTC+9).
        assert_eq!(
            day(chrono_tz::Asia::Seoul),
            at("2026-11-26T15:00:00Z")..at("2026-11-27T15:00:00Z")
        );
        // 15:30 on the 26th in New York (UTC-5).
        assert_eq!(
            day(chrono_tz::America::New_York),
            at("2026-11-26T05:00:00Z")..at("2026-11-27T05:00:00Z")
        );
        // Kathmandu is UTC+5:45.
        assert_eq!(
            day(chrono_tz::Asia::Kathmandu),
            at("2026-11-26T18:15:00Z")..at("2026-11-27T18:15:00Z")
        );
    }

    #[test]
    fn days_when_clocks_change_last_23_or_25_hours() {
        let new_york = chrono_tz::America::New_York;
        // 8 March 2026: 02:00 EST becomes 03:00 EDT.
        assert_eq!(
            day_of(at("2026-03-08T12:00:00Z"), new_york),
            at("2026-03-08T05:00:00Z")..at("2026-03-09T04:00:00Z")
        );
        // 1 November 2026: 02:00 EDT becomes 01:00 EST.
        assert_eq!(
            day_of(at("2026-11-01T12:00:00Z"), new_york),
            at("2026-11-01T04:00:00Z")..at("2026-11-02T05:00:00Z")
        );
    }

    #[tokio::test]
    async fn service_stats_count_the_posts_of_the_local_day() {
        let mut repository = MockStatsRepository::new();
        let today = day_of(Utc::now(), chrono_tz::Asia::Seoul);
        repository
            .expect_service_totals()
            .withf(move |day| *day == today)
            .returning(|_| {
                Ok(ServiceTotals {
                    users: 3,
                    posts: 10,
                    posts_today: 2,
                })
            });
        let service = StatsService {
            repository: Arc::new(repository),
            timezone: chrono_tz::Asia::Seoul,
        };

        let stats = service.service().await.unwrap();

        assert_eq!(
            (stats.total_users, stats.total_posts, stats.posts_today),
            (3, 10, 2)
        );
    }
}
