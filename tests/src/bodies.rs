//! Reading answer bodies: ids, pages and cursors, timestamps, reaction
//! counts, statistics; and walking a list from its first page to its last.

use serde_json::{Value, json};

use crate::app::TestApp;
use crate::users::User;

/// Pagination: pages, cursors and walks from the first page to the last.
impl TestApp {
    /// One page of `path` (which may hold a query already) at `cursor`, or
    /// the first page without one, asserting 200 and a `next_cursor`.
    pub async fn page(
        &self,
        path: &str,
        token: Option<&str>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Value {
        let mut query = format!("limit={limit}");
        if let Some(cursor) = cursor {
            query.push_str(&format!("&cursor={}", query_escape(cursor)));
        }
        let reply = self.get(&with_query(path, &query), token).await;
        reply.assert_status(200);
        assert!(
            reply.body.get("next_cursor").is_some(),
            "a page always has next_cursor: {}",
            reply.text
        );
        reply.body
    }

    /// Follows `next_cursor` from the first page of `path` to the last.
    pub async fn walk(&self, path: &str, token: Option<&str>, limit: u32) -> Vec<Value> {
        let mut pages = vec![self.page(path, token, limit, None).await];
        while let Some(cursor) = next_cursor(pages.last().unwrap()) {
            assert!(pages.len() < 100, "the walk of {path} does not end");
            pages.push(self.page(path, token, limit, Some(&cursor)).await);
        }
        pages
    }

    /// A cursor pointing into the middle of `path`, a list of two items at
    /// least.
    pub async fn a_cursor_of(&self, path: &str, token: Option<&str>) -> String {
        let first = self.page(path, token, 1, None).await;
        next_cursor(&first).expect("a list of two items has a cursor")
    }
}

/// A count of server statistics (`by_endpoint`, `by_status`), 0 when
/// absent.
pub fn stat(stats: &Value, group: &str, key: &str) -> i64 {
    stats[group][key].as_i64().unwrap_or(0)
}

/// The `id` of a post, comment or notification.
pub fn id_of(item: &Value) -> i64 {
    item["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("an id is an integer: {item}"))
}

/// A page's items.
pub fn items(page: &Value) -> &Vec<Value> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page has items: {page}"))
}

/// The ids of a page's items, in order.
pub fn item_ids(page: &Value) -> Vec<i64> {
    items(page).iter().map(id_of).collect()
}

/// The ids of the items of `pages`, in order.
pub fn page_ids(pages: &[Value]) -> Vec<i64> {
    pages.iter().flat_map(item_ids).collect()
}

/// How many items each of `pages` holds.
pub fn page_sizes(pages: &[Value]) -> Vec<usize> {
    pages.iter().map(|page| items(page).len()).collect()
}

/// A page's `next_cursor`, asserting it is a string or null.
pub fn next_cursor(page: &Value) -> Option<String> {
    match &page["next_cursor"] {
        Value::Null => None,
        Value::String(cursor) => Some(cursor.clone()),
        other => panic!("next_cursor is a string or null: {other}"),
    }
}

/// `ids` (oldest first, as created) in the order of a timeline.
pub fn newest_first(mut ids: Vec<i64>) -> Vec<i64> {
    ids.reverse();
    ids
}

/// Asserts that `ids` fall strictly, as a newest-first list's do.
#[track_caller]
pub fn assert_newest_first(ids: &[i64]) {
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "{ids:?}");
}

/// Asserts that a notifications page holds none and counts none unread.
#[track_caller]
pub fn assert_no_notifications(page: &Value) {
    assert_eq!(page["items"], json!([]), "{page}");
    assert_eq!(page["unread_count"], 0, "{page}");
}

/// The types of a notifications page's items, in order.
pub fn notification_types(page: &Value) -> Vec<i64> {
    items(page)
        .iter()
        .map(|n| n["type"].as_i64().unwrap())
        .collect()
}

/// The lists of the contract, all of which page alike: the public feed,
/// my timeline, `user`'s timeline, the comments of `post_id`, my
/// notifications.
pub fn every_list(user: &User, post_id: i64) -> [String; 5] {
    [
        "/posts".to_owned(),
        "/me/timeline".to_owned(),
        format!("/users/{}/timeline", user.id),
        format!("/posts/{post_id}/comments"),
        "/me/notifications".to_owned(),
    ]
}

/// `path` (which may hold a query already) with more query parameters.
pub fn with_query(path: &str, query: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}{query}")
}

/// Percent-encodes a query value, opaque cursors included.
pub fn query_escape(value: &str) -> String {
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

/// The sorted keys of a JSON object.
pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Asserts a timestamp of the contract: `2026-11-26T09:56:15.123Z`.
#[track_caller]
pub fn assert_timestamp(value: &Value) {
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

/// Asserts that `edited` is the post or comment `created` with `content`
/// instead, and an `updated_at` no earlier than its `created_at`.
#[track_caller]
pub fn assert_edited(edited: &Value, created: &Value, content: &str) {
    assert_eq!(edited["id"], created["id"], "{edited}");
    assert_eq!(edited["content"], content, "{edited}");
    assert_eq!(edited["created_at"], created["created_at"], "{edited}");
    assert_timestamp(&edited["updated_at"]);
    assert!(
        edited["updated_at"].as_str() >= created["created_at"].as_str(),
        "{edited}"
    );
}

/// `reaction_counts` with every key at zero.
pub fn no_reactions() -> Value {
    reaction_counts(&[])
}

/// `reaction_counts` with the given (type, count) pairs, zeros elsewhere.
pub fn reaction_counts(pairs: &[(u8, i64)]) -> Value {
    let mut counts = json!({ "1": 0, "2": 0, "3": 0, "4": 0, "5": 0 });
    for (kind, n) in pairs {
        counts[kind.to_string()] = json!(n);
    }
    counts
}
