//! What a request sees when the pool cannot give it a connection: one that
//! waited its full time, and one that came after the pool was closed (as at
//! shutdown). Both are `Unavailable`, the answer the HTTP layer turns into
//! 503, with a hint that says which. The PostgreSQL is the one `make test`
//! started (`MINIFB_TEST_DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use minifb_adapters_postgres::{PgHealthCheck, PoolSettings, connect};
use minifb_application::StoreError;
use minifb_application::ports::HealthCheck;

const WAIT: Duration = Duration::from_millis(300);

fn pool() -> minifb_adapters_postgres::Pool {
    let url = std::env::var("MINIFB_TEST_DATABASE_URL")
        .expect("MINIFB_TEST_DATABASE_URL is not set: run the tests with `make test`");
    let settings = PoolSettings {
        max_size: 1,
        wait: WAIT,
        statement_timeout: Duration::from_secs(5),
    };
    connect(&url, settings).unwrap()
}

fn hint(result: Result<(), StoreError>) -> String {
    match result {
        Err(StoreError::Unavailable(hint)) => hint.to_string(),
        other => panic!("expected Unavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn a_request_that_finds_every_connection_taken_gives_up_after_the_wait() {
    let pool = pool();
    let health = PgHealthCheck::new(pool.clone());
    health.database_ready().await.unwrap();
    let held = pool.get().await.unwrap();
    assert_eq!(health.pool_status().available, 0);

    let started = Instant::now();
    let result = health.database_ready().await;

    assert!(
        started.elapsed() >= WAIT,
        "gave up after {:?}",
        started.elapsed()
    );
    assert_eq!(hint(result), "timed out waiting for a database connection");
    drop(held);
    health.database_ready().await.unwrap();
}

#[tokio::test]
async fn a_request_after_the_pool_closed_is_told_so() {
    let pool = pool();
    let health = PgHealthCheck::new(pool.clone());
    health.database_ready().await.unwrap();

    pool.close();

    assert_eq!(
        hint(health.database_ready().await),
        "the database pool is closed"
    );
}
