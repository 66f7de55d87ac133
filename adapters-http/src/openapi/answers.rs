//! The answers that several operations share, written once so that each
//! family (a bad id or page, no such item) reads alike.

use std::collections::BTreeMap;

use utoipa::IntoResponses;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr};

/// A response whose JSON body is the component schema `schema`.
pub fn json_response(description: &str, schema: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .build(),
    )
}

/// A response whose body is [`ErrorBody`](crate::ErrorBody).
pub(super) fn error_response(description: &str) -> ResponseBuilder {
    json_response(description, "ErrorBody")
}

/// `Retry-After`, in seconds.
fn retry_after() -> utoipa::openapi::Header {
    HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        ))
        .description(Some("Seconds to wait before trying again."))
        .build()
}

/// Declares types that stand for one answer in a `responses(...)` list:
/// its status and its response. Answers that several operations share are
/// written once, here, and so are the members of their families (a bad id
/// or page, no such item) so that each family reads alike.
macro_rules! answers {
    ($($(#[$doc:meta])* $name:ident = $status:literal, $response:expr;)+) => {$(
        $(#[$doc])*
        pub struct $name;

        impl IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [($status.to_owned(), RefOr::T($response))].into()
            }
        }
    )+};
}

answers! {
    /// 503 when the database cannot be reached or its pool times out, or
    /// password hashing is saturated: for routes that need either.
    Unavailable = "503", with_retry_after(
        "The database is unreachable or busy (or, where passwords are hashed, every hashing \
         thread is busy and a wait for one would pass 1 s); try again after `Retry-After`.",
    );
    /// 429 from the failed-attempt limits.
    RateLimited = "429", with_retry_after(
        "Too many failed attempts for this id or from this client address (see the \
         operation's description); even a correct password waits for `Retry-After`.",
    );
    /// 429 from the sign-up limit.
    SignUpsLimited = "429", with_retry_after(
        "Too many sign-ups from this client address: `MINIFB_SIGNUP_LIMIT` (default 25) per \
         5 minutes, counted across every server process; try again after `Retry-After`.",
    );
    /// 400 for a numeric id in the path, the only thing such a route reads.
    BadId = "400", error_only("The id is not ASCII digits of a 64-bit integer.");
    /// 400 for a route with a numeric id and a `{ content }` body.
    BadIdOrContent = "400", error_only("A bad id, or `content` breaks its rule.");
    /// 400 for a list without a path id.
    BadPage = "400", error_only("A bad `limit` or `cursor`, or an unknown query parameter.");
    /// 400 for a list under a numeric path id.
    BadIdOrPage = "400", error_only(
        "A bad id, `limit` or `cursor`, or an unknown query parameter.",
    );
    /// 400 for a reaction's `PUT`.
    BadReaction = "400", error_only("A bad id, or `type` is not an integer from 1 to 5.");
    /// 400 for the routes that read `{ refresh_token }`.
    BadRefreshBody = "400", error_only("The body is not `{ refresh_token }`.");
    /// 403 for the post owner's routes.
    NotPostOwner = "403", error_only("The caller does not own the post.");
    /// 404 for the routes about one post.
    NoSuchPost = "404", error_only("No such post.");
    /// 404 for the routes about one comment.
    NoSuchComment = "404", error_only("No such comment.");
    /// 404 for the routes about one of the caller's notifications.
    NoSuchNotification = "404", error_only("The caller has no notification with this id.");
    /// 409 of a create whose `Idempotency-Key` is in use by a request still
    /// being processed.
    KeyInProgress = "409", error_only(
        "A request with the same `Idempotency-Key` is still being processed; retry once it \
         has been answered.",
    );
    /// 422 of a create whose `Idempotency-Key` answered another request.
    KeyReused = "422", error_only(
        "The `Idempotency-Key` was used within the last 24 hours for a request with another \
         method, path or body.",
    );
    /// 204 of a `DELETE` of a post or comment.
    Deleted = "204", ResponseBuilder::new().description("Deleted.").build();
    /// 204 of a `DELETE` of a reaction.
    Withdrawn = "204", ResponseBuilder::new().description("Withdrawn.").build();
}

pub(super) fn error_only(description: &str) -> Response {
    error_response(description).build()
}

/// An error answer with `Retry-After`.
fn with_retry_after(description: &str) -> Response {
    error_response(description)
        .header("Retry-After", retry_after())
        .build()
}
