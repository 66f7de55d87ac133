//! `/health` and `/ready`.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};

/// How long `/ready` waits for the database before answering 503.
const READY_TIMEOUT: Duration = Duration::from_millis(1500);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// `{ "status": "ok" }` or `{ "status": "ready" }`.
#[derive(Serialize, ToSchema)]
#[schema(as = Status)]
struct StatusBody {
    #[schema(value_type = String, example = "ok")]
    status: &'static str,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(
    get, path = "/health", tag = "operations",
    responses((status = 200, description = "`{ \"status\": \"ok\" }`", body = StatusBody)),
)]
async fn health() -> Json<StatusBody> {
    Json(StatusBody { status: "ok" })
}

/// Readiness: 200 when the database answers, else 503 within 2 seconds.
#[utoipa::path(
    get, path = "/ready", tag = "operations",
    responses(
        (status = 200, description = "`{ \"status\": \"ready\" }`", body = StatusBody),
        (status = 503, description = "The database did not answer (within 1.5 s).", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait before trying again."))),
    ),
)]
async fn ready(State(state): State<AppState>) -> Result<Json<StatusBody>, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, state.health.database_ready()).await {
        Ok(Ok(())) => Ok(Json(StatusBody { status: "ready" })),
        Ok(Err(error)) => Err(ApiError::unavailable(format!(
            "database not ready: {error}"
        ))),
        Err(_) => Err(ApiError::unavailable(
            "database not ready: no answer within 1.5 seconds",
        )),
    }
}
