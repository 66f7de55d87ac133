//! Live notification streams of the real `minifb-server` binary when the
//! database restarts under them, when the process is told to stop, and in
//! its log.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use serde_json::{Value, json};
use support::{Cluster, Server, finish_half_post, half_a_post, number};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A `GET /me/notifications/stream` read off a raw socket, so that the test
/// sees exactly what the process sends and when the stream ends.
struct LiveStream {
    socket: TcpStream,
    received: String,
}

impl LiveStream {
    /// Opens `path` (the stream route, perhaps with a query) with `headers`
    /// and reads the answer up to the stream's `retry:` line.
    async fn open(server: &Server, path: &str, headers: &str) -> Self {
        let mut socket = TcpStream::connect(server.address()).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: {}\r\naccept: text/event-stream\r\n{headers}\r\n",
            server.address()
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut stream = Self {
            socket,
            received: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !stream.received.contains("retry:") {
            assert!(
                stream.read_until(deadline).await,
                "the stream closed: {}",
                stream.received
            );
        }
        assert!(
            stream.received.starts_with("HTTP/1.1 200 "),
            "{}",
            stream.received
        );
        stream
    }

    /// Reads what arrives before `deadline`; false at the end of the stream.
    async fn read_until(&mut self, deadline: Instant) -> bool {
        let mut buffer = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.socket.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => false,
            Ok(Ok(n)) => {
                self.received
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
                true
            }
            Err(_) => panic!("nothing more arrived in time: {}", self.received),
        }
    }

    /// The `data` of the next `event: notification`, within `limit`.
    async fn notification(&mut self, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(start) = self.received.find("event: notification\n") {
                let frame = &self.received[start..];
                if let Some(data) = frame.find("data: ")
                    && let Some(end) = frame[data..].find('\n')
                {
                    let value = serde_json::from_str(&frame[data + 6..data + end]).unwrap();
                    self.received = frame[data + end..].to_owned();
                    return value;
                }
            }
            assert!(self.read_until(deadline).await, "the stream ended");
        }
    }

    /// How long until the process ends the stream (the chunked body's last
    /// chunk, then the connection closes), at most `limit`.
    async fn ends_within(&mut self, limit: Duration) -> Duration {
        let started = Instant::now();
        while self.read_until(started + limit).await {}
        assert!(
            self.received.ends_with("0\r\n\r\n"),
            "the stream was cut rather than ended: {:?}",
            self.received
        );
        started.elapsed()
    }
}

impl Server {
    /// `author` posts; the post's id.
    async fn post(&self, author: &str) -> i64 {
        let body = json!({ "content": "comment on this" });
        let (status, post, _) = self
            .send(reqwest::Method::POST, "/posts", Some(author), Some(body))
            .await
            .unwrap();
        assert_eq!(status, 201, "{post}");
        post["id"].as_i64().unwrap()
    }

    /// `commenter` comments on `post`, retrying 503s (a database on its way
    /// back) for up to 30 s: the comment's id.
    async fn comment(&self, commenter: &str, post: i64) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let body = json!({ "content": "a comment" });
            let path = format!("/posts/{post}/comments");
            let (status, comment, _) = self
                .send(reqwest::Method::POST, &path, Some(commenter), Some(body))
                .await
                .unwrap();
            if status == 201 {
                return comment["id"].as_i64().unwrap();
            }
            assert!(
                status == 503 && Instant::now() < deadline,
                "{status} {comment}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

const LISTENING: &str = "live-notification listener is listening";

/// PostgreSQL restarted under an open stream: the stream stays open, the
/// listener reconnects, and a comment written as soon as the database is
/// back reaches the stream. Then the listener alone loses its connection
/// and cannot make a new one (the database refuses new connections) while
/// a comment is written through a pooled connection: once it reconnects,
/// the stream catches that comment up from the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_notifications_survive_a_database_restart() {
    let cluster = Cluster::start();
    let server = Server::start(&cluster);
    let (alice, bob) = (server.user("alice").await, server.user("bobby").await);
    let post = server.post(&alice).await;
    let mut stream = LiveStream::open(
        &server,
        "/me/notifications/stream",
        &format!("authorization: Bearer {alice}\r\n"),
    )
    .await;
    server.wait_for_log(LISTENING, 1).await;

    cluster.stop();
    cluster.restart();
    let during = server.comment(&bob, post).await;
    let caught_up = server.logged(LISTENING) == 1;
    let event = stream.notification(Duration::from_secs(20)).await;
    assert_eq!(event["notification"]["comment_id"], during, "{event}");
    server.wait_for_log(LISTENING, 2).await;
    eprintln!(
        "the comment written right after the restart was {}",
        if caught_up {
            "committed before the listener reconnected, and caught up"
        } else {
            "delivered live"
        }
    );

    // From another database: one cannot refuse connections to one's own.
    let mut db = PgConnection::establish(&cluster.pg(&["url", "template1"])).unwrap();
    let refuse = |db: &mut PgConnection, allow: bool| {
        diesel::sql_query(format!(
            "ALTER DATABASE postgres WITH ALLOW_CONNECTIONS {allow}"
        ))
        .execute(db)
        .unwrap();
    };
    refuse(&mut db, false);
    let terminated = number(
        &mut db,
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    );
    assert_eq!(terminated, 1, "one listening connection");
    server
        .wait_for_log("live-notification listener lost its connection", 2)
        .await;
    let missed = server.comment(&bob, post).await;
    assert_eq!(server.logged(LISTENING), 2, "the listener is still away");
    refuse(&mut db, true);
    let event = stream.notification(Duration::from_secs(20)).await;
    assert_eq!(event["notification"]["comment_id"], missed, "{event}");
    assert_eq!(event["unread_count"], 2, "{event}");
    assert_eq!(server.logged(LISTENING), 3);
}

/// SIGTERM: open streams end at once (cleanly, with the body's last chunk)
/// while a request already in flight is still finished, then the process
/// exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_ends_open_streams_first_then_drains() {
    let cluster = Cluster::start();
    let mut server = Server::start(&cluster);
    let alice = server.user("alice").await;
    let bearer = format!("authorization: Bearer {alice}\r\n");
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(LiveStream::open(&server, "/me/notifications/stream", &bearer).await);
    }
    let (in_flight, rest) = half_a_post(server.address(), &alice, "in flight").await;

    server.signal("TERM");
    for stream in &mut streams {
        let took = stream.ends_within(Duration::from_secs(5)).await;
        assert!(
            took < Duration::from_secs(2),
            "the stream ended after {took:?}"
        );
    }
    // The streams are gone but the process still finishes what it accepted.
    assert!(server.child.try_wait().unwrap().is_none());
    finish_half_post(in_flight, &rest).await;
    server.exits_with_success().await;
}

/// `?access_token=` on the stream route is never written to the log, at
/// debug level, whether the stream is served, refused for a bad token or
/// refused for an unknown parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_access_token_query_parameter_is_never_logged() {
    let cluster = Cluster::start();
    let mut server = Server::start_with(&cluster, &[("RUST_LOG", "debug")]);
    let (alice, bob) = (server.user("alice").await, server.user("bobby").await);
    let post = server.post(&alice).await;

    let mut stream = LiveStream::open(
        &server,
        &format!("/me/notifications/stream?access_token={alice}"),
        "",
    )
    .await;
    let comment = server.comment(&bob, post).await;
    let event = stream.notification(Duration::from_secs(10)).await;
    assert_eq!(event["notification"]["comment_id"], comment, "{event}");
    drop(stream);

    // A token that does not verify, and a valid one with a parameter the
    // route refuses.
    let forged = format!("{alice}x");
    for (query, expected) in [
        (format!("access_token={forged}"), 401),
        (format!("access_token={alice}&bogus=1"), 400),
    ] {
        let response = server
            .request(
                reqwest::Method::GET,
                &format!("/me/notifications/stream?{query}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected, "{query}");
    }

    // The log is complete once the process has said it stopped.
    server.signal("INT");
    server.exits_with_success().await;
    server.wait_for_log("\"stopped\"", 1).await;
    let log = server.log.lock().unwrap().join("\n");
    assert!(
        log.contains("/me/notifications/stream"),
        "the requests are logged"
    );
    // The token's signature is the part no other log line could hold.
    let signature = alice.rsplit('.').next().unwrap();
    assert!(!log.contains(signature), "the access token is in the log");
}
