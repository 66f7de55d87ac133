//! The error contract on routes that exist for every implementation.

use minifb_tests::{MALFORMED_IDS, NEVER_AN_ID, TestApp, item_ids, no_reactions};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn unknown_routes_are_404_with_the_error_body() {
    let app = TestApp::spawn().await;
    let reply = app.get("/no/such/route", None).await;
    reply.assert_error(404, "/no/such/route");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let reply = app.delete("/auth/signup", None).await;
    reply.error(405);
    assert!(reply.header("allow").unwrap().contains("POST"));
}

/// Each row a body that cannot be read, refused before anything else,
/// a bad token included: too large (413), not JSON (415), not well-formed
/// JSON (400).
#[tokio::test]
async fn a_body_too_large_not_json_or_malformed_is_refused_before_anything_else() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(65 * 1024);
    let (json, text) = ("application/json", "text/plain");
    let cases = [
        (
            "over 64 KiB",
            Method::POST,
            "/auth/signup",
            None,
            json,
            json!({ "id": big }).to_string(),
            413,
        ),
        (
            "over 64 KiB, with a bad token",
            Method::PATCH,
            "/me",
            Some("not-a-token"),
            json,
            json!({ "bio": big }).to_string(),
            413,
        ),
        (
            "not JSON, without a token",
            Method::PATCH,
            "/me",
            None,
            text,
            "bio=hello".to_owned(),
            415,
        ),
        (
            "malformed JSON",
            Method::POST,
            "/auth/login",
            None,
            json,
            "{\"id\": ".to_owned(),
            400,
        ),
    ];

    for (label, method, path, token, content_type, body, status) in cases {
        let reply = app.send_raw(method, path, token, content_type, body).await;

        reply.labelled(label).error(status);
    }
}

/// Each row a route that takes an id in its path: an id that is not ASCII
/// digits of a 64-bit integer is 400 there, and one that is nobody's 404,
/// naming it.
#[tokio::test]
async fn ids_in_paths_must_be_ascii_digits_of_a_64_bit_integer_and_unknown_ones_are_404() {
    let (app, alice) = TestApp::with_user("paths").await;
    let token = alice.bearer();
    let content = || Some(json!({ "content": "edited" }));
    let reaction = || Some(json!({ "type": 1 }));
    let routes = [
        (Method::GET, "/posts/", "", None, None),
        (Method::GET, "/posts/", "", token, None),
        (Method::PATCH, "/posts/", "", token, content()),
        (Method::DELETE, "/posts/", "", token, None),
        (Method::GET, "/posts/", "/comments", None, None),
        (Method::POST, "/posts/", "/comments", token, content()),
        (Method::PATCH, "/comments/", "", token, content()),
        (Method::DELETE, "/comments/", "", token, None),
        (Method::PUT, "/posts/", "/reaction", token, reaction()),
        (Method::DELETE, "/posts/", "/reaction", token, None),
        (Method::PUT, "/comments/", "/reaction", token, reaction()),
        (Method::DELETE, "/comments/", "/reaction", token, None),
        (Method::POST, "/me/notifications/", "/read", token, None),
    ];
    let malformed = MALFORMED_IDS.into_iter().chain(["1.5", "0x10", "%D9%A1"]);

    for (method, before, after, token, body) in routes {
        for id in malformed.clone() {
            let path = format!("{before}{id}{after}");

            let reply = app
                .request(method.clone(), &path, token, body.clone())
                .await;

            reply.error(400);
        }
        let path = format!("{before}{NEVER_AN_ID}{after}");
        let reply = app.request(method, &path, token, body).await;
        reply.assert_error(404, NEVER_AN_ID);
    }
}

/// Each row a route that needs a token, called without one. None of them
/// changes anything: Alice's post keeps no comment and no reaction, and
/// her timeline holds that post alone.
#[tokio::test]
async fn a_missing_token_is_401_with_a_bearer_challenge_and_changes_nothing() {
    let (app, alice, _, post_id) = TestApp::with_alices_post_and_bob().await;
    let cases = [
        ("reading me", Method::GET, "/me".to_owned(), None),
        ("my timeline", Method::GET, "/me/timeline".to_owned(), None),
        (
            "posting",
            Method::POST,
            "/posts".to_owned(),
            Some(json!({ "content": "hello" })),
        ),
        (
            "commenting",
            Method::POST,
            format!("/posts/{post_id}/comments"),
            Some(json!({ "content": "anonymous" })),
        ),
        (
            "reacting",
            Method::PUT,
            format!("/posts/{post_id}/reaction"),
            Some(json!({ "type": 1 })),
        ),
    ];

    for (label, method, path, body) in cases {
        let reply = app.request(method, &path, None, body).await;

        reply.labelled(label).assert_needs_token();
    }
    let post = app.read_post(post_id, None).await;
    assert_eq!(post["comment_count"], 0, "{post}");
    assert_eq!(post["reaction_counts"], no_reactions(), "{post}");
    let timeline = app.get("/me/timeline", alice.bearer()).await;
    assert_eq!(item_ids(&timeline.body), [post_id]);
}

#[tokio::test]
async fn a_bad_token_is_401_invalid_token() {
    let app = TestApp::spawn().await;
    for token in [
        "garbage",
        // alg none
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJhbGljZSIsImlhdCI6MSwiZXhwIjo5OTk5OTk5OTk5fQ.",
        // HS256, signed with another key
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MSwiZXhwIjo5OTk5OTk5OTk5fQ.0n3ZKaZ1ijdrGxp3wbrwPf1gXBqL3y3UE6Vb2UAPYuk",
    ] {
        let reply = app.get("/me", Some(token)).await;
        reply.labelled(token).assert_invalid_token();
    }
}

#[tokio::test]
async fn every_response_says_nosniff_and_echoes_the_request_id() {
    let app = TestApp::spawn().await;
    let health = app.client.get(app.url("/health"));
    let reply = app.send(health.header("x-request-id", "trace-me-42")).await;
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("x-request-id"), Some("trace-me-42"));
    let reply = app.get("/nowhere", None).await;
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert!(reply.header("x-request-id").is_some());
}
