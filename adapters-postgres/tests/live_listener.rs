//! `PgNotificationHub` against a real PostgreSQL (`MINIFB_TEST_DATABASE_URL`,
//! skipped without it): what a stream hears around its listener's start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, RunQueryDsl};
use minifb_adapters_postgres::{
    PgNotificationHub, PgNotificationRepository, Pool, PoolSettings, connect, run_migrations,
};
use minifb_application::live::{LiveEvent, LiveService};
use minifb_domain::UserId;

/// `url` with its database replaced by `database`.
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

/// A fresh database of this test's own, dropped at the end.
struct Database {
    admin_url: String,
    name: String,
    url: String,
}

impl Database {
    fn create(admin_url: String, name: &str) -> Self {
        let mut admin = PgConnection::establish(&admin_url).unwrap();
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .unwrap();
        Self {
            url: with_database(&admin_url, name),
            admin_url,
            name: name.to_owned(),
        }
    }

    fn sql(&self, statements: &str) {
        let mut conn = PgConnection::establish(&self.url).unwrap();
        conn.batch_execute(statements)
            .unwrap_or_else(|error| panic!("{statements}: {error}"));
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin)
            .ok();
        }
    }
}

/// A migrated database of this test's own (`prefix` and the process id)
/// and a small pool on it.
async fn migrated(prefix: &str, admin_url: String) -> (Database, Pool) {
    let name = format!("{prefix}_{}", std::process::id());
    let database = tokio::task::spawn_blocking(move || Database::create(admin_url, &name))
        .await
        .unwrap();
    let settings = PoolSettings {
        max_size: 2,
        wait: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(5),
    };
    let pool = connect(&database.url, settings).unwrap();
    run_migrations(&pool).await.unwrap();
    (database, pool)
}

#[tokio::test]
async fn a_notification_committed_before_the_listener_first_listens_reaches_an_open_stream() {
    let Ok(admin_url) = std::env::var("MINIFB_TEST_DATABASE_URL") else {
        eprintln!("skipped: set MINIFB_TEST_DATABASE_URL");
        return;
    };
    let (database, pool) = migrated("minifb_listener", admin_url).await;
    database.sql(
        "INSERT INTO users (id, password_hash, name) VALUES ('alice', 'x', 'Alice'), ('bobby', 'x', 'Bobby');
         INSERT INTO posts (owner_id, content) VALUES ('alice', 'hello');",
    );
    let hub = PgNotificationHub::new(pool.clone(), &database.url, 10);
    let live = LiveService {
        notifications: Arc::new(PgNotificationRepository::new(pool.clone())),
        feed: Arc::new(hub.clone()),
    };
    let alice = UserId::parse("alice").unwrap();

    // The server serves before its listener has connected: a stream opens,
    // and a notification is committed (and announced to nobody).
    let mut stream = live.open(&alice, None).await.unwrap();
    database.sql(
        "INSERT INTO notifications (user_id, type, actor_id, post_id)
         SELECT 'alice', 2, 'bobby', id FROM posts",
    );
    let listening = tokio::spawn(hub.clone().run());

    let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("the stream hears of the notification once its listener listens")
        .unwrap();
    match event {
        Some(LiveEvent::Notification {
            notification,
            unread_count,
        }) => {
            assert_eq!(notification.actor.id, UserId::parse("bobby").unwrap());
            assert_eq!(unread_count, 1);
        }
        other => panic!("{other:?}"),
    }
    drop(stream);
    hub.close();
    listening.await.unwrap();
    drop(pool);
    tokio::task::spawn_blocking(move || drop(database))
        .await
        .unwrap();
}

/// A close that comes before the hub's task first runs (a SIGTERM right
/// after start-up) still ends it: the shutdown waits for this task.
#[tokio::test]
async fn a_hub_closed_before_it_runs_stops_at_once() {
    let Ok(admin_url) = std::env::var("MINIFB_TEST_DATABASE_URL") else {
        eprintln!("skipped: set MINIFB_TEST_DATABASE_URL");
        return;
    };
    let (database, pool) = migrated("minifb_closed_hub", admin_url).await;
    let hub = PgNotificationHub::new(pool.clone(), &database.url, 10);

    hub.close();
    let ran = tokio::time::timeout(Duration::from_secs(10), hub.run()).await;

    assert!(
        ran.is_ok(),
        "the hub's task outlived a close that came first"
    );
    drop(pool);
    tokio::task::spawn_blocking(move || drop(database))
        .await
        .unwrap();
}
