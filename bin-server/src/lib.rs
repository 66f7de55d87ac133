//! The minifb server: reads its configuration, builds the pool, applies the
//! migrations, wires the adapters into the use cases and serves the router
//! until SIGTERM or Ctrl-C. `main.rs` only calls into this library, so the
//! black-box tests start the very same server in-process.

pub mod config;
pub mod mail;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::http::HeaderValue;
use minifb_adapters_http::{AppState, HttpConfig, JwtKeys, admin_token_digest};
use minifb_adapters_postgres as pg;
use minifb_application::accounts::AccountService;
use minifb_application::hashing::Pbkdf2Hasher;
use minifb_application::limiter::AttemptLimiter;
use minifb_application::ports::Mailer;
use minifb_application::social::SocialService;
use minifb_application::stats::{RequestCounter, StatsService};
use tokio::net::TcpListener;

pub use config::{Config, LogFormat};

/// Lifetime of access tokens.
const ACCESS_TOKEN_TTL: Duration = Duration::from_secs(15 * 60);
/// How long a request waits for a database connection or a hashing thread.
const WAIT_LIMIT: Duration = Duration::from_secs(5);

/// A server bound to its address, ready to run.
pub struct Server {
    listener: TcpListener,
    router: axum::Router,
    stats: StatsService,
}

impl Server {
    /// Connects, migrates, wires and binds; nothing is served yet.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let pool = pg::connect(&config.database_url, config.pool_size, WAIT_LIMIT)
            .context("DATABASE_URL is not a usable PostgreSQL URL")?;
        let applied = pg::run_migrations(&pool).await?;
        tracing::info!(applied, "database migrations are up to date");

        if config.jwt_secret.generated {
            tracing::warn!(
                "MINIFB_JWT_SECRET is not set: using a generated key, so access tokens die with this process"
            );
        }
        if config.admin_token.generated {
            tracing::info!(admin_token = %config.admin_token.value, "MINIFB_ADMIN_TOKEN is not set: generated one for this process");
        }

        let mailer: Arc<dyn Mailer> = match &config.smtp_url {
            Some(url) => Arc::new(mail::SmtpMailer::new(url, &config.mail_from)?),
            None => Arc::new(mail::OutboxMailer::new(&config.mail_outbox)),
        };
        let jwt = Arc::new(JwtKeys::new(
            config.jwt_secret.value.as_bytes(),
            ACCESS_TOKEN_TTL,
        ));
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let accounts = AccountService {
            users: Arc::new(pg::PgUserRepository::new(pool.clone())),
            temporary_passwords: Arc::new(pg::PgTemporaryPasswordRepository::new(pool.clone())),
            refresh_tokens: Arc::new(pg::PgRefreshTokenRepository::new(pool.clone())),
            hasher: Arc::new(Pbkdf2Hasher::new(
                config.password_iterations,
                threads,
                WAIT_LIMIT,
            )),
            access_tokens: jwt.clone(),
            mailer,
            limiter: Arc::new(AttemptLimiter::default()),
            reset_limiter: Arc::new(AttemptLimiter::default()),
        };
        let social = SocialService {
            users: Arc::new(pg::PgUserRepository::new(pool.clone())),
            posts: Arc::new(pg::PgPostRepository::new(pool.clone())),
            comments: Arc::new(pg::PgCommentRepository::new(pool.clone())),
            reactions: Arc::new(pg::PgReactionRepository::new(pool.clone())),
            notifications: Arc::new(pg::PgNotificationRepository::new(pool.clone())),
        };
        let stats = StatsService {
            repository: Arc::new(pg::PgStatsRepository::new(pool.clone())),
            counter: Arc::new(RequestCounter::default()),
            timezone: config.timezone,
        };
        let state = AppState {
            accounts,
            social,
            stats: stats.clone(),
            jwt,
            health: Arc::new(pg::PgHealthCheck::new(pool.clone())),
            admin_token_digest: admin_token_digest(&config.admin_token.value),
        };
        let http = HttpConfig {
            cors_origins: config
                .cors_origins
                .iter()
                .map(|origin| {
                    HeaderValue::from_str(origin).with_context(|| {
                        format!("MINIFB_CORS_ORIGINS has an invalid origin: {origin}")
                    })
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let router = minifb_adapters_http::router(state, &http);
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("could not listen on MINIFB_BIND={}", config.bind))?;
        Ok(Self {
            listener,
            router,
            stats,
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
        let flusher = tokio::spawn(flush_statistics(self.stats.clone(), stopped));
        let served = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        // Let a flush under way finish, so no drained counts are lost.
        stop.send(true).ok();
        flusher.await.ok();
        if let Err(error) = self.stats.flush().await {
            tracing::error!(%error, "could not flush request statistics at shutdown");
        }
        tracing::info!("stopped");
        Ok(served?)
    }
}

/// How often request counts move from memory to the database.
pub const STATS_FLUSH_INTERVAL: Duration = Duration::from_secs(5);

/// Flushes request counts every [`STATS_FLUSH_INTERVAL`], prunes counts
/// older than a day every hour, and keeps the histograms' windows moving.
async fn flush_statistics(stats: StatsService, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(STATS_FLUSH_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for n in 0_u64.. {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stop.changed() => return,
        }
        if let Err(error) = stats.flush().await {
            tracing::warn!(%error, "request statistics not flushed; keeping them for the next try");
        }
        if n % 720 == 0
            && let Err(error) = stats.prune().await
        {
            tracing::warn!(%error, "old request statistics not pruned");
        }
        minifb_adapters_http::prometheus().run_upkeep();
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
