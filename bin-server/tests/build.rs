//! `Server::build` as start-up runs it, against a fresh database of the
//! PostgreSQL that `make test` started (`MINIFB_TEST_DATABASE_URL`): what an
//! operator who leaves the secrets unset gets, and the start-up errors that
//! must name the variable to fix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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
async fn an_origin_that_is_no_header_value_stops_the_build_naming_the_variable() {
    let database = Database::create("cors");
    let config = database
        .config(&[(
            "MINIFB_CORS_ORIGINS",
            "https://a.example,https://b\u{7f}.example",
        )])
        .unwrap();

    let err = Server::build(&config).await.err().unwrap();

    assert_eq!(
        err.to_string(),
        "MINIFB_CORS_ORIGINS has an invalid origin: https://b\u{7f}.example"
    );
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
