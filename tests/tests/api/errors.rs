//! The error contract on routes that exist for every implementation.

use minifb_tests::TestApp;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn unknown_routes_are_404_with_the_error_body() {
    let app = TestApp::spawn().await;
    let reply = app.get("/no/such/route", None).await;
    let hint = reply.error(404);
    assert!(hint.contains("/no/such/route"), "{hint}");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = TestApp::spawn().await;
    let reply = app.delete("/auth/signup", None).await;
    reply.error(405);
    assert!(reply.header("allow").unwrap().contains("POST"));
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_before_anything_else() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(65 * 1024);
    let reply = app.post("/auth/signup", None, json!({ "id": big })).await;
    reply.error(413);
    // Even before the token is checked.
    let reply = app
        .patch("/me", Some("not-a-token"), json!({ "bio": big }))
        .await;
    reply.error(413);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_before_the_token() {
    let app = TestApp::spawn().await;
    let reply = app
        .client
        .patch(format!("{}/me", app.base))
        .header("content-type", "text/plain")
        .body("bio=hello")
        .send()
        .await
        .unwrap();
    minifb_tests::read(reply).await.error(415);
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::spawn().await;
    let reply = app
        .client
        .post(format!("{}/auth/login", app.base))
        .header("content-type", "application/json")
        .body("{\"id\": ")
        .send()
        .await
        .unwrap();
    minifb_tests::read(reply).await.error(400);
}

#[tokio::test]
async fn a_missing_token_is_401_with_a_bearer_challenge() {
    let app = TestApp::spawn().await;
    let reply = app.get("/me", None).await;
    reply.error(401);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
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
        reply.error(401);
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\""),
            "{token}"
        );
    }
}

#[tokio::test]
async fn every_response_says_nosniff_and_echoes_the_request_id() {
    let app = TestApp::spawn().await;
    let reply = app
        .client
        .get(format!("{}/health", app.base))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    let reply = minifb_tests::read(reply).await;
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("x-request-id"), Some("trace-me-42"));
    let reply = app.request(Method::GET, "/nowhere", None, None).await;
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert!(reply.header("x-request-id").is_some());
}
