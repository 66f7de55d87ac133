//! The Account section of the contract, over HTTP.

use minifb_tests::{TestApp, WRONG_PASSWORD, count_statuses, sign_up_body, unique_id};
use serde_json::json;

#[tokio::test]
async fn signing_up_returns_me_and_is_not_cached() {
    let app = TestApp::spawn().await;
    let id = unique_id("Alice");

    let reply = app.sign_up(sign_up_body(&id)).await;

    let me = &reply.assert_status(201).body;
    assert_eq!(me["id"], id.as_str());
    assert_eq!(me["name"], "홍길동");
    assert_eq!(me["nickname"], "gildong");
    assert_eq!(me["bio"], "hi");
    assert_eq!(me["email"], format!("{id}@Example.com"));
    let created_at = me["created_at"].as_str().unwrap();
    assert_eq!(created_at.len(), 24, "{created_at}");
    assert!(created_at.ends_with('Z'));
    assert!(me.get("password").is_none() && me.get("password_hash").is_none());
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn an_id_taken_in_any_letter_case_is_409() {
    let app = TestApp::spawn().await;
    let id = unique_id("Bob");
    app.sign_up(sign_up_body(&id)).await.assert_status(201);

    let reply = app.sign_up(sign_up_body(&id.to_uppercase())).await;

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
        app.sign_up(body).await.assert_error(400, expected);
    }
}

#[tokio::test]
async fn id_availability_ignores_letter_case_and_checks_the_rule() {
    let (app, user) = TestApp::with_user("avail").await;
    let taken = format!("/auth/id-availability?id={}", user.id.to_uppercase());

    let taken = app.get(&taken, None).await;
    let free = app.get("/auth/id-availability?id=free-id-42x", None).await;

    assert_eq!(taken.assert_status(200).body["available"], false);
    assert_eq!(free.body, json!({ "id": "free-id-42x", "available": true }));
    app.get("/auth/id-availability?id=ab", None)
        .await
        .error(400);
    app.get("/auth/id-availability", None).await.error(400);
}

#[tokio::test]
async fn login_returns_a_token_pair_that_opens_me() {
    let (app, user) = TestApp::with_user("login").await;

    let reply = app.try_login(&user.id.to_uppercase(), &user.password).await;

    let pair = &reply.assert_status(200).body;
    assert_eq!(pair["token_type"], "Bearer");
    assert_eq!(pair["expires_in"], 900);
    assert_eq!(pair["password_change_required"], false);
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let me = app.get("/me", pair["access_token"].as_str()).await;
    assert_eq!(me.assert_status(200).body["id"], user.id.as_str());
    assert_eq!(me.body["email"], format!("{}@example.com", user.id));
}

#[tokio::test]
async fn wrong_password_unknown_id_and_invalid_id_answer_alike() {
    let (app, user) = TestApp::with_user("alike").await;

    let wrong = app.try_login(&user.id, WRONG_PASSWORD).await;
    let unknown = app.try_login(&unique_id("ghost"), WRONG_PASSWORD).await;
    let invalid = app.try_login("x!", WRONG_PASSWORD).await;

    let hint = wrong.error(401).to_owned();
    assert_eq!(unknown.error(401), hint);
    assert_eq!(invalid.error(401), hint);
}

#[tokio::test]
async fn the_eleventh_failed_login_is_429_even_with_the_right_password() {
    let (app, user) = TestApp::with_user("limited").await;
    for _ in 0..10 {
        app.try_login(&user.id, WRONG_PASSWORD).await.error(401);
    }

    let reply = app.try_login(&user.id.to_uppercase(), &user.password).await;

    reply.error(429);
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family() {
    let (app, user) = TestApp::with_user("rotate").await;

    let first = app.refresh(&user.refresh_token).await;
    let pair = &first.assert_status(200).body;
    let next = pair["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(next, user.refresh_token);
    let me = app.get("/me", pair["access_token"].as_str()).await;
    me.assert_status(200);

    app.refresh(&user.refresh_token).await.error(401);
    // The theft is noticed: the token handed out last is revoked too.
    app.refresh(&next).await.error(401);
    app.refresh("made-up").await.error(401);
}

#[tokio::test]
async fn logout_revokes_the_family_and_accepts_unknown_tokens() {
    let (app, user) = TestApp::with_user("logout").await;

    let reply = app.logout(&user.refresh_token).await;

    reply.assert_status(204);
    app.refresh(&user.refresh_token).await.error(401);
    app.logout("never-issued").await.assert_status(204);
}

#[tokio::test]
async fn patch_me_sets_and_clears_fields() {
    let (app, user) = TestApp::with_user("patch").await;
    let token = user.bearer();

    let set = json!({ "nickname": "닉네임", "bio": "about me" });
    let set = app.patch("/me", token, set).await;
    assert_eq!(set.assert_status(200).body["nickname"], "닉네임");
    assert_eq!(set.body["bio"], "about me");

    let cleared = app.patch("/me", token, json!({ "nickname": null })).await;
    let cleared = &cleared.assert_status(200).body;
    assert_eq!(cleared["nickname"], serde_json::Value::Null);
    assert_eq!(cleared["bio"], "about me");

    for invalid in [json!({}), json!({ "name": "New" }), json!({ "bio": "   " })] {
        app.patch("/me", token, invalid).await.error(400);
    }
}

#[tokio::test]
async fn changing_email_needs_the_current_password() {
    let (app, user) = TestApp::with_user("email").await;
    let token = user.bearer();
    let change = |current_password: Option<&str>, email: &str| {
        let body = match current_password {
            Some(password) => json!({ "email": email, "current_password": password }),
            None => json!({ "email": email }),
        };
        app.patch("/me", token, body)
    };

    change(None, "new@example.com").await.error(403);
    change(Some(WRONG_PASSWORD), "new@example.com")
        .await
        .error(403);
    let changed = change(Some(&user.password), "new@example.com").await;

    assert_eq!(changed.assert_status(200).body["email"], "new@example.com");
    change(Some(&user.password), "not-an-address")
        .await
        .error(400);
}

#[tokio::test]
async fn changing_the_password_revokes_every_refresh_token() {
    let (app, user) = TestApp::with_user("passwd").await;
    let (_, second_session) = app.login(&user.id, &user.password).await;
    let token = user.bearer();

    app.change_password(token, WRONG_PASSWORD, "a new password")
        .await
        .error(403);
    app.change_password(token, &user.password, "short")
        .await
        .assert_error(400, "new_password");
    let changed = app
        .change_password(token, &user.password, "a new password")
        .await;

    changed.assert_status(204);
    for refresh_token in [&user.refresh_token, &second_session] {
        app.refresh(refresh_token).await.error(401);
    }
    app.try_login(&user.id, &user.password).await.error(401);
    app.login(&user.id, "a new password").await;
}

#[tokio::test]
async fn public_profiles_hide_the_email_and_404_unknown_ids() {
    let (app, user) = TestApp::with_user("public").await;

    let reply = app
        .get(&format!("/users/{}", user.id.to_uppercase()), None)
        .await;

    assert_eq!(reply.assert_status(200).body["id"], user.id.as_str());
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

    let replies = futures::future::join_all((0..16).map(|_| app.sign_up(sign_up_body(&id)))).await;

    assert_eq!(count_statuses(&replies), [(201, 1), (409, 15)].into());
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

    let unknown = app.forgot_password(&unique_id("ghost"), &address).await;
    let known = app.forgot_password(&user.id, &address.to_uppercase()).await;

    known.assert_status(202);
    unknown.assert_status(202);
    assert_eq!(known.body, unknown.body);
    let mail = app.wait_for_mail(&address).await;
    let temporary = mail["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .find(|word| word.len() == 16 && word.chars().all(|c| c.is_ascii_alphanumeric()))
        .expect("the mail holds a 16-character password")
        .to_owned();

    let login = app.try_login(&user.id, &temporary).await;
    assert_eq!(
        login.assert_status(200).body["password_change_required"],
        true
    );
    app.try_login(&user.id, &temporary).await.error(401);
    // The account's own password still works.
    app.login(&user.id, &user.password).await;
    let token = login.body["access_token"].as_str();
    let changed = app
        .change_password(token, &temporary, "chosen after reset")
        .await;
    changed.assert_status(204);
    app.login(&user.id, "chosen after reset").await;
}
