//! The Notifications section of the contract, over HTTP: which actions
//! notify whom, withdrawal, reading, and what deleting a post takes along.

use minifb_tests::{Reply, TestApp, User};
use reqwest::Method;
use serde_json::{Value, json};

use crate::comments::create_comment;
use crate::posts::{NEVER_AN_ID, assert_timestamp, create_post, item_ids, keys};

/// The caller's notifications page; `query` starts with `?` or is empty.
pub(crate) async fn notifications(app: &TestApp, user: &User, query: &str) -> Value {
    let reply = app
        .get(&format!("/me/notifications{query}"), Some(&user.token))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

/// A POST without a body, as the read routes take none.
async fn post_empty(app: &TestApp, path: &str, token: Option<&str>) -> Reply {
    app.request(Method::POST, path, token, None).await
}

async fn react(app: &TestApp, user: &User, post_id: i64, kind: i64) -> Reply {
    let reply = app
        .put(
            &format!("/posts/{post_id}/reaction"),
            Some(&user.token),
            json!({ "type": kind }),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.text);
    reply
}

fn types(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_i64().unwrap())
        .collect()
}

#[tokio::test]
async fn commenting_on_someone_elses_post_notifies_its_owner() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("commenter").await;
    let post_id = create_post(&app, &alice, "tell me").await;

    let comment_id = create_comment(&app, &bob, post_id, "telling you").await;

    let page = notifications(&app, &alice, "").await;
    assert_eq!(page["unread_count"], 1, "{page}");
    assert_eq!(page["next_cursor"], Value::Null);
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
    assert_eq!(
        notification["actor"],
        json!({ "id": bob.id, "name": "Tester", "nickname": null })
    );
    assert_eq!(notification["post_id"], post_id);
    assert_eq!(notification["comment_id"], comment_id);
    assert_eq!(notification["read"], false);
    assert_timestamp(&notification["created_at"]);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let bobs = notifications(&app, &bob, "").await;
    assert_eq!(bobs["items"], json!([]));
    assert_eq!(bobs["unread_count"], 0);
}

#[tokio::test]
async fn reacting_to_someone_elses_post_notifies_its_owner_without_a_comment_id() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("fan").await;
    let post_id = create_post(&app, &alice, "like it").await;

    react(&app, &bob, post_id, 4).await;

    let page = notifications(&app, &alice, "").await;
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
    let app = TestApp::spawn().await;
    let alice = app.user("selfish").await;
    let post_id = create_post(&app, &alice, "talking to myself").await;

    create_comment(&app, &alice, post_id, "me again").await;
    react(&app, &alice, post_id, 1).await;

    let page = notifications(&app, &alice, "").await;
    assert_eq!(page["items"], json!([]));
    assert_eq!(page["unread_count"], 0);
}

#[tokio::test]
async fn reacting_to_a_comment_notifies_nobody() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("commenter").await;
    let post_id = create_post(&app, &alice, "post").await;
    let comment_id = create_comment(&app, &bob, post_id, "comment").await;

    let reply = app
        .put(
            &format!("/comments/{comment_id}/reaction"),
            Some(&alice.token),
            json!({ "type": 1 }),
        )
        .await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(notifications(&app, &bob, "").await["items"], json!([]));
    assert_eq!(types(&notifications(&app, &alice, "").await), [1]);
}

#[tokio::test]
async fn changing_a_reaction_does_not_notify_again() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("fickle").await;
    let post_id = create_post(&app, &alice, "post").await;
    react(&app, &bob, post_id, 1).await;

    react(&app, &bob, post_id, 3).await;
    react(&app, &bob, post_id, 3).await;
    react(&app, &bob, post_id, 1).await;

    let page = notifications(&app, &alice, "").await;
    assert_eq!(types(&page), [2], "{page}");
    assert_eq!(page["unread_count"], 1);
}

#[tokio::test]
async fn withdrawing_a_reaction_withdraws_its_unread_notification() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("fickle").await;
    let post_id = create_post(&app, &alice, "post").await;
    react(&app, &bob, post_id, 2).await;
    react(&app, &bob, post_id, 5).await;
    let before = notifications(&app, &alice, "").await;
    let withdrawn_id = before["items"][0]["id"].as_i64().unwrap();

    let reply = app
        .delete(&format!("/posts/{post_id}/reaction"), Some(&bob.token))
        .await;

    assert_eq!(reply.status, 204, "{}", reply.text);
    let after = notifications(&app, &alice, "").await;
    assert_eq!(after["items"], json!([]));
    assert_eq!(after["unread_count"], 0);
    post_empty(
        &app,
        &format!("/me/notifications/{withdrawn_id}/read"),
        Some(&alice.token),
    )
    .await
    .error(404);
    react(&app, &bob, post_id, 2).await;
    let renewed = notifications(&app, &alice, "").await;
    assert_eq!(types(&renewed), [2], "{renewed}");
}

#[tokio::test]
async fn deleting_a_comment_withdraws_its_unread_notification() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("commenter").await;
    let post_id = create_post(&app, &alice, "post").await;
    let by_author = create_comment(&app, &bob, post_id, "deleted by bob").await;
    let by_owner = create_comment(&app, &bob, post_id, "deleted by alice").await;
    let kept = create_comment(&app, &bob, post_id, "kept").await;
    assert_eq!(notifications(&app, &alice, "").await["unread_count"], 3);

    let first = app
        .delete(&format!("/comments/{by_author}"), Some(&bob.token))
        .await;
    let second = app
        .delete(&format!("/comments/{by_owner}"), Some(&alice.token))
        .await;

    assert_eq!(first.status, 204, "{}", first.text);
    assert_eq!(second.status, 204, "{}", second.text);
    let page = notifications(&app, &alice, "").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["comment_id"], kept);
    assert_eq!(page["unread_count"], 1);
}

#[tokio::test]
async fn a_read_notification_is_not_withdrawn() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("fan").await;
    let post_id = create_post(&app, &alice, "post").await;
    let comment_id = create_comment(&app, &bob, post_id, "comment").await;
    react(&app, &bob, post_id, 1).await;
    let read = post_empty(&app, "/me/notifications/read-all", Some(&alice.token)).await;
    assert_eq!(read.status, 204, "{}", read.text);

    let deleted = app
        .delete(&format!("/comments/{comment_id}"), Some(&bob.token))
        .await;
    let withdrawn = app
        .delete(&format!("/posts/{post_id}/reaction"), Some(&bob.token))
        .await;

    assert_eq!(deleted.status, 204, "{}", deleted.text);
    assert_eq!(withdrawn.status, 204, "{}", withdrawn.text);
    let page = notifications(&app, &alice, "").await;
    assert_eq!(types(&page), [2, 1], "{page}");
    assert_eq!(page["items"][1]["comment_id"], comment_id);
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["read"] == true)
    );
    assert_eq!(page["unread_count"], 0);
}

#[tokio::test]
async fn notifications_are_newest_first_and_the_unread_filter_keeps_unread_ones() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("fan").await;
    let post_id = create_post(&app, &alice, "post").await;
    create_comment(&app, &bob, post_id, "first").await;
    react(&app, &bob, post_id, 3).await;
    create_comment(&app, &bob, post_id, "second").await;
    let all = notifications(&app, &alice, "").await;
    let ids = item_ids(&all);
    assert_eq!(types(&all), [1, 2, 1]);
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "{ids:?}");
    let read = post_empty(
        &app,
        &format!("/me/notifications/{}/read", ids[1]),
        Some(&alice.token),
    )
    .await;
    assert_eq!(read.status, 204, "{}", read.text);

    let everything = notifications(&app, &alice, "").await;
    let unread = notifications(&app, &alice, "?unread=true").await;
    let not_only_unread = notifications(&app, &alice, "?unread=false").await;

    assert_eq!(item_ids(&everything), ids);
    let flags: Vec<&Value> = everything["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["read"])
        .collect();
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
    let app = TestApp::spawn().await;
    let alice = app.user("filter").await;

    for value in ["maybe", "1", "0", "yes", "TRUE", "True"] {
        let reply = app
            .get(
                &format!("/me/notifications?unread={value}"),
                Some(&alice.token),
            )
            .await;

        let hint = reply.error(400);
        assert!(hint.contains("unread"), "{value}: {hint}");
    }
}

#[tokio::test]
async fn marking_a_notification_read_is_204_and_idempotent() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("fan").await;
    let post_id = create_post(&app, &alice, "post").await;
    react(&app, &bob, post_id, 1).await;
    let id = notifications(&app, &alice, "").await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let path = format!("/me/notifications/{id}/read");

    let first = post_empty(&app, &path, Some(&alice.token)).await;
    let second = post_empty(&app, &path, Some(&alice.token)).await;

    assert_eq!(first.status, 204, "{}", first.text);
    assert_eq!(second.status, 204, "{}", second.text);
    let page = notifications(&app, &alice, "").await;
    assert_eq!(page["items"][0]["read"], true);
    assert_eq!(page["unread_count"], 0);
    assert_eq!(
        notifications(&app, &alice, "?unread=true").await["items"],
        json!([])
    );
}

#[tokio::test]
async fn marking_someone_elses_notification_read_is_404() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("snoop").await;
    let post_id = create_post(&app, &alice, "post").await;
    react(&app, &bob, post_id, 1).await;
    let id = notifications(&app, &alice, "").await["items"][0]["id"]
        .as_i64()
        .unwrap();

    let reply = post_empty(
        &app,
        &format!("/me/notifications/{id}/read"),
        Some(&bob.token),
    )
    .await;

    reply.error(404);
    let page = notifications(&app, &alice, "").await;
    assert_eq!(page["items"][0]["read"], false);
    assert_eq!(page["unread_count"], 1);
}

#[tokio::test]
async fn marking_read_checks_the_token_then_the_id_then_the_notification() {
    let app = TestApp::spawn().await;
    let alice = app.user("reader").await;
    let token = Some(alice.token.as_str());

    post_empty(&app, &format!("/me/notifications/{NEVER_AN_ID}/read"), None)
        .await
        .error(401);
    post_empty(&app, "/me/notifications/read-all", None)
        .await
        .error(401);
    for id in ["abc", "+5", "-1", "99999999999999999999"] {
        post_empty(&app, &format!("/me/notifications/{id}/read"), token)
            .await
            .error(400);
    }
    post_empty(
        &app,
        &format!("/me/notifications/{NEVER_AN_ID}/read"),
        token,
    )
    .await
    .error(404);
    let listed = app.get("/me/notifications", None).await;
    listed.error(401);
    assert_eq!(listed.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn read_all_marks_only_my_notifications_read() {
    let app = TestApp::spawn().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let alices = create_post(&app, &alice, "alice's").await;
    let bobs = create_post(&app, &bob, "bob's").await;
    create_comment(&app, &bob, alices, "hi alice").await;
    react(&app, &bob, alices, 5).await;
    create_comment(&app, &alice, bobs, "hi bob").await;

    let reply = post_empty(&app, "/me/notifications/read-all", Some(&alice.token)).await;

    assert_eq!(reply.status, 204, "{}", reply.text);
    assert!(reply.text.is_empty(), "{}", reply.text);
    let mine = notifications(&app, &alice, "").await;
    assert_eq!(mine["unread_count"], 0);
    assert_eq!(mine["items"].as_array().unwrap().len(), 2);
    assert!(
        mine["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["read"] == true)
    );
    assert_eq!(
        notifications(&app, &alice, "?unread=true").await["items"],
        json!([])
    );
    let theirs = notifications(&app, &bob, "").await;
    assert_eq!(theirs["unread_count"], 1);
    assert_eq!(theirs["items"][0]["read"], false);
    let again = post_empty(&app, "/me/notifications/read-all", Some(&alice.token)).await;
    assert_eq!(again.status, 204, "{}", again.text);
}

#[tokio::test]
async fn deleting_a_post_removes_its_comments_reactions_and_notifications() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("fan").await;
    let doomed = create_post(&app, &alice, "doomed").await;
    let kept = create_post(&app, &alice, "kept").await;
    let bobs_comment = create_comment(&app, &bob, doomed, "on doomed").await;
    let alices_comment = create_comment(&app, &alice, doomed, "mine").await;
    react(&app, &bob, doomed, 2).await;
    let comment_reaction = app
        .put(
            &format!("/comments/{alices_comment}/reaction"),
            Some(&bob.token),
            json!({ "type": 4 }),
        )
        .await;
    assert_eq!(comment_reaction.status, 201, "{}", comment_reaction.text);
    let kept_comment = create_comment(&app, &bob, kept, "on kept").await;
    let before = notifications(&app, &alice, "").await;
    assert_eq!(types(&before), [1, 2, 1], "{before}");
    // A read notification goes with its post too.
    let oldest = item_ids(&before)[2];
    let read = post_empty(
        &app,
        &format!("/me/notifications/{oldest}/read"),
        Some(&alice.token),
    )
    .await;
    assert_eq!(read.status, 204, "{}", read.text);

    let reply = app
        .delete(&format!("/posts/{doomed}"), Some(&alice.token))
        .await;

    assert_eq!(reply.status, 204, "{}", reply.text);
    let after = notifications(&app, &alice, "").await;
    assert_eq!(after["items"].as_array().unwrap().len(), 1, "{after}");
    assert_eq!(after["items"][0]["post_id"], kept);
    assert_eq!(after["items"][0]["comment_id"], kept_comment);
    assert_eq!(after["unread_count"], 1);
    app.get(&format!("/posts/{doomed}/comments"), None)
        .await
        .error(404);
    app.patch(
        &format!("/comments/{bobs_comment}"),
        Some(&bob.token),
        json!({ "content": "still here?" }),
    )
    .await
    .error(404);
    app.put(
        &format!("/comments/{alices_comment}/reaction"),
        Some(&bob.token),
        json!({ "type": 1 }),
    )
    .await
    .error(404);
    app.delete(
        &format!("/comments/{alices_comment}/reaction"),
        Some(&bob.token),
    )
    .await
    .error(404);
    app.delete(&format!("/posts/{doomed}/reaction"), Some(&bob.token))
        .await
        .error(404);
    let survivor = app.get(&format!("/posts/{kept}"), None).await;
    assert_eq!(survivor.body["comment_count"], 1, "{}", survivor.text);
}
