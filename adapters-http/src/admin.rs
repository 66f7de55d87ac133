//! The back office: statistics, Prometheus metrics and the admin page.

use axum::extract::{FromRequestParts, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json as JsonBody, Router};
use chrono::{DateTime, Utc};
use minifb_application::stats::{ServerStats, ServiceStats};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::error::ApiError;
use crate::time;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(page))
        .route("/admin/stats/service", get(service_stats))
        .route("/admin/stats/server", get(server_stats))
        .route("/metrics", get(metrics))
}

/// The back-office token: `Authorization: Bearer <MINIFB_ADMIN_TOKEN>`.
/// Both sides are hashed before the constant-time comparison, so neither
/// the content nor the length of the token leaks through timing. Any other
/// token, a user's access token included, is a 401.
pub struct AdminAuth;

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Err(ApiError::missing_token());
        };
        let presented = header
            .to_str()
            .ok()
            .and_then(|value| value.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .unwrap_or_default();
        let presented = Sha256::digest(presented.as_bytes());
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

#[derive(Serialize)]
struct ServiceStatsBody {
    total_users: i64,
    total_posts: i64,
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

#[derive(Serialize)]
struct MinuteBody {
    #[serde(serialize_with = "time::rfc3339")]
    minute: DateTime<Utc>,
    #[serde(flatten)]
    by_class: BTreeMap<String, i64>,
}

#[derive(Serialize)]
struct ServerStatsBody {
    rps: f64,
    requests_last_24h: i64,
    by_status: BTreeMap<String, i64>,
    by_endpoint: BTreeMap<String, i64>,
    /// Requests per minute by status class, oldest first: the admin chart.
    by_minute: Vec<MinuteBody>,
    #[serde(serialize_with = "time::rfc3339")]
    since: DateTime<Utc>,
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
        }
    }
}

async fn service_stats(
    State(state): State<AppState>,
    _: AdminAuth,
) -> Result<JsonBody<ServiceStatsBody>, ApiError> {
    Ok(JsonBody(state.stats.service().await?.into()))
}

async fn server_stats(
    State(state): State<AppState>,
    _: AdminAuth,
) -> Result<JsonBody<ServerStatsBody>, ApiError> {
    Ok(JsonBody(state.stats.server().await?.into()))
}

async fn metrics(State(state): State<AppState>, _: AdminAuth) -> Response {
    crate::telemetry::record_pool_gauges(&state);
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::telemetry::prometheus().render(),
    )
        .into_response()
}

/// The page itself is public; it asks for the token and keeps it in the
/// tab's session storage only.
async fn page() -> impl IntoResponse {
    (
        [(CACHE_CONTROL, "no-store")],
        Html(include_str!("../assets/admin.html")),
    )
}
