//! Response bodies of the social routes, as API.md's "Shapes" define them.

use chrono::{DateTime, Utc};
use minifb_application::social::ports::{
    Author, CommentView, NotificationView, PostView, ReactionCounts, ReactionView,
};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::time;

#[derive(Debug, Serialize)]
pub struct AuthorBody {
    pub id: String,
    pub name: String,
    pub nickname: Option<String>,
}

impl From<Author> for AuthorBody {
    fn from(author: Author) -> Self {
        Self {
            id: author.id,
            name: author.name,
            nickname: author.nickname,
        }
    }
}

/// `{"1": n, "2": n, "3": n, "4": n, "5": n}`, zeros included.
#[derive(Debug)]
pub struct ReactionCountsBody(pub ReactionCounts);

impl Serialize for ReactionCountsBody {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const KEYS: [&str; 5] = ["1", "2", "3", "4", "5"];
        let mut map = serializer.serialize_map(Some(KEYS.len()))?;
        for (key, count) in KEYS.iter().zip(self.0) {
            map.serialize_entry(key, &count)?;
        }
        map.end()
    }
}

#[derive(Debug, Serialize)]
pub struct PostBody {
    pub id: i64,
    pub author: AuthorBody,
    pub content: String,
    #[serde(serialize_with = "time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time::rfc3339_opt")]
    pub updated_at: Option<DateTime<Utc>>,
    pub comment_count: i64,
    pub reaction_counts: ReactionCountsBody,
    pub my_reaction: Option<u8>,
}

impl From<PostView> for PostBody {
    fn from(post: PostView) -> Self {
        Self {
            id: post.id.get(),
            author: post.author.into(),
            content: post.content,
            created_at: post.created_at,
            updated_at: post.updated_at,
            comment_count: post.comment_count,
            reaction_counts: ReactionCountsBody(post.reaction_counts),
            my_reaction: post.my_reaction.map(|kind| kind.get()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct CommentBody {
    pub id: i64,
    pub post_id: i64,
    pub author: AuthorBody,
    pub content: String,
    pub modified: bool,
    #[serde(serialize_with = "time::rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "time::rfc3339_opt")]
    pub updated_at: Option<DateTime<Utc>>,
    pub reaction_counts: ReactionCountsBody,
    pub my_reaction: Option<u8>,
}

impl From<CommentView> for CommentBody {
    fn from(comment: CommentView) -> Self {
        Self {
            id: comment.id.get(),
            post_id: comment.post_id.get(),
            author: comment.author.into(),
            content: comment.content,
            modified: comment.modified,
            created_at: comment.created_at,
            updated_at: comment.updated_at,
            reaction_counts: ReactionCountsBody(comment.reaction_counts),
            my_reaction: comment.my_reaction.map(|kind| kind.get()),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ReactionBody {
    #[serde(rename = "type")]
    pub kind: u8,
    pub modified: bool,
    #[serde(serialize_with = "time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<ReactionView> for ReactionBody {
    fn from(reaction: ReactionView) -> Self {
        Self {
            kind: reaction.kind.get(),
            modified: reaction.modified,
            created_at: reaction.created_at,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct NotificationBody {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: i16,
    pub actor: AuthorBody,
    pub post_id: i64,
    pub comment_id: Option<i64>,
    pub read: bool,
    #[serde(serialize_with = "time::rfc3339")]
    pub created_at: DateTime<Utc>,
}

impl From<NotificationView> for NotificationBody {
    fn from(notification: NotificationView) -> Self {
        Self {
            id: notification.id.get(),
            kind: notification.kind.code(),
            actor: notification.actor.into(),
            post_id: notification.post_id.get(),
            comment_id: notification.comment_id.map(|id| id.get()),
            read: notification.read,
            created_at: notification.created_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reaction_counts_have_all_five_keys_in_order() {
        let json = serde_json::to_string(&ReactionCountsBody([0, 2, 0, 0, 1])).unwrap();
        assert_eq!(json, r#"{"1":0,"2":2,"3":0,"4":0,"5":1}"#);
    }
}
