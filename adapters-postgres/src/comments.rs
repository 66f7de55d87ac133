//! Comments, and the type 1 notification each one may cause.

use async_trait::async_trait;
use diesel::dsl::{not, now};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use minifb_application::StoreError;
use minifb_application::social::ports::{
    CommentCreation, CommentOwners, CommentRepository, CommentView, NewComment, PageRequest,
};
use minifb_domain::{CommentContent, CommentId, NotificationKind, PostId, UserId};

use crate::notifications::NewNotificationRow;
use crate::pool::is_foreign_key_violation;
use crate::posts::post_exists;
use crate::replicas::{Database, read, write};
use crate::schema::{comments, notifications, posts};
use crate::views::{CommentViewRow, comment_views, stored_user_id, views};

#[derive(Insertable)]
#[diesel(table_name = comments)]
struct NewCommentRow {
    user_id: String,
    post_id: i64,
    content: String,
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

/// One comment as `viewer` sees it.
fn comment_view(
    conn: &mut PgConnection,
    id: i64,
    viewer: Option<String>,
) -> QueryResult<Option<CommentViewRow>> {
    comment_views(viewer)
        .filter(comments::id.eq(id))
        .first(conn)
        .optional()
}

/// A row that the same transaction just wrote and cannot have lost.
fn written(row: Option<CommentViewRow>) -> QueryResult<CommentViewRow> {
    row.ok_or(DieselError::NotFound)
}

/// Stores a comment and, when `notify` names a user, its notification, in
/// one transaction (a savepoint when the caller has one open); `None` if
/// the post is gone.
pub(crate) fn insert_comment(
    conn: &mut PgConnection,
    comment: NewComment,
) -> QueryResult<Option<CommentViewRow>> {
    let notify = comment.notify.map(UserId::into_inner);
    let row = NewCommentRow {
        user_id: comment.author_id.into_inner(),
        post_id: comment.post_id.get(),
        content: comment.content.into_inner(),
    };
    let created = conn.transaction::<_, DieselError, _>(|conn| {
        let id: i64 = diesel::insert_into(comments::table)
            .values(&row)
            .returning(comments::id)
            .get_result(conn)?;
        if let Some(owner) = notify {
            diesel::insert_into(notifications::table)
                .values(NewNotificationRow::commented(
                    owner,
                    row.user_id.clone(),
                    row.post_id,
                    id,
                ))
                .execute(conn)?;
        }
        written(comment_view(conn, id, Some(row.user_id))?)
    });
    match created {
        Ok(row) => Ok(Some(row)),
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
    /// The insert takes a key-share lock on the post (its foreign-key
    /// check), so the post cannot go away before the notification is
    /// stored; a post already gone fails that check: `PostGone`.
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
        let content = content.into_inner();
        let viewer = viewer.to_string();
        write(&self.db, move |conn| {
            conn.transaction(|conn| {
                let updated = diesel::update(comments::table.find(id.get()))
                    .set((
                        comments::content.eq(content),
                        comments::modified.eq(true),
                        comments::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                if updated == 0 {
                    return Ok(None);
                }
                written(comment_view(conn, id.get(), Some(viewer))?).map(Some)
            })
        })
        .await?
        .map(TryInto::try_into)
        .transpose()
    }

    /// `notifications.comment_id` is not a foreign key: only the unread
    /// notification is withdrawn, a read one keeps pointing at the comment.
    /// Its reactions cascade; the trigger decrements `comment_count`.
    async fn delete(&self, id: CommentId) -> Result<bool, StoreError> {
        write(&self.db, move |conn| {
            conn.transaction(|conn| {
                let deleted = diesel::delete(comments::table.find(id.get())).execute(conn)?;
                if deleted == 0 {
                    return Ok(false);
                }
                diesel::delete(
                    notifications::table
                        .filter(notifications::comment_id.eq(id.get()))
                        .filter(notifications::type_.eq(NotificationKind::Commented.code()))
                        .filter(not(notifications::read)),
                )
                .execute(conn)?;
                Ok(true)
            })
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
