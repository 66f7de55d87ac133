//! Logging in with the account password or, once, a live temporary one.
//! Every attempt is counted from the moment the limiter admits it, before
//! any password is checked; a success is forgiven.

use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use minifb_domain::refresh_token_digest;
use mockall::predicate::eq;

use super::{
    HOME, PASSWORD, TEMPORARY, WRONG_PASSWORD, alice, alice_without_a_usable_hash, alices_account,
    assert_between, assert_counted_then_forgiven, failures, temporary_password, unavailable,
};
use crate::accounts::{AccountError, AccountService, REFRESH_TOKEN_TTL, TokenPair};
use crate::ports::{
    AttemptKind, MockAttemptLimiter, MockPasswordHasher, RetryAfter, StoreError, TemporaryPassword,
    UserRecord,
};
use crate::testing::{AccountPorts, FastHasher, assert_matches, table};

/// Logs in as each of `ids` with a wrong password, each answered as such.
async fn fail_logins(service: &AccountService, ids: impl IntoIterator<Item = String>) {
    for typed in ids {
        let failure = service.login(&typed, WRONG_PASSWORD, HOME).await;
        assert_matches!(failure, Err(AccountError::BadCredentials), "{typed}");
    }
}

#[tokio::test]
async fn login_with_the_right_password_issues_a_pair_and_starts_a_refresh_token_family() {
    let mut ports = alices_account();
    let families = ports.serves_sessions();

    let before = Utc::now();
    let pair = ports.into_service().login("Alice", PASSWORD, HOME).await;
    let after = Utc::now();

    let expected = TokenPair {
        access_token: "access-token-for-Alice".into(),
        refresh_token: "refresh-1".into(),
        expires_in: 900,
        password_change_required: false,
    };
    assert_eq!(pair.unwrap(), expected);
    let family = families.only();
    assert_eq!(family.user_id.as_ref(), "Alice");
    assert_eq!(family.token_hash.len(), 32);
    assert_eq!(family.token_hash, refresh_token_digest("refresh-1"));
    assert_eq!(REFRESH_TOKEN_TTL, Duration::days(14));
    let ttl = REFRESH_TOKEN_TTL;
    assert_between(family.expires_at, before + ttl, after + ttl);
    assert!(!family.password_change_required);
}

#[tokio::test]
async fn login_ignores_the_letter_case_of_the_id_and_issues_tokens_for_the_id_as_chosen() {
    let mut ports = alices_account();
    let families = ports.serves_sessions();

    let pair = ports.into_service().login("aLICE", PASSWORD, HOME).await;

    assert_eq!(pair.unwrap().access_token, "access-token-for-Alice");
    assert_eq!(families.only().user_id.as_ref(), "Alice");
}

#[tokio::test]
async fn login_with_a_wrong_password_counts_a_failure_and_answers_bad_credentials() {
    let mut ports = alices_account();
    ports.has_no_temporary_password();
    let limiter = ports.counts_attempts();

    let result = ports
        .into_service()
        .login("Alice", WRONG_PASSWORD, HOME)
        .await;

    assert_matches!(result, Err(AccountError::BadCredentials));
    assert_eq!(failures(&limiter, "alice"), 1);
}

#[tokio::test]
async fn a_login_is_counted_before_its_password_is_checked_and_forgiven_when_it_succeeds() {
    let mut ports = alices_account();
    ports.serves_sessions();
    let (limiter, noted_at_check) = ports.notes_attempts_at_each_check();

    let result = ports.into_service().login("ALICE", PASSWORD, HOME).await;

    assert!(result.is_ok(), "{result:?}");
    assert_counted_then_forgiven(&limiter, &noted_at_check);
}

// Whoever has no usable hash behind the id answers as a wrong password
// would, after the same work: one check against the dummy hash. It counts
// as a failure.
table! { costs_one_dummy_check {
    login_with_an_unknown_id_verifies_the_dummy_hash_and_answers_bad_credentials:
        ("nobody", Some(alice()));
    login_with_an_id_that_breaks_the_id_rule_verifies_the_dummy_hash_without_querying_users:
        ("al!ce", None);
    an_account_whose_hash_never_verifies_never_logs_in_but_costs_a_dummy_check:
        ("Alice", Some(alice_without_a_usable_hash()));
}}

/// Logs in as `typed` with the store holding `held` (`None`: the store must
/// not be asked).
async fn costs_one_dummy_check(label: &str, (typed, held): (&str, Option<UserRecord>)) {
    let mut ports = AccountPorts::default();
    if let Some(user) = held {
        ports.knows(user);
        ports.has_no_temporary_password();
    }
    ports.checks_only_the_dummy_hash(PASSWORD);
    let limiter = ports.counts_attempts();

    let result = ports.into_service().login(typed, PASSWORD, HOME).await;

    assert_matches!(result, Err(AccountError::BadCredentials), "{label}");
    assert_eq!(failures(&limiter, typed), 1, "{label}");
}

#[tokio::test]
async fn after_ten_failures_for_an_id_in_any_letter_case_even_the_right_password_is_rate_limited() {
    let mut ports = AccountPorts::default();
    // Ten lookups and ten checks for the ten failures, none for the refusal.
    ports
        .users
        .expect_find()
        .times(10)
        .returning(|_| Ok(Some(alice())));
    ports.has_no_temporary_password();
    let mut hasher = MockPasswordHasher::new();
    hasher
        .expect_verify()
        .times(10)
        .returning(|password, hash| Ok(hash.verify(&password)));
    ports.hasher = Arc::new(hasher);
    let service = ports.into_service();
    let spellings = ["alice", "ALICE", "Alice", "aLiCe", "alICE"];
    let ten_failures = spellings.iter().cycle().take(10).map(|s| s.to_string());
    fail_logins(&service, ten_failures).await;

    let result = service.login("AlIcE", PASSWORD, HOME).await;

    assert_matches!(result, Err(AccountError::RateLimited(RetryAfter(60))));
}

#[tokio::test]
async fn a_login_over_the_limit_is_refused_before_any_lookup_or_hash_check_and_not_counted() {
    // `users` has no expectations and the hasher is a bare mock.
    let mut ports = AccountPorts::default();
    ports.checks_no_password();
    let limiter = ports.has_used_up(AttemptKind::Password).await;

    let result = ports.into_service().login("ALICE", PASSWORD, HOME).await;

    assert_matches!(result, Err(AccountError::RateLimited(_)));
    assert_eq!(failures(&limiter, "alice"), 1);
}

#[tokio::test]
async fn thirty_failures_from_one_address_refuse_every_id_from_it() {
    let mut ports = AccountPorts::default();
    ports.users.expect_find().times(30).returning(|_| Ok(None));
    let service = ports.into_service();
    fail_logins(&service, (0..30).map(|n| format!("user{n:02}"))).await;

    let result = service.login("fresh-id", PASSWORD, HOME).await;

    assert_matches!(result, Err(AccountError::RateLimited(_)));
}

#[tokio::test]
async fn a_live_temporary_password_logs_in_once_and_requires_a_password_change() {
    let mut ports = alices_account();
    let families = ports.serves_sessions();
    // The store as its contract says: marking succeeds once, and a used
    // temporary password comes back with `logged_in_at` set.
    let live = temporary_password(Duration::minutes(20), false);
    let stored = Arc::new(Mutex::new(live));
    ports.temporary_passwords.expect_find().returning({
        let stored = stored.clone();
        move |_| Ok(Some(stored.lock().unwrap().clone()))
    });
    ports
        .temporary_passwords
        .expect_mark_logged_in()
        .with(eq(alice().id), eq(FastHasher::hash_of(TEMPORARY)))
        .times(1)
        .returning(move |_, _| {
            let mut stored = stored.lock().unwrap();
            let first = stored.logged_in_at.is_none();
            stored.logged_in_at.get_or_insert_with(Utc::now);
            Ok(first)
        });
    let service = ports.into_service();

    let first = service.login("alice", TEMPORARY, HOME).await;
    let second = service.login("alice", TEMPORARY, HOME).await;

    assert!(first.unwrap().password_change_required);
    assert_matches!(second, Err(AccountError::BadCredentials));
    assert!(families.only().password_change_required);
}

#[tokio::test]
async fn the_account_password_logs_in_without_touching_a_temporary_password() {
    // `temporary_passwords` has no expectations: it must stay untouched.
    let mut ports = alices_account();
    ports.serves_sessions();

    let pair = ports.into_service().login("Alice", PASSWORD, HOME).await;

    assert!(!pair.unwrap().password_change_required);
}

/// How far a login with a temporary password gets.
enum Marking {
    /// It is refused before the store is asked to mark it used.
    NotReached,
    /// The store marks it for another login that came first.
    LostToAnotherLogin,
}

// A temporary password logs in only while live and unused, and only for
// the one login that marks it used; a refusal counts as a failure.
table! { does_not_log_in {
    an_expired_temporary_password_does_not_log_in:
        (temporary_password(-Duration::minutes(1), false), Marking::NotReached);
    a_temporary_password_already_used_to_log_in_does_not_log_in_again:
        (temporary_password(Duration::minutes(20), true), Marking::NotReached);
    a_temporary_password_whose_single_use_went_to_a_concurrent_login_does_not_log_in:
        (temporary_password(Duration::minutes(20), false), Marking::LostToAnotherLogin);
}}

async fn does_not_log_in(label: &str, (temporary, marking): (TemporaryPassword, Marking)) {
    let mut ports = alices_account();
    ports.has_temporary_password(temporary);
    if let Marking::LostToAnotherLogin = marking {
        ports
            .temporary_passwords
            .expect_mark_logged_in()
            .times(1)
            .returning(|_, _| Ok(false));
    }
    let limiter = ports.counts_attempts();

    let result = ports.into_service().login("Alice", TEMPORARY, HOME).await;

    assert_matches!(result, Err(AccountError::BadCredentials), "{label}");
    assert_eq!(failures(&limiter, "alice"), 1, "{label}");
}

#[tokio::test]
async fn a_store_failure_during_login_propagates_and_the_admitted_attempt_is_given_back() {
    let mut ports = AccountPorts::default();
    ports
        .users
        .expect_find()
        .returning(|_| Err(StoreError::Unavailable("pool timed out".into())));
    let limiter = ports.counts_attempts();

    let result = ports.into_service().login("Alice", PASSWORD, HOME).await;

    assert_matches!(result, Err(AccountError::Store(StoreError::Unavailable(_))));
    assert_eq!(failures(&limiter, "alice"), 0, "an outage guesses nothing");
}

#[tokio::test]
async fn a_limiter_that_cannot_count_fails_the_login_before_any_lookup_or_hash_check() {
    let mut limiter = MockAttemptLimiter::new();
    limiter
        .expect_admit()
        .returning(|_, _, _| Err(unavailable()));
    let mut ports = AccountPorts {
        limiter: Arc::new(limiter),
        ..AccountPorts::default()
    };
    ports.checks_no_password();

    let result = ports.into_service().login("Alice", PASSWORD, HOME).await;

    assert_matches!(result, Err(AccountError::Store(StoreError::Unavailable(_))));
}
