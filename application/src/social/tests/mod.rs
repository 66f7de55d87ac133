//! Use-case tests of the social service. Every port is a mockall mock that
//! fails the test on any call it did not arrange, so each test states which
//! ports a use case may touch (and `.never()` says out loud which change a
//! refused request must not make).
//!
//! The world of these tests: Alice owns post 7, on which Bob1 wrote comment
//! 11. Modules group the use cases; `permissions`, `missing` and
//! `store_failures` hold the rules that hold across them (who may change
//! what; what answers when the post or comment is gone; what a failing
//! store does), stated as tables, mostly over the [`acts::Act`]s.

mod acts;
mod caller_gone;
mod comments;
mod missing;
mod notifications;
mod permissions;
mod posts;
mod reactions;
mod retries;
mod store_failures;
mod timelines;

use chrono::{DateTime, Utc};
use minifb_domain::{
    CommentContent, CommentId, NotificationId, NotificationKind, PageLimit, PostContent, PostId,
    ReactionKind, UserId,
};
use mockall::predicate::eq;

use super::Page;
use super::ports::{
    Author, CommentOwners, CommentView, NotificationView, PageRequest, PostView, ReactionView,
};
use crate::testing::SocialPorts;

const POST: PostId = PostId::new(7);
const COMMENT: CommentId = CommentId::new(11);
const NOTIFICATION: NotificationId = NotificationId::new(3);

fn id(value: &str) -> UserId {
    UserId::parse(value).unwrap()
}

fn viewer(value: &str) -> Option<UserId> {
    Some(id(value))
}

/// When everything in these tests happened, so views compare equal.
fn at() -> DateTime<Utc> {
    DateTime::from_timestamp(1_764_000_000, 0).unwrap()
}

fn author(user_id: &str) -> Author {
    Author {
        id: id(user_id),
        name: format!("{user_id} Kim"),
        nickname: None,
    }
}

fn post_view(post_id: i64, owner: &str) -> PostView {
    PostView {
        id: PostId::new(post_id),
        author: author(owner),
        content: format!("post {post_id}"),
        created_at: at(),
        updated_at: None,
        comment_count: 0,
        reaction_counts: [0; 5],
        my_reaction: None,
    }
}

/// A comment on post 7.
fn comment_view(comment_id: i64, author_id: &str) -> CommentView {
    CommentView {
        id: CommentId::new(comment_id),
        post_id: POST,
        author: author(author_id),
        content: format!("comment {comment_id}"),
        modified: false,
        created_at: at(),
        updated_at: None,
        reaction_counts: [0; 5],
        my_reaction: None,
    }
}

fn notification_view(notification_id: i64, actor: &str) -> NotificationView {
    NotificationView {
        id: NotificationId::new(notification_id),
        kind: NotificationKind::Reacted,
        actor: author(actor),
        post_id: POST,
        comment_id: None,
        read: false,
        created_at: at(),
    }
}

fn reaction(kind: ReactionKind, modified: bool) -> ReactionView {
    ReactionView {
        kind,
        modified,
        created_at: at(),
    }
}

fn kind(value: i64) -> ReactionKind {
    ReactionKind::parse(value).unwrap()
}

fn post_content(text: &str) -> PostContent {
    PostContent::parse(text).unwrap()
}

fn comment_content(text: &str) -> CommentContent {
    CommentContent::parse(text).unwrap()
}

fn page(limit: u32, after: Option<i64>) -> PageRequest {
    PageRequest {
        limit: PageLimit::new(limit).unwrap(),
        after,
    }
}

fn ids<T>(page: &Page<T>, key: impl Fn(&T) -> i64) -> Vec<i64> {
    page.items.iter().map(key).collect()
}

/// Alice's posts with these ids.
fn posts(ids: &[i64]) -> Vec<PostView> {
    ids.iter().map(|&id| post_view(id, "Alice")).collect()
}

/// Bob1's comments on post 7 with these ids.
fn comments(ids: &[i64]) -> Vec<CommentView> {
    ids.iter().map(|&id| comment_view(id, "Bob1")).collect()
}

/// Alice's notifications of Bob1's reactions, with these ids.
fn notifications(ids: &[i64]) -> Vec<NotificationView> {
    ids.iter()
        .map(|&id| notification_view(id, "Bob1"))
        .collect()
}

impl SocialPorts {
    /// Looking up post 7's owner finds `owner`, or no post.
    fn post_owner(&mut self, owner: Option<&str>) {
        let owner = owner.map(id);
        let lookup = self.posts.expect_owner_of().with(eq(POST));
        lookup.returning(move |_| Ok(owner.clone()));
    }

    /// Looking up comment 11's owners finds it by Bob1 on Alice's post 7,
    /// or finds no comment.
    fn comment_owners(&mut self, exists: bool) {
        let owners = exists.then(|| CommentOwners {
            author_id: id("Bob1"),
            post_id: POST,
            post_owner_id: id("Alice"),
        });
        let lookup = self.comments.expect_owners().with(eq(COMMENT));
        lookup.returning(move |_| Ok(owners.clone()));
    }
}
