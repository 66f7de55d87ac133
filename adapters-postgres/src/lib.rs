//! PostgreSQL adapters: the Diesel schema, row types and the implementations
//! of `minifb-application`'s ports, plus the embedded migrations.
//!
//! Every query runs inside deadpool-diesel's `interact`, on a pooled
//! connection; changes that touch several rows run in one transaction.
//! Errors are mapped once, in [`pool`]: a pool timeout or a lost connection
//! becomes `StoreError::Unavailable` (HTTP 503), unique-key violations are
//! turned into the port's own outcome by constraint name where a port
//! promises one, and everything else becomes `StoreError::Other` with a
//! message that names the kind of failure but never SQL or row values (those
//! are logged).

mod accounts;
mod comments;
mod limits;
mod live;
mod notifications;
mod page_limit;
pub mod pool;
mod posts;
mod reactions;
mod replicas;
mod retries;
/// The tables of `migrations/` as Diesel sees them: the output of `diesel
/// print-schema` (configured by `diesel.toml`), never edited by hand. A
/// `type` column is `type_` here (`type` is a Rust keyword); the row structs
/// call their field `kind`. `make test` fails when this file is stale
/// (`scripts/check-schema`); after changing a migration, regenerate it with
/// `diesel migration run` on a scratch database, as the comment at the top
/// of `diesel.toml` shows.
pub mod schema;
mod stats;
mod views;

pub use accounts::{PgRefreshTokenRepository, PgTemporaryPasswordRepository, PgUserRepository};
pub use comments::PgCommentRepository;
pub use limits::{Limit, Limits, PgAttemptLimiter};
pub use live::PgNotificationHub;
pub use notifications::PgNotificationRepository;
pub use pool::{
    MIGRATIONS, PgHealthCheck, Pool, PoolSettings, connect, connect_replica, run_migrations,
};
pub use posts::PgPostRepository;
pub use reactions::PgReactionRepository;
pub use replicas::{
    Database, LISTENER_NAME, Lsn, PgReplicas, WRITES_CHANNEL, replica_label, replica_lag,
};
pub use retries::PgIdempotencyRepository;
pub use stats::PgStatsRepository;
