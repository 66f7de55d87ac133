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
mod notifications;
pub mod pool;
mod posts;
mod reactions;
pub mod schema;
mod stats;
mod views;

pub use accounts::{PgRefreshTokenRepository, PgTemporaryPasswordRepository, PgUserRepository};
pub use comments::PgCommentRepository;
pub use notifications::PgNotificationRepository;
pub use pool::{MIGRATIONS, PgHealthCheck, Pool, connect, run_migrations};
pub use posts::PgPostRepository;
pub use reactions::PgReactionRepository;
pub use stats::PgStatsRepository;
