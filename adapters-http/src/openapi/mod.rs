//! The OpenAPI document's shared pieces.
//!
//! Each route is documented next to its handler with `#[utoipa::path]` and
//! registered with `utoipa_axum::routes!`, which adds the handler to the
//! router and its operation to the document in one call, so the two cannot
//! list different routes. This module holds what the operations share: the
//! info and security schemes ([`base`]), the answers several operations give
//! ([`answers`]), the field schemas built from the domain's own limits
//! ([`fields`]), and [`complete`], which adds the error answers that follow
//! from the router's layers rather than from any one handler.

mod answers;
mod fields;

use utoipa::Modify;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{HeaderBuilder, OpenApi, RefOr};

pub use answers::*;
pub use fields::*;

use crate::error::ErrorBody;

/// The document before any route is added: info, the contract's general
/// rules, the two security schemes and the error body.
pub fn base() -> OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(
        info(
            title = "minifb",
            version = env!("CARGO_PKG_VERSION"),
            description = include_str!("../../assets/openapi.md"),
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
