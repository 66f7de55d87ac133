//! Safe retries: `Idempotency-Key` on `POST /posts` and
//! `POST /posts/{id}/comments`.

use minifb_tests::{Reply, TestApp, User, count_statuses, item_ids};
use serde_json::{Value, json};

async fn my_post_ids(app: &TestApp, user: &User) -> Vec<i64> {
    let page = app.get("/me/timeline?limit=100", Some(&user.token)).await;
    page.assert_status(200);
    item_ids(&page.body)
}

/// Sends the same keyed create twice, as a client's retry would.
async fn sent_twice(
    app: &TestApp,
    path: &str,
    user: &User,
    key: &[u8],
    body: Value,
) -> (Reply, Reply) {
    let first = app.post_keyed(path, user, key, body.clone()).await;
    let repeat = app.post_keyed(path, user, key, body).await;
    (first, repeat)
}

/// The reply is the recorded answer of an earlier request, again.
fn assert_replayed(reply: &Reply) {
    assert_eq!(
        reply.header("idempotent-replayed"),
        Some("true"),
        "{reply:?}"
    );
}

#[tokio::test]
async fn a_repeated_post_creates_nothing_and_gets_the_first_answer_again() {
    let (app, alice) = TestApp::with_user("retry").await;
    let body = json!({ "content": "only once" });

    let (first, repeat) = sent_twice(&app, "/posts", &alice, b"key-1", body).await;

    first.assert_status(201);
    assert_eq!(first.header("idempotent-replayed"), None, "{first:?}");
    repeat.assert_status(201);
    assert_replayed(&repeat);
    assert_eq!(repeat.text, first.text);
    assert_eq!(repeat.header("content-type"), first.header("content-type"));
    assert_eq!(
        my_post_ids(&app, &alice).await,
        [first.body["id"].as_i64().unwrap()]
    );
}

#[tokio::test]
async fn a_repeated_comment_creates_nothing_even_after_its_post_is_deleted() {
    let (app, alice, bob, post) = TestApp::with_alices_post_and_bob().await;
    let path = format!("/posts/{post}/comments");
    let body = json!({ "content": "nice" });

    let (first, repeat) = sent_twice(&app, &path, &bob, b"c-1", body.clone()).await;

    first.assert_status(201);
    assert_replayed(&repeat);
    assert_eq!((repeat.status, &repeat.text), (first.status, &first.text));
    assert_eq!(app.comment_count(post).await, 1);
    let notified = app.notifications(&alice, "").await;
    assert_eq!(notified["unread_count"], 1);

    app.delete(&format!("/posts/{post}"), Some(&alice.token))
        .await
        .assert_status(204);
    let after_delete = app.post_keyed(&path, &bob, b"c-1", body).await;
    assert_eq!(
        (after_delete.status.as_u16(), &after_delete.text),
        (201, &first.text)
    );
}

#[tokio::test]
async fn the_same_key_with_another_body_or_path_is_422() {
    let (app, alice, _bob, post) = TestApp::with_alices_post_and_bob().await;
    app.post_keyed("/posts", &alice, b"k", json!({ "content": "first" }))
        .await
        .assert_status(201);

    let other_body = app
        .post_keyed("/posts", &alice, b"k", json!({ "content": "second" }))
        .await;
    let other_path = app
        .post_keyed(
            &format!("/posts/{post}/comments"),
            &alice,
            b"k",
            json!({ "content": "first" }),
        )
        .await;

    for refused in [&other_body, &other_path] {
        refused.assert_status(422);
        assert_eq!(
            refused.body["result"], "Unprocessable Content",
            "{refused:?}"
        );
        let hint = refused.body["hint"].as_str().unwrap();
        assert!(hint.contains("Idempotency-Key"), "{refused:?}");
    }
    assert_eq!(app.comment_count(post).await, 0);
}

#[tokio::test]
async fn keys_belong_to_their_user() {
    let (app, alice, bob, _post) = TestApp::with_alices_post_and_bob().await;
    let body = json!({ "content": "same key, two users" });

    let by_alice = app
        .post_keyed("/posts", &alice, b"shared", body.clone())
        .await;
    let by_bob = app.post_keyed("/posts", &bob, b"shared", body).await;

    by_alice.assert_status(201);
    by_bob.assert_status(201);
    assert_eq!(by_bob.header("idempotent-replayed"), None);
    assert_ne!(by_alice.body["id"], by_bob.body["id"]);
    assert_eq!(by_bob.body["author"]["id"], bob.id.as_str());
}

#[tokio::test]
async fn a_malformed_key_is_400_and_creates_nothing() {
    let (app, alice) = TestApp::with_user("badkey").await;
    let too_long = vec![b'k'; 256];
    let longest = vec![b'k'; 255];
    let cases: [(&str, &[u8]); 5] = [
        ("empty", b""),
        ("256 characters", &too_long),
        ("a space", b"two words"),
        ("a tab", b"tab\there"),
        ("not ASCII", "caf\u{e9}".as_bytes()),
    ];
    for (case, key) in cases {
        app.post_keyed("/posts", &alice, key, json!({ "content": "x" }))
            .await
            .labelled(case)
            .assert_error(
                400,
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            );
    }
    assert!(my_post_ids(&app, &alice).await.is_empty());
    app.post_keyed("/posts", &alice, &longest, json!({ "content": "x" }))
        .await
        .assert_status(201);
}

#[tokio::test]
async fn without_a_key_every_post_creates() {
    let (app, alice) = TestApp::with_user("nokey").await;
    for _ in 0..2 {
        app.post("/posts", Some(&alice.token), json!({ "content": "twice" }))
            .await
            .assert_status(201);
    }
    assert_eq!(my_post_ids(&app, &alice).await.len(), 2);
}

#[tokio::test]
async fn a_first_attempt_that_failed_with_a_5xx_leaves_nothing_behind() {
    let Some((app, alice)) = TestApp::with_local_user("fails").await else {
        return;
    };
    app.sql(
        "CREATE FUNCTION refuse_post() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
    )
    .await;
    app.sql(
        "CREATE TRIGGER refuse_post BEFORE INSERT ON posts FOR EACH ROW \
         EXECUTE FUNCTION refuse_post()",
    )
    .await;
    let body = json!({ "content": "doomed, then fine" });
    app.post_keyed("/posts", &alice, b"flaky", body.clone())
        .await
        .assert_status(500);

    app.sql("DROP TRIGGER refuse_post ON posts").await;
    let retry = app.post_keyed("/posts", &alice, b"flaky", body).await;

    retry.assert_status(201);
    assert_eq!(retry.header("idempotent-replayed"), None, "{retry:?}");
    assert_eq!(my_post_ids(&app, &alice).await.len(), 1);
}

/// The post vanishes between the use case's check and the comment's
/// insert (a trigger deletes it just before): the comment is 404, and the
/// whole keyed transaction rolls back with it, the deletion and the claim
/// included, so the key is free for the retry.
#[tokio::test]
async fn a_post_deleted_during_a_keyed_comment_is_404_and_leaves_the_key_free() {
    let Some((app, alice)) = TestApp::with_local_user("gone").await else {
        return;
    };
    let bob = app.user("bob").await;
    let post = app.post_by(&alice, "about to vanish").await;
    app.sql(
        "CREATE FUNCTION delete_the_post() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN DELETE FROM posts WHERE id = NEW.post_id; RETURN NEW; END $$",
    )
    .await;
    app.sql(
        "CREATE TRIGGER delete_the_post BEFORE INSERT ON comments FOR EACH ROW \
         EXECUTE FUNCTION delete_the_post()",
    )
    .await;
    let path = format!("/posts/{post}/comments");
    let body = json!({ "content": "too late" });

    app.post_keyed(&path, &bob, b"vanishing", body.clone())
        .await
        .assert_status(404);

    app.get(&format!("/posts/{post}"), None)
        .await
        .assert_status(200);
    app.sql("DROP TRIGGER delete_the_post ON comments").await;
    let retry = app.post_keyed(&path, &bob, b"vanishing", body).await;
    retry.assert_status(201);
    assert_eq!(retry.header("idempotent-replayed"), None, "{retry:?}");
    assert_eq!(app.comment_count(post).await, 1);
}

/// The first request is held in flight by a lock the test takes on
/// `posts`: it has claimed its key and waits to insert. The repeat is 409
/// meanwhile, and a replay once the first has been answered.
#[tokio::test]
async fn a_repeat_while_the_first_is_in_flight_is_409() {
    let Some((app, alice)) = TestApp::with_local_user("inflight").await else {
        return;
    };
    let body = json!({ "content": "slow" });
    let lock = app.hold_lock("LOCK TABLE posts IN SHARE MODE").await;
    let (first, meanwhile) = tokio::join!(
        app.post_keyed("/posts", &alice, b"slow", body.clone()),
        async {
            app.wait_until_blocked("WITH p AS (INSERT INTO posts").await;
            let meanwhile = app
                .post_keyed("/posts", &alice, b"slow", body.clone())
                .await;
            lock.release();
            meanwhile
        }
    );
    let afterwards = app.post_keyed("/posts", &alice, b"slow", body).await;

    meanwhile.assert_error(409, "still being processed");
    first.assert_status(201);
    assert_replayed(&afterwards);
    assert_eq!(afterwards.text, first.text);
    assert_eq!(my_post_ids(&app, &alice).await.len(), 1);
}

#[tokio::test]
async fn forty_identical_requests_at_once_create_one_post() {
    let (app, alice) = TestApp::with_user("stampede").await;
    let body = json!({ "content": "at once" });

    let replies = futures::future::join_all(
        (0..40).map(|_| app.post_keyed("/posts", &alice, b"once", body.clone())),
    )
    .await;

    let ids = my_post_ids(&app, &alice).await;
    assert_eq!(ids.len(), 1, "{:?}", count_statuses(&replies));
    let created: Vec<_> = replies
        .iter()
        .filter(|r| r.status.as_u16() == 201)
        .collect();
    assert!(!created.is_empty());
    for reply in &replies {
        match reply.status.as_u16() {
            201 => assert_eq!(reply.body["id"], ids[0], "{reply:?}"),
            409 => reply.assert_error(409, "still being processed"),
            _ => panic!("neither the post nor 409: {reply:?}"),
        }
    }
    let fresh = created
        .iter()
        .filter(|r| r.header("idempotent-replayed").is_none())
        .count();
    assert_eq!(fresh, 1, "{:?}", count_statuses(&replies));
}

/// Keys are forgotten after 24 hours: the test makes them that old, a
/// repeat is then a new request, and the purge (which every process runs
/// at start and then hourly) deletes the old rows.
#[tokio::test]
async fn keys_older_than_24_hours_are_forgotten_and_purged() {
    let Some((app, alice)) = TestApp::with_local_user("expiry").await else {
        return;
    };
    let body = json!({ "content": "yesterday" });
    for key in [b"old-1", b"old-2"] {
        app.post_keyed("/posts", &alice, key, body.clone())
            .await
            .assert_status(201);
    }
    app.sql("UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 second'")
        .await;

    let repeat = app.post_keyed("/posts", &alice, b"old-1", body).await;
    repeat.assert_status(201);
    assert_eq!(repeat.header("idempotent-replayed"), None);
    assert_eq!(my_post_ids(&app, &alice).await.len(), 3);

    let _purging = app.sibling().await;
    let expired = "SELECT 1 FROM idempotency_keys WHERE created_at < now() - interval '24 hours'";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.sql(expired).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "expired keys not purged"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(app.sql("SELECT 1 FROM idempotency_keys").await, 1);
}
