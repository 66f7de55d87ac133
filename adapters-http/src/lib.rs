//! The HTTP adapter: the axum router of the whole contract.
//!
//! One module per resource, each with `fn router() -> Router<AppState>`,
//! merged in [`router`]. Handlers extract, turn the request into domain
//! types, call a use case and map the result. Every failure, including
//! axum's own rejections, unknown routes, wrong methods, oversized bodies
//! and panics, leaves as [`ApiError`]'s `{ "result", "hint" }` body.

mod accounts;
mod auth;
mod error;
mod extract;
mod middleware;
mod ops;
mod time;

use std::sync::Arc;

use axum::Router;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{HeaderName, HeaderValue, Method};
use minifb_application::accounts::AccountService;
use minifb_application::ports::HealthCheck;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use auth::{AuthUser, JwtKeys, MaybeAuthUser};
pub use error::{ApiError, ErrorBody};
pub use middleware::BODY_LIMIT;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub accounts: AccountService,
    pub jwt: Arc<JwtKeys>,
    pub health: Arc<dyn HealthCheck>,
}

/// Settings of the HTTP layer itself.
#[derive(Debug, Clone, Default)]
pub struct HttpConfig {
    /// Browser origins allowed to call the API; none by default.
    pub cors_origins: Vec<HeaderValue>,
}

/// The whole API as one router, ready to serve (with
/// `into_make_service_with_connect_info::<SocketAddr>()` so rate limits see
/// the peer address) or to drive with `oneshot` in tests.
pub fn router(state: AppState, config: &HttpConfig) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let routes = Router::new()
        .merge(accounts::router())
        .merge(ops::router())
        .route_layer(axum::middleware::from_fn(middleware::body_guard))
        .method_not_allowed_fallback(middleware::method_not_allowed)
        .fallback(middleware::not_found)
        .with_state(state);

    let mut app = routes.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(TraceLayer::new_for_http())
            .layer(axum::middleware::from_fn(middleware::request_context))
            .layer(CatchPanicLayer::custom(middleware::panic_response))
            .layer(SetResponseHeaderLayer::overriding(
                X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            )),
    );
    if !config.cors_origins.is_empty() {
        let cors = CorsLayer::new()
            .allow_origin(AllowOrigin::list(config.cors_origins.clone()))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([AUTHORIZATION, CONTENT_TYPE])
            .max_age(std::time::Duration::from_secs(600));
        app = app
            .layer(cors)
            .layer(axum::middleware::from_fn(middleware::preflight_no_content));
    }
    app
}
