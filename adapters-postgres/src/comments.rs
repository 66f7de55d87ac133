//! Comments, and the type 1 notification each one may cause.

use async_trait::async_trait;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, SmallInt, Text};
use minifb_application::StoreError;
use minifb_application::social::ports::{
    CommentCreation, CommentOwners, CommentRepository, CommentView, NewComment, PageRequest,
};
use minifb_domain::{CommentContent, CommentId, NotificationKind, PostId, UserId};

use crate::pool::is_foreign_key_violation;
use crate::posts::post_exists;
use crate::replicas::{Database, read, write};
use crate::schema::{comments, posts};
use crate::views::{
    CommentViewRow, WrittenCommentRow, comment_views, edit, stored_user_id, views,
    written_comment_columns,
};

/// Inserts a comment and, unless its author owns the post (ids compared
/// in any letter case, as `UserId`s are), the owner's type `$4`
/// notification, and answers with the comment as its author sees it: one
/// statement. `$1` author, `$2` post, `$3` content. The insert takes a
/// key-share lock on the post (its foreign-key check), so the post cannot
/// go away before the notification is stored; a post gone fails that
/// check.
const INSERT_COMMENT: &str = concat!(
    "WITH c AS (INSERT INTO comments (user_id, post_id, content) VALUES ($1, $2, $3) \
     RETURNING id, user_id, post_id, content, modified, created_at, updated_at, reaction_counts), \
     n AS (INSERT INTO notifications (user_id, type, actor_id, post_id, comment_id) \
     SELECT p.owner_id, $4, c.user_id, c.post_id, c.id FROM c JOIN posts p ON p.id = c.post_id \
     WHERE lower(p.owner_id) <> lower(c.user_id)) \
     SELECT ",
    written_comment_columns!(),
    ", NULL::smallint AS my_reaction FROM c JOIN users u ON u.id = c.user_id"
);

/// Replaces a comment's content if `$3` wrote it (ids compared in any
/// letter case, as `UserId`s are), marks it modified and answers with it
/// as `$3` sees it, in one statement; no row if there is no such comment or
/// someone else wrote it. `$1` comment, `$2` content.
const UPDATE_COMMENT: &str = concat!(
    "WITH c AS (UPDATE comments SET content = $2, modified = true, updated_at = now() \
     WHERE id = $1 AND lower(user_id) = lower($3) \
     RETURNING id, user_id, post_id, content, modified, created_at, updated_at, reaction_counts) \
     SELECT ",
    written_comment_columns!(),
    ", (SELECT r.type FROM comment_reactions r WHERE r.comment_id = c.id AND r.user_id = $3) \
     AS my_reaction FROM c JOIN users u ON u.id = c.user_id"
);

/// Deletes comment `$1` if `$3` wrote it or owns its post (ids compared in
/// any letter case, as `UserId`s are) and withdraws its type `$2`
/// notification if still unread, in one statement; `deleted` is 0 if there
/// was no such comment or `$3` may not delete it.
const DELETE_COMMENT: &str = "WITH c AS (DELETE FROM comments WHERE id = $1 \
     AND (lower(user_id) = lower($3) OR EXISTS (SELECT FROM posts p \
     WHERE p.id = comments.post_id AND lower(p.owner_id) = lower($3))) RETURNING id), \
     n AS (DELETE FROM notifications \
     WHERE comment_id = $1 AND type = $2 AND NOT read AND EXISTS (SELECT FROM c)) \
     SELECT count(*) AS deleted FROM c";

#[derive(QueryableByName)]
struct Deleted {
    #[diesel(sql_type = BigInt)]
    deleted: i64,
}

/// [`CommentRepository`] over `comments`, `users` and `comment_reactions`;
/// `posts.comment_count` is kept by the schema's trigger.
#[derive(Clone)]
pub struct PgCommentRepository {
    db: Database,
}

impl PgCommentRepository {
    pub fn new(db: impl Into<Database>) -> Self {
        Self { db: db.into() }
    }
}

/// Stores a comment and the notification of the post's owner, unless they
/// wrote it, in one statement; `None` if the post is gone.
pub(crate) fn insert_comment(
    conn: &mut PgConnection,
    comment: NewComment,
) -> QueryResult<Option<CommentViewRow>> {
    let created = diesel::sql_query(INSERT_COMMENT)
        .bind::<Text, _>(comment.author_id.into_inner())
        .bind::<BigInt, _>(comment.post_id.get())
        .bind::<Text, _>(comment.content.into_inner())
        .bind::<SmallInt, _>(NotificationKind::Commented.code())
        .get_result::<WrittenCommentRow>(conn);
    match created {
        Ok(row) => Ok(Some(row.into())),
        Err(e)
            if is_foreign_key_violation(
                &e,
                &["comments_post_id_fkey", "notifications_post_id_fkey"],
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[async_trait]
impl CommentRepository for PgCommentRepository {
    /// One statement (see [`INSERT_COMMENT`]); a post already gone fails
    /// the foreign-key check: `PostGone`.
    async fn create(&self, comment: NewComment) -> Result<CommentCreation, StoreError> {
        write(&self.db, move |conn| insert_comment(conn, comment))
            .await?
            .map_or(Ok(CommentCreation::PostGone), |row| {
                Ok(CommentCreation::Created(row.try_into()?))
            })
    }

    async fn exists(&self, id: CommentId) -> Result<bool, StoreError> {
        write(&self.db, move |conn| {
            diesel::select(diesel::dsl::exists(comments::table.find(id.get()))).get_result(conn)
        })
        .await
    }

    async fn owners(&self, id: CommentId) -> Result<Option<CommentOwners>, StoreError> {
        write(&self.db, move |conn| {
            comments::table
                .inner_join(posts::table)
                .filter(comments::id.eq(id.get()))
                .select((comments::user_id, comments::post_id, posts::owner_id))
                .first::<(String, i64, String)>(conn)
                .optional()
        })
        .await?
        .map(|(author_id, post_id, post_owner_id)| {
            Ok(CommentOwners {
                author_id: stored_user_id(author_id)?,
                post_id: PostId::new(post_id),
                post_owner_id: stored_user_id(post_owner_id)?,
            })
        })
        .transpose()
    }

    async fn update(
        &self,
        id: CommentId,
        content: CommentContent,
        viewer: &UserId,
    ) -> Result<Option<CommentView>, StoreError> {
        let (id, content) = (id.get(), content.into_inner());
        edit::<WrittenCommentRow, CommentViewRow, _>(&self.db, UPDATE_COMMENT, id, content, viewer)
            .await
    }

    /// `notifications.comment_id` is not a foreign key: only the unread
    /// notification is withdrawn, a read one keeps pointing at the comment.
    /// Its reactions cascade; the trigger decrements `comment_count`. One
    /// statement.
    async fn delete(&self, id: CommentId, by: &UserId) -> Result<bool, StoreError> {
        let by = by.to_string();
        write(&self.db, move |conn| {
            diesel::sql_query(DELETE_COMMENT)
                .bind::<BigInt, _>(id.get())
                .bind::<SmallInt, _>(NotificationKind::Commented.code())
                .bind::<Text, _>(by)
                .get_result::<Deleted>(conn)
                .map(|row| row.deleted > 0)
        })
        .await
    }

    /// `comments JOIN users`, `my_reaction` as a correlated subquery,
    /// `post_id = $ AND id > after ORDER BY id ASC LIMIT limit + 1`: one
    /// statement per page on `comments_post_id_id_idx`, never a sort; only
    /// an empty page asks whether the post exists. The plans at depth are
    /// in `docs/explain.md`.
    async fn list(
        &self,
        post_id: PostId,
        page: PageRequest,
        viewer: Option<UserId>,
    ) -> Result<Option<Vec<CommentView>>, StoreError> {
        let viewer = viewer.map(UserId::into_inner);
        let rows = read(&self.db, move |conn| {
            let mut query = comment_views(viewer.clone())
                .filter(comments::post_id.eq(post_id.get()))
                .order(comments::id.asc())
                .limit(i64::from(page.rows_to_fetch()))
                .into_boxed();
            if let Some(after) = page.after {
                query = query.filter(comments::id.gt(after));
            }
            let rows = query.load::<CommentViewRow>(conn)?;
            if rows.is_empty() && !post_exists(conn, post_id)? {
                return Ok(None);
            }
            Ok(Some(rows))
        })
        .await?;
        rows.map(views).transpose()
    }
}
