//! Safe retries on the HTTP side: the `Idempotency-Key` header, the
//! request's fingerprint, and the answer that is recorded and replayed.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use minifb_application::social::Created;
use minifb_application::social::ports::{KeyedRequest, RecordedAnswer, Recorder};
use minifb_domain::{IdempotencyKey, UserId};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use crate::error::ApiError;

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const IDEMPOTENT_REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");

/// The request's `Idempotency-Key`, if it sent one; a malformed one, or
/// more than one, is 400.
#[derive(Debug, Clone)]
pub struct RetryKey(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for RetryKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let mut values = parts.headers.get_all(IDEMPOTENCY_KEY).iter();
        let Some(value) = values.next() else {
            return Ok(Self(None));
        };
        if values.next().is_some() {
            return Err(ApiError::bad_request(
                "send one Idempotency-Key header, not several",
            ));
        }
        Ok(Self(Some(IdempotencyKey::parse(value.as_bytes())?)))
    }
}

/// The optional `Idempotency-Key` header of the creates that take one, for
/// their `params(...)`: [`IdempotencyKey`]'s rule.
pub struct IdempotencyKeyHeader;

impl IntoParams for IdempotencyKeyHeader {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let max = IdempotencyKey::MAX_LEN;
        let schema = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(max))
            .pattern(Some(format!("^[!-~]{{1,{max}}}$")));
        let description = format!(
            "1 to {max} visible ASCII characters (`!` to `~`), chosen by the\n\
             client, unique per create it means (a UUID will do). A repeat of\n\
             the same request with the same key within 24 hours creates nothing\n\
             and gets the first answer again."
        );
        vec![
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(description))
                .schema(Some(schema))
                .build(),
        ]
    }
}

/// The keyed request: what identifies "the same request" is the method,
/// the path (with its id as parsed, so `/posts/07` is `/posts/7`) and the
/// body's meaning (its `content`; JSON spacing does not count).
pub fn keyed(user_id: &UserId, key: IdempotencyKey, route: &str, content: &str) -> KeyedRequest {
    let mut digest = Sha256::new();
    digest.update(route.as_bytes());
    digest.update(b"\n");
    digest.update(content.as_bytes());
    KeyedRequest {
        user_id: user_id.clone(),
        key,
        fingerprint: format!("{:x}", digest.finalize()),
    }
}

/// A 201 answer with `body`, as recorded under a key and sent: the
/// repository renders it once, in the create's transaction.
pub fn created<V, B>() -> Recorder<V>
where
    V: Clone + Into<B>,
    B: Serialize,
{
    Arc::new(|view: &V| {
        Ok(RecordedAnswer {
            status: StatusCode::CREATED.as_u16(),
            body: serde_json::to_string(&view.clone().into())?,
        })
    })
}

/// What a keyed create answers: the recorded bytes, fresh or replayed.
pub fn respond(created: Created) -> Result<Response, ApiError> {
    let (answer, replayed) = match created {
        Created::New(answer) => (answer, false),
        Created::Replayed(answer) => (answer, true),
    };
    let status =
        StatusCode::from_u16(answer.status).map_err(|_| ApiError::internal("bad stored status"))?;
    let mut response = (
        status,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        answer.body,
    )
        .into_response();
    if replayed {
        response
            .headers_mut()
            .insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    async fn extract(keys: &[&str]) -> Result<RetryKey, ApiError> {
        let mut request = Request::builder().uri("/posts");
        for key in keys {
            request = request.header(IDEMPOTENCY_KEY, *key);
        }
        let (mut parts, ()) = request.body(()).unwrap().into_parts();
        RetryKey::from_request_parts(&mut parts, &()).await
    }

    #[tokio::test]
    async fn one_key_is_read_none_is_none_and_two_are_refused() {
        assert!(matches!(extract(&["abc"]).await, Ok(RetryKey(Some(_)))));
        assert!(matches!(extract(&[]).await, Ok(RetryKey(None))));
        let refused = extract(&["abc", "abc"])
            .await
            .err()
            .map(|error| axum::response::IntoResponse::into_response(error).status());
        assert_eq!(refused, Some(axum::http::StatusCode::BAD_REQUEST));
    }

    #[test]
    fn a_stored_answer_with_an_impossible_status_is_a_500_not_a_panic() {
        let stored = RecordedAnswer {
            status: 1000,
            body: "{}".into(),
        };
        let refused = respond(Created::Replayed(stored))
            .err()
            .map(|error| error.into_response().status());
        assert_eq!(refused, Some(StatusCode::INTERNAL_SERVER_ERROR));
    }

    #[tokio::test]
    async fn a_new_answer_is_sent_as_recorded_and_only_a_replay_says_so() {
        let record = created::<u8, u8>();
        for (created, replayed) in [
            (Created::New(record(&7).unwrap()), None),
            (Created::Replayed(record(&7).unwrap()), Some("true")),
        ] {
            let response = respond(created).unwrap();

            assert_eq!(response.status(), StatusCode::CREATED);
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
            let header = response.headers().get(IDEMPOTENT_REPLAYED);
            assert_eq!(header.and_then(|v| v.to_str().ok()), replayed);
            let body = axum::body::to_bytes(response.into_body(), 64)
                .await
                .unwrap();
            assert_eq!(&body[..], b"7");
        }
    }
}
