//! The back office: admin authentication, service and server statistics,
//! Prometheus metrics, the admin page.

use std::time::{Duration, Instant};

use minifb_tests::{Reply, TestApp};
use serde_json::{Value, json};

/// The admin token of `app`, or `None` (test skipped) against a server
/// whose token the suite was not given.
fn admin(app: &TestApp) -> Option<&str> {
    if app.admin_token.is_none() {
        eprintln!("skipped: set MINIFB_TEST_ADMIN_TOKEN to test the back office");
    }
    app.admin_token.as_deref()
}

/// Polls `/admin/stats/server` until `done` holds (counts from other
/// processes arrive with their next flush, within 10 s).
async fn server_stats_until(app: &TestApp, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = app.get("/admin/stats/server", Some(token)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        if done(&reply.body) {
            return reply.body;
        }
        assert!(
            Instant::now() < deadline,
            "condition never held: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn count(stats: &Value, group: &str, key: &str) -> i64 {
    stats[group][key].as_i64().unwrap_or(0)
}

#[tokio::test]
async fn back_office_routes_need_the_admin_token_not_a_users() {
    let app = TestApp::spawn().await;
    let Some(token) = admin(&app) else { return };
    let user = app.user("notadmin").await;

    for path in ["/admin/stats/service", "/admin/stats/server", "/metrics"] {
        let missing = app.get(path, None).await;
        missing.error(401);
        assert_eq!(missing.header("www-authenticate"), Some("Bearer"));
        app.get(path, Some(&user.token)).await.error(401);
        app.get(path, Some("wrong-token-wrong-token-wrong-token!!"))
            .await
            .error(401);
        assert_eq!(app.get(path, Some(token)).await.status, 200, "{path}");
    }
}

#[tokio::test]
async fn service_stats_count_users_and_posts_exactly() {
    let app = TestApp::spawn().await;
    let Some(token) = admin(&app) else { return };
    let before = app.get("/admin/stats/service", Some(token)).await;
    assert_eq!(before.status, 200, "{}", before.text);

    let user = app.user("counted").await;
    for n in 0..3 {
        let reply = app
            .post(
                "/posts",
                Some(&user.token),
                json!({ "content": format!("post {n}") }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
    let after = app.get("/admin/stats/service", Some(token)).await;

    let delta = |key: &str| after.body[key].as_i64().unwrap() - before.body[key].as_i64().unwrap();
    assert_eq!(delta("total_users"), 1);
    assert_eq!(delta("total_posts"), 3);
    assert_eq!(delta("posts_today"), 3);
    let generated_at = after.body["generated_at"].as_str().unwrap();
    assert!(
        generated_at.ends_with('Z') && generated_at.len() == 24,
        "{generated_at}"
    );
}

#[tokio::test]
async fn server_stats_count_by_route_template_and_unmatched_under_one_label() {
    let app = TestApp::spawn().await;
    let Some(token) = admin(&app) else { return };
    let user = app.user("stats").await;
    let post = app
        .post("/posts", Some(&user.token), json!({ "content": "hello" }))
        .await;
    let id = post.body["id"].as_i64().unwrap();
    for _ in 0..3 {
        assert_eq!(app.get(&format!("/posts/{id}"), None).await.status, 200);
    }
    for n in 0..5 {
        app.get(&format!("/scanner/probe-{n}.php"), None)
            .await
            .error(404);
    }
    app.delete("/auth/signup", None).await.error(405);

    let stats = server_stats_until(&app, token, |s| {
        count(s, "by_endpoint", "GET /posts/{id}") >= 3
            && count(s, "by_endpoint", "GET (unmatched)") >= 5
    })
    .await;

    assert!(
        count(&stats, "by_endpoint", "DELETE (unmatched)") >= 1,
        "{stats}"
    );
    assert!(count(&stats, "by_status", "404") >= 5);
    assert!(count(&stats, "by_status", "201") >= 2);
    let labels: Vec<&String> = stats["by_endpoint"].as_object().unwrap().keys().collect();
    assert!(
        labels.iter().all(|label| !label.contains("probe")),
        "{labels:?}"
    );
    assert!(stats["requests_last_24h"].as_i64().unwrap() >= 11);
    assert!(stats["rps"].as_f64().unwrap() > 0.0);
    assert!(stats["since"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn two_servers_on_one_database_report_one_sum() {
    let first = TestApp::spawn().await;
    if !first.is_local() {
        eprintln!("skipped: needs servers started by the suite");
        return;
    }
    let token = first.admin_token.clone().unwrap();
    let second = first.sibling().await;

    for _ in 0..4 {
        assert_eq!(first.get("/health", None).await.status, 200);
    }
    for _ in 0..6 {
        assert_eq!(second.get("/health", None).await.status, 200);
    }

    // Each server answers with what is flushed plus its own pending counts,
    // so both reach 10 once the other has flushed.
    for app in [&first, &second] {
        server_stats_until(app, &token, |s| {
            count(s, "by_endpoint", "GET /health") >= 10
        })
        .await;
    }
}

#[tokio::test]
async fn server_stats_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    if !app.is_local() {
        eprintln!("skipped: needs a server started by the suite");
        return;
    }
    let token = app.admin_token.clone().unwrap();
    for _ in 0..7 {
        assert_eq!(app.get("/ready", None).await.status, 200);
    }

    let restarted = app.sibling().await;
    app.stop().await;
    let stats = restarted.get("/admin/stats/server", Some(&token)).await;

    assert_eq!(
        count(&stats.body, "by_endpoint", "GET /ready"),
        7,
        "{}",
        stats.text
    );
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_routes_and_pool_gauges() {
    let app = TestApp::spawn().await;
    let Some(token) = admin(&app) else { return };
    assert_eq!(app.get("/health", None).await.status, 200);

    let reply: Reply = app.get("/metrics", Some(token)).await;

    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    for line in reply
        .text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (series, value) = line.rsplit_once(' ').expect("`series value`");
        assert!(value.parse::<f64>().is_ok() || value == "+Inf", "{line}");
        let name = series.split('{').next().unwrap();
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
    }
    assert!(
        reply
            .text
            .contains("http_requests_total{endpoint=\"GET /health\""),
        "{}",
        reply.text
    );
    assert!(reply.text.contains("http_request_duration_seconds_bucket"));
    assert!(reply.text.contains("db_pool_connections"));
}

#[tokio::test]
async fn the_admin_page_is_served_from_the_binary() {
    let app = TestApp::spawn().await;

    let reply = app.get("/admin", None).await;

    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(reply.text.contains("/admin/stats/server"));
    assert!(
        !reply.text.contains("http://") && !reply.text.contains("https://"),
        "no CDN"
    );
}
