//! `minifb-seed [--scale F] [--seed N] [--reuse] [--password-iterations N]`:
//! seeds the migrated, empty database at `DATABASE_URL`. See the crate's
//! documentation and docs/performance.md.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use minifb_seed::load::{self, Existing, Marker};
use minifb_seed::{Counts, DEFAULT_PASSWORD_ITERATIONS, Dataset, PASSWORD, password_hash};

const USAGE: &str = "\
usage: minifb-seed [--scale F] [--seed N] [--reuse] [--password-iterations N]

Fills the migrated, empty minifb database at DATABASE_URL with a
reproducible data set: at --scale 1 (the default) 100,000 users, 1,000,000
posts, 1,000,000 comments, 3,000,000 post reactions, 1,000,000 comment
reactions and the notifications they imply. Every count is multiplied by
--scale. The same --seed (default 2026) gives the same data, timestamps
aside (they end now).

  --reuse                  a database seeded before with the same scale and
                           seed is left as it is (exit 0) instead of refused
  --password-iterations N  PBKDF2 iterations of the users' hash (600000)

Every seeded user's password is \"minifb bench password\".";

#[derive(Debug)]
struct Args {
    scale: f64,
    seed: u64,
    reuse: bool,
    iterations: u32,
}

fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut args = Args {
        scale: 1.0,
        seed: 2026,
        reuse: false,
        iterations: DEFAULT_PASSWORD_ITERATIONS,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        let mut value = |name: &str| {
            given
                .next()
                .with_context(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--scale" => {
                args.scale = value("--scale")?
                    .parse()
                    .context("--scale must be a number")?;
            }
            "--seed" => {
                args.seed = value("--seed")?
                    .parse()
                    .context("--seed must be a non-negative integer")?;
            }
            "--password-iterations" => {
                args.iterations = value("--password-iterations")?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .context("--password-iterations must be a positive integer")?;
            }
            "--reuse" => args.reuse = true,
            "-h" | "--help" => return Ok(None),
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(Some(args))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("minifb-seed: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let Some(args) = parse_args()? else {
        println!("{USAGE}");
        return Ok(());
    };
    let counts = Counts::at_scale(args.scale)?;
    let url = std::env::var("DATABASE_URL").context("DATABASE_URL is not set")?;
    let mut client = load::connect(&url)?;
    let marker = Marker {
        scale: args.scale,
        seed: args.seed,
    };
    match load::inspect(&mut client)? {
        Existing::Empty => {}
        Existing::Seeded(found) if args.reuse && found == marker => {
            eprintln!(
                "minifb-seed: the database is already seeded at scale {} with seed {}; reusing it",
                found.scale, found.seed
            );
            return Ok(());
        }
        Existing::Seeded(found) => bail!(
            "the database was already seeded (scale {}, seed {}); seed an empty database{}",
            found.scale,
            found.seed,
            if args.reuse {
                ", or reuse one seeded with the same scale and seed"
            } else {
                ", or pass --reuse to keep one seeded with the same scale and seed"
            }
        ),
        Existing::Foreign => bail!(
            "the users table is not empty: minifb-seed only fills an empty, migrated database"
        ),
    }

    let started = Instant::now();
    let hash = password_hash(args.seed, args.iterations)?;
    let end = chrono::Utc::now().timestamp_micros();
    let status = ProgressBar::new_spinner();
    hide_unless_terminal(&status);
    let dataset = Dataset::generate(counts, args.seed, end, hash.encode(), |phase| {
        status.set_message(format!("generating {phase}"));
        status.tick();
    })?;
    status.finish_and_clear();
    let sizes = dataset.sizes();
    eprintln!(
        "minifb-seed: generated {} users, {} posts, {} comments, {} post reactions, \
         {} comment reactions, {} notifications in {:.1} s",
        sizes.users,
        sizes.posts,
        sizes.comments,
        sizes.post_reactions,
        sizes.comment_reactions,
        sizes.notifications,
        started.elapsed().as_secs_f64()
    );

    let progress = ProgressBar::new(sizes.total() as u64);
    hide_unless_terminal(&progress);
    progress.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg:18} [{bar:40}] {human_pos}/{human_len} rows {per_sec} eta {eta}",
        )?
        .progress_chars("=> "),
    );
    load::load(&mut client, &dataset, marker, &progress)?;
    progress.finish_and_clear();
    eprintln!(
        "minifb-seed: loaded in {:.1} s in all; every user's password is {PASSWORD:?}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A progress bar on a terminal, nothing in a log file.
fn hide_unless_terminal(bar: &ProgressBar) {
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
}
