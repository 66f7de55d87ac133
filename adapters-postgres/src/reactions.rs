//! Reactions on posts and comments, and the type 2 notification a first
//! reaction on a post may cause. `posts.reaction_counts` and
//! `comments.reaction_counts` are kept by the schema's triggers.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{BigInt, Bool, SmallInt, Text, Timestamptz};
use minifb_application::StoreError;
use minifb_application::social::ports::{
    ReactionChange, ReactionRepository, ReactionTarget, ReactionView,
};
use minifb_domain::{NotificationKind, PostId, ReactionKind, UserId};

use crate::pool::is_foreign_key_violation;
use crate::pool::{Pool, run};
use crate::schema::comment_reactions;
use crate::views::reaction_kind;

/// The statements of a `PUT`, for one reactions table; `$1` is the user,
/// `$2` the post or comment, `$3` the type.
struct ReactionSql {
    /// Inserts, or changes the type (setting `modified`) only if it differs,
    /// and returns the reaction: a row with `inserted` true is new, one
    /// `written` but not `inserted` is a change, and, when the upsert left
    /// the row as it was, the row as the statement's snapshot shows it
    /// (neither): unchanged. The primary key settles
    /// concurrent requests; ON CONFLICT locks the row it leaves alone all
    /// the same. No row at all: the reaction was committed by another
    /// request after this statement's snapshot was taken (it waited for
    /// that request's key), so [`Self::current`] reads it.
    put: &'static str,
    /// The reaction left unchanged, locked by `put` until commit.
    current: &'static str,
}

/// The statements of one reaction table, whose key is `(user_id, $target)`.
#[rustfmt::skip]
macro_rules! reaction_sql {
    ($table:literal, $target:literal) => {
        ReactionSql {
            put: concat!(
                "WITH up AS (INSERT INTO ", $table, " (user_id, ", $target, ", type) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id, ", $target, ") DO UPDATE SET type = EXCLUDED.type, modified = true \
                 WHERE ", $table, ".type <> EXCLUDED.type \
                 RETURNING type AS kind, modified, created_at, (xmax = 0) AS inserted, true AS written) \
                 SELECT kind, modified, created_at, inserted, written FROM up \
                 UNION ALL \
                 SELECT type, modified, created_at, false, false FROM ", $table, " \
                 WHERE user_id = $1 AND ", $target, " = $2 AND NOT EXISTS (SELECT FROM up)"
            ),
            current: concat!(
                "SELECT type AS kind, modified, created_at, false AS inserted, false AS written \
                 FROM ", $table, " WHERE user_id = $1 AND ", $target, " = $2"
            ),
        }
    };
}

const ON_POST: ReactionSql = reaction_sql!("post_reactions", "post_id");
const ON_COMMENT: ReactionSql = reaction_sql!("comment_reactions", "comment_id");

/// The type `$3` notification of a new reaction of `$1` on post `$2`, for
/// the post's owner unless that is `$1` (ids compared in any letter case,
/// as `UserId`s are). A statement of its own, run only after an insert: as
/// a CTE of the upsert it would run, and fire the notification triggers,
/// for every changed or unchanged reaction too. The upsert's foreign-key
/// check holds the post until commit.
const NOTIFY_NEW_POST_REACTION: &str = "INSERT INTO notifications (user_id, type, actor_id, post_id) \
     SELECT owner_id, $3, $1, $2 FROM posts WHERE id = $2 AND lower(owner_id) <> lower($1)";

/// Deletes the reaction of `$1` on post `$2` and withdraws its type `$3`
/// notification if still unread, in one statement; `deleted` is 0 if there
/// was no reaction.
const DELETE_ON_POST: &str = "WITH r AS (DELETE FROM post_reactions \
     WHERE user_id = $1 AND post_id = $2 RETURNING post_id), \
     n AS (DELETE FROM notifications WHERE post_id = $2 AND actor_id = $1 AND type = $3 \
     AND NOT read AND EXISTS (SELECT FROM r)) \
     SELECT count(*) AS deleted FROM r";

#[derive(QueryableByName)]
struct Deleted {
    #[diesel(sql_type = BigInt)]
    deleted: i64,
}

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
    #[diesel(sql_type = Bool)]
    written: bool,
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

/// Runs the `PUT` of `sql`; call it inside a transaction, which the rare
/// second statement relies on to read the row the first locked.
fn put(
    conn: &mut PgConnection,
    sql: &ReactionSql,
    user_id: &str,
    target: i64,
    kind: ReactionKind,
) -> QueryResult<Put> {
    let kind = i16::from(kind.get());
    let upserted = diesel::sql_query(sql.put)
        .bind::<Text, _>(user_id)
        .bind::<BigInt, _>(target)
        .bind::<SmallInt, _>(kind)
        .get_result::<ReactionRow>(conn)
        .optional()?;
    let row = match upserted {
        Some(row) => row,
        None => {
            return diesel::sql_query(sql.current)
                .bind::<Text, _>(user_id)
                .bind::<BigInt, _>(target)
                .get_result(conn)
                .map(Put::Unchanged);
        }
    };
    Ok(match row {
        row if row.inserted => Put::Created(row),
        row if row.written => Put::Changed(row),
        row => Put::Unchanged(row),
    })
}

/// The `PUT` on a post, and the notification a new reaction causes; inside
/// a transaction, as [`put`].
fn put_on_post(
    conn: &mut PgConnection,
    user_id: &str,
    post_id: PostId,
    kind: ReactionKind,
) -> QueryResult<Put> {
    let put = put(conn, &ON_POST, user_id, post_id.get(), kind)?;
    if let Put::Created(_) = put {
        diesel::sql_query(NOTIFY_NEW_POST_REACTION)
            .bind::<Text, _>(user_id)
            .bind::<BigInt, _>(post_id.get())
            .bind::<SmallInt, _>(NotificationKind::Reacted.code())
            .execute(conn)?;
    }
    Ok(put)
}

/// The foreign keys a `PUT` breaks when its post or comment is missing
/// (also one deleted meanwhile).
const MISSING_TARGET: [&str; 3] = [
    "post_reactions_post_id_fkey",
    "notifications_post_id_fkey",
    "comment_reactions_comment_id_fkey",
];

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
    async fn put(
        &self,
        target: ReactionTarget,
        user_id: &UserId,
        kind: ReactionKind,
    ) -> Result<Option<ReactionChange>, StoreError> {
        let user_id = user_id.to_string();
        run(&self.pool, move |conn| {
            let put = conn.transaction::<_, DieselError, _>(|conn| match target {
                ReactionTarget::Post(post_id) => put_on_post(conn, &user_id, post_id, kind),
                ReactionTarget::Comment(id) => put(conn, &ON_COMMENT, &user_id, id.get(), kind),
            });
            match put {
                Ok(put) => Ok(Some(put)),
                Err(e) if is_foreign_key_violation(&e, &MISSING_TARGET) => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await?
        .map(Put::into_change)
        .transpose()
    }

    /// On a post, withdraws the unread type 2 notification the reaction
    /// caused (found through `notifications_post_id_idx` on post and actor)
    /// in the same statement; a read one stays.
    async fn delete(&self, target: ReactionTarget, user_id: &UserId) -> Result<bool, StoreError> {
        let user_id = user_id.to_string();
        run(&self.pool, move |conn| match target {
            ReactionTarget::Post(post_id) => diesel::sql_query(DELETE_ON_POST)
                .bind::<Text, _>(user_id)
                .bind::<BigInt, _>(post_id.get())
                .bind::<SmallInt, _>(NotificationKind::Reacted.code())
                .get_result::<Deleted>(conn)
                .map(|row| row.deleted > 0),
            ReactionTarget::Comment(id) => {
                diesel::delete(comment_reactions::table.find((user_id, id.get())))
                    .execute(conn)
                    .map(|deleted| deleted == 1)
            }
        })
        .await
    }
}
