//! Who may change what: only the owner edits or deletes a post; only its
//! author edits a comment, which its author or the post's owner may delete.
//! Ids match whatever their letter case; a refused change writes nothing.

use super::acts::Act::{DeleteComment, DeletePost, EditComment, EditPost};
use super::acts::Answer::{Done, Forbidden};
use super::acts::{Act, Answer, Write};
use crate::testing::{SocialPorts, table};

table! { who_may {
    // Alice's post 7.
    the_owner_updates_their_post_and_gets_it_back_as_they_see_it: ("Alice", EditPost, Done);
    the_owner_is_recognised_ignoring_letter_case_when_updating_a_post: ("aLICE", EditPost, Done);
    alice_typed_in_capitals_may_edit_alices_post: ("ALICE", EditPost, Done);
    updating_someone_elses_post_is_forbidden_and_changes_nothing: ("Bob1", EditPost, Forbidden);
    the_owner_deletes_their_post: ("Alice", DeletePost, Done);
    the_owner_is_recognised_ignoring_letter_case_when_deleting_a_post: ("alice", DeletePost, Done);
    deleting_someone_elses_post_is_forbidden_and_deletes_nothing: ("Bob1", DeletePost, Forbidden);

    // Bob1's comment 11 on Alice's post.
    the_author_updates_their_comment: ("Bob1", EditComment, Done);
    the_author_is_recognised_ignoring_letter_case_when_updating_a_comment:
        ("BOB1", EditComment, Done);
    the_post_owner_cannot_update_someone_elses_comment_on_their_post:
        ("Alice", EditComment, Forbidden);
    a_third_user_cannot_update_a_comment: ("Carol", EditComment, Forbidden);
    the_author_deletes_their_comment: ("Bob1", DeleteComment, Done);
    the_author_in_another_letter_case_deletes_their_comment: ("bOB1", DeleteComment, Done);
    the_post_owner_deletes_a_comment_on_their_post_whatever_the_letter_case:
        ("aLiCe", DeleteComment, Done);
    a_third_user_cannot_delete_a_comment: ("Carol", DeleteComment, Forbidden);
}}

async fn who_may(label: &str, (caller, act, answer): (&str, Act, Answer)) {
    let mut ports = SocialPorts::default();
    ports.callers_exist(true);
    ports.finds_target_of(act, true);
    // A refused change is a write its guard refuses: it changes nothing.
    let write = if answer == Done {
        Write::Succeeds
    } else {
        Write::FindsNothing
    };
    ports.writes(act, caller, write);

    let result = act.by(&ports.into_service(), caller).await;

    answer.check(&result, label);
}
