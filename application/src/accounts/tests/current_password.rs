//! A current password, given to change the e-mail address or the password,
//! is counted and checked like a login: counted before it is checked, a
//! wrong one stays counted (and nothing changes), a right one is forgiven,
//! and over the limit none is checked.

use super::{
    HOME, NEW_PASSWORD, PASSWORD, WRONG_PASSWORD, alice, alices_account, email, failures, id,
    use_up,
};
use crate::accounts::{AccountError, ProfileUpdate};
use crate::ports::{AttemptKind, ProfileChanges};
use crate::testing::{AccountPorts, assert_matches, table};
use Change::{Email, Password};
use Check::{OverTheLimit, Right, Wrong};

/// What Alice confirms with her current password.
#[derive(Debug, Clone, Copy)]
enum Change {
    Email,
    Password,
}

impl Change {
    /// The store saves the change (otherwise nothing may be saved).
    fn is_saved_by(self, ports: &mut AccountPorts) {
        match self {
            Change::Email => {
                let save = ports.users.expect_update_profile();
                save.returning(|_, _| Ok(Some(alice())));
            }
            Change::Password => {
                let save = ports.users.expect_change_password();
                save.returning(|_, _| Ok(()));
            }
        }
    }

    async fn confirmed_with(self, ports: AccountPorts, current: &str) -> Result<(), AccountError> {
        let (service, alice) = (ports.into_service(), id("Alice"));
        match self {
            Change::Email => {
                let changes = ProfileChanges {
                    email: Some(Some(email("alice@elsewhere.org"))),
                    ..ProfileChanges::default()
                };
                let update = ProfileUpdate {
                    changes,
                    current_password: Some(current.into()),
                };
                service.update_me(&alice, update, HOME).await.map(|_| ())
            }
            Change::Password => {
                let new_password = minifb_domain::Password::parse(NEW_PASSWORD).unwrap();
                let current = current.into();
                service
                    .change_password(&alice, current, new_password, HOME)
                    .await
            }
        }
    }
}

/// How the current password fares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Wrong,
    Right,
    OverTheLimit,
}

table! { checked_like_a_login {
    changing_email_with_a_wrong_current_password_is_refused_and_counted_as_a_failed_login:
        (Email, Wrong);
    changing_password_with_a_wrong_current_password_is_refused_and_counted_as_a_failed_login:
        (Password, Wrong);
    a_right_one_for_an_email_change_is_counted_while_checked_then_forgiven: (Email, Right);
    a_right_one_for_a_password_change_is_counted_while_checked_then_forgiven: (Password, Right);
    over_the_limit_an_email_change_is_refused_without_a_check: (Email, OverTheLimit);
    changing_password_is_refused_while_the_id_is_rate_limited: (Password, OverTheLimit);
}}

async fn checked_like_a_login(label: &str, (change, check): (Change, Check)) {
    let mut ports = alices_account();
    ports.has_no_temporary_password();
    let (limiter, counted_at_checks) = ports.notes_attempts_at_each_check();
    match check {
        Check::Wrong => {}
        Check::Right => change.is_saved_by(&mut ports),
        Check::OverTheLimit => use_up(&limiter, AttemptKind::Password, "ALICE").await,
    }
    let current = if check == Check::Wrong {
        WRONG_PASSWORD
    } else {
        PASSWORD
    };

    let result = change.confirmed_with(ports, current).await;

    // Attempts counted when the password was checked, and after the answer.
    let (counts_at_checks, counted_after) = match check {
        Check::Wrong => {
            assert_matches!(result, Err(AccountError::WrongCurrentPassword), "{label}");
            (vec![1], 1)
        }
        Check::Right => {
            assert!(result.is_ok(), "{label}: {result:?}");
            (vec![1], 0)
        }
        Check::OverTheLimit => {
            assert_matches!(result, Err(AccountError::RateLimited(_)), "{label}");
            (vec![], 10)
        }
    };
    assert_eq!(counted_at_checks.all(), counts_at_checks, "{label}: checks");
    assert_eq!(
        failures(&limiter, "alice"),
        counted_after,
        "{label}: counted"
    );
}
