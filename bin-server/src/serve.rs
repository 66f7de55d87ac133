//! The accept loop: HTTP/1.1 connections with a cap on how many are open,
//! deadlines for slow and idle clients, and graceful shutdown.
//!
//! `axum::serve` keeps a connection as long as its client wants, so a flood
//! of sockets that never finish a request (or sit idle between requests)
//! would exhaust the file descriptors and lock real clients out. Here every
//! connection has a watchdog:
//!
//! - a request head must arrive whole within [`ConnectionLimits::head`] of
//!   the connection opening, or of the first byte of a later request; if not
//!   the client gets `408 Request Timeout` with the error body and the
//!   connection is closed;
//! - a connection idle between requests is closed after
//!   [`ConnectionLimits::idle`];
//! - at most [`ConnectionLimits::max_connections`] are open; the next is
//!   accepted when one closes (the kernel's backlog holds it meanwhile).
//!
//! A stalled request body and the per-request deadline are the router's
//! business (`adapters-http`), since they answer in the middle of a request.
//!
//! A head the HTTP parser cannot read (bytes HTTP does not allow, a URI over
//! its 64 KiB, a head over [`MAX_PARSED_HEAD`]) never reaches the router:
//! hyper answers it itself, with an empty body and no way to change it. The
//! socket wrapper recognises that answer (a 4xx with `content-length: 0`,
//! which the router never sends, since every error of ours has a body) and
//! sends the same status with the contract's error body instead.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use minifb_adapters_http::ErrorBody;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower::ServiceExt;

/// How many connections and how long each may wait.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// For a whole request head.
    pub head: Duration,
    /// Between requests on a kept-alive connection.
    pub idle: Duration,
}

impl ConnectionLimits {
    /// The contract's numbers: 10 s for a head, 60 s idle.
    pub fn new(max_connections: usize) -> Self {
        Self {
            max_connections,
            head: Duration::from_secs(10),
            idle: Duration::from_secs(60),
        }
    }
}

/// The largest request head the HTTP parser buffers. Heads over the
/// contract's limits (8 KiB of URI, 16 KiB of headers) but under this one
/// reach the router, which answers 414 or 431 with the error body; larger
/// ones get the parser's own empty 431.
const MAX_PARSED_HEAD: usize = 256 * 1024;

/// The contract's error body (the router's own [`ErrorBody`]) in a whole
/// HTTP/1.1 answer that closes the connection, for the answers written here
/// rather than by the router.
fn error_answer(status: hyper::StatusCode, hint: &str) -> Vec<u8> {
    let body = serde_json::to_string(&ErrorBody::new(status, hint)).unwrap_or_default();
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The longest head the parser writes for its own answers (a status line,
/// `content-length`, `connection` and `date`).
const PARSER_HEAD_MAX: usize = 256;

/// The contract's answer in place of the parser's own empty one, when
/// `written` is such an answer.
fn replace_parser_answer(written: &[u8]) -> Option<Vec<u8>> {
    // Every write of every answer passes here: only a 4xx head is looked
    // at, and only as far as the parser's own short head can reach.
    if !written.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let head = &written[..written.len().min(PARSER_HEAD_MAX)];
    let head_end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&written[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.strip_prefix("HTTP/1.1 ")?.get(..3)?;
    let status = hyper::StatusCode::from_bytes(status.as_bytes()).ok()?;
    let empty = lines.any(|line| line.eq_ignore_ascii_case("content-length: 0"));
    if !status.is_client_error() || !empty {
        return None;
    }
    let hint = match status {
        hyper::StatusCode::URI_TOO_LONG => "the URI is longer than 8 KiB",
        hyper::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => {
            "the request head is too large: the URI may be at most 8 KiB and the header \
             section 16 KiB"
        }
        _ => {
            "the request head is malformed: a byte HTTP does not allow (such as a NUL or a \
             bare CR), an obsolete folded header, or a broken request line"
        }
    };
    Some(error_answer(status, hint))
}

/// What the client sees when its head did not arrive in time.
fn head_timeout_answer() -> Vec<u8> {
    error_answer(
        hyper::StatusCode::REQUEST_TIMEOUT,
        "the request head did not arrive within 10 seconds",
    )
}

/// Serves `router` on `listener` until `shutdown` completes, then lets every
/// request in flight finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, or a connection reset before it
                // was accepted: wait a little rather than spin.
                tracing::warn!(%error, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        stream.set_nodelay(true).ok();
        let connection = Connection::new(stream, peer, limits);
        let served = connection.serve(router.clone(), graceful.watcher(), slot);
        tokio::spawn(served);
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Where a connection is between requests, as its watchdog sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request head since `since` (connection opened, or the
    /// first byte of a later head arrived).
    Head,
    /// A request is being handled or its answer sent.
    Busy,
    /// Kept alive, no byte of a next request yet, since `since`.
    Idle,
}

/// The state a connection's watchdog watches, changed by its IO and its
/// requests.
struct Watch {
    in_flight: AtomicUsize,
    phase: Mutex<(Phase, Instant)>,
    changed: Notify,
}

impl Watch {
    fn new() -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            phase: Mutex::new((Phase::Head, Instant::now())),
            changed: Notify::new(),
        }
    }

    fn set(&self, phase: Phase) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner()) = (phase, Instant::now());
        self.changed.notify_one();
    }

    fn get(&self) -> (Phase, Instant) {
        *self.phase.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bytes arrived: between requests they start a head.
    fn read_some(&self) {
        if self.in_flight.load(Ordering::Acquire) == 0 {
            let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
            if phase.0 == Phase::Idle {
                *phase = (Phase::Head, Instant::now());
                self.changed.notify_one();
            }
        }
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.set(Phase::Busy);
    }

    fn request_finished(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.set(Phase::Idle);
        }
    }
}

/// Why a watchdog ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expired {
    Head,
    Idle,
}

/// Completes when the connection has been in one phase too long.
async fn watchdog(watch: Arc<Watch>, limits: ConnectionLimits) -> Expired {
    loop {
        let (phase, since) = watch.get();
        let (limit, expired) = match phase {
            Phase::Busy => {
                watch.changed.notified().await;
                continue;
            }
            Phase::Head => (limits.head, Expired::Head),
            Phase::Idle => (limits.idle, Expired::Idle),
        };
        tokio::select! {
            () = tokio::time::sleep_until(since + limit) => {
                if watch.get() == (phase, since) {
                    return expired;
                }
            }
            () = watch.changed.notified() => {}
        }
    }
}

/// One accepted connection.
struct Connection {
    stream: Arc<TcpStream>,
    peer: SocketAddr,
    watch: Arc<Watch>,
    limits: ConnectionLimits,
}

impl Connection {
    fn new(stream: TcpStream, peer: SocketAddr, limits: ConnectionLimits) -> Self {
        Self {
            stream: Arc::new(stream),
            peer,
            watch: Arc::new(Watch::new()),
            limits,
        }
    }

    /// Serves requests until the client closes, a deadline passes or the
    /// server shuts down; then gives back its `slot`.
    ///
    /// The future is the connection's task, held for as long as the
    /// connection is open (for hours by a notification stream), so its
    /// parts are built in place inside it: a future that captured the
    /// parser's connection and then awaited it would hold it twice.
    fn serve(
        self,
        router: Router,
        graceful: Watcher,
        slot: OwnedSemaphorePermit,
    ) -> impl Future<Output = ()> + use<> {
        let Self {
            stream,
            peer,
            watch,
            limits,
        } = self;
        async move {
            let service = {
                let watch = Arc::clone(&watch);
                hyper::service::service_fn(move |mut request: Request<Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    let guard = InFlight::start(Arc::clone(&watch));
                    let router = router.clone();
                    async move {
                        let response = router.oneshot(request).await?;
                        Ok::<_, std::convert::Infallible>(response.map(|body| {
                            Body::new(GuardedBody {
                                body,
                                _guard: guard,
                            })
                        }))
                    }
                })
            };
            // In a scope of its own, so that the parser's connection (and
            // its share of the socket) is gone before a 408 is written.
            let expired = {
                let connection = std::pin::pin!(
                    graceful.watch(
                        hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            // The watchdog keeps the head and idle deadlines;
                            // hyper's own head timeout (30 s from the end of
                            // the last answer) would close idle connections
                            // before the contract's 60 s.
                            .header_read_timeout(None)
                            .max_buf_size(MAX_PARSED_HEAD)
                            .serve_connection(
                                TokioIo::new(WatchedStream {
                                    stream: Arc::clone(&stream),
                                    watch: Arc::clone(&watch),
                                    replacing: None,
                                }),
                                service,
                            )
                    )
                );
                tokio::select! {
                    result = connection => {
                        if let Err(error) = result {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                        None
                    }
                    expired = watchdog(Arc::clone(&watch), limits) => Some(expired),
                }
            };
            if expired == Some(Expired::Head) {
                answer_head_timeout(stream).await;
            }
            drop(slot);
        }
    }
}

/// Writes the 408, then closes gently: half-close, and read what the client
/// still sends for a moment, so that the answer is not lost to a reset.
async fn answer_head_timeout(stream: Arc<TcpStream>) {
    let Ok(mut stream) = Arc::try_unwrap(stream) else {
        return;
    };
    let closing = async {
        stream.write_all(&head_timeout_answer()).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 1024];
        loop {
            stream.readable().await?;
            match stream.try_read(&mut sink) {
                Ok(0) => return Ok::<_, io::Error>(()),
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(1), closing)
        .await
        .ok();
}

/// Counts a request as in flight until its answer has been sent (or
/// dropped), so that a long answer is never mistaken for an idle connection.
struct InFlight(Arc<Watch>);

impl InFlight {
    fn start(watch: Arc<Watch>) -> Self {
        watch.request_started();
        Self(watch)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_finished();
    }
}

/// A response body that keeps its request in flight until it is done.
struct GuardedBody {
    body: Body,
    _guard: InFlight,
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket as the HTTP parser reads it, telling the watchdog when bytes
/// arrive. It shares the socket, so that the watchdog can still answer 408
/// after the parser is gone.
struct WatchedStream {
    stream: Arc<TcpStream>,
    watch: Arc<Watch>,
    /// The contract's answer being written in place of the parser's own,
    /// and how many bytes of it are out.
    replacing: Option<(Vec<u8>, usize)>,
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            std::task::ready!(self.stream.poll_read_ready(cx))?;
            // Into the parser's buffer as it is, not zeroed first: the
            // kernel writes only what arrived, so the pages of a
            // connection's read buffer that no request reached are never
            // touched and cost no memory.
            match self.stream.try_read_buf(buf) {
                Ok(read) => {
                    if read > 0 {
                        self.watch.read_some();
                    }
                    return Poll::Ready(Ok(()));
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.replacing.is_none() {
            this.replacing = replace_parser_answer(buf).map(|answer| (answer, 0));
        }
        if let Some((answer, written)) = &mut this.replacing {
            // The parser is told its answer went out once ours has.
            while *written < answer.len() {
                std::task::ready!(this.stream.poll_write_ready(cx))?;
                match this.stream.try_write(&answer[*written..]) {
                    Ok(n) => *written += n,
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(error) => return Poll::Ready(Err(error)),
                }
            }
            return Poll::Ready(Ok(buf.len()));
        }
        loop {
            std::task::ready!(this.stream.poll_write_ready(cx))?;
            match this.stream.try_write(buf) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                result => return Poll::Ready(result),
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// The socket closes when its last holder drops it.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Status line, headers and the parsed JSON body of an answer.
    fn parse(answer: &[u8]) -> (String, serde_json::Value) {
        let answer = std::str::from_utf8(answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(
            head.contains(&format!("content-length: {}", body.len())),
            "{head}"
        );
        assert!(head.contains("connection: close"), "{head}");
        assert!(body.starts_with("{\"result\":"), "{body}");
        (head.to_owned(), serde_json::from_str(body).unwrap())
    }

    #[test]
    fn the_head_timeout_answer_is_well_formed() {
        let (head, body) = parse(&head_timeout_answer());
        assert!(head.starts_with("HTTP/1.1 408 Request Timeout"), "{head}");
        assert_eq!(body["result"], "Request Timeout");
    }

    #[test]
    fn the_parsers_empty_answers_get_the_error_body() {
        let parser = |status: &str| {
            format!(
                "HTTP/1.1 {status}\r\ncontent-length: 0\r\ndate: Sun, 06 Dec 2026 18:00:00 GMT\r\n\r\n"
            )
        };
        let cases = [
            ("400 Bad Request", "Bad Request", "malformed"),
            ("414 URI Too Long", "URI Too Long", "8 KiB"),
            (
                "431 Request Header Fields Too Large",
                "Request Header Fields Too Large",
                "16 KiB",
            ),
        ];
        for (status, result, hint) in cases {
            let answer = replace_parser_answer(parser(status).as_bytes()).unwrap();
            let (head, body) = parse(&answer);
            assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{head}");
            assert_eq!(body["result"], result);
            assert!(body["hint"].as_str().unwrap().contains(hint), "{body}");
        }
    }

    #[test]
    fn answers_of_the_router_are_left_alone() {
        let untouched = [
            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 40\r\n\r\n{}",
            "HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            "{\"result\":\"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n\"}",
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
            "",
        ];
        for written in untouched {
            assert_eq!(
                replace_parser_answer(written.as_bytes()),
                None,
                "{written:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_ends_a_late_head_and_an_idle_connection_but_never_a_busy_one() {
        let limits = ConnectionLimits::new(1);
        let watch = Arc::new(Watch::new());
        assert_eq!(
            watchdog(Arc::clone(&watch), limits).await,
            Expired::Head,
            "no head within 10 s"
        );

        watch.request_started();
        let busy = tokio::time::timeout(
            Duration::from_secs(600),
            watchdog(Arc::clone(&watch), limits),
        )
        .await;
        assert!(busy.is_err(), "a request in flight has no deadline here");

        watch.request_finished();
        let started = Instant::now();
        assert_eq!(watchdog(Arc::clone(&watch), limits).await, Expired::Idle);
        assert_eq!(started.elapsed(), Duration::from_secs(60));

        watch.set(Phase::Idle);
        watch.read_some();
        assert_eq!(
            watchdog(Arc::clone(&watch), limits).await,
            Expired::Head,
            "the first byte of a next request starts its head deadline"
        );
    }
}
