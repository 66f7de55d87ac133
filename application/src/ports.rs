//! Ports: what the use cases need from the outside world.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use minifb_domain::{Bio, DisplayName, Email, Nickname, UserId};

/// A storage call that failed for a reason the caller cannot fix.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or no connection became free in time:
    /// the request may succeed if retried later (HTTP 503).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the message is for logs and must not quote SQL or data.
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// A user as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub password_hash: String,
    pub name: String,
    pub nickname: Option<String>,
    pub bio: Option<String>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A user to create; `password_hash` is already in Werkzeug's format.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub password_hash: String,
    pub name: DisplayName,
    pub nickname: Option<Nickname>,
    pub bio: Option<Bio>,
    pub email: Option<Email>,
}

/// Profile fields to change: `None` keeps a field, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProfileChanges {
    pub nickname: Option<Option<Nickname>>,
    pub bio: Option<Option<Bio>>,
    pub email: Option<Option<Email>>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Inserts the user. `Ok(None)` when the id is taken, letter case
    /// ignored; decided by the unique index on `lower(id)`, so of two
    /// concurrent sign-ups with one id exactly one succeeds.
    async fn create(&self, user: NewUser) -> Result<Option<UserRecord>, StoreError>;

    /// The user whose id equals `id` ignoring letter case, if any.
    async fn find(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Applies `changes` to the user with exactly this stored id and
    /// returns the result; `Ok(None)` if there is no such user.
    async fn update_profile(
        &self,
        id: &str,
        changes: ProfileChanges,
    ) -> Result<Option<UserRecord>, StoreError>;

    /// In one transaction: stores the new hash, revokes every refresh-token
    /// family of the user and ends any temporary password.
    async fn change_password(&self, id: &str, password_hash: String) -> Result<(), StoreError>;
}

/// A temporary password as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TemporaryPassword {
    pub password_hash: String,
    pub expires_at: DateTime<Utc>,
    /// When it was used to log in; it logs in only once.
    pub logged_in_at: Option<DateTime<Utc>>,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait TemporaryPasswordRepository: Send + Sync {
    /// Stores the user's temporary password, replacing an older one.
    async fn replace(
        &self,
        user_id: &str,
        password_hash: String,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// The user's temporary password, expired or not, if any.
    async fn find(&self, user_id: &str) -> Result<Option<TemporaryPassword>, StoreError>;

    /// Marks the temporary password with this hash as used for a login.
    /// `true` only for the one call that marked it, so of two concurrent
    /// logins with it at most one succeeds.
    async fn mark_logged_in(&self, user_id: &str, password_hash: &str) -> Result<bool, StoreError>;
}

/// What presenting a refresh token did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live: it is now retired and the new one stored.
    Rotated {
        user_id: String,
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
    async fn start_family(
        &self,
        user_id: &str,
        token_hash: Vec<u8>,
        expires_at: DateTime<Utc>,
        password_change_required: bool,
    ) -> Result<(), StoreError>;

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
    fn issue(&self, user_id: &str) -> anyhow::Result<AccessToken>;
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
