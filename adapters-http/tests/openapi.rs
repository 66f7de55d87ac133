//! The OpenAPI document checked against the contract's route tables and
//! the domain's rules: every route with its auth, error answers in the
//! error body, and each field's limits and patterns the domain's own.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use minifb_adapters_http::{
    CURSOR_PATTERN, DEFAULT_LIMIT, EMAIL_PATTERN, MAX_LIMIT, NO_NUL_PATTERN, NOT_BLANK_PATTERN,
    USER_ID_PATTERN,
};
use minifb_domain::{
    Bio, CommentContent, DisplayName, Email, Nickname, Password, PostContent, ReactionKind, UserId,
};
use serde_json::{Value, json};

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
    serde_json::to_value(minifb_adapters_http::openapi()).unwrap()
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
    response["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/ErrorBody"
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
            errors.iter().any(
                |(status, response)| status.starts_with('4') && references_error_body(response)
            ),
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
                || (method == "POST" && ["/auth/login", "/auth/refresh"].contains(&path.as_str())),
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
/// `allOf` (where the crate's `openapi::at_least_one_of` put them).
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
fn text_fields_carry_their_patterns() {
    let document = document();
    let schemas = &document["components"]["schemas"];
    let pattern =
        |schema: &str, field: &str| match properties(&schemas[schema])[field]["pattern"].as_str() {
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
