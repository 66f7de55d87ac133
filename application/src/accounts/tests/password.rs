//! Changing one's password (`PUT /me/password`): the new one is stored as
//! a fresh hash; a live temporary password serves as the current one. How
//! the current password is counted and checked is stated in
//! `current_password`.

use chrono::Duration;
use minifb_domain::{Password, PasswordHash, UserId};

use super::{
    Calls, HOME, NEW_PASSWORD, PASSWORD, TEMPORARY, alice_without_a_usable_hash, alices_account,
    id, temporary_password,
};
use crate::accounts::AccountError;
use crate::testing::{AccountPorts, FastHasher, assert_matches};

impl AccountPorts {
    /// Records every password change, for the test to read back.
    fn stores_new_passwords(&mut self) -> Calls<(UserId, PasswordHash)> {
        let stored = Calls::default();
        self.users.expect_change_password().returning({
            let stored = stored.clone();
            move |id, password_hash| {
                stored.push((id.clone(), password_hash));
                Ok(())
            }
        });
        stored
    }

    /// Alice has [`TEMPORARY`], live for 20 more minutes, and used to log
    /// in already as in the normal flow.
    fn has_logged_in_with_a_temporary_password(&mut self) {
        self.has_temporary_password(temporary_password(Duration::minutes(20), true));
    }
}

/// Alice (typing her id in lower case) sets [`NEW_PASSWORD`], giving
/// `current` as her current password.
async fn change_password(ports: AccountPorts, current: &str) -> Result<(), AccountError> {
    let new_password = Password::parse(NEW_PASSWORD).unwrap();
    ports
        .into_service()
        .change_password(&id("alice"), current.into(), new_password, HOME)
        .await
}

#[tokio::test]
async fn changing_password_with_the_right_current_password_stores_a_new_pbkdf2_hash() {
    let mut ports = alices_account();
    let stored = ports.stores_new_passwords();

    let result = change_password(ports, PASSWORD).await;

    assert!(result.is_ok(), "{result:?}");
    let (id, password_hash) = stored.only();
    assert_eq!(id.as_ref(), "Alice");
    assert_eq!(password_hash, FastHasher::hash_of(NEW_PASSWORD));
    assert!(password_hash.verify(NEW_PASSWORD));
    assert!(!password_hash.verify(PASSWORD));
}

#[tokio::test]
async fn a_live_temporary_password_is_accepted_as_current_password() {
    let mut ports = alices_account();
    ports.has_logged_in_with_a_temporary_password();
    let stored = ports.stores_new_passwords();

    let result = change_password(ports, TEMPORARY).await;

    assert!(result.is_ok(), "{result:?}");
    assert!(stored.only().1.verify(NEW_PASSWORD));
}

#[tokio::test]
async fn an_account_whose_hash_never_verifies_sets_a_new_password_with_its_temporary_one() {
    let mut ports = AccountPorts::default();
    ports.knows(alice_without_a_usable_hash());
    ports.has_logged_in_with_a_temporary_password();
    let stored = ports.stores_new_passwords();

    let result = change_password(ports, TEMPORARY).await;

    assert!(result.is_ok(), "{result:?}");
    assert_eq!(stored.only().0.as_ref(), "Alice");
}

#[tokio::test]
async fn an_expired_temporary_password_is_not_accepted_as_current_password() {
    let mut ports = alices_account();
    ports.has_temporary_password(temporary_password(-Duration::seconds(1), false));

    let result = change_password(ports, TEMPORARY).await;

    assert_matches!(result, Err(AccountError::WrongCurrentPassword));
}
