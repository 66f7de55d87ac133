//! A token whose account was removed (by an operator, or by another
//! implementation sharing the database) answers `CallerGone` on every act
//! on the caller's own data, never a 404, a 403 or a store failure. The
//! account is looked up only when an act finds nothing or is refused.

use mockall::predicate::{always, eq};

use super::acts::Act::{
    self, Comment, DeleteComment, DeletePost, EditComment, EditPost, ReactToComment, ReactToPost,
    WithdrawCommentReaction, WithdrawPostReaction,
};
use super::acts::Write;
use super::{NOTIFICATION, id, page, post_content};
use crate::ports::StoreError;
use crate::social::SocialError;
use crate::testing::{SocialPorts, assert_matches, table};

// Their posts, comments and reactions went with the account, so each act
// finds its target missing (or not theirs); the account lookup then tells
// why.
table! { answers_caller_gone {
    editing_a_post_after_ones_account_was_removed_answers_caller_gone: EditPost;
    deleting_a_post_after_ones_account_was_removed_answers_caller_gone: DeletePost;
    commenting_after_ones_account_was_removed_answers_caller_gone: Comment;
    reacting_to_a_post_after_ones_account_was_removed_answers_caller_gone: ReactToPost;
    withdrawing_a_post_reaction_after_ones_account_was_removed_answers_caller_gone:
        WithdrawPostReaction;
    editing_a_comment_after_ones_account_was_removed_answers_caller_gone: EditComment;
    deleting_a_comment_after_ones_account_was_removed_answers_caller_gone: DeleteComment;
    reacting_to_a_comment_after_ones_account_was_removed_answers_caller_gone: ReactToComment;
    withdrawing_a_comment_reaction_after_ones_account_was_removed_answers_caller_gone:
        WithdrawCommentReaction;
}}

/// Ports in which every account the service looks up has been removed.
fn without_callers() -> SocialPorts {
    let mut ports = SocialPorts::default();
    ports.callers_exist(false);
    ports
}

async fn answers_caller_gone(label: &str, act: Act) {
    let caller = act.rightful_caller();
    let mut ports = without_callers();
    // Its write finds nothing; where it then looks its target up, it
    // finds no post or comment either.
    ports.writes(act, caller, Write::FindsNothing);
    ports.finds_target_of(act, false);

    let result = act.by(&ports.into_service(), caller).await;

    assert_matches!(result, Err(SocialError::CallerGone), "{label}");
}

#[tokio::test]
async fn a_post_whose_author_the_store_no_longer_has_answers_caller_gone() {
    let mut ports = SocialPorts::default();
    ports
        .posts
        .expect_create()
        .returning(|_, _| Err(StoreError::UserGone));

    let result = ports
        .into_service()
        .create_post(&id("Alice"), post_content("hello"))
        .await;

    assert_matches!(result, Err(SocialError::CallerGone));
}

#[tokio::test]
async fn my_timeline_after_my_account_was_removed_answers_caller_gone() {
    let mut ports = without_callers();
    ports
        .posts
        .expect_list_by_owner()
        .returning(|_, _, _| Ok(None));

    let result = ports
        .into_service()
        .my_timeline(&id("Alice"), page(20, None))
        .await;

    assert_matches!(result, Err(SocialError::CallerGone));
}

#[tokio::test]
async fn my_notifications_after_my_account_was_removed_answer_caller_gone() {
    let mut ports = SocialPorts::default();
    let list = ports.notifications.expect_list();
    list.with(eq(id("Alice")), eq(false), always())
        .returning(|_, _, _| Ok(None));

    let result = ports
        .into_service()
        .notifications(&id("Alice"), false, page(20, None))
        .await;

    assert_matches!(result, Err(SocialError::CallerGone));
}

#[tokio::test]
async fn marking_a_notification_read_after_my_account_was_removed_answers_caller_gone() {
    let mut ports = without_callers();
    let mark = ports.notifications.expect_mark_read();
    mark.returning(|_, _| Ok(false));

    let result = ports
        .into_service()
        .mark_notification_read(&id("Alice"), NOTIFICATION)
        .await;

    assert_matches!(result, Err(SocialError::CallerGone));
}

// Nothing left to mark is fine for an account that exists, and tells a
// removed one apart.
table! { marking_all_read_with_nothing_unread {
    marking_all_read_with_nothing_unread_is_done: true;
    marking_all_read_after_my_account_was_removed_answers_caller_gone: false;
}}

async fn marking_all_read_with_nothing_unread(label: &str, exists: bool) {
    let mut ports = SocialPorts::default();
    ports.callers_exist(exists);
    let mark = ports.notifications.expect_mark_all_read();
    mark.returning(move |_| Ok(exists.then_some(0)));

    let result = ports
        .into_service()
        .mark_all_notifications_read(&id("Alice"))
        .await;

    match exists {
        true => assert!(result.is_ok(), "{label}: {result:?}"),
        false => assert_matches!(result, Err(SocialError::CallerGone), "{label}"),
    }
}
