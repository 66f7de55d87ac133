//! What an attack on sign-ups and the request head found, kept fixed:
//! unlimited sign-ups from one address, parser errors without the error
//! body, and kept-alive connections closed before the contract's minute.
//! (Streams that could take every connection: `live.rs`.)

use std::time::Duration;

use minifb_tests::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn of_forty_sign_ups_at_once_from_one_address_only_the_limit_get_accounts() {
    let Some(app) = TestApp::spawn_with(&[("MINIFB_SIGNUP_LIMIT", "5")]).await else {
        return;
    };
    let ids: Vec<String> = (0..40).map(|_| unique_id("flood")).collect();

    let sign_ups = ids.iter().map(|id| app.sign_up(sign_up_body(id)));
    let replies = futures::future::join_all(sign_ups).await;

    let statuses = count_statuses(&replies);
    assert_eq!(statuses.get(&201), Some(&5), "{statuses:?}");
    assert_eq!(statuses.get(&429), Some(&35), "{statuses:?}");
    let refused = replies.iter().find(|r| r.status == 429).unwrap();
    assert!(refused.error(429).contains("sign-ups"), "{refused:?}");
    let retry: u64 = refused.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "Retry-After: {retry}");
}

#[tokio::test]
async fn the_sign_up_limit_is_shared_by_every_process_on_the_database() {
    let Some(app) = TestApp::spawn_with(&[("MINIFB_SIGNUP_LIMIT", "2")]).await else {
        return;
    };
    let other = app.sibling().await;

    app.sign_up_new("one").await.assert_status(201);
    other.sign_up_new("two").await.assert_status(201);

    app.sign_up_new("three").await.error(429);
    other.sign_up_new("four").await.error(429);
}

#[tokio::test]
async fn a_sign_up_that_makes_no_account_does_not_use_up_the_limit() {
    let Some(app) = TestApp::spawn_with(&[("MINIFB_SIGNUP_LIMIT", "2")]).await else {
        return;
    };
    let taken = unique_id("taken");
    app.sign_up(sign_up_body(&taken)).await.assert_status(201);

    for _ in 0..3 {
        app.sign_up(sign_up_body(&taken)).await.assert_status(409);
    }

    app.sign_up_new("second").await.assert_status(201);
    app.sign_up_new("third").await.error(429);
}

/// Sends `request` on a connection of its own and returns the status line
/// and the JSON body of the answer, which must close the connection.
async fn raw_answer(app: &TestApp, request: &[u8]) -> (String, serde_json::Value) {
    let mut socket = TcpStream::connect(app.socket_address()).await.unwrap();
    // The server may answer and close before it has read everything.
    socket.write_all(request).await.ok();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut received))
        .await
        .expect("the server closes the connection after answering")
        .ok();
    let answer = String::from_utf8_lossy(&received).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status_line = head.lines().next().unwrap_or("").to_owned();
    let body = serde_json::from_str(body)
        .unwrap_or_else(|_| panic!("no error body in {answer:?} for {status_line}"));
    (status_line, body)
}

#[tokio::test]
async fn heads_too_long_for_the_parser_get_the_error_body() {
    let Some(app) = TestApp::spawn_local().await else {
        return;
    };
    let uri = |length: usize| format!("/posts?cursor={}", "a".repeat(length));
    let headers = |count: usize| "X-Padding: aaaaaaaaaaaaaaaa\r\n".repeat(count);
    // (case, URI, more headers, the status, what the hint names)
    let cases = [
        (
            "a 100 KB URI",
            uri(100 * 1024),
            String::new(),
            "414 URI Too Long",
            "8 KiB",
        ),
        (
            "a 300 KB URI",
            uri(300 * 1024),
            String::new(),
            "414 URI Too Long",
            "8 KiB",
        ),
        (
            "300 KB of headers",
            uri(1),
            headers(10_000),
            "431",
            "16 KiB",
        ),
    ];
    for (case, uri, headers, status, hint) in cases {
        let request = format!("GET {uri} HTTP/1.1\r\nHost: x\r\n{headers}\r\n");

        let (status_line, body) = raw_answer(&app, request.as_bytes()).await;

        assert!(
            status_line.starts_with(&format!("HTTP/1.1 {status}")),
            "{case}: {status_line}"
        );
        assert!(
            body["hint"].as_str().unwrap().contains(hint),
            "{case}: {body}"
        );
    }
}

#[tokio::test]
async fn malformed_header_bytes_get_400_with_the_error_body() {
    let Some(app) = TestApp::spawn_local().await else {
        return;
    };
    let cases: [(&str, &[u8]); 4] = [
        (
            "a NUL in a value",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n",
        ),
        (
            "a bare CR in a value",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
        ),
        (
            "an obsolete folded header",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
        ),
        (
            "a space before the colon",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-A : a\r\n\r\n",
        ),
    ];
    for (case, request) in cases {
        let (status_line, body) = raw_answer(&app, request).await;

        assert!(
            status_line.starts_with("HTTP/1.1 400"),
            "{case}: {status_line}"
        );
        assert_eq!(body["result"], "Bad Request", "{case}");
        assert!(
            body["hint"].as_str().unwrap().contains("malformed"),
            "{case}: {body}"
        );
    }
}

/// Reads one whole answer to `GET /health` (its body is `content-length`
/// bytes) from `socket`.
async fn read_health_answer(socket: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut chunk = [0u8; 1024];
    loop {
        let text = String::from_utf8_lossy(&received).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_owned)
                })
                .and_then(|n| n.trim().parse().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
        let read = socket.read(&mut chunk).await.unwrap();
        assert!(read > 0, "closed in the middle of an answer: {text:?}");
        received.extend_from_slice(&chunk[..read]);
    }
}

#[tokio::test]
async fn a_kept_alive_connection_idle_for_45_seconds_still_serves() {
    let Some(app) = TestApp::spawn_local().await else {
        return;
    };
    let request = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut socket = TcpStream::connect(app.socket_address()).await.unwrap();
    socket.write_all(request).await.unwrap();
    assert!(
        read_health_answer(&mut socket)
            .await
            .starts_with("HTTP/1.1 200")
    );

    // Anything the server sends now (its close) ends the wait early.
    let mut byte = [0u8; 1];
    let closed = tokio::time::timeout(Duration::from_secs(45), socket.read(&mut byte)).await;

    assert!(
        closed.is_err(),
        "closed while idle for less than 45 s: {closed:?}"
    );
    socket.write_all(request).await.unwrap();
    assert!(
        read_health_answer(&mut socket)
            .await
            .starts_with("HTTP/1.1 200")
    );
}
