//! The Posts and timelines section of the contract, over HTTP, and the
//! helpers the other sections build their posts with.

use minifb_tests::{TestApp, User, unique_id};
use serde_json::{Value, json};

/// A valid path id that no post will ever have.
pub(crate) const NEVER_AN_ID: &str = "9223372036854775807";

/// Creates a post as `user` and returns its id.
pub(crate) async fn create_post(app: &TestApp, user: &User, content: &str) -> i64 {
    let reply = app
        .post("/posts", Some(&user.token), json!({ "content": content }))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_i64().expect("a post id is an integer")
}

/// The id of a post that existed and was deleted.
pub(crate) async fn deleted_post(app: &TestApp, user: &User) -> i64 {
    let id = create_post(app, user, "soon gone").await;
    let reply = app.delete(&format!("/posts/{id}"), Some(&user.token)).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    id
}

/// Asserts a timestamp of the contract: `2026-11-26T09:56:15.123Z`.
pub(crate) fn assert_timestamp(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("a timestamp is a string: {value}"));
    let pattern = "dddd-dd-ddTdd:dd:dd.dddZ";
    let matches = text.len() == pattern.len()
        && text.chars().zip(pattern.chars()).all(|(c, p)| match p {
            'd' => c.is_ascii_digit(),
            _ => c == p,
        });
    assert!(matches, "not an RFC 3339 UTC timestamp with millis: {text}");
}

/// `reaction_counts` with every key at zero.
pub(crate) fn no_reactions() -> Value {
    json!({ "1": 0, "2": 0, "3": 0, "4": 0, "5": 0 })
}

/// The ids of a page's items, in order.
pub(crate) fn item_ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page has items: {page}"))
        .iter()
        .map(|item| item["id"].as_i64().expect("an item id is an integer"))
        .collect()
}

/// The sorted keys of a JSON object.
pub(crate) fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

fn author_of(user: &User) -> Value {
    // `TestApp::user` signs up with the name "Tester" and no nickname.
    json!({ "id": user.id, "name": "Tester", "nickname": null })
}

#[tokio::test]
async fn creating_a_post_returns_201_with_the_full_post_shape() {
    let app = TestApp::spawn().await;
    let alice = app.user("poster").await;
    let content = "  안녕하세요 👋🏽 👩‍👩‍👧\r\n\tCafe\u{301}  with  spaces \n";

    let reply = app
        .post("/posts", Some(&alice.token), json!({ "content": content }))
        .await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    let post = &reply.body;
    assert_eq!(
        keys(post),
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
    assert_eq!(post["author"], author_of(&alice));
    assert_eq!(post["content"], content);
    assert_timestamp(&post["created_at"]);
    assert_eq!(post["updated_at"], Value::Null);
    assert_eq!(post["comment_count"], 0);
    assert_eq!(post["reaction_counts"], no_reactions());
    assert_eq!(post["my_reaction"], Value::Null);
}

#[tokio::test]
async fn a_created_post_reads_back_exactly_as_sent() {
    let app = TestApp::spawn().await;
    let alice = app.user("readback").await;
    let content = "  줄바꿈\n\n그리고 이모지 🎉\t끝  ";
    let created = app
        .post("/posts", Some(&alice.token), json!({ "content": content }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();

    let anonymous = app.get(&format!("/posts/{id}"), None).await;
    let as_owner = app.get(&format!("/posts/{id}"), Some(&alice.token)).await;

    assert_eq!(anonymous.status, 200, "{}", anonymous.text);
    assert_eq!(anonymous.body, created.body);
    assert_eq!(as_owner.status, 200, "{}", as_owner.text);
    assert_eq!(as_owner.body, created.body);
}

#[tokio::test]
async fn post_content_must_be_1_to_3000_characters_and_not_blank() {
    let app = TestApp::spawn().await;
    let alice = app.user("postval").await;
    let token = Some(alice.token.as_str());
    let rejected = [
        json!({ "content": "" }),
        json!({ "content": " " }),
        json!({ "content": "\n\t \r\n" }),
        json!({ "content": "\u{3000}\u{a0}\u{2003}" }),
        json!({ "content": "a".repeat(3001) }),
        json!({ "content": "가".repeat(3001) }),
    ];

    for body in rejected {
        let reply = app.post("/posts", token, body.clone()).await;

        let hint = reply.error(400);
        assert!(hint.contains("content"), "{body}: {hint}");
    }
}

#[tokio::test]
async fn post_length_counts_characters_not_bytes() {
    let app = TestApp::spawn().await;
    let alice = app.user("postlen").await;
    let token = Some(alice.token.as_str());

    for content in [
        "가".repeat(3000),
        "😀".repeat(3000),
        "a".to_owned(),
        "\u{200b}".to_owned(),
    ] {
        let reply = app
            .post("/posts", token, json!({ "content": content }))
            .await;

        assert_eq!(
            reply.status,
            201,
            "{}: {}",
            content.chars().count(),
            reply.text
        );
        assert_eq!(reply.body["content"], content.as_str());
    }
}

#[tokio::test]
async fn a_post_body_with_nul_an_unknown_field_or_a_wrong_type_is_400() {
    let app = TestApp::spawn().await;
    let alice = app.user("postbody").await;
    let token = Some(alice.token.as_str());
    let cases = [
        (json!({ "content": "a\u{0}b" }), "content"),
        (json!({ "content": "hello", "title": "x" }), "title"),
        (json!({}), "content"),
        (json!({ "content": null }), "content"),
        (json!({ "content": 5 }), "content"),
    ];

    for (body, expected) in cases {
        let reply = app.post("/posts", token, body.clone()).await;

        let hint = reply.error(400);
        assert!(hint.contains(expected), "{body}: {hint}");
    }
    let timeline = app.get("/me/timeline", token).await;
    assert_eq!(timeline.body["items"], json!([]), "{}", timeline.text);
}

#[tokio::test]
async fn creating_a_post_needs_a_valid_token() {
    let app = TestApp::spawn().await;
    let body = json!({ "content": "hello" });

    let missing = app.post("/posts", None, body.clone()).await;
    let forged = app.post("/posts", Some("not.a.token"), body).await;

    missing.error(401);
    assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
    forged.error(401);
    assert_eq!(
        forged.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
}

#[tokio::test]
async fn a_bad_token_on_a_route_where_it_is_optional_is_still_401() {
    let app = TestApp::spawn().await;
    let alice = app.user("optional").await;
    let id = create_post(&app, &alice, "hello").await;

    for path in [
        format!("/posts/{id}"),
        "/posts".to_owned(),
        format!("/users/{}/timeline", alice.id),
        format!("/posts/{id}/comments"),
    ] {
        let reply = app.get(&path, Some("garbage")).await;

        reply.error(401);
        assert_eq!(
            reply.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\""),
            "{path}"
        );
    }
}

#[tokio::test]
async fn my_reaction_is_the_callers_reaction_and_null_without_a_token() {
    let app = TestApp::spawn().await;
    let alice = app.user("owner").await;
    let bob = app.user("reader").await;
    let id = create_post(&app, &alice, "react to me").await;
    let reacted = app
        .put(
            &format!("/posts/{id}/reaction"),
            Some(&bob.token),
            json!({ "type": 3 }),
        )
        .await;
    assert_eq!(reacted.status, 201, "{}", reacted.text);

    let as_bob = app.get(&format!("/posts/{id}"), Some(&bob.token)).await;
    let as_alice = app.get(&format!("/posts/{id}"), Some(&alice.token)).await;
    let anonymous = app.get(&format!("/posts/{id}"), None).await;

    assert_eq!(as_bob.body["my_reaction"], 3, "{}", as_bob.text);
    assert_eq!(
        as_alice.body["my_reaction"],
        Value::Null,
        "{}",
        as_alice.text
    );
    assert_eq!(
        anonymous.body["my_reaction"],
        Value::Null,
        "{}",
        anonymous.text
    );
    let counts = json!({ "1": 0, "2": 0, "3": 1, "4": 0, "5": 0 });
    for reply in [&as_bob, &as_alice, &anonymous] {
        assert_eq!(reply.body["reaction_counts"], counts, "{}", reply.text);
    }
}

#[tokio::test]
async fn post_ids_in_paths_must_be_ascii_digits_of_a_64_bit_integer() {
    let app = TestApp::spawn().await;
    let alice = app.user("pathid").await;
    let token = Some(alice.token.as_str());
    let body = json!({ "content": "edited" });

    for id in [
        "abc",
        "+5",
        "-1",
        "99999999999999999999",
        "1.5",
        "0x10",
        "%D9%A1",
    ] {
        let path = format!("/posts/{id}");

        app.get(&path, None).await.error(400);
        app.get(&path, token).await.error(400);
        app.patch(&path, token, body.clone()).await.error(400);
        app.delete(&path, token).await.error(400);
    }
}

#[tokio::test]
async fn an_unknown_post_is_404_naming_it() {
    let app = TestApp::spawn().await;
    let alice = app.user("unknown").await;
    let gone = deleted_post(&app, &alice).await;

    let never = app.get(&format!("/posts/{NEVER_AN_ID}"), None).await;
    let deleted = app.get(&format!("/posts/{gone}"), Some(&alice.token)).await;
    let zero = app.get("/posts/0", None).await;

    assert!(never.error(404).contains(NEVER_AN_ID));
    assert!(deleted.error(404).contains(&gone.to_string()));
    zero.error(404);
}

#[tokio::test]
async fn patching_my_post_replaces_the_content_and_sets_updated_at() {
    let app = TestApp::spawn().await;
    let alice = app.user("editor").await;
    let created = app
        .post("/posts", Some(&alice.token), json!({ "content": "first" }))
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();

    let patched = app
        .patch(
            &format!("/posts/{id}"),
            Some(&alice.token),
            json!({ "content": " 고친 글 ✏️ " }),
        )
        .await;

    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["id"], id);
    assert_eq!(patched.body["content"], " 고친 글 ✏️ ");
    assert_eq!(patched.body["created_at"], created.body["created_at"]);
    assert_eq!(patched.body["author"], author_of(&alice));
    assert_timestamp(&patched.body["updated_at"]);
    assert!(
        patched.body["updated_at"].as_str() >= created.body["created_at"].as_str(),
        "{}",
        patched.text
    );
    let read = app.get(&format!("/posts/{id}"), None).await;
    assert_eq!(read.body["content"], " 고친 글 ✏️ ");
    assert_eq!(read.body["updated_at"], patched.body["updated_at"]);
}

#[tokio::test]
async fn a_patch_must_be_a_valid_content_and_nothing_else() {
    let app = TestApp::spawn().await;
    let alice = app.user("badpatch").await;
    let id = create_post(&app, &alice, "unchanged").await;
    let path = format!("/posts/{id}");

    for body in [
        json!({}),
        json!({ "content": "" }),
        json!({ "content": "   " }),
        json!({ "content": "x".repeat(3001) }),
        json!({ "content": "nul\u{0}" }),
        json!({ "content": "ok", "author": "mallory" }),
        json!({ "content": null }),
    ] {
        let reply = app.patch(&path, Some(&alice.token), body.clone()).await;

        reply.error(400);
    }
    let read = app.get(&path, None).await;
    assert_eq!(read.body["content"], "unchanged");
    assert_eq!(read.body["updated_at"], Value::Null);
}

#[tokio::test]
async fn patching_someone_elses_post_is_forbidden() {
    let app = TestApp::spawn().await;
    let alice = app.user("victim").await;
    let mallory = app.user("mallory").await;
    let id = create_post(&app, &alice, "mine").await;

    let reply = app
        .patch(
            &format!("/posts/{id}"),
            Some(&mallory.token),
            json!({ "content": "yours now" }),
        )
        .await;

    assert_eq!(
        reply.error(403),
        format!("You have not permission for 'PATCH /posts/{id}'")
    );
    let read = app.get(&format!("/posts/{id}"), None).await;
    assert_eq!(read.body["content"], "mine");
    assert_eq!(read.body["updated_at"], Value::Null);
}

#[tokio::test]
async fn deleting_someone_elses_post_is_forbidden() {
    let app = TestApp::spawn().await;
    let alice = app.user("victim").await;
    let mallory = app.user("mallory").await;
    let id = create_post(&app, &alice, "mine").await;

    let reply = app
        .delete(&format!("/posts/{id}"), Some(&mallory.token))
        .await;

    assert_eq!(
        reply.error(403),
        format!("You have not permission for 'DELETE /posts/{id}'")
    );
    assert_eq!(app.get(&format!("/posts/{id}"), None).await.status, 200);
}

#[tokio::test]
async fn deleting_my_post_is_204_and_then_it_is_gone() {
    let app = TestApp::spawn().await;
    let alice = app.user("deleter").await;
    let id = create_post(&app, &alice, "goodbye").await;
    let path = format!("/posts/{id}");

    let reply = app.delete(&path, Some(&alice.token)).await;

    assert_eq!(reply.status, 204, "{}", reply.text);
    assert!(reply.text.is_empty(), "{}", reply.text);
    app.get(&path, None).await.error(404);
    app.delete(&path, Some(&alice.token)).await.error(404);
    app.patch(&path, Some(&alice.token), json!({ "content": "back?" }))
        .await
        .error(404);
    let timeline = app.get("/me/timeline", Some(&alice.token)).await;
    assert_eq!(timeline.body["items"], json!([]), "{}", timeline.text);
}

#[tokio::test]
async fn patch_checks_the_token_then_the_body_then_the_post_then_the_owner() {
    let app = TestApp::spawn().await;
    let alice = app.user("order").await;
    let bob = app.user("other").await;
    let gone = deleted_post(&app, &alice).await;
    let bobs = create_post(&app, &bob, "bob's").await;
    let valid = json!({ "content": "edit" });
    let invalid = json!({ "content": "" });
    let token = Some(alice.token.as_str());

    let cases = [
        (format!("/posts/{gone}"), None, valid.clone(), 401),
        (format!("/posts/{NEVER_AN_ID}"), None, valid.clone(), 401),
        ("/posts/abc".to_owned(), None, valid.clone(), 401),
        ("/posts/abc".to_owned(), token, invalid.clone(), 400),
        (format!("/posts/{gone}"), token, invalid.clone(), 400),
        (format!("/posts/{gone}"), token, json!({}), 400),
        (format!("/posts/{gone}"), token, valid.clone(), 404),
        (format!("/posts/{bobs}"), token, invalid.clone(), 400),
        (format!("/posts/{bobs}"), token, valid.clone(), 403),
    ];

    for (path, token, body, status) in cases {
        let reply = app.patch(&path, token, body.clone()).await;

        assert_eq!(reply.status, status, "PATCH {path} {body}: {}", reply.text);
        reply.error(status);
    }
}

#[tokio::test]
async fn delete_checks_the_token_then_the_post_then_the_owner() {
    let app = TestApp::spawn().await;
    let alice = app.user("order").await;
    let bob = app.user("other").await;
    let gone = deleted_post(&app, &alice).await;
    let bobs = create_post(&app, &bob, "bob's").await;
    let token = Some(alice.token.as_str());

    let cases = [
        (format!("/posts/{gone}"), None, 401),
        (format!("/posts/{bobs}"), None, 401),
        ("/posts/-1".to_owned(), None, 401),
        ("/posts/-1".to_owned(), token, 400),
        (format!("/posts/{gone}"), token, 404),
        (format!("/posts/{bobs}"), token, 403),
    ];

    for (path, token, status) in cases {
        let reply = app.delete(&path, token).await;

        assert_eq!(reply.status, status, "DELETE {path}: {}", reply.text);
        reply.error(status);
    }
}

#[tokio::test]
async fn my_timeline_lists_only_my_posts_newest_first() {
    let app = TestApp::spawn().await;
    let alice = app.user("mytl").await;
    let bob = app.user("noise").await;
    let first = create_post(&app, &alice, "one").await;
    create_post(&app, &bob, "not alice's").await;
    let second = create_post(&app, &alice, "two").await;
    let third = create_post(&app, &alice, "three").await;

    let reply = app.get("/me/timeline", Some(&alice.token)).await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(item_ids(&reply.body), [third, second, first]);
    assert_eq!(reply.body["next_cursor"], Value::Null);
    for post in reply.body["items"].as_array().unwrap() {
        assert_eq!(post["author"], author_of(&alice));
    }
    assert_eq!(reply.body["items"][0]["content"], "three");
}

#[tokio::test]
async fn my_timeline_needs_a_token() {
    let app = TestApp::spawn().await;

    let reply = app.get("/me/timeline", None).await;

    reply.error(401);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn a_users_timeline_is_public_and_lists_only_their_posts_newest_first() {
    let app = TestApp::spawn().await;
    let alice = app.user("pubtl").await;
    let bob = app.user("viewer").await;
    let first = create_post(&app, &alice, "one").await;
    let bobs = create_post(&app, &bob, "bob's").await;
    let second = create_post(&app, &alice, "two").await;
    let reacted = app
        .put(
            &format!("/posts/{first}/reaction"),
            Some(&bob.token),
            json!({ "type": 5 }),
        )
        .await;
    assert_eq!(reacted.status, 201, "{}", reacted.text);

    let anonymous = app
        .get(&format!("/users/{}/timeline", alice.id), None)
        .await;
    let other_case = app
        .get(
            &format!("/users/{}/timeline", alice.id.to_uppercase()),
            Some(&bob.token),
        )
        .await;

    assert_eq!(anonymous.status, 200, "{}", anonymous.text);
    assert_eq!(item_ids(&anonymous.body), [second, first]);
    assert_eq!(anonymous.body["next_cursor"], Value::Null);
    assert_eq!(anonymous.body["items"][1]["my_reaction"], Value::Null);
    assert_eq!(other_case.status, 200, "{}", other_case.text);
    assert_eq!(item_ids(&other_case.body), [second, first]);
    assert_eq!(other_case.body["items"][1]["my_reaction"], 5);
    assert_eq!(other_case.body["items"][1]["reaction_counts"]["5"], 1);
    assert!(!item_ids(&other_case.body).contains(&bobs));
}

#[tokio::test]
async fn the_timeline_of_an_unknown_user_is_404() {
    let app = TestApp::spawn().await;
    let alice = app.user("known").await;
    let ghost = unique_id("ghost");

    let known = app
        .get(&format!("/users/{}/timeline", alice.id), None)
        .await;
    let unknown = app.get(&format!("/users/{ghost}/timeline"), None).await;
    let breaks_the_id_rule = app.get("/users/x!/timeline", None).await;

    // The route exists: the 404s below are about the user.
    assert_eq!(known.status, 200, "{}", known.text);
    assert!(unknown.error(404).contains(&ghost), "{}", unknown.text);
    breaks_the_id_rule.error(404);
}

#[tokio::test]
async fn a_post_shows_its_authors_current_name_and_nickname() {
    let app = TestApp::spawn().await;
    let alice = app.user("renamed").await;
    let id = create_post(&app, &alice, "before the rename").await;
    let renamed = app
        .patch("/me", Some(&alice.token), json!({ "nickname": "앨리스" }))
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);

    let reply = app.get(&format!("/posts/{id}"), None).await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(
        reply.body["author"],
        json!({ "id": alice.id, "name": "Tester", "nickname": "앨리스" })
    );
}

#[tokio::test]
async fn a_user_without_posts_has_an_empty_timeline() {
    let app = TestApp::spawn().await;
    let alice = app.user("quiet").await;

    let public = app
        .get(&format!("/users/{}/timeline", alice.id), None)
        .await;
    let mine = app.get("/me/timeline", Some(&alice.token)).await;

    for reply in [public, mine] {
        assert_eq!(reply.status, 200, "{}", reply.text);
        assert_eq!(reply.body["items"], json!([]));
        assert_eq!(reply.body["next_cursor"], Value::Null);
    }
}

#[tokio::test]
async fn the_public_feed_lists_everyones_posts_newest_first() {
    let app = TestApp::spawn().await;
    let alice = app.user("feed").await;
    let bob = app.user("feed").await;
    let older = create_post(&app, &alice, "alice first").await;
    let newer = create_post(&app, &bob, "then bob").await;

    // Other tests may post to a shared server meanwhile: walk until both show.
    let mut seen = Vec::new();
    let mut path = "/posts?limit=100".to_owned();
    for _ in 0..20 {
        let page = app.get(&path, None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        seen.extend(item_ids(&page.body));
        if seen.contains(&older) {
            break;
        }
        let cursor = page.body["next_cursor"].as_str().expect("more pages");
        path = format!("/posts?limit=100&cursor={}", query_escape(cursor));
    }

    let position = |id: i64| seen.iter().position(|&seen| seen == id);
    let (newer_at, older_at) = (position(newer), position(older));
    assert!(newer_at.is_some() && older_at.is_some(), "{seen:?}");
    assert!(newer_at < older_at, "{seen:?}");
    assert!(seen.windows(2).all(|pair| pair[0] > pair[1]), "{seen:?}");
}

/// Percent-encodes a query value, opaque cursors included.
pub(crate) fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
