//! Changing one's password (`PUT /me/password`): the new one is stored as
//! a fresh hash; a live temporary password serves as the current one. How
//! the current password is counted and checked is stated in
//! `current_password`.

use minifb_domain::{Password, PasswordHash, UserId};

use super::{
    Calls, HOME, NEW_PASSWORD, PASSWORD, TEMPORARY, alice_without_a_usable_hash, alices_account, id,
};
use crate::accounts::AccountError;
use crate::ports::StoreError;
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

    /// Alice has [`TEMPORARY`], live, and used to log in already as in the
    /// normal flow (`is_live` counts used ones too).
    fn has_logged_in_with_a_temporary_password(&mut self) {
        self.has_live_temporary_password();
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
    assert!(FastHasher::matches(NEW_PASSWORD, &password_hash));
    assert!(!FastHasher::matches(PASSWORD, &password_hash));
}

#[tokio::test]
async fn a_live_temporary_password_is_accepted_as_current_password() {
    let mut ports = alices_account();
    ports.has_logged_in_with_a_temporary_password();
    let stored = ports.stores_new_passwords();

    let result = change_password(ports, TEMPORARY).await;

    assert!(result.is_ok(), "{result:?}");
    assert!(FastHasher::matches(NEW_PASSWORD, &stored.only().1));
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
    // The store decides expiry: an expired one is not live.
    ports.has_no_temporary_password();

    let result = change_password(ports, TEMPORARY).await;

    assert_matches!(result, Err(AccountError::WrongCurrentPassword));
}

#[tokio::test]
async fn changing_password_after_my_account_was_removed_answers_caller_gone() {
    let mut ports = AccountPorts::default();
    ports.users.expect_find().returning(|_| Ok(None));

    let result = change_password(ports, PASSWORD).await;

    assert_matches!(result, Err(AccountError::CallerGone));
}

#[tokio::test]
async fn an_account_removed_while_its_password_changes_answers_caller_gone() {
    let mut ports = alices_account();
    let write = ports.users.expect_change_password();
    write.returning(|_, _| Err(StoreError::UserGone));

    let result = change_password(ports, PASSWORD).await;

    assert_matches!(result, Err(AccountError::CallerGone));
}
