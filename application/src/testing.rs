//! Test doubles of the ports, for this crate's tests and (through the
//! `mocks` feature) for other crates' tests: the mockall mocks of every port
//! gathered per service, so a test arranges only the calls it expects (a
//! call nobody arranged fails the test), and three small fakes where a fake
//! reads more simply than a mock: a limiter that counts in memory, a hasher
//! that costs nothing, and secrets that are predictable; and the
//! live-notification ports in memory ([`MemoryFeed`],
//! [`MemoryNotifications`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use minifb_domain::{DIGEST_LEN, Password, PasswordHash, UserKey};

mod live;

pub use live::{Holds, MemoryFeed, MemoryNotifications};

use crate::accounts::AccountService;
use crate::ports::{
    Admission, AttemptKind, AttemptLimiter, HashError, MockAccessTokenIssuer, MockMailer,
    MockRefreshTokenRepository, MockTemporaryPasswordRepository, MockUserRepository,
    PasswordHasher, RetryAfter, SecretGenerator, StoreResult, UserRecord,
};
use crate::social::SocialService;
use crate::social::ports::{
    MockCommentRepository, MockIdempotencyRepository, MockNotificationRepository,
    MockPostRepository, MockReactionRepository,
};

/// An instant written in RFC 3339, for tests about time.
pub fn instant(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .map(|at| at.with_timezone(&Utc))
        .unwrap_or_else(|error| panic!("{rfc3339:?} is not RFC 3339: {error}"))
}

/// Every port of [`AccountService`], mocks where a test states the calls,
/// fakes for hashing, secrets and limits.
pub struct AccountPorts {
    pub users: MockUserRepository,
    pub temporary_passwords: MockTemporaryPasswordRepository,
    pub refresh_tokens: MockRefreshTokenRepository,
    pub hasher: Arc<dyn PasswordHasher>,
    pub secrets: Arc<dyn SecretGenerator>,
    pub access_tokens: MockAccessTokenIssuer,
    pub mailer: MockMailer,
    pub limiter: Arc<dyn AttemptLimiter>,
}

impl Default for AccountPorts {
    fn default() -> Self {
        Self {
            users: MockUserRepository::new(),
            temporary_passwords: MockTemporaryPasswordRepository::new(),
            refresh_tokens: MockRefreshTokenRepository::new(),
            hasher: Arc::new(FastHasher),
            secrets: Arc::new(CountingSecrets::default()),
            access_tokens: MockAccessTokenIssuer::new(),
            mailer: MockMailer::new(),
            limiter: Arc::new(MemoryLimiter::default()),
        }
    }
}

impl AccountPorts {
    pub fn into_service(self) -> AccountService {
        AccountService {
            users: Arc::new(self.users),
            temporary_passwords: Arc::new(self.temporary_passwords),
            refresh_tokens: Arc::new(self.refresh_tokens),
            hasher: self.hasher,
            secrets: self.secrets,
            access_tokens: Arc::new(self.access_tokens),
            mailer: Arc::new(self.mailer),
            limiter: self.limiter,
        }
    }

    /// The user repository holds `user` and nobody else.
    pub fn knows(&mut self, user: UserRecord) {
        holds(&mut self.users, user);
    }
}

/// Every port of [`SocialService`], as mocks.
#[derive(Default)]
pub struct SocialPorts {
    pub users: MockUserRepository,
    pub posts: MockPostRepository,
    pub comments: MockCommentRepository,
    pub reactions: MockReactionRepository,
    pub notifications: MockNotificationRepository,
    pub retries: MockIdempotencyRepository,
}

impl SocialPorts {
    pub fn into_service(self) -> SocialService {
        SocialService {
            users: Arc::new(self.users),
            posts: Arc::new(self.posts),
            comments: Arc::new(self.comments),
            reactions: Arc::new(self.reactions),
            notifications: Arc::new(self.notifications),
            retries: Arc::new(self.retries),
        }
    }

    /// The user repository holds `user` and nobody else.
    pub fn knows(&mut self, user: UserRecord) {
        holds(&mut self.users, user);
    }

    /// Whether every caller still has an account: asked when an act on the
    /// caller's own data finds nothing or is refused, to tell a caller
    /// removed since their token was issued apart.
    pub fn callers_exist(&mut self, exist: bool) {
        self.users.expect_find().returning(move |id| {
            Ok(exist.then(|| UserRecord {
                id: id.clone(),
                password_hash: None,
                name: "Someone".into(),
                nickname: None,
                bio: None,
                email: None,
                created_at: DateTime::UNIX_EPOCH,
            }))
        });
    }
}

/// Finds `user` by id, letter case ignored as the contract says, and
/// nobody else.
fn holds(users: &mut MockUserRepository, user: UserRecord) {
    users
        .expect_find()
        .returning(move |id| Ok(Some(user.clone()).filter(|user| user.id == *id)));
}

/// One `#[tokio::test]` per row of a table: `label: row;` runs
/// `check(stringify!(label), row)`, so each row is a case of its own in the
/// report, and `check` quotes the label in its assertion messages.
#[cfg(test)]
macro_rules! table {
    ($check:ident { $($label:ident: $row:expr;)+ }) => {
        $(
            #[tokio::test]
            async fn $label() {
                $check(stringify!($label), $row).await;
            }
        )+
    };
}
#[cfg(test)]
pub(crate) use table;

/// Asserts that a value matches a pattern, printing the value (and, when
/// given, a label) if it does not.
#[cfg(test)]
macro_rules! assert_matches {
    ($value:expr, $pattern:pat $(if $guard:expr)? $(,)?) => {{
        let value = &$value;
        assert!(
            matches!(value, $pattern $(if $guard)?),
            "{value:?} does not match {}",
            stringify!($pattern $(if $guard)?)
        );
    }};
    ($value:expr, $pattern:pat $(if $guard:expr)?, $($label:tt)+) => {{
        let value = &$value;
        assert!(
            matches!(value, $pattern $(if $guard)?),
            "{}: {value:?} does not match {}",
            format_args!($($label)+),
            stringify!($pattern $(if $guard)?)
        );
    }};
}
#[cfg(test)]
pub(crate) use assert_matches;

/// A hasher for tests: hashes in the real format whose "digest" is a fast
/// non-cryptographic function of the password, salt and iteration count,
/// on the calling task. New hashes get [`FastHasher::ITERATIONS`]; any other
/// count is outdated.
#[derive(Debug, Default, Clone, Copy)]
pub struct FastHasher;

impl FastHasher {
    pub const SALT: &'static str = "TestSalt12345678";
    pub const ITERATIONS: u32 = 1;

    /// What [`PasswordHasher::hash`] gives for `password`.
    pub fn hash_of(password: &str) -> PasswordHash {
        Self::hash_with(password, Self::ITERATIONS)
    }

    /// A hash of `password` as if made with `iterations` rounds.
    pub fn hash_with(password: &str, iterations: u32) -> PasswordHash {
        PasswordHash::new(
            iterations,
            Self::SALT,
            Self::derive(password, Self::SALT, iterations),
        )
    }

    /// Whether `password` is the password of `hash`.
    pub fn matches(password: &str, hash: &PasswordHash) -> bool {
        &Self::derive(password, hash.salt(), hash.iterations()) == hash.digest()
    }

    fn derive(password: &str, salt: &str, iterations: u32) -> [u8; DIGEST_LEN] {
        use std::hash::{DefaultHasher, Hash, Hasher};
        let mut digest = [0u8; DIGEST_LEN];
        for (part, chunk) in digest.chunks_mut(8).enumerate() {
            let mut hasher = DefaultHasher::new();
            (password, salt, iterations, part).hash(&mut hasher);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
        digest
    }
}

#[async_trait]
impl PasswordHasher for FastHasher {
    async fn hash(&self, password: Password) -> Result<PasswordHash, HashError> {
        Ok(Self::hash_of(password.expose()))
    }

    async fn verify(&self, password: String, hash: PasswordHash) -> Result<bool, HashError> {
        Ok(Self::matches(&password, &hash))
    }

    fn check_capacity(&self) -> Result<(), HashError> {
        Ok(())
    }

    fn is_outdated(&self, hash: &PasswordHash) -> bool {
        hash.iterations() != Self::ITERATIONS
    }

    fn dummy_hash(&self) -> PasswordHash {
        PasswordHash::unmatchable(1)
    }
}

/// Refresh tokens `refresh-1`, `refresh-2`, ... and one temporary password,
/// [`CountingSecrets::TEMPORARY_PASSWORD`].
#[derive(Debug, Default)]
pub struct CountingSecrets {
    issued: AtomicU64,
}

impl CountingSecrets {
    pub const TEMPORARY_PASSWORD: &'static str = "Tmp0rary1234abcd";

    /// What [`SecretGenerator::digest`] gives for `secret`.
    pub fn digest_of(secret: &str) -> Vec<u8> {
        format!("digest({secret})").into_bytes()
    }
}

impl SecretGenerator for CountingSecrets {
    fn refresh_token(&self) -> String {
        format!(
            "refresh-{}",
            self.issued.fetch_add(1, Ordering::Relaxed) + 1
        )
    }

    fn temporary_password(&self) -> Password {
        Password::parse(Self::TEMPORARY_PASSWORD)
            .unwrap_or_else(|_| unreachable!("the constant satisfies the password rule"))
    }

    /// `digest(secret)` as bytes, readable in a failed assertion.
    fn digest(&self, secret: &str) -> Vec<u8> {
        Self::digest_of(secret)
    }
}

/// The limiter's contract in memory: at most `per_account` admitted
/// attempts per account key and `per_address` per address, per kind;
/// forgiving gives one back. Windows never end (tests are short).
#[derive(Debug)]
pub struct MemoryLimiter {
    per_account: u32,
    per_address: u32,
    sign_ups_per_address: u32,
    counts: Mutex<HashMap<(Option<AttemptKind>, String), u32>>,
}

impl Default for MemoryLimiter {
    /// The contract's numbers: 10 per account, 30 per address, 25 sign-ups
    /// per address.
    fn default() -> Self {
        Self::new(10, 30)
    }
}

impl MemoryLimiter {
    pub fn new(per_account: u32, per_address: u32) -> Self {
        Self {
            per_account,
            per_address,
            sign_ups_per_address: 25,
            counts: Mutex::default(),
        }
    }

    /// At most `limit` sign-ups per address.
    pub fn with_sign_ups(mut self, limit: u32) -> Self {
        self.sign_ups_per_address = limit;
        self
    }

    /// Sign-ups counted now (admitted and not given back) from `address`.
    pub fn sign_ups(&self, address: IpAddr) -> u32 {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .get(&Self::sign_up_key(address))
            .copied()
            .unwrap_or(0)
    }

    fn sign_up_key(address: IpAddr) -> (Option<AttemptKind>, String) {
        (None, format!("sign-up:{address}"))
    }

    /// Attempts counted now (admitted and not forgiven) on `account`.
    pub fn attempts(&self, kind: AttemptKind, account: &UserKey) -> u32 {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts
            .get(&(Some(kind), format!("account:{}", account.as_str())))
            .copied()
            .unwrap_or(0)
    }

    fn keys(
        kind: AttemptKind,
        account: &UserKey,
        address: IpAddr,
    ) -> [(Option<AttemptKind>, String); 2] {
        [
            (Some(kind), format!("account:{}", account.as_str())),
            (Some(kind), format!("address:{address}")),
        ]
    }
}

#[async_trait]
impl AttemptLimiter for MemoryLimiter {
    async fn admit(&self, kind: AttemptKind, account: &UserKey, address: IpAddr) -> Admission {
        let [account_key, address_key] = Self::keys(kind, account, address);
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let full = |key: &(Option<AttemptKind>, String), limit: u32| {
            counts.get(key).copied().unwrap_or(0) >= limit
        };
        if full(&account_key, self.per_account) || full(&address_key, self.per_address) {
            return Ok(Err(RetryAfter(60)));
        }
        for key in [account_key, address_key] {
            *counts.entry(key).or_insert(0) += 1;
        }
        Ok(Ok(()))
    }

    async fn forgive(&self, kind: AttemptKind, account: &UserKey, address: IpAddr) -> StoreResult {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        for key in Self::keys(kind, account, address) {
            if let Some(count) = counts.get_mut(&key) {
                *count = count.saturating_sub(1);
            }
        }
        Ok(())
    }

    async fn admit_sign_up(&self, address: IpAddr) -> Admission {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let count = counts.entry(Self::sign_up_key(address)).or_insert(0);
        if *count >= self.sign_ups_per_address {
            return Ok(Err(RetryAfter(300)));
        }
        *count += 1;
        Ok(Ok(()))
    }

    async fn forgive_sign_up(&self, address: IpAddr) -> StoreResult {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = counts.get_mut(&Self::sign_up_key(address)) {
            *count = count.saturating_sub(1);
        }
        Ok(())
    }
}

/// A feed that opens no stream (the server is always shutting down): for
/// router tests that do not stream.
pub struct NoFeed;

#[async_trait]
impl crate::live::NotificationFeed for NoFeed {
    async fn subscribe(
        &self,
        _: &minifb_domain::UserId,
    ) -> Result<Box<dyn crate::live::FeedSubscription>, crate::live::SubscribeError> {
        Err(crate::live::SubscribeError::Closing)
    }

    fn open_here(&self) -> usize {
        0
    }
}
