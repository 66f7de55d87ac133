//! The back office: admin authentication, service and server statistics,
//! Prometheus metrics, the admin page.

use minifb_tests::{TestApp, stat};

#[tokio::test]
async fn back_office_routes_need_the_admin_token_not_a_users() {
    let Some((app, token)) = TestApp::with_admin_token().await else {
        return;
    };
    let user = app.user("notadmin").await;

    for path in ["/admin/stats/service", "/admin/stats/server", "/metrics"] {
        app.get(path, None).await.assert_needs_token();
        app.get(path, user.bearer()).await.error(401);
        app.get(path, Some("wrong-token-wrong-token-wrong-token!!"))
            .await
            .error(401);
        app.get(path, Some(&token)).await.assert_status(200);
    }
}

#[tokio::test]
async fn service_stats_count_users_and_posts_exactly() {
    let Some((app, token)) = TestApp::with_admin_token().await else {
        return;
    };
    let before = app.get("/admin/stats/service", Some(&token)).await;
    before.assert_status(200);

    let user = app.user("counted").await;
    app.posts_by(&user, 3).await;
    let after = app.get("/admin/stats/service", Some(&token)).await;

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
    let Some((app, token)) = TestApp::with_admin_token().await else {
        return;
    };
    let user = app.user("stats").await;
    let id = app.post_by(&user, "hello").await;
    for _ in 0..3 {
        app.get(&format!("/posts/{id}"), None)
            .await
            .assert_status(200);
    }
    for n in 0..5 {
        app.get(&format!("/scanner/probe-{n}.php"), None)
            .await
            .error(404);
    }
    app.delete("/auth/signup", None).await.error(405);

    let stats = app
        .server_stats_until(&token, |s| {
            stat(s, "by_endpoint", "GET /posts/{id}") >= 3
                && stat(s, "by_endpoint", "GET (unmatched)") >= 5
        })
        .await;

    assert!(
        stat(&stats, "by_endpoint", "DELETE (unmatched)") >= 1,
        "{stats}"
    );
    assert!(stat(&stats, "by_status", "404") >= 5);
    assert!(stat(&stats, "by_status", "201") >= 2);
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
    let Some(first) = TestApp::spawn_local().await else {
        return;
    };
    let token = first.admin_token.clone().unwrap();
    let second = first.sibling().await;

    for _ in 0..4 {
        first.get("/health", None).await.assert_status(200);
    }
    for _ in 0..6 {
        second.get("/health", None).await.assert_status(200);
    }

    // Each server answers with what is flushed plus its own pending counts,
    // so both reach 10 once the other has flushed.
    for app in [&first, &second] {
        app.server_stats_until(&token, |s| stat(s, "by_endpoint", "GET /health") >= 10)
            .await;
    }
}

#[tokio::test]
async fn server_stats_survive_a_restart() {
    let Some(mut app) = TestApp::spawn_local().await else {
        return;
    };
    let token = app.admin_token.clone().unwrap();
    for _ in 0..7 {
        app.get("/ready", None).await.assert_status(200);
    }

    let restarted = app.sibling().await;
    app.stop().await;
    let stats = restarted.get("/admin/stats/server", Some(&token)).await;

    assert_eq!(
        stat(&stats.body, "by_endpoint", "GET /ready"),
        7,
        "{}",
        stats.text
    );
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_routes_and_pool_gauges() {
    let Some((app, token)) = TestApp::with_admin_token().await else {
        return;
    };
    app.get("/health", None).await.assert_status(200);

    let reply = app.get("/metrics", Some(&token)).await;

    reply.assert_content_type("text/plain");
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
    for expected in [
        "http_requests_total{endpoint=\"GET /health\"",
        "http_request_duration_seconds_bucket",
        "db_pool_connections",
    ] {
        assert!(reply.text.contains(expected), "{expected}: {}", reply.text);
    }
}

#[tokio::test]
async fn the_admin_page_is_served_from_the_binary() {
    let app = TestApp::spawn().await;

    let reply = app.get("/admin", None).await;

    reply.assert_content_type("text/html");
    assert!(reply.text.contains("/admin/stats/server"));
    assert!(
        !reply.text.contains("http://") && !reply.text.contains("https://"),
        "no CDN"
    );
}
