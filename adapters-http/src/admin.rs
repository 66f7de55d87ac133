//! The back office: statistics, Prometheus metrics and the admin page.

use axum::Json as JsonBody;
use axum::extract::{FromRequestParts, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use minifb_application::consistency::ReplicaStatus;
use minifb_application::stats::ServiceStats;

use crate::server_stats::{EndpointLatencySummary, ServerStats};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::bearer;
use crate::error::ApiError;
use crate::openapi::Unavailable;
use crate::time;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(page))
        .routes(routes!(service_stats))
        .routes(routes!(server_stats))
        .routes(routes!(metrics))
}

/// The back-office token: `Authorization: Bearer <MINIFB_ADMIN_TOKEN>`.
/// Both sides are hashed before the constant-time comparison, so neither
/// the content nor the length of the token leaks through timing. Any other
/// token, a user's access token included, is a 401.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(&parts.headers)?.ok_or_else(ApiError::missing_token)?;
        let presented = Sha256::digest(token.as_bytes());
        if bool::from(presented.ct_eq(&state.admin_token_digest)) {
            Ok(Self)
        } else {
            Err(ApiError::invalid_token())
        }
    }
}

/// SHA-256 of the admin token, as [`AdminAuth`] compares it.
pub fn admin_token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[derive(Serialize, ToSchema)]
#[schema(as = ServiceStats)]
struct ServiceStatsBody {
    total_users: i64,
    total_posts: i64,
    /// Posts created since midnight in `MINIFB_TIMEZONE` (default UTC).
    posts_today: i64,
    #[serde(serialize_with = "time::rfc3339")]
    generated_at: DateTime<Utc>,
}

impl From<ServiceStats> for ServiceStatsBody {
    fn from(stats: ServiceStats) -> Self {
        Self {
            total_users: stats.total_users,
            total_posts: stats.total_posts,
            posts_today: stats.posts_today,
            generated_at: stats.generated_at,
        }
    }
}

/// One minute's requests: `minute` and a count per status class that
/// occurred in it (`"2xx"`, `"4xx"`, ...), e.g.
/// `{ "minute": "2026-11-26T09:56:00.000Z", "2xx": 41, "4xx": 3 }`.
#[derive(Serialize, ToSchema)]
#[schema(as = MinuteRequests)]
struct MinuteBody {
    /// The start of the minute.
    #[serde(serialize_with = "time::rfc3339")]
    minute: DateTime<Utc>,
    #[serde(flatten)]
    by_class: BTreeMap<String, i64>,
}

/// Latency of one endpoint over the last hour, every process summed: the
/// `/metrics` histogram buckets of its requests, added up per minute by
/// each process and summed over all, with p50 and p99 interpolated within
/// a bucket as Prometheus's `histogram_quantile` does (so they are as
/// precise as the buckets: 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5,
/// 5, 10 s; beyond 10 s they say 10 000 ms).
#[derive(Serialize, ToSchema)]
#[schema(as = EndpointLatency)]
struct EndpointLatencyBody {
    /// Requests of the last hour.
    requests: i64,
    /// Median latency in milliseconds; null without requests.
    #[schema(required = true)]
    p50_ms: Option<f64>,
    /// 99th percentile latency in milliseconds; null without requests.
    #[schema(required = true)]
    p99_ms: Option<f64>,
}

impl From<EndpointLatencySummary> for EndpointLatencyBody {
    fn from(summary: EndpointLatencySummary) -> Self {
        let ms = |seconds: Option<f64>| seconds.map(|s| (s * 1_000_000.0).round() / 1000.0);
        Self {
            requests: summary.requests,
            p50_ms: ms(summary.p50),
            p99_ms: ms(summary.p99),
        }
    }
}

/// Request statistics of every server process that shares the database,
/// over the last 24 hours. Every request counts, health and back-office
/// ones included, within 10 seconds.
#[derive(Serialize, ToSchema)]
#[schema(as = ServerStats)]
struct ServerStatsBody {
    /// Requests per second over the previous and the current minute bucket:
    /// their requests divided by the seconds from the start of the previous
    /// minute to now (so between 60 and 120 seconds).
    rps: f64,
    requests_last_24h: i64,
    /// Requests by status code (`"200"`, `"404"`, ...), over the same 24 hours.
    by_status: BTreeMap<String, i64>,
    /// Requests by route template (`"GET /posts/{id}"`), over the same 24
    /// hours. Requests that matched no route, 405s included, count under
    /// `"<METHOD> (unmatched)"` (METHOD one of GET, HEAD, POST, PUT, PATCH,
    /// DELETE, OPTIONS, or OTHER).
    by_endpoint: BTreeMap<String, i64>,
    /// Not in the contract: requests per minute by status class, oldest
    /// first, for the admin page's chart. Minutes without requests are left out.
    by_minute: Vec<MinuteBody>,
    /// The oldest instant the counts cover.
    #[serde(serialize_with = "time::rfc3339")]
    since: DateTime<Utc>,
    /// Not in the contract: live notification streams open on the process
    /// that answered (each process counts its own; `/metrics` exports the
    /// same number as `notification_streams_open`).
    open_streams: usize,
    /// Not in the contract: live notification streams open on every process
    /// that shares the database, read from the shared slot table (a slot
    /// counts while its process keeps renewing its lease).
    open_streams_total: i64,
    /// Not in the contract: the same streams per process, by the random id
    /// each process takes at its start; processes with none are left out.
    open_streams_by_process: BTreeMap<String, i64>,
    /// Not in the contract: latency per route template (as in
    /// `by_endpoint`) over the last hour, every process summed.
    latency_last_hour: BTreeMap<String, EndpointLatencyBody>,
    /// The oldest instant `latency_last_hour` covers.
    #[serde(serialize_with = "time::rfc3339")]
    latency_since: DateTime<Utc>,
    /// Not in the contract: the read replicas (`MINIFB_REPLICA_URLS`) as
    /// the process that answered sees them; empty without replicas.
    replicas: Vec<ReplicaBody>,
}

/// One read replica as the answering process saw it at its last check.
#[derive(Serialize, ToSchema)]
#[schema(as = Replica)]
struct ReplicaBody {
    /// `host:port` of its URL.
    replica: String,
    /// `serving` (within the lag bound), `lagging` (further behind: it
    /// serves nobody until it catches up) or `down` (not answering).
    state: &'static str,
    /// Seconds behind the primary; `null` when unknown.
    lag_seconds: Option<f64>,
    /// The WAL position it had replayed (`16/B374D848`); `null` before it
    /// first answered.
    replayed: Option<String>,
}

impl From<ReplicaStatus> for ReplicaBody {
    fn from(status: ReplicaStatus) -> Self {
        Self {
            replica: status.replica,
            state: status.state.as_str(),
            lag_seconds: status.lag.map(|lag| lag.as_secs_f64()),
            replayed: status.replayed,
        }
    }
}

impl From<ServerStats> for ServerStatsBody {
    fn from(stats: ServerStats) -> Self {
        Self {
            rps: stats.rps,
            requests_last_24h: stats.requests_last_24h,
            by_status: stats.by_status,
            by_endpoint: stats.by_endpoint,
            by_minute: stats
                .by_minute
                .into_iter()
                .map(|m| MinuteBody {
                    minute: m.minute,
                    by_class: m.by_class,
                })
                .collect(),
            since: stats.since,
            open_streams: 0,
            open_streams_total: stats.streams_by_process.iter().map(|p| p.streams).sum(),
            open_streams_by_process: stats
                .streams_by_process
                .into_iter()
                .map(|p| (p.process, p.streams))
                .collect(),
            latency_last_hour: stats
                .latency
                .into_iter()
                .map(|(endpoint, summary)| (endpoint, summary.into()))
                .collect(),
            latency_since: stats.latency_since,
            replicas: Vec::new(),
        }
    }
}

/// Totals of users and posts.
#[utoipa::path(
    get, path = "/admin/stats/service", tag = "back office",
    security(("admin" = [])),
    responses(
        (status = 200, description = "The totals.", body = ServiceStatsBody),
        Unavailable,
    ),
)]
async fn service_stats(
    State(state): State<AppState>,
    _: AdminAuth,
) -> Result<JsonBody<ServiceStatsBody>, ApiError> {
    Ok(JsonBody(state.stats.service().await?.into()))
}

/// Request statistics of the last 24 hours.
#[utoipa::path(
    get, path = "/admin/stats/server", tag = "back office",
    security(("admin" = [])),
    responses(
        (status = 200, description = "The statistics.", body = ServerStatsBody),
        Unavailable,
    ),
)]
async fn server_stats(
    State(state): State<AppState>,
    _: AdminAuth,
) -> Result<JsonBody<ServerStatsBody>, ApiError> {
    let mut body: ServerStatsBody = state.server_stats.server().await?.into();
    body.open_streams = state.live.open_streams();
    body.replicas = state
        .replicas
        .replicas()
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(JsonBody(body))
}

/// Prometheus metrics: request counts and latency histograms per route
/// template, and the database pool's gauges.
#[utoipa::path(
    get, path = "/metrics", tag = "back office",
    security(("admin" = [])),
    responses(
        (status = 200, description = "The Prometheus text exposition format.", body = String, content_type = "text/plain; version=0.0.4"),
    ),
)]
async fn metrics(State(state): State<AppState>, _: AdminAuth) -> Response {
    crate::telemetry::record_pool_gauges(&state);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::telemetry::prometheus().render(),
    )
        .into_response()
}

/// The back-office page. The page itself is public; it asks for the admin
/// token and keeps it in the tab's session storage only.
#[utoipa::path(
    get, path = "/admin", tag = "back office",
    responses(
        (status = 200, description = "An HTML page.", body = String, content_type = "text/html"),
    ),
)]
// `Cache-Control: no-store` comes from `middleware::private_answers`.
async fn page() -> impl IntoResponse {
    Html(include_str!("../assets/admin.html"))
}
