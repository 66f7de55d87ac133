//! Signing up, and asking whether an id is free.

use std::sync::Arc;

use minifb_domain::{Bio, DisplayName, Nickname, Password};

use super::{Calls, HOME, PASSWORD, alice, alices_account, email, has_capacity, id, unavailable};
use crate::accounts::{AccountError, SignUp};
use crate::ports::{HashError, StoreError, UserCreation};
use crate::testing::{AccountPorts, FastHasher, MemoryLimiter, assert_matches, table};

fn alices_sign_up() -> SignUp {
    SignUp {
        id: id("Alice"),
        password: Password::parse(PASSWORD).unwrap(),
        name: DisplayName::parse("Alice Kim").unwrap(),
        nickname: Some(Nickname::parse("ally").unwrap()),
        bio: Some(Bio::parse("likes kimchi").unwrap()),
        email: Some(email("Alice@Example.com")),
    }
}

#[tokio::test]
async fn signing_up_stores_a_pbkdf2_hash_of_the_password_and_returns_the_record() {
    let mut ports = AccountPorts::default();
    let created = Calls::default();
    let record = alice();
    ports.users.expect_create().times(1).returning({
        let (created, record) = (created.clone(), record.clone());
        move |new_user| {
            created.push(new_user);
            Ok(UserCreation::Created(record.clone()))
        }
    });

    let result = ports.into_service().sign_up(alices_sign_up(), HOME).await;

    assert_eq!(result.unwrap(), record);
    let new_user = created.only();
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
    assert_eq!(new_user.password, FastHasher::hash_of(PASSWORD));
    assert!(FastHasher::matches(PASSWORD, &new_user.password));
}

#[tokio::test]
async fn signing_up_with_a_taken_id_answers_id_taken() {
    let mut ports = AccountPorts::default();
    ports
        .users
        .expect_create()
        .times(1)
        .returning(|_| Ok(UserCreation::IdTaken));

    let result = ports.into_service().sign_up(alices_sign_up(), HOME).await;

    assert_matches!(result, Err(AccountError::IdTaken(id)) if id.as_ref() == "Alice");
}

#[tokio::test]
async fn signing_up_while_the_hashing_pool_is_busy_answers_busy_and_stores_nothing() {
    let mut hasher = has_capacity();
    hasher.expect_hash().returning(|_| Err(HashError::Busy));
    let ports = AccountPorts {
        hasher: Arc::new(hasher),
        ..AccountPorts::default()
    };

    let result = ports.into_service().sign_up(alices_sign_up(), HOME).await;

    assert_matches!(result, Err(AccountError::Hashing(HashError::Busy)));
}

#[tokio::test]
async fn a_store_failure_during_sign_up_propagates_as_a_store_error() {
    let mut ports = AccountPorts::default();
    ports
        .users
        .expect_create()
        .times(1)
        .returning(|_| Err(unavailable()));

    let result = ports.into_service().sign_up(alices_sign_up(), HOME).await;

    assert_matches!(
        result,
        Err(AccountError::Store(StoreError::Unavailable(reason))) if reason == "connection refused"
    );
}

#[tokio::test]
async fn sign_ups_past_the_addresss_limit_are_refused_before_any_hash_is_made() {
    let limiter = Arc::new(MemoryLimiter::default().with_sign_ups(2));
    let mut ports = AccountPorts {
        limiter: limiter.clone(),
        ..AccountPorts::default()
    };
    // Two from home and one from elsewhere are hashed and stored; the
    // third from home never reaches the hasher.
    ports
        .users
        .expect_create()
        .times(3)
        .returning(|_| Ok(UserCreation::Created(alice())));
    let mut hasher = has_capacity();
    hasher
        .expect_hash()
        .times(3)
        .returning(|password| Ok(FastHasher::hash_of(password.expose())));
    ports.hasher = Arc::new(hasher);
    let service = ports.into_service();
    let elsewhere = "192.0.2.7".parse().unwrap();

    let first = service.sign_up(alices_sign_up(), HOME).await;
    let second = service.sign_up(alices_sign_up(), HOME).await;
    let third = service.sign_up(alices_sign_up(), HOME).await;
    let from_elsewhere = service.sign_up(alices_sign_up(), elsewhere).await;

    assert!(first.is_ok() && second.is_ok());
    assert_matches!(third, Err(AccountError::SignUpsLimited(_)));
    assert!(from_elsewhere.is_ok());
    assert_eq!(limiter.sign_ups(HOME), 2);
    assert_eq!(limiter.sign_ups(elsewhere), 1);
}

/// How a sign-up fails to make an account.
#[derive(Debug)]
enum NoAccount {
    IdTaken,
    HashingBusy,
    StoreDown,
}

// A sign-up that makes no account gives its admission back.
table! { given_back {
    a_taken_id_is_given_back: NoAccount::IdTaken;
    a_busy_hashing_pool_is_given_back: NoAccount::HashingBusy;
    a_store_outage_is_given_back: NoAccount::StoreDown;
}}

async fn given_back(label: &str, failure: NoAccount) {
    let limiter = Arc::new(MemoryLimiter::default().with_sign_ups(1));
    let mut ports = AccountPorts {
        limiter: limiter.clone(),
        ..AccountPorts::default()
    };
    match failure {
        NoAccount::IdTaken => {
            ports
                .users
                .expect_create()
                .return_once(|_| Ok(UserCreation::IdTaken));
        }
        NoAccount::HashingBusy => {
            let mut hasher = has_capacity();
            hasher.expect_hash().return_once(|_| Err(HashError::Busy));
            ports.hasher = Arc::new(hasher);
        }
        NoAccount::StoreDown => {
            ports
                .users
                .expect_create()
                .return_once(|_| Err(unavailable()));
        }
    }

    let result = ports.into_service().sign_up(alices_sign_up(), HOME).await;

    assert!(result.is_err(), "{label}");
    assert_eq!(limiter.sign_ups(HOME), 0, "{label}");
}

// An id is free unless someone has it, whatever the letter case.
table! { availability {
    an_id_nobody_has_is_available: ("bob1", true);
    an_id_taken_in_another_letter_case_is_not_available: ("ALICE", false);
}}

async fn availability(label: &str, (typed, available): (&str, bool)) {
    let service = alices_account().into_service();

    let result = service.id_availability(&id(typed)).await;

    assert_eq!(result.unwrap(), available, "{label}");
}

#[tokio::test]
async fn a_sign_up_while_hashing_is_saturated_is_refused_before_it_counts_or_stores() {
    let ports = AccountPorts::with_saturated_hashing();

    let result = ports.into_service().sign_up(alices_sign_up(), HOME).await;

    assert_matches!(result, Err(AccountError::Hashing(HashError::Busy)));
}
