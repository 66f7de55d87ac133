//! The built router, driven with `oneshot`: it must route every operation
//! the OpenAPI document lists, and serve the document and its page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::Router;
use axum::http::header::ALLOW;
use axum::http::{Method, StatusCode};
use minifb_application::ports::PoolStatus;
use serde_json::Value;
use support::{Ports, Reply, call};

/// A router over mocks that find nothing: unauthenticated requests stop
/// at 401, the others at a 400 or a "does not exist" 404.
fn app() -> Router {
    let mut ports = Ports::default();
    ports.accounts.users.expect_find().returning(|_| Ok(None));
    ports.social.users.expect_find().returning(|_| Ok(None));
    let posts = &mut ports.social.posts;
    posts.expect_find().returning(|_, _| Ok(None));
    posts.expect_owner_of().returning(|_| Ok(None));
    posts.expect_list().returning(|_, _| Ok(Vec::new()));
    posts.expect_list_by_owner().returning(|_, _, _| Ok(None));
    let comments = &mut ports.social.comments;
    comments.expect_list().returning(|_, _, _| Ok(None));
    ports.health.expect_database_ready().returning(|| Ok(()));
    ports
        .health
        .expect_pool_status()
        .returning(PoolStatus::default);
    ports.app()
}

/// Whether the answer is the router's own "no such route" or "no such
/// method", rather than a handler's.
fn unrouted(reply: &Reply) -> bool {
    reply.status == StatusCode::METHOD_NOT_ALLOWED
        || (reply.status == StatusCode::NOT_FOUND && reply.hint().starts_with("no route for"))
}

/// A concrete path for a documented template.
fn concrete(template: &str) -> String {
    let id = if template.starts_with("/users/") {
        "alice1"
    } else {
        "1"
    };
    template
        .replace("{id}", id)
        .replace("{file}", "swagger-ui.css")
}

#[tokio::test]
async fn every_documented_operation_is_routed() {
    let app = app();
    let document = serde_json::to_value(minifb_adapters_http::openapi()).unwrap();
    let mut checked = 0;
    for (template, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let uri = concrete(template);
            let reply = call(&app, method.clone(), &uri).await;
            assert!(
                !unrouted(&reply),
                "{method} {uri} is documented but not routed: {} {}",
                reply.status,
                String::from_utf8_lossy(&reply.bytes)
            );
            checked += 1;
        }
    }
    assert!(checked >= 35, "only {checked} operations documented");
}

#[tokio::test]
async fn the_routing_check_tells_unknown_routes_and_methods_apart() {
    let app = app();
    assert!(unrouted(&call(&app, Method::GET, "/no/such/route").await));
    assert!(unrouted(&call(&app, Method::DELETE, "/auth/login").await));
    let reply = call(&app, Method::GET, "/users/alice1").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(!unrouted(&reply));
}

#[tokio::test]
async fn routes_keep_axum_s_method_handling() {
    let app = app();
    let reply = call(&app, Method::DELETE, "/posts").await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.headers[ALLOW], "GET,HEAD,POST");
    let reply = call(&app, Method::HEAD, "/health").await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn openapi_json_is_the_generated_3_1_document() {
    let reply = call(&app(), Method::GET, "/openapi.json").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    assert_eq!(reply.body["openapi"], "3.1.0");
    assert_eq!(reply.body["info"]["title"], "minifb");
    assert_eq!(
        reply.body,
        serde_json::to_value(minifb_adapters_http::openapi()).unwrap()
    );
}

#[tokio::test]
async fn the_docs_page_and_every_file_it_loads_come_from_the_binary() {
    let app = app();
    let reply = call(&app, Method::GET, "/docs").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.content_type().starts_with("text/html"),
        "{}",
        reply.content_type()
    );
    let page = String::from_utf8(reply.bytes.to_vec()).unwrap();

    let references: Vec<&str> = page
        .split(['"', '\''])
        .filter(|part| part.starts_with("/docs/"))
        .collect();
    assert!(references.contains(&"/docs/swagger-ui-bundle.js"));
    assert!(references.contains(&"/docs/swagger-initializer.js"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "the page loads nothing from elsewhere"
    );
    for reference in references {
        let reply = call(&app, Method::GET, reference).await;
        assert_eq!(reply.status, StatusCode::OK, "{reference}");
        assert!(!reply.bytes.is_empty(), "{reference}");
    }

    let reply = call(&app, Method::GET, "/docs/swagger-initializer.js").await;
    let initializer = String::from_utf8(reply.bytes.to_vec()).unwrap();
    assert!(initializer.contains("\"/openapi.json\""), "{initializer}");
    assert!(
        initializer.contains("\"validatorUrl\": \"none\""),
        "{initializer}"
    );
}

#[tokio::test]
async fn an_unknown_docs_file_is_a_404_with_the_error_body() {
    let reply = call(&app(), Method::GET, "/docs/nope.js").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.content_type(), "application/json");
    let body: &Value = &reply.body;
    assert_eq!(body["result"], "Not Found");
    assert!(body["hint"].as_str().unwrap().contains("nope.js"));
}
