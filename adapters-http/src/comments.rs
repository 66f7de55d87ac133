//! Comments.

use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minifb_application::social::ports::CommentView;
use minifb_domain::{CommentContent, CommentId, PostId};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Id, Json, Query};
use crate::openapi::{
    self, BadId, BadIdOrContent, BadIdOrPage, Deleted, KeyInProgress, KeyReused, NoSuchComment,
    NoSuchPost, Unavailable,
};
use crate::pagination::{List, PageBody, PageQuery};
use crate::retries::{self, RetryKey};
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
/// unless they wrote it. With an `Idempotency-Key`, at most once per key.
#[utoipa::path(
    post, path = "/posts/{id}/comments", tag = "comments", security(("user" = [])),
    params(Id<PostId>, retries::IdempotencyKeyHeader), request_body = CommentRequest,
    responses(
        (status = 201, description = "The new comment; or, with `Idempotent-Replayed: true`, the first answer to this `Idempotency-Key` again (even if the post has been deleted since).", body = CommentBody,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the recorded answer of an earlier request with the same `Idempotency-Key`; absent otherwise."))),
        (status = 400, description = "A bad id, `content` breaks its rule, or the `Idempotency-Key` is not 1 to 255 visible ASCII characters.", body = ErrorBody),
        NoSuchPost, KeyInProgress, KeyReused, Unavailable,
    ),
)]
async fn create_comment(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    RetryKey(key): RetryKey,
    Id(post_id): Id<PostId>,
    Json(request): Json<CommentRequest>,
) -> Result<Response, ApiError> {
    let content = CommentContent::parse(request.content)?;
    let Some(key) = key else {
        let comment = state
            .social
            .create_comment(&user_id, post_id, content)
            .await?;
        return Ok((StatusCode::CREATED, JsonBody(CommentBody::from(comment))).into_response());
    };
    let route = format!("POST /posts/{post_id}/comments");
    let request = retries::keyed(&user_id, key, &route, content.as_ref());
    let record = retries::created::<CommentView, CommentBody>();
    let created = state
        .social
        .create_comment_once(request, post_id, content, record)
        .await?;
    retries::respond(created)
}

/// A post's comments, oldest first.
#[utoipa::path(
    get, path = "/posts/{id}/comments", tag = "comments", security((), ("user" = [])),
    params(Id<PostId>, PageQuery),
    responses(
        (status = 200, description = "A page of comments, oldest first; `my_reaction` is the caller's.", body = PageBody<CommentBody>),
        BadIdOrPage, NoSuchPost, Unavailable,
    ),
)]
async fn list_comments(
    State(state): State<AppState>,
    MaybeAuthUser(viewer): MaybeAuthUser,
    Id(post_id): Id<PostId>,
    Query(query): Query<PageQuery>,
) -> Result<JsonBody<PageBody<CommentBody>>, ApiError> {
    let list = List::Comments(post_id);
    let comments = state
        .social
        .comments(post_id, query.page(list)?, viewer)
        .await?;
    Ok(JsonBody(PageBody::from_page(comments, list)))
}

/// Replaces a comment's content; only its author may.
#[utoipa::path(
    patch, path = "/comments/{id}", tag = "comments", security(("user" = [])),
    params(Id<CommentId>), request_body = CommentRequest,
    responses(
        (status = 200, description = "The comment, with `modified: true`.", body = CommentBody),
        (status = 403, description = "The caller did not write the comment.", body = ErrorBody),
        BadIdOrContent, NoSuchComment, Unavailable,
    ),
)]
async fn update_comment(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Id(id): Id<CommentId>,
    Json(request): Json<CommentRequest>,
) -> Result<JsonBody<CommentBody>, ApiError> {
    let content = CommentContent::parse(request.content)?;
    let comment = state.social.update_comment(&user_id, id, content).await?;
    Ok(JsonBody(comment.into()))
}

/// Deletes a comment; its author or the post's owner may. The notification
/// it caused is withdrawn if still unread.
#[utoipa::path(
    delete, path = "/comments/{id}", tag = "comments", security(("user" = [])),
    params(Id<CommentId>),
    responses(
        (status = 403, description = "The caller neither wrote the comment nor owns the post.", body = ErrorBody),
        Deleted, BadId, NoSuchComment, Unavailable,
    ),
)]
async fn delete_comment(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Id(id): Id<CommentId>,
) -> Result<StatusCode, ApiError> {
    state.social.delete_comment(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
