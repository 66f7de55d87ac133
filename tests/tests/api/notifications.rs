//! The Notifications section of the contract, over HTTP: which actions
//! notify whom, withdrawal, reading, and what deleting a post takes along.

use minifb_tests::{
    MALFORMED_IDS, NEVER_AN_ID, Target, TestApp, assert_newest_first, assert_no_notifications,
    assert_timestamp, item_ids, items, keys, notification_types,
};
use serde_json::{Value, json};

#[tokio::test]
async fn commenting_on_someone_elses_post_notifies_its_owner() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;

    let comment_id = app.comment_on(post_id, &bob, "telling you").await;

    let page = app.notifications(&alice, "").await;
    assert_eq!(page["unread_count"], 1, "{page}");
    assert_eq!(page["next_cursor"], Value::Null);
    assert_eq!(items(&page).len(), 1);
    let notification = &page["items"][0];
    assert_eq!(
        keys(notification),
        [
            "actor",
            "comment_id",
            "created_at",
            "id",
            "post_id",
            "read",
            "type"
        ]
    );
    assert!(notification["id"].is_i64(), "{notification}");
    assert_eq!(notification["type"], 1);
    assert_eq!(notification["actor"], bob.as_author());
    assert_eq!(notification["post_id"], post_id);
    assert_eq!(notification["comment_id"], comment_id);
    assert_eq!(notification["read"], false);
    assert_timestamp(&notification["created_at"]);
    let bobs = app.notifications(&bob, "").await;
    assert_no_notifications(&bobs);
}

#[tokio::test]
async fn reacting_to_someone_elses_post_notifies_its_owner_without_a_comment_id() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;

    let reacted = app.react(&bob, &Target::post(post_id), 4).await;

    reacted.assert_status(201);
    let page = app.notifications(&alice, "").await;
    assert_eq!(page["unread_count"], 1, "{page}");
    let notification = &page["items"][0];
    assert_eq!(notification["type"], 2);
    assert_eq!(notification["actor"]["id"], bob.id.as_str());
    assert_eq!(notification["post_id"], post_id);
    assert!(notification.get("comment_id").is_some(), "{notification}");
    assert_eq!(notification["comment_id"], Value::Null);
    assert_eq!(notification["read"], false);
    assert_timestamp(&notification["created_at"]);
}

#[tokio::test]
async fn my_own_comments_and_reactions_notify_nobody() {
    let (app, alice) = TestApp::with_user("selfish").await;
    let post_id = app.post_by(&alice, "talking to myself").await;

    app.comment_on(post_id, &alice, "me again").await;
    let reacted = app.react(&alice, &Target::post(post_id), 1).await;

    reacted.assert_status(201);
    let page = app.notifications(&alice, "").await;
    assert_no_notifications(&page);
}

#[tokio::test]
async fn reacting_to_a_comment_notifies_nobody() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let comment_id = app.comment_on(post_id, &bob, "comment").await;

    let reply = app
        .react(&alice, &Target::comment(post_id, comment_id), 1)
        .await;

    reply.assert_status(201);
    assert_eq!(app.notifications(&bob, "").await["items"], json!([]));
    let alices = app.notifications(&alice, "").await;
    assert_eq!(notification_types(&alices), [1]);
}

#[tokio::test]
async fn changing_a_reaction_does_not_notify_again() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let post = Target::post(post_id);
    app.add_reaction(&bob, &post, 1).await;

    for changed in [3, 3, 1] {
        app.react(&bob, &post, changed).await.assert_status(200);
    }

    let page = app.notifications(&alice, "").await;
    assert_eq!(notification_types(&page), [2], "{page}");
    assert_eq!(page["unread_count"], 1);
}

#[tokio::test]
async fn withdrawing_a_reaction_withdraws_its_unread_notification() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let post = Target::post(post_id);
    app.add_reaction(&bob, &post, 2).await;
    app.react(&bob, &post, 5).await.assert_status(200);
    let withdrawn_id = item_ids(&app.notifications(&alice, "").await)[0];

    let reply = app.withdraw_reaction(&post, bob.bearer()).await;

    reply.assert_status(204);
    let after = app.notifications(&alice, "").await;
    assert_no_notifications(&after);
    let mark = app.mark_read(withdrawn_id, alice.bearer()).await;
    mark.error(404);
    app.add_reaction(&bob, &post, 2).await;
    let renewed = app.notifications(&alice, "").await;
    assert_eq!(notification_types(&renewed), [2], "{renewed}");
}

#[tokio::test]
async fn deleting_a_comment_withdraws_its_unread_notification() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let by_author = app.comment_on(post_id, &bob, "deleted by bob").await;
    let by_owner = app.comment_on(post_id, &bob, "deleted by alice").await;
    let kept = app.comment_on(post_id, &bob, "kept").await;
    assert_eq!(app.notifications(&alice, "").await["unread_count"], 3);

    let first = app.delete_comment(by_author, bob.bearer()).await;
    let second = app.delete_comment(by_owner, alice.bearer()).await;

    first.assert_status(204);
    second.assert_status(204);
    let page = app.notifications(&alice, "").await;
    assert_eq!(items(&page).len(), 1, "{page}");
    assert_eq!(page["items"][0]["comment_id"], kept);
    assert_eq!(page["unread_count"], 1);
}

#[tokio::test]
async fn a_read_notification_is_not_withdrawn() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let comment_id = app.comment_on(post_id, &bob, "comment").await;
    let post = Target::post(post_id);
    app.add_reaction(&bob, &post, 1).await;
    app.mark_all_read(alice.bearer()).await.assert_status(204);

    let deleted = app.delete_comment(comment_id, bob.bearer()).await;
    let withdrawn = app.withdraw_reaction(&post, bob.bearer()).await;

    deleted.assert_status(204);
    withdrawn.assert_status(204);
    let page = app.notifications(&alice, "").await;
    assert_eq!(notification_types(&page), [2, 1], "{page}");
    assert_eq!(page["items"][1]["comment_id"], comment_id);
    assert!(items(&page).iter().all(|n| n["read"] == true), "{page}");
    assert_eq!(page["unread_count"], 0);
}

#[tokio::test]
async fn notifications_are_newest_first_and_the_unread_filter_keeps_unread_ones() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    app.comment_on(post_id, &bob, "first").await;
    app.add_reaction(&bob, &Target::post(post_id), 3).await;
    app.comment_on(post_id, &bob, "second").await;
    let all = app.notifications(&alice, "").await;
    let ids = item_ids(&all);
    assert_eq!(notification_types(&all), [1, 2, 1]);
    assert_newest_first(&ids);
    app.mark_read(ids[1], alice.bearer())
        .await
        .assert_status(204);

    let everything = app.notifications(&alice, "").await;
    let unread = app.notifications(&alice, "?unread=true").await;
    let not_only_unread = app.notifications(&alice, "?unread=false").await;

    assert_eq!(item_ids(&everything), ids);
    let flags: Vec<&Value> = items(&everything).iter().map(|n| &n["read"]).collect();
    assert_eq!(flags, [&json!(false), &json!(true), &json!(false)]);
    assert_eq!(everything["unread_count"], 2);
    assert_eq!(item_ids(&unread), [ids[0], ids[2]]);
    assert_eq!(unread["unread_count"], 2);
    assert!(
        item_ids(&not_only_unread).contains(&ids[1]),
        "{not_only_unread}"
    );
}

#[tokio::test]
async fn the_unread_filter_takes_only_true_or_false() {
    let (app, alice) = TestApp::with_user("filter").await;

    for value in ["maybe", "1", "0", "yes", "TRUE", "True"] {
        let path = format!("/me/notifications?unread={value}");

        app.get(&path, alice.bearer())
            .await
            .assert_error(400, "unread");
    }
}

/// Each row someone marking Alice's one notification read, in turn: Bob
/// may not, and Alice may, more than once. After each, what Alice's
/// notifications say.
#[tokio::test]
async fn marking_a_notification_read_is_204_and_idempotent_and_404_for_anyone_else() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    app.add_reaction(&bob, &Target::post(post_id), 1).await;
    let id = item_ids(&app.notifications(&alice, "").await)[0];
    let cases = [
        ("by someone else", &bob, 404, false),
        ("by its owner", &alice, 204, true),
        ("by its owner again", &alice, 204, true),
    ];

    for (label, who, status, read) in cases {
        let reply = app.mark_read(id, who.bearer()).await;

        reply.labelled(label).assert_outcome(status);
        let page = app.notifications(&alice, "").await;
        assert_eq!(page["items"][0]["read"], read, "{label}");
        assert_eq!(page["unread_count"], if read { 0 } else { 1 }, "{label}");
        let unread = app.notifications(&alice, "?unread=true").await;
        assert_eq!(items(&unread).is_empty(), read, "{label}");
    }
}

#[tokio::test]
async fn marking_read_checks_the_token_then_the_id_then_the_notification() {
    let (app, alice) = TestApp::with_user("reader").await;
    let token = alice.bearer();

    app.mark_read(NEVER_AN_ID, None).await.error(401);
    app.mark_all_read(None).await.error(401);
    for id in MALFORMED_IDS {
        app.mark_read(id, token).await.error(400);
    }
    app.mark_read(NEVER_AN_ID, token).await.error(404);
    app.get("/me/notifications", None)
        .await
        .assert_needs_token();
}

#[tokio::test]
async fn read_all_marks_only_my_notifications_read() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let bobs = app.post_by(&bob, "bob's").await;
    app.comment_on(post_id, &bob, "hi alice").await;
    app.add_reaction(&bob, &Target::post(post_id), 5).await;
    app.comment_on(bobs, &alice, "hi bob").await;

    let reply = app.mark_all_read(alice.bearer()).await;

    reply.assert_status(204);
    assert!(reply.text.is_empty(), "{}", reply.text);
    let mine = app.notifications(&alice, "").await;
    assert_eq!(mine["unread_count"], 0);
    assert_eq!(items(&mine).len(), 2);
    assert!(items(&mine).iter().all(|n| n["read"] == true), "{mine}");
    let unread = app.notifications(&alice, "?unread=true").await;
    assert_eq!(unread["items"], json!([]));
    let theirs = app.notifications(&bob, "").await;
    assert_eq!(theirs["unread_count"], 1);
    assert_eq!(theirs["items"][0]["read"], false);
    let again = app.mark_all_read(alice.bearer()).await;
    again.assert_status(204);
}

#[tokio::test]
async fn deleting_a_post_removes_its_comments_reactions_and_notifications() {
    let (app, alice, bob, doomed) = TestApp::with_alices_post_and_bob().await;
    let kept = app.post_by(&alice, "kept").await;
    let bobs_comment = app.comment_on(doomed, &bob, "on doomed").await;
    let alices_comment = Target::comment(doomed, app.comment_on(doomed, &alice, "mine").await);
    let doomed_post = Target::post(doomed);
    app.add_reaction(&bob, &doomed_post, 2).await;
    app.add_reaction(&bob, &alices_comment, 4).await;
    let kept_comment = app.comment_on(kept, &bob, "on kept").await;
    let before = app.notifications(&alice, "").await;
    assert_eq!(notification_types(&before), [1, 2, 1], "{before}");
    // A read notification goes with its post too.
    let oldest = item_ids(&before)[2];
    app.mark_read(oldest, alice.bearer())
        .await
        .assert_status(204);

    let reply = app.delete(&doomed_post.path(), alice.bearer()).await;

    reply.assert_status(204);
    let after = app.notifications(&alice, "").await;
    assert_eq!(items(&after).len(), 1, "{after}");
    assert_eq!(after["items"][0]["post_id"], kept);
    assert_eq!(after["items"][0]["comment_id"], kept_comment);
    assert_eq!(after["unread_count"], 1);
    app.get(&format!("/posts/{doomed}/comments"), None)
        .await
        .error(404);
    let edit = json!({ "content": "still here?" });
    app.patch(&format!("/comments/{bobs_comment}"), bob.bearer(), edit)
        .await
        .error(404);
    app.react(&bob, &alices_comment, 1).await.error(404);
    let token = bob.bearer();
    app.withdraw_reaction(&alices_comment, token)
        .await
        .error(404);
    app.withdraw_reaction(&doomed_post, token).await.error(404);
    assert_eq!(app.comment_count(kept).await, 1);
}

/// `unread_count` is a counter the database keeps (not a count at read
/// time): after every kind of write that adds, reads or removes a
/// notification it still equals the number of unread rows, for every user.
#[tokio::test]
async fn unread_count_stays_exact_under_every_write() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    if app.skip_unless_local() {
        return;
    }
    let carol = app.user("carol").await;
    let post = Target::post(post_id);
    let doomed = app.post_by(&alice, "doomed").await;
    let exact = |expected: i64| {
        let app = &app;
        let alice = &alice;
        async move {
            let page = app.notifications(alice, "").await;
            assert_eq!(page["unread_count"], expected, "{page}");
            let drifted = app
                .sql(
                    "SELECT 1 FROM users u WHERE unread_notifications <> \
                     (SELECT count(*) FROM notifications n WHERE n.user_id = u.id AND NOT n.read)",
                )
                .await;
            assert_eq!(drifted, 0, "users whose unread_notifications drifted");
        }
    };

    let comment = app.comment_on(post_id, &bob, "one").await;
    app.add_reaction(&bob, &post, 2).await;
    app.add_reaction(&carol, &post, 3).await;
    app.comment_on(doomed, &carol, "on doomed").await;
    exact(4).await;
    let newest = item_ids(&app.notifications(&alice, "").await)[0];
    app.mark_read(newest, alice.bearer())
        .await
        .assert_status(204);
    app.mark_read(newest, alice.bearer())
        .await
        .assert_status(204);
    exact(3).await;
    app.withdraw_reaction(&post, bob.bearer())
        .await
        .assert_status(204);
    exact(2).await;
    app.delete_comment(comment, bob.bearer())
        .await
        .assert_status(204);
    exact(1).await;
    app.comment_on(doomed, &bob, "also doomed").await;
    exact(2).await;
    // The post takes a read and an unread notification along.
    app.delete(&format!("/posts/{doomed}"), alice.bearer())
        .await
        .assert_status(204);
    exact(1).await;
    app.comment_on(post_id, &bob, "two").await;
    app.comment_on(post_id, &carol, "three").await;
    exact(3).await;
    // An actor's account going takes their notifications along.
    app.sql(&format!("DELETE FROM users WHERE id = '{}'", carol.id))
        .await;
    exact(1).await;
    app.comment_on(post_id, &bob, "four").await;
    app.mark_all_read(alice.bearer()).await.assert_status(204);
    exact(0).await;
}
