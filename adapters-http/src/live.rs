//! `GET /me/notifications/stream`: the caller's notification events as
//! Server-Sent Events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use futures_util::Stream;
use minifb_application::live::{LiveError, LiveEvent, LiveStream, ReadIds, SubscribeError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::bearer;
use crate::error::{ApiError, ErrorBody};
use crate::openapi::Unavailable;
use crate::views::NotificationBody;

/// What `retry:` tells a client to wait before reconnecting.
const RECONNECT_AFTER: Duration = Duration::from_millis(3000);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(stream))
}

/// `?access_token=&last_event_id=`; any other parameter is a 400.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct StreamQuery {
    /// The access token, for clients that cannot send `Authorization`
    /// (a browser's `EventSource`). Accepted on this route only, and never
    /// logged. The header wins when both are sent.
    #[allow(dead_code)] // read leniently before this struct, see `stream`
    access_token: Option<String>,
    /// As the `Last-Event-ID` header (which wins when both are sent).
    #[param(value_type = Option<i64>, minimum = 0)]
    last_event_id: Option<String>,
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

/// `data` of an `event: read`: the ids marked read, or `"all"`.
#[derive(Serialize, ToSchema)]
#[schema(as = ReadEvent)]
struct ReadEventBody {
    #[schema(value_type = serde_json::Value, example = json!([3, 4]))]
    ids: serde_json::Value,
    unread_count: i64,
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
/// `MINIFB_MAX_STREAMS` per process (503). On shutdown the stream ends
/// first; reconnect (to another process) with `Last-Event-ID`.
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
async fn stream(State(state): State<AppState>, parts: Parts) -> Result<Response, ApiError> {
    let query = axum::extract::Query::<StreamQuery>::try_from_uri(&parts.uri);
    let token = match bearer(&parts)? {
        Some(token) => Some(token.to_owned()),
        // Read leniently here: the token (401) is checked before the rest
        // of the query (400).
        None => axum::extract::Query::<std::collections::HashMap<String, String>>::try_from_uri(
            &parts.uri,
        )
        .ok()
        .and_then(|mut all| all.0.remove("access_token")),
    };
    let token = token.ok_or_else(ApiError::missing_token)?;
    let (user, expires) = state
        .jwt
        .verify_until(&token)
        .ok_or_else(ApiError::invalid_token)?;
    let query = query.map_err(|error| ApiError::bad_request(error.body_text()))?;
    let header = parts
        .headers
        .get("last-event-id")
        .map(|value| value.to_str().unwrap_or("x").to_owned());
    let last_event_id = match header.or(query.0.last_event_id) {
        None => None,
        Some(id) => Some(
            id.trim()
                .parse::<u64>()
                .ok()
                .and_then(|id| i64::try_from(id).ok())
                .ok_or_else(|| {
                    ApiError::bad_request("Last-Event-ID must be a notification id (ASCII digits)")
                })?,
        ),
    };
    let live = state
        .live
        .open(&user, last_event_id)
        .await
        .map_err(|error| match error {
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
        })?;
    let until_expiry = Duration::from_secs(
        u64::try_from(expires.saturating_sub(Utc::now().timestamp())).unwrap_or(0),
    );
    let events = events(live, tokio::time::Instant::now() + until_expiry);
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

/// `retry:`, then the events of `live` until it ends, the token expires
/// or the client goes away. A task of its own drives `live` (whose futures
/// are not `Sync`, as a response body must be) and hands the events over.
fn events(
    mut live: LiveStream,
    expires: tokio::time::Instant,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Event>(16);
    tokio::spawn(async move {
        if sender
            .send(Event::default().retry(RECONNECT_AFTER))
            .await
            .is_err()
        {
            return;
        }
        loop {
            let next = tokio::select! {
                next = live.next() => next,
                () = tokio::time::sleep_until(expires) => {
                    let expired = Event::default().event("token_expired").data("{}");
                    sender.send(expired).await.ok();
                    return;
                }
                () = sender.closed() => return,
            };
            match next {
                Ok(Some(event)) => {
                    if sender.send(encode(event)).await.is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(%error, "notification stream ended by a database failure");
                    return;
                }
            }
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        let event = receiver.recv().await?;
        Some((Ok(event), receiver))
    })
}

fn encode(event: LiveEvent) -> Event {
    match event {
        LiveEvent::Notification {
            notification,
            unread_count,
        } => {
            let id = notification.id.get().to_string();
            let body = NotificationEventBody {
                notification: notification.into(),
                unread_count,
            };
            Event::default()
                .event("notification")
                .id(id)
                .data(serde_json::to_string(&body).unwrap_or_default())
        }
        LiveEvent::Withdrawn { id, unread_count } => {
            let body = WithdrawnEventBody {
                id: id.get(),
                unread_count,
            };
            Event::default()
                .event("withdrawn")
                .data(serde_json::to_string(&body).unwrap_or_default())
        }
        LiveEvent::Read { ids, unread_count } => {
            let ids = match ids {
                ReadIds::All => json!("all"),
                ReadIds::Some(ids) => json!(ids.iter().map(|id| id.get()).collect::<Vec<_>>()),
            };
            let body = ReadEventBody { ids, unread_count };
            Event::default()
                .event("read")
                .data(serde_json::to_string(&body).unwrap_or_default())
        }
    }
}
