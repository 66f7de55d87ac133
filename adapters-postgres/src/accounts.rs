//! Users, refresh tokens and temporary passwords.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use minifb_application::StoreError;
use minifb_application::ports::{
    NewUser, ProfileChanges, RefreshTokenRepository, Rotation, TemporaryPassword,
    TemporaryPasswordRepository, UserRecord, UserRepository,
};

use crate::pool::{Pool, is_unique_violation, run};
use crate::schema::{refresh_token_families, refresh_tokens, temporary_passwords, users};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
struct UserRow {
    id: String,
    password_hash: String,
    name: String,
    nickname: Option<String>,
    bio: Option<String>,
    email: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<UserRow> for UserRecord {
    fn from(row: UserRow) -> Self {
        Self {
            id: row.id,
            password_hash: row.password_hash,
            name: row.name,
            nickname: row.nickname,
            bio: row.bio,
            email: row.email,
            created_at: row.created_at,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
struct NewUserRow {
    id: String,
    password_hash: String,
    name: String,
    nickname: Option<String>,
    bio: Option<String>,
    email: Option<String>,
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

/// [`UserRepository`] over the `users` table.
#[derive(Clone)]
pub struct PgUserRepository {
    pool: Pool,
}

impl PgUserRepository {
    pub fn new(pool: Pool) -> Self {
        Self { pool }
    }
}

#[async_trait]
impl UserRepository for PgUserRepository {
    async fn create(&self, user: NewUser) -> Result<Option<UserRecord>, StoreError> {
        let row = NewUserRow {
            id: user.id.into_inner(),
            password_hash: user.password_hash,
            name: user.name.into_inner(),
            nickname: user.nickname.map(|v| v.into_inner()),
            bio: user.bio.map(|v| v.into_inner()),
            email: user.email.map(|v| v.into_inner()),
        };
        run(&self.pool, move |conn| {
            let inserted = diesel::insert_into(users::table)
                .values(&row)
                .returning(UserRow::as_returning())
                .get_result(conn);
            match inserted {
                Ok(row) => Ok(Some(row.into())),
                Err(e) if is_unique_violation(&e, &["users_pkey", "users_lower_id_key"]) => {
                    Ok(None)
                }
                Err(e) => Err(e),
            }
        })
        .await
    }

    async fn find(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let key = id.to_ascii_lowercase();
        run(&self.pool, move |conn| {
            users::table
                .filter(lower(users::id).eq(key))
                .select(UserRow::as_select())
                .first(conn)
                .optional()
        })
        .await
        .map(|row| row.map(Into::into))
    }

    async fn update_profile(
        &self,
        id: &str,
        changes: ProfileChanges,
    ) -> Result<Option<UserRecord>, StoreError> {
        let id = id.to_owned();
        let changeset = ProfileChangeset {
            nickname: inner(changes.nickname),
            bio: inner(changes.bio),
            email: inner(changes.email),
        };
        run(&self.pool, move |conn| {
            diesel::update(users::table.find(id))
                .set(&changeset)
                .returning(UserRow::as_returning())
                .get_result(conn)
                .optional()
        })
        .await
        .map(|row| row.map(Into::into))
    }

    async fn change_password(&self, id: &str, password_hash: String) -> Result<(), StoreError> {
        let id = id.to_owned();
        run(&self.pool, move |conn| {
            conn.transaction(|conn| {
                diesel::update(users::table.find(&id))
                    .set(users::password_hash.eq(password_hash))
                    .execute(conn)?;
                diesel::update(
                    refresh_token_families::table
                        .filter(refresh_token_families::user_id.eq(&id))
                        .filter(refresh_token_families::revoked_at.is_null()),
                )
                .set(refresh_token_families::revoked_at.eq(now))
                .execute(conn)?;
                diesel::delete(temporary_passwords::table.find(&id)).execute(conn)?;
                Ok(())
            })
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
        user_id: &str,
        password_hash: String,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let user_id = user_id.to_owned();
        run(&self.pool, move |conn| {
            diesel::insert_into(temporary_passwords::table)
                .values((
                    temporary_passwords::user_id.eq(&user_id),
                    temporary_passwords::password_hash.eq(&password_hash),
                    temporary_passwords::expires_at.eq(expires_at),
                ))
                .on_conflict(temporary_passwords::user_id)
                .do_update()
                .set((
                    temporary_passwords::password_hash.eq(&password_hash),
                    temporary_passwords::expires_at.eq(expires_at),
                    temporary_passwords::logged_in_at.eq(None::<DateTime<Utc>>),
                    temporary_passwords::created_at.eq(now),
                ))
                .execute(conn)
                .map(drop)
        })
        .await
    }

    async fn find(&self, user_id: &str) -> Result<Option<TemporaryPassword>, StoreError> {
        let user_id = user_id.to_owned();
        run(&self.pool, move |conn| {
            temporary_passwords::table
                .find(user_id)
                .select((
                    temporary_passwords::password_hash,
                    temporary_passwords::expires_at,
                    temporary_passwords::logged_in_at,
                ))
                .first::<(String, DateTime<Utc>, Option<DateTime<Utc>>)>(conn)
                .optional()
        })
        .await
        .map(|row| {
            row.map(
                |(password_hash, expires_at, logged_in_at)| TemporaryPassword {
                    password_hash,
                    expires_at,
                    logged_in_at,
                },
            )
        })
    }

    async fn mark_logged_in(&self, user_id: &str, password_hash: &str) -> Result<bool, StoreError> {
        let (user_id, password_hash) = (user_id.to_owned(), password_hash.to_owned());
        run(&self.pool, move |conn| {
            diesel::update(
                temporary_passwords::table
                    .find(user_id)
                    .filter(temporary_passwords::password_hash.eq(password_hash))
                    .filter(temporary_passwords::logged_in_at.is_null()),
            )
            .set(temporary_passwords::logged_in_at.eq(now))
            .execute(conn)
            .map(|updated| updated == 1)
        })
        .await
    }
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
    async fn start_family(
        &self,
        user_id: &str,
        token_hash: Vec<u8>,
        expires_at: DateTime<Utc>,
        password_change_required: bool,
    ) -> Result<(), StoreError> {
        let user_id = user_id.to_owned();
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
        run(&self.pool, move |conn| {
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
                    .first::<(
                        i64,
                        DateTime<Utc>,
                        Option<DateTime<Utc>>,
                        String,
                        bool,
                        Option<DateTime<Utc>>,
                    )>(conn)
                    .optional()?;
                let Some((family_id, expires_at, used_at, user_id, change_required, revoked_at)) =
                    found
                else {
                    return Ok(Rotation::Invalid);
                };
                if revoked_at.is_some() {
                    return Ok(Rotation::Invalid);
                }
                if used_at.is_some() {
                    diesel::update(refresh_token_families::table.find(family_id))
                        .set(refresh_token_families::revoked_at.eq(now))
                        .execute(conn)?;
                    return Ok(Rotation::Reused);
                }
                if expires_at <= Utc::now() {
                    return Ok(Rotation::Invalid);
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
                Ok(Rotation::Rotated {
                    user_id,
                    password_change_required: change_required,
                })
            })
        })
        .await
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
