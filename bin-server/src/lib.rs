//! The minifb server: reads its configuration, builds the pool, applies the
//! migrations, wires the adapters into the use cases and serves the router
//! until SIGTERM or Ctrl-C. `main.rs` only calls into this library, so the
//! black-box tests start the very same server in-process.

pub mod config;
mod serve;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use minifb_adapters_crypto::{Pbkdf2Hasher, RandomSecrets};
use minifb_adapters_http::{
    AppState, JwtKeys, RequestCounter, ServerStatsService, Shared, admin_token_digest,
};
use minifb_adapters_mail::{OutboxMailer, SmtpMailer};
use minifb_adapters_postgres as pg;
use minifb_application::accounts::AccountService;
use minifb_application::consistency::NoReplicas;
use minifb_application::live::LiveService;
use minifb_application::ports::Mailer;
use minifb_application::social::SocialService;
use minifb_application::social::ports::IdempotencyRepository;
use minifb_application::stats::StatsService;
use tokio::net::TcpListener;

pub use config::{Config, LogFormat, MailConfig};

/// How long a request waits for a database connection.
const WAIT_LIMIT: Duration = Duration::from_secs(5);

/// How long a login or sign-up may expect to wait for a hashing thread: one
/// that could not be served within it is refused at once.
const HASH_WAIT_LIMIT: Duration = Duration::from_secs(1);

/// A server bound to its address, ready to run.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    upkeep: Upkeep,
    max_connections: usize,
    hub: pg::PgNotificationHub,
    replicas: Option<pg::PgReplicas>,
}

impl Server {
    /// Connects, migrates, wires and binds; nothing is served yet.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let pool = pg::connect(
            &config.database_url,
            pg::PoolSettings {
                max_size: config.pool_size,
                wait: WAIT_LIMIT,
                statement_timeout: statement_timeout(config.http.request_timeout),
            },
        )
        .context("DATABASE_URL is not a usable PostgreSQL URL")?;
        let applied = pg::run_migrations(&pool).await?;
        let replicas = (!config.replica_urls.is_empty())
            .then(|| {
                pg::PgReplicas::connect(
                    pool.clone(),
                    &config.database_url,
                    &config.replica_urls,
                    config.replica_max_lag,
                    pg::PoolSettings {
                        max_size: config.pool_size,
                        wait: WAIT_LIMIT,
                        statement_timeout: statement_timeout(config.http.request_timeout),
                    },
                )
                .context("MINIFB_REPLICA_URLS has a URL that is not a usable PostgreSQL URL")
            })
            .transpose()?;
        let db = replicas.as_ref().map_or_else(
            || pg::Database::from(pool.clone()),
            pg::PgReplicas::database,
        );
        tracing::info!(applied, "database migrations are up to date");

        if config.jwt_secret.generated {
            tracing::warn!(
                "MINIFB_JWT_SECRET is not set: using a generated key, so access tokens die with this process"
            );
        }
        if config.admin_token.generated {
            tracing::info!(admin_token = %config.admin_token.value, "MINIFB_ADMIN_TOKEN is not set: generated one for this process");
        }

        let mailer: Arc<dyn Mailer> = match &config.mail {
            MailConfig::Smtp { url, from } => Arc::new(SmtpMailer::new(url, from)?),
            MailConfig::Outbox(path) => Arc::new(OutboxMailer::new(path)),
        };
        let jwt = Arc::new(JwtKeys::new(
            config.jwt_secret.value.as_bytes(),
            config.access_token_ttl,
        ));
        let limiter =
            pg::PgAttemptLimiter::new(pool.clone(), pg::Limits::with_sign_ups(config.signup_limit));
        // Half the CPUs hash at once (at least one): a login storm then
        // leaves the other half to readers, and logins beyond what those
        // threads serve are refused at once by the hasher's admission queue
        // (the hash strength is unchanged).
        let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = (cpus / 2).max(1);
        let accounts = AccountService {
            users: Arc::new(pg::PgUserRepository::new(db.clone())),
            temporary_passwords: Arc::new(pg::PgTemporaryPasswordRepository::new(pool.clone())),
            refresh_tokens: Arc::new(pg::PgRefreshTokenRepository::new(pool.clone())),
            hasher: Arc::new(
                Pbkdf2Hasher::new(config.password_iterations, threads, HASH_WAIT_LIMIT)
                    .context("could not start the password-hashing threads")?,
            ),
            secrets: Arc::new(RandomSecrets),
            access_tokens: jwt.clone(),
            mailer,
            limiter: Arc::new(limiter.clone()),
        };
        let retries = pg::PgIdempotencyRepository::new(pool.clone());
        let social = SocialService {
            users: Arc::new(pg::PgUserRepository::new(db.clone())),
            posts: Arc::new(pg::PgPostRepository::new(db.clone())),
            comments: Arc::new(pg::PgCommentRepository::new(db.clone())),
            reactions: Arc::new(pg::PgReactionRepository::new(pool.clone())),
            notifications: Arc::new(pg::PgNotificationRepository::new(db.clone())),
            retries: Arc::new(retries.clone()),
        };
        let hub =
            pg::PgNotificationHub::new(pool.clone(), &config.database_url, config.max_streams);
        let live = LiveService {
            notifications: Arc::new(pg::PgNotificationRepository::new(db.clone())),
            feed: Arc::new(hub.clone()),
        };
        let stats_repository = Arc::new(pg::PgStatsRepository::new(db.clone()));
        let server_stats = ServerStatsService {
            repository: stats_repository.clone(),
            counter: Arc::new(RequestCounter::default()),
        };
        let state = AppState::new(Shared {
            accounts,
            social,
            stats: StatsService {
                repository: stats_repository,
                timezone: config.timezone,
            },
            server_stats: server_stats.clone(),
            live,
            stream_keep_alive: config.stream_keep_alive,
            jwt,
            health: Arc::new(pg::PgHealthCheck::new(pool.clone())),
            replicas: match &replicas {
                Some(replicas) => Arc::new(replicas.clone()),
                None => Arc::new(NoReplicas),
            },
            admin_token_digest: admin_token_digest(&config.admin_token.value),
        });
        let router = minifb_adapters_http::router(state, &config.http);
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("could not listen on MINIFB_BIND={}", config.bind))?;
        Ok(Self {
            listener,
            router,
            upkeep: Upkeep {
                server_stats,
                limiter,
                retries,
            },
            max_connections: config.max_connections,
            hub,
            replicas,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` completes, then finishes the requests in
    /// flight and flushes the request statistics.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.local_addr()?, "minifb is serving");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let flusher = tokio::spawn(self.upkeep.clone().run(stopped));
        let listener = tokio::spawn(self.hub.clone().run());
        let replica_checks = self.replicas.clone().map(|r| tokio::spawn(r.run()));
        let hub = self.hub.clone();
        // Streams close first, so their clients reconnect to another
        // process and their connections do not hold the shutdown up.
        let shutdown = async move {
            shutdown.await;
            hub.close();
        };
        serve::serve(
            self.listener,
            self.router,
            serve::ConnectionLimits::new(self.max_connections),
            shutdown,
        )
        .await;
        self.hub.close();
        listener.await.ok();
        if let Some(replicas) = &self.replicas {
            replicas.close();
        }
        if let Some(checks) = replica_checks {
            checks.await.ok();
        }
        // Let a flush under way finish, so no drained counts are lost.
        stop.send(true).ok();
        flusher.await.ok();
        if let Err(error) = self.upkeep.server_stats.flush().await {
            tracing::error!(%error, "could not flush request statistics at shutdown");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// A statement must end before its request's deadline: a tenth of the
/// deadline (at most 2 s) is left to answer.
fn statement_timeout(request_timeout: Duration) -> Duration {
    request_timeout.saturating_sub((request_timeout / 10).min(Duration::from_secs(2)))
}

/// How often request counts move from memory to the database.
pub const STATS_FLUSH_INTERVAL: Duration = Duration::from_secs(5);
/// How often old request counts, ended attempt windows and expired
/// idempotency keys are deleted.
pub const PRUNE_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// The background work of a process.
#[derive(Clone)]
struct Upkeep {
    server_stats: ServerStatsService,
    limiter: pg::PgAttemptLimiter,
    retries: pg::PgIdempotencyRepository,
}

impl Upkeep {
    /// Flushes request counts every [`STATS_FLUSH_INTERVAL`], prunes every
    /// [`PRUNE_INTERVAL`] (and at start), and keeps the histograms' windows
    /// moving, until `stop` changes.
    async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut flushes = tokio::time::interval(STATS_FLUSH_INTERVAL);
        flushes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut prunes = tokio::time::interval(PRUNE_INTERVAL);
        prunes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = flushes.tick() => self.flush().await,
                _ = prunes.tick() => self.prune().await,
                _ = stop.changed() => return,
            }
        }
    }

    async fn flush(&self) {
        if let Err(error) = self.server_stats.flush().await {
            tracing::warn!(%error, "request statistics not flushed; keeping them for the next try");
        }
        minifb_adapters_http::prometheus().run_upkeep();
    }

    async fn prune(&self) {
        if let Err(error) = self.server_stats.prune().await {
            tracing::warn!(%error, "old request statistics not pruned");
        }
        if let Err(error) = self.limiter.prune().await {
            tracing::warn!(%error, "ended attempt windows not pruned");
        }
        // Lookups already ignore expired keys; this only reclaims space, and
        // a DELETE run by several processes at once is harmless.
        match self.retries.forget_expired().await {
            Ok(0) => {}
            Ok(forgotten) => tracing::info!(forgotten, "expired idempotency keys deleted"),
            Err(error) => tracing::warn!(%error, "expired idempotency keys not deleted"),
        }
    }
}

/// Completes on SIGTERM or Ctrl-C. The signals are listened for from the
/// moment this is called, not from its first poll, so one that arrives
/// before the server serves (right after it logs its address, say) still
/// shuts it down gently instead of killing it.
#[cfg(unix)]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    let listen = |kind: SignalKind, name: &'static str| {
        signal(kind)
            .inspect_err(|error| tracing::error!(%error, "cannot listen for {name}"))
            .ok()
    };
    let wait = |signal: Option<Signal>| async move {
        match signal {
            Some(mut signal) => {
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    let terminate = wait(listen(SignalKind::terminate(), "SIGTERM"));
    let interrupt = wait(listen(SignalKind::interrupt(), "Ctrl-C"));
    async move {
        tokio::select! {
            () = terminate => {}
            () = interrupt => {}
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}

/// Completes on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}
