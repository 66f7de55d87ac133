//! `/health` and `/ready`.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;

/// How long `/ready` waits for the database before answering 503.
const READY_TIMEOUT: Duration = Duration::from_millis(1500);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
}

async fn health() -> axum::Json<Value> {
    axum::Json(json!({ "status": "ok" }))
}

async fn ready(State(state): State<AppState>) -> Result<axum::Json<Value>, ApiError> {
    match tokio::time::timeout(READY_TIMEOUT, state.health.database_ready()).await {
        Ok(Ok(())) => Ok(axum::Json(json!({ "status": "ready" }))),
        Ok(Err(error)) => Err(ApiError::unavailable(format!(
            "database not ready: {error}"
        ))),
        Err(_) => Err(ApiError::unavailable(
            "database not ready: no answer within 1.5 seconds",
        )),
    }
}
