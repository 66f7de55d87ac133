use minifb_tests::TestApp;

#[tokio::test]
async fn health_and_ready_answer_200_while_the_database_is_up() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/health", None).await.status, 200);
    assert_eq!(app.get("/ready", None).await.status, 200);
}
