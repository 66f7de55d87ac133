//! The statements a server started here sends to its database, seen through
//! Diesel's instrumentation: every connection this process opens reports
//! the database it connected to and each statement it then runs, so that
//! the tests can hold each write route to its budget of round trips.
//!
//! Transaction control (`BEGIN`, `COMMIT`, savepoints) and session set-up
//! (`SET`, run once per new pooled connection) are not counted: the budget
//! is the statements that do the work.

use std::collections::HashMap;
use std::sync::{Mutex, Once};

use diesel::connection::{Instrumentation, InstrumentationEvent, set_default_instrumentation};

use crate::app::TestApp;

/// The statements run so far, per database.
static RUN: Mutex<Option<HashMap<String, Vec<String>>>> = Mutex::new(None);

/// Reports a connection's statements under the database it connected to.
struct Recorder {
    database: Option<String>,
}

impl Instrumentation for Recorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                self.database = Some(database_of(url).to_owned());
            }
            InstrumentationEvent::StartQuery { query, .. } => {
                let sql = query.to_string();
                if let Some(database) = &self.database
                    && counts(&sql)
                {
                    let mut run = RUN.lock().unwrap();
                    let by_database = run.get_or_insert_with(HashMap::new);
                    by_database.entry(database.clone()).or_default().push(sql);
                }
            }
            _ => {}
        }
    }
}

fn recorder() -> Option<Box<dyn Instrumentation>> {
    Some(Box::new(Recorder { database: None }))
}

/// Whether a statement does the work of a request (not `BEGIN`, `COMMIT`,
/// a savepoint, or a connection's `SET`s).
fn counts(sql: &str) -> bool {
    let first = sql
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .trim_end_matches(';')
        .to_ascii_uppercase();
    !matches!(
        first.as_str(),
        "BEGIN" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "SET"
    )
}

/// The database name of a connection URL (`…/name?host=…`).
fn database_of(url: &str) -> &str {
    let path = url.split_once('?').map_or(url, |(path, _)| path);
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

/// Turns the recording on for every connection opened from now on.
pub(crate) fn record_statements() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| set_default_instrumentation(recorder).unwrap());
}

impl TestApp {
    /// A server started here whose statements are recorded, or `None`
    /// (the test skipped, saying so) against `MINIFB_URL`.
    pub async fn spawn_recording() -> Option<Self> {
        record_statements();
        Self::spawn_local().await
    }

    /// How many statements this server has run on its database so far.
    fn statements_so_far(&self) -> usize {
        let database = &self.database.as_ref().expect("a local server").name;
        let run = RUN.lock().unwrap();
        run.as_ref()
            .and_then(|by_database| by_database.get(database))
            .map_or(0, Vec::len)
    }

    /// The statements this server ran while `work` ran: its request's, and
    /// any background work's that fell in the same moment (so a caller
    /// that wants a request's own count takes the least of a few).
    pub async fn statements_during<T>(&self, work: impl Future<Output = T>) -> (T, Vec<String>) {
        let database = self.database.as_ref().expect("a local server").name.clone();
        let before = self.statements_so_far();
        let result = work.await;
        let run = RUN.lock().unwrap();
        let all = run
            .as_ref()
            .and_then(|by_database| by_database.get(&database))
            .map_or(&[][..], Vec::as_slice);
        (result, all[before.min(all.len())..].to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_is_the_last_segment_of_the_path() {
        assert_eq!(
            database_of("postgresql://postgres@/test_ab12?host=/tmp/pg"),
            "test_ab12"
        );
        assert_eq!(database_of("postgres://u:p@h:5432/minifb"), "minifb");
    }

    #[test]
    fn transaction_control_and_set_up_are_not_counted() {
        for sql in [
            "BEGIN",
            "COMMIT",
            "ROLLBACK",
            "SAVEPOINT diesel_savepoint_1",
            "RELEASE SAVEPOINT x",
            "SET statement_timeout = 5; SET plan_cache_mode = x",
        ] {
            assert!(!counts(sql), "{sql}");
        }
        for sql in [
            "SELECT 1",
            "INSERT INTO posts",
            "  with x as (select 1) select 2",
            "DELETE FROM comments",
        ] {
            assert!(counts(sql), "{sql}");
        }
    }
}
