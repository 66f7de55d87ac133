//! Reactions on posts and comments, and the type 2 notification a first
//! reaction on a post may cause. `posts.reaction_counts` and
//! `comments.reaction_counts` are kept by the schema's triggers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::not;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{BigInt, Bool, SmallInt, Text, Timestamptz};
use minifb_application::StoreError;
use minifb_application::social::ports::{
    PostReaction, ReactionChange, ReactionRepository, ReactionView,
};
use minifb_domain::{CommentId, NotificationKind, PostId, ReactionKind, UserId};

use crate::notifications::NewNotificationRow;
use crate::pool::is_foreign_key_violation;
use crate::pool::{Pool, run};
use crate::schema::{comment_reactions, notifications, post_reactions};
use crate::views::reaction_kind;

/// The statements of a `PUT`, for one reactions table; `$1` is the user,
/// `$2` the post or comment, `$3` the type.
struct ReactionSql {
    /// Inserts, or changes the type (setting `modified`) only if it differs:
    /// the primary key settles concurrent requests, and a row returned with
    /// `inserted` false is a change. No row means the reaction exists with
    /// this type; ON CONFLICT has locked it all the same.
    upsert: &'static str,
    /// The reaction left unchanged, locked by `upsert` until commit.
    current: &'static str,
}

/// The statements of one reaction table, whose key is `(user_id, $target)`.
#[rustfmt::skip]
macro_rules! reaction_sql {
    ($table:literal, $target:literal) => {
        ReactionSql {
            upsert: concat!(
                "INSERT INTO ", $table, " (user_id, ", $target, ", type) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, ", $target, ") DO UPDATE SET type = EXCLUDED.type, modified = true \
                 WHERE ", $table, ".type <> EXCLUDED.type \
                 RETURNING type AS kind, modified, created_at, (xmax = 0) AS inserted"
            ),
            current: concat!(
                "SELECT type AS kind, modified, created_at, false AS inserted \
                 FROM ", $table, " WHERE user_id = $1 AND ", $target, " = $2"
            ),
        }
    };
}

const ON_POST: ReactionSql = reaction_sql!("post_reactions", "post_id");
const ON_COMMENT: ReactionSql = reaction_sql!("comment_reactions", "comment_id");

#[derive(QueryableByName)]
struct ReactionRow {
    #[diesel(sql_type = SmallInt)]
    kind: i16,
    #[diesel(sql_type = Bool)]
    modified: bool,
    #[diesel(sql_type = Timestamptz)]
    created_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

/// What the upsert did, before mapping the row into a view.
enum Put {
    Created(ReactionRow),
    Changed(ReactionRow),
    Unchanged(ReactionRow),
}

impl Put {
    fn into_change(self) -> Result<ReactionChange, StoreError> {
        let view = |row: ReactionRow| -> Result<ReactionView, StoreError> {
            Ok(ReactionView {
                kind: reaction_kind(row.kind)?,
                modified: row.modified,
                created_at: row.created_at,
            })
        };
        Ok(match self {
            Self::Created(row) => ReactionChange::Created(view(row)?),
            Self::Changed(row) => ReactionChange::Changed(view(row)?),
            Self::Unchanged(row) => ReactionChange::Unchanged(view(row)?),
        })
    }
}

/// Runs the `PUT` of `sql`; call it inside a transaction, which the
/// unchanged case relies on to read the row it locked.
fn put(
    conn: &mut PgConnection,
    sql: &ReactionSql,
    user_id: &str,
    target: i64,
    kind: ReactionKind,
) -> QueryResult<Put> {
    let kind = i16::from(kind.get());
    let upserted = diesel::sql_query(sql.upsert)
        .bind::<Text, _>(user_id)
        .bind::<BigInt, _>(target)
        .bind::<SmallInt, _>(kind)
        .get_result::<ReactionRow>(conn)
        .optional()?;
    Ok(match upserted {
        Some(row) if row.inserted => Put::Created(row),
        Some(row) => Put::Changed(row),
        None => Put::Unchanged(
            diesel::sql_query(sql.current)
                .bind::<Text, _>(user_id)
                .bind::<BigInt, _>(target)
                .get_result(conn)?,
        ),
    })
}

/// A missing post or comment (also one deleted meanwhile) is `None`.
fn missing_target_is_none(
    result: QueryResult<Put>,
    constraints: &[&str],
) -> QueryResult<Option<Put>> {
    match result {
        Ok(put) => Ok(Some(put)),
        Err(e) if is_foreign_key_violation(&e, constraints) => Ok(None),
        Err(e) => Err(e),
    }
}

/// [`ReactionRepository`] over `post_reactions` and `comment_reactions`.
#[derive(Clone)]
pub struct PgReactionRepository {
    pool: Pool,
}

impl PgReactionRepository {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl ReactionRepository for PgReactionRepository {
    /// Of 24 concurrent identical requests, one inserts; the others wait on
    /// its uncommitted key, then find the same type and answer `Unchanged`:
    /// one row, one notification.
    async fn put_on_post(
        &self,
        reaction: PostReaction,
    ) -> Result<Option<ReactionChange>, StoreError> {
        let PostReaction {
            post_id,
            user_id,
            kind,
            notify,
        } = reaction;
        let user_id = user_id.into_inner();
        let notify = notify.map(UserId::into_inner);
        run(&self.pool, move |conn| {
            let result = conn.transaction::<_, DieselError, _>(|conn| {
                let put = put(conn, &ON_POST, &user_id, post_id.get(), kind)?;
                if let (Put::Created(_), Some(owner)) = (&put, notify) {
                    diesel::insert_into(notifications::table)
                        .values(NewNotificationRow::reacted(
                            owner,
                            user_id.clone(),
                            post_id.get(),
                        ))
                        .execute(conn)?;
                }
                Ok(put)
            });
            missing_target_is_none(
                result,
                &["post_reactions_post_id_fkey", "notifications_post_id_fkey"],
            )
        })
        .await?
        .map(Put::into_change)
        .transpose()
    }

    /// Withdraws the unread type 2 notification the reaction caused (found
    /// through `notifications_post_id_idx` on post and actor); a read one
    /// stays.
    async fn delete_on_post(&self, post_id: PostId, user_id: &UserId) -> Result<bool, StoreError> {
        let user_id = user_id.to_string();
        run(&self.pool, move |conn| {
            conn.transaction(|conn| {
                let deleted = diesel::delete(post_reactions::table.find((&user_id, post_id.get())))
                    .execute(conn)?;
                if deleted == 0 {
                    return Ok(false);
                }
                diesel::delete(
                    notifications::table
                        .filter(notifications::post_id.eq(post_id.get()))
                        .filter(notifications::actor_id.eq(&user_id))
                        .filter(notifications::type_.eq(NotificationKind::Reacted.code()))
                        .filter(not(notifications::read)),
                )
                .execute(conn)?;
                Ok(true)
            })
        })
        .await
    }

    async fn put_on_comment(
        &self,
        comment_id: CommentId,
        user_id: &UserId,
        kind: ReactionKind,
    ) -> Result<Option<ReactionChange>, StoreError> {
        let user_id = user_id.to_string();
        run(&self.pool, move |conn| {
            let result = conn.transaction::<_, DieselError, _>(|conn| {
                put(conn, &ON_COMMENT, &user_id, comment_id.get(), kind)
            });
            missing_target_is_none(result, &["comment_reactions_comment_id_fkey"])
        })
        .await?
        .map(Put::into_change)
        .transpose()
    }

    async fn delete_on_comment(
        &self,
        comment_id: CommentId,
        user_id: &UserId,
    ) -> Result<bool, StoreError> {
        let user_id = user_id.to_string();
        run(&self.pool, move |conn| {
            diesel::delete(comment_reactions::table.find((user_id, comment_id.get())))
                .execute(conn)
                .map(|deleted| deleted == 1)
        })
        .await
    }
}
