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
