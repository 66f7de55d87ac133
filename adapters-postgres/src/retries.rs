//! Safe retries: creates named by an `Idempotency-Key`, over
//! `idempotency_keys`.
//!
//! One transaction per keyed create: a non-blocking transaction-level
//! advisory lock on (user, key) tells a request in progress elsewhere (409)
//! from a free key without waiting for it; the claim row is inserted with
//! `ON CONFLICT DO NOTHING`, so the primary key settles who owns the key;
//! the create and its answer follow in the same transaction. A rollback,
//! or a process that dies and so loses its connection, releases the lock
//! and takes the claim with it: no lease to expire, nothing left behind.

use async_trait::async_trait;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::result::Error as DieselError;
use diesel::sql_types::{BigInt, Bool, Text};
use minifb_application::StoreError;
use minifb_application::social::ports::{
    CommentCreation, CommentView, IDEMPOTENCY_KEY_LIFETIME, IdempotencyRepository, Keyed,
    KeyedRequest, NewComment, PostView, Recorded, RecordedAnswer, Recorder,
};
use minifb_domain::{IdempotencyKey, PostContent, UserId};

use crate::comments::insert_comment;
use crate::pool::{Pool, run, store_error};
use crate::posts::insert_post;
use crate::schema::idempotency_keys;

/// Takes the (user, key) lock for this transaction, or says it is held.
const TRY_LOCK: &str =
    "SELECT pg_try_advisory_xact_lock(hashtextextended($1 || E'\\n' || $2, 0)) AS locked";
/// An answer older than the lifetime is forgotten before the key is claimed.
const FORGET_ONE: &str = "DELETE FROM idempotency_keys \
     WHERE user_id = $1 AND key = $2 AND created_at <= now() - $3 * interval '1 second'";
const FORGET_EXPIRED: &str =
    "DELETE FROM idempotency_keys WHERE created_at <= now() - $1 * interval '1 second'";
const FIND: &str = "SELECT fingerprint, status, body FROM idempotency_keys \
     WHERE user_id = $1 AND key = $2 AND created_at > now() - $3 * interval '1 second'";

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = Bool)]
    locked: bool,
}

#[derive(QueryableByName)]
struct RecordedRow {
    #[diesel(sql_type = Text)]
    fingerprint: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::SmallInt>)]
    status: Option<i16>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    body: Option<String>,
}

impl RecordedRow {
    /// `None` for a claim without an answer, which only another
    /// implementation sharing the database could have committed.
    fn recorded(self) -> Option<Recorded> {
        Some(Recorded {
            fingerprint: self.fingerprint,
            answer: RecordedAnswer {
                status: u16::try_from(self.status?).ok()?,
                body: self.body?,
            },
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = idempotency_keys)]
struct ClaimRow<'a> {
    user_id: &'a str,
    key: &'a str,
    fingerprint: &'a str,
}

fn lifetime_seconds() -> i64 {
    IDEMPOTENCY_KEY_LIFETIME.num_seconds()
}

/// Why a keyed transaction rolled back.
enum Failure {
    Database(DieselError),
    /// The created row could not be read or its answer rendered.
    Store(StoreError),
}

impl From<DieselError> for Failure {
    fn from(error: DieselError) -> Self {
        Self::Database(error)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// What the claim found.
enum Claim {
    Mine,
    Taken(Recorded),
    Busy,
}

fn claim(conn: &mut PgConnection, request: &KeyedRequest) -> QueryResult<Claim> {
    let (user, key) = (request.user_id.as_ref(), request.key.as_ref());
    let locked = diesel::sql_query(TRY_LOCK)
        .bind::<Text, _>(user)
        .bind::<Text, _>(key)
        .get_result::<Locked>(conn)?
        .locked;
    if !locked {
        return Ok(Claim::Busy);
    }
    diesel::sql_query(FORGET_ONE)
        .bind::<Text, _>(user)
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(lifetime_seconds())
        .execute(conn)?;
    let claimed = diesel::insert_into(idempotency_keys::table)
        .values(ClaimRow {
            user_id: user,
            key,
            fingerprint: &request.fingerprint,
        })
        .on_conflict_do_nothing()
        .execute(conn)?;
    if claimed == 1 {
        return Ok(Claim::Mine);
    }
    Ok(find(conn, user, key)?.map_or(Claim::Busy, Claim::Taken))
}

fn find(conn: &mut PgConnection, user: &str, key: &str) -> QueryResult<Option<Recorded>> {
    Ok(diesel::sql_query(FIND)
        .bind::<Text, _>(user)
        .bind::<Text, _>(key)
        .bind::<BigInt, _>(lifetime_seconds())
        .get_result::<RecordedRow>(conn)
        .optional()?
        .and_then(RecordedRow::recorded))
}

fn answer(
    conn: &mut PgConnection,
    request: &KeyedRequest,
    answer: RecordedAnswer,
) -> Result<(), Failure> {
    let status = i16::try_from(answer.status)
        .map_err(|_| StoreError::Other(anyhow::anyhow!("status out of range")))?;
    diesel::update(idempotency_keys::table.find((request.user_id.as_ref(), request.key.as_ref())))
        .set((
            idempotency_keys::status.eq(status),
            idempotency_keys::body.eq(answer.body),
        ))
        .execute(conn)?;
    Ok(())
}

/// Claims the key, then runs `create`; a `Some` view is recorded with its
/// answer and committed, a `None` (nothing created) rolls everything back.
fn keyed<V, T>(
    conn: &mut PgConnection,
    request: &KeyedRequest,
    create: impl FnOnce(&mut PgConnection) -> Result<Option<V>, Failure>,
    record: &Recorder<V>,
    made: impl FnOnce(Option<V>) -> T,
) -> Result<Keyed<T>, Failure> {
    let mut nothing = None;
    let result = conn.transaction::<_, Failure, _>(|conn| {
        match claim(conn, request)? {
            Claim::Busy => return Ok(Keyed::InProgress),
            Claim::Taken(recorded) => return Ok(Keyed::Taken(recorded)),
            Claim::Mine => {}
        }
        match create(conn)? {
            Some(view) => {
                let rendered = record(&view).map_err(StoreError::Other)?;
                answer(conn, request, rendered)?;
                Ok(Keyed::Ran(Some(view)))
            }
            None => {
                nothing = Some(());
                Err(Failure::Database(DieselError::RollbackTransaction))
            }
        }
    });
    match result {
        Ok(Keyed::Ran(view)) => Ok(Keyed::Ran(made(view))),
        Ok(Keyed::Taken(recorded)) => Ok(Keyed::Taken(recorded)),
        Ok(Keyed::InProgress) => Ok(Keyed::InProgress),
        Err(_) if nothing.is_some() => Ok(Keyed::Ran(made(None))),
        Err(error) => Err(error),
    }
}

fn settle<T>(
    result: Result<Result<Keyed<T>, Failure>, StoreError>,
) -> Result<Keyed<T>, StoreError> {
    match result? {
        Ok(keyed) => Ok(keyed),
        Err(Failure::Database(error)) => Err(store_error(error)),
        Err(Failure::Store(error)) => Err(error),
    }
}

/// [`IdempotencyRepository`] over `idempotency_keys`, `posts` and
/// `comments`, in one transaction per create.
#[derive(Clone)]
pub struct PgIdempotencyRepository {
    pool: Pool,
}

impl PgIdempotencyRepository {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl IdempotencyRepository for PgIdempotencyRepository {
    async fn create_post(
        &self,
        request: KeyedRequest,
        content: PostContent,
        record: Recorder<PostView>,
    ) -> Result<Keyed<PostView>, StoreError> {
        let (owner, content) = (request.user_id.to_string(), content.into_inner());
        let result = run(&self.pool, move |conn| {
            Ok(keyed(
                conn,
                &request,
                |conn| {
                    Ok(Some(PostView::try_from(insert_post(
                        conn, owner, content,
                    )?)?))
                },
                &record,
                |view| view,
            ))
        })
        .await;
        match settle(result)? {
            Keyed::Ran(Some(post)) => Ok(Keyed::Ran(post)),
            Keyed::Ran(None) => Err(StoreError::Other(anyhow::anyhow!("post not stored"))),
            Keyed::Taken(recorded) => Ok(Keyed::Taken(recorded)),
            Keyed::InProgress => Ok(Keyed::InProgress),
        }
    }

    async fn create_comment(
        &self,
        request: KeyedRequest,
        comment: NewComment,
        record: Recorder<CommentView>,
    ) -> Result<Keyed<CommentCreation>, StoreError> {
        let result = run(&self.pool, move |conn| {
            Ok(keyed(
                conn,
                &request,
                |conn| {
                    insert_comment(conn, comment)?
                        .map(CommentView::try_from)
                        .transpose()
                        .map_err(Failure::Store)
                },
                &record,
                |view| view.map_or(CommentCreation::PostGone, CommentCreation::Created),
            ))
        })
        .await;
        settle(result)
    }

    async fn find(
        &self,
        user_id: &UserId,
        key: &IdempotencyKey,
    ) -> Result<Option<Recorded>, StoreError> {
        let (user, key) = (user_id.to_string(), key.to_string());
        run(&self.pool, move |conn| find(conn, &user, &key)).await
    }

    async fn forget_expired(&self) -> Result<u64, StoreError> {
        run(&self.pool, |conn| {
            diesel::sql_query(FORGET_EXPIRED)
                .bind::<BigInt, _>(lifetime_seconds())
                .execute(conn)
        })
        .await
        .map(|n| n as u64)
    }
}
