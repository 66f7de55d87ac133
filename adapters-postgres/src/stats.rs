//! Back-office statistics: counters kept by triggers, request counts per
//! minute.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use minifb_application::StoreError;
use minifb_application::stats::{
    EndpointCount, MinuteCount, RequestCount, RequestTotals, ServiceTotals, StatsRepository,
};

use crate::pool::{Pool, run};
use crate::schema::{post_counts_by_quarter, request_counts, service_counters};

/// `sum(requests)` as a bigint (PostgreSQL's `sum` of bigints is numeric).
fn summed_requests() -> diesel::expression::SqlLiteral<diesel::sql_types::BigInt> {
    diesel::dsl::sql("CAST(sum(requests) AS bigint)")
}

/// Stored statuses are HTTP codes (100..=599).
fn status_code(status: i16) -> u16 {
    u16::try_from(status).unwrap_or(0)
}

#[derive(Insertable)]
#[diesel(table_name = request_counts)]
struct RequestCountRow {
    minute: DateTime<Utc>,
    endpoint: String,
    status: i16,
    requests: i64,
}

/// [`StatsRepository`] over the back-office tables.
#[derive(Clone)]
pub struct PgStatsRepository {
    pool: Pool,
}

impl PgStatsRepository {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl StatsRepository for PgStatsRepository {
    /// Sums 16 shard rows per counter and at most 96 quarter-hour buckets
    /// per day: the cost does not grow with the number of users or posts.
    async fn service_totals(&self, since: DateTime<Utc>) -> Result<ServiceTotals, StoreError> {
        run(&self.pool, move |conn| {
            let counters: Vec<(String, i64)> = service_counters::table
                .select((service_counters::name, service_counters::value))
                .load(conn)?;
            let total = |name: &str| -> i64 {
                counters
                    .iter()
                    .filter(|(counter, _)| counter == name)
                    .map(|(_, value)| value)
                    .sum()
            };
            // `since` is a local midnight: a multiple of 15 minutes in
            // every zone, so whole buckets cover the day exactly.
            let today: Vec<i64> = post_counts_by_quarter::table
                .filter(post_counts_by_quarter::quarter.ge(since))
                .select(post_counts_by_quarter::posts)
                .load(conn)?;
            Ok(ServiceTotals {
                users: total("users"),
                posts: total("posts"),
                posts_since: today.iter().sum(),
            })
        })
        .await
    }

    async fn add_request_counts(&self, counts: Vec<RequestCount>) -> Result<(), StoreError> {
        let rows: Vec<RequestCountRow> = counts
            .into_iter()
            .map(|count| RequestCountRow {
                minute: count.minute,
                endpoint: count.endpoint,
                status: i16::try_from(count.status).unwrap_or(i16::MAX),
                requests: count.requests,
            })
            .collect();
        run(&self.pool, move |conn| {
            diesel::insert_into(request_counts::table)
                .values(&rows)
                .on_conflict((
                    request_counts::minute,
                    request_counts::endpoint,
                    request_counts::status,
                ))
                .do_update()
                .set(
                    request_counts::requests
                        .eq(request_counts::requests + excluded(request_counts::requests)),
                )
                .execute(conn)
                .map(drop)
        })
        .await
    }

    /// Two GROUP BYs over a range scan of the primary key `(minute, ...)`:
    /// at most (endpoints x statuses) and (minutes x statuses) rows come
    /// back, however many requests were counted.
    async fn request_totals(&self, since: DateTime<Utc>) -> Result<RequestTotals, StoreError> {
        let (by_endpoint, by_minute) = run(&self.pool, move |conn| {
            let by_endpoint: Vec<(String, i16, i64)> = request_counts::table
                .filter(request_counts::minute.ge(since))
                .group_by((request_counts::endpoint, request_counts::status))
                .select((
                    request_counts::endpoint,
                    request_counts::status,
                    summed_requests(),
                ))
                .load(conn)?;
            let by_minute: Vec<(DateTime<Utc>, i16, i64)> = request_counts::table
                .filter(request_counts::minute.ge(since))
                .group_by((request_counts::minute, request_counts::status))
                .select((
                    request_counts::minute,
                    request_counts::status,
                    summed_requests(),
                ))
                .load(conn)?;
            Ok((by_endpoint, by_minute))
        })
        .await?;
        Ok(RequestTotals {
            by_endpoint: by_endpoint
                .into_iter()
                .map(|(endpoint, status, requests)| EndpointCount {
                    endpoint,
                    status: status_code(status),
                    requests,
                })
                .collect(),
            by_minute: by_minute
                .into_iter()
                .map(|(minute, status, requests)| MinuteCount {
                    minute,
                    status: status_code(status),
                    requests,
                })
                .collect(),
        })
    }

    async fn prune_request_counts(&self, before: DateTime<Utc>) -> Result<(), StoreError> {
        run(&self.pool, move |conn| {
            diesel::delete(request_counts::table.filter(request_counts::minute.lt(before)))
                .execute(conn)
                .map(drop)
        })
        .await
    }
}
