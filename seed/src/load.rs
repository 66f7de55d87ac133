//! Writing the data set into PostgreSQL.
//!
//! Everything goes in one transaction, so a failed load leaves the database
//! as it was. Inside it the tables' own triggers are switched off (the
//! counters they keep are written with the rows instead, and the service
//! totals set once at the end, as the migration does for rows that predate
//! it), secondary indexes are dropped and rebuilt after the load (a sort
//! beats millions of random insertions), and rows arrive through
//! `COPY ... FROM STDIN` in batches. Foreign keys are checked unless the
//! role is a superuser, which can skip them (see [`load`]).

use std::io::{BufWriter, Write};
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::ProgressBar;
use postgres::{Client, NoTls};

use crate::copy::Table;
use crate::dataset::Dataset;

/// Rows per `COPY` statement: large enough to stream, small enough that the
/// progress bar moves and the pending foreign-key checks stay small.
const BATCH_ROWS: usize = 100_000;

/// The table in which a seeded database records what it was seeded with,
/// so that a benchmark can tell whether it may reuse it.
const MARKER_TABLE: &str = "minifb_seed";

/// What a seeded database was seeded with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marker {
    pub scale: f64,
    pub seed: u64,
}

/// What the target database holds before the load.
#[derive(Debug, Clone, PartialEq)]
pub enum Existing {
    /// Migrated, and without users: ready to be seeded.
    Empty,
    /// Seeded earlier by this program.
    Seeded(Marker),
    /// Holds users that this program did not put there.
    Foreign,
}

pub fn connect(url: &str) -> anyhow::Result<Client> {
    Client::connect(url, NoTls).context("cannot connect to DATABASE_URL")
}

/// Tells an empty migrated database from a seeded or a used one.
pub fn inspect(client: &mut Client) -> anyhow::Result<Existing> {
    let migrated: bool = client
        .query_one("SELECT to_regclass('users') IS NOT NULL", &[])?
        .get(0);
    if !migrated {
        bail!(
            "the database has no users table: it is not migrated yet. Start minifb-server \
             against it once (it applies the migrations at start-up), then seed."
        );
    }
    let has_users: bool = client
        .query_one("SELECT EXISTS (SELECT 1 FROM users)", &[])?
        .get(0);
    if !has_users {
        return Ok(Existing::Empty);
    }
    let has_marker: bool = client
        .query_one(
            &format!("SELECT to_regclass('{MARKER_TABLE}') IS NOT NULL"),
            &[],
        )?
        .get(0);
    if !has_marker {
        return Ok(Existing::Foreign);
    }
    let row = client.query_opt(
        &format!("SELECT scale, seed FROM {MARKER_TABLE} ORDER BY loaded_at DESC LIMIT 1"),
        &[],
    )?;
    Ok(match row {
        Some(row) => Existing::Seeded(Marker {
            scale: row.get(0),
            seed: row.get::<_, i64>(1) as u64,
        }),
        None => Existing::Foreign,
    })
}

/// Loads `dataset` into an empty migrated database and sets every counter
/// and statistic as the API's writes would have left them.
pub fn load(
    client: &mut Client,
    dataset: &Dataset,
    marker: Marker,
    progress: &ProgressBar,
) -> anyhow::Result<()> {
    let tables: Vec<&str> = Table::ALL.iter().map(|t| t.name()).collect();
    let mut tx = client.transaction()?;
    tx.batch_execute(
        "SET LOCAL maintenance_work_mem = '512MB';
         SET LOCAL synchronous_commit = off;",
    )?;
    for table in &tables {
        tx.batch_execute(&format!("ALTER TABLE {table} DISABLE TRIGGER USER"))?;
    }
    let superuser: bool = tx
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user",
            &[],
        )?
        .get(0);
    if superuser {
        // Skips the foreign-key checks too, which otherwise cost more than
        // the rows themselves (three look-ups per notification). The
        // generator only refers to rows it made, and the load test checks
        // that nothing is orphaned.
        tx.batch_execute("SET LOCAL session_replication_role = replica")?;
    }
    let indexes = secondary_indexes(&mut tx, &tables)?;
    for (name, _) in &indexes {
        tx.batch_execute(&format!("DROP INDEX \"{name}\""))?;
    }

    for table in Table::ALL {
        let rows = table.rows(dataset);
        let started = Instant::now();
        progress.set_message(table.name());
        let mut start = 0;
        while start < rows {
            let end = (start + BATCH_ROWS).min(rows);
            let statement = format!("COPY {} ({}) FROM STDIN", table.name(), table.columns());
            let writer = tx.copy_in(&statement)?;
            let mut out = BufWriter::with_capacity(1 << 20, writer);
            for index in start..end {
                table.write_row(dataset, index, &mut out)?;
            }
            out.into_inner()
                .map_err(|e| e.into_error())?
                .finish()
                .with_context(|| format!("COPY into {}", table.name()))?;
            progress.inc((end - start) as u64);
            start = end;
        }
        report(
            progress,
            &format!("{rows} rows into {}", table.name()),
            started,
        );
    }

    progress.set_message("indexes");
    let started = Instant::now();
    for (_, definition) in &indexes {
        tx.batch_execute(definition)?;
    }
    report(
        progress,
        &format!("{} secondary indexes rebuilt", indexes.len()),
        started,
    );
    progress.set_message("counters");
    set_statistics(&mut tx, dataset)?;
    for table in &tables {
        tx.batch_execute(&format!("ALTER TABLE {table} ENABLE TRIGGER USER"))?;
    }
    tx.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (
             scale     double precision NOT NULL,
             seed      bigint           NOT NULL,
             loaded_at timestamptz      NOT NULL DEFAULT now()
         );
         COMMENT ON TABLE {MARKER_TABLE} IS
             'What minifb-seed filled this database with; make bench reuses a database of the same scale and seed.';"
    ))?;
    tx.execute(
        &format!("INSERT INTO {MARKER_TABLE} (scale, seed) VALUES ($1, $2)"),
        &[&marker.scale, &(marker.seed as i64)],
    )?;
    tx.commit()?;

    progress.set_message("vacuum analyze");
    let started = Instant::now();
    for table in &tables {
        client.batch_execute(&format!("VACUUM (ANALYZE) {table}"))?;
    }
    report(progress, "vacuum analyze", started);
    Ok(())
}

/// One line per finished phase, above the progress bar or in the log.
fn report(progress: &ProgressBar, what: &str, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    progress.suspend(|| eprintln!("minifb-seed: {what} in {seconds:.1} s"));
}

/// Indexes of `tables` that no constraint owns (primary keys stay), with
/// the statement that recreates each.
fn secondary_indexes(
    tx: &mut postgres::Transaction<'_>,
    tables: &[&str],
) -> anyhow::Result<Vec<(String, String)>> {
    let tables: Vec<String> = tables.iter().map(|t| (*t).to_owned()).collect();
    let rows = tx.query(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid)
           FROM pg_index i
           JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_class t ON t.oid = i.indrelid
          WHERE t.relnamespace = current_schema()::regnamespace
            AND t.relname = ANY($1)
            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
          ORDER BY c.relname",
        &[&tables],
    )?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The back office's totals: users and posts into shard 0 of
/// `service_counters` (added to what the migration put there), and posts
/// per quarter hour, bucketed by the schema's own `minifb_quarter`, written
/// oldest first as a running service appends them (so that the day's
/// buckets share a page or two, not one page each as in hash order); each
/// user's unread notifications (the triggers that keep it are off here).
fn set_statistics(tx: &mut postgres::Transaction<'_>, dataset: &Dataset) -> anyhow::Result<()> {
    let sizes = dataset.sizes();
    for (name, value) in [("users", sizes.users), ("posts", sizes.posts)] {
        tx.execute(
            "INSERT INTO service_counters (name, shard, value) VALUES ($1, 0, $2)
             ON CONFLICT (name, shard) DO UPDATE SET value = service_counters.value + EXCLUDED.value",
            &[&name, &(value as i64)],
        )?;
    }
    tx.batch_execute(
        "INSERT INTO post_counts_by_quarter (quarter, shard, posts)
         SELECT minifb_quarter(created_at), 0, count(*) FROM posts GROUP BY 1 ORDER BY 1
         ON CONFLICT (quarter, shard) DO UPDATE
             SET posts = post_counts_by_quarter.posts + EXCLUDED.posts;
         SELECT setval(pg_get_serial_sequence('posts', 'id'), max(id)) FROM posts HAVING count(*) > 0;
         SELECT setval(pg_get_serial_sequence('comments', 'id'), max(id)) FROM comments HAVING count(*) > 0;
         SELECT setval(pg_get_serial_sequence('notifications', 'id'), max(id)) FROM notifications HAVING count(*) > 0;
         UPDATE users u SET unread_notifications = n.unread
           FROM (SELECT user_id, count(*) AS unread FROM notifications WHERE NOT read GROUP BY user_id) n
          WHERE u.id = n.user_id;",
    )?;
    Ok(())
}

/// Writes all rows of `table` to `out`, for tests that read what the
/// database would be sent.
pub fn write_table(dataset: &Dataset, table: Table, out: &mut impl Write) -> anyhow::Result<()> {
    for index in 0..table.rows(dataset) {
        table.write_row(dataset, index, out)?;
    }
    Ok(())
}
