//! The read models of the social core as rows: each view is one statement
//! (the item, its author through `users`, its counters from their columns,
//! the viewer's reaction through a correlated subquery), so a page costs one
//! query whatever its length. Mapping a row into a view never panics: a value the
//! domain refuses (a count array that is not five long, a type outside its
//! range) is a `StoreError::Other`.

use chrono::{DateTime, Utc};
use diesel::dsl;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types;
use minifb_application::StoreError;
use minifb_application::social::ports::{
    Author, CommentView, NotificationView, PostView, ReactionCounts,
};
use minifb_domain::{CommentId, NotificationId, NotificationKind, PostId, ReactionKind, UserId};

use crate::replicas::{Database, write};
use crate::schema::{comment_reactions, comments, notifications, post_reactions, posts, users};

/// `viewer`'s reaction on the post of the outer query. A correlated scalar
/// subquery rather than a LEFT JOIN: it runs once per row the page returns,
/// one entry of `(post_id, user_id)` (migration `000002`), whereas a join leaves the planner free to merge
/// against all the viewer's reactions up to the page, a cost that grows
/// with depth. Without a viewer it compares `user_id` with NULL, which
/// matches nothing (the planner folds it away).
#[dsl::auto_type]
fn my_post_reaction(viewer: Option<String>) -> _ {
    post_reactions::table
        .filter(
            post_reactions::post_id
                .eq(posts::id)
                .and(post_reactions::user_id.nullable().eq(viewer)),
        )
        .select(post_reactions::type_)
        .single_value()
}

/// Posts with their author and `viewer`'s reaction, in one statement.
#[dsl::auto_type]
pub(crate) fn post_views(viewer: Option<String>) -> _ {
    let post: dsl::AsSelect<PostRow, Pg> = PostRow::as_select();
    let author: dsl::AsSelect<AuthorRow, Pg> = AuthorRow::as_select();
    let my_reaction: my_post_reaction = my_post_reaction(viewer);
    posts::table
        .inner_join(users::table)
        .select((post, author, my_reaction))
}

/// `viewer`'s reaction on the comment of the outer query, as
/// [`my_post_reaction`].
#[dsl::auto_type]
fn my_comment_reaction(viewer: Option<String>) -> _ {
    comment_reactions::table
        .filter(
            comment_reactions::comment_id
                .eq(comments::id)
                .and(comment_reactions::user_id.nullable().eq(viewer)),
        )
        .select(comment_reactions::type_)
        .single_value()
}

/// Comments with their author and `viewer`'s reaction, in one statement.
#[dsl::auto_type]
pub(crate) fn comment_views(viewer: Option<String>) -> _ {
    let comment: dsl::AsSelect<CommentRow, Pg> = CommentRow::as_select();
    let author: dsl::AsSelect<AuthorRow, Pg> = AuthorRow::as_select();
    let my_reaction: my_comment_reaction = my_comment_reaction(viewer);
    comments::table
        .inner_join(users::table)
        .select((comment, author, my_reaction))
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct AuthorRow {
    id: String,
    name: String,
    nickname: Option<String>,
}

impl TryFrom<AuthorRow> for Author {
    type Error = StoreError;

    fn try_from(row: AuthorRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: stored_user_id(row.id)?,
            name: row.name,
            nickname: row.nickname,
        })
    }
}

#[derive(Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = posts, check_for_backend(diesel::pg::Pg))]
pub(crate) struct PostRow {
    id: i64,
    content: String,
    created_at: DateTime<Utc>,
    updated_at: Option<DateTime<Utc>>,
    comment_count: i64,
    reaction_counts: Vec<Option<i64>>,
}

/// A post as [`post_views`] reads it.
#[derive(Debug, Queryable)]
pub(crate) struct PostViewRow {
    post: PostRow,
    author: AuthorRow,
    my_reaction: Option<i16>,
}

impl TryFrom<PostViewRow> for PostView {
    type Error = StoreError;

    fn try_from(row: PostViewRow) -> Result<Self, StoreError> {
        let PostViewRow {
            post,
            author,
            my_reaction,
        } = row;
        Ok(Self {
            id: PostId::new(post.id),
            author: author.try_into()?,
            content: post.content,
            created_at: post.created_at,
            updated_at: post.updated_at,
            comment_count: post.comment_count,
            reaction_counts: reaction_counts(post.reaction_counts)?,
            my_reaction: my_reaction.map(reaction_kind).transpose()?,
        })
    }
}

#[derive(Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = comments, check_for_backend(diesel::pg::Pg))]
pub(crate) struct CommentRow {
    id: i64,
    post_id: i64,
    content: String,
    modified: bool,
    created_at: DateTime<Utc>,
    updated_at: Option<DateTime<Utc>>,
    reaction_counts: Vec<Option<i64>>,
}

/// A comment as [`comment_views`] reads it.
#[derive(Debug, Queryable)]
pub(crate) struct CommentViewRow {
    comment: CommentRow,
    author: AuthorRow,
    my_reaction: Option<i16>,
}

impl TryFrom<CommentViewRow> for CommentView {
    type Error = StoreError;

    fn try_from(row: CommentViewRow) -> Result<Self, StoreError> {
        let CommentViewRow {
            comment,
            author,
            my_reaction,
        } = row;
        Ok(Self {
            id: CommentId::new(comment.id),
            post_id: PostId::new(comment.post_id),
            author: author.try_into()?,
            content: comment.content,
            modified: comment.modified,
            created_at: comment.created_at,
            updated_at: comment.updated_at,
            reaction_counts: reaction_counts(comment.reaction_counts)?,
            my_reaction: my_reaction.map(reaction_kind).transpose()?,
        })
    }
}

/// The columns of [`WrittenPostRow`], for a statement that writes a post
/// as `p` (a data-modifying CTE's `RETURNING`) and joins its author as `u`:
/// the write and the view it answers with are one round trip.
/// A macro, for `concat!`.
macro_rules! written_post_columns {
    () => {
        "p.id, p.content, p.created_at, p.updated_at, p.comment_count, p.reaction_counts, \
         u.id AS author_id, u.name AS author_name, u.nickname AS author_nickname"
    };
}
pub(crate) use written_post_columns;

/// The author of a written post or comment, as `written_*_columns!` name
/// the columns.
#[derive(Debug, QueryableByName)]
pub(crate) struct WrittenAuthorRow {
    #[diesel(sql_type = sql_types::Text)]
    author_id: String,
    #[diesel(sql_type = sql_types::Text)]
    author_name: String,
    #[diesel(sql_type = sql_types::Nullable<sql_types::Text>)]
    author_nickname: Option<String>,
}

impl From<WrittenAuthorRow> for AuthorRow {
    fn from(row: WrittenAuthorRow) -> Self {
        Self {
            id: row.author_id,
            name: row.author_name,
            nickname: row.author_nickname,
        }
    }
}

/// A post as a statement that wrote it reads it back (raw SQL, whose
/// columns are found by name): [`written_post_columns`] and `my_reaction`.
#[derive(Debug, QueryableByName)]
pub(crate) struct WrittenPostRow {
    #[diesel(embed)]
    post: PostRow,
    #[diesel(embed)]
    author: WrittenAuthorRow,
    #[diesel(sql_type = sql_types::Nullable<sql_types::SmallInt>)]
    my_reaction: Option<i16>,
}

impl From<WrittenPostRow> for PostViewRow {
    fn from(row: WrittenPostRow) -> Self {
        Self {
            post: row.post,
            author: row.author.into(),
            my_reaction: row.my_reaction,
        }
    }
}

/// Runs `statement`, an edit of a post or comment that answers with the
/// written row (`$1` its id, `$2` the new content, `$3` the viewer, who
/// must own it), read as `R` and answered as the view `V` through its view
/// row `W`: `None` when no row was written.
pub(crate) async fn edit<R, W, V>(
    db: &Database,
    statement: &'static str,
    id: i64,
    content: String,
    viewer: &UserId,
) -> Result<Option<V>, StoreError>
where
    R: QueryableByName<Pg> + Send + 'static,
    W: From<R>,
    V: TryFrom<W, Error = StoreError>,
{
    let viewer = viewer.to_string();
    write(db, move |conn| {
        diesel::sql_query(statement)
            .bind::<sql_types::BigInt, _>(id)
            .bind::<sql_types::Text, _>(content)
            .bind::<sql_types::Text, _>(viewer)
            .get_result::<R>(conn)
            .optional()
    })
    .await?
    .map(|row| V::try_from(W::from(row)))
    .transpose()
}

/// As [`written_post_columns`], for a comment written as `c`.
macro_rules! written_comment_columns {
    () => {
        "c.id, c.post_id, c.content, c.modified, c.created_at, c.updated_at, c.reaction_counts, \
         u.id AS author_id, u.name AS author_name, u.nickname AS author_nickname"
    };
}
pub(crate) use written_comment_columns;

/// As [`WrittenPostRow`], for a comment.
#[derive(Debug, QueryableByName)]
pub(crate) struct WrittenCommentRow {
    #[diesel(embed)]
    comment: CommentRow,
    #[diesel(embed)]
    author: WrittenAuthorRow,
    #[diesel(sql_type = sql_types::Nullable<sql_types::SmallInt>)]
    my_reaction: Option<i16>,
}

impl From<WrittenCommentRow> for CommentViewRow {
    fn from(row: WrittenCommentRow) -> Self {
        Self {
            comment: row.comment,
            author: row.author.into(),
            my_reaction: row.my_reaction,
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = notifications, check_for_backend(diesel::pg::Pg))]
pub(crate) struct NotificationRow {
    id: i64,
    #[diesel(column_name = type_)]
    kind: i16,
    post_id: i64,
    comment_id: Option<i64>,
    read: bool,
    created_at: DateTime<Utc>,
}

/// A notification with its actor (`notifications` joined to `users` on
/// `actor_id`).
#[derive(Debug, Queryable, Selectable)]
#[diesel(check_for_backend(diesel::pg::Pg))]
pub(crate) struct NotificationViewRow {
    #[diesel(embed)]
    notification: NotificationRow,
    #[diesel(embed)]
    actor: AuthorRow,
}

impl TryFrom<NotificationViewRow> for NotificationView {
    type Error = StoreError;

    fn try_from(row: NotificationViewRow) -> Result<Self, StoreError> {
        let NotificationViewRow {
            notification,
            actor,
        } = row;
        Ok(Self {
            id: NotificationId::new(notification.id),
            kind: NotificationKind::from_code(notification.kind)
                .ok_or_else(|| unreadable("a notification type that is neither 1 nor 2"))?,
            actor: actor.try_into()?,
            post_id: PostId::new(notification.post_id),
            comment_id: notification.comment_id.map(CommentId::new),
            read: notification.read,
            created_at: notification.created_at,
        })
    }
}

/// Maps every row of a page, failing on the first that cannot be mapped.
pub(crate) fn views<R, V>(rows: Vec<R>) -> Result<Vec<V>, StoreError>
where
    V: TryFrom<R, Error = StoreError>,
{
    rows.into_iter().map(V::try_from).collect()
}

/// `bigint[5]`, element k counting reactions of type k, as `counts[k - 1]`.
/// PostgreSQL arrays may hold NULLs whatever the column's NOT NULL says (so
/// the schema types the elements `Nullable`); the triggers never write one.
fn reaction_counts(values: Vec<Option<i64>>) -> Result<ReactionCounts, StoreError> {
    let values: Option<Vec<i64>> = values.into_iter().collect();
    let values = values.ok_or_else(|| unreadable("a NULL in a reaction_counts array"))?;
    ReactionCounts::try_from(values)
        .map_err(|_| unreadable("a reaction_counts array without exactly five elements"))
}

/// A stored `type` of a reaction.
pub(crate) fn reaction_kind(code: i16) -> Result<ReactionKind, StoreError> {
    ReactionKind::parse(i64::from(code)).map_err(|_| unreadable("a reaction type outside 1 to 5"))
}

/// A stored user id. Ids are checked when they are chosen, so one that
/// breaks the rule was written by something else sharing the database.
pub(crate) fn stored_user_id(id: String) -> Result<UserId, StoreError> {
    UserId::parse(id).map_err(|_| unreadable("a user id that breaks the id rule"))
}

/// The message names what was wrong, never the value (it may be data).
pub(crate) fn unreadable(what: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("unreadable row: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post_row(reaction_counts: Vec<i64>, my_reaction: Option<i16>) -> PostViewRow {
        stored_post_row(reaction_counts.into_iter().map(Some).collect(), my_reaction)
    }

    fn stored_post_row(reaction_counts: Vec<Option<i64>>, my_reaction: Option<i16>) -> PostViewRow {
        PostViewRow {
            post: PostRow {
                id: 7,
                content: "hello".into(),
                created_at: Utc::now(),
                updated_at: None,
                comment_count: 2,
                reaction_counts,
            },
            author: AuthorRow {
                id: "Alice".into(),
                name: "Alice".into(),
                nickname: None,
            },
            my_reaction,
        }
    }

    #[test]
    fn a_post_row_maps_counts_by_type_and_the_viewers_reaction() {
        let view = PostView::try_from(post_row(vec![1, 0, 3, 0, 5], Some(3))).unwrap();
        assert_eq!(view.id, PostId::new(7));
        assert_eq!(view.reaction_counts, [1, 0, 3, 0, 5]);
        assert_eq!(view.my_reaction, Some(ReactionKind::parse(3).unwrap()));
        assert_eq!(view.author.id.as_ref(), "Alice");
    }

    #[test]
    fn rows_the_domain_refuses_are_errors_not_panics() {
        let mut bad_author = post_row(vec![0; 5], None);
        bad_author.author.id = "a b".into();
        for row in [
            post_row(vec![0, 0, 0, 0], None),
            post_row(vec![0; 6], None),
            post_row(vec![0; 5], Some(0)),
            post_row(vec![0; 5], Some(6)),
            stored_post_row(vec![Some(0), Some(0), None, Some(0), Some(0)], None),
            bad_author,
        ] {
            let error = PostView::try_from(row).unwrap_err();
            assert!(matches!(error, StoreError::Other(_)));
            assert!(error.to_string().starts_with("unreadable row"));
        }
    }

    #[test]
    fn unknown_notification_types_are_errors() {
        let row = NotificationViewRow {
            notification: NotificationRow {
                id: 1,
                kind: 3,
                post_id: 1,
                comment_id: None,
                read: false,
                created_at: Utc::now(),
            },
            actor: AuthorRow {
                id: "bob1".into(),
                name: "Bob".into(),
                nickname: None,
            },
        };
        assert!(NotificationView::try_from(row).is_err());
    }
}
