//! `minifb-server`: see the `minifb_server` library for what each step does.

use minifb_server::{Config, LogFormat, Server, shutdown_signal};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    dotenvy::dotenv().ok();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("minifb-server: {error:#}");
            std::process::exit(2);
        }
    };
    let _flush_logs_on_exit = init_logging(config.log_format);
    let server = Server::build(&config).await?;
    server.run(shutdown_signal()).await
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
