//! Back-office statistics: the service's totals, and the port through which
//! request counts of every server process are stored and summed.
//!
//! Counting requests is the HTTP adapter's business (it knows routes and
//! statuses); this module only says what the store keeps: counts per
//! minute, endpoint and status, added to by every process.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, DurationRound, NaiveTime, TimeZone, Utc};
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

/// Exact totals of the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTotals {
    pub users: i64,
    pub posts: i64,
    pub posts_since: i64,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait StatsRepository: Send + Sync {
    /// Users, posts, and posts created at or after `since`; read from
    /// counters, never by counting whole tables.
    async fn service_totals(&self, since: DateTime<Utc>) -> Result<ServiceTotals, StoreError>;

    /// Adds these counts to the stored ones (rows of other processes
    /// included), in one statement.
    async fn add_request_counts(&self, counts: Vec<RequestCount>) -> Result<(), StoreError>;

    /// Stored counts of minutes at or after `since`, summed per endpoint
    /// and status, and per minute and status.
    async fn request_totals(&self, since: DateTime<Utc>) -> Result<RequestTotals, StoreError>;

    /// Deletes counts of minutes before `before`.
    async fn prune_request_counts(&self, before: DateTime<Utc>) -> Result<(), StoreError>;
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
            .service_totals(start_of_day(now, self.timezone))
            .await?;
        Ok(ServiceStats {
            total_users: totals.users,
            total_posts: totals.posts,
            posts_today: totals.posts_since,
            generated_at: now,
        })
    }
}

/// Midnight of `now`'s day in `zone`, in UTC. On the rare day whose
/// midnight does not exist (a DST jump at 00:00) the day starts at the
/// first instant that does.
pub fn start_of_day(now: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
    let local_date = now.with_timezone(&zone).date_naive();
    let mut time = NaiveTime::MIN;
    for _ in 0..4 {
        if let Some(start) = zone
            .from_local_datetime(&local_date.and_time(time))
            .earliest()
        {
            return start.with_timezone(&Utc);
        }
        time += Duration::minutes(30);
    }
    now.duration_trunc(Duration::days(1)).unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::instant as at;

    #[test]
    fn today_starts_at_local_midnight() {
        let now = at("2026-11-26T20:30:00Z");
        assert_eq!(start_of_day(now, Tz::UTC), at("2026-11-26T00:00:00Z"));
        // 05:30 on the 27th in Seoul (UTC+9).
        assert_eq!(
            start_of_day(now, chrono_tz::Asia::Seoul),
            at("2026-11-26T15:00:00Z")
        );
        // 15:30 on the 26th in New York (UTC-5).
        assert_eq!(
            start_of_day(now, chrono_tz::America::New_York),
            at("2026-11-26T05:00:00Z")
        );
        // Kathmandu is UTC+5:45.
        assert_eq!(
            start_of_day(now, chrono_tz::Asia::Kathmandu),
            at("2026-11-26T18:15:00Z")
        );
    }

    #[tokio::test]
    async fn service_stats_count_posts_since_local_midnight() {
        let mut repository = MockStatsRepository::new();
        let expected_since = start_of_day(Utc::now(), chrono_tz::Asia::Seoul);
        repository
            .expect_service_totals()
            .withf(move |since| *since == expected_since)
            .returning(|_| {
                Ok(ServiceTotals {
                    users: 3,
                    posts: 10,
                    posts_since: 2,
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
