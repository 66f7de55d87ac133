//! What answers when the post or comment is not there: missing when it is
//! looked up (then nothing is written), gone when the write comes (deleted
//! since it was checked), or, for a withdrawal, which deletes first,
//! missing when the delete found nothing and the target is looked up.

use super::acts::Act::{
    Comment, DeleteComment, DeletePost, EditComment, EditPost, ListComments, ReactToComment,
    ReactToPost, WithdrawCommentReaction, WithdrawPostReaction,
};
use super::acts::{Act, Write};
use crate::testing::{SocialPorts, table};
use Missing::{AfterTheWrite, AtTheLookup, AtTheWrite};

/// Where the act finds its post or comment missing.
#[derive(Debug, Clone, Copy)]
enum Missing {
    AtTheLookup,
    AtTheWrite,
    /// A withdrawal deletes first; finding nothing, it looks the target up.
    AfterTheWrite,
}

table! { answers_not_found {
    updating_a_missing_post_answers_post_not_found_and_changes_nothing:
        (EditPost, AtTheLookup);
    deleting_a_missing_post_answers_post_not_found:
        (DeletePost, AtTheLookup);
    withdrawing_a_reaction_on_a_missing_post_answers_post_not_found:
        (WithdrawPostReaction, AfterTheWrite);
    updating_a_missing_comment_answers_comment_not_found:
        (EditComment, AtTheLookup);
    deleting_a_missing_comment_answers_comment_not_found:
        (DeleteComment, AtTheLookup);
    withdrawing_a_reaction_on_a_missing_comment_answers_comment_not_found:
        (WithdrawCommentReaction, AfterTheWrite);

    reacting_to_a_missing_comment_answers_comment_not_found:
        (ReactToComment, AtTheWrite);
    the_comments_of_a_missing_post_answer_post_not_found:
        (ListComments, AtTheWrite);
    a_post_deleted_between_the_owner_check_and_the_update_answers_post_not_found:
        (EditPost, AtTheWrite);
    a_post_deleted_between_the_owner_check_and_the_delete_answers_post_not_found:
        (DeletePost, AtTheWrite);
    commenting_on_a_missing_post_answers_post_not_found:
        (Comment, AtTheWrite);
    reacting_to_a_missing_post_answers_post_not_found:
        (ReactToPost, AtTheWrite);
    a_comment_deleted_between_the_author_check_and_the_update_answers_comment_not_found:
        (EditComment, AtTheWrite);
    a_comment_deleted_between_the_check_and_the_delete_answers_comment_not_found:
        (DeleteComment, AtTheWrite);
}}

async fn answers_not_found(label: &str, (act, missing): (Act, Missing)) {
    let caller = act.rightful_caller();
    let mut ports = SocialPorts::default();
    ports.callers_exist(true);
    match missing {
        AtTheLookup => {
            ports.finds_target_of(act, false);
            ports.writes(act, caller, Write::Never);
        }
        AtTheWrite => {
            ports.finds_target_of(act, true);
            ports.writes(act, caller, Write::FindsNothing);
        }
        AfterTheWrite => {
            ports.finds_target_of(act, false);
            ports.writes(act, caller, Write::FindsNothing);
        }
    }

    let result = act.by(&ports.into_service(), caller).await;

    act.not_found().check(&result, label);
}
