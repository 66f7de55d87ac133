//! The one fixture of the router tests: the whole router over the
//! application's test doubles (`minifb_application::testing`), driven with
//! `oneshot`, and the few helpers that send a request and read the answer.
// Each test crate that declares this module uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{AUTHORIZATION, X_CONTENT_TYPE_OPTIONS};
use axum::http::request::Builder;
use axum::http::{HeaderMap, HeaderName, Method, Request, StatusCode};
use http_body_util::BodyExt;
use minifb_adapters_http::{
    AppState, HttpConfig, JwtKeys, ServerStatsService, Shared, admin_token_digest, router,
};
use minifb_application::consistency::{MockReadReplicas, NoReplicas};
use minifb_application::ports::{AccessTokenIssuer, MockHealthCheck};
use minifb_application::stats::{MockStatsRepository, StatsService};
use minifb_application::testing::{AccountPorts, SocialPorts};
use minifb_domain::UserId;
use serde_json::Value;
use tower::ServiceExt;

/// The back-office token of every test router.
pub const ADMIN_TOKEN: &str = "router-test-admin-token-0123456789abcdef";

/// The secret access tokens are signed with.
pub const JWT_SECRET: [u8; 32] = [42; 32];

pub fn keys() -> Arc<JwtKeys> {
    Arc::new(JwtKeys::new(&JWT_SECRET, Duration::from_secs(900)))
}

pub fn user(id: &str) -> UserId {
    UserId::parse(id).unwrap()
}

/// A valid access token of `id`, as the server issues them.
pub fn token_for(id: &str) -> String {
    keys().issue(&user(id)).unwrap().token
}

/// Every port behind the router. Mocks have no expectations until a test
/// arranges some, so any call the test did not expect fails it; hashing,
/// secrets and attempt limits are the application's fakes.
#[derive(Default)]
pub struct Ports {
    pub accounts: AccountPorts,
    pub social: SocialPorts,
    pub stats: MockStatsRepository,
    pub health: MockHealthCheck,
    /// The read replicas; none unless a test arranges some.
    pub replicas: Option<MockReadReplicas>,
}

impl Ports {
    pub fn state(self) -> AppState {
        let stats = Arc::new(self.stats);
        AppState::new(Shared {
            accounts: self.accounts.into_service(),
            social: self.social.into_service(),
            stats: StatsService {
                repository: stats.clone(),
                timezone: chrono_tz::Tz::UTC,
            },
            server_stats: ServerStatsService {
                repository: stats,
                counter: Arc::default(),
            },
            live: minifb_application::live::LiveService {
                notifications: Arc::new(
                    minifb_application::live::MockLiveNotificationRepository::new(),
                ),
                feed: Arc::new(minifb_application::testing::NoFeed),
            },
            stream_keep_alive: Duration::from_secs(15),
            jwt: keys(),
            health: Arc::new(self.health),
            replicas: match self.replicas {
                Some(replicas) => Arc::new(replicas),
                None => Arc::new(NoReplicas),
            },
            admin_token_digest: admin_token_digest(ADMIN_TOKEN),
        })
    }

    /// The router with the default settings (no CORS origins).
    pub fn app(self) -> Router {
        self.app_with(&HttpConfig::default())
    }

    pub fn app_with(self, config: &HttpConfig) -> Router {
        router(self.state(), config)
    }
}

/// A router whose every port is a mock without expectations.
pub fn app() -> Router {
    Ports::default().app()
}

pub fn request(method: Method, uri: &str) -> Builder {
    Request::builder().method(method).uri(uri)
}

/// A request with `id`'s access token.
pub fn signed_in(method: Method, uri: &str, id: &str) -> Builder {
    request(method, uri).header(AUTHORIZATION, format!("Bearer {}", token_for(id)))
}

/// An answer, read whole. Every answer must carry
/// `X-Content-Type-Options: nosniff`.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Bytes,
    /// The body as JSON; `Null` when it is not JSON.
    pub body: Value,
}

impl Reply {
    pub fn content_type(&self) -> &str {
        self.headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    pub fn has(&self, header: HeaderName) -> bool {
        self.headers.contains_key(header)
    }

    /// The `hint` of an error body; empty when there is none.
    pub fn hint(&self) -> &str {
        self.body["hint"].as_str().unwrap_or_default()
    }
}

pub async fn send(app: Router, request: Request<Body>) -> Reply {
    let uri = request.uri().clone();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    assert_eq!(headers[X_CONTENT_TYPE_OPTIONS], "nosniff", "{uri}");
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        bytes,
    }
}

/// Sends a request without a body or token.
pub async fn call(app: &Router, method: Method, uri: &str) -> Reply {
    send(
        app.clone(),
        request(method, uri).body(Body::empty()).unwrap(),
    )
    .await
}

/// Sends a request without a body, with `id`'s access token.
pub async fn call_as(app: &Router, method: Method, uri: &str, id: &str) -> Reply {
    let request = signed_in(method, uri, id).body(Body::empty()).unwrap();
    send(app.clone(), request).await
}

/// Checks an error answer's status and body; returns its hint.
pub fn assert_error(reply: &Reply, status: StatusCode) -> String {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.body["result"], status.canonical_reason().unwrap());
    reply.hint().to_owned()
}
