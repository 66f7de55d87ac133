//! Start-up, against a fresh database of the PostgreSQL that `make test`
//! started (`MINIFB_TEST_DATABASE_URL`): what an operator who leaves the
//! secrets unset gets from `Server::build`, the start-up errors that must
//! name the variable to fix, and the binary's human-readable logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use minifb_server::{Config, Server};

/// A database of one test, dropped at the end.
struct Database {
    admin_url: String,
    name: String,
}

impl Database {
    fn create(test: &str) -> Self {
        let admin_url = std::env::var("MINIFB_TEST_DATABASE_URL")
            .expect("MINIFB_TEST_DATABASE_URL is not set: run the tests with `make test`");
        let name = format!("build_{test}_{}", std::process::id());
        let mut admin = PgConnection::establish(&admin_url).unwrap();
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}"))
            .execute(&mut admin)
            .unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        Self { admin_url, name }
    }

    /// The admin URL pointed at this database (a `dbname` parameter
    /// overrides the URL's path in libpq and tokio-postgres alike).
    fn url(&self) -> String {
        let separator = if self.admin_url.contains('?') {
            '&'
        } else {
            '?'
        };
        format!("{}{separator}dbname={}", self.admin_url, self.name)
    }

    /// A configuration read from `vars` and this database's URL.
    fn config(&self, vars: &[(&str, &str)]) -> anyhow::Result<Config> {
        let url = self.url();
        Config::from_lookup(|name| match name {
            "DATABASE_URL" => Some(url.clone()),
            "MINIFB_BIND" => Some("127.0.0.1:0".into()),
            _ => vars
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned()),
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            diesel::sql_query(drop).execute(&mut admin).ok();
        }
    }
}

#[tokio::test]
async fn without_secrets_the_server_generates_them_and_never_prints_them() {
    let database = Database::create("secrets");
    // SMTP configured: the server wires it at build, and sends nothing yet.
    let config = database
        .config(&[("MINIFB_SMTP_URL", "smtp://127.0.0.1:9")])
        .unwrap();

    let server = Server::build(&config).await.unwrap();

    assert_ne!(server.local_addr().unwrap().port(), 0);
    assert!(config.jwt_secret.generated && config.admin_token.generated);
    let printed = format!("{config:?}");
    assert!(printed.contains("Secret(generated: true)"), "{printed}");
    for secret in [&config.jwt_secret.value, &config.admin_token.value] {
        assert!(!printed.contains(secret.as_str()), "a secret in {printed}");
    }
}

#[tokio::test]
async fn an_address_in_use_stops_the_build_naming_the_variable() {
    let database = Database::create("bind");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let mut config = database.config(&[]).unwrap();
    config.bind = taken.local_addr().unwrap();

    let err = Server::build(&config).await.err().unwrap();

    assert_eq!(
        err.to_string(),
        format!("could not listen on MINIFB_BIND={address}")
    );
}

/// `MINIFB_LOG_FORMAT=pretty` with a `RUST_LOG` that is no filter: the
/// binary logs text lines at `info` (the fallback) instead of refusing to
/// start, and still stops cleanly on SIGTERM.
#[test]
fn pretty_logs_with_an_unreadable_rust_log_fall_back_to_info() {
    let database = Database::create("pretty");
    let mut child = Command::new(env!("CARGO_BIN_EXE_minifb-server"))
        .current_dir(std::env::temp_dir())
        .env("DATABASE_URL", database.url())
        .env("MINIFB_BIND", "127.0.0.1:0")
        .env("MINIFB_LOG_FORMAT", "pretty")
        .env("RUST_LOG", "minifb=loudest")
        .env("NO_COLOR", "1")
        .env(
            "MINIFB_MAIL_OUTBOX",
            std::env::temp_dir().join("minifb-pretty.jsonl"),
        )
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    // Should an assertion fail first, the process must not outlive the test.
    let _reaper = Reaper(pid);
    let (lines, received) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            lines.send(line).ok();
        }
    });

    let serving = received
        .iter()
        .find(|line| line.contains("minifb is serving"))
        .expect("the server logs that it serves");
    // Answered once: by then the server listens for SIGTERM (the log line
    // comes a moment before it does).
    let address = serving
        .split("address=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the line names the address");
    let mut health = std::net::TcpStream::connect(address).unwrap();
    health
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    health.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut waited = Duration::ZERO;
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(waited < Duration::from_secs(15), "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
        waited += Duration::from_millis(20);
    };

    assert!(exit.success(), "{exit}");
    assert!(!serving.starts_with('{'), "a JSON line: {serving}");
    assert!(serving.contains(" INFO "), "{serving}");
}

/// Kills a process when the test fails before stopping it, so that it
/// does not outlive the test.
struct Reaper(u32);

impl Drop for Reaper {
    fn drop(&mut self) {
        if std::thread::panicking() {
            Command::new("kill")
                .args(["-KILL", &self.0.to_string()])
                .status()
                .ok();
        }
    }
}
