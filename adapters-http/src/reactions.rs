//! Reactions on posts and comments.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::put;
use axum::{Json as JsonBody, Router};
use minifb_application::social::ports::ReactionChange;
use minifb_domain::{CommentId, PostId, ReactionKind};
use serde::Deserialize;

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{Json, Path, parse_id};
use crate::views::ReactionBody;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/posts/{id}/reaction",
            put(react_to_post).delete(withdraw_post_reaction),
        )
        .route(
            "/comments/{id}/reaction",
            put(react_to_comment).delete(withdraw_comment_reaction),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReactionRequest {
    #[serde(rename = "type")]
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

async fn withdraw_post_reaction(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: PostId = parse_id("post id", &id)?;
    state.social.withdraw_post_reaction(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

async fn withdraw_comment_reaction(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: CommentId = parse_id("comment id", &id)?;
    state.social.withdraw_comment_reaction(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
