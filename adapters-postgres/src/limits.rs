//! Attempt limits kept in PostgreSQL, so that every server process sharing
//! the database enforces one limit (N processes must not allow N times the
//! guesses).
//!
//! A fixed window per key in the UNLOGGED `attempt_windows` table: the
//! first attempt opens a window of `period`; once `limit` attempts fall in
//! it, every attempt on that key is refused until the window ends. A key
//! therefore stays locked for at most `period` after its first attempt,
//! which bounds how long an attacker can lock a real user out. Admission is
//! one upsert per key that admits and counts, or refuses, in one statement:
//! concurrent attempts queue on the key's row, so however many arrive at
//! once no more than `limit` are admitted. Only attempts write; other
//! requests never touch the table.

use std::net::IpAddr;
use std::time::Duration;

use async_trait::async_trait;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};
use minifb_application::StoreError;
use minifb_application::ports::{Admission, AttemptKind, AttemptLimiter, RetryAfter, StoreResult};
use minifb_domain::UserKey;

use crate::pool::{Pool, run};

/// At most `limit` attempts per `period` on one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub limit: u32,
    pub period: Duration,
}

/// The limits of the contract: 10 per account id per 5 minutes and 30 per
/// client address per minute, for each kind of attempt; 25 sign-ups per
/// client address per 5 minutes (`None`: sign-ups are not limited).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub per_account: Limit,
    pub per_address: Limit,
    pub sign_ups_per_address: Option<Limit>,
}

impl Limits {
    /// The period of the sign-up limit.
    pub const SIGN_UP_PERIOD: Duration = Duration::from_secs(5 * 60);

    /// The contract's limits with `per_period` sign-ups per address, or
    /// none when `None`.
    pub fn with_sign_ups(per_period: Option<u32>) -> Self {
        Self {
            sign_ups_per_address: per_period.map(|limit| Limit {
                limit,
                period: Self::SIGN_UP_PERIOD,
            }),
            ..Self::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_account: Limit {
                limit: 10,
                period: Duration::from_secs(5 * 60),
            },
            per_address: Limit {
                limit: 30,
                period: Duration::from_secs(60),
            },
            sign_ups_per_address: Some(Limit {
                limit: 25,
                period: Self::SIGN_UP_PERIOD,
            }),
        }
    }
}

/// Admits and counts in one statement. A window that has ended starts
/// afresh; a full one fails the `WHERE` of the update, which then changes
/// no row (the row stays locked until commit all the same).
const ADMIT: &str = "\
INSERT INTO attempt_windows AS w (scope, key, window_start, attempts)
VALUES ($1, $2, now(), 1)
ON CONFLICT (scope, key) DO UPDATE SET
    window_start = CASE WHEN w.window_start <= now() - $3 * interval '1 second'
                        THEN now() ELSE w.window_start END,
    attempts = CASE WHEN w.window_start <= now() - $3 * interval '1 second'
                    THEN 1 ELSE w.attempts + 1 END
WHERE w.window_start <= now() - $3 * interval '1 second' OR w.attempts < $4";

/// Whole seconds until the key's window ends, at least 1 and at most the
/// window: a refused attempt whose transaction began before the one that
/// opened the window (it waited for the row) sees `now()` before the
/// window's start.
const RETRY_AFTER: &str = "\
SELECT least($3, greatest(1, ceil(extract(epoch FROM
    w.window_start + $3 * interval '1 second' - now()))))::bigint AS seconds
FROM attempt_windows AS w WHERE w.scope = $1 AND w.key = $2";

/// Gives one attempt back (a success, or one admitted by a key whose
/// partner refused).
const GIVE_BACK: &str = "\
UPDATE attempt_windows SET attempts = attempts - 1
WHERE scope = $1 AND key = $2 AND attempts > 0";

#[derive(QueryableByName)]
struct Seconds {
    #[diesel(sql_type = BigInt)]
    seconds: i64,
}

/// One limited key: which scope it counts in, the key, and its limit.
struct Key {
    scope: &'static str,
    key: String,
    limit: Limit,
}

impl Key {
    fn period_seconds(&self) -> i64 {
        i64::try_from(self.limit.period.as_secs()).unwrap_or(i64::MAX)
    }

    /// `Ok(None)` when admitted and counted, `Ok(Some(..))` when refused.
    fn admit(&self, conn: &mut PgConnection) -> QueryResult<Option<RetryAfter>> {
        let admitted = diesel::sql_query(ADMIT)
            .bind::<Text, _>(self.scope)
            .bind::<Text, _>(&self.key)
            .bind::<BigInt, _>(self.period_seconds())
            .bind::<Integer, _>(i32::try_from(self.limit.limit).unwrap_or(i32::MAX))
            .execute(conn)?;
        if admitted == 1 {
            return Ok(None);
        }
        metrics::counter!("auth_attempts_refused_total", "limit" => self.scope).increment(1);
        let left = diesel::sql_query(RETRY_AFTER)
            .bind::<Text, _>(self.scope)
            .bind::<Text, _>(&self.key)
            .bind::<BigInt, _>(self.period_seconds())
            .get_result::<Seconds>(conn)?;
        Ok(Some(RetryAfter(u64::try_from(left.seconds).unwrap_or(1))))
    }

    fn give_back(&self, conn: &mut PgConnection) -> QueryResult<()> {
        diesel::sql_query(GIVE_BACK)
            .bind::<Text, _>(self.scope)
            .bind::<Text, _>(&self.key)
            .execute(conn)
            .map(drop)
    }
}

/// [`AttemptLimiter`] over `attempt_windows`.
#[derive(Clone)]
pub struct PgAttemptLimiter {
    pool: Pool,
    limits: Limits,
}

impl PgAttemptLimiter {
    pub fn new(pool: Pool, limits: Limits) -> Self {
        Self { pool, limits }
    }

    /// The account key first, then the address: both are admitted or
    /// neither is counted.
    fn keys(&self, kind: AttemptKind, account: &UserKey, address: IpAddr) -> [Key; 2] {
        let (account_scope, address_scope) = match kind {
            AttemptKind::Password => ("password/account", "password/address"),
            AttemptKind::TemporaryPassword => {
                ("temporary_password/account", "temporary_password/address")
            }
        };
        [
            Key {
                scope: account_scope,
                key: account.as_str().to_owned(),
                limit: self.limits.per_account,
            },
            Key {
                scope: address_scope,
                key: address.to_string(),
                limit: self.limits.per_address,
            },
        ]
    }

    /// The sign-up key of `address`, or `None` when sign-ups are not
    /// limited.
    fn sign_up_key(&self, address: IpAddr) -> Option<Key> {
        Some(Key {
            scope: "sign_up/address",
            key: address.to_string(),
            limit: self.limits.sign_ups_per_address?,
        })
    }

    /// Deletes windows that ended long ago; run now and then, never on a
    /// request.
    pub async fn prune(&self) -> Result<usize, StoreError> {
        let longest = [
            Some(self.limits.per_account),
            Some(self.limits.per_address),
            self.limits.sign_ups_per_address,
        ]
        .into_iter()
        .flatten()
        .map(|limit| limit.period)
        .max()
        .unwrap_or_default();
        let seconds = i64::try_from(longest.as_secs()).unwrap_or(i64::MAX);
        run(&self.pool, move |conn| {
            diesel::sql_query(
                "DELETE FROM attempt_windows WHERE window_start < now() - $1 * interval '1 second'",
            )
            .bind::<BigInt, _>(seconds)
            .execute(conn)
        })
        .await
    }
}

#[async_trait]
impl AttemptLimiter for PgAttemptLimiter {
    async fn admit(&self, kind: AttemptKind, account: &UserKey, address: IpAddr) -> Admission {
        let [account, address] = self.keys(kind, account, address);
        run(&self.pool, move |conn| {
            conn.transaction(|conn| {
                if let Some(retry) = account.admit(conn)? {
                    return Ok(Err(retry));
                }
                if let Some(retry) = address.admit(conn)? {
                    account.give_back(conn)?;
                    return Ok(Err(retry));
                }
                Ok(Ok(()))
            })
        })
        .await
    }

    async fn forgive(&self, kind: AttemptKind, account: &UserKey, address: IpAddr) -> StoreResult {
        let keys = self.keys(kind, account, address);
        run(&self.pool, move |conn| {
            conn.transaction(|conn| keys.iter().try_for_each(|key| key.give_back(conn)))
        })
        .await
    }

    async fn admit_sign_up(&self, address: IpAddr) -> Admission {
        let Some(key) = self.sign_up_key(address) else {
            return Ok(Ok(()));
        };
        run(&self.pool, move |conn| {
            conn.transaction(|conn| Ok(key.admit(conn)?.map_or(Ok(()), Err)))
        })
        .await
    }

    async fn forgive_sign_up(&self, address: IpAddr) -> StoreResult {
        let Some(key) = self.sign_up_key(address) else {
            return Ok(());
        };
        run(&self.pool, move |conn| key.give_back(conn)).await
    }
}
