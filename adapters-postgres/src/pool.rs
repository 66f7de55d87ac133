//! The connection pool, migrations and the one place errors are mapped.

use std::time::Duration;

use anyhow::Context;
use deadpool_diesel::postgres::{Manager, Runtime};
use diesel::PgConnection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use minifb_application::StoreError;
use minifb_application::ports::{HealthCheck, PoolStatus};

pub use deadpool_diesel::postgres::Pool;

/// The SQL under `migrations/`, compiled into the binary; applied at
/// start-up and by the test harness from this same constant.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// Builds a pool of up to `max_size` connections. Waiting for a free
/// connection, or for a new one to open, gives up after `timeout`.
pub fn connect(database_url: &str, max_size: usize, timeout: Duration) -> anyhow::Result<Pool> {
    let manager = Manager::new(database_url, Runtime::Tokio1);
    Pool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(timeout))
        .create_timeout(Some(timeout))
        .recycle_timeout(Some(timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .context("could not build the database pool")
}

/// Applies pending migrations; returns how many ran.
pub async fn run_migrations(pool: &Pool) -> anyhow::Result<usize> {
    let conn = pool
        .get()
        .await
        .map_err(|e| anyhow::anyhow!("could not connect to the database: {e}"))?;
    conn.interact(|conn| {
        conn.run_pending_migrations(MIGRATIONS)
            .map(|applied| applied.len())
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"))
    })
    .await
    .map_err(|e| anyhow::anyhow!("migration task failed: {e}"))?
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
    let conn = pool.get().await.map_err(|error| {
        tracing::warn!(%error, "no database connection");
        StoreError::Unavailable(pool_error_hint(&error).into())
    })?;
    conn.interact(query)
        .await
        .map_err(|error| StoreError::Other(anyhow::anyhow!("database task failed: {error}")))?
        .map_err(store_error)
}

fn pool_error_hint(error: &deadpool_diesel::PoolError) -> &'static str {
    match error {
        deadpool_diesel::PoolError::Timeout(_) => "timed out waiting for a database connection",
        deadpool_diesel::PoolError::Backend(_) => "could not connect to the database",
        _ => "the database pool is closed",
    }
}

/// Maps a Diesel error to the port's error, logging what may quote data.
pub(crate) fn store_error(error: DieselError) -> StoreError {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
            tracing::warn!(message = info.message(), "database connection lost");
            StoreError::Unavailable("the database connection was lost".into())
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
}
