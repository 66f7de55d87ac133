//! The harness of minifb's black-box tests, which double as a conformance
//! suite for any implementation of `shared/API.md`.
//!
//! Tests talk only HTTP and use unique ids, so they share nothing and run in
//! parallel. With `MINIFB_URL` set they run against that server and start
//! nothing. Otherwise each test gets its own database, created from a
//! migrated template in the PostgreSQL that `make test` started
//! (`MINIFB_TEST_DATABASE_URL`), its own server on port 0, and drops the
//! database when it ends.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const TEMPLATE: &str = "minifb_template";

/// The back-office token of servers started here.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdefghijklmnop";

/// A running server to test, and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The mail outbox file, when the server was started here.
    pub outbox: Option<PathBuf>,
    /// The back-office token (`MINIFB_TEST_ADMIN_TOKEN` against a running
    /// server).
    pub admin_token: Option<String>,
    server: Option<RunningServer>,
    database: Option<std::sync::Arc<TestDatabase>>,
}

/// A server started in this process, and how to stop it.
struct RunningServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the contract's error body and returns its hint.
    pub fn error(&self, status: u16) -> &str {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(
            self.body["result"],
            self.status.canonical_reason().unwrap(),
            "body: {}",
            self.text
        );
        self.body["hint"].as_str().expect("hint is a string")
    }
}

/// A signed-up user and their tokens.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
}

/// A fresh id no other test uses: `prefix` plus random hex.
pub fn unique_id(prefix: &str) -> String {
    format!(
        "{prefix}_{:012x}",
        rand::rng().random::<u64>() & 0xffff_ffff_ffff
    )
}

impl TestApp {
    pub async fn spawn() -> Self {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        if let Ok(base) = std::env::var("MINIFB_URL") {
            return Self {
                base: base.trim_end_matches('/').to_owned(),
                client,
                outbox: std::env::var("MINIFB_TEST_OUTBOX").ok().map(PathBuf::from),
                admin_token: std::env::var("MINIFB_TEST_ADMIN_TOKEN").ok(),
                server: None,
                database: None,
            };
        }
        let database = std::sync::Arc::new(TestDatabase::create().await);
        let outbox = std::env::temp_dir().join(format!("{}.outbox.jsonl", database.name));
        Self::start(client, database, outbox).await
    }

    async fn start(
        client: reqwest::Client,
        database: std::sync::Arc<TestDatabase>,
        outbox: PathBuf,
    ) -> Self {
        let vars = [
            ("DATABASE_URL", database.url.clone()),
            ("MINIFB_BIND", "127.0.0.1:0".to_owned()),
            ("MINIFB_MAIL_OUTBOX", outbox.display().to_string()),
            ("MINIFB_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            // Hash speed is the domain tests' business; here it would only
            // slow every sign-up down.
            ("MINIFB_PASSWORD_ITERATIONS", "1000".to_owned()),
            ("MINIFB_DB_POOL_SIZE", "8".to_owned()),
        ];
        let config = minifb_server::Config::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        })
        .unwrap();
        let server = minifb_server::Server::build(&config).await.unwrap();
        let address = server.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async move {
            stopped.await.ok();
        }));
        Self {
            base: format!("http://{address}"),
            client,
            outbox: Some(outbox),
            admin_token: Some(ADMIN_TOKEN.to_owned()),
            server: Some(RunningServer { stop, task }),
            database: Some(database),
        }
    }

    /// Whether this suite started the server (and may start more).
    pub fn is_local(&self) -> bool {
        self.database.is_some()
    }

    /// A second server process on the same database, as behind a load
    /// balancer. Only for servers started here.
    pub async fn sibling(&self) -> Self {
        let database = self
            .database
            .clone()
            .expect("sibling() needs a local server");
        let outbox = self.outbox.clone().expect("local servers have an outbox");
        Self::start(self.client.clone(), database, outbox).await
    }

    /// Takes the database away under the running server (its connections
    /// are ended and the database dropped), as an outage would. Only for
    /// servers started here.
    pub async fn lose_database(&self) {
        let database = self
            .database
            .clone()
            .expect("lose_database() needs a local server");
        tokio::task::spawn_blocking(move || database.drop_now())
            .await
            .unwrap();
    }

    /// Stops the server gracefully (SIGTERM's path: finish requests, flush
    /// statistics) and waits until it has.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop.send(()).ok();
            server.task.await.unwrap().unwrap();
        }
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::DELETE, path, token, None).await
    }

    /// Signs up a new user with a unique id and logs them in.
    pub async fn user(&self, prefix: &str) -> User {
        let id = unique_id(prefix);
        let password = "correct horse battery".to_owned();
        let reply = self
            .post(
                "/auth/signup",
                None,
                json!({ "id": id, "password": password, "name": "Tester", "email": format!("{id}@example.com") }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let (token, refresh_token) = self.login(&id, &password).await;
        User {
            id,
            password,
            token,
            refresh_token,
        }
    }

    /// Logs in and returns (access token, refresh token).
    pub async fn login(&self, id: &str, password: &str) -> (String, String) {
        let reply = self
            .post(
                "/auth/login",
                None,
                json!({ "id": id, "password": password }),
            )
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        (
            reply.body["access_token"].as_str().unwrap().to_owned(),
            reply.body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    /// The messages in the mail outbox addressed to `to`, oldest first.
    pub fn mails_to(&self, to: &str) -> Vec<Value> {
        let Some(path) = &self.outbox else {
            return Vec::new();
        };
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|mail| mail["to"] == to)
            .collect()
    }
}

pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// A database of one test, dropped when the test ends.
struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDatabase {
    async fn create() -> Self {
        let admin_url = std::env::var("MINIFB_TEST_DATABASE_URL").expect(
            "MINIFB_TEST_DATABASE_URL is not set: run the tests with `make test`, \
             or set MINIFB_URL to test a running server",
        );
        let name = unique_id("test").to_ascii_lowercase();
        let url = with_database(&admin_url, &name);
        let (admin, db) = (admin_url.clone(), name.clone());
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&admin).expect("connect to the test PostgreSQL");
            ensure_template(&mut conn, &admin);
            diesel::sql_query(format!("CREATE DATABASE \"{db}\" TEMPLATE {TEMPLATE}"))
                .execute(&mut conn)
                .unwrap();
        })
        .await
        .unwrap();
        Self {
            name,
            url,
            admin_url,
        }
    }
}

/// Creates the migrated template once per cluster; an advisory lock keeps
/// parallel test processes from building it twice.
fn ensure_template(conn: &mut PgConnection, admin_url: &str) {
    diesel::sql_query("SELECT pg_advisory_lock(732001)")
        .execute(conn)
        .unwrap();
    let exists = diesel::sql_query(format!(
        "SELECT 1 FROM pg_database WHERE datname = '{TEMPLATE}'"
    ))
    .execute(conn)
    .unwrap()
        == 1;
    if !exists {
        let building = format!("{TEMPLATE}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}"))
            .execute(conn)
            .unwrap();
        diesel::sql_query(format!("CREATE DATABASE {building}"))
            .execute(conn)
            .unwrap();
        {
            let mut template =
                PgConnection::establish(&with_database(admin_url, &building)).unwrap();
            template
                .run_pending_migrations(minifb_adapters_postgres::MIGRATIONS)
                .unwrap();
        }
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {TEMPLATE}"))
            .execute(conn)
            .unwrap();
    }
    diesel::sql_query("SELECT pg_advisory_unlock(732001)")
        .execute(conn)
        .unwrap();
}

impl TestDatabase {
    /// Drops the database, ending the server's pooled connections (FORCE).
    fn drop_now(&self) -> bool {
        let Ok(mut conn) = PgConnection::establish(&self.admin_url) else {
            return false;
        };
        diesel::sql_query(format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .is_ok()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs inside the test's runtime: do the blocking work on a
        // plain thread.
        let dropped = std::thread::scope(|scope| scope.spawn(|| self.drop_now()).join());
        if !matches!(dropped, Ok(true)) {
            eprintln!("could not drop test database {}", self.name);
        }
    }
}

/// `url` with its database name replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced_in_socket_and_tcp_urls() {
        assert_eq!(
            with_database("postgresql://postgres@/postgres?host=/tmp/pg", "t1"),
            "postgresql://postgres@/t1?host=/tmp/pg"
        );
        assert_eq!(
            with_database("postgres://u:p@localhost:5432/postgres", "t1"),
            "postgres://u:p@localhost:5432/t1"
        );
        assert_eq!(
            with_database("postgres://localhost", "t1"),
            "postgres://localhost/t1"
        );
    }
}
