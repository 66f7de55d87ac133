//! `minifb-server`: see the `minifb_server` library for what each step does.

use minifb_server::{Config, LogFormat, Server, shutdown_signal};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    dotenvy::dotenv().ok();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("minifb-server: {error:#}");
            std::process::exit(2);
        }
    };
    let _flush_logs_on_exit = init_logging(config.log_format);
    runtime(&config)?.block_on(async {
        let server = Server::build(&config).await?;
        server.run(shutdown_signal()).await
    })
}

/// Tokio's multi-threaded runtime (one worker per CPU), with as many
/// blocking threads as database connections. Diesel calls, each holding a
/// pooled connection, are nearly all the blocking work there is, so no
/// more than that many run at once; hashing has threads of its own, and
/// the mail outbox's file writes (`tokio::fs`), a few per password reset,
/// wait for a free thread behind them.
/// With tokio's default cap (512) the blocking pool grows to many more
/// threads than connections, which take turns, each cold, at the same few
/// calls: context switches and wake-ups a request. Capped, the same few
/// threads stay busy (docs/performance.md has the figures).
fn runtime(config: &Config) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(config.pool_size)
        .build()
}

/// Logs go to stdout through a writer thread of their own: a request logs
/// a line without a write(2) on the async workers, and a slow or stuck
/// stdout (a full pipe) cannot stall them. Lossy: should 128k lines queue
/// up, further lines are dropped rather than block the server. The guard
/// flushes what is queued when dropped.
fn init_logging(format: LogFormat) -> WorkerGuard {
    let (stdout, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .thread_name("minifb-log")
        .finish(std::io::stdout());
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(stdout);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
    guard
}
