//! Reactions on posts and comments.

use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use minifb_application::social::ports::ReactionChange;
use minifb_domain::{CommentId, PostId, ReactionKind};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, parse_id};
use crate::openapi::{self, Unavailable};
use crate::views::ReactionBody;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(react_to_post, withdraw_post_reaction))
        .routes(routes!(react_to_comment, withdraw_comment_reaction))
}

/// `{ type }`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReactionRequest {
    #[serde(rename = "type")]
    #[schema(schema_with = openapi::reaction_type)]
    kind: i64,
}

/// 201 when created, 200 when changed or left as it was.
fn reply(change: ReactionChange) -> (StatusCode, JsonBody<ReactionBody>) {
    match change {
        ReactionChange::Created(view) => (StatusCode::CREATED, JsonBody(view.into())),
        ReactionChange::Changed(view) | ReactionChange::Unchanged(view) => {
            (StatusCode::OK, JsonBody(view.into()))
        }
    }
}

/// Sets the caller's reaction on a post. A new reaction notifies the post's
/// owner (type 2) unless they reacted themselves.
#[utoipa::path(
    put, path = "/posts/{id}/reaction", tag = "reactions",
    security(("user" = [])),
    params(("id" = i64, Path, description = "The post's id: ASCII digits only.", minimum = 0)),
    request_body = ReactionRequest,
    responses(
        (status = 201, description = "A new reaction.", body = ReactionBody),
        (status = 200, description = "The caller's existing reaction: `modified: true` once its type has changed; unchanged when the type was the same.", body = ReactionBody),
        (status = 400, description = "A bad id, or `type` is not an integer from 1 to 5.", body = ErrorBody),
        (status = 404, description = "No such post.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn react_to_post(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
    Json(request): Json<ReactionRequest>,
) -> Result<(StatusCode, JsonBody<ReactionBody>), ApiError> {
    let id: PostId = parse_id("post id", &id)?;
    let kind = ReactionKind::parse(request.kind)?;
    Ok(reply(state.social.react_to_post(&user_id, id, kind).await?))
}

/// Withdraws the caller's reaction on a post, and the notification it caused
/// if still unread.
#[utoipa::path(
    delete, path = "/posts/{id}/reaction", tag = "reactions",
    security(("user" = [])),
    params(("id" = i64, Path, description = "The post's id: ASCII digits only.", minimum = 0)),
    responses(
        (status = 204, description = "Withdrawn."),
        (status = 400, description = "The id is not ASCII digits of a 64-bit integer.", body = ErrorBody),
        (status = 404, description = "No such post, or the caller had no reaction on it.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn withdraw_post_reaction(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: PostId = parse_id("post id", &id)?;
    state.social.withdraw_post_reaction(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sets the caller's reaction on a comment (no notification).
#[utoipa::path(
    put, path = "/comments/{id}/reaction", tag = "reactions",
    security(("user" = [])),
    params(("id" = i64, Path, description = "The comment's id: ASCII digits only.", minimum = 0)),
    request_body = ReactionRequest,
    responses(
        (status = 201, description = "A new reaction.", body = ReactionBody),
        (status = 200, description = "The caller's existing reaction: `modified: true` once its type has changed; unchanged when the type was the same.", body = ReactionBody),
        (status = 400, description = "A bad id, or `type` is not an integer from 1 to 5.", body = ErrorBody),
        (status = 404, description = "No such comment.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn react_to_comment(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
    Json(request): Json<ReactionRequest>,
) -> Result<(StatusCode, JsonBody<ReactionBody>), ApiError> {
    let id: CommentId = parse_id("comment id", &id)?;
    let kind = ReactionKind::parse(request.kind)?;
    Ok(reply(
        state.social.react_to_comment(&user_id, id, kind).await?,
    ))
}

/// Withdraws the caller's reaction on a comment.
#[utoipa::path(
    delete, path = "/comments/{id}/reaction", tag = "reactions",
    security(("user" = [])),
    params(("id" = i64, Path, description = "The comment's id: ASCII digits only.", minimum = 0)),
    responses(
        (status = 204, description = "Withdrawn."),
        (status = 400, description = "The id is not ASCII digits of a 64-bit integer.", body = ErrorBody),
        (status = 404, description = "No such comment, or the caller had no reaction on it.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn withdraw_comment_reaction(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: CommentId = parse_id("comment id", &id)?;
    state.social.withdraw_comment_reaction(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
