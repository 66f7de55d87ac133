//! A store that fails: its error reaches the caller as it came, and nothing
//! after the failure is written or read.

use super::{COMMENT, POST, comment_content, id, kind, page};
use crate::StoreError;
use crate::social::ReactionTarget;
use crate::social::{SocialError, SocialService};
use crate::testing::{SocialPorts, assert_matches, table};

/// Which call of the store fails, in which use case.
#[derive(Debug, Clone, Copy)]
enum Failing {
    /// Deleting a post (the write that checks the owner).
    PostDelete,
    /// Reading a user's timeline.
    TimelineUser,
    /// Storing a comment.
    CommentWrite,
    /// Storing a reaction to a comment.
    ReactionWrite,
    /// Listing notifications with their unread count.
    UnreadCount,
}

fn unavailable() -> StoreError {
    StoreError::Unavailable("connection refused".into())
}

fn deadlock() -> StoreError {
    StoreError::Other(anyhow::anyhow!("deadlock detected"))
}

table! { propagates {
    a_store_failure_while_deleting_a_post_propagates_and_looks_nothing_up:
        (Failing::PostDelete, unavailable);
    a_store_failure_while_reading_a_timeline_propagates_as_a_store_error:
        (Failing::TimelineUser, unavailable);
    a_store_failure_while_storing_a_comment_propagates_as_a_store_error:
        (Failing::CommentWrite, deadlock);
    a_store_failure_while_reacting_propagates_as_a_store_error:
        (Failing::ReactionWrite, unavailable);
    a_store_failure_while_listing_notifications_propagates_as_a_store_error:
        (Failing::UnreadCount, unavailable);
}}

async fn propagates(label: &str, (failing, error): (Failing, fn() -> StoreError)) {
    let mut ports = SocialPorts::default();
    match failing {
        Failing::PostDelete => {
            let delete = ports.posts.expect_delete();
            delete.returning(move |_, _| Err(error()));
            ports.posts.expect_owner_of().never();
        }
        Failing::TimelineUser => {
            let list = ports.posts.expect_list_by_owner();
            list.returning(move |_, _, _| Err(error()));
        }
        Failing::CommentWrite => {
            let create = ports.comments.expect_create();
            create.returning(move |_| Err(error()));
        }
        Failing::ReactionWrite => {
            let put = ports.reactions.expect_put();
            put.returning(move |_, _, _| Err(error()));
        }
        Failing::UnreadCount => {
            let list = ports.notifications.expect_list();
            list.returning(move |_, _, _| Err(error()));
        }
    }

    let result = fail(&ports.into_service(), failing).await;

    let expected = error().to_string();
    assert_matches!(result, Err(SocialError::Store(e)) if e.to_string() == expected, "{label}");
}

/// Runs the use case in which `failing` fails.
async fn fail(service: &SocialService, failing: Failing) -> Result<(), SocialError> {
    let alice = &id("Alice");
    match failing {
        Failing::PostDelete => service.delete_post(alice, POST).await?,
        Failing::TimelineUser => {
            service.timeline(alice, page(20, None), None).await?;
        }
        Failing::CommentWrite => {
            let content = comment_content("hi");
            service.create_comment(alice, POST, content).await?;
        }
        Failing::ReactionWrite => {
            service
                .react(alice, ReactionTarget::Comment(COMMENT), kind(1))
                .await?;
        }
        Failing::UnreadCount => {
            service.notifications(alice, false, page(20, None)).await?;
        }
    }
    Ok(())
}
