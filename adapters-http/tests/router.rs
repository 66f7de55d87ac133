//! The router driven with `oneshot` over mocked ports: cross-cutting rules
//! (check order, error bodies, CORS, panics) without a database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt;
use minifb_adapters_http::{AppState, HttpConfig, JwtKeys, admin_token_digest, router};
use minifb_application::StoreError;
use minifb_application::accounts::AccountService;
use minifb_application::hashing::MockPasswordHasher;
use minifb_application::limiter::AttemptLimiter;
use minifb_application::ports::{
    AccessTokenIssuer, MockHealthCheck, MockMailer, MockRefreshTokenRepository,
    MockTemporaryPasswordRepository, MockUserRepository,
};
use minifb_application::social::SocialService;
use minifb_application::social::ports::{
    MockCommentRepository, MockNotificationRepository, MockPostRepository, MockReactionRepository,
};
use minifb_application::stats::{MockStatsRepository, RequestCounter, StatsService};
use serde_json::Value;
use tower::ServiceExt;

const ADMIN_TOKEN: &str = "router-test-admin-token-0123456789abcdef";

fn keys() -> Arc<JwtKeys> {
    Arc::new(JwtKeys::new(&[42u8; 32], Duration::from_secs(900)))
}

fn token_for(user: &str) -> String {
    keys().issue(user).unwrap().token
}

/// A router whose ports are mocks without expectations (any call fails the
/// test), except the posts repository the test arranges.
fn app_with(posts: MockPostRepository, config: &HttpConfig) -> Router {
    let jwt = keys();
    let accounts = AccountService {
        users: Arc::new(MockUserRepository::new()),
        temporary_passwords: Arc::new(MockTemporaryPasswordRepository::new()),
        refresh_tokens: Arc::new(MockRefreshTokenRepository::new()),
        hasher: Arc::new(MockPasswordHasher::new()),
        access_tokens: jwt.clone(),
        mailer: Arc::new(MockMailer::new()),
        limiter: Arc::new(AttemptLimiter::default()),
        reset_limiter: Arc::new(AttemptLimiter::default()),
    };
    let social = SocialService {
        users: Arc::new(MockUserRepository::new()),
        posts: Arc::new(posts),
        comments: Arc::new(MockCommentRepository::new()),
        reactions: Arc::new(MockReactionRepository::new()),
        notifications: Arc::new(MockNotificationRepository::new()),
    };
    let stats = StatsService {
        repository: Arc::new(MockStatsRepository::new()),
        counter: Arc::new(RequestCounter::default()),
        timezone: chrono_tz::Tz::UTC,
    };
    let state = AppState {
        accounts,
        social,
        stats,
        jwt,
        health: Arc::new(MockHealthCheck::new()),
        admin_token_digest: admin_token_digest(ADMIN_TOKEN),
    };
    router(state, config)
}

fn app(posts: MockPostRepository) -> Router {
    app_with(posts, &HttpConfig::default())
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn send(app: Router, request: Request<Body>) -> Reply {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

fn request(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri)
}

fn assert_error(reply: &Reply, status: StatusCode) -> String {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["result"], status.canonical_reason().unwrap());
    reply.body["hint"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn body_size_and_media_type_are_checked_before_the_token() {
    let big = format!("{{\"bio\": \"{}\"}}", "x".repeat(70_000));
    let too_large = request(Method::PATCH, "/me")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big))
        .unwrap();
    let not_json = request(Method::PATCH, "/me")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("bio=x"))
        .unwrap();
    let no_token = request(Method::PATCH, "/me")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"bio\": \"x\"}"))
        .unwrap();

    assert_error(
        &send(app(MockPostRepository::new()), too_large).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    );
    assert_error(
        &send(app(MockPostRepository::new()), not_json).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    assert_error(
        &send(app(MockPostRepository::new()), no_token).await,
        StatusCode::UNAUTHORIZED,
    );
}

#[tokio::test]
async fn the_token_is_checked_before_the_path() {
    let anonymous = request(Method::DELETE, "/posts/abc")
        .body(Body::empty())
        .unwrap();
    let signed_in = request(Method::DELETE, "/posts/abc")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", token_for("alice")),
        )
        .body(Body::empty())
        .unwrap();

    assert_error(
        &send(app(MockPostRepository::new()), anonymous).await,
        StatusCode::UNAUTHORIZED,
    );
    let hint = assert_error(
        &send(app(MockPostRepository::new()), signed_in).await,
        StatusCode::BAD_REQUEST,
    );
    assert!(hint.contains("post id"), "{hint}");
}

#[tokio::test]
async fn deleting_someone_elses_post_is_403_naming_method_and_path() {
    let mut posts = MockPostRepository::new();
    posts
        .expect_owner_of()
        .returning(|_| Ok(Some("bob1".into())));
    posts.expect_delete().never();
    let delete = request(Method::DELETE, "/posts/14")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", token_for("alice")),
        )
        .body(Body::empty())
        .unwrap();

    let reply = send(app(posts), delete).await;

    assert_eq!(
        assert_error(&reply, StatusCode::FORBIDDEN),
        "You have not permission for 'DELETE /posts/14'"
    );
}

#[tokio::test]
async fn a_panic_is_a_500_with_the_error_body_and_the_request_id() {
    let mut posts = MockPostRepository::new();
    posts.expect_find().returning(|_, _| panic!("a bug"));
    let get = request(Method::GET, "/posts/1")
        .header("x-request-id", "req-123")
        .body(Body::empty())
        .unwrap();

    let reply = send(app(posts), get).await;

    let hint = assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(hint.contains("req-123"), "{hint}");
    assert!(
        !hint.contains("a bug"),
        "panic messages stay in the logs: {hint}"
    );
    assert_eq!(reply.headers["x-request-id"], "req-123");
}

#[tokio::test]
async fn an_unavailable_database_is_503_with_retry_after() {
    let mut posts = MockPostRepository::new();
    posts.expect_find().returning(|_, _| {
        Err(StoreError::Unavailable(
            "timed out waiting for a database connection".into(),
        ))
    });

    let reply = send(
        app(posts),
        request(Method::GET, "/posts/1")
            .body(Body::empty())
            .unwrap(),
    )
    .await;

    assert_error(&reply, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.headers.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn other_store_failures_are_500_with_the_message_and_request_id() {
    let mut posts = MockPostRepository::new();
    posts.expect_find().returning(|_, _| {
        Err(StoreError::Other(anyhow::anyhow!(
            "database error: CheckViolation"
        )))
    });
    let get = request(Method::GET, "/posts/1")
        .header("x-request-id", "req-9")
        .body(Body::empty())
        .unwrap();

    let reply = send(app(posts), get).await;

    assert_eq!(
        assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR),
        "database error: CheckViolation (request id req-9)"
    );
}

#[tokio::test]
async fn allowed_origins_get_a_204_preflight_and_others_no_cors_headers() {
    let config = HttpConfig {
        cors_origins: vec!["https://app.example".parse().unwrap()],
    };
    let preflight = |origin: &str| {
        request(Method::OPTIONS, "/posts")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization, content-type",
            )
            .body(Body::empty())
            .unwrap()
    };

    let allowed = send(
        app_with(MockPostRepository::new(), &config),
        preflight("https://app.example"),
    )
    .await;
    let denied = send(
        app_with(MockPostRepository::new(), &config),
        preflight("https://evil.example"),
    )
    .await;

    assert_eq!(allowed.status, StatusCode::NO_CONTENT);
    assert_eq!(
        allowed.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://app.example"
    );
    let allow_headers = allowed.headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allow_headers.contains("authorization") && allow_headers.contains("content-type"));
    assert!(
        allowed.headers[header::ACCESS_CONTROL_ALLOW_METHODS]
            .to_str()
            .unwrap()
            .contains("PATCH")
    );
    assert!(
        !allowed
            .headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_CREDENTIALS)
    );
    assert_eq!(allowed.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(
        !denied
            .headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
}

#[tokio::test]
async fn without_configured_origins_no_cors_headers_are_sent() {
    let get = request(Method::GET, "/health")
        .header(header::ORIGIN, "https://app.example")
        .body(Body::empty())
        .unwrap();

    let reply = send(app(MockPostRepository::new()), get).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        !reply
            .headers
            .contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN)
    );
}

#[tokio::test]
async fn admin_routes_refuse_a_users_access_token() {
    let get = request(Method::GET, "/admin/stats/service")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", token_for("alice")),
        )
        .body(Body::empty())
        .unwrap();

    let reply = send(app(MockPostRepository::new()), get).await;

    assert_error(&reply, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn request_ids_are_kept_when_plain_and_replaced_otherwise() {
    let with_id = |id: &str| {
        request(Method::GET, "/health")
            .header("x-request-id", id)
            .body(Body::empty())
            .unwrap()
    };

    let plain = send(app(MockPostRepository::new()), with_id("abc-123_x.y")).await;
    let odd = send(
        app(MockPostRepository::new()),
        with_id("<script>alert(1)</script>"),
    )
    .await;
    let long = send(app(MockPostRepository::new()), with_id(&"a".repeat(65))).await;

    assert_eq!(plain.headers["x-request-id"], "abc-123_x.y");
    for reply in [odd, long] {
        let id = reply.headers["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 36, "a fresh UUID replaces {id}");
    }
}

#[tokio::test]
async fn a_json_array_body_is_400_not_read_as_the_object() {
    let mut posts = MockPostRepository::new();
    posts.expect_create().never();
    let post = request(Method::POST, "/posts")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", token_for("alice")),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"["hello"]"#))
        .unwrap();

    let reply = send(app(posts), post).await;

    assert_eq!(
        assert_error(&reply, StatusCode::BAD_REQUEST),
        "the request body must be a JSON object"
    );
}
