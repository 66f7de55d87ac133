//! Writing and reading posts. Who may change a post, what a missing one
//! answers and what a failing store does are stated in `permissions`,
//! `missing` and `store_failures`.

use mockall::predicate::eq;

use super::{POST, id, kind, post_content, post_view, viewer};
use crate::social::SocialError;
use crate::social::ports::PostView;
use crate::testing::{SocialPorts, assert_matches};

#[tokio::test]
async fn creating_a_post_stores_it_for_the_caller_and_returns_it() {
    let mut ports = SocialPorts::default();
    ports
        .posts
        .expect_create()
        .with(eq(id("Alice")), eq(post_content("hello")))
        .times(1)
        .returning(|_, _| Ok(post_view(7, "Alice")));

    let service = ports.into_service();
    let result = service
        .create_post(&id("Alice"), post_content("hello"))
        .await;

    assert_eq!(result.unwrap(), post_view(7, "Alice"));
}

#[tokio::test]
async fn reading_a_post_shows_it_as_the_viewer_sees_it() {
    let mut ports = SocialPorts::default();
    let seen_by_bob = PostView {
        my_reaction: Some(kind(2)),
        ..post_view(7, "Alice")
    };
    ports
        .posts
        .expect_find()
        .with(eq(POST), eq(viewer("Bob1")))
        .times(1)
        .returning({
            let seen_by_bob = seen_by_bob.clone();
            move |_, _| Ok(Some(seen_by_bob.clone()))
        });

    let result = ports.into_service().post(POST, viewer("Bob1")).await;

    assert_eq!(result.unwrap(), seen_by_bob);
}

#[tokio::test]
async fn reading_a_missing_post_answers_post_not_found() {
    let mut ports = SocialPorts::default();
    ports
        .posts
        .expect_find()
        .with(eq(POST), eq(None))
        .times(1)
        .returning(|_, _| Ok(None));

    let result = ports.into_service().post(POST, None).await;

    assert_matches!(result, Err(SocialError::PostNotFound(id)) if *id == POST);
}
