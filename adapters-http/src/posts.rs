//! Posts and timelines.

use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minifb_application::social::ports::PostView;
use minifb_domain::{PostContent, PostId, UserId};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Id, Json, Query, UserPath};
use crate::openapi::{
    self, BadId, BadIdOrContent, BadPage, Deleted, KeyInProgress, KeyReused, NoSuchPost,
    NotPostOwner, Unavailable,
};
use crate::pagination::{List, PageBody, PageQuery};
use crate::retries::{self, RetryKey};
use crate::views::PostBody;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_posts, create_post))
        .routes(routes!(get_post, update_post, delete_post))
        .routes(routes!(my_timeline))
        .routes(routes!(user_timeline))
}

/// `{ content }` of a post.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PostRequest {
    #[schema(schema_with = openapi::post_content)]
    content: String,
}

/// Creates a post by the caller; with an `Idempotency-Key`, at most once
/// per key (see the document's description, "Safe retries").
#[utoipa::path(
    post, path = "/posts", tag = "posts", security(("user" = [])),
    params(retries::IdempotencyKeyHeader),
    request_body = PostRequest,
    responses(
        (status = 201, description = "The new post; or, with `Idempotent-Replayed: true`, the first answer to this `Idempotency-Key` again.", body = PostBody,
            headers(("Idempotent-Replayed" = String, description = "`true` when this is the recorded answer of an earlier request with the same `Idempotency-Key`; absent otherwise."))),
        (status = 400, description = "`content` breaks its rule, the body is not `{ content }`, or the `Idempotency-Key` is not 1 to 255 visible ASCII characters.", body = ErrorBody),
        KeyInProgress, KeyReused, Unavailable,
    ),
)]
async fn create_post(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    RetryKey(key): RetryKey,
    Json(request): Json<PostRequest>,
) -> Result<Response, ApiError> {
    let content = PostContent::parse(request.content)?;
    let Some(key) = key else {
        let post = state.social.create_post(&user_id, content).await?;
        return Ok((StatusCode::CREATED, JsonBody(PostBody::from(post))).into_response());
    };
    let request = retries::keyed(&user_id, key, "POST /posts", content.as_ref());
    let created = state
        .social
        .create_post_once(request, content, retries::created::<PostView, PostBody>())
        .await?;
    retries::respond(created)
}

/// One post.
#[utoipa::path(
    get, path = "/posts/{id}", tag = "posts", security((), ("user" = [])),
    params(Id<PostId>),
    responses(
        (status = 200, description = "The post; `my_reaction` is the caller's.", body = PostBody),
        BadId, NoSuchPost, Unavailable,
    ),
)]
async fn get_post(
    State(state): State<AppState>,
    MaybeAuthUser(viewer): MaybeAuthUser,
    Id(id): Id<PostId>,
) -> Result<JsonBody<PostBody>, ApiError> {
    Ok(JsonBody(state.social.post(id, viewer).await?.into()))
}

/// Replaces a post's content; only its owner may.
#[utoipa::path(
    patch, path = "/posts/{id}", tag = "posts", security(("user" = [])),
    params(Id<PostId>), request_body = PostRequest,
    responses(
        (status = 200, description = "The post, with `updated_at` set.", body = PostBody),
        BadIdOrContent, NotPostOwner, NoSuchPost, Unavailable,
    ),
)]
async fn update_post(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Id(id): Id<PostId>,
    Json(request): Json<PostRequest>,
) -> Result<JsonBody<PostBody>, ApiError> {
    let content = PostContent::parse(request.content)?;
    let post = state.social.update_post(&user_id, id, content).await?;
    Ok(JsonBody(post.into()))
}

/// Deletes a post with its comments, reactions and notifications; only its
/// owner may.
#[utoipa::path(
    delete, path = "/posts/{id}", tag = "posts", security(("user" = [])),
    params(Id<PostId>),
    responses(Deleted, BadId, NotPostOwner, NoSuchPost, Unavailable),
)]
async fn delete_post(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Id(id): Id<PostId>,
) -> Result<StatusCode, ApiError> {
    state.social.delete_post(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A page of posts, as every list of posts answers.
type PostPage = JsonBody<PageBody<PostBody>>;

/// Every user's posts, newest first.
#[utoipa::path(
    get, path = "/posts", tag = "posts", security((), ("user" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of posts; `my_reaction` is the caller's.", body = PageBody<PostBody>),
        BadPage, Unavailable,
    ),
)]
async fn list_posts(
    State(state): State<AppState>,
    MaybeAuthUser(viewer): MaybeAuthUser,
    Query(query): Query<PageQuery>,
) -> Result<PostPage, ApiError> {
    let posts = state
        .social
        .all_posts(query.page(List::Posts)?, viewer)
        .await?;
    Ok(JsonBody(PageBody::from_page(posts, List::Posts)))
}

/// The caller's own posts, newest first.
#[utoipa::path(
    get, path = "/me/timeline", tag = "posts", security(("user" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the caller's posts.", body = PageBody<PostBody>),
        BadPage, Unavailable,
    ),
)]
async fn my_timeline(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<PostPage, ApiError> {
    let list = List::Timeline(user_id.as_ref());
    let posts = state
        .social
        .my_timeline(&user_id, query.page(list)?)
        .await?;
    Ok(JsonBody(PageBody::from_page(posts, list)))
}

/// One user's posts, newest first.
#[utoipa::path(
    get, path = "/users/{id}/timeline", tag = "posts", security((), ("user" = [])),
    params(UserPath, PageQuery),
    responses(
        (status = 200, description = "A page of the user's posts; `my_reaction` is the caller's.", body = PageBody<PostBody>),
        (status = 404, description = "No such user.", body = ErrorBody),
        BadPage, Unavailable,
    ),
)]
async fn user_timeline(
    State(state): State<AppState>,
    MaybeAuthUser(viewer): MaybeAuthUser,
    UserPath(id): UserPath,
    Query(query): Query<PageQuery>,
) -> Result<PostPage, ApiError> {
    // The cursor is checked before the user: a bad query is a 400 even for
    // an id that cannot exist, which is then a 404.
    let list = List::Timeline(&id);
    let page = query.page(list)?;
    let owner = UserId::parse(id.as_str())
        .map_err(|_| ApiError::not_found(format!("user '{id}' does not exist")))?;
    let posts = state.social.timeline(&owner, page, viewer).await?;
    Ok(JsonBody(PageBody::from_page(posts, list)))
}
