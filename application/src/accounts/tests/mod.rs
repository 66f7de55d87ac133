//! Use-case tests of the account service, one module per use case. The
//! ports are the doubles of [`crate::testing`]: mocks that fail the test on
//! any call it did not arrange (so each test states which ports a use case
//! may touch), a limiter that counts in memory, a hasher that costs
//! nothing and predictable secrets (`refresh-1`, `refresh-2`, ...).

mod current_password;
mod login;
mod password;
mod profile;
mod sessions;
mod sign_up;
mod temporary_password;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use minifb_domain::{Email, PasswordHash, UserId, UserKey};

use crate::ports::{
    AccessToken, AttemptKind, AttemptLimiter, HashError, MockAttemptLimiter, MockPasswordHasher,
    NewFamily, StoreError, UserRecord,
};
use crate::testing::{AccountPorts, CountingSecrets, FastHasher, MemoryLimiter};

const HOME: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const PASSWORD: &str = "correct horse battery";
const WRONG_PASSWORD: &str = "wrong horse battery";
const NEW_PASSWORD: &str = "tr0ub4dor and three";
const TEMPORARY: &str = CountingSecrets::TEMPORARY_PASSWORD;

fn id(value: &str) -> UserId {
    UserId::parse(value).unwrap()
}

fn email(address: &str) -> Email {
    Email::parse(address).unwrap()
}

/// Alice, whose password is [`PASSWORD`].
fn alice() -> UserRecord {
    UserRecord {
        id: id("Alice"),
        password_hash: Some(FastHasher::hash_of(PASSWORD)),
        name: "Alice Kim".into(),
        nickname: Some("ally".into()),
        bio: Some("likes kimchi".into()),
        email: Some("Alice@Example.com".into()),
        created_at: Utc::now() - Duration::days(3),
    }
}

/// Ports whose user repository holds Alice, and nobody else.
fn alices_account() -> AccountPorts {
    let mut ports = AccountPorts::default();
    ports.knows(alice());
    ports
}

/// Alice as imported with a hash of a method that never verifies.
fn alice_without_a_usable_hash() -> UserRecord {
    UserRecord {
        password_hash: None,
        ..alice()
    }
}

/// A hasher mock that has capacity whenever asked; each test arranges the
/// rest.
fn has_capacity() -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_check_capacity().returning(|| Ok(()));
    hasher
}

impl AccountPorts {
    /// Ports whose hasher says at once that it has no capacity, and whose
    /// limiter and `users` have no expectations: any call to them fails the
    /// test.
    fn with_saturated_hashing() -> Self {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_check_capacity()
            .times(1)
            .returning(|| Err(HashError::Busy));
        Self {
            hasher: Arc::new(hasher),
            limiter: Arc::new(MockAttemptLimiter::new()),
            ..Self::default()
        }
    }
}

fn unavailable() -> StoreError {
    StoreError::Unavailable("connection refused".into())
}

impl AccountPorts {
    /// No temporary password is live: the store redeems none.
    fn has_no_temporary_password(&mut self) {
        self.temporary_passwords
            .expect_redeem()
            .returning(|_, _| Ok(false));
        self.temporary_passwords
            .expect_is_live()
            .returning(|_, _| Ok(false));
    }

    /// Alice's [`TEMPORARY`] is live: `is_live` says so for its digest, and
    /// no other.
    fn has_live_temporary_password(&mut self) {
        self.temporary_passwords
            .expect_is_live()
            .withf(|user_id, digest| {
                user_id.as_ref() == "Alice" && *digest == CountingSecrets::digest_of(TEMPORARY)
            })
            .returning(|_, _| Ok(true));
        self.temporary_passwords
            .expect_is_live()
            .returning(|_, _| Ok(false));
    }

    /// Signs access tokens named after their user, for 900 seconds.
    fn issues_access_tokens(&mut self) {
        self.access_tokens.expect_issue().returning(|user_id| {
            Ok(AccessToken {
                token: format!("access-token-for-{user_id}"),
                expires_in_seconds: 900,
            })
        });
    }

    /// Issues access tokens and records every refresh token family started,
    /// for the test to read back.
    fn serves_sessions(&mut self) -> Calls<NewFamily> {
        self.issues_access_tokens();
        let families = Calls::default();
        self.refresh_tokens.expect_start_family().returning({
            let families = families.clone();
            move |family| {
                families.push(family);
                Ok(())
            }
        });
        families
    }

    /// Limits attempts to `per_account` per account (30 per address), and
    /// hands the limiter to the test to read and fill its counts.
    fn limits_attempts_to(&mut self, per_account: u32) -> Arc<MemoryLimiter> {
        let limiter = Arc::new(MemoryLimiter::new(per_account, 30));
        self.limiter = limiter.clone();
        limiter
    }

    /// The limiter with the contract's numbers, handed to the test too.
    fn counts_attempts(&mut self) -> Arc<MemoryLimiter> {
        self.limits_attempts_to(10)
    }

    /// Alice has used up her allowance of `kind` attempts (one, here).
    async fn has_used_up(&mut self, kind: AttemptKind) -> Arc<MemoryLimiter> {
        let limiter = self.limits_attempts_to(1);
        use_up(&limiter, kind, "alice").await;
        limiter
    }

    /// Counts attempts with the contract's numbers and checks passwords for
    /// real, noting at each check how many attempts on Alice were counted
    /// at that moment.
    fn notes_attempts_at_each_check(&mut self) -> (Arc<MemoryLimiter>, Calls<u32>) {
        let limiter = self.counts_attempts();
        let noted = Calls::default();
        let mut hasher = has_capacity();
        hasher.expect_verify().returning({
            let (limiter, noted) = (limiter.clone(), noted.clone());
            move |password, hash| {
                noted.push(failures(&limiter, "alice"));
                Ok(FastHasher::matches(&password, &hash))
            }
        });
        hasher
            .expect_hash()
            .returning(|password| Ok(FastHasher::hash_of(password.expose())));
        hasher.expect_is_outdated().return_const(false);
        self.hasher = Arc::new(hasher);
        (limiter, noted)
    }

    /// A hasher that checks passwords for real exactly `times` times.
    fn checks_passwords_exactly(&mut self, times: usize) {
        let mut hasher = has_capacity();
        hasher
            .expect_verify()
            .times(times)
            .returning(|password, hash| Ok(FastHasher::matches(&password, &hash)));
        self.hasher = Arc::new(hasher);
    }

    /// A hasher that checks no password: any call but the question
    /// whether it has capacity fails the test.
    fn checks_no_password(&mut self) {
        self.hasher = Arc::new(has_capacity());
    }

    /// A hasher whose only work is one check of `password` against the
    /// dummy hash; that check is made to succeed, to show that even a
    /// matching dummy never lets anyone in.
    fn checks_only_the_dummy_hash(&mut self, password: &str) {
        let dummy = PasswordHash::unmatchable(1);
        let mut hasher = has_capacity();
        hasher.expect_dummy_hash().return_const(dummy.clone());
        hasher
            .expect_verify()
            .with(
                mockall::predicate::eq(password.to_owned()),
                mockall::predicate::eq(dummy),
            )
            .times(1)
            .returning(|_, _| Ok(true));
        self.hasher = Arc::new(hasher);
    }
}

/// Password attempts counted now (admitted, not forgiven) on the id as
/// typed, letter case ignored.
fn failures(limiter: &MemoryLimiter, typed: &str) -> u32 {
    limiter.attempts(AttemptKind::Password, &UserKey::claimed(typed))
}

/// The attempt was counted while its password was checked (once), and
/// given back because the password was right.
fn assert_counted_then_forgiven(limiter: &MemoryLimiter, noted_at_check: &Calls<u32>) {
    assert_eq!(
        noted_at_check.only(),
        1,
        "counted when the password is checked"
    );
    assert_eq!(failures(limiter, "alice"), 0, "forgiven once it was right");
}

/// Fills the limiter's allowance of `kind` attempts on `typed` from
/// [`HOME`].
async fn use_up(limiter: &MemoryLimiter, kind: AttemptKind, typed: &str) {
    let key = UserKey::claimed(typed);
    while limiter.admit(kind, &key, HOME).await.unwrap().is_ok() {}
}

/// What a port was called with, read back after the act.
struct Calls<T>(Arc<Mutex<Vec<T>>>);

impl<T> Default for Calls<T> {
    fn default() -> Self {
        Self(Arc::default())
    }
}

impl<T> Clone for Calls<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Calls<T> {
    fn push(&self, call: T) {
        self.0.lock().unwrap().push(call);
    }

    /// Every call made, in order.
    fn all(&self) -> Vec<T> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }

    /// The one call made; fails unless there was exactly one.
    fn only(&self) -> T {
        let mut calls = self.0.lock().unwrap();
        assert_eq!(calls.len(), 1, "the port was called {} times", calls.len());
        calls.pop().unwrap()
    }
}

fn assert_between(at: DateTime<Utc>, earliest: DateTime<Utc>, latest: DateTime<Utc>) {
    assert!(
        earliest <= at && at <= latest,
        "{at} is not between {earliest} and {latest}"
    );
}
