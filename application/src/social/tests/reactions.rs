//! Putting and withdrawing reactions on posts and comments. Who is notified
//! of a reaction is stated in `notifications`, what a missing post or
//! comment answers in `missing`.

use mockall::predicate::eq;

use super::acts::Act::{
    ReactToComment, ReactToPost, WithdrawCommentReaction, WithdrawPostReaction,
};
use super::acts::{Act, Write};
use super::{id, kind, reaction};
use crate::social::SocialError;
use crate::social::ports::ReactionChange::{self, Changed, Created, Unchanged};
use crate::testing::{SocialPorts, assert_matches, table};

// Putting a reaction answers what the repository did. Reacting to a comment
// looks nothing up and notifies nobody: no other port is arranged, and
// a reaction on a comment has no one to notify.
table! { answers_as_the_repository_says {
    a_first_reaction_to_a_post_answers_created: (ReactToPost, Created(reaction(kind(2), false)));
    another_kind_of_reaction_to_a_post_answers_changed:
        (ReactToPost, Changed(reaction(kind(4), true)));
    the_same_reaction_to_a_post_again_answers_unchanged:
        (ReactToPost, Unchanged(reaction(kind(4), true)));
    a_first_reaction_to_a_comment_answers_created_and_notifies_nobody:
        (ReactToComment, Created(reaction(kind(5), false)));
    another_kind_of_reaction_to_a_comment_answers_changed_and_notifies_nobody:
        (ReactToComment, Changed(reaction(kind(5), true)));
    the_same_reaction_to_a_comment_again_answers_unchanged_and_notifies_nobody:
        (ReactToComment, Unchanged(reaction(kind(5), false)));
}}

async fn answers_as_the_repository_says(label: &str, (act, change): (Act, ReactionChange)) {
    let mut ports = SocialPorts::default();
    let stored = change.clone();
    let put = ports.reactions.expect_put().times(1);
    let put = put.with(eq(act.target()), eq(id("Bob1")), eq(kind(4)));
    put.returning(move |_, _, _| Ok(Some(stored.clone())));

    let service = ports.into_service();
    let result = service.react(&id("Bob1"), act.target(), kind(4)).await;

    assert_eq!(result.unwrap(), change, "{label}");
}

// Withdrawing my reaction deletes it; without one, the answer says on what
// there is none.
table! { withdrawing {
    withdrawing_my_reaction_on_a_post_deletes_it: (WithdrawPostReaction, true);
    withdrawing_a_post_reaction_i_do_not_have_answers_reaction_not_found:
        (WithdrawPostReaction, false);
    withdrawing_my_reaction_on_a_comment_deletes_it: (WithdrawCommentReaction, true);
    withdrawing_a_comment_reaction_i_do_not_have_answers_reaction_not_found:
        (WithdrawCommentReaction, false);
}}

async fn withdrawing(label: &str, (act, had_one): (Act, bool)) {
    let mut ports = SocialPorts::default();
    ports.callers_exist(true);
    ports.finds_target_of(act, true);
    let write = if had_one {
        Write::Succeeds
    } else {
        Write::FindsNothing
    };
    ports.writes(act, "Bob1", write);

    let result = act.by(&ports.into_service(), "Bob1").await;

    if had_one {
        assert!(result.is_ok(), "{label}: {result:?}");
    } else {
        let on = match act {
            WithdrawPostReaction => "post 7",
            _ => "comment 11",
        };
        assert_matches!(
            result,
            Err(SocialError::ReactionNotFound(what)) if what.to_string() == on,
            "{label}"
        );
    }
}
