//! Back-office statistics: counters kept by triggers, request counts per
//! minute.

use std::ops::Range;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::sum;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::serialize::ToSql;
use diesel::sql_types::{
    Array, BigInt, Double, HasSqlType, Nullable, Numeric, SingleValue, SmallInt, SqlType, Text,
    Timestamptz,
};
use minifb_application::StoreError;
use minifb_application::stats::{
    EndpointCount, EndpointLatency, LatencyCount, MinuteCount, ProcessStreams, RequestCount,
    RequestTotals, ServiceTotals, StatsRepository,
};

use crate::replicas::{Database, read, write};
use crate::schema::{
    notification_streams, post_counts_by_quarter, request_counts, request_latency_counts,
    service_counters,
};
use crate::views::unreadable;

/// Both totals of the last hours in one statement over a range scan of the
/// primary key `(minute, ...)`: one grouping set per total, so at most
/// (endpoints x statuses) + (minutes x statuses) rows come back, however
/// many requests were counted. `sum` of bigints is numeric in PostgreSQL,
/// hence the cast.
const REQUEST_TOTALS: &str = "\
    SELECT endpoint, minute, status, CAST(sum(requests) AS bigint) AS requests \
    FROM request_counts WHERE minute >= $1 \
    GROUP BY GROUPING SETS ((endpoint, status), (minute, status))";

/// Adds a batch of per-minute request counts (one row per minute,
/// endpoint and status) to what other flushes, of this process or others,
/// stored before. The arrays' types are written out, so that the text
/// alone says what `unnest` takes (`make explain` replays it so).
const ADD_REQUEST_COUNTS: &str = "\
    INSERT INTO request_counts (minute, endpoint, status, requests) \
    SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::smallint[], $4::bigint[]) \
    ON CONFLICT (minute, endpoint, status) \
    DO UPDATE SET requests = request_counts.requests + excluded.requests";

/// [`ADD_REQUEST_COUNTS`] for latency buckets (`le`, the bucket's bound).
const ADD_LATENCY_COUNTS: &str = "\
    INSERT INTO request_latency_counts (minute, endpoint, le, requests) \
    SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::float8[], $4::bigint[]) \
    ON CONFLICT (minute, endpoint, le) \
    DO UPDATE SET requests = request_latency_counts.requests + excluded.requests";

/// The label of the day's post buckets among the counters' rows (no
/// counter has this name).
const TODAY: &str = "posts today";

// `sum` of bigints is numeric in PostgreSQL; `int8(numeric)` is its cast
// back, as a function so that the statement stays Diesel's own (kept
// prepared per connection, unlike `sql_query`).
diesel::define_sql_function!(
    fn int8(x: Nullable<Numeric>) -> Nullable<BigInt>
);

/// A row of [`REQUEST_TOTALS`]: `endpoint` is set in the per-endpoint set,
/// `minute` in the per-minute one.
#[derive(QueryableByName)]
struct TotalRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    endpoint: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
    minute: Option<DateTime<Utc>>,
    #[diesel(sql_type = diesel::sql_types::SmallInt)]
    status: i16,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    requests: i64,
}

/// Stored statuses are HTTP codes (100..=599).
fn status_code(status: i16) -> u16 {
    u16::try_from(status).unwrap_or(0)
}

/// [`StatsRepository`] over the back-office tables.
#[derive(Clone)]
pub struct PgStatsRepository {
    db: Database,
}

impl PgStatsRepository {
    pub fn new(db: impl Into<Database>) -> Self {
        Self { db: db.into() }
    }

    /// Adds `(minute, endpoint, key, requests)` rows to a table of counts
    /// with `statement` (one of [`ADD_REQUEST_COUNTS`],
    /// [`ADD_LATENCY_COUNTS`]): one statement, one text whatever the
    /// number of rows, so it is prepared once per connection.
    async fn add_counts<K, T>(
        &self,
        statement: &'static str,
        rows: Vec<(DateTime<Utc>, String, T, i64)>,
    ) -> Result<(), StoreError>
    where
        K: SqlType + SingleValue + diesel::query_builder::QueryId + Send + 'static,
        Pg: HasSqlType<K>,
        Vec<T>: ToSql<Array<K>, Pg>,
        T: Send + 'static,
    {
        let mut columns = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (minute, endpoint, key, requests) in rows {
            columns.0.push(minute);
            columns.1.push(endpoint);
            columns.2.push(key);
            columns.3.push(requests);
        }
        write(&self.db, move |conn| {
            diesel::sql_query(statement)
                .bind::<Array<Timestamptz>, _>(columns.0)
                .bind::<Array<Text>, _>(columns.1)
                .bind::<Array<K>, _>(columns.2)
                .bind::<Array<BigInt>, _>(columns.3)
                .execute(conn)
                .map(drop)
        })
        .await
    }
}

#[async_trait]
impl StatsRepository for PgStatsRepository {
    /// Sums 16 shard rows per counter and at most 100 quarter-hour buckets
    /// (each in shards) of the day in one statement: each counter's total
    /// over its shards, then the posts of the day labelled [`TODAY`]. The
    /// day's ends are local midnights, multiples of 15 minutes in every
    /// zone, so whole buckets cover it exactly; both are bounds of the
    /// range scan on the primary key `(quarter, shard)`, which is also what
    /// a generic plan picks (with only a lower bound it would estimate a
    /// third of the table and read all of it). The cost does not grow with
    /// the number of users or posts, three rows come back, and the
    /// statement is prepared once per connection.
    async fn service_totals(&self, day: Range<DateTime<Utc>>) -> Result<ServiceTotals, StoreError> {
        let rows: Vec<(String, Option<i64>)> = read(&self.db, move |conn| {
            let counters = service_counters::table
                .group_by(service_counters::name)
                .select((service_counters::name, int8(sum(service_counters::value))));
            let today = post_counts_by_quarter::table
                .filter(post_counts_by_quarter::quarter.ge(day.start))
                .filter(post_counts_by_quarter::quarter.lt(day.end))
                .select((
                    TODAY.into_sql::<Text>(),
                    int8(sum(post_counts_by_quarter::posts)),
                ));
            counters.union_all(today).load(conn)
        })
        .await?;
        let total = |name: &str| -> i64 {
            rows.iter()
                .filter(|(row, _)| row == name)
                .filter_map(|(_, total)| *total)
                .sum()
        };
        Ok(ServiceTotals {
            users: total("users"),
            posts: total("posts"),
            posts_today: total(TODAY),
        })
    }

    async fn add_request_counts(&self, counts: Vec<RequestCount>) -> Result<(), StoreError> {
        let rows = counts.into_iter().map(|count| {
            let status = i16::try_from(count.status).unwrap_or(i16::MAX);
            (count.minute, count.endpoint, status, count.requests)
        });
        self.add_counts::<SmallInt, _>(ADD_REQUEST_COUNTS, rows.collect())
            .await
    }

    async fn request_totals(&self, since: DateTime<Utc>) -> Result<RequestTotals, StoreError> {
        let rows: Vec<TotalRow> = write(&self.db, move |conn| {
            diesel::sql_query(REQUEST_TOTALS)
                .bind::<diesel::sql_types::Timestamptz, _>(since)
                .load(conn)
        })
        .await?;
        let mut totals = RequestTotals::default();
        for row in rows {
            let (status, requests) = (status_code(row.status), row.requests);
            match (row.endpoint, row.minute) {
                (Some(endpoint), _) => totals.by_endpoint.push(EndpointCount {
                    endpoint,
                    status,
                    requests,
                }),
                (None, Some(minute)) => totals.by_minute.push(MinuteCount {
                    minute,
                    status,
                    requests,
                }),
                (None, None) => return Err(unreadable("a request total of no grouping set")),
            }
        }
        Ok(totals)
    }

    async fn prune_request_counts(&self, before: DateTime<Utc>) -> Result<(), StoreError> {
        write(&self.db, move |conn| {
            diesel::delete(request_counts::table.filter(request_counts::minute.lt(before)))
                .execute(conn)
                .map(drop)
        })
        .await
    }

    async fn add_latency_counts(&self, counts: Vec<LatencyCount>) -> Result<(), StoreError> {
        let rows = counts
            .into_iter()
            .map(|count| (count.minute, count.endpoint, count.le, count.requests));
        self.add_counts::<Double, _>(ADD_LATENCY_COUNTS, rows.collect())
            .await
    }

    /// A range scan of the primary key `(minute, ...)` over the last hour:
    /// at most (endpoints x buckets) rows come back.
    async fn latency_totals(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<EndpointLatency>, StoreError> {
        let rows: Vec<(String, f64, Option<i64>)> = write(&self.db, move |conn| {
            request_latency_counts::table
                .filter(request_latency_counts::minute.ge(since))
                .group_by((request_latency_counts::endpoint, request_latency_counts::le))
                .select((
                    request_latency_counts::endpoint,
                    request_latency_counts::le,
                    int8(sum(request_latency_counts::requests)),
                ))
                .load(conn)
        })
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(endpoint, le, requests)| {
                requests.map(|requests| EndpointLatency {
                    endpoint,
                    le,
                    requests,
                })
            })
            .collect())
    }

    async fn prune_latency_counts(&self, before: DateTime<Utc>) -> Result<(), StoreError> {
        write(&self.db, move |conn| {
            diesel::delete(
                request_latency_counts::table.filter(request_latency_counts::minute.lt(before)),
            )
            .execute(conn)
            .map(drop)
        })
        .await
    }

    /// Reads the shared slot table (at most 5 rows per user with a stream
    /// open): a slot counts while its lease, renewed by its process, has
    /// not expired, so a process that died stops counting within a lease.
    async fn open_streams(&self) -> Result<Vec<ProcessStreams>, StoreError> {
        let rows: Vec<(String, i64)> = write(&self.db, move |conn| {
            notification_streams::table
                .filter(notification_streams::expires_at.gt(diesel::dsl::now))
                .group_by(notification_streams::process_id)
                .select((notification_streams::process_id, diesel::dsl::count_star()))
                .order_by(notification_streams::process_id)
                .load(conn)
        })
        .await?;
        Ok(rows
            .into_iter()
            .map(|(process, streams)| ProcessStreams { process, streams })
            .collect())
    }
}
