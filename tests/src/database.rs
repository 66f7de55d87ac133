//! The database of each test, made from a migrated template and dropped
//! when the test ends.

use diesel::{Connection, PgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;

use crate::ids::unique_id;

const TEMPLATE: &str = "minifb_template";

/// A migrated database of one test, dropped when the test ends.
pub struct TestDatabase {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestDatabase {
    pub async fn create() -> Self {
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
    pub(crate) fn drop_now(&self) -> bool {
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
