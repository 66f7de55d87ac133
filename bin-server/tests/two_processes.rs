//! **Two** `minifb-server` processes on one database, as behind a load
//! balancer ([`Pair`]): what the processes must agree on lives in the
//! database, shown through HTTP alone: statistics, refresh token families,
//! login limits, idempotency keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Cluster, PASSWORD, Server, answer};

/// Two `minifb-server` processes on one private PostgreSQL, sharing
/// `MINIFB_JWT_SECRET` and `MINIFB_ADMIN_TOKEN`, as behind a load balancer.
///
/// To add a cross-process case, start a pair, act through one process and
/// observe through the other, over HTTP only. For example, the live
/// notification case: open `GET /me/notifications/stream` on `pair.second`
/// with `pair.second.request(GET, ..).bearer_auth(..).send()` and read the
/// response's `bytes_stream()`; comment on the user's post through
/// `pair.first` with [`Server::send`]; poll the stream (with a deadline)
/// for the `event: notification` frame.
struct Pair {
    first: Server,
    second: Server,
    // Dropped last: the servers stop before their database.
    _cluster: Cluster,
}

impl Pair {
    fn start() -> Self {
        let cluster = Cluster::start();
        let first = Server::start(&cluster);
        let second = Server::start(&cluster);
        Self {
            first,
            second,
            _cluster: cluster,
        }
    }
}

impl Server {
    /// `POST /auth/login` with `body`: status, answer and `Retry-After`.
    async fn attempt_login(&self, body: &Value) -> (u16, Value, Option<String>) {
        self.send(
            reqwest::Method::POST,
            "/auth/login",
            None,
            Some(body.clone()),
        )
        .await
        .unwrap()
    }

    /// Logs `id` in: the access and the refresh token.
    async fn login(&self, id: &str) -> (String, String) {
        let (status, answer, _) = self
            .attempt_login(&json!({ "id": id, "password": PASSWORD }))
            .await;
        assert_eq!(status, 200, "{answer}");
        (
            answer["access_token"].as_str().unwrap().to_owned(),
            answer["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    async fn refresh(&self, refresh_token: &str) -> (u16, Value) {
        let body = json!({ "refresh_token": refresh_token });
        let (status, answer, _) = self
            .send(reqwest::Method::POST, "/auth/refresh", None, Some(body))
            .await
            .unwrap();
        (status, answer)
    }

    /// `GET /admin/stats/server`, polled until `done` holds (statistics
    /// reach the database every few seconds).
    async fn server_stats_until(&self, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (status, stats, _) = self
                .send(
                    reqwest::Method::GET,
                    "/admin/stats/server",
                    Some(ADMIN_TOKEN),
                    None,
                )
                .await
                .unwrap();
            assert_eq!(status, 200, "{stats}");
            if done(&stats) {
                return stats;
            }
            assert!(
                Instant::now() < deadline,
                "statistics never got there: {stats}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `POST path` with `Idempotency-Key: key`: status, `Idempotent-Replayed`
    /// and the body as sent.
    async fn post_keyed(
        &self,
        path: &str,
        token: &str,
        key: &str,
        body: Value,
    ) -> (u16, Option<String>, String) {
        let request = self
            .request(reqwest::Method::POST, path)
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body);
        answer(request, "idempotent-replayed").await.unwrap()
    }
}

fn health_requests(stats: &Value) -> i64 {
    stats["by_endpoint"]["GET /health"].as_i64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_report_statistics_summed_over_both() {
    let pair = Pair::start();
    for (server, requests) in [(&pair.first, 4), (&pair.second, 6)] {
        for _ in 0..requests {
            let (status, _, _) = server
                .send(reqwest::Method::GET, "/health", None, None)
                .await
                .unwrap();
            assert_eq!(status, 200);
        }
    }

    // Each process answers with what is flushed plus its own pending
    // counts, so both reach 10 once the other has flushed.
    for server in [&pair.first, &pair.second] {
        let stats = server
            .server_stats_until(|s| health_requests(s) >= 10)
            .await;
        assert_eq!(health_requests(&stats), 10, "{stats}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_rotated_on_one_process_and_replayed_on_the_other_revokes_the_family() {
    let pair = Pair::start();
    pair.first.user("alice").await;
    let (_, original) = pair.first.login("alice").await;

    let (status, rotated) = pair.first.refresh(&original).await;
    assert_eq!(status, 200, "{rotated}");
    let (replayed, answer) = pair.second.refresh(&original).await;
    let (after_theft, _) = pair
        .second
        .refresh(rotated["refresh_token"].as_str().unwrap())
        .await;

    assert_eq!(replayed, 401, "{answer}");
    assert_eq!(after_theft, 401, "the whole family is revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_login_limit_is_shared_by_two_processes() {
    let pair = Pair::start();
    pair.first.user("alice").await;
    let wrong = json!({ "id": "alice", "password": "wrong horse battery" });
    for _ in 0..5 {
        for server in [&pair.first, &pair.second] {
            let (status, answer, _) = server.attempt_login(&wrong).await;
            assert_eq!(status, 401, "{answer}");
        }
    }

    let right = json!({ "id": "alice", "password": PASSWORD });
    for server in [&pair.first, &pair.second] {
        let (status, answer, retry_after) = server.attempt_login(&right).await;
        assert_eq!(status, 429, "{answer}");
        assert!(retry_after.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idempotency_key_is_honoured_by_the_other_process() {
    let pair = Pair::start();
    let token = pair.first.user("alice").await;
    let body = json!({ "content": "sent to one process, retried on the other" });

    let first = pair
        .first
        .post_keyed("/posts", &token, "retry-1", body.clone())
        .await;
    let retry = pair
        .second
        .post_keyed("/posts", &token, "retry-1", body)
        .await;
    let other = pair
        .second
        .post_keyed("/posts", &token, "retry-1", json!({ "content": "another" }))
        .await;

    assert_eq!((first.0, first.1.as_deref()), (201, None), "{first:?}");
    assert_eq!(
        (retry.0, retry.1.as_deref()),
        (201, Some("true")),
        "{retry:?}"
    );
    assert_eq!(retry.2, first.2);
    assert_eq!(other.0, 422, "{other:?}");
    let (status, timeline, _) = pair
        .second
        .send(reqwest::Method::GET, "/me/timeline", Some(&token), None)
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(timeline["items"].as_array().unwrap().len(), 1, "{timeline}");
}
