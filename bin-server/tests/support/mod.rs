//! The shared fixtures of the process tests: a PostgreSQL of the test's
//! own that the test stops and starts ([`Cluster`]), and the real
//! `minifb-server` binary, as an operator runs it ([`Server`]).
//!
//! Each test starts its own cluster with `scripts/pg` (initdb takes a couple
//! of seconds) in a temporary directory, and the server on port 0.
// Each test crate that declares this module uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use diesel::sql_types::BigInt;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const ADMIN_TOKEN: &str = "process-test-admin-token-0123456789abcdef";
const JWT_SECRET: &str = "process-test-jwt-secret-0123456789abcdefgh";
pub const PASSWORD: &str = "correct horse battery";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A private PostgreSQL in a temporary directory, stopped and deleted on
/// drop.
pub struct Cluster {
    work: PathBuf,
}

impl Cluster {
    pub fn start() -> Self {
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

    pub fn dir(&self) -> PathBuf {
        self.work.join("pg")
    }

    pub fn pg(&self, args: &[&str]) -> String {
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

    pub fn url(&self) -> String {
        self.pg(&["url", "postgres"])
    }

    pub fn stop(&self) {
        self.pg(&["stop"]);
    }

    pub fn restart(&self) {
        self.pg(&["start", "--fast"]);
    }

    pub fn connect(&self) -> PgConnection {
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
pub struct Server {
    pub child: Child,
    pub base: String,
    client: reqwest::Client,
    /// Every line the process has written, stdout and stderr.
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(cluster: &Cluster) -> Self {
        Self::start_with(cluster, &[])
    }

    /// [`Server::start`] with more (or other) environment variables.
    pub fn start_with(cluster: &Cluster, env: &[(&str, &str)]) -> Self {
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
    pub fn logged(&self, text: &str) -> usize {
        let log = self.log.lock().unwrap();
        log.iter().filter(|line| line.contains(text)).count()
    }

    /// Polls the log until `text` is in `lines` lines of it.
    pub async fn wait_for_log(&self, text: &str, lines: usize) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.logged(text) < lines {
            assert!(Instant::now() < deadline, "never logged {lines}× {text:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Polls until the process exits; `None` if it has not after `limit`.
    pub async fn exited_within(&mut self, limit: Duration) -> Option<ExitStatus> {
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
    pub async fn exits_with_success(&mut self) {
        let status = self
            .exited_within(Duration::from_secs(15))
            .await
            .expect("the server exits once its requests are done");
        assert!(status.success(), "{status}");
    }

    /// A request to this process, for what [`Server::send`] does not read
    /// (response headers, a body read as a stream).
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    pub async fn send(
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
        let (status, retry_after, text) = answer(request, "retry-after").await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::Null),
            retry_after,
        ))
    }

    /// Signs `id` up and logs in: the access token.
    pub async fn user(&self, id: &str) -> String {
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

/// Sends `request`: the status, the header `header`, and the body as sent.
pub async fn answer(
    request: reqwest::RequestBuilder,
    header: &str,
) -> reqwest::Result<(u16, Option<String>, String)> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let value = response
        .headers()
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((status, value, response.text().await?))
}

pub fn number(connection: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql)
        .get_result::<Number>(connection)
        .unwrap()
        .n
}

/// Sends the head and half the body of a `POST /posts`: a request in
/// flight that only the client can finish.
pub async fn half_a_post(address: &str, token: &str, content: &str) -> (TcpStream, Vec<u8>) {
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
pub async fn finish_half_post(mut socket: TcpStream, rest: &[u8]) -> String {
    socket.write_all(rest).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 201 "), "{answer}");
    answer
}
