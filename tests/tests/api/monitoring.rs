//! What `/metrics` tells an operator's alerts besides requests: statement
//! timeouts, refusals of the attempt limits, the hashing queue.

use minifb_tests::*;
use serde_json::json;

/// The value of the first sample of `/metrics` whose line starts with
/// `series` (a name, or a name and its labels), if there is one.
async fn sample(app: &TestApp, series: &str) -> Option<f64> {
    let token = app.admin_token.clone().unwrap();
    let reply = app.get("/metrics", Some(&token)).await;
    reply.assert_status(200);
    reply
        .text
        .lines()
        .find(|line| line.starts_with(series))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn a_statement_past_its_timeout_is_503_and_counted() {
    let Some(app) = TestApp::spawn_with(&[("MINIFB_REQUEST_TIMEOUT", "3")]).await else {
        return;
    };
    let alice = app.user("alice").await;
    let before = sample(&app, "db_statement_timeouts_total")
        .await
        .unwrap_or(0.0);
    let lock = app.hold_lock("LOCK TABLE posts IN SHARE MODE").await;

    let reply = app
        .post("/posts", alice.bearer(), json!({ "content": "stuck" }))
        .await;
    lock.release();

    reply.error(503);
    assert!(reply.header("retry-after").is_some(), "{reply:?}");
    let after = sample(&app, "db_statement_timeouts_total").await;
    assert!(after.is_some_and(|after| after > before), "{after:?}");
}

#[tokio::test]
async fn refusals_of_the_attempt_limits_are_counted_by_limit() {
    let Some(app) = TestApp::spawn_with(&[("MINIFB_SIGNUP_LIMIT", "1")]).await else {
        return;
    };
    let series = "auth_attempts_refused_total{limit=\"sign_up/address\"}";
    app.sign_up_new("first").await.assert_status(201);
    app.sign_up_new("second").await.error(429);
    app.sign_up_new("third").await.error(429);

    assert_eq!(sample(&app, series).await, Some(2.0));
}

#[tokio::test]
async fn the_hashing_queue_is_shown_and_empty_when_idle() {
    let Some((app, user)) = TestApp::with_local_user("hashed").await else {
        return;
    };
    app.login(&user.id, PASSWORD).await;

    assert_eq!(sample(&app, "password_hashing_waiting").await, Some(0.0));
    let waits = sample(&app, "password_hashing_wait_seconds_count").await;
    assert!(
        waits.is_some_and(|n| n >= 2.0),
        "sign-up and login: {waits:?}"
    );
}
