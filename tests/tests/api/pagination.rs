//! The Pagination section of the contract, over HTTP: limits, keyset
//! cursors that neither repeat nor skip, and cursors that are refused.

use minifb_tests::{
    TestApp, assert_newest_first, every_list, item_ids, newest_first, next_cursor, page_ids,
    page_sizes, query_escape,
};
use serde_json::Value;

#[tokio::test]
async fn limit_defaults_to_20_and_accepts_1_to_100() {
    let (app, alice) = TestApp::with_user("limits").await;
    let ids = app.posts_by(&alice, 21).await;
    let path = format!("/users/{}/timeline", alice.id);

    let default = app.get(&path, None).await;
    let one = app.get(&format!("{path}?limit=1"), None).await;
    let hundred = app.get(&format!("{path}?limit=100"), None).await;

    default.assert_status(200);
    assert_eq!(item_ids(&default.body), newest_first(ids[1..].to_vec()));
    assert!(default.body["next_cursor"].is_string(), "{}", default.text);
    assert_eq!(item_ids(&one.body), [ids[20]]);
    assert!(one.body["next_cursor"].is_string(), "{}", one.text);
    assert_eq!(item_ids(&hundred.body), newest_first(ids));
    assert_eq!(hundred.body["next_cursor"], Value::Null);
}

/// Each row a query parameter with a value that breaks its rule: a limit
/// outside 1 to 100 or not a number, a cursor that cannot be decoded. Every
/// list refuses it, naming the parameter.
#[tokio::test]
async fn a_bad_limit_or_an_undecodable_cursor_is_400_on_every_list() {
    let (app, alice, _, post_id) = TestApp::with_alices_post_and_bob().await;
    let cases = [
        ("limit", "0"),
        ("limit", "101"),
        ("limit", "abc"),
        ("limit", "-1"),
        ("limit", "1.5"),
        ("limit", "99999999999999999999"),
        ("cursor", "garbage"),
        ("cursor", "!!!"),
        ("cursor", "null"),
        ("cursor", "🙂"),
    ];

    for list in every_list(&alice, post_id) {
        for (parameter, value) in cases {
            let path = format!("{list}?{parameter}={}", query_escape(value));

            let reply = app.get(&path, alice.bearer()).await;

            reply.assert_error(400, parameter);
        }
    }
}

#[tokio::test]
async fn walking_a_timeline_visits_every_post_once_newest_first() {
    let (app, alice) = TestApp::with_user("walker").await;
    let ids = app.posts_by(&alice, 45).await;

    let public = app
        .walk(&format!("/users/{}/timeline", alice.id), None, 10)
        .await;
    let mine = app.walk("/me/timeline", alice.bearer(), 10).await;

    for pages in [public, mine] {
        assert_eq!(page_sizes(&pages), [10, 10, 10, 10, 5]);
        let walked = page_ids(&pages);
        assert_newest_first(&walked);
        assert_eq!(walked, newest_first(ids.clone()));
        assert_eq!(pages.last().unwrap()["next_cursor"], Value::Null);
    }
}

#[tokio::test]
async fn posts_added_while_walking_are_neither_repeated_nor_skipped() {
    let (app, alice) = TestApp::with_user("moving").await;
    let original = app.posts_by(&alice, 25).await;
    let path = format!("/users/{}/timeline", alice.id);

    let mut walked = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let body = app.page(&path, None, 10, cursor.as_deref()).await;
        walked.extend(item_ids(&body));
        app.posts_by(&alice, 2).await;
        cursor = next_cursor(&body);
        if cursor.is_none() {
            break;
        }
    }

    assert_eq!(walked, newest_first(original));
}

#[tokio::test]
async fn a_cursor_stays_valid_after_the_item_it_points_at_is_deleted() {
    let (app, alice) = TestApp::with_user("deleted").await;
    let ids = app.posts_by(&alice, 15).await;
    let (path, token) = ("/me/timeline", alice.bearer());
    let first = app.page(path, token, 5, None).await;
    assert_eq!(item_ids(&first), newest_first(ids[10..].to_vec()));
    let cursor = next_cursor(&first).unwrap();
    // The last item of the page and the first of the next one.
    for id in [ids[10], ids[9]] {
        let reply = app.delete(&format!("/posts/{id}"), token).await;
        reply.assert_status(204);
    }

    let second = app.page(path, token, 5, Some(&cursor)).await;

    assert_eq!(item_ids(&second), newest_first(ids[4..9].to_vec()));
    let cursor = next_cursor(&second);
    let third = app.page(path, token, 5, cursor.as_deref()).await;
    assert_eq!(item_ids(&third), newest_first(ids[..4].to_vec()));
    assert_eq!(third["next_cursor"], Value::Null);
}

/// Each row a list and a cursor that another list handed out.
#[tokio::test]
async fn a_cursor_of_another_list_is_400() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    let token = alice.bearer();
    app.post_by(&alice, "second").await;
    app.comment_on(post_id, &bob, "one").await;
    app.comment_on(post_id, &bob, "two").await;
    let comments = format!("/posts/{post_id}/comments");
    let timeline = format!("/users/{}/timeline", alice.id);
    let comments_cursor = app.a_cursor_of(&comments, None).await;
    let timeline_cursor = app.a_cursor_of(&timeline, None).await;
    let notifications_cursor = app.a_cursor_of("/me/notifications", token).await;
    let cases = [
        (timeline.as_str(), &comments_cursor),
        ("/me/timeline", &comments_cursor),
        ("/posts", &comments_cursor),
        (comments.as_str(), &timeline_cursor),
        (comments.as_str(), &notifications_cursor),
        ("/posts", &notifications_cursor),
        ("/me/notifications", &comments_cursor),
        ("/me/notifications", &timeline_cursor),
    ];

    for (list, cursor) in cases {
        let path = format!("{list}?cursor={}", query_escape(cursor));

        app.get(&path, token).await.assert_error(400, "cursor");
    }
}

#[tokio::test]
async fn comments_are_walked_oldest_first_including_ones_added_meanwhile() {
    let (app, alice) = TestApp::with_user("thread").await;
    let post_id = app.post_by(&alice, "thread").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(
            app.comment_on(post_id, &alice, &format!("comment #{i}"))
                .await,
        );
    }
    let path = format!("/posts/{post_id}/comments");
    let settled = app.walk(&path, None, 5).await;
    assert_eq!(page_sizes(&settled), [5, 5, 2]);
    assert_eq!(page_ids(&settled), ids);

    let first = app.page(&path, None, 5, None).await;
    for i in 0..2 {
        ids.push(app.comment_on(post_id, &alice, &format!("late #{i}")).await);
    }
    let mut walked = item_ids(&first);
    let mut cursor = next_cursor(&first);
    while let Some(at) = cursor {
        assert!(walked.len() <= ids.len(), "{walked:?}");
        let body = app.page(&path, None, 5, Some(&at)).await;
        walked.extend(item_ids(&body));
        cursor = next_cursor(&body);
    }

    assert_eq!(walked, ids);
}

#[tokio::test]
async fn notifications_are_paginated_newest_first_with_the_whole_unread_count() {
    let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;
    for i in 0..7 {
        app.comment_on(post_id, &bob, &format!("#{i}")).await;
    }
    let token = alice.bearer();

    let pages = app.walk("/me/notifications", token, 3).await;

    assert_eq!(page_sizes(&pages), [3, 3, 1]);
    for page in &pages {
        assert_eq!(page["unread_count"], 7, "{page}");
    }
    let walked = page_ids(&pages);
    assert_newest_first(&walked);
    app.mark_read(walked[1], token).await.assert_status(204);
    let unread = app.walk("/me/notifications?unread=true", token, 4).await;
    assert_eq!(page_sizes(&unread), [4, 2]);
    for page in &unread {
        assert_eq!(page["unread_count"], 6, "{page}");
    }
    let expected: Vec<i64> = walked
        .iter()
        .copied()
        .filter(|&id| id != walked[1])
        .collect();
    assert_eq!(page_ids(&unread), expected);
}
