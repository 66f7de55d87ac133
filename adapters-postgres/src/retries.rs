//! Safe retries: creates named by an `Idempotency-Key`, over
//! `idempotency_keys`.
//!
//! One transaction per keyed create: a non-blocking transaction-level
//! advisory lock on (user, key) tells a request in progress elsewhere (409)
//! from a free key without waiting for it; in the same statement the claim
//! row is inserted with `ON CONFLICT`, so the primary key settles who owns
//! the key, and a live answer is read (`try_processing`); the create
//! follows in the same transaction, and its answer, rendered once, is
//! stored and handed back to be sent as stored (`save_response`): three
//! round trips for a keyed create, one for a replay. A rollback,
//! or a process that dies and so loses its connection, releases the lock
//! and takes the claim with it: no lease to expire, nothing left behind.

use std::convert::Infallible;

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
use minifb_domain::PostContent;

use crate::comments::insert_comment;
use crate::pool::{Pool, run, store_error};
use crate::posts::insert_post;
use crate::schema::idempotency_keys;

/// Takes the (user, key) lock for this transaction and, if it is free,
/// claims the key, all in one statement: the claim inserts the key's row,
/// or takes over one whose answer outlived its lifetime (ON CONFLICT ...
/// DO UPDATE WHERE expired); otherwise the live answer is read in the same
/// statement. `$1` user, `$2` key, `$3` fingerprint, `$4` the lifetime in
/// seconds. A live answer committed after this statement's snapshot was
/// taken (by the request whose lock this one then got) is not seen here:
/// neither claimed nor found, it is read by [`FIND`].
const TAKE: &str = "WITH lock AS (SELECT pg_try_advisory_xact_lock(\
     hashtextextended($1 || E'\\n' || $2, 0)) AS locked), \
     claim AS (INSERT INTO idempotency_keys (user_id, key, fingerprint) \
     SELECT $1, $2, $3 FROM lock WHERE locked \
     ON CONFLICT (user_id, key) DO UPDATE \
     SET fingerprint = EXCLUDED.fingerprint, status = NULL, body = NULL, created_at = now() \
     WHERE idempotency_keys.created_at <= now() - $4 * interval '1 second' \
     RETURNING 1) \
     SELECT lock.locked, EXISTS (SELECT FROM claim) AS claimed, \
     k.fingerprint, k.status, k.body \
     FROM lock LEFT JOIN idempotency_keys k ON lock.locked \
     AND k.user_id = $1 AND k.key = $2 AND k.created_at > now() - $4 * interval '1 second'";
const FORGET_EXPIRED: &str =
    "DELETE FROM idempotency_keys WHERE created_at <= now() - $1 * interval '1 second'";
const FIND: &str = "SELECT fingerprint, status, body FROM idempotency_keys \
     WHERE user_id = $1 AND key = $2 AND created_at > now() - $3 * interval '1 second'";

/// What [`TAKE`] found.
#[derive(QueryableByName)]
struct Taken {
    #[diesel(sql_type = Bool)]
    locked: bool,
    #[diesel(sql_type = Bool)]
    claimed: bool,
    #[diesel(embed)]
    found: FoundRow,
}

/// The key's live answer as [`TAKE`] reads it: all NULL when there is
/// none to read.
#[derive(QueryableByName)]
struct FoundRow {
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    fingerprint: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::SmallInt>)]
    status: Option<i16>,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    body: Option<String>,
}

impl FoundRow {
    /// `None` when no row was read.
    fn row(self) -> Option<RecordedRow> {
        Some(RecordedRow {
            fingerprint: self.fingerprint?,
            status: self.status,
            body: self.body,
        })
    }
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

fn lifetime_seconds() -> i64 {
    IDEMPOTENCY_KEY_LIFETIME.num_seconds()
}

/// Why a keyed transaction rolled back. Every variant leaves nothing
/// behind: not the claim, not the create.
enum Rollback<G> {
    Database(DieselError),
    /// The created row could not be read or its answer rendered.
    Store(StoreError),
    /// The create found its target gone and made nothing.
    Gone(G),
}

impl<G> Rollback<G> {
    /// What the caller hears: the store's error, or `Gone`'s reason, which
    /// is an answer rather than a failure.
    fn settle(self) -> Result<G, StoreError> {
        match self {
            Self::Database(error) => Err(store_error(error)),
            Self::Store(error) => Err(error),
            Self::Gone(gone) => Ok(gone),
        }
    }
}

/// A keyed transaction's outcome as [`run`] wants it: a database error
/// leaves as one, so that [`run`] sees a lost connection and keeps it out
/// of the pool.
fn database_errors_out<T, G>(
    result: Result<T, Rollback<G>>,
) -> QueryResult<Result<T, Rollback<G>>> {
    match result {
        Err(Rollback::Database(error)) => Err(error),
        other => Ok(other),
    }
}

/// A comment's post was deleted before the comment was written.
struct PostGone;

impl<G> From<DieselError> for Rollback<G> {
    fn from(error: DieselError) -> Self {
        Self::Database(error)
    }
}

impl<G> From<StoreError> for Rollback<G> {
    fn from(error: StoreError) -> Self {
        Self::Store(error)
    }
}

/// What to do with a keyed request, as the key says.
enum NextAction {
    /// The key is this transaction's: create, then save the answer.
    StartProcessing,
    /// The key has a live answer: send it again.
    ReturnSavedResponse(Recorded),
    /// Another transaction holds the key.
    Wait,
}

fn try_processing(conn: &mut PgConnection, request: &KeyedRequest) -> QueryResult<NextAction> {
    let (user, key) = (request.user_id.as_ref(), request.key.as_ref());
    let taken = diesel::sql_query(TAKE)
        .bind::<Text, _>(user)
        .bind::<Text, _>(key)
        .bind::<Text, _>(&request.fingerprint)
        .bind::<BigInt, _>(lifetime_seconds())
        .get_result::<Taken>(conn)?;
    if !taken.locked {
        return Ok(NextAction::Wait);
    }
    if taken.claimed {
        return Ok(NextAction::StartProcessing);
    }
    let found = match taken.found.row() {
        Some(row) => row.recorded(),
        None => find(conn, user, key)?,
    };
    Ok(found.map_or(NextAction::Wait, NextAction::ReturnSavedResponse))
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

/// Stores the answer under the claimed key and hands it back, to be sent.
fn save_response<G>(
    conn: &mut PgConnection,
    request: &KeyedRequest,
    answer: RecordedAnswer,
) -> Result<RecordedAnswer, Rollback<G>> {
    let status = i16::try_from(answer.status)
        .map_err(|_| StoreError::Other(anyhow::anyhow!("status out of range")))?;
    diesel::update(idempotency_keys::table.find((request.user_id.as_ref(), request.key.as_ref())))
        .set((
            idempotency_keys::status.eq(status),
            idempotency_keys::body.eq(&answer.body),
        ))
        .execute(conn)?;
    Ok(answer)
}

/// Claims the key, runs `create` and saves `record`'s answer for what it
/// made, all in one transaction; any `Err`, [`Rollback::Gone`] included,
/// rolls the whole of it back.
fn keyed<V, G>(
    conn: &mut PgConnection,
    request: &KeyedRequest,
    create: impl FnOnce(&mut PgConnection) -> Result<V, Rollback<G>>,
    record: &Recorder<V>,
) -> Result<Keyed<RecordedAnswer>, Rollback<G>> {
    conn.transaction(|conn| match try_processing(conn, request)? {
        NextAction::Wait => Ok(Keyed::InProgress),
        NextAction::ReturnSavedResponse(recorded) => Ok(Keyed::Taken(recorded)),
        NextAction::StartProcessing => {
            let made = create(conn)?;
            let answer = record(&made).map_err(StoreError::Other)?;
            Ok(Keyed::Ran(save_response(conn, request, answer)?))
        }
    })
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
    ) -> Result<Keyed<RecordedAnswer>, StoreError> {
        let (owner, content) = (request.user_id.to_string(), content.into_inner());
        let create = |conn: &mut PgConnection| -> Result<_, Rollback<Infallible>> {
            Ok(PostView::try_from(insert_post(conn, owner, content)?)?)
        };
        let keyed = run(&self.pool, move |conn| {
            database_errors_out(keyed(conn, &request, create, &record))
        })
        .await?;
        keyed.or_else(|rollback| match rollback.settle()? {})
    }

    async fn create_comment(
        &self,
        request: KeyedRequest,
        comment: NewComment,
        record: Recorder<CommentView>,
    ) -> Result<Keyed<CommentCreation<RecordedAnswer>>, StoreError> {
        let create = |conn: &mut PgConnection| -> Result<_, Rollback<PostGone>> {
            let row = insert_comment(conn, comment)?.ok_or(Rollback::Gone(PostGone))?;
            Ok(CommentView::try_from(row)?)
        };
        let keyed = run(&self.pool, move |conn| {
            database_errors_out(keyed(conn, &request, create, &record))
        })
        .await?;
        match keyed {
            Ok(keyed) => Ok(keyed.map(CommentCreation::Created)),
            Err(rollback) => rollback
                .settle()
                .map(|PostGone| Keyed::Ran(CommentCreation::PostGone)),
        }
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
