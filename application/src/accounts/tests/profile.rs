//! Reading profiles, and changing one's own (`PATCH /me`). That changing
//! the e-mail address needs the current password, checked like a login, is
//! stated in `current_password`.

use minifb_domain::{Email, Nickname};

use super::{
    HOME, PASSWORD, alice, alice_without_a_usable_hash, alices_account, email, failures, id,
};
use crate::accounts::{AccountError, ProfileUpdate};
use crate::ports::{ProfileChanges, UserRecord};
use crate::testing::{AccountPorts, assert_matches, table};

fn update(changes: ProfileChanges, current_password: Option<&str>) -> ProfileUpdate {
    ProfileUpdate {
        changes,
        current_password: current_password.map(Into::into),
    }
}

/// `PATCH /me` by Alice, typing her id as `typed`.
async fn update_me(
    ports: AccountPorts,
    typed: &str,
    update: ProfileUpdate,
) -> Result<UserRecord, AccountError> {
    ports
        .into_service()
        .update_me(&id(typed), update, HOME)
        .await
}

fn email_change(new: Option<Email>) -> ProfileChanges {
    ProfileChanges {
        email: Some(new),
        ..ProfileChanges::default()
    }
}

impl AccountPorts {
    /// Saves exactly `changes` for Alice (as her id is stored) and answers
    /// with the record it returns here.
    fn saves_profile(&mut self, changes: ProfileChanges) -> UserRecord {
        let saved = UserRecord {
            bio: Some("as saved".into()),
            ..alice()
        };
        self.users
            .expect_update_profile()
            .withf(move |id, sent| id.as_ref() == "Alice" && *sent == changes)
            .times(1)
            .returning({
                let saved = saved.clone();
                move |_, _| Ok(Some(saved.clone()))
            });
        saved
    }
}

// An update that names no field is refused before anything is read or
// written (`users` has no expectations).
table! { nothing_to_change {
    patching_me_without_a_field_to_change_answers_nothing_to_change: None;
    patching_me_with_only_a_current_password_answers_nothing_to_change: Some(PASSWORD);
}}

async fn nothing_to_change(label: &str, current_password: Option<&str>) {
    let update = update(ProfileChanges::default(), current_password);

    let result = update_me(AccountPorts::default(), "Alice", update).await;

    assert_matches!(result, Err(AccountError::NothingToChange), "{label}");
}

// Any change of the e-mail address, clearing it included, needs the
// current password.
table! { current_password_required {
    changing_email_without_current_password_answers_current_password_required:
        Some(email("alice@elsewhere.org"));
    clearing_email_without_current_password_answers_current_password_required:
        None;
}}

async fn current_password_required(label: &str, new: Option<Email>) {
    let update = update(email_change(new), None);

    let result = update_me(alices_account(), "Alice", update).await;

    assert_matches!(
        result,
        Err(AccountError::CurrentPasswordRequired),
        "{label}"
    );
}

// Changes that need no password reach the repository exactly as sent, for
// the id as stored, and the answer is the record it returns.
table! { saved_as_sent {
    setting_email_to_the_same_address_in_another_letter_case_needs_no_password:
        email_change(Some(email("alice@EXAMPLE.COM")));
    clearing_the_nickname_needs_no_password_and_reaches_the_repository_as_sent:
        ProfileChanges { nickname: Some(None), ..ProfileChanges::default() };
    the_repository_receives_exactly_the_profile_changes_sent:
        ProfileChanges {
            nickname: Some(Some(Nickname::parse("홍길동").unwrap())),
            bio: Some(None),
            email: None,
        };
}}

async fn saved_as_sent(label: &str, changes: ProfileChanges) {
    let mut ports = alices_account();
    let saved = ports.saves_profile(changes.clone());

    let result = update_me(ports, "aLiCe", update(changes, None)).await;

    assert_eq!(result.unwrap(), saved, "{label}");
}

#[tokio::test]
async fn changing_email_with_the_right_current_password_saves_exactly_the_changes() {
    let changes = email_change(Some(email("alice@elsewhere.org")));
    let mut ports = alices_account();
    let saved = ports.saves_profile(changes.clone());

    let result = update_me(ports, "alice", update(changes, Some(PASSWORD))).await;

    assert_eq!(result.unwrap(), saved);
}

#[tokio::test]
async fn an_account_whose_hash_never_verifies_cannot_confirm_a_change_but_costs_a_dummy_check() {
    let mut ports = AccountPorts::default();
    ports.knows(alice_without_a_usable_hash());
    ports.checks_only_the_dummy_hash(PASSWORD);
    let limiter = ports.counts_attempts();

    let update = update(email_change(None), Some(PASSWORD));
    let result = update_me(ports, "Alice", update).await;

    assert_matches!(result, Err(AccountError::WrongCurrentPassword));
    assert_eq!(failures(&limiter, "alice"), 1);
}

/// Where Alice's account turns out to be gone.
#[derive(Debug)]
enum Gone {
    /// Before anything is read.
    AtTheLookup,
    /// Between the lookup and the write.
    AtTheWrite,
}

// A token whose account was removed gets `CallerGone` (401
// `invalid_token`), never a 404 or a store failure.
table! { my_account_is_gone {
    reading_me_after_my_account_was_removed_answers_caller_gone: (false, Gone::AtTheLookup);
    patching_me_after_my_account_was_removed_answers_caller_gone: (true, Gone::AtTheLookup);
    patching_me_while_my_account_is_removed_answers_caller_gone: (true, Gone::AtTheWrite);
}}

async fn my_account_is_gone(label: &str, (patch, gone): (bool, Gone)) {
    let mut ports = AccountPorts::default();
    match gone {
        Gone::AtTheLookup => {
            ports.users.expect_find().returning(|_| Ok(None));
        }
        Gone::AtTheWrite => {
            ports.knows(alice());
            let write = ports.users.expect_update_profile();
            write.returning(|_, _| Ok(None));
        }
    }
    let changes = ProfileChanges {
        nickname: Some(None),
        ..ProfileChanges::default()
    };

    let result = match patch {
        true => update_me(ports, "Alice", update(changes, None)).await,
        false => ports.into_service().me(&id("Alice")).await,
    };

    assert_matches!(result, Err(AccountError::CallerGone), "{label}");
}

#[tokio::test]
async fn looking_up_an_id_that_breaks_the_id_rule_answers_user_not_found_without_querying() {
    // `users` has no expectations: a query would fail the test.
    let service = AccountPorts::default().into_service();

    let result = service.user("no!").await;

    assert_matches!(result, Err(AccountError::UserNotFound(id)) if id == "no!");
}

#[tokio::test]
async fn looking_up_a_known_id_in_another_letter_case_returns_the_user() {
    let user = alices_account().into_service().user("ALICE").await;

    assert_eq!(user.unwrap().id.as_ref(), "Alice");
}

#[tokio::test]
async fn looking_up_an_unknown_id_answers_user_not_found() {
    let result = alices_account().into_service().user("nobody").await;

    assert_matches!(result, Err(AccountError::UserNotFound(id)) if id == "nobody");
}
