//! Reactions on posts and comments.

use std::collections::BTreeMap;

use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minifb_application::social::ReactionTarget;
use minifb_application::social::ports::ReactionChange;
use minifb_domain::{CommentId, PostId, ReactionKind, UserId};
use serde::Deserialize;
use utoipa::openapi::RefOr;
use utoipa::{IntoResponses, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Id, Json};
use crate::openapi::{self, BadId, BadReaction, NoSuchComment, NoSuchPost, Unavailable, Withdrawn};
use crate::views::ReactionBody;

pub fn router() -> OpenApiRouter<AppState> {
    /// `Reaction`, which [`Reply`] refers to.
    #[derive(utoipa::OpenApi)]
    #[openapi(components(schemas(ReactionBody)))]
    struct Schemas;

    OpenApiRouter::with_openapi(Schemas::openapi())
        .routes(routes!(react_to_post, withdraw_post_reaction))
        .routes(routes!(react_to_comment, withdraw_comment_reaction))
}

/// `{ type }`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReactionRequest {
    #[serde(rename = "type", deserialize_with = "whole_number")]
    #[schema(schema_with = openapi::reaction_type)]
    kind: i64,
}

/// JSON has one number type: `3.0` is the integer 3, as JSON Schema says,
/// while `3.5` is not an integer at all.
fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(whole) = number.as_i64() {
        return Ok(whole);
    }
    match number.as_f64() {
        // Out of range values saturate and then fail the 1..=5 rule.
        #[allow(clippy::cast_possible_truncation)]
        Some(value) if value.fract() == 0.0 => Ok(value as i64),
        _ => Err(serde::de::Error::custom(
            "type must be an integer from 1 to 5",
        )),
    }
}

/// What a `PUT` of a reaction answers, and documents: 201 with a new
/// reaction, 200 with the caller's existing one.
enum Reply {
    Created(ReactionBody),
    Existing(ReactionBody),
}

impl From<ReactionChange> for Reply {
    fn from(change: ReactionChange) -> Self {
        match change {
            ReactionChange::Created(view) => Self::Created(view.into()),
            ReactionChange::Changed(view) | ReactionChange::Unchanged(view) => {
                Self::Existing(view.into())
            }
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Self::Created(body) => (StatusCode::CREATED, JsonBody(body)).into_response(),
            Self::Existing(body) => JsonBody(body).into_response(),
        }
    }
}

impl IntoResponses for Reply {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        let existing = "The caller's existing reaction: `modified: true` once its type has \
                        changed; unchanged when the type was the same.";
        [
            ("201", openapi::json_response("A new reaction.", "Reaction")),
            ("200", openapi::json_response(existing, "Reaction")),
        ]
        .into_iter()
        .map(|(status, response)| (status.to_owned(), RefOr::T(response.build())))
        .collect()
    }
}

/// Sets the caller's reaction on a post. A new reaction notifies the post's
/// owner (type 2) unless they reacted themselves.
#[utoipa::path(
    put, path = "/posts/{id}/reaction", tag = "reactions", security(("user" = [])),
    params(Id<PostId>), request_body = ReactionRequest,
    responses(Reply, BadReaction, NoSuchPost, Unavailable),
)]
async fn react_to_post(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Id(id): Id<PostId>,
    Json(request): Json<ReactionRequest>,
) -> Result<Reply, ApiError> {
    react(&state, &user_id, ReactionTarget::Post(id), request).await
}

/// Withdraws the caller's reaction on a post, and the notification it caused
/// if still unread.
#[utoipa::path(
    delete, path = "/posts/{id}/reaction", tag = "reactions", security(("user" = [])),
    params(Id<PostId>),
    responses(
        (status = 404, description = "No such post, or the caller had no reaction on it.", body = ErrorBody),
        Withdrawn, BadId, Unavailable,
    ),
)]
async fn withdraw_post_reaction(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Id(id): Id<PostId>,
) -> Result<StatusCode, ApiError> {
    withdraw(&state, &user_id, ReactionTarget::Post(id)).await
}

/// Sets the caller's reaction on a comment (no notification).
#[utoipa::path(
    put, path = "/comments/{id}/reaction", tag = "reactions", security(("user" = [])),
    params(Id<CommentId>), request_body = ReactionRequest,
    responses(Reply, BadReaction, NoSuchComment, Unavailable),
)]
async fn react_to_comment(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Id(id): Id<CommentId>,
    Json(request): Json<ReactionRequest>,
) -> Result<Reply, ApiError> {
    react(&state, &user_id, ReactionTarget::Comment(id), request).await
}

/// Withdraws the caller's reaction on a comment.
#[utoipa::path(
    delete, path = "/comments/{id}/reaction", tag = "reactions", security(("user" = [])),
    params(Id<CommentId>),
    responses(
        (status = 404, description = "No such comment, or the caller had no reaction on it.", body = ErrorBody),
        Withdrawn, BadId, Unavailable,
    ),
)]
async fn withdraw_comment_reaction(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    Id(id): Id<CommentId>,
) -> Result<StatusCode, ApiError> {
    withdraw(&state, &user_id, ReactionTarget::Comment(id)).await
}

/// Puts the caller's reaction of the requested kind on `target`.
async fn react(
    state: &AppState,
    user_id: &UserId,
    target: ReactionTarget,
    request: ReactionRequest,
) -> Result<Reply, ApiError> {
    let kind = ReactionKind::parse(request.kind)?;
    Ok(state.social.react(user_id, target, kind).await?.into())
}

/// Removes the caller's reaction from `target`: 204.
async fn withdraw(
    state: &AppState,
    user_id: &UserId,
    target: ReactionTarget,
) -> Result<StatusCode, ApiError> {
    state.social.withdraw_reaction(user_id, target).await?;
    Ok(StatusCode::NO_CONTENT)
}
