//! Opaque keyset cursors and the `limit` parameter.
//!
//! A cursor is `base64url("v1:<list>:<key>")`: the key is the id of the last
//! item served, and the list tag ties it to the list it came from, so a
//! cursor from one list used on another is a 400 rather than a silent jump.
//! Cursors are not secret: a client that edits one only moves its own
//! position, which the `limit` bound keeps harmless.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use minifb_application::social::Page;
use minifb_application::social::ports::PageRequest;
use minifb_domain::{PageLimit, PostId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};
use utoipa::{IntoParams, ToSchema};

use crate::error::ApiError;

pub const DEFAULT_LIMIT: u32 = PageLimit::DEFAULT.get();
pub const MAX_LIMIT: u32 = PageLimit::MAX;

/// The shape of every cursor: `base64url("v1:...")` without padding, and
/// `base64url("v1:")` is `djE6`.
pub const CURSOR_PATTERN: &str = "^djE6[A-Za-z0-9_-]+$";

/// A list that pages: its tag, written into each of its cursors, ties the
/// cursor to it.
#[derive(Debug, Clone, Copy)]
pub enum List<'a> {
    /// Every user's posts.
    Posts,
    /// One user's posts, by the id as the path names it (letter case
    /// ignored).
    Timeline(&'a str),
    /// The comments of one post.
    Comments(PostId),
    /// A user's notifications, all of them or the unread ones only.
    Notifications { user: &'a UserId, unread_only: bool },
}

impl fmt::Display for List<'_> {
    /// The tag: `posts`, `timeline:<id in lower case>`, `comments:<post>`,
    /// `notifications:<user key>:all` or `...:unread`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Posts => f.write_str("posts"),
            Self::Timeline(id) => write!(f, "timeline:{}", id.to_ascii_lowercase()),
            Self::Comments(post_id) => write!(f, "comments:{post_id}"),
            Self::Notifications { user, unread_only } => write!(
                f,
                "notifications:{}:{}",
                user.key().as_str(),
                if *unread_only { "unread" } else { "all" }
            ),
        }
    }
}

/// Reads `limit` and `cursor` for `list`.
pub fn page_request(
    limit: Option<&str>,
    cursor: Option<&str>,
    list: List<'_>,
) -> Result<PageRequest, ApiError> {
    let limit = match limit {
        None => PageLimit::DEFAULT,
        Some(raw) => PageLimit::parse(raw)?,
    };
    let after = cursor.map(|c| decode(c, list)).transpose()?;
    Ok(PageRequest { limit, after })
}

pub fn encode(list: List<'_>, key: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{list}:{key}"))
}

fn decode(cursor: &str, list: List<'_>) -> Result<i64, ApiError> {
    let invalid =
        || ApiError::bad_request("cursor is not a cursor of this list; start again without it");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let rest = text.strip_prefix("v1:").ok_or_else(invalid)?;
    let (tag, key) = rest.rsplit_once(':').ok_or_else(invalid)?;
    if tag != list.to_string() || key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    key.parse().map_err(|_| invalid())
}

/// `{ "items": [...], "next_cursor": "..." | null }`
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Page)]
pub struct PageBody<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null on the last page. Opaque,
    /// and valid only for the list it came from.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

impl<T> PageBody<T> {
    /// The page of `list`, its items as bodies.
    pub fn from_page<V>(page: Page<V>, list: List<'_>) -> Self
    where
        T: From<V>,
    {
        Self {
            items: page.items.into_iter().map(T::from).collect(),
            next_cursor: page.next_after.map(|key| encode(list, key)),
        }
    }
}

/// `?limit=&cursor=` of every list; any other parameter is a 400.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(schema_with = limit)]
    pub limit: Option<String>,
    /// The `next_cursor` of the previous page. Cursors are opaque (the
    /// pattern is only their shape) and tied to the list they came from:
    /// one from another list (another user's timeline, another post's
    /// comments, notifications with another `unread` filter) is a 400.
    #[param(schema_with = cursor)]
    pub cursor: Option<String>,
}

impl PageQuery {
    /// The page asked for of `list`.
    pub fn page(&self, list: List<'_>) -> Result<PageRequest, ApiError> {
        page_request(self.limit.as_deref(), self.cursor.as_deref(), list)
    }
}

/// The `limit` query parameter.
pub fn limit() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(MAX_LIMIT))
        .default(Some(json!(DEFAULT_LIMIT)))
        .description(Some("Items per page."))
        .build()
}

/// The `cursor` query parameter: a `next_cursor` of the same list.
pub fn cursor() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(CURSOR_PATTERN))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_within_their_list_only() {
        let cursor = encode(List::Comments(PostId::new(14)), 99);
        let page = page_request(Some("5"), Some(&cursor), List::Comments(PostId::new(14))).unwrap();
        assert_eq!(
            page,
            PageRequest {
                limit: PageLimit::new(5).unwrap(),
                after: Some(99)
            }
        );
        assert_eq!(
            page_request(None, Some(&cursor), List::Comments(PostId::new(15)))
                .unwrap_err()
                .status(),
            400
        );
        assert_eq!(
            page_request(None, Some("garbage!"), List::Posts)
                .unwrap_err()
                .status(),
            400
        );
        let overflowing = URL_SAFE_NO_PAD.encode("v1:posts:99999999999999999999");
        assert_eq!(
            page_request(None, Some(&overflowing), List::Posts)
                .unwrap_err()
                .status(),
            400
        );
        let forged = URL_SAFE_NO_PAD.encode("v1:posts:-5");
        assert!(forged.starts_with("djE6"), "the documented shape");
        assert_eq!(
            page_request(None, Some(&forged), List::Posts)
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn limit_is_1_to_100_and_defaults_to_20() {
        assert_eq!(
            page_request(None, None, List::Posts).unwrap().limit.get(),
            20
        );
        assert_eq!(
            page_request(Some("1"), None, List::Posts)
                .unwrap()
                .limit
                .get(),
            1
        );
        assert_eq!(
            page_request(Some("100"), None, List::Posts)
                .unwrap()
                .limit
                .get(),
            100
        );
        for bad in ["0", "101", "abc", "-1", "+5", "", "1.0"] {
            assert_eq!(
                page_request(Some(bad), None, List::Posts)
                    .unwrap_err()
                    .status(),
                400,
                "{bad}"
            );
        }
    }

    #[test]
    fn cursors_have_the_documented_shape() {
        let pattern = regex::Regex::new(CURSOR_PATTERN).unwrap();
        for (list, key) in [
            (List::Posts, 1),
            (List::Timeline("alice"), 99),
            (List::Comments(PostId::new(14)), 0),
        ] {
            let cursor = encode(list, key);
            assert!(pattern.is_match(&cursor), "{cursor}");
        }
    }

    #[test]
    fn a_cursor_serves_its_own_list_only_and_timelines_ignore_letter_case() {
        let alice = UserId::parse("Alice").unwrap();
        let unread = List::Notifications {
            user: &alice,
            unread_only: true,
        };
        let all = List::Notifications {
            user: &alice,
            unread_only: false,
        };
        let cases = [
            (List::Timeline("Alice"), List::Timeline("aLICE"), true),
            (List::Timeline("alice"), List::Timeline("bob"), false),
            (List::Posts, List::Timeline("alice"), false),
            (
                List::Comments(PostId::new(1)),
                List::Comments(PostId::new(1)),
                true,
            ),
            (unread, unread, true),
            (unread, all, false),
        ];
        for (from, used_on, accepted) in cases {
            let cursor = encode(from, 7);
            assert_eq!(
                page_request(None, Some(&cursor), used_on).is_ok(),
                accepted,
                "{from} used on {used_on}"
            );
        }
    }
}
