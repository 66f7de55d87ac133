//! The caller's notifications.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json as JsonBody, Router};
use minifb_domain::NotificationId;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{Path, Query, parse_id};
use crate::pagination::{PageBody, page_request};
use crate::views::NotificationBody;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me/notifications", get(list_notifications))
        .route("/me/notifications/{id}/read", post(mark_read))
        .route("/me/notifications/read-all", post(mark_all_read))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotificationsQuery {
    limit: Option<String>,
    cursor: Option<String>,
    unread: Option<String>,
}

#[derive(Serialize)]
struct NotificationPageBody {
    #[serde(flatten)]
    page: PageBody<NotificationBody>,
    unread_count: i64,
}

async fn list_notifications(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Query(query): Query<NotificationsQuery>,
) -> Result<JsonBody<NotificationPageBody>, ApiError> {
    let unread_only = match query.unread.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::bad_request("unread must be true or false")),
    };
    let list = format!(
        "notifications:{}:{}",
        user_id.to_ascii_lowercase(),
        if unread_only { "unread" } else { "all" }
    );
    let page = page_request(query.limit.as_deref(), query.cursor.as_deref(), &list)?;
    let result = state
        .social
        .notifications(&user_id, unread_only, page)
        .await?;
    Ok(JsonBody(NotificationPageBody {
        page: PageBody::from_page(result.page, &list, NotificationBody::from),
        unread_count: result.unread_count,
    }))
}

async fn mark_read(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: NotificationId = parse_id("notification id", &id)?;
    state.social.mark_notification_read(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn mark_all_read(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
) -> Result<StatusCode, ApiError> {
    state.social.mark_all_notifications_read(&user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
