//! The real `minifb-server` binary, as an operator runs it, against a
//! PostgreSQL of the test's own that the test stops and starts: what
//! happens to writes when the database goes away under load, and to
//! requests in flight when the process is told to stop.
//!
//! Each test starts its own cluster with `scripts/pg` (initdb takes a couple
//! of seconds) in a temporary directory, and the server on port 0.
//!
//! The tests at the end run **two** server processes on one database, as
//! behind a load balancer ([`Pair`]), and show through HTTP alone that what
//! the processes must agree on lives in the database: statistics, refresh
//! token families, login limits, idempotency keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADMIN_TOKEN: &str = "process-test-admin-token-0123456789abcdef";
const JWT_SECRET: &str = "process-test-jwt-secret-0123456789abcdefgh";
const PASSWORD: &str = "correct horse battery";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A private PostgreSQL in a temporary directory, stopped and deleted on
/// drop.
struct Cluster {
    work: PathBuf,
}

impl Cluster {
    fn start() -> Self {
        let work = std::env::temp_dir().join(format!(
            "minifb-proc-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&work).unwrap();
        // The postgres user (when the tests run as root) must reach pg/.
        Command::new("chmod")
            .arg("755")
            .arg(&work)
            .status()
            .unwrap();
        let cluster = Self { work };
        cluster.pg(&["start", "--fast"]);
        cluster
    }

    fn dir(&self) -> PathBuf {
        self.work.join("pg")
    }

    fn pg(&self, args: &[&str]) -> String {
        let mut command = Command::new(workspace().join("scripts/pg"));
        command.arg(args[0]).arg(self.dir()).args(&args[1..]);
        let output = command.output().unwrap();
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

    fn stop(&self) {
        self.pg(&["stop"]);
    }

    fn restart(&self) {
        self.pg(&["start", "--fast"]);
    }

    fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url()).unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.pg(&["stop"]);
        std::fs::remove_dir_all(&self.work).ok();
    }
}

/// A `minifb-server` process; interrupted (so that it writes its coverage
/// data and flushes) if a test ends without stopping it.
struct Server {
    child: Child,
    base: String,
    client: reqwest::Client,
    /// Every line the process has written, stdout and stderr.
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(cluster: &Cluster) -> Self {
        Self::start_with(cluster, &[])
    }

    /// [`Server::start`] with more (or other) environment variables.
    fn start_with(cluster: &Cluster, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_minifb-server"))
            .current_dir(&cluster.work)
            .env("DATABASE_URL", cluster.url())
            .env("MINIFB_BIND", "127.0.0.1:0")
            .env("MINIFB_LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .env("MINIFB_JWT_SECRET", JWT_SECRET)
            .env("MINIFB_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("MINIFB_PASSWORD_ITERATIONS", "1000")
            .env("MINIFB_MAIL_OUTBOX", cluster.work.join("outbox.jsonl"))
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The log's "minifb is serving" line names the address; every line
        // is kept (so that tests can read the log) and the pipes never fill.
        let log = Arc::new(Mutex::new(Vec::new()));
        let (address, received) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let parsed: Value = serde_json::from_str(&line).unwrap_or_default();
                if let Some(found) = parsed["fields"]["address"].as_str() {
                    address.send(found.to_owned()).ok();
                }
                kept.lock().unwrap().push(line);
            }
        });
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        let address = received
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs the address it serves on");
        Self {
            child,
            base: format!("http://{address}"),
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            log,
        }
    }

    /// How many lines of the log so far contain `text`.
    fn logged(&self, text: &str) -> usize {
        let log = self.log.lock().unwrap();
        log.iter().filter(|line| line.contains(text)).count()
    }

    fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Polls until the process exits; `None` if it has not after `limit`.
    async fn exited_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// Polls until the process exits, within 15 s, and asserts status 0.
    async fn exits_with_success(&mut self) {
        let status = self
            .exited_within(Duration::from_secs(15))
            .await
            .expect("the server exits once its requests are done");
        assert!(status.success(), "{status}");
    }

    /// A request to this process, for what [`Server::send`] does not read
    /// (response headers, a body read as a stream).
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> reqwest::Result<(u16, Value, Option<String>)> {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.json().await.unwrap_or(Value::Null);
        Ok((status, body, retry_after))
    }

    /// Signs `id` up and logs in: the access token.
    async fn user(&self, id: &str) -> String {
        let body = json!({ "id": id, "password": PASSWORD, "name": "Tester" });
        let (status, answer, _) = self
            .send(reqwest::Method::POST, "/auth/signup", None, Some(body))
            .await
            .unwrap();
        assert_eq!(status, 201, "{answer}");
        let body = json!({ "id": id, "password": PASSWORD });
        let (status, answer, _) = self
            .send(reqwest::Method::POST, "/auth/login", None, Some(body))
            .await
            .unwrap();
        assert_eq!(status, 200, "{answer}");
        answer["access_token"].as_str().unwrap().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.signal("INT");
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(10) {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            self.child.kill().ok();
        }
    }
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn number(connection: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Number>(connection)
        .unwrap()
        .n
}

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

/// Sends the head and half the body of a `POST /posts`: a request in
/// flight that only the client can finish.
async fn half_a_post(address: &str, token: &str, content: &str) -> (TcpStream, Vec<u8>) {
    let body = json!({ "content": content }).to_string().into_bytes();
    let mut socket = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /posts HTTP/1.1\r\nhost: {address}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    socket.write_all(first).await.unwrap();
    (socket, rest.to_vec())
}

/// Sends the rest of a [`half_a_post`] body: the answer, a 201.
async fn finish_half_post(mut socket: TcpStream, rest: &[u8]) -> String {
    socket.write_all(rest).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201 "), "{answer}");
    answer
}

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

/// A bad setting stops the binary before it touches anything, with exit
/// status 2 and a message that names the variable.
#[test]
fn a_bad_setting_stops_the_binary_with_status_2_naming_the_variable() {
    let output = Command::new(env!("CARGO_BIN_EXE_minifb-server"))
        .current_dir(std::env::temp_dir())
        .env("DATABASE_URL", "postgresql://nobody@/nowhere")
        .env("MINIFB_TIMEZONE", "Mars/Base")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.starts_with("minifb-server: MINIFB_TIMEZONE"), "{said}");
}

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
        let response = self
            .request(reqwest::Method::POST, path)
            .bearer_auth(token)
            .header("idempotency-key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let replayed = response
            .headers()
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, replayed, response.text().await.unwrap())
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

/// A `GET /me/notifications/stream` read off a raw socket, so that the test
/// sees exactly what the process sends and when the stream ends.
struct LiveStream {
    socket: TcpStream,
    received: String,
}

impl LiveStream {
    /// Opens `path` (the stream route, perhaps with a query) with `headers`
    /// and reads the answer up to the stream's `retry:` line.
    async fn open(server: &Server, path: &str, headers: &str) -> Self {
        let mut socket = TcpStream::connect(server.address()).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nhost: {}\r\naccept: text/event-stream\r\n{headers}\r\n",
            server.address()
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut stream = Self {
            socket,
            received: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !stream.received.contains("retry:") {
            assert!(
                stream.read_until(deadline).await,
                "the stream closed: {}",
                stream.received
            );
        }
        assert!(
            stream.received.starts_with("HTTP/1.1 200 "),
            "{}",
            stream.received
        );
        stream
    }

    /// Reads what arrives before `deadline`; false at the end of the stream.
    async fn read_until(&mut self, deadline: Instant) -> bool {
        let mut buffer = [0u8; 4096];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, self.socket.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => false,
            Ok(Ok(n)) => {
                self.received
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
                true
            }
            Err(_) => panic!("nothing more arrived in time: {}", self.received),
        }
    }

    /// The `data` of the next `event: notification`, within `limit`.
    async fn notification(&mut self, limit: Duration) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(start) = self.received.find("event: notification\n") {
                let frame = &self.received[start..];
                if let Some(data) = frame.find("data: ")
                    && let Some(end) = frame[data..].find('\n')
                {
                    let value = serde_json::from_str(&frame[data + 6..data + end]).unwrap();
                    self.received = frame[data + end..].to_owned();
                    return value;
                }
            }
            assert!(self.read_until(deadline).await, "the stream ended");
        }
    }

    /// How long until the process ends the stream (the chunked body's last
    /// chunk, then the connection closes), at most `limit`.
    async fn ends_within(&mut self, limit: Duration) -> Duration {
        let started = Instant::now();
        while self.read_until(started + limit).await {}
        assert!(
            self.received.ends_with("0\r\n\r\n"),
            "the stream was cut rather than ended: {:?}",
            self.received
        );
        started.elapsed()
    }
}

impl Server {
    /// `author` posts; the post's id.
    async fn post(&self, author: &str) -> i64 {
        let body = json!({ "content": "comment on this" });
        let (status, post, _) = self
            .send(reqwest::Method::POST, "/posts", Some(author), Some(body))
            .await
            .unwrap();
        assert_eq!(status, 201, "{post}");
        post["id"].as_i64().unwrap()
    }

    /// `commenter` comments on `post`, retrying 503s (a database on its way
    /// back) for up to 30 s: the comment's id.
    async fn comment(&self, commenter: &str, post: i64) -> i64 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let body = json!({ "content": "a comment" });
            let path = format!("/posts/{post}/comments");
            let (status, comment, _) = self
                .send(reqwest::Method::POST, &path, Some(commenter), Some(body))
                .await
                .unwrap();
            if status == 201 {
                return comment["id"].as_i64().unwrap();
            }
            assert!(
                status == 503 && Instant::now() < deadline,
                "{status} {comment}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Polls the log until `text` is in `lines` lines of it.
    async fn wait_for_log(&self, text: &str, lines: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.logged(text) < lines {
            assert!(Instant::now() < deadline, "never logged {lines}× {text:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

const LISTENING: &str = "live-notification listener is listening";

/// PostgreSQL restarted under an open stream: the stream stays open, the
/// listener reconnects, and a comment written as soon as the database is
/// back reaches the stream. Then the listener alone loses its connection
/// and cannot make a new one (the database refuses new connections) while
/// a comment is written through a pooled connection: once it reconnects,
/// the stream catches that comment up from the database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_notifications_survive_a_database_restart() {
    let cluster = Cluster::start();
    let server = Server::start(&cluster);
    let (alice, bob) = (server.user("alice").await, server.user("bobby").await);
    let post = server.post(&alice).await;
    let mut stream = LiveStream::open(
        &server,
        "/me/notifications/stream",
        &format!("authorization: Bearer {alice}\r\n"),
    )
    .await;
    server.wait_for_log(LISTENING, 1).await;

    cluster.stop();
    cluster.restart();
    let during = server.comment(&bob, post).await;
    let caught_up = server.logged(LISTENING) == 1;
    let event = stream.notification(Duration::from_secs(20)).await;
    assert_eq!(event["notification"]["comment_id"], during, "{event}");
    server.wait_for_log(LISTENING, 2).await;
    eprintln!(
        "the comment written right after the restart was {}",
        if caught_up {
            "committed before the listener reconnected, and caught up"
        } else {
            "delivered live"
        }
    );

    // From another database: one cannot refuse connections to one's own.
    let mut db = PgConnection::establish(&cluster.pg(&["url", "template1"])).unwrap();
    let refuse = |db: &mut PgConnection, allow: bool| {
        diesel::sql_query(format!(
            "ALTER DATABASE postgres WITH ALLOW_CONNECTIONS {allow}"
        ))
        .execute(db)
        .unwrap();
    };
    refuse(&mut db, false);
    let terminated = number(
        &mut db,
        "SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()",
    );
    assert_eq!(terminated, 1, "one listening connection");
    server
        .wait_for_log("live-notification listener lost its connection", 2)
        .await;
    let missed = server.comment(&bob, post).await;
    assert_eq!(server.logged(LISTENING), 2, "the listener is still away");
    refuse(&mut db, true);
    let event = stream.notification(Duration::from_secs(20)).await;
    assert_eq!(event["notification"]["comment_id"], missed, "{event}");
    assert_eq!(event["unread_count"], 2, "{event}");
    assert_eq!(server.logged(LISTENING), 3);
}

/// SIGTERM: open streams end at once (cleanly, with the body's last chunk)
/// while a request already in flight is still finished, then the process
/// exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_ends_open_streams_first_then_drains() {
    let cluster = Cluster::start();
    let mut server = Server::start(&cluster);
    let alice = server.user("alice").await;
    let bearer = format!("authorization: Bearer {alice}\r\n");
    let mut streams = Vec::new();
    for _ in 0..3 {
        streams.push(LiveStream::open(&server, "/me/notifications/stream", &bearer).await);
    }
    let (in_flight, rest) = half_a_post(server.address(), &alice, "in flight").await;

    server.signal("TERM");
    for stream in &mut streams {
        let took = stream.ends_within(Duration::from_secs(5)).await;
        assert!(
            took < Duration::from_secs(2),
            "the stream ended after {took:?}"
        );
    }
    // The streams are gone but the process still finishes what it accepted.
    assert!(server.child.try_wait().unwrap().is_none());
    finish_half_post(in_flight, &rest).await;
    server.exits_with_success().await;
}

/// `?access_token=` on the stream route is never written to the log, at
/// debug level, whether the stream is served, refused for a bad token or
/// refused for an unknown parameter.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_access_token_query_parameter_is_never_logged() {
    let cluster = Cluster::start();
    let mut server = Server::start_with(&cluster, &[("RUST_LOG", "debug")]);
    let (alice, bob) = (server.user("alice").await, server.user("bobby").await);
    let post = server.post(&alice).await;

    let mut stream = LiveStream::open(
        &server,
        &format!("/me/notifications/stream?access_token={alice}"),
        "",
    )
    .await;
    let comment = server.comment(&bob, post).await;
    let event = stream.notification(Duration::from_secs(10)).await;
    assert_eq!(event["notification"]["comment_id"], comment, "{event}");
    drop(stream);

    // A token that does not verify, and a valid one with a parameter the
    // route refuses.
    let forged = format!("{alice}x");
    for (query, expected) in [
        (format!("access_token={forged}"), 401),
        (format!("access_token={alice}&bogus=1"), 400),
    ] {
        let response = server
            .request(
                reqwest::Method::GET,
                &format!("/me/notifications/stream?{query}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected, "{query}");
    }

    // The log is complete once the process has said it stopped.
    server.signal("INT");
    server.exits_with_success().await;
    server.wait_for_log("\"stopped\"", 1).await;
    let log = server.log.lock().unwrap().join("\n");
    assert!(
        log.contains("/me/notifications/stream"),
        "the requests are logged"
    );
    // The token's signature is the part no other log line could hold.
    let signature = alice.rsplit('.').next().unwrap();
    assert!(!log.contains(signature), "the access token is in the log");
}
