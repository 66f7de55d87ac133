//! Temporary passwords: a request is only counted (under its own limit, so
//! asking never locks a login, nor a locked login the asking); sending then
//! makes, stores and mails one when the id and e-mail address match.

use chrono::{DateTime, Duration, Utc};
use minifb_domain::{UserId, UserKey};

use super::{
    Calls, HOME, PASSWORD, TEMPORARY, alice, alices_account, assert_between, email, failures, id,
};
use crate::accounts::{AccountError, TEMPORARY_PASSWORD_TTL};
use crate::ports::{AttemptKind, Mail, UserRecord};
use crate::testing::{AccountPorts, CountingSecrets, MemoryLimiter, assert_matches, table};

/// Temporary-password requests counted now on the id as typed.
fn requests(limiter: &MemoryLimiter, typed: &str) -> u32 {
    limiter.attempts(AttemptKind::TemporaryPassword, &UserKey::claimed(typed))
}

// Unless the id exists and its e-mail address matches, sending does
// nothing (`temporary_passwords` and `mailer` have no expectations).
table! { neither_stored_nor_mailed {
    a_temporary_password_for_an_unknown_id_is_neither_stored_nor_mailed:
        ("nobody", "Alice@Example.com", alice());
    a_temporary_password_for_another_email_is_neither_stored_nor_mailed:
        ("Alice", "mallory@example.com", alice());
    a_temporary_password_for_an_account_without_email_is_neither_stored_nor_mailed:
        ("Alice", "Alice@Example.com", UserRecord { email: None, ..alice() });
}}

async fn neither_stored_nor_mailed(label: &str, (typed, address, held): (&str, &str, UserRecord)) {
    let mut ports = AccountPorts::default();
    ports.knows(held);

    let service = ports.into_service();
    let result = service
        .send_temporary_password(&id(typed), &email(address))
        .await;

    assert!(result.is_ok(), "{label}: {result:?}");
}

#[tokio::test]
async fn a_temporary_password_for_the_matching_email_in_any_case_is_stored_as_a_digest_and_mailed()
{
    let mut ports = alices_account();
    let replaced: Calls<(UserId, Vec<u8>, DateTime<Utc>)> = Calls::default();
    ports.temporary_passwords.expect_replace().returning({
        let replaced = replaced.clone();
        move |user_id, digest, expires_at| {
            replaced.push((user_id.clone(), digest, expires_at));
            Ok(())
        }
    });
    let mailed: Calls<Mail> = Calls::default();
    ports.mailer.expect_send().returning({
        let mailed = mailed.clone();
        move |mail| {
            mailed.push(mail);
            Ok(())
        }
    });
    let service = ports.into_service();

    let before = Utc::now();
    let result = service
        .send_temporary_password(&id("aLiCe"), &email("ALICE@example.COM"))
        .await;
    let after = Utc::now();

    assert!(result.is_ok(), "{result:?}");
    let (user_id, digest, expires_at) = replaced.only();
    assert_eq!(user_id.as_ref(), "Alice");
    assert_eq!(digest, CountingSecrets::digest_of(TEMPORARY));
    assert_eq!(TEMPORARY_PASSWORD_TTL, Duration::minutes(30));
    let ttl = TEMPORARY_PASSWORD_TTL;
    assert_between(expires_at, before + ttl, after + ttl);
    let mail = mailed.only();
    assert_eq!(mail.to, "Alice@Example.com");
    assert_eq!(mail.subject, "Your minifb temporary password");
    let words = mail.text.split_whitespace();
    let password = words
        .into_iter()
        .find(|word| CountingSecrets::digest_of(word) == digest);
    assert_eq!(
        password,
        Some(TEMPORARY),
        "the mail holds the temporary password"
    );
}

#[tokio::test]
async fn a_temporary_password_request_only_counts_the_attempt_under_its_own_kind() {
    // `users`, `temporary_passwords` and `mailer` have no expectations: the
    // HTTP layer answers first and sends in the background.
    let mut ports = AccountPorts::default();
    let limiter = ports.counts_attempts();

    let result = ports
        .into_service()
        .request_temporary_password(&id("Alice"), HOME)
        .await;

    assert!(result.is_ok(), "{result:?}");
    assert_eq!(requests(&limiter, "alice"), 1);
    assert_eq!(failures(&limiter, "alice"), 0, "never a password attempt");
}

#[tokio::test]
async fn temporary_password_requests_are_limited_per_id_whatever_its_letter_case() {
    let mut ports = AccountPorts::default();
    let limiter = ports.limits_attempts_to(1);
    let service = ports.into_service();
    let first = service.request_temporary_password(&id("Alice"), HOME).await;

    let second = service.request_temporary_password(&id("ALICE"), HOME).await;

    assert!(first.is_ok(), "{first:?}");
    assert_matches!(second, Err(AccountError::RateLimited(_)));
    assert_eq!(requests(&limiter, "alice"), 1);
    // Asking for temporary passwords never locks the account's logins.
    assert_eq!(failures(&limiter, "alice"), 0);
}

#[tokio::test]
async fn with_its_requests_used_up_the_account_still_logs_in() {
    let mut ports = alices_account();
    ports.serves_sessions();
    ports.has_used_up(AttemptKind::TemporaryPassword).await;

    let result = ports.into_service().login("Alice", PASSWORD, HOME).await;

    assert!(result.is_ok(), "{result:?}");
}

#[tokio::test]
async fn a_user_locked_out_of_logging_in_can_still_ask_for_a_temporary_password() {
    let mut ports = AccountPorts::default();
    let limiter = ports.has_used_up(AttemptKind::Password).await;

    let service = ports.into_service();
    let result = service.request_temporary_password(&id("Alice"), HOME).await;

    assert!(result.is_ok(), "{result:?}");
    assert_eq!(requests(&limiter, "alice"), 1);
}
