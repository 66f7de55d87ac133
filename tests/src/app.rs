//! The server under test: one started here on a database of its own, or
//! the one at `MINIFB_URL`, and the client the suite talks to it with.

use std::path::PathBuf;

use crate::database::TestDatabase;

/// The back-office token of servers started here.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdefghijklmnop";

/// The access-token key of servers started here (shared by siblings, as a
/// deployment of several processes shares it).
pub const JWT_SECRET: &str = "test-jwt-secret-0123456789abcdefghijklmnopqrstuv";

/// A running server to test, and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The mail outbox file, when the server was started here.
    pub outbox: Option<PathBuf>,
    /// The back-office token (`MINIFB_TEST_ADMIN_TOKEN` against a running
    /// server).
    pub admin_token: Option<String>,
    pub(crate) server: Option<RunningServer>,
    pub(crate) database: Option<std::sync::Arc<TestDatabase>>,
    /// The settings the server was started with besides the defaults, for
    /// its siblings.
    pub(crate) settings: Vec<(String, String)>,
}

/// A server started in this process, and how to stop it.
pub(crate) struct RunningServer {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
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
                settings: Vec::new(),
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
            settings: settings
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }

    /// Whether this suite started the server (and may start more).
    pub fn is_local(&self) -> bool {
        self.database.is_some()
    }

    /// A second server process on the same database and with the same
    /// settings, as behind a load balancer. Only for servers started here.
    pub async fn sibling(&self) -> Self {
        let database = self
            .database
            .clone()
            .expect("sibling() needs a local server");
        let outbox = self.outbox.clone().expect("local servers have an outbox");
        let settings: Vec<(&str, &str)> = self
            .settings
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        Self::start(self.client.clone(), database, outbox, &settings).await
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

    /// [`TestApp::with_admin_token`] for a test that needs a server started
    /// here (`None`, the test skipped, against any other).
    pub async fn local_with_admin_token() -> Option<(Self, String)> {
        Self::with_admin_token()
            .await
            .filter(|(app, _)| !app.skip_unless_local())
    }
}
