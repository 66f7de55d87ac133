//! What answers when the post or comment is not there: missing when the
//! write finds nothing and the lookup that follows finds no target, or
//! when the write, the only call, finds nothing.

use super::acts::Act::{
    Comment, DeleteComment, DeletePost, EditComment, EditPost, ListComments, ReactToComment,
    ReactToPost, WithdrawCommentReaction, WithdrawPostReaction,
};
use super::acts::{Act, Write};
use crate::testing::{SocialPorts, table};
use Missing::{AfterTheWrite, AtTheWrite};

/// Where the act finds its post or comment missing.
#[derive(Debug, Clone, Copy)]
enum Missing {
    /// The write (or the page), the act's only call, finds nothing.
    AtTheWrite,
    /// The write finds nothing, and the lookup that follows finds no
    /// target.
    AfterTheWrite,
}

table! { answers_not_found {
    updating_a_missing_post_answers_post_not_found_and_changes_nothing:
        (EditPost, AfterTheWrite);
    deleting_a_missing_post_answers_post_not_found:
        (DeletePost, AfterTheWrite);
    withdrawing_a_reaction_on_a_missing_post_answers_post_not_found:
        (WithdrawPostReaction, AfterTheWrite);
    updating_a_missing_comment_answers_comment_not_found:
        (EditComment, AfterTheWrite);
    deleting_a_missing_comment_answers_comment_not_found:
        (DeleteComment, AfterTheWrite);
    withdrawing_a_reaction_on_a_missing_comment_answers_comment_not_found:
        (WithdrawCommentReaction, AfterTheWrite);

    reacting_to_a_missing_comment_answers_comment_not_found:
        (ReactToComment, AtTheWrite);
    the_comments_of_a_missing_post_answer_post_not_found:
        (ListComments, AtTheWrite);
    commenting_on_a_missing_post_answers_post_not_found:
        (Comment, AtTheWrite);
    reacting_to_a_missing_post_answers_post_not_found:
        (ReactToPost, AtTheWrite);
}}

async fn answers_not_found(label: &str, (act, missing): (Act, Missing)) {
    let caller = act.rightful_caller();
    let mut ports = SocialPorts::default();
    ports.callers_exist(true);
    match missing {
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
