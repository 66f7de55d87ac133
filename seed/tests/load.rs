//! Loads a small data set into a real, migrated PostgreSQL and checks every
//! counter and statistic against `count(*)`.
//!
//! The PostgreSQL is the one `make test` started (`MINIFB_TEST_DATABASE_URL`,
//! a fresh database is made in it and dropped), or else a throw-away one
//! that `scripts/pg` starts in a temporary directory. The test is skipped
//! only when `MINIFB_SEED_SKIP_DB_TEST=1` says so.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use indicatif::ProgressBar;
use minifb_adapters_crypto::Pbkdf2Hasher;
use minifb_application::ports::PasswordHasher;
use minifb_seed::load::{self, Existing, Marker};
use minifb_seed::{Counts, Dataset, PASSWORD, password_hash};
use minifb_tests::with_database;
use postgres::Client;

const SCALE: f64 = 0.002;
const SEED: u64 = 11;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A PostgreSQL cluster for this test: borrowed from `make test`, or
/// started here and stopped on drop.
struct Cluster {
    admin_url: String,
    own_dir: Option<PathBuf>,
}

impl Cluster {
    /// The cluster, or `None` when `MINIFB_SEED_SKIP_DB_TEST=1` skips the
    /// tests that need one (said on stderr).
    fn get() -> Option<Self> {
        if std::env::var("MINIFB_SEED_SKIP_DB_TEST").as_deref() == Ok("1") {
            eprintln!("skipped: MINIFB_SEED_SKIP_DB_TEST=1");
            return None;
        }
        Some(Self::borrowed_or_started())
    }

    fn borrowed_or_started() -> Self {
        if let Ok(url) = std::env::var("MINIFB_TEST_DATABASE_URL") {
            return Self {
                admin_url: url,
                own_dir: None,
            };
        }
        let dir = std::env::temp_dir().join(format!("minifb-seed-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pg = workspace().join("scripts/pg");
        let status = Command::new(&pg)
            .args(["start", dir.to_str().unwrap(), "--fast"])
            .status()
            .unwrap();
        assert!(status.success(), "scripts/pg could not start PostgreSQL");
        let url = Command::new(&pg)
            .args(["url", dir.to_str().unwrap(), "postgres"])
            .output()
            .unwrap();
        Self {
            admin_url: String::from_utf8(url.stdout).unwrap().trim().to_owned(),
            own_dir: Some(dir),
        }
    }

    /// A fresh database named `<prefix>_<process id>`, with the project's
    /// migrations applied in order.
    fn migrated_database(&self, prefix: &str) -> (Client, String) {
        let name = format!("{prefix}_{}", std::process::id());
        self.drop_database(&name);
        let mut admin = load::connect(&self.admin_url).unwrap();
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = with_database(&self.admin_url, &name);
        let mut client = load::connect(&url).unwrap();
        let mut migrations: Vec<PathBuf> = std::fs::read_dir(workspace().join("migrations"))
            .unwrap()
            .map(|entry| entry.unwrap().path().join("up.sql"))
            .collect();
        migrations.sort();
        for up in migrations {
            client
                .batch_execute(&std::fs::read_to_string(&up).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", up.display()));
        }
        (client, name)
    }

    fn drop_database(&self, name: &str) {
        let mut admin = load::connect(&self.admin_url).unwrap();
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(dir) = &self.own_dir {
            let _ = Command::new(workspace().join("scripts/pg"))
                .args(["stop", dir.to_str().unwrap()])
                .status();
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn count(client: &mut Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn a_small_load_leaves_every_counter_as_the_api_would() {
    let Some(cluster) = Cluster::get() else {
        return;
    };
    let (mut client, name) = cluster.migrated_database("minifb_seed_test");
    assert_eq!(load::inspect(&mut client).unwrap(), Existing::Empty);

    let hash = password_hash(SEED, 1_000).unwrap();
    let end = chrono::Utc::now().timestamp_micros();
    let dataset = Dataset::generate(
        Counts::at_scale(SCALE).unwrap(),
        SEED,
        end,
        hash.encode(),
        |_| {},
    )
    .unwrap();
    let marker = Marker {
        scale: SCALE,
        seed: SEED,
    };
    load::load(&mut client, &dataset, marker, &ProgressBar::hidden()).unwrap();
    let sizes = dataset.sizes();

    for (table, rows) in [
        ("users", sizes.users),
        ("posts", sizes.posts),
        ("comments", sizes.comments),
        ("post_reactions", sizes.post_reactions),
        ("comment_reactions", sizes.comment_reactions),
        ("notifications", sizes.notifications),
    ] {
        assert_eq!(
            count(&mut client, &format!("SELECT count(*) FROM {table}")),
            rows as i64,
            "{table}"
        );
    }
    let mismatched = [
        "SELECT count(*) FROM posts p WHERE comment_count <> \
         (SELECT count(*) FROM comments c WHERE c.post_id = p.id)",
        "SELECT count(*) FROM posts p WHERE reaction_counts <> ARRAY( \
         SELECT count(r.type) FROM generate_series(1, 5) k \
         LEFT JOIN post_reactions r ON r.post_id = p.id AND r.type = k GROUP BY k ORDER BY k)",
        "SELECT count(*) FROM comments c WHERE reaction_counts <> ARRAY( \
         SELECT count(r.type) FROM generate_series(1, 5) k \
         LEFT JOIN comment_reactions r ON r.comment_id = c.id AND r.type = k GROUP BY k ORDER BY k)",
        // Exactly one notification per comment or first reaction by
        // someone other than the post's owner, and none otherwise.
        "SELECT count(*) FROM comments c JOIN posts p ON p.id = c.post_id \
         WHERE lower(c.user_id) <> lower(p.owner_id) AND NOT EXISTS (SELECT 1 FROM notifications n \
         WHERE n.type = 1 AND n.comment_id = c.id AND n.user_id = p.owner_id AND n.actor_id = c.user_id)",
        "SELECT count(*) FROM post_reactions r JOIN posts p ON p.id = r.post_id \
         WHERE lower(r.user_id) <> lower(p.owner_id) AND NOT EXISTS (SELECT 1 FROM notifications n \
         WHERE n.type = 2 AND n.post_id = r.post_id AND n.user_id = p.owner_id AND n.actor_id = r.user_id)",
        "SELECT count(*) FROM notifications WHERE lower(user_id) = lower(actor_id)",
        "SELECT count(*) FROM users u WHERE unread_notifications <> \
         (SELECT count(*) FROM notifications n WHERE n.user_id = u.id AND NOT n.read)",
        // Foreign keys may have been skipped during the load: nothing is
        // orphaned.
        "SELECT count(*) FROM posts WHERE owner_id NOT IN (SELECT id FROM users)",
        "SELECT count(*) FROM comments WHERE user_id NOT IN (SELECT id FROM users) \
         OR post_id NOT IN (SELECT id FROM posts)",
        "SELECT count(*) FROM post_reactions WHERE user_id NOT IN (SELECT id FROM users) \
         OR post_id NOT IN (SELECT id FROM posts)",
        "SELECT count(*) FROM comment_reactions WHERE user_id NOT IN (SELECT id FROM users) \
         OR comment_id NOT IN (SELECT id FROM comments)",
        "SELECT count(*) FROM notifications WHERE user_id NOT IN (SELECT id FROM users) \
         OR actor_id NOT IN (SELECT id FROM users) OR post_id NOT IN (SELECT id FROM posts) \
         OR comment_id NOT IN (SELECT id FROM comments)",
    ];
    for sql in mismatched {
        assert_eq!(count(&mut client, sql), 0, "{sql}");
    }
    assert_eq!(
        count(
            &mut client,
            "SELECT sum(value)::bigint FROM service_counters WHERE name = 'users'"
        ),
        count(&mut client, "SELECT count(*) FROM users")
    );
    assert_eq!(
        count(
            &mut client,
            "SELECT sum(value)::bigint FROM service_counters WHERE name = 'posts'"
        ),
        count(&mut client, "SELECT count(*) FROM posts")
    );
    assert_eq!(
        count(
            &mut client,
            "SELECT count(*) FROM (SELECT quarter, sum(posts) AS n FROM post_counts_by_quarter \
             GROUP BY 1) q FULL JOIN (SELECT minifb_quarter(created_at) AS quarter, count(*) AS n \
             FROM posts GROUP BY 1) p USING (quarter) WHERE q.n IS DISTINCT FROM p.n"
        ),
        0,
        "posts per quarter hour"
    );
    assert!(
        count(
            &mut client,
            "SELECT count(*) FROM posts WHERE created_at >= now() - interval '1 day'"
        ) > 0,
        "some posts are from today"
    );

    // The triggers are back on, and the identities go on after the seeded
    // ids: a write through SQL counts as the API's would.
    let user: String = client
        .query_one("SELECT id FROM users ORDER BY id LIMIT 1", &[])
        .unwrap()
        .get(0);
    let posts_before = count(&mut client, "SELECT count(*) FROM posts");
    let new_id: i64 = client
        .query_one(
            "INSERT INTO posts (owner_id, content) VALUES ($1, 'after the seed') RETURNING id",
            &[&user],
        )
        .unwrap()
        .get(0);
    assert_eq!(new_id, posts_before + 1);
    assert_eq!(
        count(
            &mut client,
            "SELECT sum(value)::bigint FROM service_counters WHERE name = 'posts'"
        ),
        posts_before + 1
    );

    // The stored hash is the documented password's, as the server's own
    // hasher checks it.
    let stored: String = client
        .query_one("SELECT password_hash FROM users LIMIT 1", &[])
        .unwrap()
        .get(0);
    let hasher = Pbkdf2Hasher::new(1_000, 1, Duration::from_secs(5)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let verified = runtime.block_on(hasher.verify(
        PASSWORD.to_owned(),
        minifb_domain::PasswordHash::parse(&stored).unwrap(),
    ));
    assert!(matches!(verified, Ok(true)), "{verified:?}");

    // A second run refuses, or reuses the same scale and seed.
    assert_eq!(
        load::inspect(&mut client).unwrap(),
        Existing::Seeded(marker)
    );
    drop(client);
    cluster.drop_database(&name);
}

/// `minifb-seed` with `args` against `url`: whether it succeeded, and what
/// it wrote to stdout and stderr.
fn seed_command(url: Option<&str>, args: &[&str]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_minifb-seed"));
    command.args(args).env_remove("DATABASE_URL");
    if let Some(url) = url {
        command.env("DATABASE_URL", url);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// The command as an operator runs it: it seeds an empty database, then
/// refuses to seed it again unless told to reuse the same data set, and
/// says what is wrong with a bad command line.
#[test]
fn the_command_seeds_once_then_reuses_or_refuses() {
    let Some(cluster) = Cluster::get() else {
        return;
    };
    let (mut client, name) = cluster.migrated_database("minifb_seed_cli");
    let url = with_database(&cluster.admin_url, &name);
    let small = [
        "--scale",
        "0.001",
        "--seed",
        "5",
        "--password-iterations",
        "1000",
    ];

    let (ok, text) = seed_command(Some(&url), &small);
    assert!(ok, "{text}");
    assert!(text.contains("loaded in"), "{text}");
    let users = count(&mut client, "SELECT count(*) FROM users");
    assert_eq!(users, Counts::at_scale(0.001).unwrap().users as i64);

    let (ok, text) = seed_command(Some(&url), &small);
    assert!(!ok && text.contains("pass --reuse"), "{text}");
    let (ok, text) = seed_command(Some(&url), &[&small[..], &["--reuse"]].concat());
    assert!(ok && text.contains("reusing it"), "{text}");
    let other_seed = ["--scale", "0.001", "--seed", "6", "--reuse"];
    let (ok, text) = seed_command(Some(&url), &other_seed);
    assert!(!ok && text.contains("same scale and seed"), "{text}");
    assert_eq!(count(&mut client, "SELECT count(*) FROM users"), users);

    for (args, says) in [
        (&["--help"][..], "usage: minifb-seed"),
        (&["--bogus"][..], "unknown argument \"--bogus\""),
        (&["--scale"][..], "--scale needs a value"),
        (&["--scale", "many"][..], "--scale must be a number"),
        (&["--scale", "0"][..], "above 0"),
        (
            &["--seed", "-1"][..],
            "--seed must be a non-negative integer",
        ),
        (
            &["--password-iterations", "0"][..],
            "must be a positive integer",
        ),
    ] {
        let (ok, text) = seed_command(Some(&url), args);
        assert_eq!(ok, args == ["--help"], "{args:?}: {text}");
        assert!(text.contains(says), "{args:?}: {text}");
    }
    let (ok, text) = seed_command(None, &small);
    assert!(!ok && text.contains("DATABASE_URL is not set"), "{text}");

    // A database with data of its own is never seeded over.
    let (mut foreign, foreign_name) = cluster.migrated_database("minifb_seed_foreign");
    foreign
        .batch_execute(
            "INSERT INTO users (id, password_hash, name) VALUES ('someone', 'x', 'Someone')",
        )
        .unwrap();
    let (ok, text) = seed_command(
        Some(&with_database(&cluster.admin_url, &foreign_name)),
        &small,
    );
    assert!(!ok && text.contains("not empty"), "{text}");
    drop((client, foreign));
    cluster.drop_database(&name);
    cluster.drop_database(&foreign_name);
}
