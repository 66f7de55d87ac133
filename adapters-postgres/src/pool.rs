//! The connection pool, migrations and the one place errors are mapped.

use std::time::Duration;

use anyhow::Context;
use deadpool_diesel::postgres::{Hook, HookError, Manager, Runtime};
use deadpool_diesel::{ManagerConfig, RecyclingMethod};
use diesel::PgConnection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use minifb_application::StoreError;
use minifb_application::ports::{HealthCheck, PoolStatus};

pub use deadpool_diesel::postgres::Pool;

/// The SQL under `migrations/`, compiled into the binary; applied at
/// start-up and by the test harness from this same constant.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// How the pool connects and how long it waits.
#[derive(Debug, Clone, Copy)]
pub struct PoolSettings {
    pub max_size: usize,
    /// Waiting for a free connection, or for a new one to open, gives up
    /// after this long.
    pub wait: Duration,
    /// Every statement on a pooled connection is cancelled after this long
    /// (PostgreSQL's `statement_timeout`), so that no request outlives its
    /// deadline in the database.
    pub statement_timeout: Duration,
}

/// How every pooled connection plans: once, for any parameters.
///
/// Each statement minifb prepares is written for the index that serves it
/// (a key lookup, or a keyset page in that index's order), so the values it
/// is run with should never change its plan. Left to choose
/// (`plan_cache_mode = auto`), PostgreSQL plans again at every execution
/// whenever the values' own plan looks cheaper than the generic one, and
/// for the busiest keys it does: the notifications page of a user who
/// holds a large share of the table was planned at every request (longer
/// than running it) into a backward scan of the whole table's primary key
/// that filtered on the user, where the generic plan reads the user's own
/// index. docs/performance.md has the figures. A generic
/// plan estimates a range bound by a parameter at a third of the table, so
/// a statement that needs an index for a range gives both ends (the day's
/// posts in `stats.rs`); one-sided ranges are left only on tables pruned to
/// about what they ask for (the last day's request counts) and in the
/// hourly sweeps of expired rows, which may read their tables whole.
const SESSION_SETUP: &str = "SET plan_cache_mode = force_generic_plan";

/// Builds a pool; each new connection first sets its `statement_timeout`
/// and [`SESSION_SETUP`].
///
/// A connection is handed out again without a round trip to the database
/// (deadpool's default, `Verified`, runs `SELECT 1` at every checkout, one
/// statement more per request). Dead connections are still never reused:
/// deadpool drops a connection whose transaction manager Diesel marked
/// broken, one whose task panicked, and [`run`] drops one whose statement
/// failed because the connection itself was lost.
pub fn connect(database_url: &str, settings: PoolSettings) -> anyhow::Result<Pool> {
    connect_with(database_url, settings, SESSION_SETUP)
}

/// [`connect`] for a streaming replica: every connection is also read-only
/// (`default_transaction_read_only`), so that nothing sent there by mistake
/// could ever try to write.
pub fn connect_replica(database_url: &str, settings: PoolSettings) -> anyhow::Result<Pool> {
    connect_with(
        database_url,
        settings,
        &format!("{SESSION_SETUP}; SET default_transaction_read_only = on"),
    )
}

fn connect_with(
    database_url: &str,
    settings: PoolSettings,
    session_setup: &str,
) -> anyhow::Result<Pool> {
    let manager = Manager::from_config(
        database_url,
        Runtime::Tokio1,
        ManagerConfig {
            recycling_method: RecyclingMethod::CustomFunction(Box::new(|_| Ok(()))),
        },
    );
    let timeout_ms = settings.statement_timeout.as_millis().max(1);
    let setup = format!("SET statement_timeout = {timeout_ms}; {session_setup}");
    Pool::builder(manager)
        .max_size(settings.max_size)
        .wait_timeout(Some(settings.wait))
        .create_timeout(Some(settings.wait))
        .recycle_timeout(Some(settings.wait))
        .runtime(Runtime::Tokio1)
        .post_create(Hook::async_fn(move |conn, _| {
            let setup = setup.clone();
            Box::pin(async move {
                conn.interact(move |conn| {
                    use diesel::connection::SimpleConnection;
                    conn.batch_execute(&setup)
                })
                .await
                .map_err(|e| HookError::Message(format!("connection setup failed: {e}").into()))?
                .map_err(|e| {
                    HookError::Message(format!("could not set up the connection: {e}").into())
                })?;
                Ok(())
            })
        }))
        .build()
        .context("could not build the database pool")
}

/// Applies pending migrations; returns how many ran. The connection runs
/// without a statement timeout (migrations may rewrite large tables) and is
/// closed afterwards rather than returned to the pool.
pub async fn run_migrations(pool: &Pool) -> anyhow::Result<usize> {
    let conn = pool
        .get()
        .await
        .map_err(|e| anyhow::anyhow!("could not connect to the database: {e}"))?;
    let applied = conn
        .interact(|conn| {
            use diesel::RunQueryDsl;
            diesel::sql_query("SET statement_timeout = 0")
                .execute(conn)
                .map_err(|e| anyhow::anyhow!("migration set-up failed: {e}"))?;
            conn.run_pending_migrations(MIGRATIONS)
                .map(|applied| applied.len())
                .map_err(|e| anyhow::anyhow!("migration failed: {e}"))
        })
        .await
        .map_err(|e| anyhow::anyhow!("migration task failed: {e}"))?;
    drop(deadpool_diesel::postgres::Object::take(conn));
    applied
}

/// Whether the database answers a trivial query.
async fn ping(pool: &Pool) -> Result<(), StoreError> {
    run(pool, |conn| {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT 1").execute(conn).map(drop)
    })
    .await
}

/// [`HealthCheck`] by pinging through the pool.
#[derive(Clone)]
pub struct PgHealthCheck {
    pool: Pool,
}

impl PgHealthCheck {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait::async_trait]
impl HealthCheck for PgHealthCheck {
    async fn database_ready(&self) -> Result<(), StoreError> {
        ping(&self.pool).await
    }

    fn pool_status(&self) -> PoolStatus {
        let status = self.pool.status();
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            available: status.available,
            waiting: status.waiting,
        }
    }
}

/// Runs `query` on a pooled connection, off the async workers.
pub(crate) async fn run<T, F>(pool: &Pool, query: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, DieselError> + Send + 'static,
    T: Send + 'static,
{
    match run_on(pool, query).await {
        Ok(result) => result.map_err(store_error),
        Err(RunError::Checkout(error)) => {
            tracing::warn!(%error, "no database connection");
            Err(StoreError::Unavailable(pool_error_hint(&error).into()))
        }
        Err(RunError::Task(error)) => Err(task_failed(error)),
    }
}

/// Why a statement did not run: no connection, or its blocking task failed.
pub(crate) enum RunError {
    Checkout(deadpool_diesel::PoolError),
    Task(deadpool_diesel::InteractError),
}

/// The port's error for a statement whose blocking task failed.
pub(crate) fn task_failed(error: deadpool_diesel::InteractError) -> StoreError {
    StoreError::Other(anyhow::anyhow!("database task failed: {error}"))
}

/// Runs `query` on a connection of `pool`, off the async workers, and
/// gives back Diesel's own result for the caller to judge; a connection
/// that the statement found lost is dropped, not returned to the pool
/// (checkouts do not ping, so it would fail the next request too).
pub(crate) async fn run_on<T, F>(pool: &Pool, query: F) -> Result<Result<T, DieselError>, RunError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, DieselError> + Send + 'static,
    T: Send + 'static,
{
    let conn = pool.get().await.map_err(RunError::Checkout)?;
    let result = conn.interact(query).await.map_err(RunError::Task)?;
    if let Err(error) = &result
        && connection_lost(error)
    {
        drop(deadpool_diesel::postgres::Object::take(conn));
    }
    Ok(result)
}

/// Whether `error` says the connection itself is unusable (the server went
/// away, or a transaction could not be closed), rather than the statement.
fn connection_lost(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        ) | DieselError::BrokenTransactionManager
    )
}

fn pool_error_hint(error: &deadpool_diesel::PoolError) -> &'static str {
    match error {
        deadpool_diesel::PoolError::Timeout(_) => "timed out waiting for a database connection",
        deadpool_diesel::PoolError::Backend(_) => "could not connect to the database",
        _ => "the database pool is closed",
    }
}

/// The foreign keys that reference `users`: a write that breaks one named a
/// user who is gone.
const USER_REFERENCES: &[&str] = &[
    "posts_owner_id_fkey",
    "comments_user_id_fkey",
    "post_reactions_user_id_fkey",
    "comment_reactions_user_id_fkey",
    "notifications_user_id_fkey",
    "notifications_actor_id_fkey",
    "refresh_token_families_user_id_fkey",
    "temporary_passwords_user_id_fkey",
    "idempotency_keys_user_id_fkey",
];

/// Maps a Diesel error to the port's error, logging what may quote data.
pub(crate) fn store_error(error: DieselError) -> StoreError {
    if is_foreign_key_violation(&error, USER_REFERENCES) {
        return StoreError::UserGone;
    }
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
            tracing::warn!(message = info.message(), "database connection lost");
            StoreError::Unavailable("the database connection was lost".into())
        }
        // PostgreSQL says so in the message only (SQLSTATE 57014, which
        // Diesel does not expose, is shared with other cancellations).
        DieselError::DatabaseError(_, info) if info.message().contains("statement timeout") => {
            metrics::counter!("db_statement_timeouts_total").increment(1);
            tracing::warn!(message = info.message(), "a statement ran out of time");
            StoreError::Unavailable("the database did not answer in time".into())
        }
        DieselError::DatabaseError(kind, info) => {
            tracing::error!(
                ?kind,
                message = info.message(),
                details = info.details(),
                constraint = info.constraint_name(),
                "database error"
            );
            StoreError::Other(anyhow::anyhow!("database error: {kind:?}"))
        }
        DieselError::BrokenTransactionManager => {
            StoreError::Unavailable("the database connection was lost".into())
        }
        other => {
            tracing::error!(error = %other, "database error");
            StoreError::Other(anyhow::anyhow!("database error: {}", error_kind(&other)))
        }
    }
}

fn error_kind(error: &DieselError) -> &'static str {
    match error {
        DieselError::NotFound => "row not found",
        DieselError::DeserializationError(_) => "unreadable row",
        DieselError::SerializationError(_) => "unwritable value",
        DieselError::QueryBuilderError(_) => "invalid query",
        DieselError::RollbackTransaction | DieselError::RollbackErrorOnCommit { .. } => {
            "transaction rolled back"
        }
        _ => "unexpected failure",
    }
}

/// Whether `error` is a unique violation of the named constraint or index.
pub(crate) fn is_unique_violation(error: &DieselError, constraints: &[&str]) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info)
            if info.constraint_name().is_some_and(|name| constraints.contains(&name))
    )
}

/// Whether `error` is a foreign-key violation of one of the named
/// constraints: the referenced row is missing (or was deleted meanwhile).
pub(crate) fn is_foreign_key_violation(error: &DieselError, constraints: &[&str]) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info)
            if info.constraint_name().is_some_and(|name| constraints.contains(&name))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_errors_never_leak_their_message() {
        let error = store_error(DieselError::QueryBuilderError("SELECT secret".into()));
        assert_eq!(error.to_string(), "database error: invalid query");
    }

    fn database_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn each_failure_maps_to_what_the_caller_can_do_about_it() {
        let lost = "database unavailable: the database connection was lost";
        // (the Diesel error, the port's error as the log shows it)
        let cases = [
            (
                database_error(DatabaseErrorKind::ClosedConnection, "server closed"),
                lost,
            ),
            (DieselError::BrokenTransactionManager, lost),
            (
                database_error(DatabaseErrorKind::SerializationFailure, "row 7 = 'x'"),
                "database error: SerializationFailure",
            ),
            (DieselError::NotFound, "database error: row not found"),
            (
                DieselError::DeserializationError("bad bytes".into()),
                "database error: unreadable row",
            ),
            (
                DieselError::SerializationError("bad value".into()),
                "database error: unwritable value",
            ),
            (
                DieselError::RollbackTransaction,
                "database error: transaction rolled back",
            ),
            (
                DieselError::AlreadyInTransaction,
                "database error: unexpected failure",
            ),
        ];
        for (error, expected) in cases {
            let shown = format!("{error:?}");
            assert_eq!(store_error(error).to_string(), expected, "{shown}");
        }
    }

    #[test]
    fn only_a_lost_connection_takes_the_connection_out_of_the_pool() {
        assert!(connection_lost(&database_error(
            DatabaseErrorKind::UnableToSendCommand,
            "broken pipe"
        )));
        assert!(connection_lost(&DieselError::BrokenTransactionManager));
        assert!(!connection_lost(&database_error(
            DatabaseErrorKind::UniqueViolation,
            "duplicate key"
        )));
        assert!(!connection_lost(&DieselError::NotFound));
    }
}
