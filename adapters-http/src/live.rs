//! `GET /me/notifications/stream`: the caller's notification events as
//! Server-Sent Events.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures_util::{Stream, StreamExt};
use minifb_application::live::{LiveError, LiveEvent, LiveStream, ReadIds, SubscribeError};
use minifb_domain::{NotificationId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::bearer;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Query;
use crate::openapi::Unavailable;
use crate::views::NotificationBody;

/// What `retry:` tells a client to wait before reconnecting.
const RECONNECT_AFTER: Duration = Duration::from_millis(3000);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

/// The caller of a stream and when their access token expires. The token
/// comes from `Authorization: Bearer`, or, because a browser's
/// `EventSource` cannot set headers, from `?access_token=` (the header wins
/// when both are sent). The query is read leniently here, so that a bad
/// token is a 401 before the rest of the query can be a 400.
struct StreamAuth {
    user: UserId,
    /// Seconds since the epoch.
    expires_at: i64,
}

impl StreamAuth {
    /// When the token expires, as an instant of the runtime's clock.
    fn expiry(&self) -> tokio::time::Instant {
        let left =
            u64::try_from(self.expires_at.saturating_sub(Utc::now().timestamp())).unwrap_or(0);
        tokio::time::Instant::now() + Duration::from_secs(left)
    }
}

impl FromRequestParts<AppState> for StreamAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = match bearer(&parts.headers)? {
            Some(token) => Some(token.to_owned()),
            None => axum::extract::Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
                .ok()
                .and_then(|mut query| query.0.remove("access_token")),
        };
        let token = token.ok_or_else(ApiError::missing_token)?;
        let (user, expires_at) = state
            .jwt
            .verify_until(&token)
            .ok_or_else(ApiError::invalid_token)?;
        Ok(Self { user, expires_at })
    }
}

/// `?access_token=&last_event_id=`; any other parameter is a 400.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct StreamQuery {
    /// The access token, for clients that cannot send `Authorization`
    /// (a browser's `EventSource`). Accepted on this route only, and never
    /// logged. The header wins when both are sent.
    #[allow(dead_code)] // read by `StreamAuth`; named here to be allowed
    access_token: Option<String>,
    /// As the `Last-Event-ID` header (which wins when both are sent).
    #[param(value_type = Option<i64>, minimum = 0)]
    last_event_id: Option<String>,
}

/// Where a replay starts: the `Last-Event-ID` header, else
/// `?last_event_id=`, parsed as a path's ids are (ASCII digits of a 64-bit
/// integer: no sign, no spaces).
fn last_event_id(
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<Option<NotificationId>, ApiError> {
    let raw = match headers.get("last-event-id") {
        Some(value) => Some(value.to_str().map_err(|_| bad_last_event_id())?),
        None => query,
    };
    raw.map(|raw| raw.parse().map_err(|_| bad_last_event_id()))
        .transpose()
}

fn bad_last_event_id() -> ApiError {
    ApiError::bad_request("Last-Event-ID must be a notification id (ASCII digits)")
}

impl From<LiveError> for ApiError {
    fn from(error: LiveError) -> Self {
        match error {
            LiveError::CallerGone => ApiError::caller_gone(),
            LiveError::Subscribe(SubscribeError::TooManyForUser) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "you already have 5 open notification streams; close one first",
            )
            .with_header(
                axum::http::header::RETRY_AFTER,
                HeaderValue::from_static("3"),
            ),
            LiveError::Subscribe(SubscribeError::TooManyForProcess) => {
                ApiError::unavailable("this server holds the most notification streams it allows")
            }
            LiveError::Subscribe(SubscribeError::Closing) => {
                ApiError::unavailable("this server is shutting down")
            }
            LiveError::Subscribe(SubscribeError::Store(error)) => error.into(),
        }
    }
}

/// `data` of an `event: notification`.
#[derive(Serialize, ToSchema)]
#[schema(as = NotificationEvent)]
struct NotificationEventBody {
    notification: NotificationBody,
    unread_count: i64,
}

/// `data` of an `event: withdrawn`.
#[derive(Serialize, ToSchema)]
#[schema(as = WithdrawnEvent)]
struct WithdrawnEventBody {
    id: i64,
    unread_count: i64,
}

/// `data` of an `event: read`.
#[derive(Serialize, ToSchema)]
#[schema(as = ReadEvent)]
struct ReadEventBody {
    ids: ReadEventIds,
    unread_count: i64,
}

/// The ids marked read (`[3, 4]`), or `"all"`.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
enum ReadEventIds {
    Some(Vec<i64>),
    All(Every),
}

/// `"all"`: every unread notification.
#[derive(Debug, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Every {
    All,
}

impl From<ReadIds> for ReadEventIds {
    fn from(ids: ReadIds) -> Self {
        match ids {
            ReadIds::All => Self::All(Every::All),
            ReadIds::Some(ids) => Self::Some(ids.into_iter().map(NotificationId::get).collect()),
        }
    }
}

/// The caller's notifications, live, as Server-Sent Events.
///
/// The stream starts with `retry: 3000`, then (with `Last-Event-ID` or
/// `?last_event_id=`) replays oldest first every notification of the caller
/// with a greater id, then goes live without gap or duplicate. Events:
/// `notification` (`id:` the notification id; data `NotificationEvent`),
/// `withdrawn` (data `WithdrawnEvent`: an unread notification disappeared),
/// `read` (data `ReadEvent`), and `token_expired` (no data) when the access
/// token expires, after which the stream ends. A `: keep-alive` comment is
/// sent after 15 s without an event. At most 5 streams per user (429) and
/// `MINIFB_MAX_STREAMS` per process (503; by default half of
/// `MINIFB_MAX_CONNECTIONS`, and always below it, so streams never take
/// every connection). A stream holds its slot from the moment its answer
/// starts; a client gone while it opens holds none. `Last-Event-ID` is ASCII
/// digits, as path ids are (else 400). On shutdown the stream ends first;
/// reconnect (to another process) with `Last-Event-ID`.
#[utoipa::path(
    get, path = "/me/notifications/stream", tag = "notifications", security(("user" = [])),
    params(
        StreamQuery,
        ("Last-Event-ID" = Option<i64>, Header, description = "The id of the last `notification` event seen: newer ones are replayed first."),
    ),
    responses(
        (status = 200, description = "The event stream.", body = String, content_type = "text/event-stream"),
        (status = 400, description = "A bad `last_event_id` or an unknown query parameter.", body = ErrorBody),
        (status = 429, description = "The caller already has 5 open streams.", body = ErrorBody),
        Unavailable,
    ),
)]
async fn stream(
    State(state): State<AppState>,
    auth: StreamAuth,
    Query(query): Query<StreamQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let last_event_id = last_event_id(&headers, query.last_event_id.as_deref())?;
    let live = state.live.open(&auth.user, last_event_id).await?;
    let events = events(live, auth.expiry());
    let mut response = Sse::new(events)
        .keep_alive(
            KeepAlive::new()
                .interval(state.stream_keep_alive)
                .event(Event::default().comment("keep-alive")),
        )
        .into_response();
    // Proxies (nginx) must pass the events on as they come.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// `retry:`, then the events of `live` until it ends or the token expires.
/// The response body itself drives `live`: no task and no channel of its
/// own per stream, so an idle stream costs its body and its connection
/// only, and a client gone (its body dropped) ends it at once.
fn events(
    live: LiveStream,
    expires: tokio::time::Instant,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let retry = Event::default().retry(RECONNECT_AFTER);
    let live = futures_util::stream::unfold(Some(live), move |live| async move {
        let mut live = live?;
        let next = tokio::select! {
            next = live.next() => next,
            () = tokio::time::sleep_until(expires) => {
                let expired = Event::default().event("token_expired").data("{}");
                return Some((expired, None));
            }
        };
        let event = match next {
            Ok(Some(event)) => encode(event),
            Ok(None) => return None,
            Err(error) => {
                tracing::warn!(%error, "notification stream ended by a database failure");
                return None;
            }
        };
        match event {
            Ok(event) => Some((event, Some(live))),
            Err(error) => {
                tracing::error!(%error, "a notification event could not be encoded");
                None
            }
        }
    });
    futures_util::stream::once(std::future::ready(retry))
        .chain(live)
        .map(Ok)
}

/// One event as Server-Sent Events carry it.
fn encode(event: LiveEvent) -> Result<Event, axum::Error> {
    match event {
        LiveEvent::Notification {
            notification,
            unread_count,
        } => Event::default()
            .event("notification")
            .id(notification.id.get().to_string())
            .json_data(NotificationEventBody {
                notification: notification.into(),
                unread_count,
            }),
        LiveEvent::Withdrawn { id, unread_count } => {
            Event::default()
                .event("withdrawn")
                .json_data(WithdrawnEventBody {
                    id: id.get(),
                    unread_count,
                })
        }
        LiveEvent::Read { ids, unread_count } => {
            Event::default().event("read").json_data(ReadEventBody {
                ids: ids.into(),
                unread_count,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use minifb_application::live::LiveService;
    use minifb_application::testing::{MemoryFeed, MemoryNotifications};
    use serde_json::json;

    use super::*;

    /// The whole text of a stream of `events` that ends by itself.
    async fn sent(
        events: impl Stream<Item = Result<Event, Infallible>> + Send + 'static,
    ) -> String {
        let body = Sse::new(events).into_response().into_body();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn the_stream_sends_retry_its_events_then_token_expired_and_ends_when_the_token_expires()
    {
        let feed = Arc::new(MemoryFeed::default());
        let store = Arc::new(MemoryNotifications::new(Arc::clone(&feed)));
        let alice = UserId::parse("alice").unwrap();
        store.add_user(&alice);
        let service = LiveService {
            notifications: store.clone(),
            feed: feed.clone(),
        };
        let live = service.open(&alice, None).await.unwrap();
        let id = store.notify(&alice);
        let started = tokio::time::Instant::now();

        let text = sent(events(live, started + Duration::from_secs(60))).await;

        assert!(started.elapsed() >= Duration::from_secs(60), "{text}");
        let blocks: Vec<&str> = text.split_terminator("\n\n").collect();
        assert_eq!(blocks.len(), 3, "{text}");
        assert_eq!(blocks[0], "retry: 3000");
        assert!(
            blocks[1].starts_with(&format!("event: notification\nid: {id}\ndata: {{")),
            "{text}"
        );
        assert_eq!(blocks[2], "event: token_expired\ndata: {}");
        assert_eq!(
            service.open_streams(),
            0,
            "the ended stream gave its place back"
        );
    }

    #[test]
    fn a_read_event_names_its_ids_or_all() {
        let some = ReadIds::Some(vec![NotificationId::new(3), NotificationId::new(4)]);
        assert_eq!(
            serde_json::to_value(ReadEventIds::from(some)).unwrap(),
            json!([3, 4])
        );
        assert_eq!(
            serde_json::to_value(ReadEventIds::from(ReadIds::All)).unwrap(),
            json!("all")
        );
    }

    #[test]
    fn last_event_id_takes_ascii_digits_only_and_the_header_wins() {
        let mut headers = HeaderMap::new();
        assert_eq!(last_event_id(&headers, None).unwrap(), None);
        assert_eq!(
            last_event_id(&headers, Some("7")).unwrap(),
            Some(NotificationId::new(7))
        );
        for bad in [
            "+5",
            " 5 ",
            "-1",
            "5 5",
            "",
            "99999999999999999999",
            "\u{663}",
        ] {
            let error = last_event_id(&headers, Some(bad)).unwrap_err();
            assert_eq!(error.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        }
        headers.insert("last-event-id", HeaderValue::from_static("9"));
        assert_eq!(
            last_event_id(&headers, Some("+5")).unwrap(),
            Some(NotificationId::new(9))
        );
        headers.insert(
            "last-event-id",
            HeaderValue::from_bytes(b"\xd9\xa3").unwrap(),
        );
        assert_eq!(
            last_event_id(&headers, None).unwrap_err().status(),
            StatusCode::BAD_REQUEST
        );
    }
}
