//! Comments.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, patch};
use axum::{Json as JsonBody, Router};
use minifb_domain::{CommentContent, CommentId, PostId};

use crate::AppState;
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query, parse_id};
use crate::pagination::{PageBody, page_request};
use crate::posts::{ContentRequest, PageQuery};
use crate::views::CommentBody;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/posts/{id}/comments",
            get(list_comments).post(create_comment),
        )
        .route(
            "/comments/{id}",
            patch(update_comment).delete(delete_comment),
        )
}

async fn create_comment(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(post_id): Path<String>,
    Json(request): Json<ContentRequest>,
) -> Result<(StatusCode, JsonBody<CommentBody>), ApiError> {
    let post_id: PostId = parse_id("post id", &post_id)?;
    let content = CommentContent::parse(request.content)?;
    let comment = state
        .social
        .create_comment(&user_id, post_id, content)
        .await?;
    Ok((StatusCode::CREATED, JsonBody(comment.into())))
}

async fn list_comments(
    State(state): State<AppState>,
    MaybeAuthUser(viewer): MaybeAuthUser,
    Path(post_id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<JsonBody<PageBody<CommentBody>>, ApiError> {
    let post_id: PostId = parse_id("post id", &post_id)?;
    let list = format!("comments:{post_id}");
    let page = page_request(query.limit.as_deref(), query.cursor.as_deref(), &list)?;
    let comments = state.social.comments(post_id, page, viewer).await?;
    Ok(JsonBody(PageBody::from_page(
        comments,
        &list,
        CommentBody::from,
    )))
}

async fn update_comment(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
    Json(request): Json<ContentRequest>,
) -> Result<JsonBody<CommentBody>, ApiError> {
    let id: CommentId = parse_id("comment id", &id)?;
    let content = CommentContent::parse(request.content)?;
    Ok(JsonBody(
        state
            .social
            .update_comment(&user_id, id, content)
            .await?
            .into(),
    ))
}

async fn delete_comment(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: CommentId = parse_id("comment id", &id)?;
    state.social.delete_comment(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
