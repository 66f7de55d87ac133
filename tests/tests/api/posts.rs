//! The Posts and timelines section of the contract, over HTTP.

use minifb_tests::{
    NEVER_AN_ID, Target, TestApp, assert_edited, assert_newest_first, assert_timestamp, item_ids,
    keys, no_reactions, reaction_counts, unique_id,
};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn creating_a_post_returns_201_with_the_full_post_shape() {
    let (app, alice) = TestApp::with_user("poster").await;
    let content = "  안녕하세요 👋🏽 👩‍👩‍👧\r\n\tCafe\u{301}  with  spaces \n";

    let post = app.new_post(&alice, content).await;

    assert_eq!(
        keys(&post),
        [
            "author",
            "comment_count",
            "content",
            "created_at",
            "id",
            "my_reaction",
            "reaction_counts",
            "updated_at"
        ]
    );
    assert!(post["id"].is_i64(), "{post}");
    assert_eq!(post["author"], alice.as_author());
    assert_eq!(post["content"], content);
    assert_timestamp(&post["created_at"]);
    assert_eq!(post["updated_at"], Value::Null);
    assert_eq!(post["comment_count"], 0);
    assert_eq!(post["reaction_counts"], no_reactions());
    assert_eq!(post["my_reaction"], Value::Null);
}

#[tokio::test]
async fn a_created_post_reads_back_exactly_as_sent() {
    let (app, alice) = TestApp::with_user("readback").await;
    let created = app
        .new_post(&alice, "  줄바꿈\n\n그리고 이모지 🎉\t끝  ")
        .await;
    let id = created["id"].as_i64().unwrap();

    let anonymous = app.read_post(id, None).await;
    let as_owner = app.read_post(id, Some(&alice)).await;

    assert_eq!(anonymous, created);
    assert_eq!(as_owner, created);
}

#[tokio::test]
async fn creating_a_post_needs_a_valid_token() {
    let app = TestApp::spawn().await;
    let body = json!({ "content": "hello" });

    let missing = app.post("/posts", None, body.clone()).await;
    let forged = app.post("/posts", Some("not.a.token"), body).await;

    missing.assert_needs_token();
    forged.assert_invalid_token();
}

#[tokio::test]
async fn a_bad_token_on_a_route_where_it_is_optional_is_still_401() {
    let (app, alice) = TestApp::with_user("optional").await;
    let id = app.post_by(&alice, "hello").await;

    for path in [
        format!("/posts/{id}"),
        "/posts".to_owned(),
        format!("/users/{}/timeline", alice.id),
        format!("/posts/{id}/comments"),
    ] {
        app.get(&path, Some("garbage")).await.assert_invalid_token();
    }
}

#[tokio::test]
async fn my_reaction_is_the_callers_reaction_and_null_without_a_token() {
    let (app, alice, bob, id) = TestApp::with_alices_post_and_bob().await;
    app.add_reaction(&bob, &Target::post(id), 3).await;

    let as_bob = app.read_post(id, Some(&bob)).await;
    let as_alice = app.read_post(id, Some(&alice)).await;
    let anonymous = app.read_post(id, None).await;

    assert_eq!(as_bob["my_reaction"], 3, "{as_bob}");
    assert_eq!(as_alice["my_reaction"], Value::Null, "{as_alice}");
    assert_eq!(anonymous["my_reaction"], Value::Null, "{anonymous}");
    for post in [&as_bob, &as_alice, &anonymous] {
        assert_eq!(
            post["reaction_counts"],
            reaction_counts(&[(3, 1)]),
            "{post}"
        );
    }
}

#[tokio::test]
async fn an_unknown_post_is_404_naming_it() {
    let (app, alice) = TestApp::with_user("unknown").await;
    let gone = app.deleted_post(&alice).await;

    let never = app.get(&format!("/posts/{NEVER_AN_ID}"), None).await;
    let deleted = app.get(&format!("/posts/{gone}"), alice.bearer()).await;
    let zero = app.get("/posts/0", None).await;

    never.assert_error(404, NEVER_AN_ID);
    deleted.assert_error(404, &gone.to_string());
    zero.error(404);
}

#[tokio::test]
async fn patching_my_post_replaces_the_content_and_sets_updated_at() {
    let (app, alice) = TestApp::with_user("editor").await;
    let created = app.new_post(&alice, "first").await;
    let path = format!("/posts/{}", created["id"]);

    let patched = app.edit(&alice, &path, " 고친 글 ✏️ ").await;

    let patched = &patched.assert_status(200).body;
    assert_edited(patched, &created, " 고친 글 ✏️ ");
    assert_eq!(patched["author"], alice.as_author());
    let read = app.get(&path, None).await;
    assert_eq!(read.body["content"], " 고친 글 ✏️ ");
    assert_eq!(read.body["updated_at"], patched["updated_at"]);
}

/// Each row a change that only the author may make: it is refused with the
/// contract's hint, and the post stays as it was.
#[tokio::test]
async fn patching_or_deleting_someone_elses_post_is_forbidden() {
    let (app, alice) = TestApp::with_user("victim").await;
    let mallory = app.user("mallory").await;
    let cases = [
        (
            "patching",
            Method::PATCH,
            Some(json!({ "content": "yours now" })),
        ),
        ("deleting", Method::DELETE, None),
    ];

    for (label, method, body) in cases {
        let id = app.post_by(&alice, "mine").await;
        let path = format!("/posts/{id}");

        let reply = app.request(method, &path, mallory.bearer(), body).await;

        reply.labelled(label).assert_forbidden();
        let read = app.read_post(id, None).await;
        assert_eq!(read["content"], "mine", "{label}");
        assert_eq!(read["updated_at"], Value::Null, "{label}");
    }
}

#[tokio::test]
async fn deleting_my_post_is_204_and_then_it_is_gone() {
    let (app, alice) = TestApp::with_user("deleter").await;
    let id = app.post_by(&alice, "goodbye").await;
    let path = format!("/posts/{id}");

    let reply = app.delete(&path, alice.bearer()).await;

    reply.assert_status(204);
    assert!(reply.text.is_empty(), "{}", reply.text);
    app.get(&path, None).await.error(404);
    app.delete(&path, alice.bearer()).await.error(404);
    let back = json!({ "content": "back?" });
    app.patch(&path, alice.bearer(), back).await.error(404);
    let timeline = app.get("/me/timeline", alice.bearer()).await;
    assert_eq!(timeline.body["items"], json!([]), "{}", timeline.text);
}

/// Each row a request and the status that says which check refused it
/// first: the token, then the body, then the post, then its owner.
#[tokio::test]
async fn changing_a_post_checks_the_token_then_the_body_then_the_post_then_the_owner() {
    let (app, alice) = TestApp::with_user("order").await;
    let bob = app.user("other").await;
    let gone: &str = &format!("/posts/{}", app.deleted_post(&alice).await);
    let bobs: &str = &format!("/posts/{}", app.post_by(&bob, "bob's").await);
    let never: &str = &format!("/posts/{NEVER_AN_ID}");
    let valid = Some(&json!({ "content": "edit" }));
    let invalid = Some(&json!({ "content": "" }));
    let empty = Some(&json!({}));
    let token = alice.bearer();

    let patches = [
        (gone, None, valid, 401),
        (never, None, valid, 401),
        ("/posts/abc", None, valid, 401),
        ("/posts/abc", token, invalid, 400),
        (gone, token, invalid, 400),
        (gone, token, empty, 400),
        (gone, token, valid, 404),
        (bobs, token, invalid, 400),
        (bobs, token, valid, 403),
    ];
    let deletes = [
        (gone, None, 401),
        (bobs, None, 401),
        ("/posts/-1", None, 401),
        ("/posts/-1", token, 400),
        (gone, token, 404),
        (bobs, token, 403),
    ];

    for (path, token, body, status) in patches {
        let reply = app.request(Method::PATCH, path, token, body.cloned()).await;

        reply.error(status);
    }
    for (path, token, status) in deletes {
        app.delete(path, token).await.error(status);
    }
}

#[tokio::test]
async fn my_timeline_lists_only_my_posts_newest_first() {
    let (app, alice, bob, first) = TestApp::with_alices_post_and_bob().await;
    app.post_by(&bob, "not alice's").await;
    let second = app.post_by(&alice, "two").await;
    let third = app.post_by(&alice, "three").await;

    let reply = app.get("/me/timeline", alice.bearer()).await;

    reply.assert_status(200);
    assert_eq!(item_ids(&reply.body), [third, second, first]);
    assert_eq!(reply.body["next_cursor"], Value::Null);
    for post in reply.body["items"].as_array().unwrap() {
        assert_eq!(post["author"], alice.as_author());
    }
    assert_eq!(reply.body["items"][0]["content"], "three");
}

#[tokio::test]
async fn a_users_timeline_is_public_and_lists_only_their_posts_newest_first() {
    let (app, alice, bob, first) = TestApp::with_alices_post_and_bob().await;
    let bobs = app.post_by(&bob, "bob's").await;
    let second = app.post_by(&alice, "two").await;
    app.add_reaction(&bob, &Target::post(first), 5).await;

    let anonymous = app
        .get(&format!("/users/{}/timeline", alice.id), None)
        .await;
    let other_case = format!("/users/{}/timeline", alice.id.to_uppercase());
    let other_case = app.get(&other_case, bob.bearer()).await;

    anonymous.assert_status(200);
    assert_eq!(item_ids(&anonymous.body), [second, first]);
    assert_eq!(anonymous.body["next_cursor"], Value::Null);
    assert_eq!(anonymous.body["items"][1]["my_reaction"], Value::Null);
    other_case.assert_status(200);
    assert_eq!(item_ids(&other_case.body), [second, first]);
    assert_eq!(other_case.body["items"][1]["my_reaction"], 5);
    assert_eq!(other_case.body["items"][1]["reaction_counts"]["5"], 1);
    assert!(!item_ids(&other_case.body).contains(&bobs));
}

#[tokio::test]
async fn the_timeline_of_an_unknown_user_is_404() {
    let (app, alice) = TestApp::with_user("known").await;
    let ghost = unique_id("ghost");

    let known = app
        .get(&format!("/users/{}/timeline", alice.id), None)
        .await;
    let unknown = app.get(&format!("/users/{ghost}/timeline"), None).await;
    let breaks_the_id_rule = app.get("/users/x!/timeline", None).await;

    // The route exists: the 404s below are about the user.
    known.assert_status(200);
    unknown.assert_error(404, &ghost);
    breaks_the_id_rule.error(404);
}

#[tokio::test]
async fn a_post_shows_its_authors_current_name_and_nickname() {
    let (app, alice) = TestApp::with_user("renamed").await;
    let id = app.post_by(&alice, "before the rename").await;
    let nickname = json!({ "nickname": "앨리스" });
    app.patch("/me", alice.bearer(), nickname)
        .await
        .assert_status(200);

    let post = app.read_post(id, None).await;

    assert_eq!(
        post["author"],
        json!({ "id": alice.id, "name": "Tester", "nickname": "앨리스" })
    );
}

#[tokio::test]
async fn a_user_without_posts_has_an_empty_timeline() {
    let (app, alice) = TestApp::with_user("quiet").await;

    let public = app
        .get(&format!("/users/{}/timeline", alice.id), None)
        .await;
    let mine = app.get("/me/timeline", alice.bearer()).await;

    for reply in [public, mine] {
        reply.assert_status(200);
        assert_eq!(reply.body["items"], json!([]));
        assert_eq!(reply.body["next_cursor"], Value::Null);
    }
}

#[tokio::test]
async fn the_public_feed_lists_everyones_posts_newest_first() {
    let (app, _, bob, older) = TestApp::with_alices_post_and_bob().await;
    let newer = app.post_by(&bob, "then bob").await;

    // Other tests may post to a shared server meanwhile: walk until both show.
    let mut seen = Vec::new();
    let mut cursor = None;
    for _ in 0..20 {
        let page = app.page("/posts", None, 100, cursor.as_deref()).await;
        seen.extend(item_ids(&page));
        if seen.contains(&older) {
            break;
        }
        cursor = Some(page["next_cursor"].as_str().expect("more pages").to_owned());
    }

    let position = |id: i64| seen.iter().position(|&seen| seen == id);
    let (newer_at, older_at) = (position(newer), position(older));
    assert!(newer_at.is_some() && older_at.is_some(), "{seen:?}");
    assert!(newer_at < older_at, "{seen:?}");
    assert_newest_first(&seen);
}
