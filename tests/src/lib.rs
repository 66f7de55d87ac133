//! The harness of minifb's black-box tests, which double as a conformance
//! suite for any implementation of the contract in `docs/API.md`, and the
//! helpers the
//! tests are written with.
//!
//! Tests talk only HTTP and use unique ids, so they share nothing and run in
//! parallel. With `MINIFB_URL` set they run against that server and start
//! nothing. Otherwise each test gets its own database, created from a
//! migrated template in the PostgreSQL that `make test` started
//! (`MINIFB_TEST_DATABASE_URL`), its own server on port 0, and drops the
//! database when it ends.
//!
//! Every request goes through [`TestApp::send`], so every [`Reply`] knows
//! what was sent and its assertions name it: a failing row of a table says
//! which request it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Display;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};

const TEMPLATE: &str = "minifb_template";

/// The back-office token of servers started here.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdefghijklmnop";

/// The access-token key of servers started here (shared by siblings, as a
/// deployment of several processes shares it).
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdefghijklmnopqrstuv";

/// A valid path id that no post, comment or notification will ever have.
pub const NEVER_AN_ID: &str = "9223372036854775807";

/// Path ids that are not ASCII digits of a 64-bit integer: 400 on every
/// route that takes an id.
pub const MALFORMED_IDS: [&str; 4] = ["abc", "+5", "-1", "99999999999999999999"];

/// The password of every [`TestApp::user`].
pub const PASSWORD: &str = "correct horse battery";

/// A password that is nobody's.
pub const WRONG_PASSWORD: &str = "wrong horse battery";

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

/// An HTTP answer, read whole, and the request it answers.
#[derive(Debug)]
pub struct Reply {
    /// `METHOD /path?query`, as the contract's hints name a request.
    pub request: String,
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
    /// What else was sent (the start of the body, whether a token went
    /// along), and the case of a table the request is for.
    sent: String,
}

impl Reply {
    async fn read(request: String, sent: String, response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Self {
            request,
            status,
            headers,
            body,
            text,
            sent,
        }
    }

    /// Names the case of a table this reply is for, in every assertion
    /// message that follows.
    pub fn labelled(mut self, case: impl Display) -> Self {
        self.sent = format!("{} [{case}]", self.sent);
        self
    }

    /// The request, the start of its body, whether a token went along and
    /// the case of a table it is for: what assertion messages name.
    pub fn what_was_sent(&self) -> String {
        format!("{}{}", self.request, self.sent)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, naming the request and showing the answer.
    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{} answered {}",
            self.what_was_sent(),
            self.text
        );
        self
    }

    /// Asserts a 2xx status.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(
            self.status.is_success(),
            "{} answered {} {}",
            self.what_was_sent(),
            self.status,
            self.text
        );
        self
    }

    /// Asserts the contract's error body and returns its hint.
    #[track_caller]
    pub fn error(&self, status: u16) -> &str {
        self.assert_status(status);
        assert_eq!(
            self.body["result"],
            self.status.canonical_reason().unwrap(),
            "{} answered {}",
            self.what_was_sent(),
            self.text
        );
        self.body["hint"]
            .as_str()
            .unwrap_or_else(|| panic!("{}: the hint is a string: {}", self.request, self.text))
    }

    /// Asserts `status`, and the contract's error body when it is one of
    /// 4xx or 5xx: for tables whose rows end either way.
    #[track_caller]
    pub fn assert_outcome(&self, status: u16) {
        if status >= 400 {
            self.error(status);
        } else {
            self.assert_status(status);
        }
    }

    /// Asserts the contract's error body with a hint that mentions `part`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, part: &str) {
        let hint = self.error(status);
        assert!(
            hint.contains(part),
            "{}: the hint does not mention {part:?}: {hint}",
            self.what_was_sent()
        );
    }

    /// Asserts the contract's 403, whose hint names the request refused.
    #[track_caller]
    pub fn assert_forbidden(&self) {
        assert_eq!(
            self.error(403),
            format!("You have not permission for '{}'", self.request),
            "{}",
            self.what_was_sent()
        );
    }

    /// Asserts a 401 that asks for a token: `WWW-Authenticate: Bearer`.
    #[track_caller]
    pub fn assert_needs_token(&self) {
        self.error(401);
        assert_eq!(
            self.header("www-authenticate"),
            Some("Bearer"),
            "{}",
            self.what_was_sent()
        );
    }

    /// Asserts a 401 that refuses the token sent:
    /// `WWW-Authenticate: Bearer error="invalid_token"`.
    #[track_caller]
    pub fn assert_invalid_token(&self) {
        self.error(401);
        assert_eq!(
            self.header("www-authenticate"),
            Some("Bearer error=\"invalid_token\""),
            "{}",
            self.what_was_sent()
        );
    }

    /// Asserts a 200 whose `Content-Type` starts with `media_type`.
    #[track_caller]
    pub fn assert_content_type(&self, media_type: &str) {
        self.assert_status(200);
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(
            content_type.starts_with(media_type),
            "{}: {content_type}",
            self.request
        );
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

impl User {
    /// The access token, as the request helpers take one.
    pub fn bearer(&self) -> Option<&str> {
        Some(&self.token)
    }

    /// The user as posts show their `author` and notifications their
    /// `actor`: [`TestApp::user`] signs up with the name "Tester" and no
    /// nickname.
    pub fn as_author(&self) -> Value {
        json!({ "id": self.id, "name": "Tester", "nickname": null })
    }
}

/// A fresh id no other test uses: `prefix` plus random hex.
pub fn unique_id(prefix: &str) -> String {
    format!(
        "{prefix}_{:012x}",
        rand::rng().random::<u64>() & 0xffff_ffff_ffff
    )
}

/// A sign-up body with every field set, the email in mixed case.
pub fn sign_up_body(id: &str) -> Value {
    json!({ "id": id, "password": PASSWORD, "name": "홍길동", "nickname": "gildong", "bio": "hi", "email": format!("{id}@Example.com") })
}

/// The first characters of `text`, for assertion messages.
fn excerpt(text: &str) -> String {
    const MAX: usize = 160;
    if text.chars().count() <= MAX {
        return text.to_owned();
    }
    let start: String = text.chars().take(MAX).collect();
    format!("{start}… ({} bytes)", text.len())
}

/// The suite's HTTP client: never through a proxy.
fn http_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

impl TestApp {
    /// The server at `MINIFB_URL`, or else one started here.
    pub async fn spawn() -> Self {
        if let Ok(base) = std::env::var("MINIFB_URL") {
            return Self {
                base: base.trim_end_matches('/').to_owned(),
                client: http_client(),
                outbox: std::env::var("MINIFB_TEST_OUTBOX").ok().map(PathBuf::from),
                admin_token: std::env::var("MINIFB_TEST_ADMIN_TOKEN").ok(),
                server: None,
                database: None,
            };
        }
        Self::start_here(&[]).await
    }

    /// A server started here, or `None` (the test skipped, saying so) when
    /// the suite runs against `MINIFB_URL`: for tests that stop, break or
    /// look inside the server.
    pub async fn spawn_local() -> Option<Self> {
        Self::spawn_with(&[]).await
    }

    /// A server started here with extra settings
    /// (`("MINIFB_MAX_STREAMS", "1")`), or `None` (the test skipped, saying
    /// so) when the suite runs against `MINIFB_URL`, whose settings are not
    /// its to choose.
    pub async fn spawn_with(settings: &[(&str, &str)]) -> Option<Self> {
        if std::env::var("MINIFB_URL").is_ok() {
            eprintln!("skipped: needs a server started by the suite");
            return None;
        }
        Some(Self::start_here(settings).await)
    }

    /// A server on a fresh database of its own.
    async fn start_here(settings: &[(&str, &str)]) -> Self {
        let database = std::sync::Arc::new(TestDatabase::create().await);
        let outbox = std::env::temp_dir().join(format!("{}.outbox.jsonl", database.name));
        Self::start(http_client(), database, outbox, settings).await
    }

    async fn start(
        client: reqwest::Client,
        database: std::sync::Arc<TestDatabase>,
        outbox: PathBuf,
        settings: &[(&str, &str)],
    ) -> Self {
        let mut vars = vec![
            ("DATABASE_URL", database.url.clone()),
            ("MINIFB_BIND", "127.0.0.1:0".to_owned()),
            ("MINIFB_MAIL_OUTBOX", outbox.display().to_string()),
            ("MINIFB_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
            ("MINIFB_JWT_SECRET", JWT_SECRET.to_owned()),
            // Hash speed is the domain tests' business; here it would only
            // slow every sign-up down.
            ("MINIFB_PASSWORD_ITERATIONS", "1000".to_owned()),
            ("MINIFB_DB_POOL_SIZE", "8".to_owned()),
            // The suites sign up hundreds of users from one address; the
            // limit itself is tested with a server that sets it.
            ("MINIFB_SIGNUP_LIMIT", "0".to_owned()),
        ];
        vars.extend(settings.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let config = minifb_server::Config::from_lookup(|name| {
            // A setting given by the test wins over the defaults above.
            vars.iter()
                .rfind(|(key, _)| *key == name)
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
        Self::start(self.client.clone(), database, outbox, &[]).await
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

    /// Skips the test, saying so, unless this suite started the server
    /// (and so may start, stop or break more): true when skipped.
    pub fn skip_unless_local(&self) -> bool {
        if !self.is_local() {
            eprintln!("skipped: needs a server started by the suite");
        }
        !self.is_local()
    }

    /// A server and its back-office token, or `None` (the test skipped,
    /// saying so) against a server whose token the suite was not given.
    pub async fn with_admin_token() -> Option<(Self, String)> {
        let app = Self::spawn().await;
        let Some(token) = app.admin_token.clone() else {
            eprintln!("skipped: set MINIFB_TEST_ADMIN_TOKEN to test the back office");
            return None;
        };
        Some((app, token))
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request built by hand, for headers and bodies the other
    /// helpers do not make; the reply knows what was sent.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let (client, request) = request.build_split();
        let request = request.unwrap();
        let url = request.url().as_str();
        let label = format!(
            "{} {}",
            request.method(),
            url.strip_prefix(&self.base).unwrap_or(url)
        );
        let mut sent = String::new();
        if let Some(bytes) = request.body().and_then(reqwest::Body::as_bytes) {
            sent = format!(" {}", excerpt(&String::from_utf8_lossy(bytes)));
        }
        if !request
            .headers()
            .contains_key(reqwest::header::AUTHORIZATION)
        {
            sent.push_str(" (no token)");
        }
        Reply::read(label, sent, client.execute(request).await.unwrap()).await
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    /// Sends `body` as it is, labelled `content_type`: for bodies that are
    /// not JSON, or not well-formed.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: String,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.request(Method::POST, path, token, Some(body)).await
    }

    /// A POST without a body, as the routes that mark notifications read
    /// take none.
    pub async fn post_without_body(&self, path: &str, token: Option<&str>) -> Reply {
        self.request(Method::POST, path, token, None).await
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
}

/// Accounts: signing up, logging in, tokens, passwords, mail.
impl TestApp {
    pub async fn sign_up(&self, body: Value) -> Reply {
        self.post("/auth/signup", None, body).await
    }

    /// Signs up a new user with a unique id and logs them in.
    pub async fn user(&self, prefix: &str) -> User {
        let id = unique_id(prefix);
        let reply = self
            .sign_up(json!({ "id": id, "password": PASSWORD, "name": "Tester", "email": format!("{id}@example.com") }))
            .await;
        reply.assert_status(201);
        let (token, refresh_token) = self.login(&id, PASSWORD).await;
        User {
            id,
            password: PASSWORD.to_owned(),
            token,
            refresh_token,
        }
    }

    /// A server and a user signed up on it.
    pub async fn with_user(prefix: &str) -> (Self, User) {
        let app = Self::spawn().await;
        let user = app.user(prefix).await;
        (app, user)
    }

    /// [`Self::with_user`] on a server this suite started, or `None` (the
    /// test skipped, saying so) against `MINIFB_URL`.
    pub async fn with_local_user(prefix: &str) -> Option<(Self, User)> {
        let app = Self::spawn_local().await?;
        let user = app.user(prefix).await;
        Some((app, user))
    }

    pub async fn try_login(&self, id: &str, password: &str) -> Reply {
        let body = json!({ "id": id, "password": password });
        self.post("/auth/login", None, body).await
    }

    /// Logs in and returns (access token, refresh token).
    pub async fn login(&self, id: &str, password: &str) -> (String, String) {
        let reply = self.try_login(id, password).await;
        reply.assert_status(200);
        (
            reply.body["access_token"].as_str().unwrap().to_owned(),
            reply.body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        let body = json!({ "refresh_token": refresh_token });
        self.post("/auth/refresh", None, body).await
    }

    pub async fn logout(&self, refresh_token: &str) -> Reply {
        let body = json!({ "refresh_token": refresh_token });
        self.post("/auth/logout", None, body).await
    }

    pub async fn change_password(&self, token: Option<&str>, current: &str, new: &str) -> Reply {
        let body = json!({ "current_password": current, "new_password": new });
        self.put("/me/password", token, body).await
    }

    /// Asks for a temporary password for `id` to be mailed to `email`.
    pub async fn forgot_password(&self, id: &str, email: &str) -> Reply {
        let body = json!({ "id": id, "email": email });
        self.post("/auth/temporary-password", None, body).await
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

    /// The latest mail to `to`. Mail is sent after the answer: this polls
    /// the outbox until it arrives, for 10 s at most.
    pub async fn wait_for_mail(&self, to: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(mail) = self.mails_to(to).pop() {
                return mail;
            }
            assert!(Instant::now() < deadline, "no mail to {to} within 10 s");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Safe retries: creates sent with an `Idempotency-Key`.
impl TestApp {
    /// `POST path` with `body` as `user`, and `Idempotency-Key: key` (sent
    /// as raw bytes, so malformed keys can be sent too).
    pub async fn post_keyed(&self, path: &str, user: &User, key: &[u8], body: Value) -> Reply {
        let key = reqwest::header::HeaderValue::from_bytes(key).unwrap();
        let request = self
            .client
            .post(self.url(path))
            .bearer_auth(&user.token)
            .header("idempotency-key", key)
            .json(&body);
        self.send(request).await
    }
}

/// A lock held on this server's database by a transaction of the test's
/// own, until [`HeldLock::release`] (or drop): a request that needs it
/// waits, in flight, for as long as the test wants.
pub struct HeldLock {
    release: Option<std::sync::mpsc::Sender<()>>,
    done: Option<std::thread::JoinHandle<()>>,
}

impl HeldLock {
    pub fn release(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.release.take();
        if let Some(done) = self.done.take() {
            done.join().unwrap();
        }
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        self.finish();
    }
}

impl TestApp {
    /// Runs `statement` (a `LOCK TABLE ...`, say) in a transaction that
    /// stays open until the returned lock is released.
    pub async fn hold_lock(&self, statement: &str) -> HeldLock {
        let database = self
            .database
            .clone()
            .expect("hold_lock() needs a local server");
        let statement = statement.to_owned();
        let (locked, is_locked) = std::sync::mpsc::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let done = std::thread::spawn(move || {
            let mut conn = PgConnection::establish(&database.url).unwrap();
            conn.transaction::<_, diesel::result::Error, _>(|conn| {
                diesel::sql_query(&statement).execute(conn)?;
                locked.send(()).unwrap();
                released.recv().ok();
                Ok(())
            })
            .unwrap();
        });
        tokio::task::spawn_blocking(move || is_locked.recv().unwrap())
            .await
            .unwrap();
        HeldLock {
            release: Some(release),
            done: Some(done),
        }
    }

    /// Polls until some session of the server waits for a lock while
    /// running a statement that starts with `query_start`.
    pub async fn wait_until_blocked(&self, query_start: &str) {
        let probe = format!(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' \
             AND query LIKE '{}%'",
            query_start.replace('\'', "''")
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.sql(&probe).await == 0 {
            assert!(Instant::now() < deadline, "nothing waits on {query_start}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// The database under a server started here, for what HTTP cannot arrange
/// (time passing, an operator's edit, data another implementation wrote).
impl TestApp {
    /// The URL of this server's database, when the server was started here.
    pub fn database_url(&self) -> Option<&str> {
        self.database
            .as_deref()
            .map(|database| database.url.as_str())
    }

    /// Runs one SQL statement on this server's database and returns how
    /// many rows it touched.
    pub async fn sql(&self, statement: &str) -> usize {
        let database = self.database.clone().expect("sql() needs a local server");
        let statement = statement.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&database.url).unwrap();
            diesel::sql_query(&statement)
                .execute(&mut conn)
                .unwrap_or_else(|error| panic!("{statement}: {error}"))
        })
        .await
        .unwrap()
    }

    /// Asks for a temporary password for `user` (whose address is
    /// `<id>@example.com`) and reads it from the mail.
    pub async fn temporary_password(&self, user: &User) -> String {
        let address = format!("{}@example.com", user.id);
        let already = self.mails_to(&address).len();
        self.forgot_password(&user.id, &address)
            .await
            .assert_status(202);
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.mails_to(&address).len() == already {
            assert!(
                Instant::now() < deadline,
                "no mail to {address} within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mail = self.mails_to(&address).pop().unwrap();
        mail["text"]
            .as_str()
            .unwrap()
            .split_whitespace()
            .find(|word| word.len() == 16 && word.chars().all(|c| c.is_ascii_alphanumeric()))
            .expect("the mail holds a 16-character password")
            .to_owned()
    }
}

/// Posts and comments.
impl TestApp {
    /// The usual scene of a test: a server, Alice with a post, and Bob, who
    /// comes by.
    /// `let (app, alice, bob, post_id) = TestApp::with_alices_post_and_bob().await;`
    pub async fn with_alices_post_and_bob() -> (Self, User, User, i64) {
        let app = Self::spawn().await;
        let alice = app.user("alice").await;
        let bob = app.user("bob").await;
        let post_id = app.post_by(&alice, "alice's post").await;
        (app, alice, bob, post_id)
    }

    /// Creates a post as `user`, asserting 201, and returns it as answered.
    pub async fn new_post(&self, user: &User, content: &str) -> Value {
        let body = json!({ "content": content });
        let reply = self.post("/posts", user.bearer(), body).await;
        reply.assert_status(201);
        reply.body
    }

    /// Creates a post as `user` and returns its id.
    pub async fn post_by(&self, user: &User, content: &str) -> i64 {
        id_of(&self.new_post(user, content).await)
    }

    /// Creates `n` posts as `user`, one after another, and returns their
    /// ids oldest first.
    pub async fn posts_by(&self, user: &User, n: usize) -> Vec<i64> {
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            ids.push(self.post_by(user, &format!("post #{i}")).await);
        }
        ids
    }

    /// The id of a post that `user` created and deleted.
    pub async fn deleted_post(&self, user: &User) -> i64 {
        let id = self.post_by(user, "soon gone").await;
        let path = format!("/posts/{id}");
        self.delete(&path, user.bearer()).await.assert_status(204);
        id
    }

    /// A post as `viewer` (or nobody) reads it, asserting 200.
    pub async fn read_post(&self, id: i64, viewer: Option<&User>) -> Value {
        let reply = self.get(&format!("/posts/{id}"), token_of(viewer)).await;
        reply.assert_status(200);
        reply.body
    }

    /// Comments on `post_id` as `user`, asserting 201, and returns the
    /// comment as answered.
    pub async fn new_comment(&self, post_id: i64, user: &User, content: &str) -> Value {
        let path = format!("/posts/{post_id}/comments");
        let reply = self
            .post(&path, user.bearer(), json!({ "content": content }))
            .await;
        reply.assert_status(201);
        reply.body
    }

    /// Comments on `post_id` as `user` and returns the comment's id.
    pub async fn comment_on(&self, post_id: i64, user: &User, content: &str) -> i64 {
        id_of(&self.new_comment(post_id, user, content).await)
    }

    /// The first page of a post's comments (default limit) as `viewer`
    /// (or nobody) reads it, asserting 200.
    pub async fn comments(&self, post_id: i64, viewer: Option<&User>) -> Value {
        let path = format!("/posts/{post_id}/comments");
        let reply = self.get(&path, token_of(viewer)).await;
        reply.assert_status(200);
        reply.body
    }

    /// One comment as `viewer` (or nobody) finds it listed on its post.
    pub async fn read_comment(&self, post_id: i64, id: i64, viewer: Option<&User>) -> Value {
        let path = format!("/posts/{post_id}/comments?limit=100");
        let reply = self.get(&path, token_of(viewer)).await;
        reply.assert_status(200);
        items(&reply.body)
            .iter()
            .find(|comment| comment["id"] == id)
            .unwrap_or_else(|| panic!("comment {id} is listed: {}", reply.text))
            .clone()
    }

    /// Replaces the content of the post or comment at `path` as `user`.
    pub async fn edit(&self, user: &User, path: &str, content: &str) -> Reply {
        let body = json!({ "content": content });
        self.patch(path, user.bearer(), body).await
    }

    pub async fn delete_comment(&self, id: i64, token: Option<&str>) -> Reply {
        self.delete(&format!("/comments/{id}"), token).await
    }

    /// A post's `comment_count`.
    pub async fn comment_count(&self, post_id: i64) -> Value {
        self.read_post(post_id, None).await["comment_count"].clone()
    }
}

/// A route that takes `{"content": …}`: creating or editing a post or a
/// comment.
pub struct ContentRoute {
    pub label: &'static str,
    pub method: Method,
    pub path: String,
    /// The most characters it takes.
    pub max: usize,
    /// A field it does not take, and a value for it.
    pub unknown: (&'static str, Value),
}

impl ContentRoute {
    /// Sends `body` as `user`; the reply is labelled with the route.
    pub async fn send(&self, app: &TestApp, user: &User, body: Value) -> Reply {
        let reply = app
            .request(self.method.clone(), &self.path, user.bearer(), Some(body))
            .await;
        reply.labelled(self.label)
    }
}

/// The four routes that take content: creating a post, editing post
/// `post_id`, commenting on it, editing comment `comment_id`.
pub fn content_routes(post_id: i64, comment_id: i64) -> [ContentRoute; 4] {
    let (post, comment) = (
        format!("/posts/{post_id}"),
        format!("/comments/{comment_id}"),
    );
    [
        (
            "creating a post",
            Method::POST,
            "/posts".to_owned(),
            3000,
            "title",
            json!("x"),
        ),
        (
            "editing a post",
            Method::PATCH,
            post.clone(),
            3000,
            "author",
            json!("mallory"),
        ),
        (
            "commenting",
            Method::POST,
            format!("{post}/comments"),
            1000,
            "post_id",
            json!(post_id),
        ),
        (
            "editing a comment",
            Method::PATCH,
            comment,
            1000,
            "modified",
            json!(false),
        ),
    ]
    .map(|(label, method, path, max, field, value)| ContentRoute {
        label,
        method,
        path,
        max,
        unknown: (field, value),
    })
}

/// What reactions are put on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reactable {
    Post,
    Comment,
}

/// A post or a comment to react to.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub kind: Reactable,
    /// The post, or the post the comment is on.
    pub post_id: i64,
    /// The post's or the comment's id.
    pub id: i64,
}

impl Reactable {
    /// Both: the tables of the reaction tests run on a post and a comment.
    pub const BOTH: [Self; 2] = [Self::Post, Self::Comment];

    /// `/posts/{id}` or `/comments/{id}`.
    pub fn path(self, id: impl Display) -> String {
        match self {
            Self::Post => format!("/posts/{id}"),
            Self::Comment => format!("/comments/{id}"),
        }
    }

    /// Where reactions to the post or comment `id` are put and withdrawn.
    pub fn reaction_path(self, id: impl Display) -> String {
        format!("{}/reaction", self.path(id))
    }
}

impl Target {
    pub fn post(id: i64) -> Self {
        Self {
            kind: Reactable::Post,
            post_id: id,
            id,
        }
    }

    pub fn comment(post_id: i64, id: i64) -> Self {
        Self {
            kind: Reactable::Comment,
            post_id,
            id,
        }
    }

    /// `/posts/{id}` or `/comments/{id}`.
    pub fn path(&self) -> String {
        self.kind.path(self.id)
    }

    /// Where reactions to it are put and withdrawn.
    pub fn reaction_path(&self) -> String {
        self.kind.reaction_path(self.id)
    }
}

/// Reactions and notifications.
impl TestApp {
    /// A fresh post of `owner`, or a fresh comment of `owner` on a fresh
    /// post of theirs.
    pub async fn target(&self, kind: Reactable, owner: &User) -> Target {
        let post_id = self.post_by(owner, "react to me").await;
        match kind {
            Reactable::Post => Target::post(post_id),
            Reactable::Comment => {
                let id = self.comment_on(post_id, owner, "react to me too").await;
                Target::comment(post_id, id)
            }
        }
    }

    /// A target as `viewer` (or nobody) reads it: the post, or the comment
    /// as its post lists it.
    pub async fn read_target(&self, target: &Target, viewer: Option<&User>) -> Value {
        match target.kind {
            Reactable::Post => self.read_post(target.id, viewer).await,
            Reactable::Comment => self.read_comment(target.post_id, target.id, viewer).await,
        }
    }

    /// Puts `user`'s reaction `{"type": kind}` on `target`.
    pub async fn react(&self, user: &User, target: &Target, kind: impl Serialize) -> Reply {
        let body = json!({ "type": kind });
        self.put(&target.reaction_path(), user.bearer(), body).await
    }

    /// Adds `user`'s reaction of `kind` to `target`, asserting it is new
    /// (201).
    pub async fn add_reaction(&self, user: &User, target: &Target, kind: impl Serialize) {
        self.react(user, target, kind).await.assert_status(201);
    }

    /// Withdraws the reaction of whoever `token` belongs to from `target`.
    pub async fn withdraw_reaction(&self, target: &Target, token: Option<&str>) -> Reply {
        self.delete(&target.reaction_path(), token).await
    }

    /// `user`'s notifications page; `query` starts with `?` or is empty.
    pub async fn notifications(&self, user: &User, query: &str) -> Value {
        let path = format!("/me/notifications{query}");
        let reply = self.get(&path, user.bearer()).await;
        reply.assert_status(200);
        reply.body
    }

    /// Marks notification `id` read.
    pub async fn mark_read(&self, id: impl Display, token: Option<&str>) -> Reply {
        let path = format!("/me/notifications/{id}/read");
        self.post_without_body(&path, token).await
    }

    pub async fn mark_all_read(&self, token: Option<&str>) -> Reply {
        self.post_without_body("/me/notifications/read-all", token)
            .await
    }
}

/// Pagination: pages, cursors and walks from the first page to the last.
impl TestApp {
    /// One page of `path` (which may hold a query already) at `cursor`, or
    /// the first page without one, asserting 200 and a `next_cursor`.
    pub async fn page(
        &self,
        path: &str,
        token: Option<&str>,
        limit: u32,
        cursor: Option<&str>,
    ) -> Value {
        let mut query = format!("limit={limit}");
        if let Some(cursor) = cursor {
            query.push_str(&format!("&cursor={}", query_escape(cursor)));
        }
        let reply = self.get(&with_query(path, &query), token).await;
        reply.assert_status(200);
        assert!(
            reply.body.get("next_cursor").is_some(),
            "a page always has next_cursor: {}",
            reply.text
        );
        reply.body
    }

    /// Follows `next_cursor` from the first page of `path` to the last.
    pub async fn walk(&self, path: &str, token: Option<&str>, limit: u32) -> Vec<Value> {
        let mut pages = vec![self.page(path, token, limit, None).await];
        while let Some(cursor) = next_cursor(pages.last().unwrap()) {
            assert!(pages.len() < 100, "the walk of {path} does not end");
            pages.push(self.page(path, token, limit, Some(&cursor)).await);
        }
        pages
    }

    /// A cursor pointing into the middle of `path`, a list of two items at
    /// least.
    pub async fn a_cursor_of(&self, path: &str, token: Option<&str>) -> String {
        let first = self.page(path, token, 1, None).await;
        next_cursor(&first).expect("a list of two items has a cursor")
    }
}

/// The back office.
impl TestApp {
    /// Polls `/admin/stats/server` until `done` holds (counts from other
    /// processes arrive with their next flush, within 10 s).
    pub async fn server_stats_until(&self, token: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let reply = self.get("/admin/stats/server", Some(token)).await;
            reply.assert_status(200);
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
}

/// How many of `replies` answered with each status.
pub fn count_statuses(replies: &[Reply]) -> std::collections::BTreeMap<u16, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for reply in replies {
        *counts.entry(reply.status.as_u16()).or_default() += 1;
    }
    counts
}

/// A count of server statistics (`by_endpoint`, `by_status`), 0 when
/// absent.
pub fn stat(stats: &Value, group: &str, key: &str) -> i64 {
    stats[group][key].as_i64().unwrap_or(0)
}

fn token_of(user: Option<&User>) -> Option<&str> {
    user.and_then(User::bearer)
}

/// The `id` of a post, comment or notification.
pub fn id_of(item: &Value) -> i64 {
    item["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("an id is an integer: {item}"))
}

/// A page's items.
pub fn items(page: &Value) -> &Vec<Value> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page has items: {page}"))
}

/// The ids of a page's items, in order.
pub fn item_ids(page: &Value) -> Vec<i64> {
    items(page).iter().map(id_of).collect()
}

/// The ids of the items of `pages`, in order.
pub fn page_ids(pages: &[Value]) -> Vec<i64> {
    pages.iter().flat_map(item_ids).collect()
}

/// How many items each of `pages` holds.
pub fn page_sizes(pages: &[Value]) -> Vec<usize> {
    pages.iter().map(|page| items(page).len()).collect()
}

/// A page's `next_cursor`, asserting it is a string or null.
pub fn next_cursor(page: &Value) -> Option<String> {
    match &page["next_cursor"] {
        Value::Null => None,
        Value::String(cursor) => Some(cursor.clone()),
        other => panic!("next_cursor is a string or null: {other}"),
    }
}

/// `ids` (oldest first, as created) in the order of a timeline.
pub fn newest_first(mut ids: Vec<i64>) -> Vec<i64> {
    ids.reverse();
    ids
}

/// Asserts that `ids` fall strictly, as a newest-first list's do.
#[track_caller]
pub fn assert_newest_first(ids: &[i64]) {
    assert!(ids.windows(2).all(|pair| pair[0] > pair[1]), "{ids:?}");
}

/// Asserts that a notifications page holds none and counts none unread.
#[track_caller]
pub fn assert_no_notifications(page: &Value) {
    assert_eq!(page["items"], json!([]), "{page}");
    assert_eq!(page["unread_count"], 0, "{page}");
}

/// The types of a notifications page's items, in order.
pub fn notification_types(page: &Value) -> Vec<i64> {
    items(page)
        .iter()
        .map(|n| n["type"].as_i64().unwrap())
        .collect()
}

/// The lists of the contract, all of which page alike: the public feed,
/// my timeline, `user`'s timeline, the comments of `post_id`, my
/// notifications.
pub fn every_list(user: &User, post_id: i64) -> [String; 5] {
    [
        "/posts".to_owned(),
        "/me/timeline".to_owned(),
        format!("/users/{}/timeline", user.id),
        format!("/posts/{post_id}/comments"),
        "/me/notifications".to_owned(),
    ]
}

/// `path` (which may hold a query already) with more query parameters.
pub fn with_query(path: &str, query: &str) -> String {
    let separator = if path.contains('?') { '&' } else { '?' };
    format!("{path}{separator}{query}")
}

/// Percent-encodes a query value, opaque cursors included.
pub fn query_escape(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(byte).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// The sorted keys of a JSON object.
pub fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .unwrap_or_else(|| panic!("an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// Asserts a timestamp of the contract: `2026-11-26T09:56:15.123Z`.
#[track_caller]
pub fn assert_timestamp(value: &Value) {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("a timestamp is a string: {value}"));
    let pattern = "dddd-dd-ddTdd:dd:dd.dddZ";
    let matches = text.len() == pattern.len()
        && text.chars().zip(pattern.chars()).all(|(c, p)| match p {
            'd' => c.is_ascii_digit(),
            _ => c == p,
        });
    assert!(matches, "not an RFC 3339 UTC timestamp with millis: {text}");
}

/// Asserts that `edited` is the post or comment `created` with `content`
/// instead, and an `updated_at` no earlier than its `created_at`.
#[track_caller]
pub fn assert_edited(edited: &Value, created: &Value, content: &str) {
    assert_eq!(edited["id"], created["id"], "{edited}");
    assert_eq!(edited["content"], content, "{edited}");
    assert_eq!(edited["created_at"], created["created_at"], "{edited}");
    assert_timestamp(&edited["updated_at"]);
    assert!(
        edited["updated_at"].as_str() >= created["created_at"].as_str(),
        "{edited}"
    );
}

/// `reaction_counts` with every key at zero.
pub fn no_reactions() -> Value {
    reaction_counts(&[])
}

/// `reaction_counts` with the given (type, count) pairs, zeros elsewhere.
pub fn reaction_counts(pairs: &[(u8, i64)]) -> Value {
    let mut counts = json!({ "1": 0, "2": 0, "3": 0, "4": 0, "5": 0 });
    for (kind, n) in pairs {
        counts[kind.to_string()] = json!(n);
    }
    counts
}

/// Screenshots taken by a headless browser.
pub mod browser {
    use std::path::{Path, PathBuf};

    /// The Chromium on `PATH`, if any.
    pub fn chromium() -> Option<PathBuf> {
        ["chromium", "chromium-browser", "google-chrome"]
            .iter()
            .flat_map(|name| {
                std::env::var_os("PATH")
                    .map(|paths| {
                        std::env::split_paths(&paths)
                            .map(move |dir| dir.join(name))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            })
            .find(|path| path.is_file())
    }

    /// A PNG's width, height and pixels, as RGB.
    pub fn pixels(path: &Path) -> (u32, u32, Vec<[u8; 3]>) {
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buffer = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buffer).unwrap();
        let channels = info.color_type.samples();
        let rgb = buffer[..info.buffer_size()]
            .chunks(channels)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        (info.width, info.height, rgb)
    }

    /// How many of `pixels` are close to `colour`.
    pub fn count_close(pixels: &[[u8; 3]], colour: [u8; 3]) -> usize {
        pixels
            .iter()
            .filter(|pixel| pixel.iter().zip(colour).all(|(x, y)| x.abs_diff(y) <= 12))
            .count()
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

/// `url` with its database name replaced by `database`: another database
/// of the same server, reached the same way.
pub fn with_database(url: &str, database: &str) -> String {
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

/// Access tokens made by hand, as an attacker (or a buggy client) would:
/// signed with any key and algorithm, with any claims.
pub mod tokens {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use serde_json::{Value, json};

    /// Seconds since the epoch.
    pub fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            .try_into()
            .unwrap()
    }

    /// `claims` signed with HS256 and `key`.
    pub fn signed(key: &str, claims: &Value) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    }

    /// The minimal complete claims for `sub`, valid for `seconds` from now.
    pub fn claims(sub: &str, seconds: i64) -> Value {
        let iat = now();
        json!({ "sub": sub, "iat": iat, "exp": iat + seconds })
    }

    /// `claims` with `alg: none` and no signature.
    pub fn unsigned(claims: &Value) -> String {
        use base64::Engine;
        let encode = |value: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string())
        };
        format!(
            "{}.{}.",
            encode(&json!({ "alg": "none", "typ": "JWT" })),
            encode(claims)
        )
    }
}

/// One Server-Sent Event as a client sees it (a comment-only block has
/// only `comments`).
#[derive(Debug, Clone, Default)]
pub struct SseEvent {
    pub event: Option<String>,
    pub id: Option<String>,
    pub data: String,
    pub retry: Option<String>,
    pub comments: Vec<String>,
}

impl SseEvent {
    /// `data` as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap_or_else(|_| panic!("data is JSON: {self:?}"))
    }
}

/// An open `text/event-stream` response, read event by event.
pub struct EventStream {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    body: std::pin::Pin<Box<dyn futures::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
    /// Everything read so far, for assertion messages.
    pub seen: String,
}

impl EventStream {
    /// The next block (event or comment); `None` when the stream ended.
    /// Fails the test if nothing arrives within `limit`.
    pub async fn next_within(&mut self, limit: Duration) -> Option<SseEvent> {
        use futures::StreamExt;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent::default();
                for line in block.lines().filter(|line| !line.is_empty()) {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value).to_owned();
                    match field {
                        "" => event.comments.push(value),
                        "event" => event.event = Some(value),
                        "id" => event.id = Some(value),
                        "retry" => event.retry = Some(value),
                        "data" => {
                            if !event.data.is_empty() {
                                event.data.push('\n');
                            }
                            event.data.push_str(&value);
                        }
                        other => panic!("unknown SSE field {other:?} in {block:?}"),
                    }
                }
                return Some(event);
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "no event within {limit:?}; the stream so far: {:?}",
                        self.seen
                    )
                });
            match chunk {
                Some(Ok(bytes)) => {
                    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
                    self.seen.push_str(&text);
                    self.buffer.push_str(&text);
                }
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next event that is not a keep-alive comment, within 5 s.
    pub async fn next_event(&mut self) -> SseEvent {
        loop {
            let event = self
                .next_within(Duration::from_secs(5))
                .await
                .unwrap_or_else(|| panic!("the stream ended; it said: {:?}", self.seen));
            if event.event.is_some() || !event.data.is_empty() || event.retry.is_some() {
                return event;
            }
        }
    }

    /// The next event, which must be `kind`; its data as JSON.
    pub async fn expect(&mut self, kind: &str) -> (Option<String>, Value) {
        let event = self.next_event().await;
        assert_eq!(event.event.as_deref(), Some(kind), "{event:?}");
        (event.id.clone(), event.json())
    }
}

/// Live notifications.
impl TestApp {
    /// Opens `GET /me/notifications/stream` (path and query as given) with
    /// these headers; the answer's status tells whether it opened.
    pub async fn open_stream(&self, path_and_query: &str, headers: &[(&str, &str)]) -> EventStream {
        let mut request = self.client.get(self.url(path_and_query));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        EventStream {
            status: response.status(),
            headers: response.headers().clone(),
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
            seen: String::new(),
        }
    }

    /// The user's stream, opened (200) and past its `retry:` line.
    pub async fn stream_of(&self, user: &User, last_event_id: Option<i64>) -> EventStream {
        let bearer = format!("Bearer {}", user.token);
        let last = last_event_id.map(|id| id.to_string());
        let mut headers = vec![("authorization", bearer.as_str())];
        if let Some(last) = &last {
            headers.push(("last-event-id", last.as_str()));
        }
        let mut stream = self.open_stream("/me/notifications/stream", &headers).await;
        assert_eq!(stream.status, 200, "the stream opens");
        let first = stream.next_event().await;
        assert_eq!(
            first.retry.as_deref(),
            Some("3000"),
            "the stream starts with retry: {first:?}"
        );
        stream
    }
}
