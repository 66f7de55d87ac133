//! The Account routes of the contract.

use std::borrow::Cow;

use axum::Json as JsonBody;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use minifb_application::accounts::{ProfileUpdate, SignUp, TokenPair};
use minifb_application::ports::{ProfileChanges, UserRecord};
use minifb_domain::{Bio, DisplayName, Email, Nickname, Password, UserId};
use serde::{Deserialize, Serialize};
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ClientAddr, Json, Query, UserPath, double_option};
use crate::openapi::{self, BadRefreshBody, RateLimited, SignUpsLimited, Unavailable};
use crate::time;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(id_availability))
        .routes(routes!(sign_up))
        .routes(routes!(login))
        .routes(routes!(refresh))
        .routes(routes!(logout))
        .routes(routes!(temporary_password))
        .routes(routes!(me, update_me))
        .routes(routes!(change_password))
        .routes(routes!(user))
}

/// `User`: what anyone may see of an account.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserBody {
    /// The id as chosen at sign-up.
    pub id: String,
    pub name: String,
    #[schema(required = true)]
    pub nickname: Option<String>,
    #[schema(required = true)]
    pub bio: Option<String>,
    #[serde(serialize_with = "time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// `Me`: a `User` plus what only its owner may see.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Me)]
pub struct MeBody {
    #[serde(flatten)]
    pub user: UserBody,
    #[schema(required = true)]
    pub email: Option<String>,
}

impl From<UserRecord> for UserBody {
    fn from(user: UserRecord) -> Self {
        Self {
            id: user.id.into_inner(),
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

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = TokenPair)]
pub struct TokenPairBody {
    /// An HS256 JWT: send it as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Opaque and single use: trade it at `POST /auth/refresh` for a new
    /// pair. Expires 14 days after it was issued.
    pub refresh_token: String,
    #[schema(schema_with = openapi::bearer)]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// True after a log-in with a temporary password, and for every pair
    /// refreshed from it, until the password is changed (which revokes
    /// them all).
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

/// A JSON body that caches must not store: tokens, or a `Me`.
struct NoStore<T>(T);

impl<T: Serialize> IntoResponse for NoStore<T> {
    fn into_response(self) -> Response {
        let header = [(CACHE_CONTROL, HeaderValue::from_static("no-store"))];
        (header, JsonBody(self.0)).into_response()
    }
}

/// `?id=`; any other parameter is a 400.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdQuery {
    id: String,
}

// By hand: the derive drops `required` from a parameter whose schema comes
// from a function, and the schema must come from the domain's limits.
impl IntoParams for IdQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let id = openapi::user_id();
        vec![openapi::required_parameter(
            "id",
            ParameterIn::Query,
            "The id to check.",
            id,
        )]
    }
}

#[derive(Serialize, ToSchema)]
#[schema(as = IdAvailability)]
struct IdAvailabilityBody {
    id: String,
    /// False when an account has this id, letter case ignored.
    available: bool,
}

/// Whether an id is free to sign up with.
#[utoipa::path(
    get, path = "/auth/id-availability", tag = "accounts", params(IdQuery),
    responses(
        (status = 200, description = "Whether the id is free.", body = IdAvailabilityBody),
        (status = 400, description = "The id breaks the id rule, is missing, or an unknown query parameter was sent.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn id_availability(
    State(state): State<AppState>,
    Query(query): Query<IdQuery>,
) -> Result<JsonBody<IdAvailabilityBody>, ApiError> {
    let id = UserId::parse(query.id)?;
    let available = state.accounts.id_availability(&id).await?;
    Ok(JsonBody(IdAvailabilityBody {
        id: id.into_inner(),
        available,
    }))
}

/// `{ id, password, name, nickname?, bio?, email? }`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignUpRequest {
    #[schema(schema_with = openapi::user_id)]
    id: String,
    #[schema(schema_with = openapi::password)]
    password: String,
    #[schema(schema_with = openapi::name)]
    name: String,
    #[serde(default)]
    #[schema(schema_with = openapi::nickname)]
    nickname: Option<String>,
    #[serde(default)]
    #[schema(schema_with = openapi::bio)]
    bio: Option<String>,
    #[serde(default)]
    #[schema(schema_with = openapi::nullable_email)]
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

/// Creates an account.
#[utoipa::path(
    post, path = "/auth/signup", tag = "accounts", request_body = SignUpRequest,
    responses(
        (status = 201, description = "The new account; sent with `Cache-Control: no-store`.", body = MeBody),
        (status = 400, description = "A field breaks its rule, is missing or unknown.", body = ErrorBody),
        (status = 409, description = "The id is taken, letter case ignored.", body = ErrorBody),
        SignUpsLimited, Unavailable,
    ),
)]
async fn sign_up(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Json(request): Json<SignUpRequest>,
) -> Result<(StatusCode, NoStore<MeBody>), ApiError> {
    let user = state.accounts.sign_up(request.try_into()?, address).await?;
    Ok((StatusCode::CREATED, NoStore(user.into())))
}

/// `{ id, password }`. Neither is checked against its rule here: an id or
/// password that breaks it simply does not match (401).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    /// Any text without NUL: an id that breaks the id rule is a 401.
    #[schema(schema_with = openapi::no_nul)]
    id: String,
    #[schema(schema_with = login_password)]
    password: String,
}

fn login_password() -> utoipa::openapi::Object {
    openapi::current_password("The account's password, or a live temporary password (once).")
}

/// Logs in with the account's password or, once, a temporary password.
///
/// Unknown ids, ids that break the rule and wrong passwords answer alike.
/// Failed log-ins are limited to 10 per id (letter case ignored) per 5
/// minutes and 30 per client address per minute; over a limit even a
/// correct password gets 429.
#[utoipa::path(
    post, path = "/auth/login", tag = "accounts", request_body = LoginRequest,
    responses(
        (status = 200, description = "A token pair; sent with `Cache-Control: no-store`. `password_change_required` is true after a temporary password.", body = TokenPairBody),
        (status = 400, description = "The body is not `{ id, password }`.", body = ErrorBody),
        (status = 401, description = "Unknown id or wrong password (one answer for both).", body = ErrorBody),
        RateLimited, Unavailable,
    ),
)]
async fn login(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Json(request): Json<LoginRequest>,
) -> Result<NoStore<TokenPairBody>, ApiError> {
    let pair = state
        .accounts
        .login(&request.id, &request.password, address)
        .await?;
    Ok(NoStore(pair.into()))
}

/// `{ refresh_token }`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RefreshRequest {
    /// As issued; a NUL character is a 400.
    #[schema(schema_with = openapi::no_nul)]
    refresh_token: String,
}

/// Trades a refresh token for a new pair, retiring the old token.
///
/// Presenting a retired refresh token again revokes its whole log-in
/// family. Pairs refreshed from a temporary-password log-in keep
/// `password_change_required: true`.
#[utoipa::path(
    post, path = "/auth/refresh", tag = "accounts", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new token pair; sent with `Cache-Control: no-store`.", body = TokenPairBody),
        (status = 401, description = "The refresh token is unknown, expired, revoked or already used.", body = ErrorBody),
        BadRefreshBody, Unavailable,
    ),
)]
async fn refresh(
    State(state): State<AppState>,
    Json(request): Json<RefreshRequest>,
) -> Result<NoStore<TokenPairBody>, ApiError> {
    let pair = state.accounts.refresh(&request.refresh_token).await?;
    Ok(NoStore(pair.into()))
}

/// Revokes the refresh token's log-in family.
#[utoipa::path(
    post, path = "/auth/logout", tag = "accounts", request_body = RefreshRequest,
    responses(
        (status = 204, description = "Logged out; also for an unknown token."),
        BadRefreshBody, Unavailable,
    ),
)]
async fn logout(
    State(state): State<AppState>,
    Json(request): Json<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    state.accounts.logout(&request.refresh_token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `{ id, email }`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TemporaryPasswordRequest {
    #[schema(schema_with = openapi::user_id)]
    id: String,
    #[schema(schema_with = openapi::email)]
    email: String,
}

#[derive(Serialize, ToSchema)]
#[schema(as = Message)]
struct MessageBody {
    #[schema(value_type = String)]
    message: &'static str,
}

/// Mails a temporary password, when the id exists and the e-mail matches.
///
/// The answer is the same whether or not the account exists; the mail is
/// sent after answering. The temporary password (at least 12 characters)
/// is valid for 30 minutes, logs in once, and replaces any older one; the
/// account's own password keeps working. Every request counts against
/// limits of its own (10 per id per 5 minutes, 30 per client address per
/// minute), apart from the failed log-ins', so asking cannot lock an
/// account's log-ins.
#[utoipa::path(
    post, path = "/auth/temporary-password", tag = "accounts",
    request_body = TemporaryPasswordRequest,
    responses(
        (status = 202, description = "Accepted, whether or not the account exists.", body = MessageBody),
        (status = 400, description = "The id or e-mail breaks its rule, or a field is missing or unknown.", body = ErrorBody),
        RateLimited, Unavailable,
    ),
)]
async fn temporary_password(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Json(request): Json<TemporaryPasswordRequest>,
) -> Result<(StatusCode, JsonBody<MessageBody>), ApiError> {
    let id = UserId::parse(request.id)?;
    let email = Email::parse(request.email)?;
    state
        .accounts
        .request_temporary_password(&id, address)
        .await?;
    // The work (and the mail) happens after answering, so the answer's
    // timing says nothing about the account.
    let accounts = state.accounts.clone();
    tokio::spawn(async move {
        if let Err(error) = accounts.send_temporary_password(&id, &email).await {
            tracing::error!(%error, "could not issue a temporary password");
        }
    });
    let message = "If the id exists and the e-mail address matches it, a temporary password has been sent to that address.";
    Ok((StatusCode::ACCEPTED, JsonBody(MessageBody { message })))
}

/// The caller's own account.
#[utoipa::path(
    get, path = "/me", tag = "accounts", security(("user" = [])),
    responses(
        (status = 200, description = "The caller's account; sent with `Cache-Control: no-store`.", body = MeBody),
        Unavailable,
    ),
)]
async fn me(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
) -> Result<NoStore<MeBody>, ApiError> {
    let user = state.accounts.me(&user_id).await?;
    Ok(NoStore(user.into()))
}

/// Any of `{ nickname, bio, email, current_password }`: an absent field is
/// kept, `null` clears it. At least one of `nickname`, `bio`, `email` is
/// needed: a body with only `current_password` is a 400.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdateMeRequest {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = openapi::nickname)]
    nickname: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = openapi::bio)]
    bio: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = openapi::nullable_email)]
    email: Option<Option<String>>,
    #[serde(default)]
    #[schema(schema_with = patch_current_password)]
    current_password: Option<String>,
}

fn patch_current_password() -> utoipa::openapi::Object {
    openapi::nullable_current_password(
        "Needed to change `email`; checked whenever it is sent, and a wrong one counts as a \
         failed log-in.",
    )
}

/// [`UpdateMeRequest`] as documented: its fields, of which at least one of
/// `nickname`, `bio`, `email` must be sent.
struct UpdateMeBody;

impl PartialSchema for UpdateMeBody {
    fn schema() -> RefOr<Schema> {
        let fields = <UpdateMeRequest as PartialSchema>::schema();
        openapi::at_least_one_of(fields, &["nickname", "bio", "email"]).into()
    }
}

impl ToSchema for UpdateMeBody {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("UpdateMeRequest")
    }
}

/// Parses a field that may be absent (keep), null (clear) or a value.
fn parse_change<T, E>(
    value: Option<Option<String>>,
    parse: impl Fn(String) -> Result<T, E>,
) -> Result<Option<Option<T>>, E> {
    value.map(|inner| inner.map(parse).transpose()).transpose()
}

/// Changes the caller's profile.
#[utoipa::path(
    patch, path = "/me", tag = "accounts", security(("user" = [])),
    request_body = UpdateMeBody,
    responses(
        (status = 200, description = "The changed account; sent with `Cache-Control: no-store`.", body = MeBody),
        (status = 400, description = "A field breaks its rule or is unknown, or none of `nickname`, `bio`, `email` was sent.", body = ErrorBody),
        (status = 403, description = "`email` changes and `current_password` is missing or wrong, or a `current_password` that was sent is wrong.", body = ErrorBody),
        RateLimited, Unavailable,
    ),
)]
async fn update_me(
    State(state): State<AppState>,
    AuthUser(user_id): AuthUser,
    ClientAddr(address): ClientAddr,
    Json(request): Json<UpdateMeRequest>,
) -> Result<NoStore<MeBody>, ApiError> {
    let update = ProfileUpdate {
        changes: ProfileChanges {
            nickname: parse_change(request.nickname, Nickname::parse)?,
            bio: parse_change(request.bio, Bio::parse)?,
            email: parse_change(request.email, Email::parse)?,
        },
        current_password: request.current_password,
    };
    let user = state.accounts.update_me(&user_id, update, address).await?;
    Ok(NoStore(user.into()))
}

/// `{ current_password, new_password }`
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChangePasswordRequest {
    #[schema(schema_with = change_current_password)]
    current_password: String,
    #[schema(schema_with = openapi::password)]
    new_password: String,
}

fn change_current_password() -> utoipa::openapi::Object {
    openapi::current_password(
        "The account's password, or a live temporary password (which this ends).",
    )
}

/// Changes the caller's password and revokes every refresh token of the
/// account.
#[utoipa::path(
    put, path = "/me/password", tag = "accounts", security(("user" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Changed."),
        (status = 400, description = "`new_password` breaks the password rule, or a field is missing or unknown.", body = ErrorBody),
        (status = 403, description = "`current_password` is wrong (counts as a failed log-in).", body = ErrorBody),
        RateLimited, Unavailable,
    ),
)]
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

/// Anyone's public profile.
#[utoipa::path(
    get, path = "/users/{id}", tag = "accounts", params(UserPath),
    responses(
        (status = 200, description = "The profile.", body = UserBody),
        (status = 404, description = "No such user; also for an id that breaks the id rule.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn user(
    State(state): State<AppState>,
    UserPath(id): UserPath,
) -> Result<JsonBody<UserBody>, ApiError> {
    let user = state.accounts.user(&id).await?;
    Ok(JsonBody(user.into()))
}
