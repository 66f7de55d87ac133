//! The database under a server started here, reached with SQL for what
//! HTTP cannot arrange, and locks held on it to keep a request in flight.

use std::time::{Duration, Instant};

use diesel::{Connection, PgConnection, RunQueryDsl};

use crate::app::TestApp;
use crate::database::TestDatabase;

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
        database.sql(statement).await
    }
}

impl TestDatabase {
    /// Runs one SQL statement and returns how many rows it touched.
    pub async fn sql(&self, statement: &str) -> usize {
        let (url, statement) = (self.url.clone(), statement.to_owned());
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&url).unwrap();
            diesel::sql_query(&statement)
                .execute(&mut conn)
                .unwrap_or_else(|error| panic!("{statement}: {error}"))
        })
        .await
        .unwrap()
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
