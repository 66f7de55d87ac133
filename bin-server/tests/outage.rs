//! The real `minifb-server` binary when its database goes away under
//! load: what happens to writes meanwhile and after.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel::{QueryableByName, RunQueryDsl};
use serde_json::json;
use support::{Cluster, Server, number};

/// One write of the load and what came of it.
#[derive(Debug)]
enum Outcome {
    /// 201: the id of the comment the server acknowledged.
    Acknowledged { id: i64, at: Instant },
    /// 503 with the error body and `Retry-After`.
    Unavailable { at: Instant },
    /// Anything else: the test fails and shows it.
    Wrong(String),
}

/// Writers comment on one post until `stop`: every comment is a
/// transaction of three rows (the comment, the post's counter, the owner's
/// notification), so a half-write would show in the counts.
fn write_load(
    server: &Arc<Server>,
    token: &str,
    post: i64,
    writers: usize,
    stop: &Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<Vec<Outcome>>> {
    (0..writers)
        .map(|writer| {
            let (server, token, stop) = (Arc::clone(server), token.to_owned(), Arc::clone(stop));
            tokio::spawn(async move {
                let mut outcomes = Vec::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    n += 1;
                    let body = json!({ "content": format!("writer {writer} comment {n}") });
                    let path = format!("/posts/{post}/comments");
                    let result = server
                        .send(reqwest::Method::POST, &path, Some(&token), Some(body))
                        .await;
                    let at = Instant::now();
                    outcomes.push(match result {
                        Ok((201, answer, _)) => Outcome::Acknowledged {
                            id: answer["id"].as_i64().unwrap(),
                            at,
                        },
                        Ok((503, answer, Some(_)))
                            if answer["result"] == "Service Unavailable"
                                && answer["hint"].is_string() =>
                        {
                            // Do not spin while the database is away.
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Outcome::Unavailable { at }
                        }
                        Ok((status, answer, retry_after)) => Outcome::Wrong(format!(
                            "{status} {answer} (Retry-After: {retry_after:?})"
                        )),
                        Err(error) => Outcome::Wrong(format!("no answer: {error}")),
                    });
                }
                outcomes
            })
        })
        .collect()
}

/// PostgreSQL stopped for 10 s under write load: writes get 503 with the
/// error body and `Retry-After` meanwhile (never a 500, never no answer),
/// the server writes again within 5 s of the database's return, every
/// acknowledged write is there and no write is there in part.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_under_write_load_loses_no_acknowledged_write() {
    let cluster = Cluster::start();
    let server = Arc::new(Server::start(&cluster));
    let (alice, bob) = (server.user("alice").await, server.user("bobby").await);
    let (status, post, _) = server
        .send(
            reqwest::Method::POST,
            "/posts",
            Some(&alice),
            Some(json!({ "content": "comment on this" })),
        )
        .await
        .unwrap();
    assert_eq!(status, 201);
    let post = post["id"].as_i64().unwrap();

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers = write_load(&server, &bob, post, 8, &stop);
    tokio::time::sleep(Duration::from_secs(2)).await;
    cluster.stop();
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(10)).await;
    cluster.restart();
    let restarted = Instant::now();
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let mut acknowledged = BTreeSet::new();
    let (mut unavailable_while_down, mut first_after_restart) = (0, None::<Instant>);
    let mut wrong = Vec::new();
    for writer in writers {
        for outcome in writer.await.unwrap() {
            match outcome {
                Outcome::Acknowledged { id, at } => {
                    acknowledged.insert(id);
                    if at > restarted {
                        first_after_restart = Some(first_after_restart.map_or(at, |t| t.min(at)));
                    }
                }
                Outcome::Unavailable { at } => {
                    if at > stopped && at < restarted {
                        unavailable_while_down += 1;
                    }
                }
                Outcome::Wrong(what) => wrong.push(what),
            }
        }
    }
    assert!(wrong.is_empty(), "{} wrong answers: {wrong:?}", wrong.len());
    assert!(unavailable_while_down > 0, "the outage was seen as 503");
    let recovered = first_after_restart.expect("writes succeed again") - restarted;
    eprintln!(
        "{} writes acknowledged, {unavailable_while_down} answered 503 while the database was down, writing again {recovered:?} after it came back",
        acknowledged.len()
    );
    assert!(
        recovered < Duration::from_secs(5),
        "serving again after {recovered:?}"
    );

    let mut db = cluster.connect();
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let stored: BTreeSet<i64> = diesel::sql_query("SELECT id FROM comments")
        .load::<Id>(&mut db)
        .unwrap()
        .into_iter()
        .map(|row| row.id)
        .collect();
    let lost: Vec<_> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    assert!(acknowledged.len() > 100, "{} writes", acknowledged.len());
    // Whole transactions only: each stored comment has its counter and
    // its notification (the outage may have eaten answers, not halves).
    let comments = stored.len() as i64;
    let counted = number(
        &mut db,
        &format!("SELECT comment_count::bigint AS n FROM posts WHERE id = {post}"),
    );
    let notified = number(
        &mut db,
        "SELECT count(*) AS n FROM notifications WHERE comment_id IS NOT NULL",
    );
    assert_eq!((counted, notified), (comments, comments));
}
