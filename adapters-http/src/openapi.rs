//! The OpenAPI document's shared pieces.
//!
//! Each route is documented next to its handler with `#[utoipa::path]` and
//! registered with `utoipa_axum::routes!`, which adds the handler to the
//! router and its operation to the document in one call, so the two cannot
//! list different routes. This module holds what the operations share: the
//! info and security schemes ([`base`]), the field schemas built from the
//! domain's own limits, and [`complete`], which adds the error answers that
//! follow from the router's layers rather than from any one handler.

use std::collections::BTreeMap;

use minifb_domain::{
    Bio, CommentContent, DisplayName, Email, Nickname, Password, PostContent, ReactionKind, UserId,
};
use serde_json::json;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, KnownFormat, Object, ObjectBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr, Required};
use utoipa::{IntoResponses, Modify};

use crate::error::ErrorBody;
use crate::pagination::{DEFAULT_LIMIT, MAX_LIMIT};

/// The user ids the contract accepts, as a regular expression.
const USER_ID_PATTERN: &str = "^[A-Za-z0-9_.-]+$";

// The patterns below are written for the dialects that read them alike:
// ECMA-262 (JSON Schema's), Python's `re` (schemathesis) and Rust's `regex`
// (this module's tests): no `\s`, whose meaning differs between the three,
// and characters as `\uXXXX`.

/// The characters with the Unicode `White_Space` property, the ones
/// `char::is_whitespace` (and so the domain's "not blank") tests, as the
/// inside of a character class.
macro_rules! white_space {
    () => {
        r"\u0009-\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}

/// Any text without a NUL character: what every text field, credentials
/// included, refuses.
const NO_NUL_PATTERN: &str = r"^[^\u0000]*$";

/// A text without NUL that is not blank: white space, then a character that
/// is neither white space nor NUL, then anything but NUL.
const NOT_BLANK_PATTERN: &str = concat!(
    "^[",
    white_space!(),
    r"]*[^\u0000",
    white_space!(),
    r"][^\u0000]*$"
);

/// The WHATWG HTML "valid e-mail address", which the domain's `Email`
/// spells out in code.
const EMAIL_PATTERN: &str = concat!(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@",
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
);

/// The shape of every cursor: `base64url("v1:...")` without padding, and
/// `base64url("v1:")` is `djE6`.
const CURSOR_PATTERN: &str = "^djE6[A-Za-z0-9_-]+$";

/// The document before any route is added: info, the contract's general
/// rules, the two security schemes and the error body.
pub fn base() -> OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(
        info(
            title = "minifb",
            version = env!("CARGO_PKG_VERSION"),
            description = include_str!("../assets/openapi.md"),
        ),
        modifiers(&SecuritySchemes),
        components(schemas(ErrorBody)),
        tags(
            (name = "accounts", description = "Sign-up, log-in, tokens and profiles."),
            (name = "posts", description = "Posts and timelines."),
            (name = "comments", description = "Comments on posts."),
            (name = "reactions", description = "Reactions (types 1 to 5) on posts and comments."),
            (name = "notifications", description = "The caller's notifications."),
            (name = "back office", description = "Statistics and metrics, for the admin token."),
            (name = "operations", description = "Health, readiness and this documentation."),
        ),
    )]
    struct Base;

    <Base as utoipa::OpenApi>::openapi()
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "user",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A user's access token from `POST /auth/login` or `POST /auth/refresh`: \
                         an HS256 JWT whose `sub` is the user id, valid for 15 minutes by default.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "admin",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The back-office token, `MINIFB_ADMIN_TOKEN`, compared in constant time. \
                         Any other token, a user's access token included, is a 401.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Adds to every operation the answers that come from the router's layers,
/// so that no handler can forget them: 413 and 415 from the body guard
/// (which runs on every route, before the token is looked at), 401 where
/// the operation's security asks for a token, and 500.
pub fn complete(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let schemes = security_schemes(operation);
            let responses = &mut operation.responses.responses;
            let mut add = |status: &str, response: Response| {
                responses
                    .entry(status.to_owned())
                    .or_insert(RefOr::T(response));
            };
            if schemes.iter().any(|scheme| scheme == "user") {
                let optional = schemes.iter().any(String::is_empty);
                add("401", unauthorized_user(optional));
            }
            if schemes.iter().any(|scheme| scheme == "admin") {
                add("401", unauthorized_admin());
            }
            add(
                "413",
                error_only(
                    "The body is larger than 64 KiB. Checked before the media type and the token.",
                ),
            );
            add(
                "415",
                error_only(
                    "A body was sent whose `Content-Type` is missing or not JSON \
                     (`application/json` or `application/*+json`). Checked before the token; \
                     a request without a body never gets it.",
                ),
            );
            add(
                "500",
                error_only(
                    "A failure of the server's own; `hint` describes it and ends with the request id \
                     (also in the `X-Request-Id` header).",
                ),
            );
        }
    }
}

/// Every operation of a path item.
fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The names of the security schemes an operation accepts; `""` stands for
/// the empty requirement, "no token".
fn security_schemes(operation: &Operation) -> Vec<String> {
    let Some(requirements) = &operation.security else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for requirement in requirements {
        match serde_json::to_value(requirement) {
            Ok(serde_json::Value::Object(map)) if map.is_empty() => names.push(String::new()),
            Ok(serde_json::Value::Object(map)) => names.extend(map.keys().cloned()),
            _ => {}
        }
    }
    names
}

fn unauthorized_user(optional: bool) -> Response {
    let when = if optional {
        "The token is optional here, but one that is sent must be valid: a malformed, expired \
         or forged token is a 401 with `WWW-Authenticate: Bearer error=\"invalid_token\"`."
    } else {
        "No access token (`WWW-Authenticate: Bearer`), or a malformed, expired or forged one, \
         or one whose account no longer exists (`WWW-Authenticate: Bearer error=\"invalid_token\"`: \
         refresh it or log in again)."
    };
    unauthorized(
        when,
        "`Bearer` or `Bearer error=\"invalid_token\"` (RFC 6750).",
    )
}

fn unauthorized_admin() -> Response {
    unauthorized(
        "No token, or a token that is not the admin token (a user's access token included).",
        "`Bearer` or `Bearer error=\"invalid_token\"`.",
    )
}

/// A 401 with the `WWW-Authenticate` challenge described as `challenge`.
fn unauthorized(when: &str, challenge: &str) -> Response {
    let header = HeaderBuilder::new()
        .schema(Some(string()))
        .description(Some(challenge))
        .build();
    error_response(when)
        .header("WWW-Authenticate", header)
        .build()
}

/// A response whose JSON body is the component schema `schema`.
pub fn json_response(description: &str, schema: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .build(),
    )
}

/// A response whose body is [`ErrorBody`].
fn error_response(description: &str) -> ResponseBuilder {
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
    /// password hashing stays saturated: for routes that need either.
    Unavailable = "503", with_retry_after(
        "The database is unreachable or busy (or, where passwords are hashed, every hashing \
         thread stayed busy for 5 s); try again after `Retry-After`.",
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

/// The optional `Idempotency-Key` header of the creates that take one.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKeyHeader {
    /// 1 to 255 visible ASCII characters (`!` to `~`), chosen by the
    /// client, unique per create it means (a UUID will do). A repeat of
    /// the same request with the same key within 24 hours creates nothing
    /// and gets the first answer again.
    #[param(
        rename = "Idempotency-Key",
        required = false,
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]{1,255}$"
    )]
    #[allow(dead_code)]
    idempotency_key: String,
}

fn error_only(description: &str) -> Response {
    error_response(description).build()
}

/// An error answer with `Retry-After`.
fn with_retry_after(description: &str) -> Response {
    error_response(description)
        .header("Retry-After", retry_after())
        .build()
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn nullable_string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
        Type::String,
        Type::Null,
    ]))
}

/// `min..=max` Unicode characters, as the domain counts them.
fn chars(schema: ObjectBuilder, min: usize, max: usize) -> ObjectBuilder {
    schema.min_length(Some(min)).max_length(Some(max))
}

/// A text of `min..=max` characters, not blank, without NUL.
fn not_blank(schema: ObjectBuilder, min: usize, max: usize) -> ObjectBuilder {
    chars(schema, min, max)
        .pattern(Some(NOT_BLANK_PATTERN))
        .description(Some(
            "Lengths count Unicode characters; not blank (at least one character that is not \
             white space); no NUL character.",
        ))
}

/// Any text without a NUL character, such as a credential checked as typed.
pub fn no_nul() -> Object {
    no_nul_schema(string()).build()
}

fn no_nul_schema(schema: ObjectBuilder) -> ObjectBuilder {
    schema.pattern(Some(NO_NUL_PATTERN))
}

/// A user id: [`UserId`]'s rule.
pub fn user_id() -> Object {
    chars(string(), UserId::MIN_CHARS, UserId::MAX_CHARS)
        .pattern(Some(USER_ID_PATTERN))
        .description(Some(
            "A user id: ASCII letters, digits, `_`, `-` and `.`; shown as chosen, matched \
             ignoring letter case.",
        ))
        .examples([json!("alice")])
        .build()
}

/// A new password: [`Password`]'s rule.
pub fn password() -> Object {
    chars(
        no_nul_schema(string()),
        Password::MIN_CHARS,
        Password::MAX_CHARS,
    )
    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
    .description(Some(
        "Lengths count Unicode characters; white space is fine; no NUL character.",
    ))
    .build()
}

/// A password as typed to prove who one is: checked as typed, but no NUL.
pub fn current_password(description: &str) -> Object {
    no_nul_schema(string())
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .description(Some(description))
        .build()
}

/// An optional [`current_password`]: null is the same as absent.
pub fn nullable_current_password(description: &str) -> Object {
    no_nul_schema(nullable_string())
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
        .description(Some(description))
        .build()
}

/// A display name: [`DisplayName`]'s rule.
pub fn name() -> Object {
    not_blank(string(), DisplayName::MIN_CHARS, DisplayName::MAX_CHARS)
        .examples([json!("Alice")])
        .build()
}

/// A nickname, or null to clear it: [`Nickname`]'s rule.
pub fn nickname() -> Object {
    not_blank(nullable_string(), Nickname::MIN_CHARS, Nickname::MAX_CHARS).build()
}

/// A bio, or null to clear it: [`Bio`]'s rule.
pub fn bio() -> Object {
    not_blank(nullable_string(), Bio::MIN_CHARS, Bio::MAX_CHARS).build()
}

/// An e-mail address: [`Email`]'s rule.
pub fn email() -> Object {
    email_schema(string())
}

/// An e-mail address, or null to clear it.
pub fn nullable_email() -> Object {
    email_schema(nullable_string())
}

fn email_schema(schema: ObjectBuilder) -> Object {
    schema
        .max_length(Some(Email::MAX_CHARS))
        .pattern(Some(EMAIL_PATTERN))
        .description(Some(
            "A valid e-mail address by the WHATWG HTML rule, the pattern (`\"\"` is a 400); \
             not `format: email`, whose RFC 5321 rule differs (`.a@b` is valid here); compared \
             ignoring ASCII case; shown to its owner only.",
        ))
        .build()
}

/// A post's content: [`PostContent`]'s rule.
pub fn post_content() -> Object {
    not_blank(string(), PostContent::MIN_CHARS, PostContent::MAX_CHARS).build()
}

/// A comment's content: [`CommentContent`]'s rule.
pub fn comment_content() -> Object {
    not_blank(
        string(),
        CommentContent::MIN_CHARS,
        CommentContent::MAX_CHARS,
    )
    .build()
}

/// A reaction type: [`ReactionKind`]'s range.
pub fn reaction_type() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(ReactionKind::MIN))
        .maximum(Some(ReactionKind::MAX))
        .description(Some("What each number means is the client's business."))
        .build()
}

/// `my_reaction`: the caller's reaction type, or null.
pub fn my_reaction() -> Object {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            Type::Integer,
            Type::Null,
        ]))
        .minimum(Some(ReactionKind::MIN))
        .maximum(Some(ReactionKind::MAX))
        .description(Some(
            "The caller's reaction type; null without a token or reaction.",
        ))
        .build()
}

/// A required parameter.
pub fn required_parameter(
    name: &str,
    place: ParameterIn,
    description: &str,
    schema: impl Into<RefOr<Schema>>,
) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(place)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// A numeric id in a path: ASCII digits of a 64-bit integer.
pub fn numeric_id() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(0))
        .build()
}

/// The `limit` query parameter.
pub fn limit() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX_LIMIT))
        .default(Some(json!(DEFAULT_LIMIT)))
        .description(Some("Items per page."))
        .build()
}

/// The `cursor` query parameter: a `next_cursor` of the same list.
pub fn cursor() -> Object {
    string().pattern(Some(CURSOR_PATTERN)).build()
}

/// `schema`, an object of which at least one of the properties `names`
/// must be sent.
pub fn at_least_one_of(schema: impl Into<RefOr<Schema>>, names: &[&str]) -> Schema {
    let one_of_them = names.iter().fold(AnyOfBuilder::new(), |any_of, name| {
        any_of.item(ObjectBuilder::new().required(*name))
    });
    AllOfBuilder::new()
        .item(schema)
        .item(one_of_them)
        .build()
        .into()
}

/// `token_type`, always `"Bearer"`.
pub fn bearer() -> Object {
    string().enum_values(Some(["Bearer"])).build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Who may call a route: API.md's auth column.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Auth {
        None,
        User,
        Optional,
        Admin,
    }

    /// Every route of API.md's route tables.
    const CONTRACT: &[(&str, &str, Auth)] = &[
        ("GET", "/auth/id-availability", Auth::None),
        ("POST", "/auth/signup", Auth::None),
        ("POST", "/auth/login", Auth::None),
        ("POST", "/auth/refresh", Auth::None),
        ("POST", "/auth/logout", Auth::None),
        ("POST", "/auth/temporary-password", Auth::None),
        ("GET", "/me", Auth::User),
        ("PATCH", "/me", Auth::User),
        ("PUT", "/me/password", Auth::User),
        ("GET", "/users/{id}", Auth::None),
        ("POST", "/posts", Auth::User),
        ("GET", "/posts", Auth::Optional),
        ("GET", "/posts/{id}", Auth::Optional),
        ("PATCH", "/posts/{id}", Auth::User),
        ("DELETE", "/posts/{id}", Auth::User),
        ("GET", "/me/timeline", Auth::User),
        ("GET", "/users/{id}/timeline", Auth::Optional),
        ("POST", "/posts/{id}/comments", Auth::User),
        ("GET", "/posts/{id}/comments", Auth::Optional),
        ("PATCH", "/comments/{id}", Auth::User),
        ("DELETE", "/comments/{id}", Auth::User),
        ("PUT", "/posts/{id}/reaction", Auth::User),
        ("DELETE", "/posts/{id}/reaction", Auth::User),
        ("PUT", "/comments/{id}/reaction", Auth::User),
        ("DELETE", "/comments/{id}/reaction", Auth::User),
        ("GET", "/me/notifications", Auth::User),
        ("POST", "/me/notifications/{id}/read", Auth::User),
        ("POST", "/me/notifications/read-all", Auth::User),
        ("GET", "/me/notifications/stream", Auth::User),
        ("GET", "/admin/stats/service", Auth::Admin),
        ("GET", "/admin/stats/server", Auth::Admin),
        ("GET", "/metrics", Auth::Admin),
        ("GET", "/health", Auth::None),
        ("GET", "/ready", Auth::None),
        ("GET", "/openapi.json", Auth::None),
        ("GET", "/docs", Auth::None),
    ];

    /// Routes the server has beyond the contract's tables.
    const EXTRAS: &[(&str, &str, Auth)] = &[
        ("GET", "/admin", Auth::None),
        ("GET", "/docs/{file}", Auth::None),
    ];

    fn document() -> Value {
        serde_json::to_value(crate::openapi()).unwrap()
    }

    /// `(METHOD, path, operation)` for every operation of the document.
    fn operations(document: &Value) -> Vec<(String, String, Value)> {
        let mut all = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                all.push((method.to_ascii_uppercase(), path.clone(), operation.clone()));
            }
        }
        all
    }

    fn auth_of(operation: &Value) -> Auth {
        let Some(requirements) = operation["security"].as_array() else {
            return Auth::None;
        };
        let names: Vec<&str> = requirements
            .iter()
            .flat_map(|r| {
                let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
                if keys.is_empty() { vec![""] } else { keys }
            })
            .collect();
        match names.as_slice() {
            ["user"] => Auth::User,
            ["", "user"] => Auth::Optional,
            ["admin"] => Auth::Admin,
            other => panic!("unexpected security {other:?}"),
        }
    }

    fn references_error_body(response: &Value) -> bool {
        response["content"]["application/json"]["schema"]["$ref"]
            == "#/components/schemas/ErrorBody"
    }

    #[test]
    fn the_document_lists_exactly_the_contract_s_routes_with_their_auth() {
        let document = document();
        let mut documented: Vec<(String, String, Auth)> = operations(&document)
            .into_iter()
            .map(|(method, path, operation)| (method, path, auth_of(&operation)))
            .collect();
        let mut expected: Vec<(String, String, Auth)> = CONTRACT
            .iter()
            .chain(EXTRAS)
            .map(|(method, path, auth)| (method.to_string(), path.to_string(), *auth))
            .collect();
        let key = |entry: &(String, String, Auth)| (entry.1.clone(), entry.0.clone());
        documented.sort_by_key(key);
        expected.sort_by_key(key);
        assert_eq!(documented, expected);
    }

    #[test]
    fn every_operation_answers_errors_with_error_body() {
        for (method, path, operation) in operations(&document()) {
            let responses = operation["responses"].as_object().unwrap();
            let errors: Vec<(&String, &Value)> = responses
                .iter()
                .filter(|(status, _)| status.as_str() >= "400")
                .collect();
            assert!(
                errors
                    .iter()
                    .any(|(status, response)| status.starts_with('4')
                        && references_error_body(response)),
                "{method} {path} has no 4xx with ErrorBody"
            );
            for (status, response) in errors {
                assert!(
                    references_error_body(response),
                    "{method} {path} {status} does not use ErrorBody"
                );
            }
            let needs_token = operation["security"].is_array();
            assert_eq!(
                responses.contains_key("401"),
                needs_token
                    || (method == "POST"
                        && ["/auth/login", "/auth/refresh"].contains(&path.as_str())),
                "{method} {path}: 401 and security disagree"
            );
        }
    }

    #[test]
    fn the_document_is_openapi_3_1_about_minifb() {
        let document = document();
        assert_eq!(document["openapi"], "3.1.0");
        assert_eq!(document["info"]["title"], "minifb");
        assert_eq!(document["info"]["version"], env!("CARGO_PKG_VERSION"));
        let schemes = &document["components"]["securitySchemes"];
        assert_eq!(schemes["user"]["scheme"], "bearer");
        assert_eq!(schemes["user"]["bearerFormat"], "JWT");
        assert_eq!(schemes["admin"]["scheme"], "bearer");
    }

    /// `(minLength, maxLength)` or `(minimum, maximum)` of a schema.
    fn bounds(schema: &Value, low: &str, high: &str) -> (Option<u64>, Option<u64>) {
        (schema[low].as_u64(), schema[high].as_u64())
    }

    /// The properties of an object schema, or of the first schema of its
    /// `allOf` (where [`at_least_one_of`] put them).
    fn properties(schema: &Value) -> &Value {
        match schema.get("allOf") {
            Some(all_of) => &all_of[0]["properties"],
            None => &schema["properties"],
        }
    }

    fn matches(pattern: &str, text: &str) -> bool {
        regex::Regex::new(pattern).unwrap().is_match(text)
    }

    #[test]
    fn the_not_blank_pattern_accepts_exactly_what_the_domain_accepts() {
        let pattern = regex::Regex::new(NOT_BLANK_PATTERN).unwrap();
        let accepts = |text: &str| PostContent::parse(text).is_ok();
        // Every character alone: white space and NUL are refused, the rest
        // is content.
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            let text = c.to_string();
            assert_eq!(pattern.is_match(&text), accepts(&text), "{c:?}");
        }
        for text in [
            " a ",
            "\u{3000}\u{a0}\t",
            "\u{85}\u{2028}x",
            "\u{200b}",
            "a\0",
            "\0a",
            " \0 ",
            " \n",
            "line\n",
            "two\nlines\n",
        ] {
            assert_eq!(pattern.is_match(text), accepts(text), "{text:?}");
        }
    }

    #[test]
    fn the_no_nul_pattern_accepts_exactly_what_passwords_accept() {
        for text in [
            "password 1",
            "          ",
            "pass\nword\t1",
            "password\0\0",
            "\0password",
        ] {
            assert_eq!(
                matches(NO_NUL_PATTERN, text),
                Password::parse(text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn the_e_mail_pattern_is_the_domain_s_whatwg_rule() {
        let cases = [
            "a@b",
            ".=*fu@0",
            "alice@example.com",
            "x!#$%&'*+/=?^_`{|}~-@a-b.c",
            "",
            "alice",
            "@example.com",
            "alice@",
            "alice@-example.com",
            "alice@example-.com",
            "alice@exa mple.com",
            "alice@example..com",
            "al ice@example.com",
            "홍@example.com",
            "a@b@c",
            "a@b\n",
            "a@b\0",
        ];
        let long_label = format!("a@{}.c", "b".repeat(64));
        for text in cases.iter().copied().chain([long_label.as_str()]) {
            assert_eq!(
                matches(EMAIL_PATTERN, text),
                Email::parse(text).is_ok(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn cursors_have_the_documented_shape() {
        for (list, key) in [("posts", 1), ("timeline:alice", 99), ("comments:14", 0)] {
            let cursor = crate::pagination::encode(list, key);
            assert!(matches(CURSOR_PATTERN, &cursor), "{cursor}");
        }
    }

    #[test]
    fn text_fields_carry_their_patterns() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        let pattern =
            |schema: &str, field: &str| match properties(&schemas[schema])[field]["pattern"]
                .as_str()
            {
                Some(pattern) => pattern.to_owned(),
                None => panic!("{schema}.{field} has no pattern"),
            };
        for (schema, field) in [
            ("PostRequest", "content"),
            ("CommentRequest", "content"),
            ("SignUpRequest", "name"),
            ("SignUpRequest", "nickname"),
            ("SignUpRequest", "bio"),
            ("UpdateMeRequest", "nickname"),
            ("UpdateMeRequest", "bio"),
        ] {
            assert_eq!(
                pattern(schema, field),
                NOT_BLANK_PATTERN,
                "{schema}.{field}"
            );
        }
        for (schema, field) in [
            ("SignUpRequest", "password"),
            ("LoginRequest", "id"),
            ("LoginRequest", "password"),
            ("RefreshRequest", "refresh_token"),
            ("UpdateMeRequest", "current_password"),
            ("ChangePasswordRequest", "current_password"),
            ("ChangePasswordRequest", "new_password"),
        ] {
            assert_eq!(pattern(schema, field), NO_NUL_PATTERN, "{schema}.{field}");
        }
        for schema in [
            "SignUpRequest",
            "UpdateMeRequest",
            "TemporaryPasswordRequest",
        ] {
            assert_eq!(pattern(schema, "email"), EMAIL_PATTERN, "{schema}");
        }
    }

    #[test]
    fn patch_me_needs_one_of_nickname_bio_or_email() {
        let document = document();
        let update = &document["components"]["schemas"]["UpdateMeRequest"];
        assert_eq!(
            update["allOf"][1]["anyOf"],
            json!([
                { "type": "object", "required": ["nickname"] },
                { "type": "object", "required": ["bio"] },
                { "type": "object", "required": ["email"] },
            ])
        );
        assert_eq!(update["allOf"][0]["additionalProperties"], false);
    }

    #[test]
    fn validation_limits_are_the_domain_s() {
        let document = document();
        let schemas = &document["components"]["schemas"];
        let length = |schema: &str, field: &str| {
            bounds(
                &properties(&schemas[schema])[field],
                "minLength",
                "maxLength",
            )
        };
        let chars = |min: usize, max: usize| (Some(min as u64), Some(max as u64));
        let user_id = chars(UserId::MIN_CHARS, UserId::MAX_CHARS);
        let password = chars(Password::MIN_CHARS, Password::MAX_CHARS);
        assert_eq!(length("SignUpRequest", "id"), user_id);
        assert_eq!(length("TemporaryPasswordRequest", "id"), user_id);
        assert_eq!(length("SignUpRequest", "password"), password);
        assert_eq!(length("ChangePasswordRequest", "new_password"), password);
        assert_eq!(
            length("SignUpRequest", "name"),
            chars(DisplayName::MIN_CHARS, DisplayName::MAX_CHARS)
        );
        for schema in ["SignUpRequest", "UpdateMeRequest"] {
            assert_eq!(
                length(schema, "nickname"),
                chars(Nickname::MIN_CHARS, Nickname::MAX_CHARS)
            );
            assert_eq!(length(schema, "bio"), chars(Bio::MIN_CHARS, Bio::MAX_CHARS));
            assert_eq!(
                length(schema, "email"),
                (None, Some(Email::MAX_CHARS as u64))
            );
        }
        assert_eq!(
            length("TemporaryPasswordRequest", "email"),
            (None, Some(Email::MAX_CHARS as u64))
        );
        assert_eq!(
            length("PostRequest", "content"),
            chars(PostContent::MIN_CHARS, PostContent::MAX_CHARS)
        );
        assert_eq!(
            length("CommentRequest", "content"),
            chars(CommentContent::MIN_CHARS, CommentContent::MAX_CHARS)
        );
        let reaction = (
            Some(ReactionKind::MIN as u64),
            Some(ReactionKind::MAX as u64),
        );
        for schema in ["ReactionRequest", "Reaction"] {
            let kind = &schemas[schema]["properties"]["type"];
            assert_eq!(bounds(kind, "minimum", "maximum"), reaction, "{schema}");
        }
        assert_eq!(
            schemas["SignUpRequest"]["properties"]["id"]["pattern"],
            USER_ID_PATTERN
        );

        let parameter = |path: &str, name: &str| {
            let parameters = document["paths"][path]["get"]["parameters"].as_array();
            match parameters.unwrap().iter().find(|p| p["name"] == name) {
                Some(parameter) => parameter.clone(),
                None => panic!("{path} has no {name}"),
            }
        };
        let id = parameter("/auth/id-availability", "id");
        assert_eq!(id["required"], true);
        assert_eq!(bounds(&id["schema"], "minLength", "maxLength"), user_id);
        for path in [
            "/posts",
            "/me/timeline",
            "/users/{id}/timeline",
            "/posts/{id}/comments",
            "/me/notifications",
        ] {
            let limit = parameter(path, "limit");
            assert_eq!(
                bounds(&limit["schema"], "minimum", "maximum"),
                (Some(1), Some(u64::from(MAX_LIMIT))),
                "{path}"
            );
            assert_eq!(limit["schema"]["default"], DEFAULT_LIMIT, "{path}");
            let cursor = parameter(path, "cursor");
            assert_eq!(cursor["schema"]["pattern"], CURSOR_PATTERN, "{path}");
        }
    }

    #[test]
    fn reaction_counts_have_the_five_keys() {
        let document = document();
        let counts = &document["components"]["schemas"]["ReactionCounts"];
        assert_eq!(counts["required"], json!(["1", "2", "3", "4", "5"]));
        assert_eq!(counts["additionalProperties"], false);
        assert_eq!(
            document["components"]["schemas"]["Post"]["properties"]["reaction_counts"]["$ref"],
            "#/components/schemas/ReactionCounts"
        );
    }

    #[test]
    fn the_choices_the_contract_leaves_open_are_written_down() {
        let document = document();
        let description = document["info"]["description"].as_str().unwrap();
        for choice in [
            "Unknown query parameters",
            "Cursors",
            "PATCH /me",
            "Temporary-password requests",
            "Refresh tokens",
            "rps",
            "by_minute",
            "(404, 405), body size (413), media type (415), token (401)",
        ] {
            assert!(description.contains(choice), "{choice}");
        }
    }
}
