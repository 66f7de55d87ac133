//! `run_migrations` where start-up can go wrong: a database that is not
//! there, and a migration that PostgreSQL refuses. Each is an error that
//! says which step failed, and a refused migration leaves nothing applied.
//! The PostgreSQL is the one `make test` started (`MINIFB_TEST_DATABASE_URL`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use minifb_adapters_postgres::{PoolSettings, connect, run_migrations};

const SETTINGS: PoolSettings = PoolSettings {
    max_size: 1,
    wait: Duration::from_secs(5),
    statement_timeout: Duration::from_secs(5),
};

fn admin_url() -> String {
    std::env::var("MINIFB_TEST_DATABASE_URL")
        .expect("MINIFB_TEST_DATABASE_URL is not set: run the tests with `make test`")
}

/// `admin_url` pointed at `database` (a `dbname` parameter overrides the
/// URL's path).
fn url_of(database: &str) -> String {
    let admin = admin_url();
    let separator = if admin.contains('?') { '&' } else { '?' };
    format!("{admin}{separator}dbname={database}")
}

fn admin() -> PgConnection {
    PgConnection::establish(&admin_url()).unwrap()
}

#[tokio::test]
async fn migrating_a_database_that_does_not_exist_says_it_could_not_connect() {
    let missing = format!("missing_{}", std::process::id());
    let pool = connect(&url_of(&missing), SETTINGS).unwrap();

    let err = run_migrations(&pool).await.unwrap_err();

    let message = err.to_string();
    assert!(
        message.starts_with("could not connect to the database: ") && message.contains(&missing),
        "{message}"
    );
}

#[tokio::test]
async fn a_refused_migration_is_an_error_and_applies_nothing() {
    let name = format!("refused_{}", std::process::id());
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut admin())
        .unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut admin())
        .unwrap();
    // A table of the first migration's name already there, as in a
    // database that another application uses.
    let mut conn = PgConnection::establish(&url_of(&name)).unwrap();
    diesel::sql_query("CREATE TABLE users (somebody_elses integer)")
        .execute(&mut conn)
        .unwrap();
    let pool = connect(&url_of(&name), SETTINGS).unwrap();

    let err = run_migrations(&pool).await.unwrap_err();

    assert!(err.to_string().starts_with("migration failed: "), "{err:#}");
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let tables = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .get_result::<Count>(&mut conn)
    .unwrap();
    let applied = diesel::sql_query("SELECT count(*) AS n FROM __diesel_schema_migrations")
        .get_result::<Count>(&mut conn)
        .unwrap();
    // The other application's table, and the migrations' own bookkeeping.
    assert_eq!((tables.n, applied.n), (2, 0));
    drop((conn, pool));
    diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin())
        .unwrap();
}
