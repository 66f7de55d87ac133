//! Password hashing on a bounded pool of blocking threads.
//!
//! PBKDF2 with 600,000 rounds takes tens of milliseconds of CPU by design.
//! Running it on the async workers would stall every other request, and an
//! unbounded number of concurrent hashes would let a flood of sign-ups or
//! logins starve the server, so hashes take a permit from a semaphore sized
//! to the hashing threads; a request that waits longer than the saturation
//! limit for a permit gets [`HashError::Busy`] (HTTP 503).
//!
//! The hashing threads are a small rayon pool of their own, not tokio's
//! blocking pool, which runs every database call (deadpool's `interact`):
//! a login storm then takes at most its own threads, never the ones that
//! serve reads (tokio's documentation of `spawn_blocking` points CPU-bound
//! work to rayon for the same reason: a pool sized for the work).
//!
//! They run at normal priority. With lowered ones (nice, `SCHED_IDLE`,
//! `SCHED_BATCH`, `SCHED_DEADLINE`), while a login storm kept one of them
//! busy, threads that serve reads, and PostgreSQL's, waited for a CPU for
//! up to seconds, or logins were capped at any load; docs/performance.md
//! has the figures.
//!
//! Hashes are Werkzeug's `pbkdf2:sha256` (the format is the domain's
//! [`PasswordHash`]); a check always costs at least the configured rounds,
//! so a stored hash with fewer rounds (an imported one) answers as slowly
//! as a new one.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use minifb_application::ports::{HashError, PasswordHasher};
use minifb_domain::{DIGEST_LEN, Password, PasswordHash, SALT_LEN};
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::{Semaphore, oneshot};

/// PBKDF2-HMAC-SHA256 of `password` with `salt` (its UTF-8 bytes).
fn derive(password: &[u8], salt: &str, iterations: u32) -> [u8; DIGEST_LEN] {
    let mut out = [0u8; DIGEST_LEN];
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt.as_bytes(), iterations, &mut out);
    out
}

/// A new hash of `password` in Werkzeug's format.
fn hash_password(password: &Password, salt: &str, iterations: u32) -> PasswordHash {
    let digest = derive(password.expose().as_bytes(), salt, iterations);
    PasswordHash::new(iterations, salt, digest)
}

/// Whether `password` derives `hash`, compared in constant time, after at
/// least `min_rounds` rounds: a hash with fewer rounds of its own is padded
/// with rounds whose result is thrown away.
fn verify_padded(password: &str, hash: &PasswordHash, min_rounds: u32) -> bool {
    let computed = derive(password.as_bytes(), hash.salt(), hash.iterations());
    let padding = min_rounds.saturating_sub(hash.iterations());
    if padding > 0 {
        std::hint::black_box(derive(password.as_bytes(), hash.salt(), padding));
    }
    computed.ct_eq(hash.digest()).into()
}

/// A request waiting for a hashing thread, counted in the
/// `password_hashing_waiting` gauge until it gets one, gives up, or is
/// dropped with its request.
struct Waiting {
    since: std::time::Instant,
}

impl Waiting {
    fn start() -> Self {
        metrics::gauge!("password_hashing_waiting").increment(1.0);
        Self {
            since: std::time::Instant::now(),
        }
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        metrics::gauge!("password_hashing_waiting").decrement(1.0);
    }
}

/// PBKDF2-HMAC-SHA256 with a fixed number of rounds for new hashes.
pub struct Pbkdf2Hasher {
    iterations: u32,
    threads: rayon::ThreadPool,
    permits: Arc<Semaphore>,
    max_wait: Duration,
    dummy: PasswordHash,
}

impl Pbkdf2Hasher {
    /// `threads` hashes run at once, on threads of their own; a request
    /// waits at most `max_wait` for its turn.
    pub fn new(iterations: u32, threads: usize, max_wait: Duration) -> Result<Self, HashError> {
        let threads = threads.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("minifb-hash-{i}"))
            // A job that panics drops its reply, which its caller sees as a
            // failure; the pool and the process go on.
            .panic_handler(drop)
            .build()
            .map_err(|e| HashError::Failed(e.to_string()))?;
        Ok(Self {
            iterations,
            threads: pool,
            permits: Arc::new(Semaphore::new(threads)),
            max_wait,
            dummy: PasswordHash::unmatchable(iterations),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let waiting = Waiting::start();
        let permit = tokio::time::timeout(self.max_wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| {
                metrics::counter!("password_hashing_refused_total").increment(1);
                HashError::Busy
            })?
            .map_err(|e| HashError::Failed(e.to_string()))?;
        metrics::histogram!("password_hashing_wait_seconds")
            .record(waiting.since.elapsed().as_secs_f64());
        drop(waiting);
        let (reply, answer) = oneshot::channel();
        self.threads.spawn(move || {
            let result = job();
            drop(permit);
            // The caller may have gone (its request was cancelled).
            let _ = reply.send(result);
        });
        answer
            .await
            .map_err(|_| HashError::Failed("the hashing thread stopped".into()))
    }
}

#[async_trait]
impl PasswordHasher for Pbkdf2Hasher {
    async fn hash(&self, password: Password) -> Result<PasswordHash, HashError> {
        let salt: String = rand::rng()
            .sample_iter(&Alphanumeric)
            .take(SALT_LEN)
            .map(char::from)
            .collect();
        let iterations = self.iterations;
        self.run(move || hash_password(&password, &salt, iterations))
            .await
    }

    async fn verify(&self, password: String, hash: PasswordHash) -> Result<bool, HashError> {
        let min_rounds = self.iterations;
        self.run(move || verify_padded(&password, &hash, min_rounds))
            .await
    }

    fn is_outdated(&self, hash: &PasswordHash) -> bool {
        hash.iterations() != self.iterations
    }

    fn dummy_hash(&self) -> PasswordHash {
        self.dummy.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by Werkzeug 3.1.8:
    /// `generate_password_hash(password, method="pbkdf2:sha256:N")`.
    const WERKZEUG_VECTORS: &[(&str, &str)] = &[
        (
            "correct horse battery",
            "pbkdf2:sha256:600000$xglvZaKQPAFMjJ4N$c1e127713a5717c51234da5d16308f94319083461401894e72503c785096a6fe",
        ),
        (
            "비밀번호는열글자이상",
            "pbkdf2:sha256:50000$MQCSpWnGJx54OlTd$0e87d8ce544fd8942c16edd4179c109e0b3030ad29bcc19c3be926e7b99e258c",
        ),
        (
            "another password",
            "pbkdf2:sha256:1000000$iOamgQv8BuZWaOvk$586c95218369fadb864dacf529a416ece99e1dc9eb70e5b97896b2babeda1108",
        ),
        (
            "short iter pw",
            "pbkdf2:sha256:1$WgUqNT3E7AMmHzxY$9f15e39b932af5d4ed1671c443d0b53b33bc622bf9c469f5b49458650b7231ab",
        ),
    ];

    #[test]
    fn werkzeug_hashes_verify_here() {
        for (password, encoded) in WERKZEUG_VECTORS {
            let hash = PasswordHash::parse(encoded).expect("werkzeug hash parses");
            assert!(verify_padded(password, &hash, 1), "{encoded}");
            assert!(
                !verify_padded(&format!("{password}x"), &hash, 1),
                "{encoded}"
            );
            assert_eq!(&hash.encode(), encoded);
        }
    }

    /// This exact string was checked with Werkzeug 3.1.8:
    /// `check_password_hash(HASH, "correct horse battery")` printed `True`
    /// (and `False` for `"correct horse batterY"`), so hashes made here
    /// verify in Werkzeug.
    #[test]
    fn hashes_made_here_are_what_werkzeug_accepts() {
        let password = Password::parse("correct horse battery").unwrap();
        let hash = hash_password(&password, "AbCdEfGh12345678", 600_000);
        assert_eq!(
            hash.encode(),
            "pbkdf2:sha256:600000$AbCdEfGh12345678$24c6342accc9d80a3cd45833ed37d804db8fa7e23a93caa9c558fbb1d7c05c45"
        );
        assert!(verify_padded("correct horse battery", &hash, 1));
    }

    #[test]
    fn hashes_with_other_rounds_are_outdated() {
        let hasher = Pbkdf2Hasher::new(1_000, 1, Duration::from_secs(5)).unwrap();
        let password = Password::parse("correct horse battery").unwrap();
        assert!(!hasher.is_outdated(&hash_password(&password, "AbCdEfGh12345678", 1_000)));
        assert!(hasher.is_outdated(&hash_password(&password, "AbCdEfGh12345678", 999)));
        assert!(hasher.is_outdated(&hash_password(&password, "AbCdEfGh12345678", 1_001)));
    }

    #[tokio::test]
    async fn hashes_verify_and_use_the_configured_rounds() {
        let hasher = Pbkdf2Hasher::new(1_000, 2, Duration::from_secs(5)).unwrap();
        let hash = hasher
            .hash(Password::parse("correct horse battery").unwrap())
            .await
            .unwrap();
        let encoded = hash.encode();
        assert!(encoded.starts_with("pbkdf2:sha256:1000$"));
        let salt = encoded.split('$').nth(1).unwrap();
        assert_eq!(salt.len(), SALT_LEN);
        assert!(salt.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(
            hasher
                .verify("correct horse battery".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify("wrong horse battery".into(), hash)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn the_dummy_hash_matches_nothing_but_costs_full_rounds() {
        let hasher = Pbkdf2Hasher::new(1_000, 1, Duration::from_secs(5)).unwrap();
        let dummy = hasher.dummy_hash();
        assert_eq!(dummy.iterations(), 1_000);
        assert!(!hasher.verify("0000000000".into(), dummy).await.unwrap());
    }

    #[tokio::test]
    async fn a_saturated_pool_answers_busy() {
        let hasher = Pbkdf2Hasher::new(1_000, 1, Duration::from_millis(10)).unwrap();
        let _held = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();
        let result = hasher.verify("whatever".into(), hasher.dummy_hash()).await;
        assert!(matches!(result, Err(HashError::Busy)));
    }

    #[tokio::test]
    async fn hashes_run_on_their_own_threads() {
        let hasher = Pbkdf2Hasher::new(1_000, 1, Duration::from_secs(5)).unwrap();

        let name = hasher
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();

        assert_eq!(name.as_deref(), Some("minifb-hash-0"));
    }

    #[tokio::test]
    async fn a_hash_that_panics_fails_and_the_pool_goes_on() {
        let hasher = Pbkdf2Hasher::new(1_000, 1, Duration::from_secs(5)).unwrap();

        let failed = hasher.run(|| -> u8 { panic!("boom") }).await;
        let next = hasher.run(|| 7).await;

        assert!(matches!(failed, Err(HashError::Failed(_))), "{failed:?}");
        assert_eq!(next.unwrap(), 7);
    }
}
