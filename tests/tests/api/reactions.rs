//! The Reactions section of the contract, over HTTP.

use minifb_tests::{Reply, TestApp, User};
use serde_json::{Value, json};

use crate::comments::create_comment;
use crate::notifications::notifications;
use crate::posts::{NEVER_AN_ID, assert_timestamp, create_post, deleted_post, keys, no_reactions};

async fn react(app: &TestApp, user: &User, target: &str, kind: Value) -> Reply {
    app.put(
        &format!("{target}/reaction"),
        Some(&user.token),
        json!({ "type": kind }),
    )
    .await
}

/// `reaction_counts` with the given (type, count) pairs, zeros elsewhere.
fn counts(pairs: &[(&str, i64)]) -> Value {
    let mut counts = no_reactions();
    for (kind, n) in pairs {
        counts[*kind] = json!(n);
    }
    counts
}

async fn read_post(app: &TestApp, id: i64, user: Option<&User>) -> Value {
    let reply = app
        .get(&format!("/posts/{id}"), user.map(|u| u.token.as_str()))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

async fn read_comment(app: &TestApp, post_id: i64, id: i64, user: Option<&User>) -> Value {
    let reply = app
        .get(
            &format!("/posts/{post_id}/comments?limit=100"),
            user.map(|u| u.token.as_str()),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|comment| comment["id"] == id)
        .unwrap_or_else(|| panic!("comment {id} is listed: {}", reply.text))
        .clone()
}

#[tokio::test]
async fn a_new_reaction_is_201_with_the_reaction() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("reactor").await;
    let post_id = create_post(&app, &alice, "like me").await;

    let reply = react(&app, &bob, &format!("/posts/{post_id}"), json!(2)).await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(keys(&reply.body), ["created_at", "modified", "type"]);
    assert_eq!(reply.body["type"], 2);
    assert_eq!(reply.body["modified"], false);
    assert_timestamp(&reply.body["created_at"]);
}

#[tokio::test]
async fn the_same_reaction_again_is_200_and_unchanged() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let post_id = create_post(&app, &alice, "like me twice").await;
    let target = format!("/posts/{post_id}");
    let first = react(&app, &alice, &target, json!(4)).await;
    assert_eq!(first.status, 201, "{}", first.text);

    let again = react(&app, &alice, &target, json!(4)).await;

    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body, first.body);
    assert_eq!(
        read_post(&app, post_id, None).await["reaction_counts"],
        counts(&[("4", 1)])
    );
}

#[tokio::test]
async fn changing_the_type_is_200_modified_and_stays_modified() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("fickle").await;
    let post_id = create_post(&app, &alice, "make up your mind").await;
    let target = format!("/posts/{post_id}");
    let created = react(&app, &bob, &target, json!(1)).await;
    assert_eq!(created.status, 201, "{}", created.text);

    let changed = react(&app, &bob, &target, json!(5)).await;
    let changed_back = react(&app, &bob, &target, json!(1)).await;
    let same_again = react(&app, &bob, &target, json!(1)).await;

    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["type"], 5);
    assert_eq!(changed.body["modified"], true);
    assert_timestamp(&changed.body["created_at"]);
    assert_eq!(changed_back.status, 200, "{}", changed_back.text);
    assert_eq!(changed_back.body["type"], 1);
    assert_eq!(changed_back.body["modified"], true);
    assert_eq!(same_again.status, 200, "{}", same_again.text);
    assert_eq!(same_again.body, changed_back.body);
    let post = read_post(&app, post_id, Some(&bob)).await;
    assert_eq!(post["reaction_counts"], counts(&[("1", 1)]));
    assert_eq!(post["my_reaction"], 1);
}

#[tokio::test]
async fn a_reaction_type_must_be_an_integer_from_1_to_5() {
    let app = TestApp::spawn().await;
    let alice = app.user("typer").await;
    let post_id = create_post(&app, &alice, "pick one").await;
    let path = format!("/posts/{post_id}/reaction");
    let token = Some(alice.token.as_str());

    for body in [
        json!({ "type": 0 }),
        json!({ "type": 6 }),
        json!({ "type": -1 }),
        json!({ "type": "1" }),
        json!({ "type": 1.5 }),
        json!({ "type": null }),
        json!({ "type": true }),
        json!({}),
        json!({ "type": 1, "emoji": "👍" }),
    ] {
        let reply = app.put(&path, token, body.clone()).await;

        let hint = reply.error(400);
        assert!(!hint.is_empty(), "{body}");
    }
    for kind in [0, 6] {
        let reply = app.put(&path, token, json!({ "type": kind })).await;
        assert!(reply.error(400).contains("type"), "{}", reply.text);
    }
    let post = read_post(&app, post_id, Some(&alice)).await;
    assert_eq!(post["reaction_counts"], no_reactions());
    assert_eq!(post["my_reaction"], Value::Null);
}

#[tokio::test]
async fn every_type_from_1_to_5_is_accepted() {
    let app = TestApp::spawn().await;
    let alice = app.user("alltypes").await;
    let mut posts = Vec::new();
    for kind in 1..=5 {
        posts.push((
            kind,
            create_post(&app, &alice, &format!("type {kind}")).await,
        ));
    }

    for (kind, post_id) in &posts {
        let reply = react(&app, &alice, &format!("/posts/{post_id}"), json!(kind)).await;

        assert_eq!(reply.status, 201, "{}", reply.text);
        let post = read_post(&app, *post_id, Some(&alice)).await;
        assert_eq!(post["reaction_counts"][kind.to_string()], 1);
        assert_eq!(post["my_reaction"], *kind);
    }
}

#[tokio::test]
async fn reaction_counts_and_my_reaction_follow_every_reaction() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("reactor").await;
    let post_id = create_post(&app, &alice, "crowd").await;
    let target = format!("/posts/{post_id}");
    react(&app, &alice, &target, json!(1)).await;
    react(&app, &bob, &target, json!(1)).await;
    assert_eq!(
        read_post(&app, post_id, None).await["reaction_counts"],
        counts(&[("1", 2)])
    );

    let changed = react(&app, &bob, &target, json!(3)).await;

    assert_eq!(changed.status, 200, "{}", changed.text);
    let as_bob = read_post(&app, post_id, Some(&bob)).await;
    let as_alice = read_post(&app, post_id, Some(&alice)).await;
    let anonymous = read_post(&app, post_id, None).await;
    let expected = counts(&[("1", 1), ("3", 1)]);
    assert_eq!(as_bob["reaction_counts"], expected);
    assert_eq!(as_alice["reaction_counts"], expected);
    assert_eq!(anonymous["reaction_counts"], expected);
    assert_eq!(as_bob["my_reaction"], 3);
    assert_eq!(as_alice["my_reaction"], 1);
    assert_eq!(anonymous["my_reaction"], Value::Null);
}

#[tokio::test]
async fn withdrawing_a_reaction_is_204_and_a_second_time_404() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("undecided").await;
    let post_id = create_post(&app, &alice, "meh").await;
    let path = format!("/posts/{post_id}/reaction");
    react(&app, &bob, &format!("/posts/{post_id}"), json!(2)).await;

    let withdrawn = app.delete(&path, Some(&bob.token)).await;
    let again = app.delete(&path, Some(&bob.token)).await;

    assert_eq!(withdrawn.status, 204, "{}", withdrawn.text);
    again.error(404);
    let post = read_post(&app, post_id, Some(&bob)).await;
    assert_eq!(post["reaction_counts"], no_reactions());
    assert_eq!(post["my_reaction"], Value::Null);
    app.delete(&path, Some(&alice.token)).await.error(404);
    app.delete(&path, None).await.error(401);
}

#[tokio::test]
async fn reacting_after_withdrawing_is_new_again() {
    let app = TestApp::spawn().await;
    let alice = app.user("again").await;
    let post_id = create_post(&app, &alice, "once more").await;
    let target = format!("/posts/{post_id}");
    react(&app, &alice, &target, json!(2)).await;
    react(&app, &alice, &target, json!(3)).await;
    let withdrawn = app
        .delete(&format!("{target}/reaction"), Some(&alice.token))
        .await;
    assert_eq!(withdrawn.status, 204, "{}", withdrawn.text);

    let reply = react(&app, &alice, &target, json!(4)).await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(reply.body["type"], 4);
    assert_eq!(reply.body["modified"], false);
}

#[tokio::test]
async fn reacting_needs_a_token() {
    let app = TestApp::spawn().await;
    let alice = app.user("rtoken").await;
    let post_id = create_post(&app, &alice, "post").await;

    let reply = app
        .put(
            &format!("/posts/{post_id}/reaction"),
            None,
            json!({ "type": 1 }),
        )
        .await;

    reply.error(401);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    assert_eq!(
        read_post(&app, post_id, None).await["reaction_counts"],
        no_reactions()
    );
}

#[tokio::test]
async fn reacting_to_a_missing_post_is_404_after_the_body_is_checked() {
    let app = TestApp::spawn().await;
    let alice = app.user("rmiss").await;
    let gone = deleted_post(&app, &alice).await;
    let token = Some(alice.token.as_str());

    for id in [gone.to_string(), NEVER_AN_ID.to_owned()] {
        let path = format!("/posts/{id}/reaction");

        app.put(&path, None, json!({ "type": 1 })).await.error(401);
        app.put(&path, token, json!({ "type": 9 })).await.error(400);
        let reply = app.put(&path, token, json!({ "type": 1 })).await;
        assert!(reply.error(404).contains(&id), "{}", reply.text);
        app.delete(&path, token).await.error(404);
    }
    for id in ["abc", "+5", "-1", "99999999999999999999"] {
        app.put(
            &format!("/posts/{id}/reaction"),
            token,
            json!({ "type": 1 }),
        )
        .await
        .error(400);
        app.delete(&format!("/comments/{id}/reaction"), token)
            .await
            .error(400);
    }
}

#[tokio::test]
async fn reacting_to_a_comment_works_like_reacting_to_a_post() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("reactor").await;
    let post_id = create_post(&app, &alice, "post").await;
    let id = create_comment(&app, &alice, post_id, "comment").await;
    let target = format!("/comments/{id}");

    let created = react(&app, &bob, &target, json!(3)).await;
    let same = react(&app, &bob, &target, json!(3)).await;
    let changed = react(&app, &bob, &target, json!(5)).await;

    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(keys(&created.body), ["created_at", "modified", "type"]);
    assert_eq!(created.body["type"], 3);
    assert_eq!(created.body["modified"], false);
    assert_timestamp(&created.body["created_at"]);
    assert_eq!(same.status, 200, "{}", same.text);
    assert_eq!(same.body, created.body);
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["type"], 5);
    assert_eq!(changed.body["modified"], true);
    let as_bob = read_comment(&app, post_id, id, Some(&bob)).await;
    assert_eq!(as_bob["reaction_counts"], counts(&[("5", 1)]));
    assert_eq!(as_bob["my_reaction"], 5);
    let anonymous = read_comment(&app, post_id, id, None).await;
    assert_eq!(anonymous["my_reaction"], Value::Null);
    assert_eq!(
        read_post(&app, post_id, None).await["reaction_counts"],
        no_reactions()
    );
}

#[tokio::test]
async fn withdrawing_a_comment_reaction_is_204_and_a_second_time_404() {
    let app = TestApp::spawn().await;
    let alice = app.user("cwithdraw").await;
    let post_id = create_post(&app, &alice, "post").await;
    let id = create_comment(&app, &alice, post_id, "comment").await;
    let path = format!("/comments/{id}/reaction");
    react(&app, &alice, &format!("/comments/{id}"), json!(1)).await;

    let withdrawn = app.delete(&path, Some(&alice.token)).await;
    let again = app.delete(&path, Some(&alice.token)).await;

    assert_eq!(withdrawn.status, 204, "{}", withdrawn.text);
    again.error(404);
    let comment = read_comment(&app, post_id, id, Some(&alice)).await;
    assert_eq!(comment["reaction_counts"], no_reactions());
    assert_eq!(comment["my_reaction"], Value::Null);
}

#[tokio::test]
async fn comment_reaction_types_must_be_integers_from_1_to_5() {
    let app = TestApp::spawn().await;
    let alice = app.user("ctype").await;
    let post_id = create_post(&app, &alice, "post").await;
    let id = create_comment(&app, &alice, post_id, "comment").await;

    for kind in [json!(0), json!(6), json!("2"), json!(2.5)] {
        let reply = react(&app, &alice, &format!("/comments/{id}"), kind.clone()).await;

        reply.error(400);
    }
    let comment = read_comment(&app, post_id, id, Some(&alice)).await;
    assert_eq!(comment["reaction_counts"], no_reactions());
}

#[tokio::test]
async fn reacting_to_a_missing_comment_is_404() {
    let app = TestApp::spawn().await;
    let alice = app.user("cmiss").await;
    let post_id = create_post(&app, &alice, "post").await;
    let id = create_comment(&app, &alice, post_id, "gone soon").await;
    let deleted = app
        .delete(&format!("/comments/{id}"), Some(&alice.token))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);

    for id in [id.to_string(), NEVER_AN_ID.to_owned()] {
        let path = format!("/comments/{id}/reaction");

        let reply = app
            .put(&path, Some(&alice.token), json!({ "type": 1 }))
            .await;

        assert!(reply.error(404).contains(&id), "{}", reply.text);
        app.delete(&path, Some(&alice.token)).await.error(404);
    }
}

#[tokio::test]
async fn concurrent_identical_reactions_create_exactly_one() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("spammer").await;
    let post_id = create_post(&app, &alice, "race me").await;
    let path = format!("/posts/{post_id}/reaction");

    let replies = futures::future::join_all(
        (0..24).map(|_| app.put(&path, Some(&bob.token), json!({ "type": 2 }))),
    )
    .await;

    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s < 500), "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        23,
        "{statuses:?}"
    );
    for reply in &replies {
        assert_eq!(reply.body["type"], 2, "{}", reply.text);
        assert_eq!(reply.body["modified"], false, "{}", reply.text);
    }
    let post = read_post(&app, post_id, Some(&bob)).await;
    assert_eq!(post["reaction_counts"], counts(&[("2", 1)]));
    assert_eq!(post["my_reaction"], 2);
    let page = notifications(&app, &alice, "?limit=100").await;
    let from_bob: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| {
            n["type"] == 2 && n["actor"]["id"] == bob.id.as_str() && n["post_id"] == post_id
        })
        .collect();
    assert_eq!(from_bob.len(), 1, "{page}");
    assert_eq!(page["unread_count"], 1);
}

#[tokio::test]
async fn concurrent_reactions_of_different_types_leave_exactly_one() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("indecisive").await;
    let post_id = create_post(&app, &alice, "race me harder").await;
    let path = format!("/posts/{post_id}/reaction");

    let replies = futures::future::join_all(
        (0..20).map(|n| app.put(&path, Some(&bob.token), json!({ "type": n % 5 + 1 }))),
    )
    .await;

    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s < 500), "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    let post = read_post(&app, post_id, Some(&bob)).await;
    let counts = post["reaction_counts"].as_object().unwrap();
    let total: i64 = counts.values().map(|n| n.as_i64().unwrap()).sum();
    assert_eq!(total, 1, "{post}");
    let mine = post["my_reaction"].as_i64().unwrap();
    assert_eq!(post["reaction_counts"][mine.to_string()], 1, "{post}");
    let page = notifications(&app, &alice, "").await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
}
