//! The content rule that posts and comments share, over HTTP: 1 to 3000
//! characters for a post and 1 to 1000 for a comment, counted as
//! characters rather than bytes, not blank, without NUL, and nothing but
//! `content` in the body. Each table runs on the four routes that take
//! content.

use minifb_tests::{TestApp, content_routes, item_ids};
use serde_json::{Value, json};

/// Each row a body that breaks the rule on each route, and the field the
/// hint must name. None of them changes anything.
#[tokio::test]
async fn content_that_breaks_the_rule_is_400_naming_the_field_and_changes_nothing() {
    let (app, alice, _, post_id) = TestApp::with_alices_post_and_bob().await;
    let comment_id = app.comment_on(post_id, &alice, "alice's comment").await;

    for route in content_routes(post_id, comment_id) {
        let (unknown, value) = route.unknown.clone();
        let too_long = route.max + 1;
        let cases = [
            ("empty", json!({ "content": "" }), "content"),
            ("a space", json!({ "content": " " }), "content"),
            ("spaces", json!({ "content": "   " }), "content"),
            ("ASCII blanks", json!({ "content": "\n\t \r\n" }), "content"),
            ("other blanks", json!({ "content": " \n\t" }), "content"),
            ("tabs", json!({ "content": "\t \n" }), "content"),
            (
                "an ideographic space",
                json!({ "content": "\u{3000}" }),
                "content",
            ),
            (
                "Unicode blanks",
                json!({ "content": "\u{3000}\u{a0}\u{2003}" }),
                "content",
            ),
            (
                "ASCII over the most",
                json!({ "content": "a".repeat(too_long) }),
                "content",
            ),
            (
                "Hangul over the most",
                json!({ "content": "가".repeat(too_long) }),
                "content",
            ),
            ("NUL inside", json!({ "content": "a\u{0}b" }), "content"),
            (
                "NUL at the end",
                json!({ "content": "nul\u{0}" }),
                "content",
            ),
            ("no content", json!({}), "content"),
            ("null content", json!({ "content": null }), "content"),
            ("a number", json!({ "content": 5 }), "content"),
            (
                "an unknown field",
                json!({ "content": "ok", unknown: value }),
                unknown,
            ),
        ];

        for (case, body, field) in cases {
            let reply = route.send(&app, &alice, body).await;

            reply.labelled(case).assert_error(400, field);
        }
    }
    let post = app.read_post(post_id, None).await;
    assert_eq!(post["content"], "alice's post");
    assert_eq!(post["updated_at"], Value::Null);
    assert_eq!(post["comment_count"], 1);
    let comment = app.read_comment(post_id, comment_id, None).await;
    assert_eq!(comment["content"], "alice's comment");
    assert_eq!(comment["modified"], false);
    let timeline = app.get("/me/timeline", alice.bearer()).await;
    assert_eq!(item_ids(&timeline.body), [post_id], "{}", timeline.text);
}

/// Each row content at the edge of the rule on each route, taken and
/// answered as sent: the most characters, even of four bytes each, one
/// character, and one that is invisible but not blank.
#[tokio::test]
async fn content_length_counts_characters_not_bytes() {
    let (app, alice, _, post_id) = TestApp::with_alices_post_and_bob().await;
    let comment_id = app.comment_on(post_id, &alice, "alice's comment").await;

    for route in content_routes(post_id, comment_id) {
        for content in [
            "가".repeat(route.max),
            "😀".repeat(route.max),
            "a".to_owned(),
            "\u{200b}".to_owned(),
        ] {
            let body = json!({ "content": content });

            let reply = route.send(&app, &alice, body).await;

            let reply = reply.labelled(format!("{} characters", content.chars().count()));
            reply.assert_success();
            assert_eq!(
                reply.body["content"],
                content.as_str(),
                "{}",
                reply.what_was_sent()
            );
        }
    }
}
