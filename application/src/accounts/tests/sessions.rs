//! Refreshing a session (rotating its refresh token) and logging out.

use chrono::{DateTime, Utc};
use mockall::predicate::eq;

use super::{Calls, assert_between, id};
use crate::accounts::{AccountError, REFRESH_TOKEN_TTL};
use crate::ports::Rotation;
use crate::testing::{AccountPorts, CountingSecrets, assert_matches, table};

#[tokio::test]
async fn refreshing_a_live_token_rotates_it_and_returns_a_new_pair() {
    let mut ports = AccountPorts::default();
    ports.issues_access_tokens();
    let rotations: Calls<(Vec<u8>, Vec<u8>, DateTime<Utc>)> = Calls::default();
    ports.refresh_tokens.expect_rotate().times(1).returning({
        let rotations = rotations.clone();
        move |old_hash, new_hash, new_expires_at| {
            rotations.push((old_hash, new_hash, new_expires_at));
            Ok(Rotation::Rotated {
                user_id: id("Alice"),
                password_change_required: false,
            })
        }
    });
    let old_token = "the-refresh-token-alice-got-at-login";

    let before = Utc::now();
    let pair = ports.into_service().refresh(old_token).await.unwrap();
    let after = Utc::now();

    assert_eq!(pair.access_token, "access-token-for-Alice");
    assert!(!pair.password_change_required);
    assert_eq!(pair.refresh_token, "refresh-1");
    let (old_hash, new_hash, new_expires_at) = rotations.only();
    assert_eq!(old_hash, CountingSecrets::digest_of(old_token));
    assert_eq!(new_hash, CountingSecrets::digest_of("refresh-1"));
    let ttl = REFRESH_TOKEN_TTL;
    assert_between(new_expires_at, before + ttl, after + ttl);
}

// A token that does not rotate gets no new pair: no access token is
// issued (`access_tokens` has no expectations).
table! { refresh_is_refused {
    refreshing_with_a_retired_token_answers_invalid_refresh_token: Rotation::Reused;
    refreshing_with_an_unknown_expired_or_revoked_token_answers_invalid_refresh_token:
        Rotation::Invalid;
}}

async fn refresh_is_refused(label: &str, rotation: Rotation) {
    let mut ports = AccountPorts::default();
    ports
        .refresh_tokens
        .expect_rotate()
        .times(1)
        .returning(move |_, _, _| Ok(rotation.clone()));

    let result = ports.into_service().refresh("some-token").await;

    assert_matches!(result, Err(AccountError::InvalidRefreshToken), "{label}");
}

#[tokio::test]
async fn refreshing_carries_over_password_change_required() {
    let mut ports = AccountPorts::default();
    ports.issues_access_tokens();
    ports.refresh_tokens.expect_rotate().returning(|_, _, _| {
        Ok(Rotation::Rotated {
            user_id: id("Alice"),
            password_change_required: true,
        })
    });

    let service = ports.into_service();
    let pair = service.refresh("token-of-a-temporary-password-login").await;

    assert!(pair.unwrap().password_change_required);
}

#[tokio::test]
async fn logout_revokes_the_family_of_the_tokens_digest() {
    let token = "the-refresh-token-to-log-out";
    let mut ports = AccountPorts::default();
    ports
        .refresh_tokens
        .expect_revoke_family()
        .with(eq(CountingSecrets::digest_of(token)))
        .times(1)
        .returning(|_| Ok(()));

    let result = ports.into_service().logout(token).await;

    assert!(result.is_ok(), "{result:?}");
}

/// A NUL is refused as in any other credential, before any store is asked
/// (`refresh_tokens` has no expectations).
#[tokio::test]
async fn a_nul_in_a_refresh_token_is_invalid_for_refresh_and_logout() {
    let service = AccountPorts::default().into_service();
    let token = "a-refresh-token\u{0}";

    let refreshed = service.refresh(token).await.map(|_| ());
    let logged_out = service.logout(token).await;

    for (label, result) in [("refresh", refreshed), ("logout", logged_out)] {
        assert_matches!(result, Err(AccountError::Invalid(_)), "{label}");
        assert_eq!(
            result.unwrap_err().to_string(),
            "refresh_token must not contain NUL characters",
            "{label}"
        );
    }
}
