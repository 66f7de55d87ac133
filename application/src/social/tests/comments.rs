//! A post's comments, oldest first, in pages. Who is notified of a comment
//! is stated in `notifications`, who may change one in `permissions`, what
//! a missing post answers in `missing`.

use mockall::predicate::eq;

use super::{POST, comments, ids, page, viewer};
use crate::testing::SocialPorts;

#[tokio::test]
async fn comments_come_oldest_first_in_pages_continuing_after_the_last_item() {
    let mut ports = SocialPorts::default();
    let request = page(2, Some(1));
    ports
        .comments
        .expect_list()
        .with(eq(POST), eq(request), eq(viewer("Bob1")))
        .times(1)
        .returning(|_, _, _| Ok(Some(comments(&[2, 3, 4]))));

    let service = ports.into_service();
    let result = service
        .comments(POST, request, viewer("Bob1"))
        .await
        .unwrap();

    assert_eq!(ids(&result, |comment| comment.id.get()), [2, 3]);
    assert_eq!(result.next_after, Some(3));
}

#[tokio::test]
async fn the_last_page_of_comments_has_no_continuation() {
    let mut ports = SocialPorts::default();
    ports
        .comments
        .expect_list()
        .times(1)
        .returning(|_, _, _| Ok(Some(comments(&[2, 3]))));

    let result = ports
        .into_service()
        .comments(POST, page(2, None), None)
        .await;

    let result = result.unwrap();
    assert_eq!(ids(&result, |comment| comment.id.get()), [2, 3]);
    assert_eq!(result.next_after, None);
}
