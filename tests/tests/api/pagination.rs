//! The Pagination section of the contract, over HTTP: limits, keyset
//! cursors that neither repeat nor skip, and cursors that are refused.

use minifb_tests::{TestApp, User};
use reqwest::Method;
use serde_json::Value;

use crate::comments::create_comment;
use crate::posts::{create_post, item_ids, query_escape};

/// Posts `n` posts as `user`, one after another, and returns their ids
/// oldest first.
async fn create_posts(app: &TestApp, user: &User, n: usize) -> Vec<i64> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        ids.push(create_post(app, user, &format!("post #{i}")).await);
    }
    ids
}

/// `path` (which may hold a query already) with more query parameters.
fn with_query(path: &str, query: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}{query}")
}

/// One page of `path` at `cursor` (the first page without one).
async fn page(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    limit: u32,
    cursor: Option<&str>,
) -> Value {
    let mut query = format!("limit={limit}");
    if let Some(cursor) = cursor {
        query.push_str(&format!("&cursor={}", query_escape(cursor)));
    }
    let reply = app.get(&with_query(path, &query), token).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert!(
        reply.body.get("next_cursor").is_some(),
        "a page always has next_cursor: {}",
        reply.text
    );
    reply.body
}

fn next_cursor(page: &Value) -> Option<String> {
    match &page["next_cursor"] {
        Value::Null => None,
        Value::String(cursor) => Some(cursor.clone()),
        other => panic!("next_cursor is a string or null: {other}"),
    }
}

/// Follows `next_cursor` from the first page of `path` to the last.
async fn walk(app: &TestApp, path: &str, token: Option<&str>, limit: u32) -> Vec<Value> {
    let mut pages = vec![page(app, path, token, limit, None).await];
    while let Some(cursor) = next_cursor(pages.last().unwrap()) {
        assert!(pages.len() < 100, "the walk of {path} does not end");
        pages.push(page(app, path, token, limit, Some(&cursor)).await);
    }
    pages
}

fn page_sizes(pages: &[Value]) -> Vec<usize> {
    pages.iter().map(|page| item_ids(page).len()).collect()
}

fn all_ids(pages: &[Value]) -> Vec<i64> {
    pages.iter().flat_map(item_ids).collect()
}

fn newest_first(mut ids: Vec<i64>) -> Vec<i64> {
    ids.reverse();
    ids
}

/// A cursor pointing into the middle of `path`.
async fn a_cursor_of(app: &TestApp, path: &str, token: Option<&str>) -> String {
    next_cursor(&page(app, path, token, 1, None).await).expect("a list of two items has a cursor")
}

#[tokio::test]
async fn limit_defaults_to_20_and_accepts_1_to_100() {
    let app = TestApp::spawn().await;
    let alice = app.user("limits").await;
    let ids = create_posts(&app, &alice, 21).await;
    let path = format!("/users/{}/timeline", alice.id);

    let default = app.get(&path, None).await;
    let one = app.get(&format!("{path}?limit=1"), None).await;
    let hundred = app.get(&format!("{path}?limit=100"), None).await;

    assert_eq!(default.status, 200, "{}", default.text);
    assert_eq!(item_ids(&default.body), newest_first(ids[1..].to_vec()));
    assert!(default.body["next_cursor"].is_string(), "{}", default.text);
    assert_eq!(item_ids(&one.body), [ids[20]]);
    assert!(one.body["next_cursor"].is_string(), "{}", one.text);
    assert_eq!(item_ids(&hundred.body), newest_first(ids));
    assert_eq!(hundred.body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_limit_outside_1_to_100_or_not_a_number_is_400_on_every_list() {
    let app = TestApp::spawn().await;
    let alice = app.user("badlimit").await;
    let post_id = create_post(&app, &alice, "post").await;
    let token = Some(alice.token.as_str());
    let lists = [
        "/posts".to_owned(),
        "/me/timeline".to_owned(),
        format!("/users/{}/timeline", alice.id),
        format!("/posts/{post_id}/comments"),
        "/me/notifications".to_owned(),
    ];

    for list in &lists {
        for limit in ["0", "101", "abc", "-1", "1.5", "99999999999999999999"] {
            let reply = app.get(&format!("{list}?limit={limit}"), token).await;

            let hint = reply.error(400);
            assert!(hint.contains("limit"), "{list}?limit={limit}: {hint}");
        }
    }
}

#[tokio::test]
async fn walking_a_timeline_visits_every_post_once_newest_first() {
    let app = TestApp::spawn().await;
    let alice = app.user("walker").await;
    let ids = create_posts(&app, &alice, 45).await;

    let public = walk(&app, &format!("/users/{}/timeline", alice.id), None, 10).await;
    let mine = walk(&app, "/me/timeline", Some(&alice.token), 10).await;

    for pages in [public, mine] {
        assert_eq!(page_sizes(&pages), [10, 10, 10, 10, 5]);
        let walked = all_ids(&pages);
        assert!(
            walked.windows(2).all(|pair| pair[0] > pair[1]),
            "{walked:?}"
        );
        assert_eq!(walked, newest_first(ids.clone()));
        assert_eq!(pages.last().unwrap()["next_cursor"], Value::Null);
    }
}

#[tokio::test]
async fn posts_added_while_walking_are_neither_repeated_nor_skipped() {
    let app = TestApp::spawn().await;
    let alice = app.user("moving").await;
    let original = create_posts(&app, &alice, 25).await;
    let path = format!("/users/{}/timeline", alice.id);

    let mut walked = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let body = page(&app, &path, None, 10, cursor.as_deref()).await;
        walked.extend(item_ids(&body));
        create_posts(&app, &alice, 2).await;
        cursor = next_cursor(&body);
        if cursor.is_none() {
            break;
        }
    }

    assert_eq!(walked, newest_first(original));
}

#[tokio::test]
async fn a_cursor_stays_valid_after_the_item_it_points_at_is_deleted() {
    let app = TestApp::spawn().await;
    let alice = app.user("deleted").await;
    let ids = create_posts(&app, &alice, 15).await;
    let path = "/me/timeline";
    let token = Some(alice.token.as_str());
    let first = page(&app, path, token, 5, None).await;
    assert_eq!(item_ids(&first), newest_first(ids[10..].to_vec()));
    let cursor = next_cursor(&first).unwrap();
    // The last item of the page and the first of the next one.
    for id in [ids[10], ids[9]] {
        let reply = app.delete(&format!("/posts/{id}"), token).await;
        assert_eq!(reply.status, 204, "{}", reply.text);
    }

    let second = page(&app, path, token, 5, Some(&cursor)).await;

    assert_eq!(item_ids(&second), newest_first(ids[4..9].to_vec()));
    let third = page(&app, path, token, 5, next_cursor(&second).as_deref()).await;
    assert_eq!(item_ids(&third), newest_first(ids[..4].to_vec()));
    assert_eq!(third["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_cursor_that_cannot_be_decoded_is_400_on_every_list() {
    let app = TestApp::spawn().await;
    let alice = app.user("garbage").await;
    let post_id = create_post(&app, &alice, "post").await;
    let token = Some(alice.token.as_str());
    let lists = [
        "/posts".to_owned(),
        "/me/timeline".to_owned(),
        format!("/users/{}/timeline", alice.id),
        format!("/posts/{post_id}/comments"),
        "/me/notifications".to_owned(),
    ];

    for list in &lists {
        for cursor in ["garbage", "!!!", "null", "🙂"] {
            let path = format!("{list}?cursor={}", query_escape(cursor));

            let reply = app.get(&path, token).await;

            let hint = reply.error(400);
            assert!(hint.contains("cursor"), "{path}: {hint}");
        }
    }
}

#[tokio::test]
async fn a_cursor_of_another_list_is_400() {
    let app = TestApp::spawn().await;
    let alice = app.user("mixer").await;
    let bob = app.user("mixer").await;
    let token = Some(alice.token.as_str());
    let post_id = create_post(&app, &alice, "first").await;
    create_post(&app, &alice, "second").await;
    create_comment(&app, &bob, post_id, "one").await;
    create_comment(&app, &bob, post_id, "two").await;
    let comments = format!("/posts/{post_id}/comments");
    let timeline = format!("/users/{}/timeline", alice.id);
    let comments_cursor = a_cursor_of(&app, &comments, None).await;
    let timeline_cursor = a_cursor_of(&app, &timeline, None).await;
    let notifications_cursor = a_cursor_of(&app, "/me/notifications", token).await;
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

        let reply = app.get(&path, token).await;

        let hint = reply.error(400);
        assert!(hint.contains("cursor"), "{path}: {hint}");
    }
}

#[tokio::test]
async fn comments_are_walked_oldest_first_including_ones_added_meanwhile() {
    let app = TestApp::spawn().await;
    let alice = app.user("thread").await;
    let post_id = create_post(&app, &alice, "thread").await;
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(create_comment(&app, &alice, post_id, &format!("comment #{i}")).await);
    }
    let path = format!("/posts/{post_id}/comments");
    let settled = walk(&app, &path, None, 5).await;
    assert_eq!(page_sizes(&settled), [5, 5, 2]);
    assert_eq!(all_ids(&settled), ids);

    let first = page(&app, &path, None, 5, None).await;
    for i in 0..2 {
        ids.push(create_comment(&app, &alice, post_id, &format!("late #{i}")).await);
    }
    let mut walked = item_ids(&first);
    let mut cursor = next_cursor(&first);
    while let Some(at) = cursor {
        assert!(walked.len() <= ids.len(), "{walked:?}");
        let body = page(&app, &path, None, 5, Some(&at)).await;
        walked.extend(item_ids(&body));
        cursor = next_cursor(&body);
    }

    assert_eq!(walked, ids);
}

#[tokio::test]
async fn notifications_are_paginated_newest_first_with_the_whole_unread_count() {
    let app = TestApp::spawn().await;
    let alice = app.user("popular").await;
    let bob = app.user("chatty").await;
    let post_id = create_post(&app, &alice, "talk to me").await;
    for i in 0..7 {
        create_comment(&app, &bob, post_id, &format!("#{i}")).await;
    }
    let token = Some(alice.token.as_str());

    let pages = walk(&app, "/me/notifications", token, 3).await;

    assert_eq!(page_sizes(&pages), [3, 3, 1]);
    for page in &pages {
        assert_eq!(page["unread_count"], 7, "{page}");
    }
    let walked = all_ids(&pages);
    assert!(
        walked.windows(2).all(|pair| pair[0] > pair[1]),
        "{walked:?}"
    );
    let read = app
        .request(
            Method::POST,
            &format!("/me/notifications/{}/read", walked[1]),
            token,
            None,
        )
        .await;
    assert_eq!(read.status, 204, "{}", read.text);
    let unread = walk(&app, "/me/notifications?unread=true", token, 4).await;
    assert_eq!(page_sizes(&unread), [4, 2]);
    for page in &unread {
        assert_eq!(page["unread_count"], 6, "{page}");
    }
    let expected: Vec<i64> = walked
        .iter()
        .copied()
        .filter(|&id| id != walked[1])
        .collect();
    assert_eq!(all_ids(&unread), expected);
}
