//! `PgNotificationHub` against a real PostgreSQL, below HTTP: what a stream
//! hears around its listener's start, and a hub closed before it runs. Each
//! test has a migrated database of its own from the harness.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use minifb_adapters_postgres::{
    PgNotificationHub, PgNotificationRepository, Pool, PoolSettings, connect,
};
use minifb_application::live::{LiveEvent, LiveService};
use minifb_domain::UserId;
use minifb_tests::TestDatabase;

/// A small pool on `database`.
fn pool(database: &TestDatabase) -> Pool {
    let settings = PoolSettings {
        max_size: 2,
        wait: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(5),
    };
    connect(&database.url, settings).unwrap()
}

#[tokio::test]
async fn a_notification_committed_before_the_listener_first_listens_reaches_an_open_stream() {
    let database = TestDatabase::create().await;
    database
        .sql("INSERT INTO users (id, password_hash, name) VALUES ('alice', 'x', 'Alice'), ('bobby', 'x', 'Bobby')")
        .await;
    database
        .sql("INSERT INTO posts (owner_id, content) VALUES ('alice', 'hello')")
        .await;
    let pool = pool(&database);
    let hub = PgNotificationHub::new(pool.clone(), &database.url, 10);
    let live = LiveService {
        notifications: Arc::new(PgNotificationRepository::new(pool.clone())),
        feed: Arc::new(hub.clone()),
    };
    let alice = UserId::parse("alice").unwrap();

    // The server serves before its listener has connected: a stream opens,
    // and a notification is committed (and announced to nobody).
    let mut stream = live.open(&alice, None).await.unwrap();
    database
        .sql(
            "INSERT INTO notifications (user_id, type, actor_id, post_id)
             SELECT 'alice', 2, 'bobby', id FROM posts",
        )
        .await;
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
}

/// A close that comes before the hub's task first runs (a SIGTERM right
/// after start-up) still ends it: the shutdown waits for this task.
#[tokio::test]
async fn a_hub_closed_before_it_runs_stops_at_once() {
    let database = TestDatabase::create().await;
    let hub = PgNotificationHub::new(pool(&database), &database.url, 10);

    hub.close();
    let ran = tokio::time::timeout(Duration::from_secs(10), hub.run()).await;

    assert!(
        ran.is_ok(),
        "the hub's task outlived a close that came first"
    );
}
