//! Cross-cutting request handling: body guard, request ids, fallbacks,
//! panics.

use std::any::Any;

use axum::body::Body;
use axum::extract::Request;
use std::time::Duration;

use axum::extract::State;
use axum::http::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt;

use crate::error::{ApiError, ErrorBody, RequestHint};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// Longest accepted request URI (414 beyond).
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest accepted header section: names, values and their separators
/// (431 beyond).
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Refuses a URI over [`MAX_URI_BYTES`] (414) or a header section over
/// [`MAX_HEADER_BYTES`] (431) with the error body, before routing. (The
/// HTTP parser itself refuses heads beyond its 256 KiB buffer, bare.)
pub async fn head_limits(request: Request, next: Next) -> Result<Response, ApiError> {
    let uri = request.uri();
    let uri_bytes = uri.authority().map_or(0, |a| a.as_str().len())
        + uri.path_and_query().map_or(0, |p| p.as_str().len());
    if uri_bytes > MAX_URI_BYTES {
        return Err(ApiError::new(
            StatusCode::URI_TOO_LONG,
            format!("the request URI is longer than {MAX_URI_BYTES} bytes (8 KiB)"),
        ));
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return Err(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!("the request headers are larger than {MAX_HEADER_BYTES} bytes (16 KiB)"),
        ));
    }
    Ok(next.run(request).await)
}

/// Answers 503 (with `Retry-After`) when a request is not answered within
/// `limit`; the database's `statement_timeout` ends its query before that.
pub async fn deadline(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    tokio::time::timeout(limit, next.run(request))
        .await
        .map_err(|_| {
            ApiError::unavailable(format!(
                "the request was not answered within {} seconds",
                limit.as_secs()
            ))
        })
}

/// Runs on matched routes only, before any extractor, so that the checks
/// answer in the contract's order: body size (413), then media type (415),
/// then the token (401) and the rest in the handler. A body that goes
/// `stall` without a byte is answered 408 and its connection closed.
pub async fn body_guard(
    State(stall): State<Duration>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {BODY_LIMIT} bytes (64 KiB)"),
        )
    };
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    let bytes = read_body(body, stall).await?.map_err(|error| {
        if error.is::<http_body_util::LengthLimitError>() {
            too_large()
        } else {
            ApiError::bad_request("the request body could not be read")
        }
    })?;
    if !bytes.is_empty() && !is_json(&parts.headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the request body must be JSON sent with 'Content-Type: application/json'",
        ));
    }
    Ok(next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await)
}

/// The whole body, at most [`BODY_LIMIT`] bytes; 408 (closing the
/// connection) if no byte arrives for `stall`.
async fn read_body(body: Body, stall: Duration) -> Result<Result<Bytes, axum::BoxError>, ApiError> {
    let mut body = http_body_util::Limited::new(body, BODY_LIMIT);
    let mut bytes = BytesMut::new();
    loop {
        let frame = tokio::time::timeout(stall, body.frame())
            .await
            .map_err(|_| {
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    format!(
                        "the request body stalled: no byte for {} seconds",
                        stall.as_secs()
                    ),
                )
                .with_header(CONNECTION, HeaderValue::from_static("close"))
            })?;
        match frame {
            None => return Ok(Ok(bytes.freeze())),
            Some(Err(error)) => return Ok(Err(error)),
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    bytes.extend_from_slice(data);
                }
            }
        }
    }
}

/// `application/json` or `application/<anything>+json`, any parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Drops a client's `x-request-id` unless it is 1 to 64 characters of
/// `[A-Za-z0-9._-]`, so that `SetRequestIdLayer` makes a fresh one: ids end
/// up in logs and error bodies, and must not carry arbitrary text there.
pub async fn sanitize_request_id(mut request: Request, next: Next) -> Response {
    let acceptable = |value: &axum::http::HeaderValue| {
        let bytes = value.as_bytes();
        (1..=64).contains(&bytes.len())
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    };
    if request
        .headers()
        .get(REQUEST_ID_HEADER)
        .is_some_and(|value| !acceptable(value))
    {
        request.headers_mut().remove(REQUEST_ID_HEADER);
    }
    next.run(request).await
}

/// The header that carries the request id, in and out.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Writes the hints that name the request ([`RequestHint`]), the one place
/// that has it at hand: the request id (set by `SetRequestIdLayer`) after
/// the description of every 500, so that a client's report can be found in
/// the logs, and the method and path of every refused permission (403).
pub async fn name_request_in_failures(request: Request, next: Next) -> Response {
    let id = request.headers().get(REQUEST_ID_HEADER).cloned();
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let mut response = next.run(request).await;
    let Some(request_hint) = response.extensions_mut().remove::<RequestHint>() else {
        return response;
    };
    let hint = match request_hint {
        RequestHint::Failure(hint) => {
            let id = id
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            format!("{hint} (request id {id})")
        }
        RequestHint::Refusal => {
            format!("You have not permission for '{method} {}'", uri.path())
        }
    };
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(CONTENT_LENGTH);
    let body = ErrorBody {
        result: parts.status.canonical_reason().unwrap_or("Error"),
        hint,
    };
    let rebuilt = axum::Json(body).into_response();
    Response::from_parts(parts, rebuilt.into_body())
}

/// Unknown routes.
pub async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!("no route for {method} {}", uri.path()))
}

/// Known path, wrong method; axum adds the `Allow` header.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::method_not_allowed(method.as_str(), uri.path())
}

/// A panic in a handler becomes a 500 with the contract's body.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    tracing::error!(%detail, "handler panicked");
    ApiError::internal("the server failed unexpectedly while handling this request").into_response()
}

/// Answers about the caller's own account and the back office are private:
/// `Cache-Control: no-store` on every `/me...`, `/admin...` and `/metrics`
/// answer, errors included, so no shared cache keeps them.
pub async fn private_answers(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let private = ["/me", "/admin", "/metrics"].iter().any(|prefix| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    let mut response = next.run(request).await;
    if private {
        response.headers_mut().insert(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    response
}

/// Preflight answers carry no body: 204, as browsers and the contract expect.
pub async fn preflight_no_content(request: Request, next: Next) -> Response {
    let preflight = request.method() == Method::OPTIONS;
    let mut response = next.run(request).await;
    if preflight && response.status() == StatusCode::OK {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn json_media_types() {
        for (value, expected) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/x-www-form-urlencoded", false),
            ("text/json", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_json(&headers), expected, "{value}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn a_panic_of_any_payload_is_the_contracts_500() {
        let payloads: [Box<dyn Any + Send>; 3] = [
            Box::new("a literal"),
            Box::new(String::from("a formatted message")),
            Box::new(42_u8),
        ];
        for payload in payloads {
            let response = panic_response(payload);
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        }
    }
}
