//! Posts and timelines.

use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use minifb_domain::{PostContent, PostId};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Json, Path, Query, parse_id};
use crate::openapi::{self, Unavailable};
use crate::pagination::{PageBody, page_request};
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

/// `?limit=&cursor=` of every list; any other parameter is a 400.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct PageQuery {
    #[param(schema_with = openapi::limit)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page. Cursors are opaque and tied to
    /// the list they came from: one from another list is a 400.
    pub cursor: Option<String>,
}

/// Creates a post by the caller.
#[utoipa::path(
    post, path = "/posts", tag = "posts",
    security(("user" = [])),
    request_body = PostRequest,
    responses(
        (status = 201, description = "The new post.", body = PostBody),
        (status = 400, description = "`content` breaks its rule, or the body is not `{ content }`.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn create_post(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Json(request): Json<PostRequest>,
) -> Result<(StatusCode, JsonBody<PostBody>), ApiError> {
    let content = PostContent::parse(request.content)?;
    let post = state.social.create_post(&user_id, content).await?;
    Ok((StatusCode::CREATED, JsonBody(post.into())))
}

/// One post.
#[utoipa::path(
    get, path = "/posts/{id}", tag = "posts",
    security((), ("user" = [])),
    params(("id" = i64, Path, description = "The post's id: ASCII digits only.", minimum = 0)),
    responses(
        (status = 200, description = "The post; `my_reaction` is the caller's.", body = PostBody),
        (status = 400, description = "The id is not ASCII digits of a 64-bit integer.", body = ErrorBody),
        (status = 404, description = "No such post.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn get_post(
    State(state): State<AppState>,
    MaybeAuthUser(viewer): MaybeAuthUser,
    Path(id): Path<String>,
) -> Result<JsonBody<PostBody>, ApiError> {
    let id: PostId = parse_id("post id", &id)?;
    Ok(JsonBody(state.social.post(id, viewer).await?.into()))
}

/// Replaces a post's content; only its owner may.
#[utoipa::path(
    patch, path = "/posts/{id}", tag = "posts",
    security(("user" = [])),
    params(("id" = i64, Path, description = "The post's id: ASCII digits only.", minimum = 0)),
    request_body = PostRequest,
    responses(
        (status = 200, description = "The post, with `updated_at` set.", body = PostBody),
        (status = 400, description = "A bad id, or `content` breaks its rule.", body = ErrorBody),
        (status = 403, description = "The caller does not own the post.", body = ErrorBody),
        (status = 404, description = "No such post.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn update_post(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
    Json(request): Json<PostRequest>,
) -> Result<JsonBody<PostBody>, ApiError> {
    let id: PostId = parse_id("post id", &id)?;
    let content = PostContent::parse(request.content)?;
    Ok(JsonBody(
        state
            .social
            .update_post(&user_id, id, content)
            .await?
            .into(),
    ))
}

/// Deletes a post with its comments, reactions and notifications; only its
/// owner may.
#[utoipa::path(
    delete, path = "/posts/{id}", tag = "posts",
    security(("user" = [])),
    params(("id" = i64, Path, description = "The post's id: ASCII digits only.", minimum = 0)),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "The id is not ASCII digits of a 64-bit integer.", body = ErrorBody),
        (status = 403, description = "The caller does not own the post.", body = ErrorBody),
        (status = 404, description = "No such post.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn delete_post(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: PostId = parse_id("post id", &id)?;
    state.social.delete_post(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every user's posts, newest first.
#[utoipa::path(
    get, path = "/posts", tag = "posts",
    security((), ("user" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of posts; `my_reaction` is the caller's.", body = PageBody<PostBody>),
        (status = 400, description = "A bad `limit` or `cursor`, or an unknown query parameter.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn list_posts(
    State(state): State<AppState>,
    MaybeAuthUser(viewer): MaybeAuthUser,
    Query(query): Query<PageQuery>,
) -> Result<JsonBody<PageBody<PostBody>>, ApiError> {
    let list = "posts";
    let page = page_request(query.limit.as_deref(), query.cursor.as_deref(), list)?;
    let posts = state.social.all_posts(page, viewer).await?;
    Ok(JsonBody(PageBody::from_page(posts, list, PostBody::from)))
}

/// The caller's own posts, newest first.
#[utoipa::path(
    get, path = "/me/timeline", tag = "posts",
    security(("user" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of the caller's posts.", body = PageBody<PostBody>),
        (status = 400, description = "A bad `limit` or `cursor`, or an unknown query parameter.", body = ErrorBody),
        (status = 404, description = "The token's account no longer exists.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn my_timeline(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<JsonBody<PageBody<PostBody>>, ApiError> {
    timeline(state, user_id.clone(), Some(user_id), query).await
}

/// One user's posts, newest first.
#[utoipa::path(
    get, path = "/users/{id}/timeline", tag = "posts",
    security((), ("user" = [])),
    params(
        ("id" = String, Path, description = "The user's id, matched ignoring letter case."),
        PageQuery,
    ),
    responses(
        (status = 200, description = "A page of the user's posts; `my_reaction` is the caller's.", body = PageBody<PostBody>),
        (status = 400, description = "A bad `limit` or `cursor`, or an unknown query parameter.", body = ErrorBody),
        (status = 404, description = "No such user.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn user_timeline(
    State(state): State<AppState>,
    MaybeAuthUser(viewer): MaybeAuthUser,
    Path(id): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<JsonBody<PageBody<PostBody>>, ApiError> {
    timeline(state, id, viewer, query).await
}

async fn timeline(
    state: AppState,
    owner: String,
    viewer: Option<String>,
    query: PageQuery,
) -> Result<JsonBody<PageBody<PostBody>>, ApiError> {
    let list = format!("timeline:{}", owner.to_ascii_lowercase());
    let page = page_request(query.limit.as_deref(), query.cursor.as_deref(), &list)?;
    let posts = state.social.timeline(&owner, page, viewer).await?;
    Ok(JsonBody(PageBody::from_page(posts, &list, PostBody::from)))
}
