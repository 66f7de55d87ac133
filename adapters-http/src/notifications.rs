//! The caller's notifications.

use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use minifb_domain::NotificationId;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Id, Query};
use crate::openapi::{BadId, NoSuchNotification, Unavailable};
use crate::pagination::{self, List, PageBody, page_request};
use crate::views::NotificationBody;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_notifications))
        .routes(routes!(mark_read))
        .routes(routes!(mark_all_read))
}

/// `?limit=&cursor=&unread=`; any other parameter is a 400.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct NotificationsQuery {
    #[param(schema_with = pagination::limit)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page. Cursors are opaque (the
    /// pattern is only their shape) and tied to the list they came from,
    /// `unread` filter included: one from another list is a 400.
    #[param(schema_with = pagination::cursor)]
    cursor: Option<String>,
    /// `true` for unread notifications only; `true` or `false`, anything
    /// else is a 400.
    #[param(value_type = Option<bool>)]
    unread: Option<String>,
}

/// A page of notifications and how many of the caller's are unread.
#[derive(Serialize, ToSchema)]
#[schema(as = NotificationPage)]
struct NotificationPageBody {
    #[serde(flatten)]
    page: PageBody<NotificationBody>,
    /// All of the caller's unread notifications, not only this page's.
    unread_count: i64,
}

/// The caller's notifications, newest first.
#[utoipa::path(
    get, path = "/me/notifications", tag = "notifications", security(("user" = [])),
    params(NotificationsQuery),
    responses(
        (status = 200, description = "A page of notifications and the unread count.", body = NotificationPageBody),
        (status = 400, description = "A bad `limit`, `cursor` or `unread`, or an unknown query parameter.", body = ErrorBody),
        Unavailable,
    ),
)]
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
    let list = List::Notifications {
        user: &user_id,
        unread_only,
    };
    let page = page_request(query.limit.as_deref(), query.cursor.as_deref(), list)?;
    let result = state
        .social
        .notifications(&user_id, unread_only, page)
        .await?;
    Ok(JsonBody(NotificationPageBody {
        page: PageBody::from_page(result.page, list),
        unread_count: result.unread_count,
    }))
}

/// Marks one of the caller's notifications read.
#[utoipa::path(
    post, path = "/me/notifications/{id}/read", tag = "notifications", security(("user" = [])),
    params(Id<NotificationId>),
    responses(
        (status = 204, description = "Read."),
        BadId, NoSuchNotification, Unavailable,
    ),
)]
async fn mark_read(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Id(id): Id<NotificationId>,
) -> Result<StatusCode, ApiError> {
    state.social.mark_notification_read(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks all of the caller's notifications read.
#[utoipa::path(
    post, path = "/me/notifications/read-all", tag = "notifications", security(("user" = [])),
    responses((status = 204, description = "All read."), Unavailable),
)]
async fn mark_all_read(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
) -> Result<StatusCode, ApiError> {
    state.social.mark_all_notifications_read(&user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
