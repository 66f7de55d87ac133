//! The router driven with `oneshot` over mocked ports: cross-cutting rules
//! (check order, error bodies, CORS, panics) without a database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode, header};
use chrono::Utc;
use jsonwebtoken::{EncodingKey, Header};
use minifb_adapters_http::HttpConfig;
use minifb_application::StoreError;
use minifb_application::ports::{HashError, PasswordHasher, UserRecord};
use minifb_application::social::ports::CommentOwners;
use minifb_domain::{Password, PasswordHash, PostId};
use serde_json::json;
use support::{
    JWT_SECRET, Ports, Reply, app, assert_error, call, call_as, request, send, signed_in, user,
};

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

    assert_error(&send(app(), too_large).await, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(
        &send(app(), not_json).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
    );
    assert_error(&send(app(), no_token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_token_is_checked_before_the_path() {
    let anonymous = call(&app(), Method::DELETE, "/posts/abc").await;
    let signed_in = call_as(&app(), Method::DELETE, "/posts/abc", "alice").await;

    assert_error(&anonymous, StatusCode::UNAUTHORIZED);
    let hint = assert_error(&signed_in, StatusCode::BAD_REQUEST);
    assert!(hint.contains("post id"), "{hint}");
}

/// A router where every post and comment is bob's, and nothing may change:
/// the repositories' guarded writes change nothing for anyone else.
fn bobs_post_and_comment() -> Ports {
    let mut ports = Ports::default();
    let posts = &mut ports.social.posts;
    posts
        .expect_owner_of()
        .returning(|_| Ok(Some(user("bob1"))));
    posts.expect_update().returning(|_, _, _| Ok(None));
    posts.expect_delete().returning(|_, _| Ok(false));
    let comments = &mut ports.social.comments;
    comments.expect_owners().returning(|_| {
        Ok(Some(CommentOwners {
            author_id: user("bob1"),
            post_id: PostId::new(7),
            post_owner_id: user("bob1"),
        }))
    });
    comments.expect_update().returning(|_, _, _| Ok(None));
    comments.expect_delete().returning(|_, _| Ok(false));
    ports.social.callers_exist(true);
    ports
}

#[tokio::test]
async fn deleting_someone_elses_post_is_403_naming_method_and_path() {
    let app = bobs_post_and_comment().app();

    let reply = call_as(&app, Method::DELETE, "/posts/14", "alice").await;

    assert_eq!(
        assert_error(&reply, StatusCode::FORBIDDEN),
        "You have not permission for 'DELETE /posts/14'"
    );
}

#[tokio::test]
async fn every_refusal_names_the_method_and_path_of_its_request() {
    let content = json!({ "content": "mine now" }).to_string();
    for (method, uri, line) in [
        (Method::DELETE, "/posts/7", "DELETE /posts/7"),
        (Method::PATCH, "/posts/7", "PATCH /posts/7"),
        (Method::DELETE, "/comments/9?why=spam", "DELETE /comments/9"),
        (Method::PATCH, "/comments/9", "PATCH /comments/9"),
    ] {
        let body = if method == Method::PATCH {
            Body::from(content.clone())
        } else {
            Body::empty()
        };
        let request = signed_in(method, uri, "alice")
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .unwrap();

        let reply = send(bobs_post_and_comment().app(), request).await;

        assert_eq!(
            assert_error(&reply, StatusCode::FORBIDDEN),
            format!("You have not permission for '{line}'")
        );
    }
}

#[tokio::test]
async fn a_panic_is_a_500_with_the_error_body_and_the_request_id() {
    let mut ports = Ports::default();
    ports
        .social
        .posts
        .expect_find()
        .returning(|_, _| panic!("a bug"));
    let get = request(Method::GET, "/posts/1")
        .header("x-request-id", "req-123")
        .body(Body::empty())
        .unwrap();

    let reply = send(ports.app(), get).await;

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
    let mut ports = Ports::default();
    ports.social.posts.expect_find().returning(|_, _| {
        Err(StoreError::Unavailable(
            "timed out waiting for a database connection".into(),
        ))
    });

    let reply = call(&ports.app(), Method::GET, "/posts/1").await;

    assert_error(&reply, StatusCode::SERVICE_UNAVAILABLE);
    assert!(reply.has(header::RETRY_AFTER));
}

/// A router whose post lookups fail with a database error.
fn failing_store() -> Ports {
    let mut ports = Ports::default();
    ports.social.posts.expect_find().returning(|_, _| {
        Err(StoreError::Other(anyhow::anyhow!(
            "database error: CheckViolation"
        )))
    });
    ports
}

#[tokio::test]
async fn other_store_failures_are_500_with_the_message_and_request_id() {
    let get = request(Method::GET, "/posts/1")
        .header("x-request-id", "req-9")
        .body(Body::empty())
        .unwrap();

    let reply = send(failing_store().app(), get).await;

    assert_eq!(
        assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR),
        "database error: CheckViolation (request id req-9)"
    );
}

#[tokio::test]
async fn a_500_names_the_request_id_the_server_made_and_sent_back() {
    let reply = call(&failing_store().app(), Method::GET, "/posts/1").await;

    let hint = assert_error(&reply, StatusCode::INTERNAL_SERVER_ERROR);
    let id = reply.headers["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "a fresh UUID: {id}");
    assert!(hint.ends_with(&format!("(request id {id})")), "{hint}");
    assert_eq!(
        hint,
        format!("database error: CheckViolation (request id {id})")
    );
}

#[tokio::test]
async fn a_token_without_jti_is_accepted() {
    let now = Utc::now().timestamp();
    let claims = json!({ "sub": "alice", "iat": now, "exp": now + 60 });
    let token = jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(&JWT_SECRET),
    )
    .unwrap();
    let mut ports = Ports::default();
    ports.accounts.users.expect_find().returning(|id| {
        Ok(Some(UserRecord {
            id: id.clone(),
            password_hash: None,
            name: "Alice".into(),
            nickname: None,
            bio: None,
            email: None,
            created_at: Utc::now(),
        }))
    });
    let me = request(Method::GET, "/me")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();

    let reply = send(ports.app(), me).await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["id"], "alice");
}

#[tokio::test]
async fn allowed_origins_get_a_204_preflight_and_others_no_cors_headers() {
    let config = HttpConfig {
        cors_origins: vec!["https://app.example".parse().unwrap()],
        ..HttpConfig::default()
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
        Ports::default().app_with(&config),
        preflight("https://app.example"),
    )
    .await;
    let denied = send(
        Ports::default().app_with(&config),
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
    assert!(!allowed.has(header::ACCESS_CONTROL_ALLOW_CREDENTIALS));
    assert_eq!(allowed.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert!(!denied.has(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[tokio::test]
async fn an_options_request_that_is_no_preflight_is_routed_like_any_method() {
    let config = HttpConfig {
        cors_origins: vec!["https://app.example".parse().unwrap()],
        ..HttpConfig::default()
    };
    let cases = [
        (
            "no Origin, unknown path",
            "/no/such/route",
            None,
            StatusCode::NOT_FOUND,
        ),
        (
            "no Origin, known path",
            "/posts",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "Origin but no Access-Control-Request-Method",
            "/posts",
            Some("https://app.example"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (label, path, origin, status) in cases {
        let mut builder = request(Method::OPTIONS, path);
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        let reply = send(
            Ports::default().app_with(&config),
            builder.body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(reply.status, status, "{label}");
        assert_eq!(
            reply.body["result"],
            status.canonical_reason().unwrap(),
            "{label}"
        );
        if status == StatusCode::METHOD_NOT_ALLOWED {
            assert!(reply.has(header::ALLOW), "{label}");
        }
    }
}

#[tokio::test]
async fn without_configured_origins_no_cors_headers_are_sent() {
    let get = request(Method::GET, "/health")
        .header(header::ORIGIN, "https://app.example")
        .body(Body::empty())
        .unwrap();

    let reply = send(app(), get).await;

    assert_eq!(reply.status, StatusCode::OK);
    assert!(!reply.has(header::ACCESS_CONTROL_ALLOW_ORIGIN));
}

#[tokio::test]
async fn admin_routes_refuse_a_users_access_token() {
    let reply = call_as(&app(), Method::GET, "/admin/stats/service", "alice").await;

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

    let plain = send(app(), with_id("abc-123_x.y")).await;
    let odd = send(app(), with_id("<script>alert(1)</script>")).await;
    let long = send(app(), with_id(&"a".repeat(65))).await;

    assert_eq!(plain.headers["x-request-id"], "abc-123_x.y");
    for reply in [odd, long] {
        let id = reply.headers["x-request-id"].to_str().unwrap();
        assert_eq!(id.len(), 36, "a fresh UUID replaces {id}");
    }
}

#[tokio::test]
async fn a_json_array_body_is_400_not_read_as_the_object() {
    let mut ports = Ports::default();
    ports.social.posts.expect_create().never();
    let post = signed_in(Method::POST, "/posts", "alice")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"["hello"]"#))
        .unwrap();

    let reply = send(ports.app(), post).await;

    assert_eq!(
        assert_error(&reply, StatusCode::BAD_REQUEST),
        "the request body must be a JSON object"
    );
}

/// A request body whose next byte never comes.
struct SilentBody;

impl http_body::Body for SilentBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Pending
    }
}

/// A deadline short enough to pass while a test waits.
const SHORT: Duration = Duration::from_millis(50);

/// What the app answers to a `POST /posts` whose body says it has 20 bytes
/// and sends none, once `shorten` has cut one of its deadlines.
async fn answer_to_a_silent_body(shorten: impl FnOnce(&mut HttpConfig)) -> Reply {
    let mut config = HttpConfig::default();
    shorten(&mut config);
    let request = signed_in(Method::POST, "/posts", "alice")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, "20")
        .body(Body::new(SilentBody))
        .unwrap();
    send(Ports::default().app_with(&config), request).await
}

#[tokio::test]
async fn a_body_that_stalls_is_408_and_the_connection_is_closed() {
    let reply = answer_to_a_silent_body(|config| config.body_stall = SHORT).await;

    assert!(assert_error(&reply, StatusCode::REQUEST_TIMEOUT).contains("stalled"));
    assert_eq!(reply.headers[header::CONNECTION], "close");
}

#[tokio::test]
async fn a_request_over_its_deadline_is_503_with_retry_after() {
    let reply = answer_to_a_silent_body(|config| config.request_timeout = SHORT).await;

    assert!(assert_error(&reply, StatusCode::SERVICE_UNAVAILABLE).contains("not answered within"));
    assert!(reply.has(header::RETRY_AFTER));
}

#[tokio::test]
async fn a_uri_over_8_kib_is_414_and_a_header_section_over_16_kib_is_431() {
    let app = app();
    let long_path = format!("/posts/{}", "1".repeat(8 * 1024));
    let long_query = format!("/posts?cursor={}", "a".repeat(8 * 1024));
    let just_fits = format!("/no/such/{}", "a".repeat(8 * 1024 - 9));
    let big_header = "x".repeat(16 * 1024);
    let cases = [
        (request(Method::GET, &long_path), StatusCode::URI_TOO_LONG),
        (request(Method::GET, &long_query), StatusCode::URI_TOO_LONG),
        (request(Method::GET, &just_fits), StatusCode::NOT_FOUND),
        (
            request(Method::GET, "/posts").header("x-padding", &big_header),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        ),
        (
            request(Method::GET, "/no/such/route").header("x-padding", &big_header[..15 * 1024]),
            StatusCode::NOT_FOUND,
        ),
    ];
    for (builder, status) in cases {
        let reply = send(app.clone(), builder.body(Body::empty()).unwrap()).await;
        assert_error(&reply, status);
    }
}

#[tokio::test]
async fn an_authorization_header_that_is_not_text_is_an_invalid_token() {
    let bytes = axum::http::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap();
    let get = request(Method::GET, "/me")
        .header(header::AUTHORIZATION, bytes)
        .body(Body::empty())
        .unwrap();

    let reply = send(app(), get).await;

    assert_error(&reply, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.headers[header::WWW_AUTHENTICATE],
        "Bearer error=\"invalid_token\""
    );
}

#[tokio::test]
async fn a_path_that_is_not_utf_8_is_400_and_an_absolute_uri_is_routed_by_its_path() {
    let app = app();

    assert_error(
        &call(&app, Method::GET, "/docs/%FF%FE").await,
        StatusCode::BAD_REQUEST,
    );
    let absolute = call(&app, Method::GET, "http://example.com/no/such/route").await;
    assert!(assert_error(&absolute, StatusCode::NOT_FOUND).contains("/no/such/route"));
}

/// A hasher whose pool is saturated, or whose task failed.
struct BrokenHasher(fn() -> HashError);

#[async_trait::async_trait]
impl PasswordHasher for BrokenHasher {
    async fn hash(&self, _: Password) -> Result<PasswordHash, HashError> {
        Err((self.0)())
    }
    async fn verify(&self, _: String, _: PasswordHash) -> Result<bool, HashError> {
        Err((self.0)())
    }
    fn check_capacity(&self) -> Result<(), HashError> {
        Ok(())
    }
    fn is_outdated(&self, _: &PasswordHash) -> bool {
        false
    }
    fn dummy_hash(&self) -> PasswordHash {
        PasswordHash::unmatchable(1)
    }
}

#[tokio::test]
async fn a_saturated_hashing_pool_is_503_with_retry_after_and_a_failed_hash_500() {
    let body = json!({ "id": "alice", "password": "correct horse battery", "name": "Alice" });
    let cases: [(fn() -> HashError, StatusCode); 2] = [
        (|| HashError::Busy, StatusCode::SERVICE_UNAVAILABLE),
        (
            || HashError::Failed("the hashing task panicked".into()),
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
    ];
    for (error, status) in cases {
        let mut ports = Ports::default();
        ports.accounts.hasher = std::sync::Arc::new(BrokenHasher(error));
        let sign_up = request(Method::POST, "/auth/signup")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();

        let reply = send(ports.app(), sign_up).await;

        assert_error(&reply, status);
        assert_eq!(
            reply.has(header::RETRY_AFTER),
            status == StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
