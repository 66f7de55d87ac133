//! The one error type of the HTTP layer: every failure, ours or the
//! framework's, leaves as `{ "result": <reason phrase>, "hint": <what to do> }`.

use axum::Json;
use axum::http::header::{RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minifb_application::StoreError;
use minifb_application::accounts::AccountError;
use minifb_application::ports::HashError;
use minifb_application::social::SocialError;
use minifb_domain::ValidationError;
use serde::Serialize;
use utoipa::ToSchema;

/// A hint that names the request, left in the response's extensions for
/// `middleware::name_request_in_failures`, which has the request at hand
/// and writes the body: handlers and use cases do not carry the request
/// around to word their errors.
#[derive(Debug, Clone)]
pub enum RequestHint {
    /// A 500: its own description, to which the request id is added.
    Failure(String),
    /// A refused permission (403): the hint names the method and path
    /// (`You have not permission for 'DELETE /posts/14'`).
    Refusal,
}

/// Seconds a client should wait before retrying after a 503.
const UNAVAILABLE_RETRY_AFTER: u64 = 5;

/// The error body of every failed request.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "result": "Forbidden",
    "hint": "You have not permission for 'DELETE /posts/14'"
}))]
pub struct ErrorBody {
    /// The standard reason phrase of the status code (413 is `Payload Too Large`).
    #[schema(value_type = String)]
    pub result: &'static str,
    /// What went wrong, in words a client developer can act on: which field
    /// broke which rule, which resource is missing. For a 500, the server's
    /// own description of the failure and the request id.
    pub hint: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    hint: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    /// A refused permission, whose hint the middleware words.
    refusal: bool,
}

impl ApiError {
    pub fn new(status: StatusCode, hint: impl Into<String>) -> Self {
        Self {
            status,
            hint: hint.into(),
            headers: Vec::new(),
            refusal: false,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    pub fn bad_request(hint: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, hint)
    }

    pub fn not_found(hint: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, hint)
    }

    /// No credentials were sent (RFC 6750: no error code).
    pub fn missing_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "this route needs an access token: send 'Authorization: Bearer <token>'",
        )
        .with_header(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))
    }

    /// Credentials were sent but are malformed, expired or forged.
    pub fn invalid_token() -> Self {
        Self::invalid_token_because(
            "the access token is malformed, expired or not signed by this server; refresh it or log in again",
        )
    }

    /// A well-formed token whose account no longer exists.
    pub fn caller_gone() -> Self {
        Self::invalid_token_because("the access token's account no longer exists")
    }

    fn invalid_token_because(hint: &'static str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, hint).with_header(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        )
    }

    /// An authenticated caller may not do this to this resource. The hint
    /// names the request's method and path: `name_request_in_failures`
    /// writes it, and this one stands only where that layer is absent.
    pub fn forbidden() -> Self {
        Self {
            refusal: true,
            ..Self::new(
                StatusCode::FORBIDDEN,
                "You have not permission for this request",
            )
        }
    }

    /// 429 with `Retry-After`; `hint` says which limit and for how long.
    pub fn too_many_requests(hint: String, retry_after: u64) -> Self {
        Self::new(StatusCode::TOO_MANY_REQUESTS, hint)
            .with_header(RETRY_AFTER, HeaderValue::from(retry_after))
    }

    pub fn unavailable(hint: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, hint)
            .with_header(RETRY_AFTER, HeaderValue::from(UNAVAILABLE_RETRY_AFTER))
    }

    /// A failure of ours; `message` must not quote SQL, data or secrets.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        let message = message.to_string();
        tracing::error!(%message, "request failed");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    /// Known path, wrong method; axum adds the `Allow` header.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("method {method} is not allowed for {path}"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let request_hint = if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            Some(RequestHint::Failure(self.hint.clone()))
        } else {
            self.refusal.then_some(RequestHint::Refusal)
        };
        let body = ErrorBody::new(self.status, self.hint);
        let mut response = (self.status, Json(body)).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        if let Some(request_hint) = request_hint {
            response.extensions_mut().insert(request_hint);
        }
        response
    }
}

impl ErrorBody {
    /// The body of a `status` answer: its reason phrase and `hint`.
    pub fn new(status: StatusCode, hint: impl Into<String>) -> Self {
        Self {
            result: reason_phrase(status),
            hint: hint.into(),
        }
    }
}

/// The status's reason phrase, as RFC 9110 names it (422 is `Unprocessable
/// Content`, where older lists say `Entity`).
fn reason_phrase(status: StatusCode) -> &'static str {
    match status {
        StatusCode::UNPROCESSABLE_ENTITY => "Unprocessable Content",
        other => other.canonical_reason().unwrap_or("Error"),
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        Self::bad_request(error.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(hint) => Self::unavailable(hint),
            StoreError::UserGone => Self::caller_gone(),
            StoreError::Other(error) => Self::internal(error),
        }
    }
}

impl From<HashError> for ApiError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::unavailable(error.to_string()),
            HashError::Failed(_) => Self::internal(error),
        }
    }
}

impl From<SocialError> for ApiError {
    fn from(error: SocialError) -> Self {
        match error {
            SocialError::PostNotFound(_)
            | SocialError::CommentNotFound(_)
            | SocialError::UserNotFound(_)
            | SocialError::NotificationNotFound(_)
            | SocialError::ReactionNotFound(_) => Self::not_found(error.to_string()),
            SocialError::Forbidden => Self::forbidden(),
            SocialError::CallerGone => Self::caller_gone(),
            SocialError::KeyInProgress => Self::new(StatusCode::CONFLICT, error.to_string()),
            SocialError::KeyReused => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, error.to_string())
            }
            SocialError::Store(e) => e.into(),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        let hint = error.to_string();
        match error {
            AccountError::Invalid(e) => e.into(),
            AccountError::NothingToChange => {
                Self::bad_request("PATCH /me needs at least one of nickname, bio, email")
            }
            AccountError::BadCredentials | AccountError::InvalidRefreshToken => {
                Self::new(StatusCode::UNAUTHORIZED, hint)
            }
            AccountError::WrongCurrentPassword | AccountError::CurrentPasswordRequired => {
                Self::new(StatusCode::FORBIDDEN, hint)
            }
            AccountError::UserNotFound(_) => Self::not_found(hint),
            AccountError::CallerGone => Self::caller_gone(),
            AccountError::IdTaken(_) => Self::new(StatusCode::CONFLICT, hint),
            AccountError::RateLimited(retry) | AccountError::SignUpsLimited(retry) => {
                Self::too_many_requests(hint, retry.0)
            }
            AccountError::Hashing(e) => e.into(),
            AccountError::Store(e) => e.into(),
            AccountError::Unknown(e) => Self::internal(e),
        }
    }
}
