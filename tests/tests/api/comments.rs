//! The Comments section of the contract, over HTTP.

use minifb_tests::{TestApp, User};
use serde_json::{Value, json};

use crate::posts::{
    NEVER_AN_ID, assert_timestamp, create_post, deleted_post, item_ids, keys, no_reactions,
};

/// Comments on `post_id` as `user` and returns the comment's id.
pub(crate) async fn create_comment(app: &TestApp, user: &User, post_id: i64, content: &str) -> i64 {
    let reply = app
        .post(
            &format!("/posts/{post_id}/comments"),
            Some(&user.token),
            json!({ "content": content }),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"]
        .as_i64()
        .expect("a comment id is an integer")
}

async fn comment_count(app: &TestApp, post_id: i64) -> Value {
    let reply = app.get(&format!("/posts/{post_id}"), None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["comment_count"].clone()
}

#[tokio::test]
async fn commenting_returns_201_with_the_full_comment_shape() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("commenter").await;
    let post_id = create_post(&app, &alice, "say something").await;
    let content = "  좋은 글이네요 👍🏻\n\t감사합니다  ";

    let reply = app
        .post(
            &format!("/posts/{post_id}/comments"),
            Some(&bob.token),
            json!({ "content": content }),
        )
        .await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    let comment = &reply.body;
    assert_eq!(
        keys(comment),
        [
            "author",
            "content",
            "created_at",
            "id",
            "modified",
            "my_reaction",
            "post_id",
            "reaction_counts",
            "updated_at"
        ]
    );
    assert!(comment["id"].is_i64(), "{comment}");
    assert_eq!(comment["post_id"], post_id);
    assert_eq!(
        comment["author"],
        json!({ "id": bob.id, "name": "Tester", "nickname": null })
    );
    assert_eq!(comment["content"], content);
    assert_eq!(comment["modified"], false);
    assert_timestamp(&comment["created_at"]);
    assert_eq!(comment["updated_at"], Value::Null);
    assert_eq!(comment["reaction_counts"], no_reactions());
    assert_eq!(comment["my_reaction"], Value::Null);
}

#[tokio::test]
async fn comment_content_must_be_1_to_1000_characters_and_not_blank() {
    let app = TestApp::spawn().await;
    let alice = app.user("cval").await;
    let post_id = create_post(&app, &alice, "post").await;
    let path = format!("/posts/{post_id}/comments");
    let token = Some(alice.token.as_str());

    for body in [
        json!({ "content": "" }),
        json!({ "content": " \n\t" }),
        json!({ "content": "\u{3000}" }),
        json!({ "content": "a".repeat(1001) }),
        json!({ "content": "가".repeat(1001) }),
        json!({ "content": "a\u{0}" }),
        json!({ "content": "hi", "post_id": post_id }),
        json!({}),
    ] {
        let reply = app.post(&path, token, body.clone()).await;

        reply.error(400);
    }
    let longest = app
        .post(&path, token, json!({ "content": "가".repeat(1000) }))
        .await;
    assert_eq!(longest.status, 201, "{}", longest.text);
    assert_eq!(comment_count(&app, post_id).await, 1);
}

#[tokio::test]
async fn commenting_needs_a_token() {
    let app = TestApp::spawn().await;
    let alice = app.user("ctoken").await;
    let post_id = create_post(&app, &alice, "post").await;

    let reply = app
        .post(
            &format!("/posts/{post_id}/comments"),
            None,
            json!({ "content": "anonymous" }),
        )
        .await;

    reply.error(401);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
    assert_eq!(comment_count(&app, post_id).await, 0);
}

#[tokio::test]
async fn comments_are_listed_oldest_first_to_anyone() {
    let app = TestApp::spawn().await;
    let alice = app.user("lister").await;
    let bob = app.user("lister").await;
    let post_id = create_post(&app, &alice, "discuss").await;
    let first = create_comment(&app, &bob, post_id, "first").await;
    let second = create_comment(&app, &alice, post_id, "second").await;
    let third = create_comment(&app, &bob, post_id, "third").await;

    let anonymous = app.get(&format!("/posts/{post_id}/comments"), None).await;
    let as_bob = app
        .get(&format!("/posts/{post_id}/comments"), Some(&bob.token))
        .await;

    assert_eq!(anonymous.status, 200, "{}", anonymous.text);
    assert_eq!(item_ids(&anonymous.body), [first, second, third]);
    assert_eq!(anonymous.body["next_cursor"], Value::Null);
    assert_eq!(anonymous.body["items"][1]["content"], "second");
    assert_eq!(anonymous.body["items"][1]["post_id"], post_id);
    assert_eq!(as_bob.body, anonymous.body);
}

#[tokio::test]
async fn comments_of_another_post_are_not_listed() {
    let app = TestApp::spawn().await;
    let alice = app.user("twoposts").await;
    let one = create_post(&app, &alice, "one").await;
    let other = create_post(&app, &alice, "other").await;
    let on_one = create_comment(&app, &alice, one, "on one").await;
    create_comment(&app, &alice, other, "on other").await;

    let reply = app.get(&format!("/posts/{one}/comments"), None).await;

    assert_eq!(item_ids(&reply.body), [on_one]);
}

#[tokio::test]
async fn commenting_on_a_missing_or_deleted_post_is_404() {
    let app = TestApp::spawn().await;
    let alice = app.user("cmiss").await;
    let gone = deleted_post(&app, &alice).await;
    let token = Some(alice.token.as_str());
    let body = json!({ "content": "hello?" });

    let deleted = app
        .post(&format!("/posts/{gone}/comments"), token, body.clone())
        .await;
    let never = app
        .post(&format!("/posts/{NEVER_AN_ID}/comments"), token, body)
        .await;
    let listed = app.get(&format!("/posts/{gone}/comments"), None).await;

    assert!(deleted.error(404).contains(&gone.to_string()));
    never.error(404);
    listed.error(404);
}

#[tokio::test]
async fn commenting_checks_the_token_then_the_body_then_the_post() {
    let app = TestApp::spawn().await;
    let alice = app.user("corder").await;
    let gone = deleted_post(&app, &alice).await;
    let path = format!("/posts/{gone}/comments");
    let token = Some(alice.token.as_str());

    app.post(&path, None, json!({ "content": "hi" }))
        .await
        .error(401);
    app.post(&path, token, json!({ "content": "" }))
        .await
        .error(400);
    app.post("/posts/abc/comments", token, json!({ "content": "hi" }))
        .await
        .error(400);
    app.post(&path, token, json!({ "content": "hi" }))
        .await
        .error(404);
}

#[tokio::test]
async fn comment_ids_in_paths_must_be_ascii_digits_of_a_64_bit_integer() {
    let app = TestApp::spawn().await;
    let alice = app.user("cpath").await;
    let token = Some(alice.token.as_str());

    for id in ["abc", "+5", "-1", "99999999999999999999"] {
        app.get(&format!("/posts/{id}/comments"), None)
            .await
            .error(400);
        app.patch(&format!("/comments/{id}"), token, json!({ "content": "x" }))
            .await
            .error(400);
        app.delete(&format!("/comments/{id}"), token)
            .await
            .error(400);
    }
    app.patch(
        &format!("/comments/{NEVER_AN_ID}"),
        token,
        json!({ "content": "x" }),
    )
    .await
    .error(404);
    app.delete(&format!("/comments/{NEVER_AN_ID}"), token)
        .await
        .error(404);
}

#[tokio::test]
async fn the_author_can_edit_a_comment_which_marks_it_modified() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("author").await;
    let post_id = create_post(&app, &alice, "post").await;
    let created = app
        .post(
            &format!("/posts/{post_id}/comments"),
            Some(&bob.token),
            json!({ "content": "typo" }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();

    let patched = app
        .patch(
            &format!("/comments/{id}"),
            Some(&bob.token),
            json!({ "content": "fixed ✅" }),
        )
        .await;

    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["id"], id);
    assert_eq!(patched.body["post_id"], post_id);
    assert_eq!(patched.body["content"], "fixed ✅");
    assert_eq!(patched.body["modified"], true);
    assert_eq!(patched.body["created_at"], created.body["created_at"]);
    assert_timestamp(&patched.body["updated_at"]);
    assert!(patched.body["updated_at"].as_str() >= created.body["created_at"].as_str());
    let listed = app.get(&format!("/posts/{post_id}/comments"), None).await;
    assert_eq!(listed.body["items"][0]["content"], "fixed ✅");
    assert_eq!(listed.body["items"][0]["modified"], true);
    assert_eq!(
        listed.body["items"][0]["updated_at"],
        patched.body["updated_at"]
    );
}

#[tokio::test]
async fn a_comment_patch_must_be_a_valid_content_and_nothing_else() {
    let app = TestApp::spawn().await;
    let alice = app.user("cpatch").await;
    let post_id = create_post(&app, &alice, "post").await;
    let id = create_comment(&app, &alice, post_id, "unchanged").await;

    for body in [
        json!({}),
        json!({ "content": "" }),
        json!({ "content": "\t \n" }),
        json!({ "content": "b".repeat(1001) }),
        json!({ "content": "ok", "modified": false }),
    ] {
        let reply = app
            .patch(&format!("/comments/{id}"), Some(&alice.token), body.clone())
            .await;

        reply.error(400);
    }
    let listed = app.get(&format!("/posts/{post_id}/comments"), None).await;
    assert_eq!(listed.body["items"][0]["content"], "unchanged");
    assert_eq!(listed.body["items"][0]["modified"], false);
}

#[tokio::test]
async fn patching_someone_elses_comment_is_forbidden_even_for_the_post_owner() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("author").await;
    let carol = app.user("stranger").await;
    let post_id = create_post(&app, &alice, "post").await;
    let id = create_comment(&app, &bob, post_id, "bob's words").await;

    let by_post_owner = app
        .patch(
            &format!("/comments/{id}"),
            Some(&alice.token),
            json!({ "content": "alice's words" }),
        )
        .await;
    let by_stranger = app
        .patch(
            &format!("/comments/{id}"),
            Some(&carol.token),
            json!({ "content": "carol's words" }),
        )
        .await;

    let expected = format!("You have not permission for 'PATCH /comments/{id}'");
    assert_eq!(by_post_owner.error(403), expected);
    assert_eq!(by_stranger.error(403), expected);
    let listed = app.get(&format!("/posts/{post_id}/comments"), None).await;
    assert_eq!(listed.body["items"][0]["content"], "bob's words");
    assert_eq!(listed.body["items"][0]["modified"], false);
}

#[tokio::test]
async fn the_author_can_delete_their_comment() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("author").await;
    let post_id = create_post(&app, &alice, "post").await;
    let kept = create_comment(&app, &alice, post_id, "stays").await;
    let id = create_comment(&app, &bob, post_id, "regret").await;

    let reply = app
        .delete(&format!("/comments/{id}"), Some(&bob.token))
        .await;

    assert_eq!(reply.status, 204, "{}", reply.text);
    let listed = app.get(&format!("/posts/{post_id}/comments"), None).await;
    assert_eq!(item_ids(&listed.body), [kept]);
    app.delete(&format!("/comments/{id}"), Some(&bob.token))
        .await
        .error(404);
    app.patch(
        &format!("/comments/{id}"),
        Some(&bob.token),
        json!({ "content": "back?" }),
    )
    .await
    .error(404);
}

#[tokio::test]
async fn the_post_owner_can_delete_any_comment_on_their_post() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("troll").await;
    let post_id = create_post(&app, &alice, "my post").await;
    let id = create_comment(&app, &bob, post_id, "spam").await;

    let reply = app
        .delete(&format!("/comments/{id}"), Some(&alice.token))
        .await;

    assert_eq!(reply.status, 204, "{}", reply.text);
    let listed = app.get(&format!("/posts/{post_id}/comments"), None).await;
    assert_eq!(listed.body["items"], json!([]));
}

#[tokio::test]
async fn a_third_user_cannot_delete_a_comment() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("author").await;
    let carol = app.user("stranger").await;
    let post_id = create_post(&app, &alice, "post").await;
    let id = create_comment(&app, &bob, post_id, "bob's").await;

    let reply = app
        .delete(&format!("/comments/{id}"), Some(&carol.token))
        .await;

    assert_eq!(
        reply.error(403),
        format!("You have not permission for 'DELETE /comments/{id}'")
    );
    let listed = app.get(&format!("/posts/{post_id}/comments"), None).await;
    assert_eq!(item_ids(&listed.body), [id]);
}

#[tokio::test]
async fn comment_count_follows_creates_and_deletes() {
    let app = TestApp::spawn().await;
    let alice = app.user("counter").await;
    let bob = app.user("counter").await;
    let post_id = create_post(&app, &alice, "count me").await;
    assert_eq!(comment_count(&app, post_id).await, 0);

    let first = create_comment(&app, &bob, post_id, "one").await;
    create_comment(&app, &alice, post_id, "two").await;
    create_comment(&app, &bob, post_id, "three").await;
    assert_eq!(comment_count(&app, post_id).await, 3);
    let deleted = app
        .delete(&format!("/comments/{first}"), Some(&bob.token))
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.text);

    assert_eq!(comment_count(&app, post_id).await, 2);
    let timeline = app.get("/me/timeline", Some(&alice.token)).await;
    assert_eq!(timeline.body["items"][0]["comment_count"], 2);
}

#[tokio::test]
async fn concurrent_comments_are_all_counted() {
    let app = TestApp::spawn().await;
    let alice = app.user("busy").await;
    let post_id = create_post(&app, &alice, "hot topic").await;
    let path = format!("/posts/{post_id}/comments");

    let replies = futures::future::join_all((0..12).map(|n| {
        app.post(
            &path,
            Some(&alice.token),
            json!({ "content": format!("#{n}") }),
        )
    }))
    .await;

    assert!(
        replies.iter().all(|reply| reply.status == 201),
        "{replies:?}"
    );
    assert_eq!(comment_count(&app, post_id).await, 12);
    let listed = app.get(&format!("{path}?limit=100"), None).await;
    let mut listed_ids = item_ids(&listed.body);
    let mut created_ids: Vec<i64> = replies
        .iter()
        .map(|reply| reply.body["id"].as_i64().unwrap())
        .collect();
    listed_ids.sort_unstable();
    created_ids.sort_unstable();
    created_ids.dedup();
    assert_eq!(listed_ids, created_ids);
    assert_eq!(created_ids.len(), 12);
}
