//! The Account routes of the contract.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json as JsonBody, Router};
use chrono::{DateTime, Utc};
use minifb_application::accounts::{ProfileUpdate, SignUp, TokenPair};
use minifb_application::ports::{ProfileChanges, UserRecord};
use minifb_domain::{Bio, DisplayName, Email, Nickname, Password, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::extract::{ClientAddr, Json, Path, Query, double_option};
use crate::time;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/id-availability", get(id_availability))
        .route("/auth/signup", post(sign_up))
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/temporary-password", post(temporary_password))
        .route("/me", get(me).patch(update_me))
        .route("/me/password", put(change_password))
        .route("/users/{id}", get(user))
}

/// `User`: what anyone may see of an account.
#[derive(Debug, Serialize)]
pub struct UserBody {
    pub id: String,
    pub name: String,
    pub nickname: Option<String>,
    pub bio: Option<String>,
    #[serde(serialize_with = "time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// `Me`: a `User` plus what only its owner may see.
#[derive(Debug, Serialize)]
pub struct MeBody {
    #[serde(flatten)]
    pub user: UserBody,
    pub email: Option<String>,
}

impl From<UserRecord> for UserBody {
    fn from(user: UserRecord) -> Self {
        Self {
            id: user.id,
            name: user.name,
            nickname: user.nickname,
            bio: user.bio,
            created_at: user.created_at,
        }
    }
}

impl From<UserRecord> for MeBody {
    fn from(mut user: UserRecord) -> Self {
        let email = user.email.take();
        Self {
            user: user.into(),
            email,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TokenPairBody {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub password_change_required: bool,
}

impl From<TokenPair> for TokenPairBody {
    fn from(pair: TokenPair) -> Self {
        Self {
            access_token: pair.access_token,
            refresh_token: pair.refresh_token,
            token_type: "Bearer",
            expires_in: pair.expires_in,
            password_change_required: pair.password_change_required,
        }
    }
}

/// Bodies that carry tokens or a `Me` must not be stored by caches.
fn no_store(status: StatusCode, body: impl Serialize) -> Response {
    (
        status,
        [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        JsonBody(body),
    )
        .into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdQuery {
    id: String,
}

async fn id_availability(
    State(state): State<AppState>,
    Query(query): Query<IdQuery>,
) -> Result<JsonBody<serde_json::Value>, ApiError> {
    let id = UserId::parse(query.id)?;
    let available = state.accounts.id_availability(id.clone()).await?;
    Ok(JsonBody(
        json!({ "id": id.as_ref(), "available": available }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignUpRequest {
    id: String,
    password: String,
    name: String,
    #[serde(default)]
    nickname: Option<String>,
    #[serde(default)]
    bio: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

impl TryFrom<SignUpRequest> for SignUp {
    type Error = ApiError;

    fn try_from(request: SignUpRequest) -> Result<Self, ApiError> {
        Ok(Self {
            id: UserId::parse(request.id)?,
            password: Password::parse(request.password)?,
            name: DisplayName::parse(request.name)?,
            nickname: request.nickname.map(Nickname::parse).transpose()?,
            bio: request.bio.map(Bio::parse).transpose()?,
            email: request.email.map(Email::parse).transpose()?,
        })
    }
}

async fn sign_up(
    State(state): State<AppState>,
    Json(request): Json<SignUpRequest>,
) -> Result<Response, ApiError> {
    let user = state.accounts.sign_up(request.try_into()?).await?;
    Ok(no_store(StatusCode::CREATED, MeBody::from(user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    id: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Json(request): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let pair = state
        .accounts
        .login(&request.id, &request.password, address)
        .await?;
    Ok(no_store(StatusCode::OK, TokenPairBody::from(pair)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    refresh_token: String,
}

async fn refresh(
    State(state): State<AppState>,
    Json(request): Json<RefreshRequest>,
) -> Result<Response, ApiError> {
    let pair = state.accounts.refresh(&request.refresh_token).await?;
    Ok(no_store(StatusCode::OK, TokenPairBody::from(pair)))
}

async fn logout(
    State(state): State<AppState>,
    Json(request): Json<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts.logout(&request.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemporaryPasswordRequest {
    id: String,
    email: String,
}

async fn temporary_password(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Json(request): Json<TemporaryPasswordRequest>,
) -> Result<Response, ApiError> {
    let id = UserId::parse(request.id)?;
    let email = Email::parse(request.email)?;
    state
        .accounts
        .request_temporary_password(id, email, address)
        .await?;
    let message = "If the id exists and the e-mail address matches it, a temporary password has been sent to that address.";
    Ok((
        StatusCode::ACCEPTED,
        JsonBody(json!({ "message": message })),
    )
        .into_response())
}

async fn me(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
) -> Result<Response, ApiError> {
    let user = state.accounts.me(&user_id).await?;
    Ok(no_store(StatusCode::OK, MeBody::from(user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateMeRequest {
    #[serde(default, deserialize_with = "double_option")]
    nickname: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    email: Option<Option<String>>,
    #[serde(default)]
    current_password: Option<String>,
}

/// Parses a field that may be absent (keep), null (clear) or a value.
fn parse_change<T, E>(
    value: Option<Option<String>>,
    parse: impl Fn(String) -> Result<T, E>,
) -> Result<Option<Option<T>>, E> {
    value.map(|inner| inner.map(parse).transpose()).transpose()
}

async fn update_me(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    ClientAddr(address): ClientAddr,
    Json(request): Json<UpdateMeRequest>,
) -> Result<Response, ApiError> {
    let update = ProfileUpdate {
        changes: ProfileChanges {
            nickname: parse_change(request.nickname, Nickname::parse)?,
            bio: parse_change(request.bio, Bio::parse)?,
            email: parse_change(request.email, Email::parse)?,
        },
        current_password: request.current_password,
    };
    let user = state.accounts.update_me(&user_id, update, address).await?;
    Ok(no_store(StatusCode::OK, MeBody::from(user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePasswordRequest {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    ClientAddr(address): ClientAddr,
    Json(request): Json<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let new_password =
        Password::parse(request.new_password).map_err(|e| e.for_field("new_password"))?;
    state
        .accounts
        .change_password(&user_id, request.current_password, new_password, address)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<JsonBody<UserBody>, ApiError> {
    let user = state.accounts.user(&id).await?;
    Ok(JsonBody(user.into()))
}
