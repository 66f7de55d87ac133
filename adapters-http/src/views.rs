//! Response bodies of the social routes, as API.md's "Shapes" define them.

use chrono::{DateTime, Utc};
use minifb_application::social::ports::{
    Author, CommentView, NotificationView, PostView, ReactionCounts, ReactionView,
};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::{openapi, time};

/// Who wrote a post or comment, or caused a notification.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Author)]
pub struct AuthorBody {
    pub id: String,
    pub name: String,
    #[schema(required = true)]
    pub nickname: Option<String>,
}

impl From<Author> for AuthorBody {
    fn from(author: Author) -> Self {
        Self {
            id: author.id.into_inner(),
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

impl PartialSchema for ReactionCountsBody {
    fn schema() -> RefOr<Schema> {
        let count = || {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .minimum(Some(0))
        };
        let mut object = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some(
                "How many reactions of each type, by type: all five keys, zeros included.",
            ))
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        for key in ["1", "2", "3", "4", "5"] {
            object = object.property(key, count()).required(key);
        }
        object.into()
    }
}

impl ToSchema for ReactionCountsBody {
    fn name() -> std::borrow::Cow<'static, str> {
        "ReactionCounts".into()
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Post)]
pub struct PostBody {
    pub id: i64,
    pub author: AuthorBody,
    pub content: String,
    #[serde(serialize_with = "time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Null until the first edit.
    #[serde(serialize_with = "time::rfc3339_opt")]
    #[schema(required = true)]
    pub updated_at: Option<DateTime<Utc>>,
    pub comment_count: i64,
    pub reaction_counts: ReactionCountsBody,
    #[schema(schema_with = openapi::my_reaction, required = true)]
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

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Comment)]
pub struct CommentBody {
    pub id: i64,
    pub post_id: i64,
    pub author: AuthorBody,
    pub content: String,
    /// True once the comment has been edited.
    pub modified: bool,
    #[serde(serialize_with = "time::rfc3339")]
    pub created_at: DateTime<Utc>,
    /// Null until the first edit.
    #[serde(serialize_with = "time::rfc3339_opt")]
    #[schema(required = true)]
    pub updated_at: Option<DateTime<Utc>>,
    pub reaction_counts: ReactionCountsBody,
    #[schema(schema_with = openapi::my_reaction, required = true)]
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

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Reaction)]
pub struct ReactionBody {
    #[serde(rename = "type")]
    #[schema(schema_with = openapi::reaction_type)]
    pub kind: u8,
    /// Becomes true the first time the type changes, and stays true.
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

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Notification)]
pub struct NotificationBody {
    pub id: i64,
    /// 1: someone commented on my post; 2: someone reacted to my post.
    #[serde(rename = "type")]
    #[schema(minimum = 1, maximum = 2)]
    pub kind: i16,
    pub actor: AuthorBody,
    pub post_id: i64,
    /// The comment, for type 1; null for type 2.
    #[schema(required = true)]
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
