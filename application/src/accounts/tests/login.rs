//! Logging in with the account password or, once, a live temporary one.
//! Every attempt is counted from the moment the limiter admits it, before
//! any password is checked; a success is forgiven.

use std::sync::{Arc, Mutex};

use chrono::{Duration, Utc};
use mockall::predicate::eq;

use super::{
    HOME, PASSWORD, TEMPORARY, WRONG_PASSWORD, alice, alice_without_a_usable_hash, alices_account,
    assert_between, assert_counted_then_forgiven, failures, unavailable,
};
use crate::accounts::{AccountError, AccountService, REFRESH_TOKEN_TTL, TokenPair};
use crate::ports::{
    AttemptKind, HashError, MockAttemptLimiter, RetryAfter, StoreError, UserRecord,
};
use crate::testing::{AccountPorts, CountingSecrets, FastHasher, assert_matches, table};

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
    assert_eq!(family.token_hash, CountingSecrets::digest_of("refresh-1"));
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
    ports.checks_passwords_exactly(10);
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
    ports.has_no_temporary_password();
    let service = ports.into_service();
    fail_logins(&service, (0..30).map(|n| format!("user{n:02}"))).await;

    let result = service.login("fresh-id", PASSWORD, HOME).await;

    assert_matches!(result, Err(AccountError::RateLimited(_)));
}

#[tokio::test]
async fn a_live_temporary_password_logs_in_once_and_requires_a_password_change() {
    let mut ports = alices_account();
    let families = ports.serves_sessions();
    // The store as its contract says: of the logins with one temporary
    // password, only the first redeems it.
    let redeemed = Arc::new(Mutex::new(false));
    ports
        .temporary_passwords
        .expect_redeem()
        .with(eq(alice().id), eq(CountingSecrets::digest_of(TEMPORARY)))
        .times(2)
        .returning(move |_, _| Ok(!std::mem::replace(&mut *redeemed.lock().unwrap(), true)));
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

/// Whether the store has a temporary password it would redeem for another
/// password than the one tried.
#[derive(Debug)]
enum TemporaryState {
    None,
    LiveButOther,
}

// A wrong password costs one hash check and one digest lookup, whether or
// not the account has a live temporary password (expiry and single use are
// the store's to decide, in the same statement that redeems): timing tells
// nothing about a pending reset. A refusal counts as a failure.
table! { a_wrong_password_costs_one_check {
    a_wrong_password_costs_one_hash_check_when_no_temporary_password_is_live:
        TemporaryState::None;
    a_wrong_password_costs_one_hash_check_when_a_temporary_password_is_live:
        TemporaryState::LiveButOther;
}}

async fn a_wrong_password_costs_one_check(label: &str, state: TemporaryState) {
    let mut ports = alices_account();
    ports.checks_passwords_exactly(1);
    let live = matches!(state, TemporaryState::LiveButOther);
    ports
        .temporary_passwords
        .expect_redeem()
        .times(1)
        .returning(move |_, digest| Ok(live && digest == CountingSecrets::digest_of(TEMPORARY)));
    let limiter = ports.counts_attempts();

    let result = ports
        .into_service()
        .login("Alice", WRONG_PASSWORD, HOME)
        .await;

    assert_matches!(result, Err(AccountError::BadCredentials), "{label}");
    assert_eq!(failures(&limiter, "alice"), 1, "{label}");
}

#[tokio::test]
async fn the_right_password_on_an_outdated_hash_logs_in_and_stores_a_new_hash_only() {
    let outdated = FastHasher::hash_with(PASSWORD, 50_000);
    let mut ports = AccountPorts::default();
    ports.knows(UserRecord {
        password_hash: Some(outdated.clone()),
        ..alice()
    });
    ports.serves_sessions();
    ports
        .users
        .expect_upgrade_hash()
        .with(
            eq(alice().id),
            eq(outdated),
            eq(FastHasher::hash_of(PASSWORD)),
        )
        .times(1)
        .returning(|_, _, _| Ok(()));

    let pair = ports.into_service().login("alice", PASSWORD, HOME).await;

    assert!(!pair.unwrap().password_change_required);
}

// No new hash is stored after a wrong password, nor for a password that
// the rule for new passwords would refuse (an import from an older rule).
table! { keeps_the_outdated_hash {
    a_wrong_password_on_an_outdated_hash_stores_nothing: WRONG_PASSWORD;
    an_outdated_hash_of_a_password_too_short_for_the_rule_is_kept: "short";
}}

async fn keeps_the_outdated_hash(label: &str, tried: &'static str) {
    let mut ports = AccountPorts::default();
    // `upgrade_hash` has no expectation: a call fails the test.
    ports.knows(UserRecord {
        password_hash: Some(FastHasher::hash_with("short", 50_000)),
        ..alice()
    });
    ports.has_no_temporary_password();
    ports.serves_sessions();

    let result = ports.into_service().login("Alice", tried, HOME).await;

    assert_eq!(result.is_ok(), tried == "short", "{label}: {result:?}");
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

#[tokio::test]
async fn an_account_removed_between_the_check_and_the_session_answers_bad_credentials() {
    let mut ports = alices_account();
    ports.issues_access_tokens();
    let start = ports.refresh_tokens.expect_start_family();
    start.returning(|_| Err(StoreError::UserGone));

    let result = ports.into_service().login("Alice", PASSWORD, HOME).await;

    assert_matches!(result, Err(AccountError::BadCredentials));
}

#[tokio::test]
async fn a_login_while_hashing_is_saturated_is_refused_before_any_lookup_or_counted_attempt() {
    let ports = AccountPorts::with_saturated_hashing();

    let result = ports.into_service().login("alice", PASSWORD, HOME).await;

    assert_matches!(result, Err(AccountError::Hashing(HashError::Busy)));
}
