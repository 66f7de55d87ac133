//! The Account section of the contract, over HTTP.

use minifb_tests::{TestApp, unique_id};
use serde_json::json;

fn sign_up_body(id: &str) -> serde_json::Value {
    json!({ "id": id, "password": "correct horse battery", "name": "홍길동", "nickname": "gildong", "bio": "hi", "email": format!("{id}@Example.com") })
}

#[tokio::test]
async fn signing_up_returns_me_and_is_not_cached() {
    let app = TestApp::spawn().await;
    let id = unique_id("Alice");

    let reply = app.post("/auth/signup", None, sign_up_body(&id)).await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["id"], id.as_str());
    assert_eq!(reply.body["name"], "홍길동");
    assert_eq!(reply.body["nickname"], "gildong");
    assert_eq!(reply.body["bio"], "hi");
    assert_eq!(reply.body["email"], format!("{id}@Example.com"));
    let created_at = reply.body["created_at"].as_str().unwrap();
    assert_eq!(created_at.len(), 24, "{created_at}");
    assert!(created_at.ends_with('Z'));
    assert!(reply.body.get("password").is_none() && reply.body.get("password_hash").is_none());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn an_id_taken_in_any_letter_case_is_409() {
    let app = TestApp::spawn().await;
    let id = unique_id("Bob");
    assert_eq!(
        app.post("/auth/signup", None, sign_up_body(&id))
            .await
            .status,
        201
    );

    let reply = app
        .post("/auth/signup", None, sign_up_body(&id.to_uppercase()))
        .await;

    reply.error(409);
}

#[tokio::test]
async fn sign_up_validation_names_the_field_and_rule() {
    let app = TestApp::spawn().await;
    let id = unique_id("val");
    let cases = [
        (
            json!({ "id": "abc", "password": "correct horse", "name": "Al" }),
            "id must be 4 to 50 characters",
        ),
        (
            json!({ "id": "bad id!", "password": "correct horse", "name": "Al" }),
            "id may only contain",
        ),
        (
            json!({ "id": id, "password": "short", "name": "Al" }),
            "password must be 10 to 100 characters",
        ),
        (
            json!({ "id": id, "password": "correct horse", "name": "A" }),
            "name must be 2 to 16 characters",
        ),
        (
            json!({ "id": id, "password": "correct horse", "name": "   " }),
            "name must not be blank",
        ),
        (
            json!({ "id": id, "password": "correct horse", "name": "Al", "bio": "" }),
            "bio must be 1 to 85 characters",
        ),
        (
            json!({ "id": id, "password": "correct horse", "name": "Al", "email": "" }),
            "email must be a valid",
        ),
        (
            json!({ "id": id, "password": "correct horse", "name": "A\u{0}l" }),
            "name must not contain NUL",
        ),
        (
            json!({ "id": id, "password": "correct horse", "name": "Al", "admin": true }),
            "unknown field `admin`",
        ),
        (
            json!({ "id": id, "password": "correct horse" }),
            "missing field `name`",
        ),
        (
            json!({ "id": id, "password": "correct horse", "name": 5 }),
            "invalid type",
        ),
    ];
    for (body, expected) in cases {
        let reply = app.post("/auth/signup", None, body.clone()).await;
        let hint = reply.error(400);
        assert!(hint.contains(expected), "{body}: {hint}");
    }
}

#[tokio::test]
async fn id_availability_ignores_letter_case_and_checks_the_rule() {
    let app = TestApp::spawn().await;
    let user = app.user("avail").await;

    let taken = app
        .get(
            &format!("/auth/id-availability?id={}", user.id.to_uppercase()),
            None,
        )
        .await;
    let free = app.get("/auth/id-availability?id=free-id-42x", None).await;

    assert_eq!(taken.status, 200);
    assert_eq!(taken.body["available"], false);
    assert_eq!(free.body, json!({ "id": "free-id-42x", "available": true }));
    app.get("/auth/id-availability?id=ab", None)
        .await
        .error(400);
    app.get("/auth/id-availability", None).await.error(400);
}

#[tokio::test]
async fn login_returns_a_token_pair_that_opens_me() {
    let app = TestApp::spawn().await;
    let user = app.user("login").await;

    let reply = app
        .post(
            "/auth/login",
            None,
            json!({ "id": user.id.to_uppercase(), "password": user.password }),
        )
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["expires_in"], 900);
    assert_eq!(reply.body["password_change_required"], false);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let token = reply.body["access_token"].as_str().unwrap();
    let me = app.get("/me", Some(token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["id"], user.id.as_str());
    assert_eq!(me.body["email"], format!("{}@example.com", user.id));
}

#[tokio::test]
async fn wrong_password_unknown_id_and_invalid_id_answer_alike() {
    let app = TestApp::spawn().await;
    let user = app.user("alike").await;

    let wrong = app
        .post(
            "/auth/login",
            None,
            json!({ "id": user.id, "password": "wrong horse battery" }),
        )
        .await;
    let unknown = app
        .post(
            "/auth/login",
            None,
            json!({ "id": unique_id("ghost"), "password": "wrong horse battery" }),
        )
        .await;
    let invalid = app
        .post(
            "/auth/login",
            None,
            json!({ "id": "x!", "password": "wrong horse battery" }),
        )
        .await;

    let hint = wrong.error(401).to_owned();
    assert_eq!(unknown.error(401), hint);
    assert_eq!(invalid.error(401), hint);
}

#[tokio::test]
async fn the_eleventh_failed_login_is_429_even_with_the_right_password() {
    let app = TestApp::spawn().await;
    let user = app.user("limited").await;
    for _ in 0..10 {
        let reply = app
            .post(
                "/auth/login",
                None,
                json!({ "id": user.id, "password": "wrong horse battery" }),
            )
            .await;
        reply.error(401);
    }

    let reply = app
        .post(
            "/auth/login",
            None,
            json!({ "id": user.id.to_uppercase(), "password": user.password }),
        )
        .await;

    reply.error(429);
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let app = TestApp::spawn().await;
    let user = app.user("rotate").await;

    let first = app
        .post(
            "/auth/refresh",
            None,
            json!({ "refresh_token": user.refresh_token }),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let next = first.body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, user.refresh_token);
    assert_eq!(
        app.get("/me", first.body["access_token"].as_str())
            .await
            .status,
        200
    );

    let replay = app
        .post(
            "/auth/refresh",
            None,
            json!({ "refresh_token": user.refresh_token }),
        )
        .await;
    replay.error(401);
    let after_theft = app
        .post("/auth/refresh", None, json!({ "refresh_token": next }))
        .await;
    after_theft.error(401);
    app.post("/auth/refresh", None, json!({ "refresh_token": "made-up" }))
        .await
        .error(401);
}

#[tokio::test]
async fn logout_revokes_the_family_and_accepts_unknown_tokens() {
    let app = TestApp::spawn().await;
    let user = app.user("logout").await;

    let reply = app
        .post(
            "/auth/logout",
            None,
            json!({ "refresh_token": user.refresh_token }),
        )
        .await;

    assert_eq!(reply.status, 204);
    app.post(
        "/auth/refresh",
        None,
        json!({ "refresh_token": user.refresh_token }),
    )
    .await
    .error(401);
    let unknown = app
        .post(
            "/auth/logout",
            None,
            json!({ "refresh_token": "never-issued" }),
        )
        .await;
    assert_eq!(unknown.status, 204);
}

#[tokio::test]
async fn patch_me_sets_and_clears_fields() {
    let app = TestApp::spawn().await;
    let user = app.user("patch").await;
    let token = Some(user.token.as_str());

    let set = app
        .patch(
            "/me",
            token,
            json!({ "nickname": "닉네임", "bio": "about me" }),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    assert_eq!(set.body["nickname"], "닉네임");
    assert_eq!(set.body["bio"], "about me");

    let cleared = app.patch("/me", token, json!({ "nickname": null })).await;
    assert_eq!(cleared.status, 200);
    assert_eq!(cleared.body["nickname"], serde_json::Value::Null);
    assert_eq!(cleared.body["bio"], "about me");

    app.patch("/me", token, json!({})).await.error(400);
    app.patch("/me", token, json!({ "name": "New" }))
        .await
        .error(400);
    app.patch("/me", token, json!({ "bio": "   " }))
        .await
        .error(400);
}

#[tokio::test]
async fn changing_email_needs_the_current_password() {
    let app = TestApp::spawn().await;
    let user = app.user("email").await;
    let token = Some(user.token.as_str());

    app.patch("/me", token, json!({ "email": "new@example.com" }))
        .await
        .error(403);
    app.patch(
        "/me",
        token,
        json!({ "email": "new@example.com", "current_password": "wrong horse battery" }),
    )
    .await
    .error(403);
    let changed = app
        .patch(
            "/me",
            token,
            json!({ "email": "new@example.com", "current_password": user.password }),
        )
        .await;

    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["email"], "new@example.com");
    app.patch(
        "/me",
        token,
        json!({ "email": "not-an-address", "current_password": user.password }),
    )
    .await
    .error(400);
}

#[tokio::test]
async fn changing_the_password_revokes_every_refresh_token() {
    let app = TestApp::spawn().await;
    let user = app.user("passwd").await;
    let (_, second_session) = app.login(&user.id, &user.password).await;
    let token = Some(user.token.as_str());

    app.put(
        "/me/password",
        token,
        json!({ "current_password": "wrong horse battery", "new_password": "a new password" }),
    )
    .await
    .error(403);
    let short = app
        .put(
            "/me/password",
            token,
            json!({ "current_password": user.password, "new_password": "short" }),
        )
        .await;
    assert!(short.error(400).contains("new_password"));
    let changed = app
        .put(
            "/me/password",
            token,
            json!({ "current_password": user.password, "new_password": "a new password" }),
        )
        .await;

    assert_eq!(changed.status, 204, "{}", changed.text);
    for refresh_token in [&user.refresh_token, &second_session] {
        app.post(
            "/auth/refresh",
            None,
            json!({ "refresh_token": refresh_token }),
        )
        .await
        .error(401);
    }
    app.post(
        "/auth/login",
        None,
        json!({ "id": user.id, "password": user.password }),
    )
    .await
    .error(401);
    app.login(&user.id, "a new password").await;
}

#[tokio::test]
async fn public_profiles_hide_the_email_and_404_unknown_ids() {
    let app = TestApp::spawn().await;
    let user = app.user("public").await;

    let reply = app
        .get(&format!("/users/{}", user.id.to_uppercase()), None)
        .await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["id"], user.id.as_str());
    assert!(reply.body.get("email").is_none());
    app.get(&format!("/users/{}", unique_id("nobody")), None)
        .await
        .error(404);
    app.get("/users/x!", None).await.error(404);
}

#[tokio::test]
async fn concurrent_identical_sign_ups_create_exactly_one_account() {
    let app = TestApp::spawn().await;
    let id = unique_id("race");

    let replies = futures::future::join_all(
        (0..16).map(|_| app.post("/auth/signup", None, sign_up_body(&id))),
    )
    .await;

    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (created, conflicts),
        (1, 15),
        "{:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_temporary_password_is_mailed_logs_in_once_and_sets_a_new_password() {
    let app = TestApp::spawn().await;
    if app.outbox.is_none() {
        eprintln!("skipped: no MINIFB_TEST_OUTBOX to read mail from");
        return;
    }
    let user = app.user("forgot").await;
    let address = format!("{}@example.com", user.id);

    let unknown = app
        .post(
            "/auth/temporary-password",
            None,
            json!({ "id": unique_id("ghost"), "email": address }),
        )
        .await;
    let known = app
        .post(
            "/auth/temporary-password",
            None,
            json!({ "id": user.id, "email": address.to_uppercase() }),
        )
        .await;

    assert_eq!(known.status, 202);
    assert_eq!(unknown.status, 202);
    assert_eq!(known.body, unknown.body);
    let mail = poll_for_mail(&app, &address).await;
    let temporary = mail["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .find(|word| word.len() == 16 && word.chars().all(|c| c.is_ascii_alphanumeric()))
        .expect("the mail holds a 16-character password")
        .to_owned();

    let login = app
        .post(
            "/auth/login",
            None,
            json!({ "id": user.id, "password": temporary }),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["password_change_required"], true);
    app.post(
        "/auth/login",
        None,
        json!({ "id": user.id, "password": temporary }),
    )
    .await
    .error(401);
    // The account's own password still works.
    app.login(&user.id, &user.password).await;
    let token = login.body["access_token"].as_str();
    let changed = app
        .put(
            "/me/password",
            token,
            json!({ "current_password": temporary, "new_password": "chosen after reset" }),
        )
        .await;
    assert_eq!(changed.status, 204, "{}", changed.text);
    app.login(&user.id, "chosen after reset").await;
}

/// The mail is sent after the answer: poll the outbox until it arrives.
async fn poll_for_mail(app: &TestApp, to: &str) -> serde_json::Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(mail) = app.mails_to(to).pop() {
            return mail;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mail to {to} within 10 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
