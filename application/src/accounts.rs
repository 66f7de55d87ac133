//! Account use cases: sign-up, login, refresh, logout, profile, password,
//! temporary password.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{Duration, Utc};
use minifb_domain::{Bio, DisplayName, Email, Nickname, Password, UserId, ValidationError};

use crate::hashing::{HashError, PasswordHasher};
use crate::limiter::{AttemptLimiter, RetryAfter};
use crate::ports::{
    AccessTokenIssuer, Mail, Mailer, NewUser, ProfileChanges, RefreshTokenRepository, Rotation,
    StoreError, TemporaryPasswordRepository, UserRecord, UserRepository,
};
use crate::tokens::{new_refresh_token, new_temporary_password, refresh_token_digest};

/// How long a refresh token lives after it was issued.
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(14);
/// How long a temporary password can be used.
pub const TEMPORARY_PASSWORD_TTL: Duration = Duration::minutes(30);

/// What an account use case can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{0}")]
    BadRequest(String),
    #[error("id or password is wrong")]
    BadCredentials,
    #[error("refresh token is unknown, expired or revoked")]
    InvalidRefreshToken,
    #[error("current_password is wrong")]
    WrongCurrentPassword,
    #[error("current_password is required to change email")]
    CurrentPasswordRequired,
    #[error("user '{0}' does not exist")]
    UserNotFound(String),
    #[error("id '{0}' is already taken")]
    IdTaken(String),
    #[error("too many failed attempts; retry in {} seconds", .0.0)]
    RateLimited(RetryAfter),
    #[error(transparent)]
    Hashing(#[from] HashError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

/// Access and refresh token of a successful login or refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub password_change_required: bool,
}

/// A validated sign-up.
#[derive(Debug, Clone)]
pub struct SignUp {
    pub id: UserId,
    pub password: Password,
    pub name: DisplayName,
    pub nickname: Option<Nickname>,
    pub bio: Option<Bio>,
    pub email: Option<Email>,
}

/// A validated `PATCH /me`.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    pub changes: ProfileChanges,
    pub current_password: Option<String>,
}

/// The ports the account use cases need.
#[derive(Clone)]
pub struct AccountService {
    pub users: Arc<dyn UserRepository>,
    pub temporary_passwords: Arc<dyn TemporaryPasswordRepository>,
    pub refresh_tokens: Arc<dyn RefreshTokenRepository>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub access_tokens: Arc<dyn AccessTokenIssuer>,
    pub mailer: Arc<dyn Mailer>,
    /// Failed logins and wrong current passwords.
    pub limiter: Arc<AttemptLimiter>,
    /// Temporary-password requests: the same limits, counted apart, so
    /// that asking for temporary passwords cannot lock an account's logins.
    pub reset_limiter: Arc<AttemptLimiter>,
}

impl AccountService {
    /// Whether `id` is free, letter case ignored.
    pub async fn id_availability(&self, id: UserId) -> Result<bool, AccountError> {
        Ok(self.users.find(id.as_ref()).await?.is_none())
    }

    pub async fn sign_up(&self, sign_up: SignUp) -> Result<UserRecord, AccountError> {
        let id = sign_up.id.to_string();
        let password_hash = self.hasher.hash(sign_up.password).await?;
        let new_user = NewUser {
            id: sign_up.id,
            password_hash,
            name: sign_up.name,
            nickname: sign_up.nickname,
            bio: sign_up.bio,
            email: sign_up.email,
        };
        self.users
            .create(new_user)
            .await?
            .ok_or(AccountError::IdTaken(id))
    }

    /// Logs in with the account password or, once, with a live temporary
    /// password. Unknown ids, ids that break the rule and wrong passwords
    /// answer alike and cost one hash check each.
    pub async fn login(
        &self,
        id: &str,
        password: &str,
        address: IpAddr,
    ) -> Result<TokenPair, AccountError> {
        self.limiter
            .check(id, address)
            .map_err(AccountError::RateLimited)?;
        let user = match UserId::parse(id) {
            Ok(valid) => self.users.find(valid.as_ref()).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            self.hasher
                .verify(password.to_owned(), self.hasher.dummy_hash())
                .await?;
            return self.failed_login(id, address);
        };
        if self
            .hasher
            .verify(password.to_owned(), user.password_hash.clone())
            .await?
        {
            return self.start_session(&user.id, false).await;
        }
        if let Some(temporary) = self.temporary_passwords.find(&user.id).await?
            && temporary.logged_in_at.is_none()
            && temporary.expires_at > Utc::now()
            && self
                .hasher
                .verify(password.to_owned(), temporary.password_hash.clone())
                .await?
            && self
                .temporary_passwords
                .mark_logged_in(&user.id, &temporary.password_hash)
                .await?
        {
            return self.start_session(&user.id, true).await;
        }
        self.failed_login(id, address)
    }

    fn failed_login<T>(&self, id: &str, address: IpAddr) -> Result<T, AccountError> {
        self.limiter.record_failure(id, address);
        Err(AccountError::BadCredentials)
    }

    async fn start_session(
        &self,
        user_id: &str,
        password_change_required: bool,
    ) -> Result<TokenPair, AccountError> {
        let refresh_token = new_refresh_token();
        self.refresh_tokens
            .start_family(
                user_id,
                refresh_token_digest(&refresh_token),
                Utc::now() + REFRESH_TOKEN_TTL,
                password_change_required,
            )
            .await?;
        self.pair(user_id, refresh_token, password_change_required)
    }

    fn pair(
        &self,
        user_id: &str,
        refresh_token: String,
        password_change_required: bool,
    ) -> Result<TokenPair, AccountError> {
        let access = self.access_tokens.issue(user_id)?;
        Ok(TokenPair {
            access_token: access.token,
            refresh_token,
            expires_in: access.expires_in_seconds,
            password_change_required,
        })
    }

    /// Trades a live refresh token for a new pair; a used one revokes its
    /// family.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, AccountError> {
        let next = new_refresh_token();
        let rotation = self
            .refresh_tokens
            .rotate(
                refresh_token_digest(refresh_token),
                refresh_token_digest(&next),
                Utc::now() + REFRESH_TOKEN_TTL,
            )
            .await?;
        match rotation {
            Rotation::Rotated {
                user_id,
                password_change_required,
            } => self.pair(&user_id, next, password_change_required),
            Rotation::Reused => {
                tracing::warn!(
                    "a retired refresh token was presented again; its family is revoked"
                );
                Err(AccountError::InvalidRefreshToken)
            }
            Rotation::Invalid => Err(AccountError::InvalidRefreshToken),
        }
    }

    /// Revokes the token's family; unknown tokens are fine.
    pub async fn logout(&self, refresh_token: &str) -> Result<(), AccountError> {
        self.refresh_tokens
            .revoke_family(refresh_token_digest(refresh_token))
            .await?;
        Ok(())
    }

    /// The caller's own account.
    pub async fn me(&self, user_id: &str) -> Result<UserRecord, AccountError> {
        self.users
            .find(user_id)
            .await?
            .ok_or_else(|| AccountError::UserNotFound(user_id.to_owned()))
    }

    /// Anyone's public profile; an id that breaks the rule cannot exist.
    pub async fn user(&self, id: &str) -> Result<UserRecord, AccountError> {
        let not_found = || AccountError::UserNotFound(id.to_owned());
        let id = UserId::parse(id).map_err(|_| not_found())?;
        self.users.find(id.as_ref()).await?.ok_or_else(not_found)
    }

    /// Changes profile fields; changing `email` needs the current password.
    pub async fn update_me(
        &self,
        user_id: &str,
        update: ProfileUpdate,
        address: IpAddr,
    ) -> Result<UserRecord, AccountError> {
        let changes = update.changes;
        if changes == ProfileChanges::default() {
            return Err(AccountError::BadRequest(
                "PATCH /me needs at least one of nickname, bio, email".into(),
            ));
        }
        let user = self.me(user_id).await?;
        let email_changes = changes
            .email
            .as_ref()
            .is_some_and(|new| match (new, &user.email) {
                (Some(new), Some(old)) => !new.matches(old),
                (None, None) => false,
                _ => true,
            });
        match update.current_password {
            Some(current) => {
                self.check_current_password(&user, current, false, address)
                    .await?;
            }
            None if email_changes => return Err(AccountError::CurrentPasswordRequired),
            None => {}
        }
        self.users
            .update_profile(&user.id, changes)
            .await?
            .ok_or_else(|| AccountError::UserNotFound(user_id.to_owned()))
    }

    /// Sets a new password (the current one or a live temporary one must be
    /// given) and revokes every refresh token of the user.
    pub async fn change_password(
        &self,
        user_id: &str,
        current_password: String,
        new_password: Password,
        address: IpAddr,
    ) -> Result<(), AccountError> {
        let user = self.me(user_id).await?;
        self.check_current_password(&user, current_password, true, address)
            .await?;
        let hash = self.hasher.hash(new_password).await?;
        self.users.change_password(&user.id, hash).await?;
        Ok(())
    }

    /// A wrong current password counts as a failed login for the id. A live
    /// temporary password is accepted only where `accept_temporary` (by
    /// `PUT /me/password`, which ends it).
    async fn check_current_password(
        &self,
        user: &UserRecord,
        password: String,
        accept_temporary: bool,
        address: IpAddr,
    ) -> Result<(), AccountError> {
        self.limiter
            .check(&user.id, address)
            .map_err(AccountError::RateLimited)?;
        if self
            .hasher
            .verify(password.clone(), user.password_hash.clone())
            .await?
        {
            return Ok(());
        }
        if accept_temporary
            && let Some(temporary) = self.temporary_passwords.find(&user.id).await?
            && temporary.expires_at > Utc::now()
            && self
                .hasher
                .verify(password, temporary.password_hash)
                .await?
        {
            return Ok(());
        }
        self.limiter.record_failure(&user.id, address);
        Err(AccountError::WrongCurrentPassword)
    }

    /// Answers at once; when the id exists and its e-mail matches, makes a
    /// temporary password and mails it in the background, so the answer's
    /// timing says nothing about the account.
    pub async fn request_temporary_password(
        &self,
        id: UserId,
        email: Email,
        address: IpAddr,
    ) -> Result<(), AccountError> {
        self.reset_limiter
            .check(id.as_ref(), address)
            .map_err(AccountError::RateLimited)?;
        self.reset_limiter.record_failure(id.as_ref(), address);
        let service = self.clone();
        tokio::spawn(async move {
            if let Err(error) = service.send_temporary_password(&id, &email).await {
                tracing::error!(%error, "could not issue a temporary password");
            }
        });
        Ok(())
    }

    /// The background half of [`Self::request_temporary_password`].
    pub async fn send_temporary_password(
        &self,
        id: &UserId,
        email: &Email,
    ) -> Result<(), AccountError> {
        let Some(user) = self.users.find(id.as_ref()).await? else {
            return Ok(());
        };
        let Some(address) = user.email.as_deref().filter(|stored| email.matches(stored)) else {
            return Ok(());
        };
        let password = new_temporary_password();
        let hash = self.hasher.hash(Password::parse(password.clone())?).await?;
        self.temporary_passwords
            .replace(&user.id, hash, Utc::now() + TEMPORARY_PASSWORD_TTL)
            .await?;
        self.mailer
            .send(Mail {
                to: address.to_owned(),
                subject: "Your minifb temporary password".into(),
                text: format!(
                    "Hello {},\n\nYour temporary password is: {password}\n\n\
                     It logs you in once within 30 minutes; then choose a new password.\n\
                     Your current password keeps working. If you did not ask for this, ignore this message.\n",
                    user.id
                ),
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;
