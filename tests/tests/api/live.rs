//! `GET /me/notifications/stream`: every event, replay after
//! `Last-Event-ID`, the limits, query-string auth, token expiry,
//! keep-alive, and delivery across two server processes.

use std::time::Duration;

use minifb_tests::{JWT_SECRET, MALFORMED_IDS, TestApp};
use serde_json::json;

#[tokio::test]
async fn a_comment_arrives_as_a_notification_event_and_its_deletion_as_withdrawn() {
    let (app, alice, bob, post) = TestApp::with_alices_post_and_bob().await;
    let mut stream = app.stream_of(&alice, None).await;
    assert!(
        stream
            .headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap().starts_with("text/event-stream"))
    );
    let comment = app.comment_on(post, &bob, "hello").await;
    let (id, data) = stream.expect("notification").await;
    let notification = &data["notification"];
    assert_eq!(
        id,
        Some(notification["id"].to_string()),
        "id: is the notification id"
    );
    assert_eq!(notification["type"], 1);
    assert_eq!(notification["comment_id"], comment);
    assert_eq!(notification["post_id"], post);
    assert_eq!(notification["read"], false);
    assert_eq!(notification["actor"], bob.as_author());
    assert_eq!(data["unread_count"], 1);

    app.delete_comment(comment, bob.bearer())
        .await
        .assert_status(204);
    let (id, data) = stream.expect("withdrawn").await;
    assert_eq!(id, None);
    assert_eq!(data, json!({ "id": notification["id"], "unread_count": 0 }));
}

#[tokio::test]
async fn reading_sends_read_with_ids_or_all_and_a_deleted_post_withdraws() {
    let (app, alice, bob, post) = TestApp::with_alices_post_and_bob().await;
    let mut stream = app.stream_of(&alice, None).await;
    app.comment_on(post, &bob, "one").await;
    app.comment_on(post, &bob, "two").await;
    let (first, _) = stream.expect("notification").await;
    let (_, second) = stream.expect("notification").await;
    assert_eq!(second["unread_count"], 2);
    let first: i64 = first.unwrap().parse().unwrap();

    app.mark_read(first, alice.bearer())
        .await
        .assert_status(204);
    let (_, data) = stream.expect("read").await;
    assert_eq!(data, json!({ "ids": [first], "unread_count": 1 }));

    app.mark_all_read(alice.bearer()).await.assert_status(204);
    let (_, data) = stream.expect("read").await;
    assert_eq!(data, json!({ "ids": "all", "unread_count": 0 }));

    // A reaction's notification, unread, disappears with its post.
    let reaction = app
        .put(
            &format!("/posts/{post}/reaction"),
            bob.bearer(),
            json!({ "type": 2 }),
        )
        .await;
    reaction.assert_status(201);
    let (id, data) = stream.expect("notification").await;
    assert_eq!(data["notification"]["type"], 2);
    app.delete(&format!("/posts/{post}"), alice.bearer())
        .await
        .assert_status(204);
    let (_, data) = stream.expect("withdrawn").await;
    assert_eq!(data["id"].to_string(), id.unwrap());
    assert_eq!(data["unread_count"], 0);
}

#[tokio::test]
async fn last_event_id_replays_newer_notifications_oldest_first_then_goes_live_without_duplicates()
{
    let (app, alice, bob, post) = TestApp::with_alices_post_and_bob().await;
    let mut ids = Vec::new();
    for n in 0..4 {
        app.comment_on(post, &bob, &format!("c{n}")).await;
    }
    let listed = app.notifications(&alice, "").await;
    for item in listed["items"].as_array().unwrap().iter().rev() {
        ids.push(item["id"].as_i64().unwrap());
    }
    // Withdrawn before the replay: it no longer exists and is not replayed.
    let gone = app.comment_on(post, &bob, "gone").await;
    app.delete_comment(gone, bob.bearer())
        .await
        .assert_status(204);

    let mut stream = app.stream_of(&alice, Some(ids[0])).await;
    for expected in &ids[1..] {
        let (id, data) = next_notification(&mut stream, gone).await;
        assert_eq!(id, Some(expected.to_string()), "oldest first");
        assert_eq!(data["unread_count"], 4);
    }
    app.comment_on(post, &bob, "live").await;
    let (id, _) = next_notification(&mut stream, gone).await;
    let live: i64 = id.unwrap().parse().unwrap();
    assert!(
        live > ids[3],
        "the live one comes next, nothing replayed twice"
    );

    // The query parameter does the same, for EventSource.
    let path = format!(
        "/me/notifications/stream?access_token={}&last_event_id={}",
        alice.token, ids[3]
    );
    let mut stream = app.open_stream(&path, &[]).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.next_event().await.retry.as_deref(), Some("3000"));
    let (id, _) = stream.expect("notification").await;
    assert_eq!(id, Some(live.to_string()));
}

#[tokio::test]
async fn a_user_may_hold_five_streams_and_the_sixth_is_429_until_one_closes() {
    let (app, alice) = TestApp::with_user("alice").await;
    let mut streams = Vec::new();
    for _ in 0..5 {
        streams.push(app.stream_of(&alice, None).await);
    }
    let bearer = format!("Bearer {}", alice.token);
    let sixth = app
        .get("/me/notifications/stream", Some(&alice.token))
        .await;
    sixth.error(429);
    assert!(sixth.header("retry-after").is_some());

    drop(streams.pop());
    let started = std::time::Instant::now();
    loop {
        let stream = app
            .open_stream("/me/notifications/stream", &[("authorization", &bearer)])
            .await;
        if stream.status == 200 {
            break;
        }
        assert_eq!(stream.status, 429);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "a closed stream frees its place"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Past the process's stream limit (set, or by default half the
/// connections) a stream gets 503 with `Retry-After`, and other requests
/// still get a connection.
#[tokio::test]
async fn streams_past_the_process_limit_answer_503_and_leave_connections_to_the_rest() {
    // (the setting, the streams it allows)
    let cases = [
        (("MINIFB_MAX_STREAMS", "1"), 1),
        (("MINIFB_MAX_CONNECTIONS", "4"), 2),
    ];
    for (setting, allowed) in cases {
        let Some(app) = TestApp::spawn_with(&[setting]).await else {
            return;
        };
        let mut users = Vec::new();
        for _ in 0..=allowed {
            users.push(app.user("streamer").await);
        }
        let late = users.pop().unwrap();
        let mut held = Vec::new();
        for user in &users {
            held.push(app.stream_of(user, None).await);
        }

        let refused = app.get("/me/notifications/stream", Some(&late.token)).await;

        refused.error(503);
        assert!(refused.header("retry-after").is_some(), "{setting:?}");
        app.get("/health", None).await.assert_status(200);
    }
}

#[tokio::test]
async fn the_token_may_come_in_the_query_and_a_bad_one_is_401() {
    let (app, alice) = TestApp::with_user("alice").await;
    app.get("/me/notifications/stream", None)
        .await
        .assert_needs_token();
    app.get("/me/notifications/stream?access_token=forged", None)
        .await
        .assert_invalid_token();
    app.get("/me/notifications/stream?access_token=x&other=1", None)
        .await
        .assert_invalid_token();
    let path = format!(
        "/me/notifications/stream?access_token={}&other=1",
        alice.token
    );
    app.get(&path, None).await.error(400);
    let path = format!(
        "/me/notifications/stream?access_token={}&last_event_id=abc",
        alice.token
    );
    app.get(&path, None).await.error(400);
    // Only this route reads the query.
    let path = format!("/me/notifications?access_token={}", alice.token);
    app.get(&path, None).await.assert_needs_token();
}

#[tokio::test]
async fn a_last_event_id_that_is_not_ascii_digits_is_400_as_a_header_and_in_the_query() {
    let (app, alice) = TestApp::with_user("alice").await;
    let bearer = format!("Bearer {}", alice.token);
    // Header values keep no surrounding spaces (HTTP strips them), so the
    // spaced forms are tried in the query, where they survive.
    for bad in MALFORMED_IDS.into_iter().chain(["5 5", "0x5", "5.0", ""]) {
        let stream = app
            .open_stream(
                "/me/notifications/stream",
                &[("authorization", &bearer), ("last-event-id", bad)],
            )
            .await;
        assert_eq!(stream.status, 400, "Last-Event-ID: {bad:?}");
    }
    let encoded = MALFORMED_IDS
        .iter()
        .map(|bad| bad.replace('+', "%2B"))
        .chain(["+5", "%205%20", "%205", "5%20", "%E0%A5%A9", ""].map(String::from));
    for bad in encoded {
        let path = format!("/me/notifications/stream?last_event_id={bad}");
        let stream = app.open_stream(&path, &[("authorization", &bearer)]).await;
        assert_eq!(stream.status, 400, "?last_event_id={bad}");
    }
    // The header wins over the query, and a good one opens the stream.
    let stream = app
        .open_stream(
            "/me/notifications/stream?last_event_id=%2B5",
            &[("authorization", &bearer), ("last-event-id", "5")],
        )
        .await;
    assert_eq!(stream.status, 200);
}

#[tokio::test]
async fn the_stream_ends_with_token_expired_when_the_token_expires() {
    let Some((app, alice)) = TestApp::with_local_user("alice").await else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "sub": alice.id, "iat": now, "exp": now + 2 }),
        &jsonwebtoken::EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .unwrap();
    let bearer = format!("Bearer {token}");
    let mut stream = app
        .open_stream("/me/notifications/stream", &[("authorization", &bearer)])
        .await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.next_event().await.retry.as_deref(), Some("3000"));
    let expired = stream.next_event().await;
    assert_eq!(expired.event.as_deref(), Some("token_expired"));
    assert!(
        stream.next_within(Duration::from_secs(5)).await.is_none(),
        "the stream ends after token_expired"
    );
}

#[tokio::test]
async fn an_idle_stream_gets_keep_alive_comments() {
    let Some(app) = TestApp::spawn_with(&[("MINIFB_STREAM_KEEPALIVE", "1")]).await else {
        return;
    };
    let alice = app.user("alice").await;
    let mut stream = app.stream_of(&alice, None).await;
    for _ in 0..2 {
        let comment = stream.next_within(Duration::from_secs(3)).await.unwrap();
        assert_eq!(comment.comments, ["keep-alive"], "{comment:?}");
        assert_eq!(comment.event, None);
    }
}

#[tokio::test]
async fn a_notification_written_through_one_process_reaches_a_stream_held_by_another() {
    let (app, alice, bob, post) = TestApp::with_alices_post_and_bob().await;
    if app.skip_unless_local() {
        return;
    }
    let other = app.sibling().await;
    let mut stream = other.stream_of(&alice, None).await;
    let stats = other
        .get("/admin/stats/server", other.admin_token.as_deref())
        .await;
    assert_eq!(stats.body["open_streams"], 1, "{}", stats.text);
    let started = std::time::Instant::now();
    let comment = app.comment_on(post, &bob, "across").await;
    let (_, data) = stream.expect("notification").await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "within a second of the commit"
    );
    assert_eq!(data["notification"]["comment_id"], comment);
}

/// The next `notification` event. The withdrawal of the notification of
/// comment `gone`, committed before the stream opened, may still be on its
/// way to the listener and come first: harmless, and skipped here.
async fn next_notification(
    stream: &mut minifb_tests::EventStream,
    gone: i64,
) -> (Option<String>, serde_json::Value) {
    loop {
        let event = stream.next_event().await;
        match event.event.as_deref() {
            Some("notification") => return (event.id.clone(), event.json()),
            Some("withdrawn") => assert!(event.json()["id"].as_i64().is_some(), "{gone}"),
            _ => panic!("unexpected {event:?}"),
        }
    }
}

/// Sends a stream request for `user` on a connection of its own, and
/// returns the connection without reading the answer.
async fn send_stream_request(app: &TestApp, user: &minifb_tests::User) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let address = app.base.trim_start_matches("http://");
    let mut connection = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "GET /me/notifications/stream HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\r\n",
        user.token
    );
    connection.write_all(request.as_bytes()).await.unwrap();
    connection
}

/// Rows of `notification_streams`: the slots held across every process.
async fn slots_held(app: &TestApp) -> usize {
    app.sql("SELECT 1 FROM notification_streams").await
}

/// Checks that streams whose clients went away left nothing behind: none
/// is open, no slot is held, and the user can open all five again.
async fn assert_nothing_left_behind(app: &TestApp, user: &minifb_tests::User) {
    let admin = app.admin_token.as_deref().unwrap();
    app.server_stats_until(admin, |stats| stats["open_streams"] == 0)
        .await;
    wait_until_no_slot_is_held(app).await;
    assert_five_streams_open(app, user).await;
}

/// Polls until no process holds a stream slot.
async fn wait_until_no_slot_is_held(app: &TestApp) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let held = slots_held(app).await;
        if held == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{held} stream slots are still held by streams that never opened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens the user's five streams (each 200) and checks that a sixth is 429.
async fn assert_five_streams_open(app: &TestApp, user: &minifb_tests::User) {
    let mut streams = Vec::new();
    for _ in 0..5 {
        streams.push(app.stream_of(user, None).await);
    }
    app.get("/me/notifications/stream", Some(&user.token))
        .await
        .error(429);
}

#[tokio::test]
async fn a_client_gone_while_its_stream_is_being_opened_holds_no_slot() {
    let Some((app, alice)) = TestApp::with_local_user("alice").await else {
        return;
    };
    let admin = app.admin_token.clone().unwrap();
    // More openings than a user has slots, each abandoned while its slot
    // is being taken: the slot's statement waits on a lock the test holds,
    // the client goes away, the server drops the opening, and only then
    // may the statement run.
    for _ in 0..6 {
        let lock = app
            .hold_lock("LOCK TABLE notification_streams IN EXCLUSIVE MODE")
            .await;
        let connection = send_stream_request(&app, &alice).await;
        app.wait_until_blocked("INSERT INTO notification_streams")
            .await;
        connection.set_zero_linger().unwrap();
        drop(connection);
        app.server_stats_until(&admin, |stats| stats["open_streams"] == 0)
            .await;
        lock.release();
    }
    assert_nothing_left_behind(&app, &alice).await;
}

#[tokio::test]
async fn streams_still_open_after_many_clients_went_away_within_milliseconds() {
    let Some((app, alice)) = TestApp::with_local_user("alice").await else {
        return;
    };
    // The scenario: open, then reset or close within 0 to 4 ms.
    for attempt in 0..30u64 {
        let connection = send_stream_request(&app, &alice).await;
        tokio::time::sleep(Duration::from_micros(attempt * 137 % 4000)).await;
        if attempt % 2 == 0 {
            connection.set_zero_linger().unwrap();
        }
        drop(connection);
    }
    assert_nothing_left_behind(&app, &alice).await;
}

#[tokio::test]
async fn slots_left_expired_by_a_stopped_process_are_taken_over() {
    let Some((app, alice)) = TestApp::with_local_user("alice").await else {
        return;
    };
    app.sql(&format!(
        "INSERT INTO notification_streams (user_key, slot, process_id, expires_at) \
         SELECT lower('{}'), s, 'stopped', now() - interval '1 second' \
         FROM generate_series(1, 5) AS s",
        alice.id
    ))
    .await;
    assert_five_streams_open(&app, &alice).await;
    assert_eq!(
        app.sql("SELECT 1 FROM notification_streams WHERE process_id = 'stopped'")
            .await,
        0,
        "every expired slot was taken over"
    );
}
