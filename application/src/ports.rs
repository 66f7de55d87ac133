//! Ports: what the use cases need from the outside world.

use std::net::IpAddr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use minifb_domain::{Bio, DisplayName, Email, Nickname, Password, PasswordHash, UserId, UserKey};

/// A storage call that failed for a reason the caller cannot fix.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or no connection became free in time:
    /// the request may succeed if retried later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A write named a user who no longer exists: removed meanwhile, by an
    /// operator or by another implementation sharing the database.
    #[error("the user no longer exists")]
    UserGone,
    /// Anything else; the message is for logs and must not quote SQL or data.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: UserId,
    /// `None` when the stored hash is of a method that never verifies (an
    /// imported Werkzeug `scrypt:` hash): such an account cannot log in
    /// until its password is set anew.
    pub password_hash: Option<PasswordHash>,
    pub name: String,
    pub nickname: Option<String>,
    pub bio: Option<String>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A user to create, with the password as the store keeps it (a hash) or,
/// in a sign-up, as the user chose it.
#[derive(Debug, Clone)]
pub struct NewUser<Secret = PasswordHash> {
    pub id: UserId,
    pub password: Secret,
    pub name: DisplayName,
    pub nickname: Option<Nickname>,
    pub bio: Option<Bio>,
    pub email: Option<Email>,
}

impl<Secret> NewUser<Secret> {
    /// The same user with `password` in place of the one it had.
    pub fn with_password<Other>(self, password: Other) -> NewUser<Other> {
        let Self {
            id,
            name,
            nickname,
            bio,
            email,
            ..
        } = self;
        NewUser {
            id,
            password,
            name,
            nickname,
            bio,
            email,
        }
    }
}

/// Profile fields to change: `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileChanges {
    pub nickname: Option<Option<Nickname>>,
    pub bio: Option<Option<Bio>>,
    pub email: Option<Option<Email>>,
}

/// What creating a user did.
#[derive(Debug, Clone, PartialEq)]
pub enum UserCreation {
    Created(UserRecord),
    /// Another user has this id (letter case ignored).
    IdTaken,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Stores the user, unless the id is taken by another user (letter case
    /// ignored). Decided by the store itself, so of two concurrent sign-ups
    /// with one id exactly one is `Created`.
    async fn create(&self, user: NewUser) -> Result<UserCreation, StoreError>;

    /// The user with this id, if any.
    async fn find(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError>;

    /// Applies `changes` to the user and returns the result; `None` if
    /// there is no such user (any more).
    async fn update_profile(
        &self,
        id: &UserId,
        changes: ProfileChanges,
    ) -> Result<Option<UserRecord>, StoreError>;

    /// All at once or not at all: stores the new hash, revokes every
    /// refresh token of the user and ends any temporary password.
    async fn change_password(
        &self,
        id: &UserId,
        password_hash: PasswordHash,
    ) -> Result<(), StoreError>;

    /// Replaces an outdated hash of the same password with `new`, touching
    /// nothing else (sessions stay). Does nothing if the stored hash is no
    /// longer `old`, so a password changed meanwhile is never undone.
    async fn upgrade_hash(
        &self,
        id: &UserId,
        old: &PasswordHash,
        new: PasswordHash,
    ) -> Result<(), StoreError>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TemporaryPasswordRepository: Send + Sync {
    /// Stores the digest of the user's temporary password, replacing an
    /// older one.
    async fn replace(
        &self,
        user_id: &UserId,
        digest: Vec<u8>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Uses the user's temporary password with this digest for a login, if
    /// it is live and has not logged in yet. `true` only for the one call
    /// that used it, so of two concurrent logins with it at most one
    /// succeeds.
    async fn redeem(&self, user_id: &UserId, digest: Vec<u8>) -> Result<bool, StoreError>;

    /// Whether the user's temporary password has this digest and is live
    /// (used for a login or not).
    async fn is_live(&self, user_id: &UserId, digest: Vec<u8>) -> Result<bool, StoreError>;
}

/// The refresh-token family of a new login, with its first token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFamily {
    pub user_id: UserId,
    /// The digest of the first refresh token.
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    /// Whether the login used a temporary password; kept by every token of
    /// the family.
    pub password_change_required: bool,
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: it is now retired and the new one stored.
    Rotated {
        user_id: UserId,
        password_change_required: bool,
    },
    /// The token had been used already: its whole family is now revoked.
    Reused,
    /// Unknown, expired or revoked: nothing changed.
    Invalid,
}

/// Refresh tokens are stored as SHA-256 digests only, grouped in families
/// (one per login).
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait RefreshTokenRepository: Send + Sync {
    /// Starts a family for a login, with its first token.
    async fn start_family(&self, family: NewFamily) -> StoreResult;

    /// Atomically retires `old_hash` and stores `new_hash` in its family.
    /// Concurrent rotations of one token are serialised: one rotates, the
    /// others see `Reused` (and the family is revoked).
    async fn rotate(
        &self,
        old_hash: Vec<u8>,
        new_hash: Vec<u8>,
        new_expires_at: DateTime<Utc>,
    ) -> Result<Rotation, StoreError>;

    /// Revokes the family of the token with this hash; nothing if unknown.
    async fn revoke_family(&self, token_hash: Vec<u8>) -> Result<(), StoreError>;
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every hashing thread is busy and the request may not wait for one:
    /// the admission queue is full, or its wait would be too long (HTTP 503).
    #[error("password hashing is saturated; retry shortly")]
    Busy,
    /// The hashing task itself failed (it panicked or was cancelled).
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// PBKDF2 in Werkzeug's format, run where it cannot stall other requests.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// A new hash of `password` with the configured work.
    async fn hash(&self, password: Password) -> Result<PasswordHash, HashError>;

    /// Whether `password` matches `hash`. Costs at least the work of a new
    /// hash whatever the answer and whatever the stored hash's own
    /// iteration count, so timing tells nothing about the account.
    async fn verify(&self, password: String, hash: PasswordHash) -> Result<bool, HashError>;

    /// [`HashError::Busy`] when a hash asked for now would be refused at
    /// once (every thread busy and no place to wait). Use cases ask before
    /// any other work, so that a login or sign-up refused for capacity costs
    /// no database statement; one let through may still be refused by the
    /// hash itself, when others took the places meanwhile.
    fn check_capacity(&self) -> Result<(), HashError>;

    /// Whether `hash` was made with other work than new hashes get. Such a
    /// hash is replaced after the next successful check, as Werkzeug-based
    /// applications do.
    fn is_outdated(&self, hash: &PasswordHash) -> bool;

    /// A hash that matches no password and costs as much to check as a new
    /// one: checked when there is no real hash, so timing tells nothing.
    fn dummy_hash(&self) -> PasswordHash;
}

/// Random secrets handed to clients, and what is stored of them.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait SecretGenerator: Send + Sync {
    /// A new refresh token, unguessable and URL-safe.
    fn refresh_token(&self) -> String;

    /// A new temporary password that satisfies the password rule.
    fn temporary_password(&self) -> Password;

    /// What is stored of a secret made here (a refresh token or a temporary
    /// password): a one-way digest, so that a copy of the database logs
    /// nobody in. Both carry enough random bits that a fast digest is as
    /// safe as a slow one, and checking one costs next to nothing.
    fn digest(&self, secret: &str) -> Vec<u8>;
}

/// How long to wait before trying again, in whole seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

/// The kinds of attempt that are limited, each counted on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptKind {
    /// A password check: a login, or a `current_password`.
    Password,
    /// A request for a temporary password.
    TemporaryPassword,
}

/// What [`AttemptLimiter::admit`] decided: `Ok(Ok(()))` admitted and
/// counted, `Ok(Err(retry))` refused.
pub type Admission = Result<Result<(), RetryAfter>, StoreError>;

/// What a store call gives: `T`, or why the store failed.
pub type StoreResult<T = ()> = Result<T, StoreError>;

/// Limits attempts per account id (letter case ignored) and per client
/// address: 10 per id per 5 minutes and 30 per address per minute.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait AttemptLimiter: Send + Sync {
    /// Counts an attempt on `account` from `address` and admits it, or
    /// refuses it without counting when either is at its limit. Atomic and
    /// shared by every process of the deployment: however many attempts
    /// arrive at once, no more than the limit are ever admitted in a
    /// window.
    async fn admit(&self, kind: AttemptKind, account: &UserKey, address: IpAddr) -> Admission;

    /// Takes back an admitted attempt that succeeded, so that only failures
    /// use up the limit.
    async fn forgive(&self, kind: AttemptKind, account: &UserKey, address: IpAddr) -> StoreResult;

    /// Counts a sign-up from `address` and admits it, or refuses it without
    /// counting when the address is at its sign-up limit (by default 25 per
    /// 5 minutes; a deployment may turn the limit off, and then every
    /// sign-up is admitted without a trip to the store). Atomic and shared
    /// by every process, like [`AttemptLimiter::admit`].
    async fn admit_sign_up(&self, address: IpAddr) -> Admission;

    /// Takes back an admitted sign-up that made no account, so that the
    /// limit counts accounts made.
    async fn forgive_sign_up(&self, address: IpAddr) -> StoreResult;
}

/// A message for a user's mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Delivers the message or says why it could not.
    async fn send(&self, mail: Mail) -> anyhow::Result<()>;
}

/// A signed access token and its lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub token: String,
    pub expires_in_seconds: i64,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait AccessTokenIssuer: Send + Sync {
    /// Signs an access token whose subject is `user_id`.
    fn issue(&self, user_id: &UserId) -> anyhow::Result<AccessToken>;
}

/// The database pool's occupancy, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStatus {
    pub max_size: usize,
    /// Connections open now.
    pub size: usize,
    /// Open connections not in use.
    pub available: usize,
    /// Requests waiting for a connection.
    pub waiting: usize,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait HealthCheck: Send + Sync {
    /// `Ok` when the database answers a trivial query.
    async fn database_ready(&self) -> Result<(), StoreError>;

    /// How busy the connection pool is.
    fn pool_status(&self) -> PoolStatus;
}
