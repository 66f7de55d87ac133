//! The real `minifb-server` binary told to stop (SIGTERM) while requests
//! are in flight.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use support::{Cluster, Server, finish_half_post, half_a_post, number};
use tokio::net::TcpStream;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = Text)]
    endpoint: String,
    #[diesel(sql_type = BigInt)]
    requests: i64,
}

/// SIGTERM while requests are in flight and readers keep coming: the
/// listener closes, every request already accepted is answered in full,
/// the statistics of all of them reach the database, and the process exits
/// 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_under_load_finishes_accepted_requests_and_flushes_statistics() {
    let cluster = Cluster::start();
    let mut server = Server::start(&cluster);
    let token = server.user("alice").await;

    let mut in_flight = Vec::new();
    for n in 0..8 {
        in_flight.push(half_a_post(server.address(), &token, &format!("in flight {n}")).await);
    }
    // Readers on their own connections, as other clients would be.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answered = Arc::new(Mutex::new(Vec::new()));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (stop, answered, base) = (
                Arc::clone(&stop),
                Arc::clone(&answered),
                server.base.clone(),
            );
            tokio::spawn(async move {
                let client = reqwest::Client::builder().no_proxy().build().unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    match client.get(format!("{base}/posts")).send().await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let complete = response.bytes().await.is_ok();
                            answered.lock().unwrap().push((status, complete));
                        }
                        // Refused once the listener is closed.
                        Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
                    }
                }
            })
        })
        .collect();
    // Every reader has been answered once: the server is busy.
    while answered.lock().unwrap().len() < 20 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    server.signal("TERM");
    // The listener closes: new connections are refused.
    let signalled = Instant::now();
    while TcpStream::connect(server.address()).await.is_ok() {
        assert!(
            signalled.elapsed() < Duration::from_secs(5),
            "still accepting"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }

    // The requests in flight are finished and answered in full.
    for (socket, rest) in in_flight {
        let answer = finish_half_post(socket, &rest).await;
        assert!(answer.contains("\"content\":\"in flight "), "{answer}");
    }
    server.exits_with_success().await;

    let answered = answered.lock().unwrap().clone();
    assert!(
        answered
            .iter()
            .all(|&(status, complete)| status == 200 && complete),
        "{answered:?}"
    );
    let mut db = cluster.connect();
    let counts: Vec<Count> = diesel::sql_query(
        "SELECT endpoint, sum(requests)::bigint AS requests FROM request_counts GROUP BY endpoint ORDER BY endpoint",
    )
    .load(&mut db)
    .unwrap();
    let requests = |endpoint: &str| {
        counts
            .iter()
            .find(|count| count.endpoint == endpoint)
            .map_or(0, |count| count.requests)
    };
    assert_eq!(requests("POST /posts"), 8);
    assert_eq!(requests("GET /posts"), answered.len() as i64);
    assert_eq!(number(&mut db, "SELECT count(*) AS n FROM posts"), 8);
}

/// SIGTERM the moment the server has logged its address, before it has
/// answered anything: the signal is already being listened for, so the
/// process stops gently (exit 0, "stopped" logged) rather than dying of it.
#[tokio::test]
async fn sigterm_right_after_start_up_is_a_gentle_stop() {
    let cluster = Cluster::start();
    for _ in 0..3 {
        let mut server = Server::start(&cluster);

        server.signal("TERM");

        server.exits_with_success().await;
        assert_eq!(server.logged("\"stopped\""), 1);
    }
}
