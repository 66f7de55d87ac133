//! What a caller can do to Alice's post 7 or to Bob1's comment 11 on it,
//! for the tables of the rules that hold across use cases: how each act
//! looks its target up, which write it makes, and what it answers.

use mockall::predicate::{always, eq};

use super::{
    COMMENT, POST, at, comment_content, comment_view, id, kind, page, post_content, post_view,
    reaction,
};
use crate::social::ports::{CommentCreation, CommentView, PostView, ReactionChange};
use crate::social::{ReactionTarget, SocialError, SocialService};
use crate::testing::{SocialPorts, assert_matches};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Act {
    EditPost,
    DeletePost,
    Comment,
    ListComments,
    ReactToPost,
    WithdrawPostReaction,
    EditComment,
    DeleteComment,
    ReactToComment,
    WithdrawCommentReaction,
}

/// How an act's write, which every act makes once, goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    Succeeds,
    /// It finds nothing to change: the post or comment is not there, the
    /// caller may not change it (the write's guard refuses), or there is
    /// no reaction to withdraw.
    FindsNothing,
}

/// What an act answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    Done,
    Forbidden,
    PostNotFound,
    CommentNotFound,
}

impl Answer {
    pub(super) fn check(self, result: &Result<(), SocialError>, label: &str) {
        match self {
            Answer::Done => assert!(result.is_ok(), "{label}: {result:?}"),
            Answer::Forbidden => assert_matches!(result, Err(SocialError::Forbidden), "{label}"),
            Answer::PostNotFound => assert_matches!(
                result,
                Err(SocialError::PostNotFound(id)) if *id == POST,
                "{label}"
            ),
            Answer::CommentNotFound => assert_matches!(
                result,
                Err(SocialError::CommentNotFound(id)) if *id == COMMENT,
                "{label}"
            ),
        }
    }
}

fn edited_post() -> PostView {
    PostView {
        content: "edited".into(),
        updated_at: Some(at()),
        ..post_view(7, "Alice")
    }
}

fn edited_comment() -> CommentView {
    CommentView {
        content: "edited".into(),
        modified: true,
        updated_at: Some(at()),
        ..comment_view(11, "Bob1")
    }
}

impl Act {
    /// The answer when the act's post or comment is not there.
    pub(super) fn not_found(self) -> Answer {
        match self {
            Act::EditComment
            | Act::DeleteComment
            | Act::ReactToComment
            | Act::WithdrawCommentReaction => Answer::CommentNotFound,
            _ => Answer::PostNotFound,
        }
    }

    /// Someone allowed to do it: Alice changes her post, Bob1 his comment,
    /// and Bob1 does everything else.
    pub(super) fn rightful_caller(self) -> &'static str {
        match self {
            Act::EditPost | Act::DeletePost => "Alice",
            _ => "Bob1",
        }
    }

    /// What a reaction act is on.
    pub(super) fn target(self) -> ReactionTarget {
        match self {
            Act::ReactToComment | Act::WithdrawCommentReaction => ReactionTarget::Comment(COMMENT),
            _ => ReactionTarget::Post(POST),
        }
    }

    /// Does it as `caller`. What the service returns must be what the
    /// repository wrote.
    pub(super) async fn by(self, service: &SocialService, caller: &str) -> Result<(), SocialError> {
        let caller = &id(caller);
        match self {
            Act::EditPost => {
                let content = post_content("edited");
                let post = service.update_post(caller, POST, content).await?;
                assert_eq!(post, edited_post());
            }
            Act::DeletePost => service.delete_post(caller, POST).await?,
            Act::Comment => {
                let content = comment_content("hello");
                let comment = service.create_comment(caller, POST, content).await?;
                assert_eq!(comment, comment_view(11, "Bob1"));
            }
            Act::ListComments => {
                let viewer = Some(caller.clone());
                service.comments(POST, page(20, None), viewer).await?;
            }
            Act::ReactToPost | Act::ReactToComment => {
                service.react(caller, self.target(), kind(1)).await?;
            }
            Act::WithdrawPostReaction | Act::WithdrawCommentReaction => {
                service.withdraw_reaction(caller, self.target()).await?
            }
            Act::DeleteComment => service.delete_comment(caller, COMMENT).await?,
            Act::EditComment => {
                let content = comment_content("edited");
                let comment = service.update_comment(caller, COMMENT, content).await?;
                assert_eq!(comment, edited_comment());
            }
        }
        Ok(())
    }
}

impl SocialPorts {
    /// The act's target exists, or not, where the act looks it up: after a
    /// write that changed nothing (refused by its guard, or finding no
    /// target or no reaction), the post's owner, the comment's owners, or
    /// the comment's existence, to tell 404 from 403 or from a missing
    /// reaction. (A comment, a reaction and a page of comments look nothing
    /// up: the write or the page finds its target or not, and the write
    /// notifies the post's owner itself.)
    pub(super) fn finds_target_of(&mut self, act: Act, exists: bool) {
        match act {
            Act::EditComment | Act::DeleteComment => self.comment_owners(exists),
            Act::WithdrawCommentReaction => {
                let lookup = self.comments.expect_exists().with(eq(COMMENT));
                lookup.returning(move |_| Ok(exists));
            }
            Act::Comment | Act::ReactToPost | Act::ReactToComment | Act::ListComments => {}
            _ => self.post_owner(exists.then_some("Alice")),
        }
    }

    /// Arranges the act's write by `caller`, made once.
    pub(super) fn writes(&mut self, act: Act, caller: &str, write: Write) {
        let found = write != Write::FindsNothing;
        let caller = id(caller);
        match act {
            Act::EditPost => {
                let content = eq(post_content("edited"));
                let update = self.posts.expect_update().times(1);
                let update = update.with(eq(POST), content, eq(caller));
                update.returning(move |_, _, _| Ok(found.then(edited_post)));
            }
            Act::EditComment => {
                let content = eq(comment_content("edited"));
                let update = self.comments.expect_update().times(1);
                let update = update.with(eq(COMMENT), content, eq(caller));
                update.returning(move |_, _, _| Ok(found.then(edited_comment)));
            }
            Act::DeletePost => {
                let delete = self.posts.expect_delete().times(1);
                let delete = delete.with(eq(POST), eq(caller));
                delete.returning(move |_, _| Ok(found));
            }
            Act::ListComments => {
                let list = self.comments.expect_list().times(1);
                let list = list.with(eq(POST), always(), always());
                list.returning(move |_, _, _| Ok(found.then(Vec::new)));
            }
            Act::DeleteComment => {
                let delete = self.comments.expect_delete().times(1);
                let delete = delete.with(eq(COMMENT), eq(caller));
                delete.returning(move |_, _| Ok(found));
            }
            Act::ReactToPost | Act::ReactToComment => {
                let put = self.reactions.expect_put().times(1);
                let put = put.with(eq(act.target()), eq(caller), eq(kind(1)));
                put.returning(move |_, _, kind| Ok(found.then(|| created(kind))));
            }
            Act::WithdrawPostReaction | Act::WithdrawCommentReaction => {
                let delete = self.reactions.expect_delete().times(1);
                let delete = delete.with(eq(act.target()), eq(caller));
                delete.returning(move |_, _| Ok(found));
            }
            Act::Comment => {
                let create = self.comments.expect_create().times(1);
                let create = create.withf(move |new| {
                    (new.post_id, &new.author_id, new.content.as_ref()) == (POST, &caller, "hello")
                });
                create.returning(move |_| match found {
                    true => Ok(CommentCreation::Created(comment_view(11, "Bob1"))),
                    false => Ok(CommentCreation::PostGone),
                });
            }
        }
    }
}

fn created(kind: minifb_domain::ReactionKind) -> ReactionChange {
    ReactionChange::Created(reaction(kind, false))
}
