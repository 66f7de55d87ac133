//! Posts and timelines.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json as JsonBody, Router};
use minifb_domain::{PostContent, PostId};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{AuthUser, MaybeAuthUser};
use crate::error::ApiError;
use crate::extract::{Json, Path, Query, parse_id};
use crate::pagination::{PageBody, page_request};
use crate::views::PostBody;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/posts", get(list_posts).post(create_post))
        .route(
            "/posts/{id}",
            get(get_post).patch(update_post).delete(delete_post),
        )
        .route("/me/timeline", get(my_timeline))
        .route("/users/{id}/timeline", get(user_timeline))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ContentRequest {
    pub content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PageQuery {
    pub limit: Option<String>,
    pub cursor: Option<String>,
}

async fn create_post(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Json(request): Json<ContentRequest>,
) -> Result<(StatusCode, JsonBody<PostBody>), ApiError> {
    let content = PostContent::parse(request.content)?;
    let post = state.social.create_post(&user_id, content).await?;
    Ok((StatusCode::CREATED, JsonBody(post.into())))
}

async fn get_post(
    State(state): State<AppState>,
    MaybeAuthUser(viewer): MaybeAuthUser,
    Path(id): Path<String>,
) -> Result<JsonBody<PostBody>, ApiError> {
    let id: PostId = parse_id("post id", &id)?;
    Ok(JsonBody(state.social.post(id, viewer).await?.into()))
}

async fn update_post(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
    Json(request): Json<ContentRequest>,
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

async fn delete_post(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id: PostId = parse_id("post id", &id)?;
    state.social.delete_post(&user_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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

async fn my_timeline(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Query(query): Query<PageQuery>,
) -> Result<JsonBody<PageBody<PostBody>>, ApiError> {
    timeline(state, user_id.clone(), Some(user_id), query).await
}

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
