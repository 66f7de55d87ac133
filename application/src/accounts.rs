//! Account use cases: sign-up, login, refresh, logout, profile, password,
//! temporary password.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{Duration, Utc};
use minifb_domain::{Email, Password, PasswordHash, Rule, UserId, UserKey, ValidationError};

use crate::ports::{
    AccessTokenIssuer, AttemptKind, AttemptLimiter, HashError, Mail, Mailer, NewFamily, NewUser,
    PasswordHasher, ProfileChanges, RefreshTokenRepository, RetryAfter, Rotation, SecretGenerator,
    StoreError, TemporaryPasswordRepository, UserCreation, UserRecord, UserRepository,
};

/// How long a refresh token lives after it was issued.
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(14);
/// How long a temporary password can be used.
pub const TEMPORARY_PASSWORD_TTL: Duration = Duration::minutes(30);

/// What an account use case can answer besides success.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// A profile update that names no field to change.
    #[error("nothing to change")]
    NothingToChange,
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
    /// The caller's account no longer exists (removed since its token was
    /// issued).
    #[error("the token's account no longer exists")]
    CallerGone,
    #[error("id '{0}' is already taken")]
    IdTaken(UserId),
    #[error("too many failed attempts; retry in {} seconds", .0.0)]
    RateLimited(RetryAfter),
    #[error("too many sign-ups from this address; retry in {} seconds", .0.0)]
    SignUpsLimited(RetryAfter),
    #[error(transparent)]
    Hashing(#[from] HashError),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Unknown(#[from] anyhow::Error),
}

impl From<StoreError> for AccountError {
    /// A write refused for a missing user names the caller, whose account
    /// every such write is about.
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UserGone => Self::CallerGone,
            other => Self::Store(other),
        }
    }
}

/// Credentials are checked as typed, without the rules of new values, but
/// a NUL is refused everywhere, refresh tokens included (the contract's
/// "any text"): HMAC pads short keys with zeros, so `pw` and `pw\0` would
/// hash alike.
fn no_nul(field: &'static str, value: &str) -> Result<(), AccountError> {
    if value.contains('\0') {
        return Err(ValidationError::new(field, Rule::Nul).into());
    }
    Ok(())
}

/// Access and refresh token of a successful login or refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
    pub password_change_required: bool,
}

/// A validated sign-up: the new user with the password as chosen.
pub type SignUp = NewUser<Password>;

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
    pub secrets: Arc<dyn SecretGenerator>,
    pub access_tokens: Arc<dyn AccessTokenIssuer>,
    pub mailer: Arc<dyn Mailer>,
    pub limiter: Arc<dyn AttemptLimiter>,
}

impl AccountService {
    /// Whether `id` is free, letter case ignored.
    pub async fn id_availability(&self, id: &UserId) -> Result<bool, AccountError> {
        Ok(self.users.find(id).await?.is_none())
    }

    /// Creates an account. Sign-ups from one client address are limited:
    /// the sign-up counts from the moment it is admitted (before its hash
    /// is made, so a burst cannot slip past the limit), and one that makes
    /// no account is given back.
    pub async fn sign_up(
        &self,
        sign_up: SignUp,
        address: IpAddr,
    ) -> Result<UserRecord, AccountError> {
        self.hasher.check_capacity()?;
        self.limiter
            .admit_sign_up(address)
            .await?
            .map_err(AccountError::SignUpsLimited)?;
        let result = self.create_account(sign_up).await;
        if result.is_err() {
            self.limiter.forgive_sign_up(address).await?;
        }
        result
    }

    async fn create_account(&self, sign_up: SignUp) -> Result<UserRecord, AccountError> {
        let password_hash = self.hasher.hash(sign_up.password.clone()).await?;
        let id = sign_up.id.clone();
        match self
            .users
            .create(sign_up.with_password(password_hash))
            .await?
        {
            UserCreation::Created(user) => Ok(user),
            UserCreation::IdTaken => Err(AccountError::IdTaken(id)),
        }
    }

    /// Logs in with the account password or, once, with a live temporary
    /// password. Unknown ids, ids that break the rule and wrong passwords
    /// answer alike and cost one hash check each. The attempt counts from
    /// the moment it is admitted; only a wrong password keeps it counted.
    pub async fn login(
        &self,
        id: &str,
        password: &str,
        address: IpAddr,
    ) -> Result<TokenPair, AccountError> {
        no_nul("id", id)?;
        no_nul("password", password)?;
        self.hasher.check_capacity()?;
        let key = UserKey::claimed(id);
        self.admit(AttemptKind::Password, &key, address).await?;
        let result = self.check_login(id, password).await;
        let (user_id, password_change_required) = self
            .settle(result, &key, address)
            .await?
            .ok_or(AccountError::BadCredentials)?;
        // An account removed between the check and the session is as
        // unknown as one that never was.
        match self.start_session(&user_id, password_change_required).await {
            Err(AccountError::CallerGone) => Err(AccountError::BadCredentials),
            other => other,
        }
    }

    /// Whose password `password` is, and whether it was the temporary one;
    /// `None` for a wrong password or an unknown id. Every outcome but
    /// success costs the same: one check of the configured work (against a
    /// dummy hash when there is no account) and one look for a temporary
    /// password, whether or not the account has one.
    async fn check_login(
        &self,
        id: &str,
        password: &str,
    ) -> Result<Option<(UserId, bool)>, AccountError> {
        let Ok(id) = UserId::parse(id) else {
            self.verify(password, None).await?;
            return Ok(None);
        };
        let user = self.users.find(&id).await?;
        if self.verify(password, user.as_ref()).await? {
            return Ok(user.map(|user| (user.id, false)));
        }
        let holder = user.as_ref().map_or(&id, |user| &user.id);
        let digest = self.secrets.digest(password);
        let redeemed = self.temporary_passwords.redeem(holder, digest).await?;
        Ok(match user {
            Some(user) if redeemed => Some((user.id, true)),
            _ => None,
        })
    }

    /// Ends an admitted password attempt: a wrong password (`Ok(None)`)
    /// stays counted; a right one, and one that failed for another reason
    /// (a store outage), is given back, since it guessed nothing.
    async fn settle<T>(
        &self,
        result: Result<Option<T>, AccountError>,
        key: &UserKey,
        address: IpAddr,
    ) -> Result<Option<T>, AccountError> {
        if !matches!(result, Ok(None)) {
            self.limiter
                .forgive(AttemptKind::Password, key, address)
                .await?;
        }
        result
    }

    /// Counts an attempt, or answers 429 when a limit is reached.
    async fn admit(
        &self,
        kind: AttemptKind,
        key: &UserKey,
        address: IpAddr,
    ) -> Result<(), AccountError> {
        self.limiter
            .admit(kind, key, address)
            .await?
            .map_err(AccountError::RateLimited)
    }

    /// Checks `password` against the user's own password, or against the
    /// dummy hash when there is no user (or no readable hash), so that the
    /// work is the same either way. A match on an outdated hash stores a
    /// new one with the configured work.
    async fn verify(
        &self,
        password: &str,
        user: Option<&UserRecord>,
    ) -> Result<bool, AccountError> {
        let stored = user.and_then(|user| user.password_hash.clone());
        let real = stored.is_some();
        let hash = stored.unwrap_or_else(|| self.hasher.dummy_hash());
        let matches = self
            .hasher
            .verify(password.to_owned(), hash.clone())
            .await?
            && real;
        if let Some(user) = user.filter(|_| matches && self.hasher.is_outdated(&hash)) {
            self.upgrade_hash(user, password, &hash).await?;
        }
        Ok(matches)
    }

    /// Rehashes a password that matched an outdated hash. A password that
    /// no longer meets the rule for new ones (imported with an older rule)
    /// keeps its hash.
    async fn upgrade_hash(
        &self,
        user: &UserRecord,
        password: &str,
        old: &PasswordHash,
    ) -> Result<(), AccountError> {
        let Ok(password) = Password::parse(password) else {
            return Ok(());
        };
        let new = self.hasher.hash(password).await?;
        self.users.upgrade_hash(&user.id, old, new).await?;
        Ok(())
    }

    async fn start_session(
        &self,
        user_id: &UserId,
        password_change_required: bool,
    ) -> Result<TokenPair, AccountError> {
        let refresh_token = self.secrets.refresh_token();
        self.refresh_tokens
            .start_family(NewFamily {
                user_id: user_id.clone(),
                token_hash: self.secrets.digest(&refresh_token),
                expires_at: Utc::now() + REFRESH_TOKEN_TTL,
                password_change_required,
            })
            .await?;
        self.pair(user_id, refresh_token, password_change_required)
    }

    fn pair(
        &self,
        user_id: &UserId,
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
        no_nul("refresh_token", refresh_token)?;
        let next = self.secrets.refresh_token();
        let rotation = self
            .refresh_tokens
            .rotate(
                self.secrets.digest(refresh_token),
                self.secrets.digest(&next),
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
        no_nul("refresh_token", refresh_token)?;
        self.refresh_tokens
            .revoke_family(self.secrets.digest(refresh_token))
            .await?;
        Ok(())
    }

    /// The caller's own account.
    pub async fn me(&self, user_id: &UserId) -> Result<UserRecord, AccountError> {
        self.users
            .find(user_id)
            .await?
            .ok_or(AccountError::CallerGone)
    }

    /// Anyone's public profile; an id that breaks the rule cannot exist.
    pub async fn user(&self, id: &str) -> Result<UserRecord, AccountError> {
        let not_found = || AccountError::UserNotFound(id.to_owned());
        let id = UserId::parse(id).map_err(|_| not_found())?;
        self.users.find(&id).await?.ok_or_else(not_found)
    }

    /// Changes profile fields; changing `email` needs the current password.
    pub async fn update_me(
        &self,
        user_id: &UserId,
        update: ProfileUpdate,
        address: IpAddr,
    ) -> Result<UserRecord, AccountError> {
        let changes = update.changes;
        if changes == ProfileChanges::default() {
            return Err(AccountError::NothingToChange);
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
            .ok_or(AccountError::CallerGone)
    }

    /// Sets a new password (the current one or a live temporary one must be
    /// given) and revokes every refresh token of the user.
    pub async fn change_password(
        &self,
        user_id: &UserId,
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
        no_nul("current_password", &password)?;
        let key = user.id.key();
        self.admit(AttemptKind::Password, &key, address).await?;
        let result = self
            .current_password_matches(user, password, accept_temporary)
            .await
            .map(|matches| matches.then_some(()));
        self.settle(result, &key, address)
            .await?
            .ok_or(AccountError::WrongCurrentPassword)
    }

    async fn current_password_matches(
        &self,
        user: &UserRecord,
        password: String,
        accept_temporary: bool,
    ) -> Result<bool, AccountError> {
        if self.verify(&password, Some(user)).await? {
            return Ok(true);
        }
        Ok(accept_temporary
            && self
                .temporary_passwords
                .is_live(&user.id, self.secrets.digest(&password))
                .await?)
    }

    /// Counts a temporary-password request against its own limits (every
    /// request counts, so asking cannot lock anyone's login). The caller
    /// answers at once and then runs [`Self::send_temporary_password`], so
    /// the answer's timing says nothing about the account.
    pub async fn request_temporary_password(
        &self,
        id: &UserId,
        address: IpAddr,
    ) -> Result<(), AccountError> {
        self.admit(AttemptKind::TemporaryPassword, &id.key(), address)
            .await
    }

    /// When the id exists and its e-mail matches, makes a temporary
    /// password, stores its hash and mails it; otherwise does nothing.
    pub async fn send_temporary_password(
        &self,
        id: &UserId,
        email: &Email,
    ) -> Result<(), AccountError> {
        let Some(user) = self.users.find(id).await? else {
            return Ok(());
        };
        let Some(address) = user.email.as_deref().filter(|stored| email.matches(stored)) else {
            return Ok(());
        };
        let password = self.secrets.temporary_password();
        let text = format!(
            "Hello {},\n\nYour temporary password is: {}\n\n\
             It logs you in once within 30 minutes; then choose a new password.\n\
             Your current password keeps working. If you did not ask for this, ignore this message.\n",
            user.id,
            password.expose()
        );
        let digest = self.secrets.digest(password.expose());
        self.temporary_passwords
            .replace(&user.id, digest, Utc::now() + TEMPORARY_PASSWORD_TTL)
            .await?;
        self.mailer
            .send(Mail {
                to: address.to_owned(),
                subject: "Your minifb temporary password".into(),
                text,
            })
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
