//! Our own extractors: axum's, with every rejection turned into [`ApiError`].

use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use minifb_domain::{CommentId, NotificationId, PostId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use utoipa::IntoParams;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use crate::error::ApiError;
use crate::openapi;

/// A JSON body. The media type and size were checked by the body guard
/// before authentication ran, so this only parses: a missing body, bad
/// JSON, a missing, unknown or mistyped field are all 400s.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| ApiError::new(rejection.status(), rejection.body_text()))?;
        // serde would also read a struct from a JSON array (`["hi"]`); the
        // contract's bodies are objects.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ApiError::bad_request(
                "the request body must be a JSON object",
            ));
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let hint = if path == "." {
                format!("invalid JSON body: {}", error.inner())
            } else {
                format!("invalid JSON body: {path}: {}", error.inner())
            };
            ApiError::bad_request(hint)
        })?;
        // One object and nothing but white space after it: a second object
        // or trailing garbage is not silently dropped.
        deserializer.end().map_err(|error| {
            ApiError::bad_request(format!(
                "invalid JSON body: only white space may follow the object ({error})"
            ))
        })?;
        Ok(Json(value))
    }
}

/// A query string; unknown parameters are refused like unknown fields.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|e| ApiError::bad_request(format!("invalid query: {}", e.body_text())))
    }
}

/// Path parameters, as strings; numeric ids are read with [`Id`] instead,
/// whose hint names which id was wrong.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// A numeric id, the `{id}` of the route's path: ASCII digits of a 64-bit
/// integer, else a 400 that names which id was wrong. Also the parameter's
/// documentation, as `params(Id<PostId>)`.
pub struct Id<T>(pub T);

/// The ids a path may carry, and how hints and the document name them.
pub trait PathId: FromStr {
    /// How a hint names the id: `post id`.
    const NAME: &'static str;
    /// The parameter's description in the document.
    const DESCRIPTION: &'static str;
}

impl PathId for PostId {
    const NAME: &'static str = "post id";
    const DESCRIPTION: &'static str = "The post's id: ASCII digits only.";
}

impl PathId for CommentId {
    const NAME: &'static str = "comment id";
    const DESCRIPTION: &'static str = "The comment's id: ASCII digits only.";
}

impl PathId for NotificationId {
    const NAME: &'static str = "notification id";
    const DESCRIPTION: &'static str = "The notification's id: ASCII digits only.";
}

impl<S: Send + Sync, T: PathId> FromRequestParts<S> for Id<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await?;
        raw.parse().map(Id).map_err(|_| {
            ApiError::bad_request(format!(
                "{} must be ASCII digits of a 64-bit integer, not '{raw}'",
                T::NAME
            ))
        })
    }
}

impl<T: PathId> IntoParams for Id<T> {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let id = openapi::numeric_id();
        vec![openapi::required_parameter(
            "id",
            ParameterIn::Path,
            T::DESCRIPTION,
            id,
        )]
    }
}

/// A user id from the path, as typed: matched ignoring letter case, and
/// one that breaks the id rule names nobody (a 404, not a 400).
pub struct UserPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for UserPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(id) = Path::from_request_parts(parts, state).await?;
        Ok(Self(id))
    }
}

impl IntoParams for UserPath {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let description = "The user's id, matched ignoring letter case.";
        let id = ObjectBuilder::new().schema_type(Type::String);
        vec![openapi::required_parameter(
            "id",
            ParameterIn::Path,
            description,
            id,
        )]
    }
}

pub use crate::client_addr::ClientAddr;

/// Tells "field absent" (`None`) from "field is null" (`Some(None)`), for
/// `PATCH` bodies: use with `#[serde(default, deserialize_with = ...)]`.
pub fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use axum::body::Body;
    use axum::http::StatusCode;
    use http_body::Frame;

    use super::*;

    /// A body whose client went away before sending it.
    struct VanishingBody;

    impl http_body::Body for VanishingBody {
        type Data = Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(Some(Err(std::io::Error::other("connection reset"))))
        }
    }

    #[tokio::test]
    async fn a_body_that_cannot_be_read_is_the_contracts_400() {
        let request = Request::new(Body::new(VanishingBody));

        let rejection = Json::<serde_json::Value>::from_request(request, &())
            .await
            .err()
            .unwrap();

        assert_eq!(rejection.status(), StatusCode::BAD_REQUEST);
    }
}
