//! Password hashing on a bounded pool of blocking threads.
//!
//! PBKDF2 with 600,000 rounds takes tens of milliseconds of CPU by design.
//! Running it on the async workers would stall every other request, and an
//! unbounded number of concurrent hashes would let a flood of sign-ups or
//! logins starve the server, so hashes take a permit from a semaphore sized
//! to the hashing threads.
//!
//! In front of the permits is a bounded admission queue. When every thread
//! is busy, a request waits only if the wait it can expect (the hashes
//! ahead of it, at the recent mean time of one hash) is within the wait
//! bound and the queue has a place left ([`QUEUE_PER_THREAD`] per thread, a
//! bound on memory that only very fast hashes reach); otherwise it gets
//! [`HashError::Busy`] (HTTP 503) at once. A burst that the threads serve
//! within the bound waits; a flood beyond it is refused. Logins beyond
//! what the threads can serve are then refused in microseconds instead of
//! queueing behind each other until the bound, which would hold their
//! connections and refuse them late anyway. An admitted request waits for
//! its turn even if hashes slow down meanwhile, so a refusal comes at once
//! or not at all; the request's own deadline still ends the wait.
//! [`PasswordHasher::check_capacity`] tells the use cases beforehand, so
//! that a refused login costs no database statement either.
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
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use minifb_application::ports::{HashError, PasswordHasher};
use minifb_domain::{DIGEST_LEN, Password, PasswordHash, SALT_LEN};
use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError, oneshot};

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

/// Who may wait for a hashing thread, and for how long.
struct Admission {
    /// Requests waiting for a permit now.
    waiting: AtomicUsize,
    /// At most this many wait; the next one is refused.
    capacity: usize,
    /// Hashing threads: the queue moves this many places per hash.
    threads: usize,
    /// Moving average of one hash's duration, in nanoseconds (0 until the
    /// first hash ends).
    mean_hash_ns: AtomicU64,
    max_wait: Duration,
}

impl Admission {
    /// Whether the next request to find every thread busy would be
    /// refused: the queue is full, or its wait could not end within the
    /// bound.
    fn is_full(&self) -> bool {
        let waiting = self.waiting.load(Ordering::Acquire);
        waiting >= self.capacity || self.expected_wait(waiting) > self.max_wait
    }

    /// A place in the queue, or `None` when it is full or its wait could
    /// not end within twice the bound. Twice: the request passed
    /// [`Self::is_full`] before its database work, and others may have
    /// queued meanwhile; refusing it now would make it a late refusal, which
    /// is what the gate is for avoiding, so only a queue grown far past
    /// the bound refuses it.
    fn enter(&self) -> Option<Waiting<'_>> {
        let ahead = self
            .waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| {
                (waiting < self.capacity).then_some(waiting + 1)
            })
            .ok()?;
        // Registered first, so that a refusal below gives the place back.
        let place = Waiting::start(self);
        (self.expected_wait(ahead) <= self.max_wait.saturating_mul(2)).then_some(place)
    }

    /// The wait of a request with `ahead` requests before it while every
    /// thread is busy: its own turn comes after `ahead / threads + 1`
    /// hashes, at worst (the running ones may just have started).
    fn expected_wait(&self, ahead: usize) -> Duration {
        let rounds = u32::try_from(ahead / self.threads + 1).unwrap_or(u32::MAX);
        Duration::from_nanos(self.mean_hash_ns.load(Ordering::Relaxed)).saturating_mul(rounds)
    }

    /// Folds one hash's duration into the mean (an eighth of the way, so a
    /// single slow hash moves it little).
    fn record(&self, took: Duration) {
        let took = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        // A lost update between two threads only skips one sample.
        let mean = self.mean_hash_ns.load(Ordering::Relaxed);
        let next = if mean == 0 {
            took
        } else {
            mean - mean / 8 + took / 8
        };
        self.mean_hash_ns.store(next, Ordering::Relaxed);
    }
}

/// A request's place in the admission queue, counted in the
/// `password_hashing_waiting` gauge until it gets a thread, gives up, or is
/// dropped with its request; each way frees the place.
struct Waiting<'a> {
    admission: &'a Admission,
    since: Instant,
}

impl<'a> Waiting<'a> {
    fn start(admission: &'a Admission) -> Self {
        metrics::gauge!("password_hashing_waiting").increment(1.0);
        Self {
            admission,
            since: Instant::now(),
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.admission.waiting.fetch_sub(1, Ordering::AcqRel);
        metrics::gauge!("password_hashing_waiting").decrement(1.0);
    }
}

fn refused() -> HashError {
    metrics::counter!("password_hashing_refused_total").increment(1);
    HashError::Busy
}

/// Places in the admission queue per hashing thread.
const QUEUE_PER_THREAD: usize = 32;

/// PBKDF2-HMAC-SHA256 with a fixed number of rounds for new hashes.
pub struct Pbkdf2Hasher {
    iterations: u32,
    threads: rayon::ThreadPool,
    permits: Arc<Semaphore>,
    admission: Arc<Admission>,
    dummy: PasswordHash,
}

impl Pbkdf2Hasher {
    /// `threads` hashes run at once, on threads of their own; a request
    /// that finds them busy waits for its turn only if it can expect it
    /// within `max_wait`.
    pub fn new(iterations: u32, threads: usize, max_wait: Duration) -> Result<Self, HashError> {
        let threads = threads.max(1);
        Self::with_queue(iterations, threads, threads * QUEUE_PER_THREAD, max_wait)
    }

    fn with_queue(
        iterations: u32,
        threads: usize,
        queue: usize,
        max_wait: Duration,
    ) -> Result<Self, HashError> {
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
            admission: Arc::new(Admission {
                waiting: AtomicUsize::new(0),
                capacity: queue,
                threads,
                mean_hash_ns: AtomicU64::new(0),
                max_wait,
            }),
            dummy: PasswordHash::unmatchable(iterations),
        })
    }

    /// A permit for a hashing thread: at once when one is free, after a
    /// bounded wait when the admission queue takes the request, else
    /// [`HashError::Busy`].
    async fn permit(&self) -> Result<OwnedSemaphorePermit, HashError> {
        match Arc::clone(&self.permits).try_acquire_owned() {
            Ok(permit) => {
                // Touched without waiting too, so that the gauge shows (at 0)
                // once hashing has run, not only after a first wait.
                metrics::gauge!("password_hashing_waiting").increment(0.0);
                metrics::histogram!("password_hashing_wait_seconds").record(0.0);
                return Ok(permit);
            }
            Err(TryAcquireError::Closed) => {
                return Err(HashError::Failed("the hashing pool is closed".into()));
            }
            Err(TryAcquireError::NoPermits) => {}
        }
        let waiting = self.admission.enter().ok_or_else(refused)?;
        // Admitted, it waits for its turn even if hashes slowed down
        // meanwhile: a refusal comes at once or not at all. The request's
        // own deadline still ends the wait (dropping this future frees the
        // place).
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| HashError::Failed(e.to_string()))?;
        metrics::histogram!("password_hashing_wait_seconds")
            .record(waiting.since.elapsed().as_secs_f64());
        Ok(permit)
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let permit = self.permit().await?;
        let admission = Arc::clone(&self.admission);
        let (reply, answer) = oneshot::channel();
        self.threads.spawn(move || {
            let started = Instant::now();
            let result = job();
            admission.record(started.elapsed());
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

    fn check_capacity(&self) -> Result<(), HashError> {
        if self.permits.available_permits() == 0 && self.admission.is_full() {
            return Err(refused());
        }
        Ok(())
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
    async fn an_admitted_request_waits_past_the_bound_instead_of_being_refused_late() {
        let hasher =
            Arc::new(Pbkdf2Hasher::with_queue(1_000, 1, 1, Duration::from_millis(1)).unwrap());
        let held = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();
        let mut admitted = waiter(&hasher);
        until_waiting(&hasher, 1).await;

        let early = tokio::time::timeout(Duration::from_millis(50), &mut admitted).await;

        assert!(
            early.is_err(),
            "answered before a thread was free: {early:?}"
        );
        drop(held);
        assert_eq!(admitted.await.unwrap().unwrap(), 7);
    }

    /// Yields until `n` requests wait in `hasher`'s queue.
    async fn until_waiting(hasher: &Pbkdf2Hasher, n: usize) {
        while hasher.admission.waiting.load(Ordering::Acquire) != n {
            tokio::task::yield_now().await;
        }
    }

    /// A request that would wait, started on its own task.
    fn waiter(hasher: &Arc<Pbkdf2Hasher>) -> tokio::task::JoinHandle<Result<u8, HashError>> {
        let hasher = Arc::clone(hasher);
        tokio::spawn(async move { hasher.run(|| 7).await })
    }

    /// A free thread serves at once; with every thread busy and the queue
    /// full (one waiter per thread here), one more request is refused at
    /// once, and the queued ones are served once the threads are free.
    #[tokio::test]
    async fn a_request_beyond_the_queue_is_refused_at_once() {
        for threads in [1, 2] {
            let hasher = Pbkdf2Hasher::with_queue(1_000, threads, threads, Duration::from_secs(60));
            let hasher = Arc::new(hasher.unwrap());
            assert_eq!(hasher.run(|| 1).await.unwrap(), 1);
            let all = u32::try_from(threads).unwrap();
            let held = Arc::clone(&hasher.permits).acquire_many_owned(all).await;
            let queued: Vec<_> = (0..threads).map(|_| waiter(&hasher)).collect();
            until_waiting(&hasher, threads).await;

            let refused = tokio::time::timeout(Duration::from_secs(1), hasher.run(|| 8)).await;

            assert!(
                matches!(refused, Ok(Err(HashError::Busy))),
                "{threads}: {refused:?}"
            );
            drop(held);
            for waiter in queued {
                assert_eq!(waiter.await.unwrap().unwrap(), 7);
            }
        }
    }

    #[tokio::test]
    async fn a_burst_the_threads_serve_within_the_bound_waits_and_is_served() {
        let hasher = Arc::new(Pbkdf2Hasher::new(1_000, 1, Duration::from_secs(60)).unwrap());
        hasher.admission.record(Duration::from_millis(10));
        let held = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();
        let burst: Vec<_> = (0..16).map(|_| waiter(&hasher)).collect();
        until_waiting(&hasher, 16).await;

        drop(held);

        for request in burst {
            assert_eq!(request.await.unwrap().unwrap(), 7);
        }
    }

    #[tokio::test]
    async fn a_dropped_waiter_frees_its_place() {
        let hasher =
            Arc::new(Pbkdf2Hasher::with_queue(1_000, 1, 1, Duration::from_secs(60)).unwrap());
        let held = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();
        let gone = waiter(&hasher);
        until_waiting(&hasher, 1).await;

        gone.abort();
        assert!(gone.await.unwrap_err().is_cancelled());
        assert_eq!(hasher.admission.waiting.load(Ordering::Acquire), 0);
        let next = waiter(&hasher);
        until_waiting(&hasher, 1).await;
        drop(held);

        assert_eq!(next.await.unwrap().unwrap(), 7);
    }

    #[tokio::test]
    async fn a_wait_that_could_not_end_within_twice_the_bound_is_refused_at_once() {
        let hasher = Pbkdf2Hasher::new(1_000, 1, Duration::from_secs(30)).unwrap();
        hasher.admission.record(Duration::from_secs(70));
        let _held = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();

        let refused = tokio::time::timeout(Duration::from_secs(1), hasher.run(|| 8)).await;

        assert!(matches!(refused, Ok(Err(HashError::Busy))), "{refused:?}");
        assert_eq!(hasher.admission.waiting.load(Ordering::Acquire), 0);
    }

    #[tokio::test]
    async fn capacity_is_refused_only_while_a_request_would_be() {
        let hasher =
            Arc::new(Pbkdf2Hasher::with_queue(1_000, 1, 1, Duration::from_secs(60)).unwrap());
        assert!(hasher.check_capacity().is_ok());
        let held = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();
        assert!(
            hasher.check_capacity().is_ok(),
            "a place in the queue is free"
        );
        let queued = waiter(&hasher);
        until_waiting(&hasher, 1).await;

        assert!(matches!(hasher.check_capacity(), Err(HashError::Busy)));

        drop(held);
        assert_eq!(queued.await.unwrap().unwrap(), 7);
        assert!(hasher.check_capacity().is_ok());
    }

    #[tokio::test]
    async fn capacity_is_refused_when_the_wait_would_pass_the_bound_but_a_hash_let_through_waits() {
        let hasher = Arc::new(Pbkdf2Hasher::new(1_000, 1, Duration::from_secs(30)).unwrap());
        hasher.admission.record(Duration::from_secs(40));
        let held = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();

        assert!(matches!(hasher.check_capacity(), Err(HashError::Busy)));
        // One that passed the gate before is not refused for the same wait.
        let let_through = waiter(&hasher);
        until_waiting(&hasher, 1).await;
        drop(held);
        assert_eq!(let_through.await.unwrap().unwrap(), 7);
    }

    #[test]
    fn the_expected_wait_counts_the_hashes_ahead_per_thread() {
        let hasher = Pbkdf2Hasher::new(1_000, 2, Duration::from_secs(5)).unwrap();
        assert_eq!(hasher.admission.expected_wait(3), Duration::ZERO);
        hasher.admission.record(Duration::from_millis(400));
        hasher.admission.record(Duration::from_millis(1200));

        // 400 ms, then an eighth of the way to 1200 ms: 500 ms per hash.
        let waits: Vec<_> = (0..4)
            .map(|ahead| hasher.admission.expected_wait(ahead))
            .collect();
        assert_eq!(waits, [500, 500, 1000, 1000].map(Duration::from_millis));
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
