//! Use-case tests for the account service: the ports are mockall mocks that
//! fail the test on any call a test did not arrange, the limiter is the real
//! in-memory one and, where a real hash reads more simply than a mock, the
//! hasher is the real PBKDF2 one at 1,000 rounds.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use minifb_domain::{
    Bio, DisplayName, Email, Nickname, Password, PasswordHash, UserId, hash_password,
};
use mockall::predicate::eq;

use super::{
    AccountError, AccountService, ProfileUpdate, REFRESH_TOKEN_TTL, SignUp, TEMPORARY_PASSWORD_TTL,
};
use crate::StoreError;
use crate::hashing::{HashError, MockPasswordHasher, PasswordHasher, Pbkdf2Hasher};
use crate::limiter::{AttemptLimiter, RetryAfter};
use crate::ports::{
    AccessToken, Mail, MockAccessTokenIssuer, MockMailer, MockRefreshTokenRepository,
    MockTemporaryPasswordRepository, MockUserRepository, ProfileChanges, Rotation,
    TemporaryPassword, UserRecord,
};
use crate::tokens::refresh_token_digest;

const HOME: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const ROUNDS: u32 = 1_000;
const PASSWORD: &str = "correct horse battery";
const WRONG_PASSWORD: &str = "wrong horse battery";
const NEW_PASSWORD: &str = "tr0ub4dor and three";
const TEMPORARY: &str = "Tmp0rary1234abcd";
const DUMMY_HASH: &str = "pbkdf2:sha256:1000$0000000000000000$0000000000000000000000000000000000000000000000000000000000000000";

/// Every port of the service; mocks without expectations panic when called,
/// so a test states exactly which ports a use case may touch.
struct Ports {
    users: MockUserRepository,
    temporary_passwords: MockTemporaryPasswordRepository,
    refresh_tokens: MockRefreshTokenRepository,
    hasher: Arc<dyn PasswordHasher>,
    access_tokens: MockAccessTokenIssuer,
    mailer: MockMailer,
    limiter: Arc<AttemptLimiter>,
    reset_limiter: Arc<AttemptLimiter>,
}

impl Ports {
    fn new() -> Self {
        Self {
            users: MockUserRepository::new(),
            temporary_passwords: MockTemporaryPasswordRepository::new(),
            refresh_tokens: MockRefreshTokenRepository::new(),
            hasher: Arc::new(Pbkdf2Hasher::new(ROUNDS, 2, StdDuration::from_secs(5))),
            access_tokens: MockAccessTokenIssuer::new(),
            mailer: MockMailer::new(),
            limiter: Arc::new(AttemptLimiter::default()),
            reset_limiter: Arc::new(AttemptLimiter::default()),
        }
    }

    fn into_service(self) -> AccountService {
        AccountService {
            users: Arc::new(self.users),
            temporary_passwords: Arc::new(self.temporary_passwords),
            refresh_tokens: Arc::new(self.refresh_tokens),
            hasher: self.hasher,
            access_tokens: Arc::new(self.access_tokens),
            mailer: Arc::new(self.mailer),
            limiter: self.limiter,
            reset_limiter: self.reset_limiter,
        }
    }

    /// The user repository holds `user` (and nobody else), found by id
    /// ignoring letter case as its contract says.
    fn knows(&mut self, user: UserRecord) {
        self.users.expect_find().returning(move |id| {
            Ok(Some(user.clone()).filter(|user| user.id.eq_ignore_ascii_case(id)))
        });
    }

    fn has_no_temporary_password(&mut self) {
        self.temporary_passwords
            .expect_find()
            .returning(|_| Ok(None));
    }

    fn has_temporary_password(&mut self, temporary: TemporaryPassword) {
        self.temporary_passwords
            .expect_find()
            .with(eq("Alice"))
            .returning(move |_| Ok(Some(temporary.clone())));
    }

    fn issues_access_tokens(&mut self) {
        self.access_tokens.expect_issue().returning(|user_id| {
            Ok(AccessToken {
                token: format!("access-token-for-{user_id}"),
                expires_in_seconds: 900,
            })
        });
    }

    /// A limiter that locks an id after its first failure, so a test can see
    /// whether a failure was counted.
    fn locks_after_one_failure(&mut self) -> Arc<AttemptLimiter> {
        let limiter = Arc::new(AttemptLimiter::new(
            1,
            StdDuration::from_secs(300),
            30,
            StdDuration::from_secs(60),
        ));
        self.limiter = Arc::clone(&limiter);
        limiter
    }

    /// The same for temporary-password requests.
    fn resets_lock_after_one_request(&mut self) -> Arc<AttemptLimiter> {
        let limiter = Arc::new(AttemptLimiter::new(
            1,
            StdDuration::from_secs(300),
            30,
            StdDuration::from_secs(60),
        ));
        self.reset_limiter = Arc::clone(&limiter);
        limiter
    }
}

/// What a mock was called with, read back after the act.
type Seen<T> = Arc<Mutex<Option<T>>>;

fn seen<T>() -> Seen<T> {
    Arc::new(Mutex::new(None))
}

fn taken<T>(seen: &Seen<T>) -> T {
    seen.lock()
        .unwrap()
        .take()
        .expect("the port was not called")
}

fn hash_of(password: &str) -> String {
    hash_password(
        &Password::parse(password).unwrap(),
        "saltSALTsaltSALT",
        ROUNDS,
    )
    .encode()
}

fn verifies(password: &str, encoded: &str) -> bool {
    PasswordHash::parse(encoded).is_some_and(|hash| hash.verify(password))
}

fn alice() -> UserRecord {
    UserRecord {
        id: "Alice".into(),
        password_hash: hash_of(PASSWORD),
        name: "Alice Kim".into(),
        nickname: Some("ally".into()),
        bio: Some("likes kimchi".into()),
        email: Some("Alice@Example.com".into()),
        created_at: Utc::now() - Duration::days(3),
    }
}

fn temporary_password(expires_in: Duration, used: bool) -> TemporaryPassword {
    TemporaryPassword {
        password_hash: hash_of(TEMPORARY),
        expires_at: Utc::now() + expires_in,
        logged_in_at: used.then(|| Utc::now() - Duration::minutes(1)),
    }
}

fn email(address: &str) -> Email {
    Email::parse(address).unwrap()
}

fn nickname(value: &str) -> Nickname {
    Nickname::parse(value).unwrap()
}

fn assert_between(at: DateTime<Utc>, earliest: DateTime<Utc>, latest: DateTime<Utc>) {
    assert!(
        earliest <= at && at <= latest,
        "{at} is not between {earliest} and {latest}"
    );
}

// sign_up

fn alices_sign_up() -> SignUp {
    SignUp {
        id: UserId::parse("Alice").unwrap(),
        password: Password::parse(PASSWORD).unwrap(),
        name: DisplayName::parse("Alice Kim").unwrap(),
        nickname: Some(nickname("ally")),
        bio: Some(Bio::parse("likes kimchi").unwrap()),
        email: Some(email("Alice@Example.com")),
    }
}

#[tokio::test]
async fn signing_up_stores_a_pbkdf2_hash_of_the_password_and_returns_the_record() {
    let mut ports = Ports::new();
    let created = seen();
    let record = alice();
    ports.users.expect_create().times(1).returning({
        let created = Arc::clone(&created);
        let record = record.clone();
        move |new_user| {
            *created.lock().unwrap() = Some(new_user);
            Ok(Some(record.clone()))
        }
    });
    let service = ports.into_service();

    let result = service.sign_up(alices_sign_up()).await;

    assert_eq!(result.unwrap(), record);
    let new_user = taken(&created);
    assert_eq!(new_user.id.as_ref(), "Alice");
    assert_eq!(new_user.name.as_ref(), "Alice Kim");
    assert_eq!(new_user.nickname.as_ref().map(AsRef::as_ref), Some("ally"));
    assert_eq!(
        new_user.bio.as_ref().map(AsRef::as_ref),
        Some("likes kimchi")
    );
    assert_eq!(
        new_user.email.as_ref().map(AsRef::as_ref),
        Some("Alice@Example.com")
    );
    assert!(new_user.password_hash.starts_with("pbkdf2:sha256:1000$"));
    assert!(verifies(PASSWORD, &new_user.password_hash));
}

#[tokio::test]
async fn signing_up_with_a_taken_id_answers_id_taken() {
    let mut ports = Ports::new();
    ports.users.expect_create().times(1).returning(|_| Ok(None));
    let service = ports.into_service();

    let result = service.sign_up(alices_sign_up()).await;

    assert!(
        matches!(&result, Err(AccountError::IdTaken(id)) if id == "Alice"),
        "{result:?}"
    );
}

#[tokio::test]
async fn signing_up_while_the_hashing_pool_is_busy_answers_busy_and_stores_nothing() {
    let mut ports = Ports::new();
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_hash()
        .times(1)
        .returning(|_| Err(HashError::Busy));
    ports.hasher = Arc::new(hasher);
    let service = ports.into_service();

    let result = service.sign_up(alices_sign_up()).await;

    assert!(
        matches!(result, Err(AccountError::Hashing(HashError::Busy))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_store_failure_during_sign_up_propagates_as_a_store_error() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_create()
        .times(1)
        .returning(|_| Err(StoreError::Unavailable("connection refused".into())));
    let service = ports.into_service();

    let result = service.sign_up(alices_sign_up()).await;

    assert!(
        matches!(
            &result,
            Err(AccountError::Store(StoreError::Unavailable(reason))) if reason == "connection refused"
        ),
        "{result:?}"
    );
}

// id_availability

#[tokio::test]
async fn an_id_nobody_has_is_available() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find()
        .with(eq("bob1"))
        .times(1)
        .returning(|_| Ok(None));
    let service = ports.into_service();

    let available = service
        .id_availability(UserId::parse("bob1").unwrap())
        .await;

    assert!(available.unwrap());
}

#[tokio::test]
async fn an_id_taken_in_another_letter_case_is_not_available() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let service = ports.into_service();

    let available = service
        .id_availability(UserId::parse("ALICE").unwrap())
        .await;

    assert!(!available.unwrap());
}

// login

#[tokio::test]
async fn login_with_the_right_password_issues_a_pair_and_starts_a_refresh_token_family() {
    let mut ports = Ports::new();
    ports.knows(alice());
    ports.issues_access_tokens();
    let family = seen();
    ports
        .refresh_tokens
        .expect_start_family()
        .times(1)
        .returning({
            let family = Arc::clone(&family);
            move |user_id, token_hash, expires_at, password_change_required| {
                *family.lock().unwrap() = Some((
                    user_id.to_owned(),
                    token_hash,
                    expires_at,
                    password_change_required,
                ));
                Ok(())
            }
        });
    let service = ports.into_service();

    let before = Utc::now();
    let pair = service.login("Alice", PASSWORD, HOME).await.unwrap();
    let after = Utc::now();

    assert_eq!(pair.access_token, "access-token-for-Alice");
    assert_eq!(pair.expires_in, 900);
    assert!(!pair.password_change_required);
    let (user_id, token_hash, expires_at, password_change_required) = taken(&family);
    assert_eq!(user_id, "Alice");
    assert_eq!(token_hash.len(), 32);
    assert_eq!(token_hash, refresh_token_digest(&pair.refresh_token));
    assert_between(
        expires_at,
        before + REFRESH_TOKEN_TTL,
        after + REFRESH_TOKEN_TTL,
    );
    assert_eq!(REFRESH_TOKEN_TTL, Duration::days(14));
    assert!(!password_change_required);
}

#[tokio::test]
async fn login_ignores_the_letter_case_of_the_id_and_issues_tokens_for_the_id_as_chosen() {
    let mut ports = Ports::new();
    ports.knows(alice());
    ports.issues_access_tokens();
    ports
        .refresh_tokens
        .expect_start_family()
        .withf(|user_id, _, _, _| user_id == "Alice")
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let service = ports.into_service();

    let pair = service.login("aLICE", PASSWORD, HOME).await.unwrap();

    assert_eq!(pair.access_token, "access-token-for-Alice");
}

#[tokio::test]
async fn login_with_a_wrong_password_counts_a_failure_and_answers_bad_credentials() {
    let mut ports = Ports::new();
    ports.knows(alice());
    ports.has_no_temporary_password();
    let limiter = ports.locks_after_one_failure();
    let service = ports.into_service();

    let result = service.login("Alice", WRONG_PASSWORD, HOME).await;

    assert!(
        matches!(result, Err(AccountError::BadCredentials)),
        "{result:?}"
    );
    assert!(limiter.check("alice", HOME).is_err());
}

#[tokio::test]
async fn login_with_an_unknown_id_verifies_the_dummy_hash_and_answers_bad_credentials() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find()
        .with(eq("nobody"))
        .times(1)
        .returning(|_| Ok(None));
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_dummy_hash()
        .return_const(DUMMY_HASH.to_owned());
    hasher
        .expect_verify()
        .with(eq(PASSWORD.to_owned()), eq(DUMMY_HASH.to_owned()))
        .times(1)
        .returning(|_, _| Ok(false));
    ports.hasher = Arc::new(hasher);
    let limiter = ports.locks_after_one_failure();
    let service = ports.into_service();

    let result = service.login("nobody", PASSWORD, HOME).await;

    assert!(
        matches!(result, Err(AccountError::BadCredentials)),
        "{result:?}"
    );
    assert!(limiter.check("NOBODY", HOME).is_err());
}

#[tokio::test]
async fn login_with_an_id_that_breaks_the_id_rule_verifies_the_dummy_hash_without_querying_users() {
    // `ports.users` has no expectations: a query would fail the test.
    let mut ports = Ports::new();
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_dummy_hash()
        .return_const(DUMMY_HASH.to_owned());
    hasher
        .expect_verify()
        .with(eq(PASSWORD.to_owned()), eq(DUMMY_HASH.to_owned()))
        .times(1)
        .returning(|_, _| Ok(false));
    ports.hasher = Arc::new(hasher);
    let limiter = ports.locks_after_one_failure();
    let service = ports.into_service();

    let result = service.login("al!ce", PASSWORD, HOME).await;

    assert!(
        matches!(result, Err(AccountError::BadCredentials)),
        "{result:?}"
    );
    assert!(limiter.check("al!ce", HOME).is_err());
}

#[tokio::test]
async fn after_ten_failures_for_an_id_in_any_letter_case_even_the_right_password_is_rate_limited() {
    let mut ports = Ports::new();
    // Ten lookups for the ten failures, none for the refused attempt.
    ports
        .users
        .expect_find()
        .times(10)
        .returning(|_| Ok(Some(alice())));
    ports.has_no_temporary_password();
    let service = ports.into_service();
    for (n, id) in ["alice", "ALICE", "Alice", "aLiCe", "alICE"]
        .iter()
        .cycle()
        .take(10)
        .enumerate()
    {
        let failure = service.login(id, WRONG_PASSWORD, HOME).await;
        assert!(
            matches!(failure, Err(AccountError::BadCredentials)),
            "attempt {n}: {failure:?}"
        );
    }

    let result = service.login("AlIcE", PASSWORD, HOME).await;

    assert!(
        matches!(result, Err(AccountError::RateLimited(RetryAfter(seconds))) if (299..=300).contains(&seconds)),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_live_temporary_password_logs_in_once_and_requires_a_password_change() {
    let mut ports = Ports::new();
    ports.knows(alice());
    ports.issues_access_tokens();
    // The repository as its contract says: marking succeeds once, and a used
    // temporary password is returned with `logged_in_at` set.
    let stored = Arc::new(Mutex::new(temporary_password(Duration::minutes(20), false)));
    ports.temporary_passwords.expect_find().returning({
        let stored = Arc::clone(&stored);
        move |_| Ok(Some(stored.lock().unwrap().clone()))
    });
    ports
        .temporary_passwords
        .expect_mark_logged_in()
        .with(eq("Alice"), eq(hash_of(TEMPORARY)))
        .times(1)
        .returning({
            let stored = Arc::clone(&stored);
            move |_, _| {
                let mut stored = stored.lock().unwrap();
                let first = stored.logged_in_at.is_none();
                stored.logged_in_at.get_or_insert_with(Utc::now);
                Ok(first)
            }
        });
    ports
        .refresh_tokens
        .expect_start_family()
        .withf(|user_id, _, _, password_change_required| {
            user_id == "Alice" && *password_change_required
        })
        .times(1)
        .returning(|_, _, _, _| Ok(()));
    let service = ports.into_service();

    let first = service.login("alice", TEMPORARY, HOME).await;
    let second = service.login("alice", TEMPORARY, HOME).await;

    assert!(first.unwrap().password_change_required);
    assert!(
        matches!(second, Err(AccountError::BadCredentials)),
        "{second:?}"
    );
}

#[tokio::test]
async fn the_account_password_logs_in_without_touching_a_temporary_password() {
    let mut ports = Ports::new();
    ports.knows(alice());
    ports.issues_access_tokens();
    // No expectations on `ports.temporary_passwords`: it must stay untouched.
    ports
        .refresh_tokens
        .expect_start_family()
        .returning(|_, _, _, _| Ok(()));
    let service = ports.into_service();

    let pair = service.login("Alice", PASSWORD, HOME).await.unwrap();

    assert!(!pair.password_change_required);
}

#[tokio::test]
async fn an_expired_temporary_password_does_not_log_in() {
    let mut ports = Ports::new();
    ports.knows(alice());
    ports.has_temporary_password(temporary_password(-Duration::minutes(1), false));
    let limiter = ports.locks_after_one_failure();
    let service = ports.into_service();

    let result = service.login("Alice", TEMPORARY, HOME).await;

    assert!(
        matches!(result, Err(AccountError::BadCredentials)),
        "{result:?}"
    );
    assert!(limiter.check("alice", HOME).is_err());
}

#[tokio::test]
async fn a_temporary_password_already_used_to_log_in_does_not_log_in_again() {
    let mut ports = Ports::new();
    ports.knows(alice());
    ports.has_temporary_password(temporary_password(Duration::minutes(20), true));
    let service = ports.into_service();

    let result = service.login("Alice", TEMPORARY, HOME).await;

    assert!(
        matches!(result, Err(AccountError::BadCredentials)),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_temporary_password_whose_single_use_went_to_a_concurrent_login_does_not_log_in() {
    let mut ports = Ports::new();
    ports.knows(alice());
    ports.has_temporary_password(temporary_password(Duration::minutes(20), false));
    ports
        .temporary_passwords
        .expect_mark_logged_in()
        .times(1)
        .returning(|_, _| Ok(false));
    let limiter = ports.locks_after_one_failure();
    let service = ports.into_service();

    let result = service.login("Alice", TEMPORARY, HOME).await;

    assert!(
        matches!(result, Err(AccountError::BadCredentials)),
        "{result:?}"
    );
    assert!(limiter.check("alice", HOME).is_err());
}

#[tokio::test]
async fn a_store_failure_during_login_propagates_and_is_not_counted_as_a_failure() {
    let mut ports = Ports::new();
    ports
        .users
        .expect_find()
        .returning(|_| Err(StoreError::Unavailable("pool timed out".into())));
    let limiter = ports.locks_after_one_failure();
    let service = ports.into_service();

    let result = service.login("Alice", PASSWORD, HOME).await;

    assert!(
        matches!(result, Err(AccountError::Store(StoreError::Unavailable(_)))),
        "{result:?}"
    );
    assert!(limiter.check("alice", HOME).is_ok());
}

// refresh

#[tokio::test]
async fn refreshing_a_live_token_rotates_it_and_returns_a_new_pair() {
    let mut ports = Ports::new();
    ports.issues_access_tokens();
    let rotation = seen();
    ports.refresh_tokens.expect_rotate().times(1).returning({
        let rotation = Arc::clone(&rotation);
        move |old_hash, new_hash, new_expires_at| {
            *rotation.lock().unwrap() = Some((old_hash, new_hash, new_expires_at));
            Ok(Rotation::Rotated {
                user_id: "Alice".into(),
                password_change_required: false,
            })
        }
    });
    let service = ports.into_service();
    let old_token = "the-refresh-token-alice-got-at-login";

    let before = Utc::now();
    let pair = service.refresh(old_token).await.unwrap();
    let after = Utc::now();

    assert_eq!(pair.access_token, "access-token-for-Alice");
    assert!(!pair.password_change_required);
    assert_ne!(pair.refresh_token, old_token);
    let (old_hash, new_hash, new_expires_at) = taken(&rotation);
    assert_eq!(old_hash, refresh_token_digest(old_token));
    assert_eq!(new_hash, refresh_token_digest(&pair.refresh_token));
    assert_between(
        new_expires_at,
        before + REFRESH_TOKEN_TTL,
        after + REFRESH_TOKEN_TTL,
    );
}

#[tokio::test]
async fn refreshing_with_a_retired_token_answers_invalid_refresh_token() {
    // No access token may be issued: `ports.access_tokens` has no expectations.
    let mut ports = Ports::new();
    ports
        .refresh_tokens
        .expect_rotate()
        .times(1)
        .returning(|_, _, _| Ok(Rotation::Reused));
    let service = ports.into_service();

    let result = service.refresh("a-token-that-was-already-rotated").await;

    assert!(
        matches!(result, Err(AccountError::InvalidRefreshToken)),
        "{result:?}"
    );
}

#[tokio::test]
async fn refreshing_with_an_unknown_expired_or_revoked_token_answers_invalid_refresh_token() {
    let mut ports = Ports::new();
    ports
        .refresh_tokens
        .expect_rotate()
        .times(1)
        .returning(|_, _, _| Ok(Rotation::Invalid));
    let service = ports.into_service();

    let result = service.refresh("no-such-token").await;

    assert!(
        matches!(result, Err(AccountError::InvalidRefreshToken)),
        "{result:?}"
    );
}

#[tokio::test]
async fn refreshing_carries_over_password_change_required() {
    let mut ports = Ports::new();
    ports.issues_access_tokens();
    ports.refresh_tokens.expect_rotate().returning(|_, _, _| {
        Ok(Rotation::Rotated {
            user_id: "Alice".into(),
            password_change_required: true,
        })
    });
    let service = ports.into_service();

    let pair = service
        .refresh("token-of-a-temporary-password-login")
        .await
        .unwrap();

    assert!(pair.password_change_required);
}

// logout

#[tokio::test]
async fn logout_revokes_the_family_of_the_tokens_digest() {
    let token = "the-refresh-token-to-log-out";
    let mut ports = Ports::new();
    ports
        .refresh_tokens
        .expect_revoke_family()
        .with(eq(refresh_token_digest(token)))
        .times(1)
        .returning(|_| Ok(()));
    let service = ports.into_service();

    let result = service.logout(token).await;

    assert!(result.is_ok(), "{result:?}");
}

// update_me

#[tokio::test]
async fn patching_me_without_a_field_to_change_is_a_bad_request() {
    // `ports.users` has no expectations: nothing is read or written.
    let service = Ports::new().into_service();
    let updates = [
        ProfileUpdate::default(),
        ProfileUpdate {
            changes: ProfileChanges::default(),
            current_password: Some(PASSWORD.into()),
        },
    ];

    for update in updates {
        let result = service.update_me("Alice", update, HOME).await;

        assert!(
            matches!(result, Err(AccountError::BadRequest(_))),
            "{result:?}"
        );
    }
}

#[tokio::test]
async fn changing_email_without_current_password_answers_current_password_required() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let service = ports.into_service();
    let update = ProfileUpdate {
        changes: ProfileChanges {
            email: Some(Some(email("alice@elsewhere.org"))),
            ..ProfileChanges::default()
        },
        current_password: None,
    };

    let result = service.update_me("Alice", update, HOME).await;

    assert!(
        matches!(result, Err(AccountError::CurrentPasswordRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn clearing_email_without_current_password_answers_current_password_required() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let service = ports.into_service();
    let update = ProfileUpdate {
        changes: ProfileChanges {
            email: Some(None),
            ..ProfileChanges::default()
        },
        current_password: None,
    };

    let result = service.update_me("Alice", update, HOME).await;

    assert!(
        matches!(result, Err(AccountError::CurrentPasswordRequired)),
        "{result:?}"
    );
}

#[tokio::test]
async fn changing_email_with_a_wrong_current_password_is_refused_and_counted_as_a_failed_login() {
    let mut ports = Ports::new();
    ports.knows(alice());
    ports.has_no_temporary_password();
    let limiter = ports.locks_after_one_failure();
    let service = ports.into_service();
    let update = ProfileUpdate {
        changes: ProfileChanges {
            email: Some(Some(email("alice@elsewhere.org"))),
            ..ProfileChanges::default()
        },
        current_password: Some(WRONG_PASSWORD.into()),
    };

    let result = service.update_me("Alice", update, HOME).await;

    assert!(
        matches!(result, Err(AccountError::WrongCurrentPassword)),
        "{result:?}"
    );
    assert!(limiter.check("alice", HOME).is_err());
}

#[tokio::test]
async fn changing_email_with_the_right_current_password_saves_exactly_the_changes() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let changes = ProfileChanges {
        email: Some(Some(email("alice@elsewhere.org"))),
        ..ProfileChanges::default()
    };
    let updated = UserRecord {
        email: Some("alice@elsewhere.org".into()),
        ..alice()
    };
    ports
        .users
        .expect_update_profile()
        .with(eq("Alice"), eq(changes.clone()))
        .times(1)
        .returning({
            let updated = updated.clone();
            move |_, _| Ok(Some(updated.clone()))
        });
    let service = ports.into_service();
    let update = ProfileUpdate {
        changes,
        current_password: Some(PASSWORD.into()),
    };

    let result = service.update_me("alice", update, HOME).await;

    assert_eq!(result.unwrap(), updated);
}

#[tokio::test]
async fn setting_email_to_the_same_address_in_another_letter_case_needs_no_password() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let changes = ProfileChanges {
        email: Some(Some(email("alice@EXAMPLE.COM"))),
        ..ProfileChanges::default()
    };
    ports
        .users
        .expect_update_profile()
        .with(eq("Alice"), eq(changes.clone()))
        .times(1)
        .returning(|_, _| {
            Ok(Some(UserRecord {
                email: Some("alice@EXAMPLE.COM".into()),
                ..alice()
            }))
        });
    let service = ports.into_service();
    let update = ProfileUpdate {
        changes,
        current_password: None,
    };

    let result = service.update_me("Alice", update, HOME).await;

    assert_eq!(result.unwrap().email.as_deref(), Some("alice@EXAMPLE.COM"));
}

#[tokio::test]
async fn clearing_the_nickname_needs_no_password_and_reaches_the_repository_as_sent() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let changes = ProfileChanges {
        nickname: Some(None),
        ..ProfileChanges::default()
    };
    ports
        .users
        .expect_update_profile()
        .with(eq("Alice"), eq(changes.clone()))
        .times(1)
        .returning(|_, _| {
            Ok(Some(UserRecord {
                nickname: None,
                ..alice()
            }))
        });
    let service = ports.into_service();
    let update = ProfileUpdate {
        changes,
        current_password: None,
    };

    let result = service.update_me("Alice", update, HOME).await;

    assert_eq!(result.unwrap().nickname, None);
}

#[tokio::test]
async fn the_repository_receives_exactly_the_profile_changes_sent() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let changes = ProfileChanges {
        nickname: Some(Some(nickname("홍길동"))),
        bio: Some(None),
        email: None,
    };
    let received = seen();
    ports.users.expect_update_profile().times(1).returning({
        let received = Arc::clone(&received);
        move |id, changes| {
            *received.lock().unwrap() = Some((id.to_owned(), changes));
            Ok(Some(alice()))
        }
    });
    let service = ports.into_service();
    let update = ProfileUpdate {
        changes: changes.clone(),
        current_password: None,
    };

    service.update_me("Alice", update, HOME).await.unwrap();

    assert_eq!(taken(&received), ("Alice".to_owned(), changes));
}

#[tokio::test]
async fn patching_me_when_my_account_is_gone_answers_user_not_found() {
    let mut ports = Ports::new();
    ports.users.expect_find().returning(|_| Ok(None));
    let service = ports.into_service();
    let update = ProfileUpdate {
        changes: ProfileChanges {
            nickname: Some(None),
            ..ProfileChanges::default()
        },
        current_password: None,
    };

    let result = service.update_me("Alice", update, HOME).await;

    assert!(
        matches!(&result, Err(AccountError::UserNotFound(id)) if id == "Alice"),
        "{result:?}"
    );
}

// change_password

#[tokio::test]
async fn changing_password_with_a_wrong_current_password_is_refused_and_counted_as_a_failed_login()
{
    // No expectation on `users.change_password`: nothing may be stored.
    let mut ports = Ports::new();
    ports.knows(alice());
    ports.has_no_temporary_password();
    let limiter = ports.locks_after_one_failure();
    let service = ports.into_service();

    let result = service
        .change_password(
            "Alice",
            WRONG_PASSWORD.into(),
            Password::parse(NEW_PASSWORD).unwrap(),
            HOME,
        )
        .await;

    assert!(
        matches!(result, Err(AccountError::WrongCurrentPassword)),
        "{result:?}"
    );
    assert!(limiter.check("alice", HOME).is_err());
}

#[tokio::test]
async fn changing_password_with_the_right_current_password_stores_a_new_pbkdf2_hash() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let stored = seen();
    ports.users.expect_change_password().times(1).returning({
        let stored = Arc::clone(&stored);
        move |id, password_hash| {
            *stored.lock().unwrap() = Some((id.to_owned(), password_hash));
            Ok(())
        }
    });
    let service = ports.into_service();

    let result = service
        .change_password(
            "alice",
            PASSWORD.into(),
            Password::parse(NEW_PASSWORD).unwrap(),
            HOME,
        )
        .await;

    assert!(result.is_ok(), "{result:?}");
    let (id, password_hash) = taken(&stored);
    assert_eq!(id, "Alice");
    assert!(password_hash.starts_with("pbkdf2:sha256:1000$"));
    assert!(verifies(NEW_PASSWORD, &password_hash));
    assert!(!verifies(PASSWORD, &password_hash));
}

#[tokio::test]
async fn a_live_temporary_password_is_accepted_as_current_password() {
    let mut ports = Ports::new();
    ports.knows(alice());
    // Used to log in already, as in the normal flow, but not yet expired.
    ports.has_temporary_password(temporary_password(Duration::minutes(20), true));
    ports
        .users
        .expect_change_password()
        .withf(|id, password_hash| id == "Alice" && verifies(NEW_PASSWORD, password_hash))
        .times(1)
        .returning(|_, _| Ok(()));
    let service = ports.into_service();

    let result = service
        .change_password(
            "Alice",
            TEMPORARY.into(),
            Password::parse(NEW_PASSWORD).unwrap(),
            HOME,
        )
        .await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn an_expired_temporary_password_is_not_accepted_as_current_password() {
    let mut ports = Ports::new();
    ports.knows(alice());
    ports.has_temporary_password(temporary_password(-Duration::seconds(1), false));
    let service = ports.into_service();

    let result = service
        .change_password(
            "Alice",
            TEMPORARY.into(),
            Password::parse(NEW_PASSWORD).unwrap(),
            HOME,
        )
        .await;

    assert!(
        matches!(result, Err(AccountError::WrongCurrentPassword)),
        "{result:?}"
    );
}

#[tokio::test]
async fn changing_password_is_refused_while_the_id_is_rate_limited() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let limiter = ports.locks_after_one_failure();
    limiter.record_failure("ALICE", HOME);
    let service = ports.into_service();

    let result = service
        .change_password(
            "Alice",
            PASSWORD.into(),
            Password::parse(NEW_PASSWORD).unwrap(),
            HOME,
        )
        .await;

    assert!(
        matches!(result, Err(AccountError::RateLimited(_))),
        "{result:?}"
    );
}

// send_temporary_password and request_temporary_password

#[tokio::test]
async fn a_temporary_password_for_an_unknown_id_is_neither_stored_nor_mailed() {
    // No expectations on `temporary_passwords` or `mailer`.
    let mut ports = Ports::new();
    ports.knows(alice());
    let service = ports.into_service();

    let result = service
        .send_temporary_password(
            &UserId::parse("nobody").unwrap(),
            &email("Alice@Example.com"),
        )
        .await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_temporary_password_for_another_email_is_neither_stored_nor_mailed() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let service = ports.into_service();

    let result = service
        .send_temporary_password(
            &UserId::parse("Alice").unwrap(),
            &email("mallory@example.com"),
        )
        .await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_temporary_password_for_an_account_without_email_is_neither_stored_nor_mailed() {
    let mut ports = Ports::new();
    ports.knows(UserRecord {
        email: None,
        ..alice()
    });
    let service = ports.into_service();

    let result = service
        .send_temporary_password(
            &UserId::parse("Alice").unwrap(),
            &email("Alice@Example.com"),
        )
        .await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_temporary_password_for_the_matching_email_in_any_case_is_stored_hashed_and_mailed() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let replaced = seen();
    ports
        .temporary_passwords
        .expect_replace()
        .times(1)
        .returning({
            let replaced = Arc::clone(&replaced);
            move |user_id, password_hash, expires_at| {
                *replaced.lock().unwrap() = Some((user_id.to_owned(), password_hash, expires_at));
                Ok(())
            }
        });
    let mailed = seen();
    ports.mailer.expect_send().times(1).returning({
        let mailed = Arc::clone(&mailed);
        move |mail| {
            *mailed.lock().unwrap() = Some(mail);
            Ok(())
        }
    });
    let service = ports.into_service();

    let before = Utc::now();
    let result = service
        .send_temporary_password(
            &UserId::parse("aLiCe").unwrap(),
            &email("ALICE@example.COM"),
        )
        .await;
    let after = Utc::now();

    assert!(result.is_ok(), "{result:?}");
    let (user_id, password_hash, expires_at) = taken(&replaced);
    assert_eq!(user_id, "Alice");
    assert!(password_hash.starts_with("pbkdf2:sha256:1000$"));
    assert_between(
        expires_at,
        before + TEMPORARY_PASSWORD_TTL,
        after + TEMPORARY_PASSWORD_TTL,
    );
    assert_eq!(TEMPORARY_PASSWORD_TTL, Duration::minutes(30));
    let mail: Mail = taken(&mailed);
    assert_eq!(mail.to, "Alice@Example.com");
    let password = mail
        .text
        .split_whitespace()
        .find(|word| verifies(word, &password_hash))
        .expect("the mail holds the temporary password");
    assert_eq!(password.chars().count(), 16);
    assert!(password.bytes().all(|b| b.is_ascii_alphanumeric()));
}

#[tokio::test]
async fn a_temporary_password_request_answers_at_once_and_mails_in_the_background() {
    let mut ports = Ports::new();
    ports.knows(alice());
    ports
        .temporary_passwords
        .expect_replace()
        .returning(|_, _, _| Ok(()));
    let (delivered, mailbox) = tokio::sync::oneshot::channel();
    let delivered = Mutex::new(Some(delivered));
    ports.mailer.expect_send().returning(move |mail| {
        if let Some(delivered) = delivered.lock().unwrap().take() {
            let _ = delivered.send(mail);
        }
        Ok(())
    });
    let service = ports.into_service();

    let result = service
        .request_temporary_password(
            UserId::parse("Alice").unwrap(),
            email("alice@example.com"),
            HOME,
        )
        .await;

    assert!(result.is_ok(), "{result:?}");
    let mail = tokio::time::timeout(StdDuration::from_secs(10), mailbox)
        .await
        .expect("the mail is sent within seconds")
        .expect("the mail is sent");
    assert_eq!(mail.to, "Alice@Example.com");
}

#[tokio::test]
async fn temporary_password_requests_are_limited_per_id_whatever_its_letter_case() {
    // Background lookups find nobody, so nothing is stored or mailed.
    let mut ports = Ports::new();
    ports.users.expect_find().returning(|_| Ok(None));
    let limiter = ports.resets_lock_after_one_request();
    let login_limiter = ports.locks_after_one_failure();
    let service = ports.into_service();
    let first = service
        .request_temporary_password(
            UserId::parse("Alice").unwrap(),
            email("alice@example.com"),
            HOME,
        )
        .await;

    let second = service
        .request_temporary_password(
            UserId::parse("ALICE").unwrap(),
            email("alice@example.com"),
            HOME,
        )
        .await;

    assert!(first.is_ok(), "{first:?}");
    assert!(
        matches!(second, Err(AccountError::RateLimited(_))),
        "{second:?}"
    );
    assert!(limiter.check("alice", HOME).is_err());
    // Asking for temporary passwords never locks the account's logins.
    assert!(login_limiter.check("alice", HOME).is_ok());
}

// user

#[tokio::test]
async fn looking_up_an_id_that_breaks_the_id_rule_answers_user_not_found_without_querying() {
    // `ports.users` has no expectations: a query would fail the test.
    let service = Ports::new().into_service();

    let result = service.user("no!").await;

    assert!(
        matches!(&result, Err(AccountError::UserNotFound(id)) if id == "no!"),
        "{result:?}"
    );
}

#[tokio::test]
async fn looking_up_a_known_id_in_another_letter_case_returns_the_user() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let service = ports.into_service();

    let user = service.user("ALICE").await.unwrap();

    assert_eq!(user.id, "Alice");
}

#[tokio::test]
async fn looking_up_an_unknown_id_answers_user_not_found() {
    let mut ports = Ports::new();
    ports.knows(alice());
    let service = ports.into_service();

    let result = service.user("nobody").await;

    assert!(
        matches!(&result, Err(AccountError::UserNotFound(id)) if id == "nobody"),
        "{result:?}"
    );
}
