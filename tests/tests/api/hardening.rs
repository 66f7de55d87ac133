//! What an attacker found once, kept fixed: guesses that outran the login
//! limit, limits that each process kept for itself, NUL characters in
//! credentials, tokens without `jti`, and slow clients that held
//! connections forever.

use std::time::Duration;

use minifb_tests::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn concurrent_guesses_never_get_more_than_ten_evaluations() {
    let (app, user) = TestApp::with_user("guessed").await;

    let guesses = (0..30).map(|_| app.try_login(&user.id, WRONG_PASSWORD));
    let replies = futures::future::join_all(guesses).await;

    let statuses = count_statuses(&replies);
    assert_eq!(statuses.get(&401), Some(&10), "evaluated: {statuses:?}");
    assert_eq!(statuses.get(&429), Some(&20), "refused: {statuses:?}");
    let locked = app.try_login(&user.id, PASSWORD).await;
    locked.assert_status(429);
    assert!(locked.header("retry-after").is_some(), "{locked:?}");
}

#[tokio::test]
async fn the_login_limit_is_shared_by_every_process_on_the_database() {
    let (app, user) = TestApp::with_user("shared").await;
    if app.skip_unless_local() {
        return;
    }
    let other = app.sibling().await;

    for _ in 0..5 {
        app.try_login(&user.id, WRONG_PASSWORD)
            .await
            .assert_status(401);
        other
            .try_login(&user.id, WRONG_PASSWORD)
            .await
            .assert_status(401);
    }

    app.try_login(&user.id, PASSWORD).await.assert_status(429);
    other.try_login(&user.id, PASSWORD).await.assert_status(429);
}

#[tokio::test]
async fn successful_logins_do_not_use_up_the_limit() {
    let (app, user) = TestApp::with_user("regular").await;

    for n in 0..12 {
        app.try_login(&user.id, PASSWORD)
            .await
            .labelled(format!("login {n}"))
            .assert_status(200);
    }
}

#[tokio::test]
async fn a_nul_in_credentials_is_400_not_a_login() {
    let (app, user) = TestApp::with_user("nul").await;
    let padded = format!("{PASSWORD}\u{0}\u{0}");

    let cases = [
        (
            "password with trailing NULs",
            "/auth/login",
            json!({ "id": user.id, "password": padded }),
        ),
        (
            "id with a NUL",
            "/auth/login",
            json!({ "id": format!("{}\u{0}", user.id), "password": PASSWORD }),
        ),
    ];
    for (label, path, body) in cases {
        app.post(path, None, body)
            .await
            .labelled(label)
            .assert_error(400, "NUL");
    }
    let change = app
        .change_password(user.bearer(), &padded, "another good password")
        .await;
    change
        .labelled("current_password with trailing NULs")
        .assert_error(400, "NUL");
}

#[tokio::test]
async fn a_token_with_only_sub_iat_and_exp_is_complete() {
    let (app, user) = TestApp::with_user("nojti").await;
    if app.skip_unless_local() {
        return;
    }
    let token = tokens::signed(JWT_SECRET, &tokens::claims(&user.id, 600));

    let me = app.get("/me", Some(&token)).await;

    me.assert_status(200);
    assert_eq!(me.body["id"], user.id.as_str());
}

/// The address of a server started here, for raw sockets.
fn socket_address(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Everything the server sent before it closed the connection; `None` if
/// it was still open after `wait`.
async fn read_until_closed(mut socket: TcpStream, wait: Duration) -> Option<String> {
    let mut received = Vec::new();
    tokio::time::timeout(wait, socket.read_to_end(&mut received))
        .await
        .ok()?
        .ok()?;
    Some(String::from_utf8_lossy(&received).into_owned())
}

#[tokio::test]
async fn a_request_head_that_does_not_arrive_in_10_seconds_is_408_and_closed() {
    let app = TestApp::spawn().await;
    if app.skip_unless_local() {
        return;
    }
    let mut socket = TcpStream::connect(socket_address(&app)).await.unwrap();
    socket
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();

    let answer = read_until_closed(socket, Duration::from_secs(20))
        .await
        .expect("closed after its deadline");

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body);
    let body: serde_json::Value = serde_json::from_str(body.unwrap_or("")).unwrap();
    assert_eq!(body["result"], "Request Timeout");
}

#[tokio::test]
async fn a_thousand_slow_clients_neither_lock_out_a_real_one_nor_stay_open() {
    let app = TestApp::spawn().await;
    if app.skip_unless_local() {
        return;
    }
    let address = socket_address(&app);
    let mut slow = Vec::new();
    for n in 0..1000 {
        let mut socket = TcpStream::connect(&address).await.unwrap();
        if n % 2 == 0 {
            socket.write_all(b"POST /posts HTTP/1.1\r\n").await.unwrap();
        }
        slow.push(socket);
    }

    let real = tokio::time::timeout(Duration::from_secs(1), app.get("/health", None)).await;
    real.expect("a real client is answered within 1 s")
        .assert_status(200);

    let closed = slow
        .into_iter()
        .map(|socket| read_until_closed(socket, Duration::from_secs(25)));
    let answers = futures::future::join_all(closed).await;
    let timed_out = answers
        .iter()
        .filter(|answer| {
            answer
                .as_deref()
                .is_some_and(|a| a.starts_with("HTTP/1.1 408"))
        })
        .count();
    assert_eq!(
        timed_out, 1000,
        "every slow client is answered 408 and closed"
    );
}

#[tokio::test]
async fn answers_about_me_and_the_back_office_are_never_cached() {
    let (app, user) = TestApp::with_user("private").await;
    let admin = app.admin_token.clone();
    let cases = [
        ("GET /me", app.get("/me", user.bearer()).await),
        (
            "GET /me/timeline",
            app.get("/me/timeline", user.bearer()).await,
        ),
        (
            "GET /me/notifications",
            app.get("/me/notifications", user.bearer()).await,
        ),
        ("GET /me without a token", app.get("/me", None).await),
        (
            "GET /admin/stats/service",
            app.get("/admin/stats/service", admin.as_deref()).await,
        ),
        ("GET /metrics", app.get("/metrics", admin.as_deref()).await),
    ];
    for (label, reply) in cases {
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{label}");
    }
    let public = app.get("/posts", None).await;
    assert_eq!(
        public.header("cache-control"),
        None,
        "public lists may be cached"
    );
}

#[tokio::test]
async fn anything_but_white_space_after_the_json_object_is_400() {
    let (app, user) = TestApp::with_user("trailing").await;
    let bodies = [
        r#"{"content":"first"} {"content":"second"}"#,
        r#"{"content":"first"} garbage"#,
        r#"{"content":"first"}}"#,
    ];
    for body in bodies {
        let request = app
            .client
            .post(app.url("/posts"))
            .bearer_auth(user.bearer().unwrap())
            .header("content-type", "application/json")
            .body(body);
        app.send(request)
            .await
            .labelled(body)
            .assert_error(400, "white space");
    }
    let padded = app
        .client
        .post(app.url("/posts"))
        .bearer_auth(user.bearer().unwrap())
        .header("content-type", "application/json")
        .body("{\"content\":\"first\"} \n\t ");
    app.send(padded).await.assert_status(201);
}
