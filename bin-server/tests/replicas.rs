//! Reads from a real hot standby (`scripts/pg standby`: `pg_basebackup -R`
//! from the test's own primary) by real `minifb-server` processes: the
//! writer's reads through another process while replay is paused, others'
//! reads up to the lag bound, a standby stopped under load, a read
//! cancelled by a recovery conflict, and what `/metrics` shows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::sql_types::Text;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use minifb_adapters_postgres::LISTENER_NAME;
use reqwest::Method;
use serde_json::{Value, json};
use support::{ADMIN_TOKEN, Cluster, Server, number};

/// A password that trust authentication ignores, put in the replica's URL
/// to show that it never reaches a label or the back office.
const REPLICA_PASSWORD: &str = "not-for-any-label";

/// A hot standby of a test [`Cluster`], in a directory beside the
/// primary's (deleted with it); stopped on drop.
struct Standby {
    dir: PathBuf,
}

impl Standby {
    /// Copies the running primary (`pg_basebackup -R`) and starts the copy
    /// as a streaming replica.
    fn start(primary: &Cluster) -> Self {
        let standby = Self {
            dir: primary.dir().with_file_name("standby"),
        };
        standby.pg(&["standby", primary.dir().to_str().unwrap(), "--fast"]);
        standby
    }

    fn pg(&self, args: &[&str]) -> String {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/pg");
        let output = Command::new(script)
            .arg(args[0])
            .arg(&self.dir)
            .args(&args[1..])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "scripts/pg {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    fn url(&self) -> String {
        self.pg(&["url", "postgres"])
    }

    /// What the servers are given: the URL with a password in it.
    fn url_for_servers(&self) -> String {
        self.url()
            .replacen("postgres@", &format!("postgres:{REPLICA_PASSWORD}@"), 1)
    }

    /// `host:port` as the servers label it.
    fn label(&self) -> String {
        format!("{}:5432", self.dir.display())
    }

    fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url()).unwrap()
    }

    fn pause_replay(&self) {
        let mut standby = self.connect();
        standby
            .batch_execute("SELECT pg_wal_replay_pause()")
            .unwrap();
        poll_until_one(
            &mut standby,
            "replay to pause",
            "SELECT (pg_get_wal_replay_pause_state() = 'paused')::int::int8 AS n",
        );
    }

    fn resume_replay(&self) {
        self.connect()
            .batch_execute("SELECT pg_wal_replay_resume()")
            .unwrap();
    }

    /// Until the standby has replayed all the primary has written: that
    /// position.
    fn catch_up_with(&self, primary: &Cluster) -> String {
        let target = text(
            &mut primary.connect(),
            "SELECT pg_current_wal_lsn()::text AS t",
        );
        let mut standby = self.connect();
        poll(Duration::from_secs(20), "the standby to catch up", || {
            number(
                &mut standby,
                &format!("SELECT (pg_last_wal_replay_lsn() >= '{target}'::pg_lsn)::int::int8 AS n"),
            ) == 1
        });
        target
    }
}

impl Drop for Standby {
    fn drop(&mut self) {
        self.pg(&["stop"]);
    }
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    t: String,
}

/// A WAL position as a number, for comparing.
fn lsn(text: &str) -> u64 {
    let (high, low) = text.split_once('/').unwrap();
    (u64::from_str_radix(high, 16).unwrap() << 32) | u64::from_str_radix(low, 16).unwrap()
}

fn text(connection: &mut PgConnection, sql: &str) -> String {
    diesel::sql_query(sql)
        .get_result::<Row>(connection)
        .unwrap()
        .t
}

/// Calls `done` every 20 ms until it holds; fails after `limit`.
/// Polls `sql` (one number, as `n`) on `connection` for up to 10 s, until
/// it is 1.
fn poll_until_one(connection: &mut PgConnection, what: &str, sql: &str) {
    poll(Duration::from_secs(10), what, || {
        number(connection, sql) == 1
    });
}

fn poll(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A primary, its standby, and servers reading from it, dropped in the
/// right order (servers, standby, primary).
struct Setup {
    servers: Vec<Server>,
    standby: Standby,
    primary: Cluster,
}

impl Setup {
    fn start(processes: usize, max_lag: &str) -> Self {
        let primary = Cluster::start();
        let standby = Standby::start(&primary);
        let replicas = standby.url_for_servers();
        let servers = (0..processes)
            .map(|_| {
                Server::start_with(
                    &primary,
                    &[
                        ("MINIFB_REPLICA_URLS", &replicas),
                        ("MINIFB_REPLICA_MAX_LAG", max_lag),
                    ],
                )
            })
            .collect();
        Self {
            servers,
            standby,
            primary,
        }
    }

    /// Until the standby has everything written so far and every server
    /// has seen it so (serving, that far replayed).
    async fn settle(&self) {
        let target = lsn(&self.standby.catch_up_with(&self.primary));
        for server in &self.servers {
            let started = Instant::now();
            loop {
                let replica = server.replica().await;
                if replica["state"] == "serving"
                    && replica["replayed"].as_str().map(lsn) >= Some(target)
                {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "the server never saw the standby caught up: {replica}"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Server {
    async fn metrics(&self) -> String {
        self.request(Method::GET, "/metrics")
            .bearer_auth(ADMIN_TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// `db_reads_total{target}` of this process.
    async fn reads_from(&self, target: &str) -> f64 {
        let prefix = format!("db_reads_total{{target=\"{target}\"}} ");
        self.metrics()
            .await
            .lines()
            .find_map(|line| line.strip_prefix(&prefix)?.parse().ok())
            .unwrap_or(0.0)
    }

    /// The one replica as `/admin/stats/server` shows it.
    async fn replica(&self) -> Value {
        let (status, body, _) = self
            .send(Method::GET, "/admin/stats/server", Some(ADMIN_TOKEN), None)
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        body["replicas"][0].clone()
    }

    /// Polls until the replica is in `state`; how long that took.
    async fn replica_becomes(&self, state: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let replica = self.replica().await;
            if replica["state"] == state {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "the replica is not {state} after {limit:?}: {replica}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let (status, body, _) = self.send(Method::GET, path, token, None).await.unwrap();
        (status, body)
    }

    /// A write that must succeed: its answer.
    async fn write(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Value {
        let (status, answer, _) = self.send(method, path, Some(token), body).await.unwrap();
        assert!((200..300).contains(&status), "{path}: {status} {answer}");
        answer
    }

    /// Creates what `path` lists (a post, a comment) with `content`: its id.
    async fn create(&self, path: &str, token: &str, content: &str) -> i64 {
        let body = json!({ "content": content });
        let created = self.write(Method::POST, path, token, Some(body)).await;
        created["id"].as_i64().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_writers_reads_through_another_process_show_each_write_while_replay_is_paused() {
    let setup = Setup::start(2, "60");
    let (a, b) = (&setup.servers[0], &setup.servers[1]);
    let alice = a.user("alice").await;
    let bob = a.user("bob1").await;
    let post = a.create("/posts", &alice, "first").await;
    let comment = a
        .create(&format!("/posts/{post}/comments"), &alice, "mine")
        .await;
    a.create(&format!("/posts/{post}/comments"), &bob, "bob's")
        .await;
    setup.settle().await;
    setup.standby.pause_replay();
    let replica_reads = b.reads_from("replica").await;

    // A new post.
    let new = a.create("/posts", &alice, "new").await;
    let (status, read) = b.get(&format!("/posts/{new}"), Some(&alice)).await;
    assert_eq!((status, &read["content"]), (200, &json!("new")), "{read}");
    let (_, timeline) = b.get("/me/timeline", Some(&alice)).await;
    assert_eq!(timeline["items"][0]["id"], new, "{timeline}");

    // An edit.
    let edit = json!({ "content": "edited" });
    a.write(Method::PATCH, &format!("/posts/{post}"), &alice, Some(edit))
        .await;
    let (_, read) = b.get(&format!("/posts/{post}"), Some(&alice)).await;
    assert_eq!(read["content"], "edited", "{read}");

    // A deleted comment.
    a.write(
        Method::DELETE,
        &format!("/comments/{comment}"),
        &alice,
        None,
    )
    .await;
    let (_, comments) = b
        .get(&format!("/posts/{post}/comments"), Some(&alice))
        .await;
    let ids: Vec<&Value> = comments["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert!(!ids.contains(&&json!(comment)), "{comments}");

    // A reaction.
    a.write(
        Method::PUT,
        &format!("/posts/{post}/reaction"),
        &alice,
        Some(json!({ "type": 3 })),
    )
    .await;
    let (_, read) = b.get(&format!("/posts/{post}"), Some(&alice)).await;
    assert_eq!(read["my_reaction"], 3, "{read}");

    // Notifications marked read.
    let (_, before) = b.get("/me/notifications", Some(&alice)).await;
    assert_eq!(before["unread_count"], 1, "bob's comment: {before}");
    a.write(Method::POST, "/me/notifications/read-all", &alice, None)
        .await;
    let (_, after) = b.get("/me/notifications", Some(&alice)).await;
    assert_eq!(after["unread_count"], 0, "{after}");

    // Meanwhile someone who did not write reads the paused replica.
    let (status, _) = b.get(&format!("/posts/{new}"), Some(&bob)).await;
    assert_eq!(
        status, 404,
        "bob reads the replica, which has not replayed the post"
    );
    assert!(b.reads_from("replica").await > replica_reads);
    setup.standby.resume_replay();
}

/// Every process's listener of writers' positions loses its connection
/// while replay is paused: a writer's read through the other process still
/// shows the write (read from the primary while that process cannot prove
/// the replica has it), and each listener connects again.
#[tokio::test(flavor = "multi_thread")]
async fn a_lost_position_listener_reconnects_and_reads_meanwhile_still_show_the_writers_writes() {
    let setup = Setup::start(2, "60");
    let (a, b) = (&setup.servers[0], &setup.servers[1]);
    let alice = a.user("alice").await;
    setup.settle().await;
    setup.standby.pause_replay();
    let listening = "listening for writers' positions";
    for server in [a, b] {
        server.wait_for_log(listening, 1).await;
    }

    let mut db = setup.primary.connect();
    let terminated = number(
        &mut db,
        &format!(
            "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE application_name = '{LISTENER_NAME}'"
        ),
    );
    assert_eq!(terminated, 2, "one listener per process");
    let post = a.create("/posts", &alice, "while listening again").await;
    let (status, read) = b.get(&format!("/posts/{post}"), Some(&alice)).await;
    assert_eq!(
        (status, &read["content"]),
        (200, &json!("while listening again"))
    );

    for server in [a, b] {
        server
            .wait_for_log("the writers' position listener lost its connection", 1)
            .await;
        server.wait_for_log(listening, 2).await;
    }
    let edit = json!({ "content": "edited" });
    a.write(Method::PATCH, &format!("/posts/{post}"), &alice, Some(edit))
        .await;
    let (_, read) = b.get(&format!("/posts/{post}"), Some(&alice)).await;
    assert_eq!(read["content"], "edited", "{read}");
}

#[tokio::test(flavor = "multi_thread")]
async fn others_read_the_replica_until_the_lag_bound_passes_then_the_primary() {
    let setup = Setup::start(1, "2");
    let server = &setup.servers[0];
    let alice = server.user("alice").await;
    let bob = server.user("bob1").await;
    setup.settle().await;
    setup.standby.pause_replay();

    let post = server.create("/posts", &alice, "news").await;
    let written = Instant::now();
    let (replica_reads, primary_reads) = (
        server.reads_from("replica").await,
        server.reads_from("primary").await,
    );
    let (status, _) = server.get(&format!("/posts/{post}"), Some(&bob)).await;
    assert_eq!(
        status, 404,
        "within the bound, bob reads the paused replica"
    );
    assert_eq!(server.reads_from("replica").await, replica_reads + 1.0);

    // Past the bound (2 s, plus a check a second, plus slack for a busy
    // machine), every read goes to the primary.
    loop {
        let (status, _) = server.get(&format!("/posts/{post}"), None).await;
        if status == 200 {
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(8),
            "the post is still unseen after {:?}",
            written.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, _) = server.get(&format!("/posts/{post}"), Some(&bob)).await;
    assert_eq!(status, 200);
    assert!(server.reads_from("primary").await >= primary_reads + 2.0);
    let replica = server.replica().await;
    assert_eq!(replica["state"], "lagging", "{replica}");
    assert!(replica["lag_seconds"].as_f64().unwrap() > 2.0, "{replica}");

    // Caught up, it serves again.
    setup.standby.resume_replay();
    server
        .replica_becomes("serving", Duration::from_secs(10))
        .await;
    let replica_reads = server.reads_from("replica").await;
    let (status, _) = server.get(&format!("/posts/{post}"), Some(&bob)).await;
    assert_eq!(status, 200);
    assert_eq!(server.reads_from("replica").await, replica_reads + 1.0);
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_show_reads_by_target_and_the_replicas_lag_and_no_credential() {
    let setup = Setup::start(1, "5");
    let server = &setup.servers[0];
    setup.settle().await;
    server.get("/posts", None).await;

    let metrics = server.metrics().await;
    let label = setup.standby.label();
    for expected in [
        "db_reads_total{target=\"replica\"} ".to_owned(),
        format!("db_replica_lag_seconds{{replica=\"{label}\"}} 0"),
        format!("db_replica_up{{replica=\"{label}\"}} 1"),
    ] {
        assert!(metrics.contains(&expected), "{expected} in {metrics}");
    }
    let (_, stats) = server.get("/admin/stats/server", Some(ADMIN_TOKEN)).await;
    for shown in [metrics, stats.to_string()] {
        assert!(!shown.contains(REPLICA_PASSWORD), "{shown}");
        assert!(!shown.contains("postgres:"), "{shown}");
    }
    assert_eq!(stats["replicas"][0]["replica"], label.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_standby_stopped_under_reads_costs_no_error_and_serves_again_within_ten_seconds() {
    let setup = Setup::start(1, "5");
    let server = &setup.servers[0];
    let alice = server.user("alice").await;
    setup.settle().await;

    let reading = Arc::new(AtomicBool::new(true));
    let readers: Vec<_> = (0..4)
        .map(|n| {
            let (reading, base, token) = (
                Arc::clone(&reading),
                server.base.clone(),
                (n % 2 == 0).then(|| alice.clone()),
            );
            tokio::spawn(async move {
                let client = reqwest::Client::builder().no_proxy().build().unwrap();
                let mut failures = Vec::new();
                let mut answered = 0;
                while reading.load(Ordering::Relaxed) {
                    let mut request = client.get(format!("{base}/posts"));
                    if let Some(token) = &token {
                        request = request.bearer_auth(token);
                    }
                    match request.send().await {
                        Ok(response) if response.status() == 200 => answered += 1,
                        Ok(response) => failures.push(response.status().to_string()),
                        Err(error) => failures.push(error.to_string()),
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                (answered, failures)
            })
        })
        .collect();

    let before = server.reads_from("replica").await;
    while server.reads_from("replica").await < before + 20.0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    setup.standby.pg(&["stop", "--immediate"]);
    server.replica_becomes("down", Duration::from_secs(5)).await;
    let primary_reads = server.reads_from("primary").await;
    while server.reads_from("primary").await < primary_reads + 20.0 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    setup.standby.pg(&["start", "--fast"]);
    let restarted = Instant::now();
    let replica_reads = server.reads_from("replica").await;
    while server.reads_from("replica").await <= replica_reads {
        assert!(
            restarted.elapsed() < Duration::from_secs(10),
            "no read reached the restarted standby within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    reading.store(false, Ordering::Relaxed);
    for reader in readers {
        let (answered, failures) = reader.await.unwrap();
        assert!(answered > 0);
        assert!(failures.is_empty(), "{failures:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_cancelled_by_a_recovery_conflict_is_answered_from_the_primary() {
    let setup = Setup::start(1, "60");
    let server = &setup.servers[0];
    let alice = server.user("alice").await;
    let post = server.create("/posts", &alice, "hi").await;
    // A replayed lock that conflicts with a standby query cancels it at
    // once.
    let mut standby = setup.standby.connect();
    standby
        .batch_execute("ALTER SYSTEM SET max_standby_streaming_delay = 0")
        .unwrap();
    standby.batch_execute("SELECT pg_reload_conf()").unwrap();
    setup.settle().await;
    // Warm the server's replica connection (its statement is then prepared).
    server.get(&format!("/posts/{post}"), None).await;

    // The primary holds `post_reactions`; once replayed, a standby read of
    // a post takes `posts` and `users` and waits for `post_reactions`.
    let mut first = locked(&setup.primary, "post_reactions");
    poll_until_one(
        &mut standby,
        "the lock to be replayed",
        "SELECT count(*) AS n FROM pg_locks WHERE relation = 'post_reactions'::regclass \
             AND mode = 'AccessExclusiveLock' AND granted",
    );
    let primary_reads = server.reads_from("primary").await;
    let read = tokio::spawn({
        let base = server.base.clone();
        async move {
            let client = reqwest::Client::builder().no_proxy().build().unwrap();
            let response = client
                .get(format!("{base}/posts/{post}"))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or_default())
        }
    });
    poll_until_one(
        &mut standby,
        "the standby read to wait",
        "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'",
    );

    // Replaying a lock on `posts` now conflicts with that read.
    let mut second = locked(&setup.primary, "posts");
    poll_until_one(
        &mut standby,
        "the recovery conflict",
        "SELECT confl_lock AS n FROM pg_stat_database_conflicts WHERE datname = 'postgres'",
    );
    first.batch_execute("ROLLBACK").unwrap();
    second.batch_execute("ROLLBACK").unwrap();

    let (status, body) = read.await.unwrap();
    assert_eq!((status, &body["content"]), (200, &json!("hi")), "{body}");
    assert_eq!(server.reads_from("primary").await, primary_reads + 1.0);
    assert!(server.logged("conflict with recovery") >= 1);
}

/// The primary's WAL so far reaches the standby (the test cluster commits
/// asynchronously, and an open transaction's records wait for a flush).
/// A transaction on the primary holding `table` in ACCESS EXCLUSIVE mode,
/// its lock flushed for the standby to replay; `ROLLBACK` ends it.
fn locked(primary: &Cluster, table: &str) -> PgConnection {
    let mut connection = primary.connect();
    let lock = format!("BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE");
    connection.batch_execute(&lock).unwrap();
    flush_wal(primary);
    connection
}

fn flush_wal(primary: &Cluster) {
    primary
        .connect()
        .batch_execute("SET synchronous_commit = on; SELECT txid_current()")
        .unwrap();
}
