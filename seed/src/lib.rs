//! `minifb-seed`: fills a migrated, empty minifb database with a large,
//! reproducible data set for benchmarks: users, posts, comments, reactions
//! on both, and the notifications those imply, Korean and English text of
//! realistic lengths, activity skewed so that a few users post and are
//! notified tens of thousands of times and most users rarely.
//!
//! Every value is built through the domain's own types (`UserId`,
//! `PostContent`, `ReactionKind`, ...), so the data obeys the API's rules;
//! the counters and back-office totals that triggers keep are written as
//! the API's own writes would have left them. Errors are `anyhow` errors
//! with context: this is a tool that reports and stops, nothing recovers.

pub mod copy;
pub mod dataset;
pub mod load;
pub mod text;
pub mod zipf;

use minifb_domain::{DIGEST_LEN, Password, PasswordHash, SALT_LEN};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use dataset::{Counts, Dataset, Sizes};

/// The password of every seeded user (benchmarks log in with it).
pub const PASSWORD: &str = "minifb bench password";

/// Iterations of the seeded users' hash: what the server uses for new
/// hashes by default, so that a login costs what a real one does.
pub const DEFAULT_PASSWORD_ITERATIONS: u32 = 600_000;

/// The stored hash of [`PASSWORD`] in the project's format (Werkzeug's
/// `pbkdf2:sha256:N$salt$hex`), with a salt drawn from `seed`. Computed
/// once and shared by every seeded user (with the `pbkdf2` crate directly,
/// so the seed needs no application-layer crate): one hash at 600,000 iterations
/// takes a fraction of a second, a hundred thousand would take hours.
pub fn password_hash(seed: u64, iterations: u32) -> anyhow::Result<PasswordHash> {
    const SALT_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5A17);
    let salt: String = (0..SALT_LEN)
        .map(|_| char::from(SALT_CHARS[rng.random_range(0..SALT_CHARS.len())]))
        .collect();
    let password = Password::parse(PASSWORD)?;
    let mut digest = [0u8; DIGEST_LEN];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
        password.expose().as_bytes(),
        salt.as_bytes(),
        iterations,
        &mut digest,
    );
    Ok(PasswordHash::new(iterations, salt, digest))
}
