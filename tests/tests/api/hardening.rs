//! What an attacker found once, kept fixed: guesses that outran the login
//! limit, limits that each process kept for itself, NUL characters in
//! credentials, timing that told a pending password reset apart, tokens
//! without `jti`, and slow clients that held connections forever.

use std::time::Duration;

use minifb_tests::*;
use reqwest::Method;
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
    let Some((app, user)) = TestApp::with_local_user("shared").await else {
        return;
    };
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
        (
            "refresh token with a NUL",
            "/auth/refresh",
            json!({ "refresh_token": "a-refresh-token\u{0}" }),
        ),
        (
            "logout with a NUL in the refresh token",
            "/auth/logout",
            json!({ "refresh_token": "a-refresh-token\u{0}" }),
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
    let Some((app, user)) = TestApp::with_local_user("nojti").await else {
        return;
    };
    let token = tokens::signed(JWT_SECRET, &tokens::claims(&user.id, 600));

    let me = app.get("/me", Some(&token)).await;

    me.assert_status(200);
    assert_eq!(me.body["id"], user.id.as_str());
}

#[tokio::test]
async fn a_temporary_password_is_stored_as_a_fast_digest_so_wrong_logins_cost_alike() {
    // Timing cannot be asserted here; what makes it equal can: the
    // temporary password is stored as a fast digest (no second PBKDF2 run),
    // so the stored row holds no Werkzeug hash at all.
    let Some((app, user)) = TestApp::with_local_user("tmpdigest").await else {
        return;
    };
    app.temporary_password(&user).await;

    app.try_login(&user.id, WRONG_PASSWORD).await.error(401);

    let digests = app
        .sql("UPDATE temporary_passwords SET created_at = created_at WHERE octet_length(password_digest) = 32")
        .await;
    assert_eq!(digests, 1, "one SHA-256 digest stored");
}

#[tokio::test]
async fn an_expired_temporary_password_neither_logs_in_nor_changes_the_password() {
    let Some((app, user)) = TestApp::with_local_user("tmpexpired").await else {
        return;
    };
    let temporary = app.temporary_password(&user).await;
    app.sql("UPDATE temporary_passwords SET expires_at = now() - interval '1 second'")
        .await;

    app.try_login(&user.id, &temporary).await.error(401);
    app.change_password(user.bearer(), &temporary, "never accepted")
        .await
        .assert_error(403, "current_password is wrong");
}

#[tokio::test]
async fn of_concurrent_logins_with_one_temporary_password_exactly_one_succeeds() {
    let (app, user) = TestApp::with_user("tmprace").await;
    let temporary = app.temporary_password(&user).await;

    let logins = (0..10).map(|_| app.try_login(&user.id, &temporary));
    let replies = futures::future::join_all(logins).await;

    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        9,
        "{statuses:?}"
    );
}

/// Werkzeug 3.1.8, `generate_password_hash("비밀번호는열글자이상",
/// method="pbkdf2:sha256:50000")`: an account imported from a Python service.
const IMPORTED_HASH: &str = "pbkdf2:sha256:50000$MQCSpWnGJx54OlTd$0e87d8ce544fd8942c16edd4179c109e0b3030ad29bcc19c3be926e7b99e258c";
const IMPORTED_PASSWORD: &str = "비밀번호는열글자이상";

#[tokio::test]
async fn an_imported_hash_is_replaced_by_one_of_the_configured_work_after_a_login() {
    let Some((app, user)) = TestApp::with_local_user("imported").await else {
        return;
    };
    app.sql(&format!(
        "UPDATE users SET password_hash = '{IMPORTED_HASH}' WHERE id = '{}'",
        user.id
    ))
    .await;

    app.login(&user.id, IMPORTED_PASSWORD).await;

    // The suite's servers hash with 1,000 rounds.
    let upgraded = app
        .sql(&format!(
            "UPDATE users SET id = id WHERE id = '{}' AND password_hash LIKE 'pbkdf2:sha256:1000$%'",
            user.id
        ))
        .await;
    assert_eq!(upgraded, 1, "the hash now has the configured rounds");
    app.login(&user.id, IMPORTED_PASSWORD).await;
    // Sessions started before stay: only the hash changed.
    app.refresh(&user.refresh_token).await.assert_status(200);
}

#[tokio::test]
async fn the_token_of_a_removed_account_is_401_invalid_token_on_all_its_own_data() {
    let (app, alice, bob, bobs_post) = TestApp::with_alices_post_and_bob().await;
    if app.skip_unless_local() {
        return;
    }
    let alices_post = app.post_by(&alice, "mine").await;
    let bobs_comment = app.comment_on(bobs_post, &bob, "bob's").await;
    let alices_comment = app.comment_on(bobs_post, &alice, "alice's").await;
    app.add_reaction(&alice, &Target::post(bobs_post), 1).await;
    app.add_reaction(&bob, &Target::post(alices_post), 2).await;
    // Removed by an operator: the token stays well-formed and unexpired.
    let removed = app
        .sql(&format!("DELETE FROM users WHERE id = '{}'", alice.id))
        .await;
    assert_eq!(removed, 1);

    let content = Some(json!({ "content": "still here?" }));
    let reaction = Some(json!({ "type": 3 }));
    let (get, post, put, patch, delete) = (
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    );
    let cases = [
        (get.clone(), "/me".to_owned(), None),
        (
            patch.clone(),
            "/me".to_owned(),
            Some(json!({ "nickname": "ghost" })),
        ),
        (
            put.clone(),
            "/me/password".to_owned(),
            Some(json!({ "current_password": PASSWORD, "new_password": "another password" })),
        ),
        (get.clone(), "/me/timeline".to_owned(), None),
        (get, "/me/notifications".to_owned(), None),
        (post.clone(), "/me/notifications/1/read".to_owned(), None),
        (post.clone(), "/me/notifications/read-all".to_owned(), None),
        (post.clone(), "/posts".to_owned(), content.clone()),
        (
            patch.clone(),
            format!("/posts/{alices_post}"),
            content.clone(),
        ),
        (delete.clone(), format!("/posts/{alices_post}"), None),
        (
            post,
            format!("/posts/{bobs_post}/comments"),
            content.clone(),
        ),
        (patch, format!("/comments/{alices_comment}"), content),
        (delete.clone(), format!("/comments/{alices_comment}"), None),
        (
            put.clone(),
            format!("/posts/{bobs_post}/reaction"),
            reaction.clone(),
        ),
        (delete.clone(), format!("/posts/{bobs_post}/reaction"), None),
        (put, format!("/comments/{bobs_comment}/reaction"), reaction),
        (delete, format!("/comments/{bobs_comment}/reaction"), None),
    ];
    for (method, path, body) in cases {
        let reply = app.request(method, &path, alice.bearer(), body).await;
        reply.assert_invalid_token();
        assert!(
            reply.body["hint"]
                .as_str()
                .unwrap()
                .contains("no longer exists")
        );
    }
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

/// Sends `sent` and no more on a connection of its own, which the server
/// must close with a 408 (within 20 s, once `deadline` has passed); returns
/// the answer's body.
async fn timed_out(app: &TestApp, sent: &[u8], deadline: &str) -> serde_json::Value {
    let mut socket = TcpStream::connect(app.socket_address()).await.unwrap();
    socket.write_all(sent).await.unwrap();

    let answer = read_until_closed(socket, Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("closed after {deadline}"));

    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    let body = answer.split_once("\r\n\r\n").map(|(_, body)| body);
    let body: serde_json::Value = serde_json::from_str(body.unwrap_or("")).unwrap();
    assert_eq!(body["result"], "Request Timeout");
    body
}

#[tokio::test]
async fn a_request_head_that_does_not_arrive_in_10_seconds_is_408_and_closed() {
    let Some(app) = TestApp::spawn_local().await else {
        return;
    };
    timed_out(&app, b"GET /health HTTP/1.1\r\nHost: x\r\n", "its deadline").await;
}

#[tokio::test]
async fn a_request_body_that_stalls_for_10_seconds_is_408_and_closed() {
    let Some((app, user)) = TestApp::with_local_user("trickle").await else {
        return;
    };
    let head = format!(
        "POST /posts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 40\r\n\r\n{{\"content\":",
        user.token
    );

    let body = timed_out(&app, head.as_bytes(), "the body stalled").await;

    assert!(body["hint"].as_str().unwrap().contains("stalled"), "{body}");
}

#[tokio::test]
async fn long_uris_and_header_sections_get_414_and_431_with_the_error_body() {
    let app = TestApp::spawn().await;
    let long_uri = format!("/posts?cursor={}", "a".repeat(9 * 1024));
    app.get(&long_uri, None).await.error(414);
    let padding = "x".repeat(17 * 1024);
    let request = app
        .client
        .get(app.url("/posts"))
        .header("x-padding", padding);
    app.send(request).await.error(431);
}

#[tokio::test]
async fn a_thousand_slow_clients_neither_lock_out_a_real_one_nor_stay_open() {
    let Some(app) = TestApp::spawn_local().await else {
        return;
    };
    let address = app.socket_address();
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
