use std::time::Duration;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use minifb_adapters_postgres::{PoolSettings, connect};
use minifb_tests::TestApp;

#[tokio::test]
async fn health_and_ready_answer_200_while_the_database_is_up() {
    let app = TestApp::spawn().await;
    app.get("/health", None).await.assert_status(200);
    app.get("/ready", None).await.assert_status(200);
}

#[tokio::test]
async fn a_lost_database_is_503_with_retry_after_not_500() {
    let Some(app) = TestApp::spawn_local().await else {
        return;
    };
    app.lose_database().await;

    let started = std::time::Instant::now();
    let ready = app.get("/ready", None).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    ready.error(503);
    let posts = app.get("/posts", None).await;
    let hint = posts.error(503);

    assert!(posts.header("retry-after").is_some());
    assert!(
        !hint.contains("postgres") && !hint.contains("host="),
        "{hint}"
    );
    // The process itself is fine.
    app.get("/health", None).await.assert_status(200);
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

/// Every statement is planned once for any values (`force_generic_plan`,
/// see `adapters-postgres/src/pool.rs`), and cancelled after the pool's
/// statement timeout, on every connection the pool opens.
#[tokio::test]
async fn pooled_connections_plan_once_and_time_out_statements() {
    let Some(app) = TestApp::spawn_local().await else {
        return;
    };
    let settings = PoolSettings {
        max_size: 1,
        wait: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(7),
    };
    let pool = connect(app.database_url().unwrap(), settings).unwrap();
    let conn = pool.get().await.unwrap();

    let values = conn
        .interact(|conn| {
            ["plan_cache_mode", "statement_timeout"].map(|name| {
                diesel::sql_query("SELECT current_setting($1) AS value")
                    .bind::<Text, _>(name)
                    .get_result::<Setting>(conn)
                    .unwrap()
                    .value
            })
        })
        .await
        .unwrap();

    assert_eq!(values, ["force_generic_plan", "7s"]);
}
