//! Users, refresh tokens and temporary passwords.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use minifb_application::StoreError;
use minifb_application::ports::{
    NewFamily, NewUser, ProfileChanges, RefreshTokenRepository, Rotation, StoreResult,
    TemporaryPasswordRepository, UserCreation, UserRecord, UserRepository,
};
use minifb_application::social::ports::Author;
use minifb_domain::{PasswordHash, UserId, UserKey};

use crate::pool::{Pool, is_unique_violation, run};
use crate::replicas::{Database, read, write};
use crate::schema::{refresh_token_families, refresh_tokens, temporary_passwords, users};
use crate::views::{AuthorRow, stored_user_id};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

/// A user as stored: the public part (id, name, nickname) is read as the
/// [`AuthorRow`] every list reads.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
struct UserRow {
    #[diesel(embed)]
    author: AuthorRow,
    password_hash: String,
    bio: Option<String>,
    email: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<UserRow> for UserRecord {
    type Error = StoreError;

    /// A hash of another method (Werkzeug's `scrypt:`) is `None`: it never
    /// verifies, as the contract says.
    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        let author = Author::try_from(row.author)?;
        Ok(Self {
            id: author.id,
            password_hash: PasswordHash::parse(&row.password_hash),
            name: author.name,
            nickname: author.nickname,
            bio: row.bio,
            email: row.email,
            created_at: row.created_at,
        })
    }
}

/// `None` leaves a column alone; `Some(None)` sets it to NULL.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
struct ProfileChangeset {
    nickname: Option<Option<String>>,
    bio: Option<Option<String>>,
    email: Option<Option<String>>,
}

fn inner<T: AsRef<str>>(value: Option<Option<T>>) -> Option<Option<String>> {
    value.map(|v| v.map(|s| s.as_ref().to_owned()))
}

/// The user whose id folds to `key`: on the unique index of `lower(id)`, the
/// same that settles concurrent sign-ups.
#[diesel::dsl::auto_type]
fn user_by_key<'a>(key: &'a UserKey) -> _ {
    let key: &'a str = key.as_str();
    users::table.filter(lower(users::id).eq(key))
}

/// Whether a user's id folds to `key`.
pub(crate) fn user_exists(conn: &mut PgConnection, key: &UserKey) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(user_by_key(key))).get_result(conn)
}

fn record(row: Option<UserRow>) -> Result<Option<UserRecord>, StoreError> {
    row.map(TryInto::try_into).transpose()
}

/// [`UserRepository`] over the `users` table.
#[derive(Clone)]
pub struct PgUserRepository {
    db: Database,
}

impl PgUserRepository {
    pub fn new(db: impl Into<Database>) -> Self {
        Self { db: db.into() }
    }
}

#[async_trait]
impl UserRepository for PgUserRepository {
    async fn create(&self, user: NewUser) -> Result<UserCreation, StoreError> {
        let row = (
            users::id.eq(user.id.into_inner()),
            users::password_hash.eq(user.password.encode()),
            users::name.eq(user.name.into_inner()),
            users::nickname.eq(user.nickname.map(|v| v.into_inner())),
            users::bio.eq(user.bio.map(|v| v.into_inner())),
            users::email.eq(user.email.map(|v| v.into_inner())),
        );
        write(&self.db, move |conn| {
            let inserted = diesel::insert_into(users::table)
                .values(row)
                .returning(UserRow::as_returning())
                .get_result(conn);
            match inserted {
                Ok(row) => Ok(Some(row)),
                Err(e) if is_unique_violation(&e, &["users_pkey", "users_lower_id_key"]) => {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
        .await?
        .map_or(Ok(UserCreation::IdTaken), |row| {
            Ok(UserCreation::Created(row.try_into()?))
        })
    }

    async fn find(&self, id: &UserId) -> Result<Option<UserRecord>, StoreError> {
        let key = id.key();
        let row = read(&self.db, move |conn| {
            user_by_key(&key)
                .select(UserRow::as_select())
                .first(conn)
                .optional()
        });
        record(row.await?)
    }

    async fn update_profile(
        &self,
        id: &UserId,
        changes: ProfileChanges,
    ) -> Result<Option<UserRecord>, StoreError> {
        let key = id.key();
        let changeset = ProfileChangeset {
            nickname: inner(changes.nickname),
            bio: inner(changes.bio),
            email: inner(changes.email),
        };
        let row = write(&self.db, move |conn| {
            diesel::update(user_by_key(&key))
                .set(&changeset)
                .returning(UserRow::as_returning())
                .get_result(conn)
                .optional()
        });
        record(row.await?)
    }

    async fn change_password(
        &self,
        id: &UserId,
        password_hash: PasswordHash,
    ) -> Result<(), StoreError> {
        let key = id.key();
        let password_hash = password_hash.encode();
        let change = write(&self.db, move |conn| {
            conn.transaction(|conn| {
                let Some(id) = diesel::update(user_by_key(&key))
                    .set(users::password_hash.eq(password_hash))
                    .returning(users::id)
                    .get_result::<String>(conn)
                    .optional()?
                else {
                    return Ok(PasswordChange::UserGone);
                };
                diesel::update(
                    refresh_token_families::table
                        .filter(refresh_token_families::user_id.eq(&id))
                        .filter(refresh_token_families::revoked_at.is_null()),
                )
                .set(refresh_token_families::revoked_at.eq(now))
                .execute(conn)?;
                diesel::delete(temporary_passwords::table.find(&id)).execute(conn)?;
                Ok(PasswordChange::Done)
            })
        })
        .await?;
        match change {
            PasswordChange::Done => Ok(()),
            PasswordChange::UserGone => Err(StoreError::UserGone),
        }
    }

    async fn upgrade_hash(
        &self,
        id: &UserId,
        old: &PasswordHash,
        new: PasswordHash,
    ) -> Result<(), StoreError> {
        let (key, old, new) = (id.key(), old.encode(), new.encode());
        write(&self.db, move |conn| {
            diesel::update(user_by_key(&key).filter(users::password_hash.eq(old)))
                .set(users::password_hash.eq(new))
                .execute(conn)
                .map(drop)
        })
        .await
    }
}

/// [`TemporaryPasswordRepository`] over `temporary_passwords`.
#[derive(Clone)]
pub struct PgTemporaryPasswordRepository {
    pool: Pool,
}

impl PgTemporaryPasswordRepository {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl TemporaryPasswordRepository for PgTemporaryPasswordRepository {
    async fn replace(
        &self,
        user_id: &UserId,
        digest: Vec<u8>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let user_id = user_id.to_string();
        run(&self.pool, move |conn| {
            diesel::insert_into(temporary_passwords::table)
                .values((
                    temporary_passwords::user_id.eq(&user_id),
                    temporary_passwords::password_digest.eq(&digest),
                    temporary_passwords::expires_at.eq(expires_at),
                ))
                .on_conflict(temporary_passwords::user_id)
                .do_update()
                .set((
                    temporary_passwords::password_digest.eq(&digest),
                    temporary_passwords::expires_at.eq(expires_at),
                    temporary_passwords::logged_in_at.eq(None::<DateTime<Utc>>),
                    temporary_passwords::created_at.eq(now),
                ))
                .execute(conn)
                .map(drop)
        })
        .await
    }

    async fn redeem(&self, user_id: &UserId, digest: Vec<u8>) -> Result<bool, StoreError> {
        let user_id = user_id.to_string();
        run(&self.pool, move |conn| {
            diesel::update(
                live_temporary_password(&user_id, &digest)
                    .filter(temporary_passwords::logged_in_at.is_null()),
            )
            .set(temporary_passwords::logged_in_at.eq(now))
            .execute(conn)
            .map(|updated| updated == 1)
        })
        .await
    }

    async fn is_live(&self, user_id: &UserId, digest: Vec<u8>) -> Result<bool, StoreError> {
        let user_id = user_id.to_string();
        run(&self.pool, move |conn| {
            diesel::select(diesel::dsl::exists(live_temporary_password(
                &user_id, &digest,
            )))
            .get_result(conn)
        })
        .await
    }
}

/// The user's unexpired temporary password with this digest.
#[diesel::dsl::auto_type]
fn live_temporary_password<'a>(user_id: &'a str, digest: &'a [u8]) -> _ {
    temporary_passwords::table
        .filter(temporary_passwords::user_id.eq(user_id))
        .filter(temporary_passwords::password_digest.eq(digest))
        .filter(temporary_passwords::expires_at.gt(now))
}

/// What the password change's transaction found: the user, or no user
/// (removed since the caller's token was issued).
enum PasswordChange {
    Done,
    UserGone,
}

/// A presented refresh token and its family, as stored, locked for the
/// rotation.
#[derive(Queryable)]
struct StoredToken {
    family_id: i64,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    user_id: String,
    password_change_required: bool,
    revoked_at: Option<DateTime<Utc>>,
}

/// What the presented refresh token turned out to be, as stored.
enum Presented {
    /// Live: now retired, its successor stored.
    Live {
        user_id: String,
        password_change_required: bool,
    },
    /// Used before: its family is now revoked.
    Used,
    /// Unknown, expired or revoked.
    Dead,
}

/// [`RefreshTokenRepository`] over `refresh_token_families` and
/// `refresh_tokens`.
#[derive(Clone)]
pub struct PgRefreshTokenRepository {
    pool: Pool,
}

impl PgRefreshTokenRepository {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl RefreshTokenRepository for PgRefreshTokenRepository {
    async fn start_family(&self, family: NewFamily) -> StoreResult {
        let NewFamily {
            user_id,
            token_hash,
            expires_at,
            password_change_required,
        } = family;
        let user_id = user_id.into_inner();
        run(&self.pool, move |conn| {
            conn.transaction(|conn| {
                let family_id: i64 = diesel::insert_into(refresh_token_families::table)
                    .values((
                        refresh_token_families::user_id.eq(user_id),
                        refresh_token_families::password_change_required
                            .eq(password_change_required),
                    ))
                    .returning(refresh_token_families::id)
                    .get_result(conn)?;
                diesel::insert_into(refresh_tokens::table)
                    .values((
                        refresh_tokens::token_hash.eq(token_hash),
                        refresh_tokens::family_id.eq(family_id),
                        refresh_tokens::expires_at.eq(expires_at),
                    ))
                    .execute(conn)
                    .map(drop)
            })
        })
        .await
    }

    async fn rotate(
        &self,
        old_hash: Vec<u8>,
        new_hash: Vec<u8>,
        new_expires_at: DateTime<Utc>,
    ) -> Result<Rotation, StoreError> {
        let presented = run(&self.pool, move |conn| {
            conn.transaction(|conn| {
                // FOR UPDATE serialises concurrent presentations of one
                // token: the second waits, then sees `used_at` set.
                let found = refresh_tokens::table
                    .inner_join(refresh_token_families::table)
                    .filter(refresh_tokens::token_hash.eq(&old_hash))
                    .select((
                        refresh_tokens::family_id,
                        refresh_tokens::expires_at,
                        refresh_tokens::used_at,
                        refresh_token_families::user_id,
                        refresh_token_families::password_change_required,
                        refresh_token_families::revoked_at,
                    ))
                    .for_update()
                    .first::<StoredToken>(conn)
                    .optional()?;
                let Some(StoredToken {
                    family_id,
                    expires_at,
                    used_at,
                    user_id,
                    password_change_required,
                    revoked_at,
                }) = found
                else {
                    return Ok(Presented::Dead);
                };
                if revoked_at.is_some() {
                    return Ok(Presented::Dead);
                }
                if used_at.is_some() {
                    diesel::update(refresh_token_families::table.find(family_id))
                        .set(refresh_token_families::revoked_at.eq(now))
                        .execute(conn)?;
                    return Ok(Presented::Used);
                }
                if expires_at <= Utc::now() {
                    return Ok(Presented::Dead);
                }
                diesel::update(refresh_tokens::table.find(&old_hash))
                    .set(refresh_tokens::used_at.eq(now))
                    .execute(conn)?;
                diesel::insert_into(refresh_tokens::table)
                    .values((
                        refresh_tokens::token_hash.eq(&new_hash),
                        refresh_tokens::family_id.eq(family_id),
                        refresh_tokens::expires_at.eq(new_expires_at),
                    ))
                    .execute(conn)?;
                Ok(Presented::Live {
                    user_id,
                    password_change_required,
                })
            })
        })
        .await?;
        Ok(match presented {
            Presented::Live {
                user_id,
                password_change_required,
            } => Rotation::Rotated {
                user_id: stored_user_id(user_id)?,
                password_change_required,
            },
            Presented::Used => Rotation::Reused,
            Presented::Dead => Rotation::Invalid,
        })
    }

    async fn revoke_family(&self, token_hash: Vec<u8>) -> Result<(), StoreError> {
        run(&self.pool, move |conn| {
            let family = refresh_tokens::table
                .find(token_hash)
                .select(refresh_tokens::family_id);
            diesel::update(
                refresh_token_families::table
                    .filter(refresh_token_families::id.eq_any(family))
                    .filter(refresh_token_families::revoked_at.is_null()),
            )
            .set(refresh_token_families::revoked_at.eq(now))
            .execute(conn)
            .map(drop)
        })
        .await
    }
}
