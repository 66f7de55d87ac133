//! Password hashing on a bounded pool of blocking threads.
//!
//! PBKDF2 with 600,000 rounds takes tens of milliseconds of CPU by design.
//! Running it on the async workers would stall every other request, and an
//! unbounded number of concurrent hashes would let a flood of sign-ups or
//! logins starve the server, so hashes take a permit from a semaphore sized
//! to the CPUs and run in `spawn_blocking`; a request that waits longer than
//! the saturation limit for a permit gets [`HashError::Busy`] (HTTP 503).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use minifb_application::ports::{HashError, PasswordHasher};
use minifb_domain::{Password, PasswordHash, SALT_LEN, hash_password};
use rand::Rng;
use rand::distr::Alphanumeric;
use tokio::sync::Semaphore;

/// PBKDF2-HMAC-SHA256 with a fixed number of rounds for new hashes.
pub struct Pbkdf2Hasher {
    iterations: u32,
    permits: Arc<Semaphore>,
    max_wait: Duration,
    dummy: PasswordHash,
}

impl Pbkdf2Hasher {
    /// `threads` hashes run at once; a request waits at most `max_wait`.
    pub fn new(iterations: u32, threads: usize, max_wait: Duration) -> Self {
        let dummy = PasswordHash::unmatchable(iterations);
        Self {
            iterations,
            permits: Arc::new(Semaphore::new(threads.max(1))),
            max_wait,
            dummy,
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = tokio::time::timeout(self.max_wait, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| HashError::Busy)?
            .map_err(|e| HashError::Failed(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let result = job();
            drop(permit);
            result
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))
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
        self.run(move || hash.verify(&password)).await
    }

    fn dummy_hash(&self) -> PasswordHash {
        self.dummy.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_the_configured_rounds() {
        let hasher = Pbkdf2Hasher::new(1_000, 2, Duration::from_secs(5));
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
        let hasher = Pbkdf2Hasher::new(1_000, 1, Duration::from_secs(5));
        let dummy = hasher.dummy_hash();
        assert_eq!(dummy.iterations(), 1_000);
        assert!(!hasher.verify("0000000000".into(), dummy).await.unwrap());
    }

    #[tokio::test]
    async fn a_saturated_pool_answers_busy() {
        let hasher = Pbkdf2Hasher::new(1_000, 1, Duration::from_millis(10));
        let _held = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();
        let result = hasher.verify("whatever".into(), hasher.dummy_hash()).await;
        assert!(matches!(result, Err(HashError::Busy)));
    }
}
