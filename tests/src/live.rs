//! Live notifications: a `text/event-stream` answer read event by event.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::app::TestApp;
use crate::users::User;

/// One Server-Sent Event as a client sees it (a comment-only block has
/// only `comments`).
#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
    pub retry: Option<String>,
    pub comments: Vec<String>,
}

impl SseEvent {
    /// `data` as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|_| panic!("data is JSON: {self:?}"))
    }
}

/// An open `text/event-stream` response, read event by event.
pub struct EventStream {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
    /// Everything read so far, for assertion messages.
    pub seen: String,
}

impl EventStream {
    /// The next block (event or comment); `None` when the stream ended.
    /// Fails the test if nothing arrives within `limit`.
    pub async fn next_within(&mut self, limit: Duration) -> Option<SseEvent> {
        use futures::StreamExt;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                for line in block.lines().filter(|line| !line.is_empty()) {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
                    match field {
                        "" => event.comments.push(value),
                        "event" => event.event = Some(value),
                        "id" => event.id = Some(value),
                        "retry" => event.retry = Some(value),
                        "data" => {
                            if !event.data.is_empty() {
                                event.data.push('\n');
                            }
                            event.data.push_str(&value);
                        }
                        other => panic!("unknown SSE field {other:?} in {block:?}"),
                    }
                }
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no event within {limit:?}; the stream so far: {:?}",
                        self.seen
                    )
                });
            match chunk {
                Some(Ok(bytes)) => {
                    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
                    self.seen.push_str(&text);
                    self.buffer.push_str(&text);
                }
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next event that is not a keep-alive comment, within 5 s.
    pub async fn next_event(&mut self) -> SseEvent {
        loop {
            let event = self
                .next_within(Duration::from_secs(5))
                .await
                .unwrap_or_else(|| panic!("the stream ended; it said: {:?}", self.seen));
            if event.event.is_some() || !event.data.is_empty() || event.retry.is_some() {
                return event;
            }
        }
    }

    /// The next event, which must be `kind`; its data as JSON.
    pub async fn expect(&mut self, kind: &str) -> (Option<String>, Value) {
        let event = self.next_event().await;
        assert_eq!(event.event.as_deref(), Some(kind), "{event:?}");
        (event.id.clone(), event.json())
    }
}

/// Live notifications.
impl TestApp {
    /// Opens `GET /me/notifications/stream` (path and query as given) with
    /// these headers; the answer's status tells whether it opened.
    pub async fn open_stream(&self, path_and_query: &str, headers: &[(&str, &str)]) -> EventStream {
        let mut request = self.client.get(self.url(path_and_query));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        EventStream {
            status: response.status(),
            headers: response.headers().clone(),
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
            seen: String::new(),
        }
    }

    /// The user's stream, opened (200) and past its `retry:` line.
    pub async fn stream_of(&self, user: &User, last_event_id: Option<i64>) -> EventStream {
        let bearer = format!("Bearer {}", user.token);
        let last = last_event_id.map(|id| id.to_string());
        let mut headers = vec![("authorization", bearer.as_str())];
        if let Some(last) = &last {
            headers.push(("last-event-id", last.as_str()));
        }
        let mut stream = self.open_stream("/me/notifications/stream", &headers).await;
        assert_eq!(stream.status, 200, "the stream opens");
        let first = stream.next_event().await;
        assert_eq!(
            first.retry.as_deref(),
            Some("3000"),
            "the stream starts with retry: {first:?}"
        );
        stream
    }
}
