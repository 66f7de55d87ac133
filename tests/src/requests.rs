//! Requests and their replies: every request goes through
//! [`TestApp::send`], so every [`Reply`] knows what was sent and its
//! assertions name it.

use std::fmt::Display;

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::app::TestApp;

/// An HTTP answer, read whole, and the request it answers.
#[derive(Debug)]
pub struct Reply {
    /// `METHOD /path?query`, as the contract's hints name a request.
    pub request: String,
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
    /// What else was sent (the start of the body, whether a token went
    /// along), and the case of a table the request is for.
    sent: String,
}

impl Reply {
    async fn read(request: String, sent: String, response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            request,
            status,
            headers,
            body,
            text,
            sent,
        }
    }

    /// Names the case of a table this reply is for, in every assertion
    /// message that follows.
    pub fn labelled(mut self, case: impl Display) -> Self {
        self.sent = format!("{} [{case}]", self.sent);
        self
    }

    /// The request, the start of its body, whether a token went along and
    /// the case of a table it is for: what assertion messages name.
    pub fn what_was_sent(&self) -> String {
        format!("{}{}", self.request, self.sent)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, naming the request and showing the answer.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{} answered {}",
            self.what_was_sent(),
            self.text
        );
        self
    }

    /// Asserts a 2xx status.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.is_success(),
            "{} answered {} {}",
            self.what_was_sent(),
            self.status,
            self.text
        );
        self
    }

    /// Asserts the contract's error body and returns its hint.
    #[track_caller]
    pub fn error(&self, status: u16) -> &str {
        self.assert_status(status);
        assert_eq!(
            self.body["result"],
            self.status.canonical_reason().unwrap(),
            "{} answered {}",
            self.what_was_sent(),
            self.text
        );
        self.body["hint"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: the hint is a string: {}", self.request, self.text))
    }

    /// Asserts `status`, and the contract's error body when it is one of
    /// 4xx or 5xx: for tables whose rows end either way.
    #[track_caller]
    pub fn assert_outcome(&self, status: u16) {
        if status >= 400 {
            self.error(status);
        } else {
            self.assert_status(status);
        }
    }

    /// Asserts the contract's error body with a hint that mentions `part`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, part: &str) {
        let hint = self.error(status);
        assert!(
            hint.contains(part),
            "{}: the hint does not mention {part:?}: {hint}",
            self.what_was_sent()
        );
    }

    /// Asserts the contract's 403, whose hint names the request refused.
    #[track_caller]
    pub fn assert_forbidden(&self) {
        assert_eq!(
            self.error(403),
            format!("You have not permission for '{}'", self.request),
            "{}",
            self.what_was_sent()
        );
    }

    /// Asserts a 401 that asks for a token: `WWW-Authenticate: Bearer`.
    #[track_caller]
    pub fn assert_needs_token(&self) {
        self.error(401);
        assert_eq!(
            self.header("www-authenticate"),
            Some("Bearer"),
            "{}",
            self.what_was_sent()
        );
    }

    /// Asserts a 401 that refuses the token sent:
    /// `WWW-Authenticate: Bearer error="invalid_token"`.
    #[track_caller]
    pub fn assert_invalid_token(&self) {
        self.error(401);
        assert_eq!(
            self.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\""),
            "{}",
            self.what_was_sent()
        );
    }

    /// Asserts a 200 whose `Content-Type` starts with `media_type`.
    #[track_caller]
    pub fn assert_content_type(&self, media_type: &str) {
        self.assert_status(200);
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with(media_type),
            "{}: {content_type}",
            self.request
        );
    }
}

/// The first characters of `text`, for assertion messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 160;
    if text.chars().count() <= MAX {
        return text.to_owned();
    }
    let start: String = text.chars().take(MAX).collect();
    format!("{start}… ({} bytes)", text.len())
}

impl TestApp {
    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request built by hand, for headers and bodies the other
    /// helpers do not make; the reply knows what was sent.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let (client, request) = request.build_split();
        let request = request.unwrap();
        let url = request.url().as_str();
        let label = format!(
            "{} {}",
            request.method(),
            url.strip_prefix(&self.base).unwrap_or(url)
        );
        let mut sent = String::new();
        if let Some(bytes) = request.body().and_then(reqwest::Body::as_bytes) {
            sent = format!(" {}", excerpt(&String::from_utf8_lossy(bytes)));
        }
        if !request
            .headers()
            .contains_key(reqwest::header::AUTHORIZATION)
        {
            sent.push_str(" (no token)");
        }
        Reply::read(label, sent, client.execute(request).await.unwrap()).await
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// Sends `body` as it is, labelled `content_type`: for bodies that are
    /// not JSON, or not well-formed.
    /// The `host:port` of the server, for raw sockets.
    pub fn socket_address(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: String,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// A POST without a body, as the routes that mark notifications read
    /// take none.
    pub async fn post_without_body(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::POST, path, token, None).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::DELETE, path, token, None).await
    }
}

/// How many of `replies` answered with each status.
pub fn count_statuses(replies: &[Reply]) -> std::collections::BTreeMap<u16, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for reply in replies {
        *counts.entry(reply.status.as_u16()).or_default() += 1;
    }
    counts
}
