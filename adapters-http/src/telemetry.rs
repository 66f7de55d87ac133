//! Per-request telemetry: the tracing span and log line, the back office's
//! request counts, and the Prometheus metrics.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

use crate::AppState;

/// Latency buckets in seconds, from a cache hit to a slow password hash:
/// of the `/metrics` histograms and of the back office's latency counts.
pub(crate) const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's Prometheus recorder, installed on first use. Several
/// servers in one process (the tests) share it.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = || match PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                LATENCY_BUCKETS,
            )
            .and_then(|builder| {
                builder.set_buckets_for_metric(
                    Matcher::Full("password_hashing_wait_seconds".into()),
                    LATENCY_BUCKETS,
                )
            }) {
            Ok(builder) => builder,
            // Only an empty bucket list is refused, and ours is a constant.
            Err(_) => PrometheusBuilder::new(),
        };
        builder().install_recorder().unwrap_or_else(|error| {
            // Another recorder is installed (an embedding program's): keep
            // a private one so /metrics still answers.
            tracing::warn!(%error, "using a private metrics recorder");
            builder().build_recorder().handle()
        })
    })
}

/// The label requests are counted under: the route template, never the raw
/// path, so a scanner cannot create labels. Unmatched requests (405s
/// included) share one label per method.
pub fn endpoint_label(method: &Method, route: Option<&str>, status: StatusCode) -> String {
    let known = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ];
    let method = if known.contains(method) {
        method.as_str()
    } else {
        "OTHER"
    };
    match route {
        Some(route) if status != StatusCode::METHOD_NOT_ALLOWED => format!("{method} {route}"),
        _ => format!("{method} (unmatched)"),
    }
}

/// Wraps every request: a span with the request id, method and route; one
/// log line with status and latency; the counts and metrics.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let request_id = request
        .headers()
        .get(crate::middleware::REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let client = request
        .extensions()
        .get::<crate::client_addr::ClientAddr>()
        .map(|client| client.0);
    let span = tracing::info_span!(
        "request",
        id = %request_id,
        method = %method,
        route = route.as_deref().unwrap_or("(unmatched)"),
        client = client.map(tracing::field::display),
    );
    let response = next.run(request).instrument(span.clone()).await;

    let status = response.status();
    let latency = started.elapsed();
    let endpoint = endpoint_label(&method, route.as_deref(), status);
    let counter = &state.server_stats.counter;
    counter.record(&endpoint, status.as_u16());
    counter.record_latency(&endpoint, latency.as_secs_f64());
    let labels = [
        ("endpoint", endpoint),
        ("status", status.as_u16().to_string()),
    ];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(latency.as_secs_f64());
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = latency.as_secs_f64() * 1000.0,
            "answered"
        );
    });
    response
}

/// Refreshes the database-pool gauges, right before a scrape.
pub fn record_pool_gauges(state: &AppState) {
    let status = state.health.pool_status();
    metrics::gauge!("db_pool_max_size").set(status.max_size as f64);
    metrics::gauge!("db_pool_connections").set(status.size as f64);
    metrics::gauge!("db_pool_idle_connections").set(status.available as f64);
    metrics::gauge!("db_pool_waiting_requests").set(status.waiting as f64);
    metrics::gauge!("notification_streams_open").set(state.live.open_streams() as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As in a program that embeds the router and installed its own
    /// recorder first: `/metrics` still has one to render.
    #[test]
    fn a_recorder_installed_before_ours_leaves_a_private_one() {
        let installed_first = metrics::set_global_recorder(metrics::NoopRecorder).is_ok();
        let handle = prometheus();
        assert!(std::ptr::eq(handle, prometheus()), "one per process");
        if installed_first {
            assert_eq!(handle.render(), "", "nothing is recorded into it");
        }
    }

    #[test]
    fn endpoints_are_labelled_by_template_or_as_unmatched() {
        let ok = StatusCode::OK;
        assert_eq!(
            endpoint_label(&Method::GET, Some("/posts/{id}"), ok),
            "GET /posts/{id}"
        );
        assert_eq!(
            endpoint_label(&Method::GET, None, StatusCode::NOT_FOUND),
            "GET (unmatched)"
        );
        assert_eq!(
            endpoint_label(
                &Method::DELETE,
                Some("/auth/signup"),
                StatusCode::METHOD_NOT_ALLOWED
            ),
            "DELETE (unmatched)"
        );
        let odd = Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(
            endpoint_label(&odd, None, StatusCode::NOT_FOUND),
            "OTHER (unmatched)"
        );
    }
}
