//! Notifications: listed, counted and marked read here; written by the
//! comment and reaction repositories in the statement of their cause.

use async_trait::async_trait;
use diesel::dsl::not;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use minifb_application::StoreError;
use minifb_application::live::{LiveNotificationRepository, Selection};
use minifb_application::social::ports::{NotificationListing, NotificationRepository, PageRequest};
use minifb_domain::{NotificationId, UserId};

use crate::replicas::{Database, read, write};
use crate::schema::{notifications, users};
use crate::views::{NotificationViewRow, views};

/// The user's unread count, kept in `users.unread_notifications` by the
/// triggers of migration `2026-12-01-100000`: no row, no user.
#[diesel::dsl::auto_type]
fn unread_of<'a>(user_id: &'a str) -> _ {
    users::table
        .filter(users::id.eq(user_id))
        .select(users::unread_notifications)
}

/// The user's notifications with their actors. Spelled out: `user_id` and
/// `actor_id` both reference `users`, so the schema has no `joinable!` for
/// the pair.
#[diesel::dsl::auto_type]
fn notifications_of<'a>(user_id: &'a str) -> _ {
    notifications::table
        .inner_join(users::table.on(users::id.eq(notifications::actor_id)))
        .filter(notifications::user_id.eq(user_id))
}

// `users` a second time, for the recipient's unread count: the page joins
// `users` for the actors already.
diesel::alias!(users as recipients: Recipients);

/// Marks every unread notification of `$1` read, with `minifb.read_all` set
/// for the transaction first, and says whether the user exists (its id in
/// any letter case, as `UserRepository::find` looks it up).
const MARK_ALL_READ: &str = "WITH flag AS (SELECT set_config('minifb.read_all', 'on', true)), \
     marked AS (UPDATE notifications SET read = true \
     WHERE user_id = $1 AND NOT read AND EXISTS (SELECT FROM flag) RETURNING 1) \
     SELECT (SELECT count(*) FROM marked) AS marked, \
     EXISTS (SELECT FROM users WHERE lower(id) = lower($1)) AS user_exists";

#[derive(QueryableByName)]
struct MarkedAll {
    #[diesel(sql_type = BigInt)]
    marked: i64,
    #[diesel(sql_type = Bool)]
    user_exists: bool,
}

/// [`NotificationRepository`] and [`LiveNotificationRepository`] over
/// `notifications` and `users` (actors).
#[derive(Clone)]
pub struct PgNotificationRepository {
    db: Database,
}

impl PgNotificationRepository {
    pub fn new(db: impl Into<Database>) -> Self {
        Self { db: db.into() }
    }
}

#[async_trait]
impl NotificationRepository for PgNotificationRepository {
    /// `notifications JOIN users ON actor_id`, `user_id = $ AND id < after
    /// ORDER BY id DESC LIMIT limit + 1` on `notifications_user_id_id_idx`
    /// (unread only: the partial `notifications_unread_idx`; `NOT read` is
    /// written as such, not as a bound `read = $`, so that the planner can
    /// prove the partial index applies). The plans at depth are in
    /// `docs/explain.md`.
    async fn list(
        &self,
        user_id: &UserId,
        unread_only: bool,
        page: PageRequest,
    ) -> Result<Option<NotificationListing>, StoreError> {
        let user_id = user_id.to_string();
        let listing = read(&self.db, move |conn| {
            // The unread count is an uncorrelated subquery (one lookup per
            // statement).
            let mut query = notifications_of(&user_id)
                .select((NotificationViewRow::as_select(), unread_subquery(&user_id)))
                .order(notifications::id.desc())
                .limit(i64::from(page.rows_to_fetch()))
                .into_boxed();
            if unread_only {
                query = query.filter(not(notifications::read));
            }
            if let Some(after) = page.after {
                query = query.filter(notifications::id.lt(after));
            }
            let rows = query.load::<(NotificationViewRow, Option<i64>)>(conn)?;
            let unread_count = match rows.first() {
                Some((_, unread)) => *unread,
                None => unread_of(&user_id).first(conn).optional()?,
            };
            Ok(unread_count.map(|unread_count| (rows, unread_count)))
        })
        .await?;
        listing
            .map(|(rows, unread_count)| {
                let rows = rows.into_iter().map(|(row, _)| row).collect();
                Ok(NotificationListing {
                    rows: views(rows)?,
                    unread_count,
                })
            })
            .transpose()
    }

    /// A notification already read still counts as found.
    async fn mark_read(&self, user_id: &UserId, id: NotificationId) -> Result<bool, StoreError> {
        let user_id = user_id.to_string();
        write(&self.db, move |conn| {
            diesel::update(
                notifications::table
                    .find(id.get())
                    .filter(notifications::user_id.eq(user_id)),
            )
            .set(notifications::read.eq(true))
            .execute(conn)
            .map(|updated| updated == 1)
        })
        .await
    }

    /// One statement: `minifb.read_all` is set for its transaction (by a
    /// CTE the UPDATE reads before its first row), so the announcing
    /// trigger sends `"all"` rather than every id; the user's row is looked
    /// up in the same statement.
    async fn mark_all_read(&self, user_id: &UserId) -> Result<Option<u64>, StoreError> {
        let user_id = user_id.to_string();
        write(&self.db, move |conn| {
            diesel::sql_query(MARK_ALL_READ)
                .bind::<Text, _>(user_id)
                .get_result::<MarkedAll>(conn)
        })
        .await
        .map(|row| row.user_exists.then_some(row.marked.unsigned_abs()))
    }
}

#[async_trait]
impl LiveNotificationRepository for PgNotificationRepository {
    /// The user's `unread_notifications` column, kept by the triggers of
    /// migration `2026-12-01-100000`: no row, no user.
    async fn unread_count(&self, user_id: &UserId) -> Result<Option<i64>, StoreError> {
        let user_id = user_id.to_string();
        write(&self.db, move |conn| {
            unread_of(&user_id).first(conn).optional()
        })
        .await
    }

    /// One statement: the rows with the unread count as a subquery, as in
    /// [`NotificationRepository::list`].
    async fn select(
        &self,
        user_id: &UserId,
        which: Selection,
    ) -> Result<NotificationListing, StoreError> {
        let user_id = user_id.to_string();
        let rows = write(&self.db, move |conn| {
            let selected = notifications_of(&user_id)
                .select((NotificationViewRow::as_select(), unread_subquery(&user_id)))
                .order(notifications::id.asc());
            match &which {
                Selection::After { id, limit } => selected
                    .filter(notifications::id.gt(id))
                    .limit(i64::from(*limit))
                    .load::<(NotificationViewRow, Option<i64>)>(conn),
                Selection::Ids(ids) => {
                    let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
                    selected
                        .filter(notifications::id.eq_any(ids))
                        .load::<(NotificationViewRow, Option<i64>)>(conn)
                }
            }
        })
        .await?;
        listing(rows)
    }

    /// The user's row, with the newest id as a subquery (a backward step
    /// on `notifications_user_id_id_idx`): no row, no user.
    async fn latest_id(&self, user_id: &UserId) -> Result<Option<i64>, StoreError> {
        let user_id = user_id.to_string();
        let latest = notifications::table
            .filter(notifications::user_id.eq(user_id.clone()))
            .select(diesel::dsl::max(notifications::id))
            .single_value();
        write(&self.db, move |conn| {
            users::table
                .filter(users::id.eq(user_id))
                .select(latest)
                .first::<Option<i64>>(conn)
                .optional()
        })
        .await
        .map(|user| user.map(|latest| latest.unwrap_or(0)))
    }
}

/// The recipient's unread count, for a statement that selects their
/// notifications (whose join takes `users` for the actors).
#[diesel::dsl::auto_type]
fn unread_subquery<'a>(user_id: &'a str) -> _ {
    recipients
        .filter(recipients.field(users::id).eq(user_id))
        .select(recipients.field(users::unread_notifications))
        .single_value()
}

/// Rows read with the unread count: the count is 0 when there is no row.
fn listing(
    rows: Vec<(NotificationViewRow, Option<i64>)>,
) -> Result<NotificationListing, StoreError> {
    let unread_count = rows.first().and_then(|(_, unread)| *unread).unwrap_or(0);
    let rows = rows.into_iter().map(|(row, _)| row).collect();
    Ok(NotificationListing {
        rows: views(rows)?,
        unread_count,
    })
}
