//! The built router, driven with `oneshot`: it must route every operation
//! the OpenAPI document lists, and serve the document and its page.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header::{ALLOW, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use minifb_application::accounts::AccountService;
use minifb_application::hashing::MockPasswordHasher;
use minifb_application::ports::{
    MockAccessTokenIssuer, MockHealthCheck, MockMailer, MockRefreshTokenRepository,
    MockTemporaryPasswordRepository, MockUserRepository, PoolStatus,
};
use minifb_application::social::SocialService;
use minifb_application::social::ports::{
    MockCommentRepository, MockNotificationRepository, MockPostRepository, MockReactionRepository,
};
use minifb_application::stats::{MockStatsRepository, StatsService};
use serde_json::Value;
use tower::ServiceExt;

use crate::{AppState, HttpConfig, JwtKeys, admin_token_digest, router};

/// A router over mocks that find nothing: unauthenticated requests stop
/// at 401, the others at a 400 or a "does not exist" 404.
fn app() -> Router {
    let mut users = MockUserRepository::new();
    users.expect_find().returning(|_| Ok(None));
    let users = Arc::new(users);
    let mut posts = MockPostRepository::new();
    posts.expect_find().returning(|_, _| Ok(None));
    posts.expect_owner_of().returning(|_| Ok(None));
    posts.expect_list().returning(|_, _, _| Ok(Vec::new()));
    let mut health = MockHealthCheck::new();
    health.expect_database_ready().returning(|| Ok(()));
    health.expect_pool_status().returning(PoolStatus::default);
    let state = AppState {
        accounts: AccountService {
            users: users.clone(),
            temporary_passwords: Arc::new(MockTemporaryPasswordRepository::new()),
            refresh_tokens: Arc::new(MockRefreshTokenRepository::new()),
            hasher: Arc::new(MockPasswordHasher::new()),
            access_tokens: Arc::new(MockAccessTokenIssuer::new()),
            mailer: Arc::new(MockMailer::new()),
            limiter: Arc::default(),
            reset_limiter: Arc::default(),
        },
        social: SocialService {
            users,
            posts: Arc::new(posts),
            comments: Arc::new(MockCommentRepository::new()),
            reactions: Arc::new(MockReactionRepository::new()),
            notifications: Arc::new(MockNotificationRepository::new()),
        },
        stats: StatsService {
            repository: Arc::new(MockStatsRepository::new()),
            counter: Arc::default(),
            timezone: chrono_tz::Tz::UTC,
        },
        jwt: Arc::new(JwtKeys::new(&[7; 32], Duration::from_secs(900))),
        health: Arc::new(health),
        admin_token_digest: admin_token_digest("an admin token of at least 32 bytes"),
    };
    router(state, &HttpConfig::default())
}

async fn send(app: &Router, method: Method, uri: &str) -> (StatusCode, String, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        response.headers().get(X_CONTENT_TYPE_OPTIONS).unwrap(),
        "nosniff",
        "{uri}"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, content_type, body.to_vec())
}

/// Whether the answer is the router's own "no such route" or "no such
/// method", rather than a handler's.
fn unrouted(status: StatusCode, body: &[u8]) -> bool {
    let hint = serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|body| body["hint"].as_str().map(str::to_owned))
        .unwrap_or_default();
    status == StatusCode::METHOD_NOT_ALLOWED
        || (status == StatusCode::NOT_FOUND && hint.starts_with("no route for"))
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
    let document = serde_json::to_value(crate::openapi()).unwrap();
    let mut checked = 0;
    for (template, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap();
            let uri = concrete(template);
            let (status, _, body) = send(&app, method.clone(), &uri).await;
            assert!(
                !unrouted(status, &body),
                "{method} {uri} is documented but not routed: {status} {}",
                String::from_utf8_lossy(&body)
            );
            checked += 1;
        }
    }
    assert!(checked >= 35, "only {checked} operations documented");
}

#[tokio::test]
async fn the_routing_check_tells_unknown_routes_and_methods_apart() {
    let app = app();
    let (status, _, body) = send(&app, Method::GET, "/no/such/route").await;
    assert!(unrouted(status, &body));
    let (status, _, body) = send(&app, Method::DELETE, "/auth/login").await;
    assert!(unrouted(status, &body));
    let (status, _, body) = send(&app, Method::GET, "/users/alice1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!unrouted(status, &body));
}

#[tokio::test]
async fn routes_keep_axum_s_method_handling() {
    let app = app();
    let request = Request::delete("/posts").body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[ALLOW], "GET,HEAD,POST");
    let (status, _, _) = send(&app, Method::HEAD, "/health").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn openapi_json_is_the_generated_3_1_document() {
    let (status, content_type, body) = send(&app(), Method::GET, "/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, "application/json");
    let served: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(served["openapi"], "3.1.0");
    assert_eq!(served["info"]["title"], "minifb");
    assert_eq!(served, serde_json::to_value(crate::openapi()).unwrap());
}

#[tokio::test]
async fn the_docs_page_and_every_file_it_loads_come_from_the_binary() {
    let app = app();
    let (status, content_type, body) = send(&app, Method::GET, "/docs").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = String::from_utf8(body).unwrap();

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
        let (status, _, body) = send(&app, Method::GET, reference).await;
        assert_eq!(status, StatusCode::OK, "{reference}");
        assert!(!body.is_empty(), "{reference}");
    }

    let (_, _, initializer) = send(&app, Method::GET, "/docs/swagger-initializer.js").await;
    let initializer = String::from_utf8(initializer).unwrap();
    assert!(initializer.contains("\"/openapi.json\""), "{initializer}");
    assert!(
        initializer.contains("\"validatorUrl\": \"none\""),
        "{initializer}"
    );
}

#[tokio::test]
async fn an_unknown_docs_file_is_a_404_with_the_error_body() {
    let (status, content_type, body) = send(&app(), Method::GET, "/docs/nope.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type, "application/json");
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["result"], "Not Found");
    assert!(body["hint"].as_str().unwrap().contains("nope.js"));
}
