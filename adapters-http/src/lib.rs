//! The HTTP adapter: the axum router of the whole contract.
//!
//! One module per resource, each with `fn router() -> OpenApiRouter<AppState>`,
//! merged in [`router`]. Each handler carries its `#[utoipa::path]` and is
//! registered with `utoipa_axum::routes!`, which adds it to the router and
//! to the OpenAPI document ([`openapi`], served at `/openapi.json`) at once.
//! Handlers extract, turn the request into domain types, call a use case and
//! map the result. Every failure, including axum's own rejections, unknown
//! routes, wrong methods, oversized bodies and panics, leaves as
//! [`ApiError`]'s `{ "result", "hint" }` body.

mod accounts;
mod admin;
mod auth;
mod client_addr;
mod comments;
mod cors;
mod docs;
mod error;
mod extract;
mod live;
mod middleware;
mod notifications;
mod openapi;
mod ops;
mod pagination;
mod posts;
mod reactions;
mod replica_reads;
mod retries;
mod server_stats;
mod telemetry;
mod time;
mod views;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderName, HeaderValue, Method};
use minifb_application::accounts::AccountService;
use minifb_application::consistency::ReadReplicas;
use minifb_application::live::LiveService;
use minifb_application::ports::HealthCheck;
use minifb_application::social::SocialService;
use minifb_application::stats::StatsService;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_axum::router::OpenApiRouter;

pub use admin::admin_token_digest;
pub use auth::{AuthUser, JwtKeys, MaybeAuthUser};
pub use client_addr::TrustedProxies;
pub use error::{ApiError, ErrorBody};
pub use middleware::BODY_LIMIT;
pub use openapi::{EMAIL_PATTERN, NO_NUL_PATTERN, NOT_BLANK_PATTERN, USER_ID_PATTERN};
pub use pagination::{CURSOR_PATTERN, DEFAULT_LIMIT, MAX_LIMIT};
pub use replica_reads::REPLICA_READS;
pub use server_stats::{RequestCounter, ServerStatsService};
pub use telemetry::prometheus;

/// What the handlers share, behind one `Arc`: axum clones the state for
/// every layer and extractor that asks for it, several times a request,
/// and one reference count is cheaper to clone and drop than one per
/// service.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    /// The services and settings, shared from now on.
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The services and settings of [`AppState`].
pub struct Shared {
    pub accounts: AccountService,
    pub social: SocialService,
    pub stats: StatsService,
    pub server_stats: ServerStatsService,
    /// Live notification streams (`GET /me/notifications/stream`).
    pub live: LiveService,
    /// Longest silence on a stream before a `: keep-alive` comment (15 s;
    /// shorter in tests).
    pub stream_keep_alive: Duration,
    pub jwt: Arc<JwtKeys>,
    pub health: Arc<dyn HealthCheck>,
    /// The read replicas (`NoReplicas` when none is configured).
    pub replicas: Arc<dyn ReadReplicas>,
    /// SHA-256 of `MINIFB_ADMIN_TOKEN` (see [`admin_token_digest`]).
    pub admin_token_digest: [u8; 32],
}

/// Settings of the HTTP layer itself.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Browser origins allowed to call the API; none by default.
    pub cors_origins: Vec<HeaderValue>,
    /// How long a request may take from its head to its answer
    /// (`MINIFB_REQUEST_TIMEOUT`); over it, 503.
    pub request_timeout: Duration,
    /// How long a request body may go without a byte; then 408 and the
    /// connection is closed.
    pub body_stall: Duration,
    /// Load balancers whose `X-Forwarded-For` names the client
    /// (`MINIFB_TRUSTED_PROXIES`); none by default.
    pub trusted_proxies: TrustedProxies,
}

impl Default for HttpConfig {
    /// The contract's numbers: 30 s per request, 10 s of body silence.
    fn default() -> Self {
        Self {
            cors_origins: Vec::new(),
            request_timeout: Duration::from_secs(30),
            body_stall: Duration::from_secs(10),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// Every route of the API, each registered once for both the router and the
/// OpenAPI document.
fn routes() -> OpenApiRouter<AppState> {
    let mut routes = OpenApiRouter::with_openapi(openapi::base())
        .merge(accounts::router())
        .merge(posts::router())
        .merge(comments::router())
        .merge(reactions::router())
        .merge(notifications::router())
        .merge(live::router())
        .merge(admin::router())
        .merge(ops::router())
        .merge(docs::router());
    openapi::complete(routes.get_openapi_mut());
    routes
}

/// The OpenAPI 3.1 document of [`router`]'s routes, as `GET /openapi.json`
/// serves it.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// The whole API as one router, ready to serve (with
/// `into_make_service_with_connect_info::<SocketAddr>()` so rate limits see
/// the peer address) or to drive with `oneshot` in tests.
pub fn router(state: AppState, config: &HttpConfig) -> Router {
    // Install the metrics recorder before the first request is counted.
    telemetry::prometheus();
    let request_id = HeaderName::from_static(middleware::REQUEST_ID_HEADER);
    let cors = (!config.cors_origins.is_empty()).then(|| {
        ServiceBuilder::new()
            .layer(axum::middleware::from_fn(middleware::preflight_no_content))
            .layer(cors::PreflightOnlyLayer(
                CorsLayer::new()
                    .allow_origin(AllowOrigin::list(config.cors_origins.clone()))
                    .allow_methods([
                        Method::GET,
                        Method::POST,
                        Method::PUT,
                        Method::PATCH,
                        Method::DELETE,
                    ])
                    .allow_headers([AUTHORIZATION, CONTENT_TYPE, retries::IDEMPOTENCY_KEY])
                    .expose_headers([retries::IDEMPOTENT_REPLAYED])
                    .max_age(std::time::Duration::from_secs(600)),
            ))
            .into_inner()
    });
    Router::from(routes())
        .route_layer(axum::middleware::from_fn_with_state(
            config.body_stall,
            middleware::body_guard,
        ))
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .fallback(middleware::not_found)
        // Outermost first. `Router::layer` wraps every route and the
        // fallback, so the telemetry sees the matched route template.
        .layer(
            ServiceBuilder::new()
                .layer(axum::middleware::from_fn(middleware::sanitize_request_id))
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(SetResponseHeaderLayer::overriding(
                    X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(axum::middleware::from_fn(middleware::private_answers))
                .layer(axum::middleware::from_fn_with_state(
                    Arc::new(config.trusted_proxies.clone()),
                    client_addr::client_address,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    telemetry::track,
                ))
                .option_layer(cors)
                .layer(axum::middleware::from_fn(
                    middleware::name_request_in_failures,
                ))
                .layer(CatchPanicLayer::custom(middleware::panic_response))
                .layer(axum::middleware::from_fn(middleware::head_limits))
                .layer(axum::middleware::from_fn_with_state(
                    config.request_timeout,
                    middleware::deadline,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    replica_reads::route_reads,
                )),
        )
        .with_state(state)
}
