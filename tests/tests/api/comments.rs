//! The Comments section of the contract, over HTTP.

use minifb_tests::{
    NEVER_AN_ID, TestApp, assert_edited, assert_timestamp, id_of, item_ids, items, keys,
    no_reactions,
};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn commenting_returns_201_with_the_full_comment_shape() {
    let (app, _, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let content = "  좋은 글이네요 👍🏻\n\t감사합니다  ";

    let comment = app.new_comment(post_id, &bob, content).await;

    assert_eq!(
        keys(&comment),
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
    assert_eq!(comment["author"], bob.as_author());
    assert_eq!(comment["content"], content);
    assert_eq!(comment["modified"], false);
    assert_timestamp(&comment["created_at"]);
    assert_eq!(comment["updated_at"], Value::Null);
    assert_eq!(comment["reaction_counts"], no_reactions());
    assert_eq!(comment["my_reaction"], Value::Null);
}

#[tokio::test]
async fn comments_are_listed_oldest_first_to_anyone() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let mut written = Vec::new();
    for (author, content) in [(&bob, "first"), (&alice, "second"), (&bob, "third")] {
        written.push(app.comment_on(post_id, author, content).await);
    }

    let anonymous = app.comments(post_id, None).await;
    let as_bob = app.comments(post_id, Some(&bob)).await;

    assert_eq!(item_ids(&anonymous), written);
    assert_eq!(anonymous["next_cursor"], Value::Null);
    assert_eq!(anonymous["items"][1]["content"], "second");
    assert_eq!(anonymous["items"][1]["post_id"], post_id);
    assert_eq!(as_bob, anonymous);
}

#[tokio::test]
async fn comments_of_another_post_are_not_listed() {
    let (app, alice) = TestApp::with_user("twoposts").await;
    let one = app.post_by(&alice, "one").await;
    let other = app.post_by(&alice, "other").await;
    let on_one = app.comment_on(one, &alice, "on one").await;
    app.comment_on(other, &alice, "on other").await;

    let listed = app.comments(one, None).await;

    assert_eq!(item_ids(&listed), [on_one]);
}

#[tokio::test]
async fn commenting_on_a_missing_or_deleted_post_is_404() {
    let (app, alice) = TestApp::with_user("cmiss").await;
    let gone = app.deleted_post(&alice).await;
    let body = json!({ "content": "hello?" });

    let deleted = format!("/posts/{gone}/comments");
    let deleted = app.post(&deleted, alice.bearer(), body.clone()).await;
    let never = format!("/posts/{NEVER_AN_ID}/comments");
    let never = app.post(&never, alice.bearer(), body).await;
    let listed = app.get(&format!("/posts/{gone}/comments"), None).await;

    deleted.assert_error(404, &gone.to_string());
    never.error(404);
    listed.error(404);
}

/// Each row a comment and the status that says which check refused it
/// first: the token, then the body, then the post.
#[tokio::test]
async fn commenting_checks_the_token_then_the_body_then_the_post() {
    let (app, alice) = TestApp::with_user("corder").await;
    let gone: &str = &format!("/posts/{}/comments", app.deleted_post(&alice).await);
    let token = alice.bearer();
    let (valid, invalid) = (&json!({ "content": "hi" }), &json!({ "content": "" }));
    let cases = [
        (gone, None, valid, 401),
        (gone, token, invalid, 400),
        ("/posts/abc/comments", token, valid, 400),
        (gone, token, valid, 404),
    ];

    for (path, token, body, status) in cases {
        app.post(path, token, body.clone()).await.error(status);
    }
}

#[tokio::test]
async fn the_author_can_edit_a_comment_which_marks_it_modified() {
    let (app, _, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let created = app.new_comment(post_id, &bob, "typo").await;
    let path = format!("/comments/{}", created["id"]);

    let patched = app.edit(&bob, &path, "fixed ✅").await;

    let patched = &patched.assert_status(200).body;
    assert_edited(patched, &created, "fixed ✅");
    assert_eq!(patched["post_id"], post_id);
    assert_eq!(patched["modified"], true);
    let listed = app.comments(post_id, None).await;
    assert_eq!(listed["items"][0]["content"], "fixed ✅");
    assert_eq!(listed["items"][0]["modified"], true);
    assert_eq!(listed["items"][0]["updated_at"], patched["updated_at"]);
}

/// Each row someone editing or deleting Bob's comment on Alice's post,
/// the status, and what the comment then says and whether it is marked
/// modified (`None`: it is gone).
#[tokio::test]
async fn only_the_author_edits_a_comment_and_only_the_author_or_the_post_owner_deletes_it() {
    let (app, alice, bob, _) = TestApp::with_alices_post_and_bob().await;
    let carol = app.user("stranger").await;
    let (edit, delete) = (&Method::PATCH, &Method::DELETE);
    let (edited, unchanged) = (Some(("new words", true)), Some(("bob's words", false)));
    let cases = [
        ("the author edits", &bob, edit, 200, edited),
        ("the post's owner edits", &alice, edit, 403, unchanged),
        ("a stranger edits", &carol, edit, 403, unchanged),
        ("the author deletes", &bob, delete, 204, None),
        ("the post's owner deletes", &alice, delete, 204, None),
        ("a stranger deletes", &carol, delete, 403, unchanged),
    ];

    for (label, who, method, status, then) in cases {
        let post_id = app.post_by(&alice, "post").await;
        let kept = app.comment_on(post_id, &alice, "stays").await;
        let id = app.comment_on(post_id, &bob, "bob's words").await;
        let path = format!("/comments/{id}");
        let body = (method == edit).then(|| json!({ "content": "new words" }));

        let reply = app.request(method.clone(), &path, who.bearer(), body).await;

        let reply = reply.labelled(label);
        match status {
            403 => reply.assert_forbidden(),
            _ => reply.assert_outcome(status),
        }
        let listed = app.comments(post_id, None).await;
        let Some((content, modified)) = then else {
            assert_eq!(item_ids(&listed), [kept], "{label}");
            app.delete_comment(id, bob.bearer()).await.error(404);
            app.edit(&bob, &path, "back?").await.error(404);
            continue;
        };
        assert_eq!(item_ids(&listed), [kept, id], "{label}");
        assert_eq!(items(&listed)[1]["content"], content, "{label}");
        assert_eq!(items(&listed)[1]["modified"], modified, "{label}");
    }
}

#[tokio::test]
async fn comment_count_follows_creates_and_deletes() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    assert_eq!(app.comment_count(post_id).await, 0);

    let first = app.comment_on(post_id, &bob, "one").await;
    app.comment_on(post_id, &alice, "two").await;
    app.comment_on(post_id, &bob, "three").await;
    assert_eq!(app.comment_count(post_id).await, 3);
    let deleted = app.delete_comment(first, bob.bearer()).await;
    deleted.assert_status(204);

    assert_eq!(app.comment_count(post_id).await, 2);
    let timeline = app.get("/me/timeline", alice.bearer()).await;
    assert_eq!(timeline.body["items"][0]["comment_count"], 2);
}

#[tokio::test]
async fn concurrent_comments_are_all_counted() {
    let (app, alice) = TestApp::with_user("busy").await;
    let post_id = app.post_by(&alice, "hot topic").await;
    let path = format!("/posts/{post_id}/comments");

    let replies = futures::future::join_all((0..12).map(|n| {
        let body = json!({ "content": format!("#{n}") });
        app.post(&path, alice.bearer(), body)
    }))
    .await;

    assert!(
        replies.iter().all(|reply| reply.status == 201),
        "{replies:?}"
    );
    assert_eq!(app.comment_count(post_id).await, 12);
    let listed = app.get(&format!("{path}?limit=100"), None).await;
    let mut listed_ids = item_ids(&listed.body);
    let mut created_ids: Vec<i64> = replies.iter().map(|reply| id_of(&reply.body)).collect();
    listed_ids.sort_unstable();
    created_ids.sort_unstable();
    created_ids.dedup();
    assert_eq!(listed_ids, created_ids);
    assert_eq!(created_ids.len(), 12);
}

#[tokio::test]
async fn a_post_without_comments_lists_an_empty_page() {
    let (app, alice) = TestApp::with_user("nocomments").await;
    let post_id = app.post_by(&alice, "quiet").await;

    let listed = app.comments(post_id, None).await;

    assert_eq!(item_ids(&listed), Vec::<i64>::new());
    assert_eq!(listed["next_cursor"], Value::Null);
}
