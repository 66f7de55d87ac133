//! Comments.

use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use minifb_domain::{CommentContent, CommentId, PostId};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, Query, parse_id};
use crate::openapi::{self, Unavailable};
use crate::pagination::{PageBody, page_request};
use crate::posts::PageQuery;
use crate::views::CommentBody;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_comments, create_comment))
        .routes(routes!(update_comment, delete_comment))
}

/// `{ content }` of a comment.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CommentRequest {
    #[schema(schema_with = openapi::comment_content)]
    content: String,
}

/// Comments on a post as the caller; notifies the post's owner (type 1)
/// unless they wrote it.
#[utoipa::path(
    post, path = "/posts/{id}/comments", tag = "comments",
    security(("user" = [])),
    params(("id" = i64, Path, description = "The post's id: ASCII digits only.", minimum = 0)),
    request_body = CommentRequest,
    responses(
        (status = 201, description = "The new comment.", body = CommentBody),
        (status = 400, description = "A bad id, or `content` breaks its rule.", body = ErrorBody),
        (status = 404, description = "No such post.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn create_comment(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(post_id): Path<String>,
    Json(request): Json<CommentRequest>,
) -> Result<(StatusCode, JsonBody<CommentBody>), ApiError> {
    let post_id: PostId = parse_id("post id", &post_id)?;
    let content = CommentContent::parse(request.content)?;
    let comment = state
        .social
        .create_comment(&user_id, post_id, content)
        .await?;
    Ok((StatusCode::CREATED, JsonBody(comment.into())))
}

/// A post's comments, oldest first.
#[utoipa::path(
    get, path = "/posts/{id}/comments", tag = "comments",
    security((), ("user" = [])),
    params(
        ("id" = i64, Path, description = "The post's id: ASCII digits only.", minimum = 0),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of comments, oldest first; `my_reaction` is the caller's.", body = PageBody<CommentBody>),
        (status = 400, description = "A bad id, `limit` or `cursor`, or an unknown query parameter.", body = ErrorBody),
        (status = 404, description = "No such post.", body = ErrorBody),
        Unavailable,
    ),
)]
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

/// Replaces a comment's content; only its author may.
#[utoipa::path(
    patch, path = "/comments/{id}", tag = "comments",
    security(("user" = [])),
    params(("id" = i64, Path, description = "The comment's id: ASCII digits only.", minimum = 0)),
    request_body = CommentRequest,
    responses(
        (status = 200, description = "The comment, with `modified: true`.", body = CommentBody),
        (status = 400, description = "A bad id, or `content` breaks its rule.", body = ErrorBody),
        (status = 403, description = "The caller did not write the comment.", body = ErrorBody),
        (status = 404, description = "No such comment.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn update_comment(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
    Json(request): Json<CommentRequest>,
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

/// Deletes a comment; its author or the post's owner may. The notification
/// it caused is withdrawn if still unread.
#[utoipa::path(
    delete, path = "/comments/{id}", tag = "comments",
    security(("user" = [])),
    params(("id" = i64, Path, description = "The comment's id: ASCII digits only.", minimum = 0)),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "The id is not ASCII digits of a 64-bit integer.", body = ErrorBody),
        (status = 403, description = "The caller neither wrote the comment nor owns the post.", body = ErrorBody),
        (status = 404, description = "No such comment.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn delete_comment(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: CommentId = parse_id("comment id", &id)?;
    state.social.delete_comment(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
